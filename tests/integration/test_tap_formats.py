"""Every RESPONSEFORMAT through /tap/sync, read back with the library users would use, compared with the database."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from astropy.io import fits
from astropy.io.votable import parse

from vostack import db

pytestmark = pytest.mark.postgres

# 12 stars; b's columns are NULL for every row (no HIP number is above a million)
QUERY = (
    "SELECT TOP 12 a.hip, a.ra, a.dec, a.hpmag, b.hip AS none_int, b.hpmag AS none_mag "
    "FROM hipparcos.main AS a LEFT OUTER JOIN hipparcos.main AS b ON b.hip = a.hip + 1000000 ORDER BY a.hip"
)
SQL = (
    "SELECT hip, ra, dec, hpmag, NULL::int AS none_int, NULL::real AS none_mag "
    "FROM hipparcos.main ORDER BY hip LIMIT 12"
)


@pytest.fixture(scope="module")
async def expected(pool: db.Pool, hipparcos: None) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await pool.fetch(SQL)]


async def fetch(client: httpx.AsyncClient, fmt: str, **extra: str) -> httpx.Response:
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": fmt, **extra})
    assert response.status_code == 200, response.text[:500]
    return response


def same(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    assert len(got) == len(expected)
    for row_got, row_exp in zip(got, expected, strict=True):
        for value, want in zip(row_got, row_exp, strict=True):
            if want is None:
                assert value is None or math.isnan(float(value)), (value, row_got)
            else:
                assert float(value) == pytest.approx(float(want), rel=1e-7), (value, want)


def _null(value: str) -> float | None:
    return None if value == "" else float(value)


async def test_csv(client: httpx.AsyncClient, expected: list[tuple[Any, ...]]) -> None:
    response = await fetch(client, "csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["hip", "ra", "dec", "hpmag", "none_int", "none_mag"]
    same([tuple(_null(v) for v in r) for r in rows[1:]], expected)


async def test_tsv(client: httpx.AsyncClient, expected: list[tuple[Any, ...]]) -> None:
    response = await fetch(client, "tsv")
    lines = response.text.splitlines()
    assert lines[0].split("\t")[0] == "hip"
    same([tuple(_null(v) for v in line.split("\t")) for line in lines[1:]], expected)


async def test_json(client: httpx.AsyncClient, expected: list[tuple[Any, ...]]) -> None:
    response = await fetch(client, "json")
    doc = json.loads(response.text)
    units = {c["name"]: c.get("unit") for c in doc["columns"]} if "columns" in doc else {}
    if units:
        assert units["ra"] == "deg"
    same([tuple(r) for r in doc["data"]], expected)


async def test_json_reports_the_overflow(client: httpx.AsyncClient) -> None:
    doc = json.loads((await fetch(client, "json", MAXREC="5")).text)
    assert len(doc["data"]) == 5
    assert "OVERFLOW" in json.dumps(doc)


async def test_fits(client: httpx.AsyncClient, expected: list[tuple[Any, ...]]) -> None:
    response = await fetch(client, "fits")
    with fits.open(io.BytesIO(response.content)) as hdus:
        table = hdus[1]
        assert table.header["TUNIT2"] == "deg"
        data = table.data
        got = []
        for row in data:
            values: list[Any] = []
            for name in ("hip", "ra", "dec", "hpmag", "none_int", "none_mag"):
                value = row[name]
                null = table.header.get(f"TNULL{data.names.index(name) + 1}")
                values.append(None if null is not None and value == null else value)
            got.append(tuple(values))
    same(got, expected)


async def test_parquet_with_votable_metadata(client: httpx.AsyncClient, expected: list[tuple[Any, ...]]) -> None:
    response = await fetch(client, "parquet")
    table = pq.read_table(io.BytesIO(response.content))
    same([tuple(r.values()) for r in table.to_pylist()], expected)
    meta = pq.ParquetFile(io.BytesIO(response.content)).metadata.metadata  # the file footer's key/value pairs
    votable = parse(io.BytesIO(meta[b"IVOA.VOTable-Parquet.content"]), verify="exception")
    assert {f.name: str(f.unit) for f in votable.get_first_table().fields}["ra"] == "deg"


async def test_geojson_places_each_star(client: httpx.AsyncClient, expected: list[tuple[Any, ...]]) -> None:
    doc = json.loads((await fetch(client, "geojson")).text)
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == len(expected)
    for feature, row in zip(doc["features"], expected, strict=True):
        lon, lat = feature["geometry"]["coordinates"]
        ra = row[1] if row[1] < 180 else row[1] - 360
        assert (lon, lat) == pytest.approx((ra, row[2]))
        assert feature["properties"]["hip"] == row[0]


async def test_geojson_without_positions_is_refused_before_streaming(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/tap/sync",
        data={"LANG": "ADQL", "QUERY": "SELECT TOP 2 hpmag FROM hipparcos.main", "RESPONSEFORMAT": "geojson"},
    )
    assert response.status_code == 400
    assert b"QUERY_STATUS" in response.content


async def test_capabilities_declare_every_format(client: httpx.AsyncClient) -> None:
    content = (await client.get("/tap/capabilities")).content
    for mime in ("text/csv", "text/tab-separated-values", "application/json", "application/fits",
                 "application/vnd.apache.parquet", "application/geo+json"):  # fmt: skip
        assert f"<mime>{mime}".encode() in content
