"""Where product files are kept: a directory, a zip archive read in place, or an S3 bucket.

Every store answers the same three blocking calls (services call them from worker threads): the whole file,
its size, and a byte range of it.  Paths are relative, ``/``-separated, and checked by :func:`checked_path`
before any store sees them, so that no request reaches outside the store (``..``, absolute paths).  A path the
store lacks is a :class:`vostack.errors.NotFoundError`.
"""

from __future__ import annotations

import gzip
import threading
import zipfile
from pathlib import Path
from typing import Protocol

from vostack import objects
from vostack.errors import NotFoundError, UsageError

__all__ = ["BucketStore", "DirectoryStore", "FileStore", "GzipStore", "ZipStore", "checked_path"]


def checked_path(path: str) -> str:
    """``path`` if it is a relative path of plain names separated by ``/``; else a :class:`UsageError` (400).

    Refused: an empty path, a leading ``/``, ``.`` or ``..`` segments, empty segments, backslashes and
    control characters (a path must name a file inside the store, whatever the store).
    """
    parts = path.split("/")
    if (
        not path
        or any(part in ("", ".", "..") for part in parts)
        or "\\" in path
        or any(ord(char) < 32 or ord(char) == 127 for char in path)
    ):
        raise UsageError(f"{path!r} is not a path of a product file (plain names separated by '/')")
    return path


class FileStore(Protocol):
    """Files by relative path (blocking calls: services run them in worker threads)."""

    def read(self, path: str) -> bytes:
        """The whole file."""

    def size(self, path: str) -> int:
        """Its size in bytes."""

    def read_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end`` (exclusive) of the file."""


class DirectoryStore:
    """The files below a directory of the local (or a shared, mounted) file system."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotFoundError(f"the product directory {self.root} does not exist")

    def __repr__(self) -> str:
        return f"DirectoryStore({str(self.root)!r})"

    def _file(self, path: str) -> Path:
        file = (self.root / checked_path(path)).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():  # a symbolic link may point outside
            raise NotFoundError(f"no product file {path!r}")
        return file

    def read(self, path: str) -> bytes:
        """The whole file."""
        return self._file(path).read_bytes()

    def size(self, path: str) -> int:
        """Its size in bytes."""
        return self._file(path).stat().st_size

    def read_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end`` (exclusive): only these are read."""
        with self._file(path).open("rb") as fh:
            fh.seek(start)
            return fh.read(max(0, end - start))


class ZipStore:
    """The members of a zip archive (a wheel, for instance) below ``prefix``, read in place: nothing is extracted.

    The archive is opened once; reads take a lock (a :class:`zipfile.ZipFile` is not safe for threads).
    """

    def __init__(self, archive: Path | str, *, prefix: str = "") -> None:
        self.archive = Path(archive)
        if prefix and not prefix.endswith("/"):
            raise ValueError(f"a zip prefix is a directory ending with '/', as {prefix + '/'!r}")
        self.prefix = prefix
        try:
            self._zip = zipfile.ZipFile(self.archive)
        except (OSError, zipfile.BadZipFile) as exc:
            raise NotFoundError(f"cannot open the product archive {self.archive}: {exc}") from None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ZipStore({str(self.archive)!r}, prefix={self.prefix!r})"

    def _info(self, path: str) -> zipfile.ZipInfo:
        try:
            info = self._zip.getinfo(self.prefix + checked_path(path))
        except KeyError:
            raise NotFoundError(f"no product file {path!r}") from None
        if info.is_dir():
            raise NotFoundError(f"no product file {path!r}")
        return info

    def paths(self) -> list[str]:
        """The paths of the files below the prefix, in the archive's order."""
        return [
            info.filename.removeprefix(self.prefix)
            for info in self._zip.infolist()
            if info.filename.startswith(self.prefix) and not info.is_dir()
        ]

    def read(self, path: str) -> bytes:
        """The whole (uncompressed) member."""
        info = self._info(path)
        with self._lock:
            return self._zip.read(info)

    def size(self, path: str) -> int:
        """Its uncompressed size in bytes."""
        return self._info(path).file_size

    def read_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end`` (exclusive) of the uncompressed member (a compressed one is inflated
        up to ``end``)."""
        info = self._info(path)
        with self._lock, self._zip.open(info) as member:
            member.seek(start)
            return member.read(max(0, end - start))

    def close(self) -> None:
        """Close the archive."""
        self._zip.close()


class BucketStore:
    """The objects ``<prefix><path>`` of an S3 bucket (:class:`vostack.objects.Bucket`); a range reads only
    those bytes from the store."""

    def __init__(self, bucket: objects.Bucket, *, prefix: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"BucketStore({self.bucket!r}, prefix={self.prefix!r})"

    def read(self, path: str) -> bytes:
        """The whole object."""
        return self.bucket.read_blocking(self.prefix + checked_path(path))

    def size(self, path: str) -> int:
        """Its size in bytes."""
        return self.bucket.size_blocking(self.prefix + checked_path(path))

    def read_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end`` (exclusive): only these leave the store."""
        return self.bucket.read_blocking(self.prefix + checked_path(path), start=start, end=end)


class GzipStore:
    """The files of another store, kept gzip-compressed there, as they are uncompressed (RFC 1952).

    Sizes and byte ranges are of the uncompressed file, which is read whole to find them.  A file that is
    not gzip-compressed (no magic bytes) is served as it is.
    """

    def __init__(self, store: FileStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"GzipStore({self.store!r})"

    def read(self, path: str) -> bytes:
        """The whole file, uncompressed."""
        raw = self.store.read(path)
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw

    def size(self, path: str) -> int:
        """The size of the uncompressed file."""
        return len(self.read(path))

    def read_range(self, path: str, start: int, end: int) -> bytes:
        """Bytes ``start`` up to ``end`` (exclusive) of the uncompressed file."""
        return self.read(path)[start:end]
