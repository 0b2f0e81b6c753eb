"""vostack.objects.Bucket against Ceph's own S3 gateway (a throwaway Ceph, not a mock)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from vostack.errors import NotFoundError, TransientError
from vostack.objects import Bucket
from vostack.objects.bucket import MIN_PART
from vostack.objects.ceph import ThrowawayCeph


@pytest.fixture
def bucket(ceph: ThrowawayCeph) -> Bucket:
    return ceph.bucket_client()


def _key(name: str) -> str:
    return f"test-{secrets.token_hex(4)}/{name}"


async def _chunks(count: int, size: int, seed: bytes = b"") -> AsyncIterator[bytes]:
    for i in range(count):
        yield hashlib.sha256(seed + i.to_bytes(4, "big")).digest() * (size // 32)


async def test_a_streamed_upload_of_many_parts_reads_back_whole_and_by_range(bucket: Bucket) -> None:
    key = _key("big")
    expected = b"".join([c async for c in _chunks(600, 32 << 10)])  # 19.7 MB: four 5 MiB parts
    assert len(expected) > 3 * MIN_PART
    size = await bucket.put(key, _chunks(600, 32 << 10), media_type="application/x-votable+xml")
    assert size == len(expected) == await bucket.size(key)
    pieces = [piece async for piece in bucket.iter_bytes(key)]
    assert b"".join(pieces) == expected and len(pieces) > 1
    assert await bucket.read(key, start=MIN_PART - 7, end=MIN_PART + 9) == expected[MIN_PART - 7 : MIN_PART + 9]
    tail = b"".join([p async for p in bucket.iter_bytes(key, start=len(expected) - 100)])
    assert tail == expected[-100:]
    await bucket.delete([key])
    with pytest.raises(NotFoundError):
        await bucket.size(key)


async def test_an_upload_that_fails_leaves_no_object(bucket: Bucket) -> None:
    key = _key("failed")

    async def failing() -> AsyncIterator[bytes]:
        async for chunk in _chunks(400, 32 << 10):  # beyond the first part: a multipart upload had begun
            yield chunk
        raise RuntimeError("the query failed after 12 MB")

    with pytest.raises(RuntimeError, match="12 MB"):
        await bucket.put(key, failing())
    assert await bucket.keys(key.partition("/")[0]) == []
    with pytest.raises(NotFoundError):
        await bucket.read(key)


async def test_a_presigned_url_serves_the_object_and_ranges_until_it_expires(bucket: Bucket) -> None:
    key = _key("signed")

    async def body() -> AsyncIterator[bytes]:
        yield b"0123456789" * 100

    await bucket.put(key, body(), media_type="text/csv")
    url = bucket.presign(key, expires=dt.timedelta(minutes=1))
    # signed for 1 s from a time rounded down to the second: possibly expired at once; surely 2.5 s later
    short = bucket.presign(key, expires=dt.timedelta(seconds=1))
    async with httpx.AsyncClient() as client:
        whole = await client.get(url)
        assert whole.status_code == 200 and whole.content == b"0123456789" * 100
        assert whole.headers["content-type"] == "text/csv"
        part = await client.get(url, headers={"Range": "bytes=995-"})
        assert part.status_code == 206 and part.content == b"56789"
        signature = url.rpartition("X-Amz-Signature=")[2]
        forged = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
        assert (await client.get(forged)).status_code == 403
        await asyncio.sleep(2.5)  # past the short URL's expiry: the gateway refuses it, not the long one
        assert (await client.get(short)).status_code == 403
        assert (await client.get(url)).status_code == 200
    await bucket.delete_prefix(key.partition("/")[0])
    assert await bucket.keys(key.partition("/")[0]) == []


async def test_deleting_a_prefix_deletes_whole_segments_only(bucket: Bucket) -> None:
    top = _key("x").partition("/")[0]

    async def one() -> AsyncIterator[bytes]:
        yield b"1"

    for key in (f"{top}/job/a", f"{top}/job/b", f"{top}/jobless/c"):
        await bucket.put(key, one())
    await bucket.delete_prefix(f"{top}/job/")
    assert await bucket.keys(top) == [f"{top}/jobless/c"]
    await bucket.delete_prefix(top)


async def test_an_unreachable_store_is_a_transient_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bucket = Bucket(endpoint=f"http://127.0.0.1:{port}", bucket="none", access_key_id="a", secret_access_key="b")
    with pytest.raises(TransientError, match="object store"):
        await asyncio.wait_for(bucket.read("x"), 60)
