"""Where job results live: the :class:`ResultStore` protocol and the default :class:`DirectoryResultStore`.

The protocol is written so that an S3-compatible object store (Ceph, MinIO)
fits it: :meth:`ResultStore.write` is a streamed upload (a multipart upload
for S3), :meth:`ResultStore.url` a presigned GET URL that the UWS service
answers with a 303 redirect, :meth:`ResultStore.delete` removes the objects
under a job's prefix.  A store without its own URLs returns ``None`` from
:meth:`ResultStore.url` and the service streams :meth:`ResultStore.iter_bytes`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from vostack.errors import NotFoundError

__all__ = ["DirectoryResultStore", "ResultStore"]

_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


class ResultStore(Protocol):
    """Storage for job results (UWS 1.1 §2.1.10).  ``location`` strings are the store's own keys."""

    async def write(self, job_id: str, result_id: str, chunks: AsyncIterable[bytes]) -> tuple[str, int]:
        """Store the bytes of one result; returns ``(location, size)``."""
        ...

    def iter_bytes(self, location: str) -> AsyncIterator[bytes]:
        """The stored bytes, in chunks; raises :class:`NotFoundError` when they are gone."""
        ...

    async def url(self, location: str) -> str | None:
        """A URL the client can fetch the result from directly (a redirect target), or ``None``."""
        ...

    async def delete(self, job_id: str, locations: Sequence[str], *, everything: bool = False) -> None:
        """Remove the stored objects at ``locations`` (idempotent).

        With ``everything`` the job itself is gone (deleted, destroyed): remove all the store holds for it,
        also what is not listed (files a job keeps as parameters, such as TAP uploads).  Without it, only
        the listed results go: a job whose run failed or is re-run keeps its other files.
        """
        ...


class DirectoryResultStore:
    """Results as files under ``directory/<job_id>/<result_id>`` (the default store).

    The directory must be shared by every server process that runs jobs of
    the same job store (a network file system when they are on several machines).
    Small files are read and written on the event loop; chunks of ``chunk_size``
    bytes and more go through a worker thread.
    """

    def __init__(self, directory: str | os.PathLike[str], *, chunk_size: int = 1 << 20) -> None:
        self.directory = Path(directory)
        self.chunk_size = chunk_size

    def _path(self, job_id: str, result_id: str) -> Path:
        if not (_SAFE.match(job_id) and _SAFE.match(result_id)):
            raise NotFoundError(f"no result {result_id!r} of job {job_id!r}")
        return self.directory / job_id / result_id

    async def write(self, job_id: str, result_id: str, chunks: AsyncIterable[bytes]) -> tuple[str, int]:
        """Write the chunks to a temporary file, then rename it into place."""
        path = self._path(job_id, result_id)
        partial = path.with_name(path.name + ".partial")
        handle = _open_for_writing(partial)  # a local file system: not worth a thread hop
        size = 0
        try:
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= self.chunk_size:
                    await asyncio.to_thread(handle.write, b"".join(pending))
                    size += pending_size
                    pending, pending_size = [], 0
            if pending:
                handle.write(b"".join(pending))
                size += pending_size
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
        _commit(handle, partial, path)
        return f"{job_id}/{result_id}", size

    async def iter_bytes(self, location: str) -> AsyncIterator[bytes]:
        """Read the file in chunks."""
        job_id, _, result_id = location.partition("/")
        path = self._path(job_id, result_id)
        try:
            handle = _open_for_reading(path)
        except FileNotFoundError:
            raise NotFoundError(f"the result {result_id!r} of job {job_id!r} is no longer stored") from None
        try:
            chunk = handle.read(self.chunk_size)
            while chunk:
                yield chunk
                if len(chunk) < self.chunk_size:
                    break
                chunk = await asyncio.to_thread(handle.read, self.chunk_size)
        finally:
            handle.close()

    async def url(self, location: str) -> str | None:
        """Files have no URL of their own: the service streams them."""
        return None

    async def delete(self, job_id: str, locations: Sequence[str], *, everything: bool = False) -> None:
        """Remove the listed files, or with ``everything`` the job's directory."""
        if everything:
            if _SAFE.match(job_id):
                await asyncio.to_thread(shutil.rmtree, self.directory / job_id, True)
            return
        for location in locations:
            owner, _, result_id = location.partition("/")
            if owner == job_id:
                self._path(job_id, result_id).unlink(missing_ok=True)


def _commit(handle: BinaryIO, partial: Path, path: Path) -> None:
    handle.close()
    partial.replace(path)


def _open_for_reading(path: Path) -> BinaryIO:
    return path.open("rb")


def _open_for_writing(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")
