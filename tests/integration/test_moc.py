"""MOC 2.0 coverage on the real data: every row lies in its table's MOC, the files read back, recomputation."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from astropy import units
from astropy.io import fits
from astropy.time import Time
from mocpy import MOC, TimeMOC
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.catalogues import hipparcos_positions
from vostack import db
from vostack.config import ColumnMeta, TableMeta
from vostack.demo import demo_config
from vostack.demo.spex import TABLE as SPEX
from vostack.demo.spex import spex_table_meta
from vostack.moc import CoverageConfig, CoverageService, TableCoverage
from vostack.registry import Coverage
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres

SMALL = "moctest.points"


@pytest.fixture(scope="module")
async def small_table(pool: db.Pool) -> None:
    await db.execute(
        pool,
        f"DROP SCHEMA IF EXISTS moctest CASCADE; CREATE SCHEMA moctest;"
        f"CREATE TABLE {SMALL} (id integer PRIMARY KEY, ra double precision, dec double precision);",
    )
    await db.copy_rows(pool, SMALL, ("id", "ra", "dec"), [(1, 10.0, 10.0), (2, 200.0, -45.0), (3, None, None)])


@pytest.fixture(scope="module")
async def covered(pool: db.Pool, hipparcos: None, spex: None, small_table: None) -> AsyncIterator[CoverageService]:
    config = demo_config()
    position = {"ra": ColumnMeta(ucd="pos.eq.ra;meta.main"), "dec": ColumnMeta(ucd="pos.eq.dec;meta.main")}
    tables = {**config.tables, SPEX: spex_table_meta(), SMALL: TableMeta(columns=position)}
    tap = TAPService(config=dataclasses.replace(config, tables=tables))
    coverage = CoverageConfig(
        order=7,
        tables={SPEX: TableCoverage(order=9, time_min="t_min", time_max="t_max", time_format="mjd")},
    )
    async with tap.serve(pool):
        await db.execute(pool, "DROP SCHEMA IF EXISTS vostack_moc CASCADE")
        service = CoverageService(tap=tap, config=coverage)
        await service.start(pool)
        yield service
        await service.stop()


@pytest.fixture
async def client(covered: CoverageService) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[Mount("/moc", covered)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def test_tables_with_a_main_position_are_covered_at_their_orders(covered: CoverageService) -> None:
    assert set(covered.specs) == {"hipparcos.main", SPEX, SMALL}
    assert covered.specs["hipparcos.main"].order == 7 and covered.specs[SPEX].order == 9


def test_every_hipparcos_star_lies_in_the_moc(covered: CoverageService) -> None:
    moc = covered.moc("hipparcos.main")
    assert isinstance(moc, MOC) and moc.max_order == 7
    _, coords = hipparcos_positions()  # read from hip2.dat, not from the database
    inside = moc.contains_lonlat(coords.ra, coords.dec)
    assert inside.all(), f"{(~inside).sum()} stars outside"
    stored = covered.stored("hipparcos.main")
    assert stored is not None and stored.rows == len(coords)
    assert 0.3 < moc.sky_fraction < 0.7  # 118k stars in 196,608 order-7 cells: not every cell has one


async def test_every_spectrum_lies_in_the_space_and_time_mocs(covered: CoverageService, pool: db.Pool) -> None:
    async with db.open_cursor(pool, f"SELECT ra, dec, t_min, t_max FROM {SPEX}", statement_timeout=30) as cursor:
        rows = np.asarray(await cursor.fetch(10_000), dtype=float)
    space = covered.moc(SPEX)
    assert isinstance(space, MOC)
    assert space.contains_lonlat(rows[:, 0] * units.deg, rows[:, 1] * units.deg).all()
    timed = covered.moc(SPEX, "time")
    assert isinstance(timed, TimeMOC)
    for column in (2, 3):
        assert timed.contains(Time(rows[:, column], format="mjd", scale="utc")).all()
    assert not timed.contains(Time([40000.0], format="mjd")).any()  # 1968: before any SpeX spectrum
    assert space.sky_fraction < 0.05  # 3,000 pointings at order 9 cover little of the sky


def test_the_registry_coverage_is_a_coarser_moc_with_the_time_span(covered: CoverageService) -> None:
    coverage = covered.coverage(SPEX, "https://example.org/moc")
    assert isinstance(coverage, Coverage) and coverage.spatial is not None
    coarse = MOC.from_string(coverage.spatial, format="ascii")
    assert coarse.max_order == 6
    full = covered.moc(SPEX)
    assert isinstance(full, MOC) and full.difference(coarse).empty()  # degrading only adds sky
    assert coverage.footprint == f"https://example.org/moc/{SPEX}/space.fits"
    assert 0 < len(coverage.temporal) <= 100
    assert 50000 < coverage.temporal[0][0] < coverage.temporal[-1][1] < 61000  # MJD of 1995 .. 2025


async def test_the_mocs_are_served_in_the_three_serialisations(
    client: httpx.AsyncClient, covered: CoverageService, tmp_path: Path
) -> None:
    expected = covered.moc("hipparcos.main")
    assert isinstance(expected, MOC)
    response = await client.get("/moc/hipparcos.main/space.fits")
    assert response.status_code == 200 and response.headers["content-type"] == "application/fits"
    with fits.open(io.BytesIO(response.content)) as hdus:
        assert hdus[1].header["MOCORD_S"] == 7 or hdus[1].header.get("MOCORDER") == 7
    path = tmp_path / "hip.fits"
    path.write_bytes(response.content)
    assert MOC.load(path, format="fits") == expected  # mocpy reads the file back
    text = (await client.get("/moc/hipparcos.main/space.txt")).text
    assert MOC.from_string(text, format="ascii") == expected
    json = (await client.get("/moc/hipparcos.main/space.json")).text
    assert MOC.from_string(json, format="json") == expected
    timed = await client.get(f"/moc/{SPEX}/time.fits")
    path = tmp_path / "spex-time.fits"
    path.write_bytes(timed.content)
    assert TimeMOC.load(path, format="fits") == covered.moc(SPEX, "time")
    index = (await client.get("/moc/")).json()
    assert index[SPEX]["time"]["fits"] == f"http://testserver/moc/{SPEX}/time.fits"
    assert index["hipparcos.main"]["space"]["rows"] == 117_955


@pytest.mark.parametrize(
    "path", ["/moc/nope.table/space.fits", "/moc/hipparcos.main/space.png", "/moc/hipparcos.main/time.txt"]
)
async def test_unknown_mocs_are_404_with_a_reason(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404 and response.text.strip()


async def test_a_recomputation_after_the_data_change_reaches_every_process(
    covered: CoverageService, pool: db.Pool
) -> None:
    before = covered.moc(SMALL)
    assert isinstance(before, MOC)
    assert list(before.contains_lonlat([10.0, 200.0, 100.0] * units.deg, [10.0, -45.0, 60.0] * units.deg)) == [
        True, True, False,
    ]  # fmt: skip
    other = CoverageService(tap=covered.tap, config=covered.config)  # another process of the site
    await other.start(pool)
    await db.copy_rows(pool, SMALL, ("id", "ra", "dec"), [(4, 100.0, 60.0)])
    (space,) = await covered.recompute([SMALL])
    assert space.rows == 3
    after = covered.moc(SMALL)
    assert isinstance(after, MOC) and after.contains_lonlat([100.0] * units.deg, [60.0] * units.deg).all()
    await other._refresh()  # what its next request does
    assert other.moc(SMALL) == after
    await other.stop()
