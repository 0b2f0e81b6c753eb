"""Where job results live: the :class:`ResultStore` protocol, :class:`DirectoryResultStore` (the default)
and :class:`ObjectResultStore` (an S3-compatible object store: Ceph, MinIO, AWS S3).

:meth:`ResultStore.write` is a streamed upload (a multipart upload for S3),
:meth:`ResultStore.url` a URL of the store's own (a presigned GET URL) that the
UWS service answers with a 303 redirect, :meth:`ResultStore.delete` removes a
job's files.  A store without its own URLs returns ``None`` from
:meth:`ResultStore.url` and the service streams :meth:`ResultStore.iter_bytes`.

Every server process of a job store must see the same result store (a job
run by one is fetched through another): a directory on a shared file system,
or a bucket.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from vostack import objects
from vostack.errors import NotFoundError

__all__ = ["DirectoryResultStore", "ObjectResultStore", "ResultStore"]

_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


class ResultStore(Protocol):
    """Storage for job results (UWS 1.1 §2.1.10).  ``location`` strings are the store's own keys."""

    async def write(
        self, job_id: str, result_id: str, chunks: AsyncIterable[bytes], *, media_type: str | None = None
    ) -> tuple[str, int]:
        """Store the bytes of one result (its media type, when known, for stores that serve it); returns
        ``(location, size)``.  A failed write leaves nothing behind."""
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

    async def write(
        self, job_id: str, result_id: str, chunks: AsyncIterable[bytes], *, media_type: str | None = None
    ) -> tuple[str, int]:
        """Write the chunks to a temporary file, then rename it into place (the media type is not kept)."""
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


class ObjectResultStore:
    """Results as objects ``<prefix><job_id>/<result_id>`` in a bucket of an S3-compatible store.

    A result streams into the bucket while the job runs (a multipart upload:
    the server holds a few parts, whatever the size), and is served by a 303
    redirect to a presigned URL valid for ``expires`` (clients then download
    from the store, with ``Range`` if they like, and the server carries no
    byte), or, with ``redirect=False``, streamed through the server (for stores
    clients cannot reach).  Deleting a job deletes everything under its prefix.

    Parameters
    ----------
    bucket
        The bucket (:class:`vostack.objects.Bucket`).
    prefix
        Prepended to every key (``"uws/"``), so that several job stores or sites can share a bucket.
    redirect
        Answer a result with a redirect to a presigned URL (the default), or stream it.
    expires
        How long a presigned URL is valid.
    """

    def __init__(
        self,
        bucket: objects.Bucket,
        *,
        prefix: str = "",
        redirect: bool = True,
        expires: dt.timedelta = dt.timedelta(hours=1),
    ) -> None:
        if prefix and not prefix.endswith("/"):
            raise ValueError(f"a key prefix ends with '/', as {prefix + '/'!r} does")
        if expires <= dt.timedelta(0):
            raise ValueError("presigned URLs must be valid for some time")
        self.bucket = bucket
        self.prefix = prefix
        self.redirect = redirect
        self.expires = expires

    def __repr__(self) -> str:
        return f"ObjectResultStore({self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, location: str) -> str:
        job_id, _, result_id = location.partition("/")
        if not (_SAFE.match(job_id) and _SAFE.match(result_id)):
            raise NotFoundError(f"no result at {location!r}")
        return self.prefix + location

    async def write(
        self, job_id: str, result_id: str, chunks: AsyncIterable[bytes], *, media_type: str | None = None
    ) -> tuple[str, int]:
        """Upload the chunks as they come (multipart); the object appears only when they all arrived."""
        location = f"{job_id}/{result_id}"
        size = await self.bucket.put(self._key(location), chunks, media_type=media_type)
        return location, size

    def iter_bytes(self, location: str) -> AsyncIterator[bytes]:
        """The object's bytes, read from the bucket in pieces."""
        return self.bucket.iter_bytes(self._key(location))

    async def url(self, location: str) -> str | None:
        """A presigned GET URL of the object (``None`` when the results are streamed instead)."""
        return self.bucket.presign(self._key(location), expires=self.expires) if self.redirect else None

    async def delete(self, job_id: str, locations: Sequence[str], *, everything: bool = False) -> None:
        """Delete the listed objects, or with ``everything`` all objects under the job's prefix."""
        if everything:
            if _SAFE.match(job_id):
                await self.bucket.delete_prefix(f"{self.prefix}{job_id}/")
            return
        await self.bucket.delete([self._key(loc) for loc in locations if loc.partition("/")[0] == job_id])


def _commit(handle: BinaryIO, partial: Path, path: Path) -> None:
    handle.close()
    partial.replace(path)


def _open_for_reading(path: Path) -> BinaryIO:
    return path.open("rb")


def _open_for_writing(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")
