"""Aladin Lite, bundled with the package: fetched from the npm registry at build time, pinned and checked.

``python -m vostack.pages.vendor`` (``scripts/setup.sh`` runs it) asks ``npm pack`` for
``aladin-lite@`` :data:`ALADIN_VERSION`, checks the tarball against the pinned Subresource Integrity hash
:data:`ALADIN_INTEGRITY` (SHA-512, the registry's ``dist.integrity``), and keeps its one script
``dist/aladin.js`` (an ES module with its WebAssembly core inlined) and its licence files in
``vostack/pages/static/vendor/aladin-lite/``, from where the package serves it.  The minified
third-party file is not kept in the repository; a wheel built after this step carries it.  Without it
the search pages still work; only their sky view says how to get it.

Aladin Lite is © CDS, Université de Strasbourg, under the GNU LGPL 3 (``COPYING.LESSER``; its npm
metadata says GPL-3, its licence files are the LGPL's).
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["ALADIN_DIR", "ALADIN_INTEGRITY", "ALADIN_VERSION", "aladin_present", "vendor_aladin"]

ALADIN_VERSION = "3.8.2"
"""The Aladin Lite release bundled (npm ``aladin-lite``)."""

ALADIN_INTEGRITY = "sha512-/VGtxSWZ4StdKgwjmzqNkUY/3iTaBZJ5F6bN+nAfcK1NEATcAb2CYJX4U8FElpwYMgKrypYQV5KniRzhVbH+nA=="
"""The npm registry's ``dist.integrity`` of that release's tarball (Subresource Integrity, SHA-512)."""

ALADIN_DIR = Path(__file__).with_name("static") / "vendor" / "aladin-lite"
"""Where the bundled files live in the package."""

_KEEP = {
    "package/dist/aladin.js": "aladin.js",
    "package/COPYING": "COPYING",
    "package/COPYING.LESSER": "COPYING.LESSER",
    "package/package.json": "package.json",
}


def aladin_present(directory: Path = ALADIN_DIR) -> bool:
    """Whether the bundled Aladin Lite is there, at the pinned version."""
    return (
        (directory / "aladin.js").is_file()
        and (directory / "VERSION").is_file()
        and (directory / "VERSION").read_text().strip() == ALADIN_VERSION
    )


def integrity_of(data: bytes) -> str:
    """The Subresource Integrity string (``sha512-<base64>``) of ``data``, as npm writes ``dist.integrity``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def vendor_aladin(directory: Path = ALADIN_DIR, *, npm: str = "npm") -> Path:
    """Fetch, check and unpack Aladin Lite into ``directory`` (nothing to do when it is there already).

    Raises :class:`RuntimeError` when npm is missing or fails, or the tarball is not the pinned one.
    """
    if aladin_present(directory):
        return directory
    program = shutil.which(npm)
    if program is None:
        raise RuntimeError("npm is needed to fetch Aladin Lite from the npm registry (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="vostack-aladin-") as work:
        done = subprocess.run(
            [program, "pack", f"aladin-lite@{ALADIN_VERSION}", "--silent", "--pack-destination", work],
            capture_output=True,
            text=True,
            cwd=work,
        )
        tarballs = sorted(Path(work).glob("aladin-lite-*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack aladin-lite@{ALADIN_VERSION} failed: {done.stderr.strip()[-500:]}")
        data = tarballs[0].read_bytes()
    found = integrity_of(data)
    if found != ALADIN_INTEGRITY:
        raise RuntimeError(f"aladin-lite@{ALADIN_VERSION} from npm is not the pinned release: {found}")
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            target = _KEEP.get(member.name)
            source = tar.extractfile(member) if target is not None and member.isfile() else None
            if source is not None and target is not None:
                (staging / target).write_bytes(source.read())
    missing = sorted(set(_KEEP.values()) - {p.name for p in staging.iterdir()})
    if missing:
        raise RuntimeError(f"aladin-lite@{ALADIN_VERSION} lacks {', '.join(missing)}")
    (staging / "VERSION").write_text(ALADIN_VERSION + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    staging.replace(directory)
    return directory


def main() -> int:
    """``python -m vostack.pages.vendor``: bundle Aladin Lite."""
    try:
        where = vendor_aladin()
    except RuntimeError as exc:
        print(f"vostack: {exc}", file=sys.stderr)
        return 1
    print(f"Aladin Lite {ALADIN_VERSION} in {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
