"""One bucket of an S3-compatible object store (Ceph's RADOS Gateway, MinIO, AWS S3), through obstore.

Everything a result or product store needs, and nothing else: a streamed
upload (an S3 multipart upload, so that memory stays flat whatever the size),
whole and ranged reads, presigned GET URLs, deletion by key or by prefix.
obstore's errors become :mod:`vostack.errors` here and nowhere else: a missing
object is :class:`NotFoundError`, anything else (the store unreachable, a
refused request) :class:`TransientError`.

**Threads, not obstore's coroutines.**  obstore's ``*_async`` functions complete
Python futures from its Rust (tokio) threads; a completion that races the end
of the interpreter aborts the whole process (SIGABRT at exit, measured here:
most runs of a short script that uploads, reads and deletes one object ended
in SIGABRT with obstore 0.12.1 on Python 3.11; the same calls through obstore's
blocking functions, each in a worker thread, never did).  So every call runs
obstore's blocking API in a thread (:func:`asyncio.to_thread`), which releases
the GIL while it waits, and data moves in pieces of at least
:attr:`Bucket.piece_size` bytes, so a thread hop costs little per byte.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import obstore
from obstore.exceptions import BaseError
from obstore.store import S3Store

from vostack.errors import NotFoundError, TransientError, VOError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Bucket"]

_T = TypeVar("_T")

#: The smallest part of an S3 multipart upload but the last (S3, Ceph RGW: 5 MiB).
MIN_PART = 5 << 20


def s3_store(endpoint: str, bucket: str, access_key_id: str, secret_access_key: str, region: str) -> S3Store:
    """obstore's client of one bucket, path-style, with timeouts and a few retries."""
    return S3Store(
        bucket,
        endpoint=endpoint.rstrip("/"),
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        region=region,
        virtual_hosted_style_request=False,  # path style: what Ceph and MinIO serve without DNS set-up
        client_options={
            "allow_http": endpoint.startswith("http://"),
            "connect_timeout": dt.timedelta(seconds=5),
            "timeout": dt.timedelta(seconds=120),
        },
        retry_config={"max_retries": 3, "retry_timeout": dt.timedelta(seconds=20)},
    )


