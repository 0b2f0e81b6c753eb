"""SSA products in a Ceph bucket (ObjectProducts): getData serves them, and a Range request reads only its bytes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from astropy.io import fits
from astropy.io.votable import parse

from vostack import db
from vostack.demo import spex as demo_spex
from vostack.objects.ceph import ThrowawayCeph
from vostack.ssa import ObjectProducts, SSAService

pytestmark = pytest.mark.postgres

FITS_BLOCK = 2880  # FITS 4.0 §3.1: headers come in blocks of 2880 bytes


class Archive:
    def __init__(self, http: httpx.AsyncClient, products: ObjectProducts, files: dict[str, bytes]) -> None:
        self.http, self.products, self.files = http, products, files


@pytest.fixture(scope="module")
async def archive(pool: db.Pool, spex: None, spex_wheel: Path, ceph: ThrowawayCeph) -> AsyncIterator[Archive]:
    """Three SpeX spectra copied from the wheel into the bucket, served by SSA from there."""
    rows = await pool.fetch("SELECT pubdid, file_name FROM spex.spectra ORDER BY pubdid LIMIT 3")
    wheel = demo_spex.SpexProducts(spex_wheel)
    bucket = ceph.bucket_client()
    files = {}
    for row in rows:
        files[row["pubdid"]] = data = wheel.original(row["file_name"])

        async def chunks(data: bytes = data) -> AsyncIterator[bytes]:
            yield data

        await bucket.put(f"spex/{row['file_name']}", chunks(), media_type="application/fits")
    wheel.close()
    products = ObjectProducts(bucket, prefix="spex/", read_spectrum=lambda raw: demo_spex.read_spectrum(raw).spectrum)
    service = SSAService(mapping=demo_spex.MAPPING, products=products)
    await service.start(pool)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service), base_url="http://testserver") as http:
        yield Archive(http, products, files)
    await service.stop()
    await bucket.delete_prefix("spex/")


async def test_get_data_serves_the_file_from_the_bucket(archive: Archive) -> None:
    for pubdid, data in archive.files.items():
        answer = await archive.http.get("/", params={"REQUEST": "getData", "PUBDID": pubdid})
        assert answer.status_code == 200 and answer.content == data, answer.text
        assert answer.headers["accept-ranges"] == "bytes"
    pubdid = next(iter(archive.files))
    votable = await archive.http.get("/", params={"REQUEST": "getData", "PUBDID": pubdid, "FORMAT": "votable"})
    table = parse(io.BytesIO(votable.content), verify="exception").get_first_table()
    assert len(table.array) == fits.getdata(io.BytesIO(archive.files[pubdid])).shape[-1]


async def test_a_range_request_reads_only_its_bytes_from_the_store(archive: Archive) -> None:
    pubdid, data = next(iter(archive.files.items()))
    params = {"REQUEST": "getData", "PUBDID": pubdid}
    before = archive.products.bytes_read
    header = await archive.http.get("/", params=params, headers={"Range": f"bytes=0-{FITS_BLOCK - 1}"})
    assert header.status_code == 206 and header.content == data[:FITS_BLOCK]
    assert header.headers["content-range"] == f"bytes 0-{FITS_BLOCK - 1}/{len(data)}"
    assert archive.products.bytes_read - before == FITS_BLOCK  # the header block, not the file
    assert fits.Header.fromstring(header.content.decode("ascii"))["NAXIS"] == 2  # a FITS reader's first step
    tail = await archive.http.get("/", params=params, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == data[-100:]
    beyond = await archive.http.get("/", params=params, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"
    several = await archive.http.get("/", params=params, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == data  # several ranges: the whole file


async def test_a_product_missing_from_the_bucket_is_not_found(archive: Archive, ceph: ThrowawayCeph) -> None:
    bucket = ceph.bucket_client()
    key = (await bucket.keys("spex"))[0]
    data = await bucket.read(key)
    pubdid = next(p for p, d in archive.files.items() if d == data)
    await bucket.delete([key])
    try:
        answer = await archive.http.get("/", params={"REQUEST": "getData", "PUBDID": pubdid})
        assert answer.status_code == 404 and "no object" in answer.text
    finally:

        async def chunks() -> AsyncIterator[bytes]:
            yield data

        await bucket.put(key, chunks())