class Bucket:
    """A bucket of an S3-compatible object store.

    Parameters
    ----------
    endpoint
        The S3 endpoint, ``http://host:port`` or ``https://...`` (path-style addressing).
    bucket
        The bucket's name; it must exist.
    access_key_id, secret_access_key
        The credentials (a portal reads them from its environment, not from files it publishes).
    region
        The signing region; Ceph and MinIO accept any.
    public_endpoint
        The endpoint as clients reach it, if not ``endpoint`` (presigned URLs name it: the signature
        covers the host).
    part_size
        The size of the parts of a streamed upload (at least 5 MiB): with ``max_concurrency`` parts
        in flight, an upload holds about ``(max_concurrency + 1) * part_size`` bytes, whatever its size.
    """

    #: Data moves between the event loop and obstore's thread in pieces of at least this many bytes.
    piece_size = 1 << 20

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        region: str = "us-east-1",
        public_endpoint: str | None = None,
        part_size: int = MIN_PART,
        max_concurrency: int = 2,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"an S3 endpoint is an http:// or https:// URL, not {endpoint!r}")
        if part_size < MIN_PART or max_concurrency < 1:
            raise ValueError("part_size must be at least 5 MiB and max_concurrency at least 1")
        self.endpoint = endpoint
        self.bucket = bucket
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self._store = s3_store(endpoint, bucket, access_key_id, secret_access_key, region)
        self._signer = (
            s3_store(public_endpoint, bucket, access_key_id, secret_access_key, region)
            if public_endpoint
            else self._store
        )

    def __repr__(self) -> str:
        return f"Bucket(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    @contextmanager
    def _mapped(self, key: str) -> Iterator[None]:
        """obstore's errors raised in the block as :class:`NotFoundError` or :class:`TransientError`."""
        try:
            yield
        except FileNotFoundError:
            raise NotFoundError(f"the object store has no object {key!r} in bucket {self.bucket!r}") from None
        except (BaseError, OSError) as exc:
            raise TransientError(f"the object store at {self.endpoint} failed: {_first_line(exc)}") from None

    async def _call(self, function: Callable[..., _T], *args: object, key: str = "", **kwargs: object) -> _T:
        """``function(*args, **kwargs)`` (a blocking obstore call) in a worker thread, its errors mapped."""
        with self._mapped(key):
            return await asyncio.to_thread(function, *args, **kwargs)

    def read_blocking(self, key: str, *, start: int = 0, end: int | None = None) -> bytes:
        """:meth:`read`, blocking: for code that already runs in a worker thread (an SSA product store)."""
        with self._mapped(key):
            if end is None:
                return _get_from(self._store, key, start)
            return bytes(obstore.get_range(self._store, key, start=start, end=end))

    def size_blocking(self, key: str) -> int:
        """:meth:`size`, blocking: for code that already runs in a worker thread."""
        with self._mapped(key):
            return int(obstore.head(self._store, key)["size"])

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, media_type: str | None = None) -> int:
        """Store the chunks as the object ``key`` (a multipart upload); returns its size in bytes.

        The object appears whole or not at all: when ``chunks`` raises, the upload is aborted and the
        error propagates.
        """
        attributes = {"Content-Type": media_type} if media_type else None
        writer = await self._call(
            obstore.open_writer,
            self._store,
            key,
            key=key,
            attributes=attributes,
            buffer_size=self.part_size,
            max_concurrency=self.max_concurrency,
        )
        size = 0
        try:
            async for piece in _pieces(chunks, self.piece_size):
                await self._call(writer.write, piece, key=key)
                size += len(piece)
        except BaseException as exc:
            # the context manager's exit with an exception aborts the multipart upload
            await asyncio.shield(asyncio.to_thread(writer.__exit__, type(exc), exc, None))
            raise
        await self._call(writer.close, key=key)
        return size

    async def iter_bytes(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The object's bytes from ``start`` up to ``end`` (exclusive; ``None``: its end), in pieces.

        :class:`NotFoundError` is raised at the first step when the object does not exist.
        """
        options: dict[str, object] = {}
        if start or end is not None:
            options["range"] = (start, end) if end is not None else {"offset": start}
        result = await self._call(obstore.get, self._store, key, key=key, options=options or None)
        stream = iter(result.stream(min_chunk_size=self.piece_size))
        while (piece := await self._call(_next, stream, key=key)) is not None:
            yield bytes(piece)

    async def read(self, key: str, *, start: int = 0, end: int | None = None) -> bytes:
        """The object's bytes from ``start`` up to ``end`` (exclusive), in one piece (a small object or range)."""
        return await asyncio.to_thread(self.read_blocking, key, start=start, end=end)

    async def size(self, key: str) -> int:
        """The object's size in bytes (:class:`NotFoundError` when it does not exist)."""
        return await asyncio.to_thread(self.size_blocking, key)

    async def keys(self, prefix: str) -> list[str]:
        """The keys of the objects under ``prefix`` (a prefix of whole path segments: ``job/`` or ``job``)."""
        return await self._call(_list, self._store, prefix.rstrip("/"), key=prefix)

    async def delete(self, keys: Sequence[str]) -> None:
        """Delete the objects ``keys`` (missing ones are no error)."""
        if keys:
            await self._call(obstore.delete, self._store, list(keys), key=", ".join(keys))

    async def delete_prefix(self, prefix: str) -> None:
        """Delete every object under ``prefix`` (whole path segments)."""
        await self.delete(await self.keys(prefix))

    def presign(self, key: str, *, expires: dt.timedelta) -> str:
        """A URL that lets anyone GET the object ``key`` (with ``Range`` too) until ``expires`` from now.

        Signing is computed locally (AWS Signature Version 4), no request is made: an object that does not
        exist gets a URL that answers 404.
        """
        try:
            return obstore.sign(self._signer, "GET", key, expires)
        except (BaseError, ValueError) as exc:
            raise VOError(f"cannot sign a URL for {key!r}: {_first_line(exc)}") from None


async def _pieces(chunks: AsyncIterable[bytes], size: int) -> AsyncIterator[bytes]:
    """The bytes of ``chunks`` regrouped in pieces of at least ``size`` bytes (the last may be smaller)."""
    pending: list[bytes] = []
    pending_size = 0
    async for chunk in chunks:
        if not chunk:
            continue
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= size:
            yield b"".join(pending)
            pending, pending_size = [], 0
    if pending:
        yield b"".join(pending)


def _next(stream: Iterator[_T]) -> _T | None:
    return next(stream, None)


def _get_from(store: S3Store, key: str, start: int) -> bytes:
    options = {"range": {"offset": start}} if start else None
    return bytes(obstore.get(store, key, options=options).bytes())  # type: ignore[arg-type]


def _list(store: S3Store, prefix: str) -> list[str]:
    return [meta["path"] for batch in obstore.list(store, prefix=prefix) for meta in batch]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
