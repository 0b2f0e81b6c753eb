"""ADQL geometry on real PostgreSQL + pgSphere, checked against astropy on the Hipparcos rows (ADQL 2.1 §4.2).

The expected answers never come from the database: they are computed from the catalogue file
(:func:`vostack.demo.hipparcos.iter_rows`) with astropy coordinates, or with plain vector algebra
for polygons.
"""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path
from typing import Any

import astropy.units as u
import httpx
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse

from vostack import adql, db
from vostack.demo import hipparcos
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres

# a 3° cone around Orion's belt and a smaller one for the crossmatch
RA0, DEC0, RADIUS = 83.8, -5.4, 3.0
XMATCH_RADIUS = 0.1  # degrees


@functools.cache
def catalogue() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """hip, ra, dec (degrees) of every record with a position, read from hip2.dat with numpy.

    The byte ranges are those of the CDS I/311 ReadMe (HIP: bytes 1-6, RArad: 16-28, DErad: 30-42,
    in radians), independently of the loader in :mod:`vostack.demo.hipparcos`.
    """
    raw = hipparcos.default_path().read_bytes()
    lines = raw.splitlines()
    records = np.array(lines, dtype=f"S{hipparcos.RECORD_LENGTH}")
    hip = np.char.strip(records.astype("S6")).astype(np.int64)
    ra_text = np.array([line[15:28] for line in lines])
    dec_text = np.array([line[29:42] for line in lines])
    ra, dec = np.degrees(ra_text.astype(np.float64)), np.degrees(dec_text.astype(np.float64))
    order = np.argsort(hip)
    return hip[order], ra[order], dec[order]


def coords() -> SkyCoord:
    _, ra, dec = catalogue()
    return SkyCoord(ra * u.deg, dec * u.deg)


def separations(ra0: float, dec0: float) -> np.ndarray:
    return coords().separation(SkyCoord(ra0 * u.deg, dec0 * u.deg)).deg  # type: ignore[no-any-return]


def unit_vectors(ra: Any, dec: Any) -> np.ndarray:
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


async def run(pool: db.Pool, tap: TAPService, query: str) -> list[Any]:
    sql = adql.translate(query, tap.tableset).sql
    return list(await pool.fetch(sql))


def expected_cone(ra0: float = RA0, dec0: float = DEC0, radius: float = RADIUS) -> set[int]:
    hip, _, _ = catalogue()
    return {int(h) for h in hip[separations(ra0, dec0) <= radius]}


def assert_same_cone(found: set[int], ra0: float, dec0: float, radius: float) -> None:
    """The sets agree, except for stars within a nano-degree of the edge (rounding differs)."""
    hip, _, _ = catalogue()
    sep = dict(zip(hip.tolist(), separations(ra0, dec0).tolist(), strict=True))
    expected = expected_cone(ra0, dec0, radius)
    assert expected, "the test cone must not be empty"
    assert all(abs(sep[h] - radius) < 1e-9 for h in found ^ expected)


@pytest.mark.parametrize(
    "predicate",
    [
        "CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra}, {dec}, {r})) = 1",
        "1 = CONTAINS(POINT(ra, dec), CIRCLE({ra}, {dec}, {r}))",
        "CONTAINS(POINT(ra, dec), CIRCLE(POINT({ra}, {dec}), {r})) <> 0",
        "INTERSECTS(CIRCLE({ra}, {dec}, {r}), POINT(ra, dec)) = 1",
        "DISTANCE(POINT(ra, dec), POINT({ra}, {dec})) <= {r}",
        "{r} >= DISTANCE(ra, dec, {ra}, {dec})",
    ],
)
async def test_cone_search_matches_astropy(pool: db.Pool, tap: TAPService, predicate: str) -> None:
    where = predicate.format(ra=RA0, dec=DEC0, r=RADIUS)
    rows = await run(pool, tap, f"SELECT hip FROM hipparcos.main WHERE {where}")
    assert_same_cone({r[0] for r in rows}, RA0, DEC0, RADIUS)


@pytest.mark.parametrize("negation", ["= 0", "<> 1"])
async def test_contains_equal_to_zero_is_the_complement(pool: db.Pool, tap: TAPService, negation: str) -> None:
    query = (f"SELECT COUNT(*) FROM hipparcos.main WHERE ra IS NOT NULL AND "
             f"CONTAINS(POINT(ra, dec), CIRCLE({RA0}, {DEC0}, {RADIUS})) {negation}")  # fmt: skip
    hip, _, _ = catalogue()
    assert (await run(pool, tap, query))[0][0] == len(hip) - len(expected_cone())


async def test_cone_around_the_pole_and_across_ra_zero(pool: db.Pool, tap: TAPService) -> None:
    for ra0, dec0, radius in ((0.5, 1.0, 2.0), (123.0, 89.0, 2.5)):
        query = f"SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), CIRCLE({ra0}, {dec0}, {radius})) = 1"
        assert_same_cone({r[0] for r in await run(pool, tap, query)}, ra0, dec0, radius)


async def test_distance_values_match_astropy(pool: db.Pool, tap: TAPService) -> None:
    rows = await run(pool, tap, f"SELECT TOP 50 hip, DISTANCE(POINT(ra, dec), POINT({RA0}, {DEC0})) AS d "
                                "FROM hipparcos.main WHERE hpmag < 4 ORDER BY hip")  # fmt: skip
    hip, _, _ = catalogue()
    sep = dict(zip(hip.tolist(), separations(RA0, DEC0).tolist(), strict=True))
    assert len(rows) == 50
    for h, d in rows:
        assert d == pytest.approx(sep[h], abs=1e-9)


async def test_polygon_contains_matches_vector_algebra(pool: db.Pool, tap: TAPService) -> None:
    # a convex quadrilateral
    vertices = [(80.0, -8.0), (88.0, -7.0), (87.0, -2.0), (81.0, -1.5)]
    flat = ", ".join(f"{a}, {b}" for a, b in vertices)
    rows = await run(pool, tap, f"SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), POLYGON({flat})) = 1")
    hip, ra, dec = catalogue()
    points = unit_vectors(ra, dec)
    corners = unit_vectors(*np.array(vertices).T)
    normals = np.cross(corners, np.roll(corners, -1, axis=0))
    orientation = np.sign(corners.mean(axis=0) @ normals.T)  # the polygon's own side of each edge
    sides = (points @ normals.T) * orientation
    inside = np.all(sides > 0, axis=1)
    margin = np.min(np.abs(sides), axis=1)
    found = {r[0] for r in rows}
    expected = {int(h) for h in hip[inside]}
    assert expected
    assert all(margin[np.searchsorted(hip, h)] < 1e-12 for h in found ^ expected)


async def test_crossmatch_matches_astropy(pool: db.Pool, tap: TAPService) -> None:
    field = 6.0  # the b stars lie within this many degrees of (RA0, DEC0)
    query = (
        "SELECT a.hip, b.hip FROM hipparcos.main AS a JOIN hipparcos.main AS b "
        f"ON CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, {XMATCH_RADIUS})) = 1 "
        f"WHERE a.hip <> b.hip AND CONTAINS(POINT(b.ra, b.dec), CIRCLE({RA0}, {DEC0}, {field})) = 1"
    )
    found = {(a, b) for a, b in await run(pool, tap, query)}
    hip, ra, dec = catalogue()
    sep0 = separations(RA0, DEC0)
    b_stars = sep0 <= field
    a_stars = sep0 <= field + 2 * XMATCH_RADIUS
    sky_a = SkyCoord(ra[a_stars] * u.deg, dec[a_stars] * u.deg)
    sky_b = SkyCoord(ra[b_stars] * u.deg, dec[b_stars] * u.deg)
    sep = sky_a[:, np.newaxis].separation(sky_b[np.newaxis, :]).deg
    hip_a, hip_b = hip[a_stars], hip[b_stars]
    pairs = {(int(hip_a[i]), int(hip_b[j])): s for (i, j), s in np.ndenumerate(sep)}
    expected = {pair for pair, s in pairs.items() if s <= XMATCH_RADIUS and pair[0] != pair[1]}
    assert len(expected) > 5
    assert all(abs(pairs.get(pair, 0.0) - XMATCH_RADIUS) < 1e-9 for pair in found ^ expected)


async def test_area_centroid_and_coordinates(pool: db.Pool, tap: TAPService) -> None:
    query = (
        "SELECT TOP 1 AREA(CIRCLE(10, 20, 1)), COORD1(POINT(ra, dec)), COORD2(POINT(ra, dec)), "
        "COORD1(CENTROID(CIRCLE(ra, dec, 0.5))), AREA(POINT(1, 2)), COORDSYS(POINT(ra, dec)), ra, dec "
        "FROM hipparcos.main WHERE hip = 32349"
    )
    ((area, c1, c2, centre, point_area, system, ra, dec),) = await run(pool, tap, query)
    cap = 2 * math.pi * (1 - math.cos(math.radians(1))) * (180 / math.pi) ** 2  # square degrees
    assert area == pytest.approx(cap, rel=1e-9)
    assert (c1, c2, centre) == pytest.approx((ra, dec, ra), abs=1e-9)
    assert point_area == 0
    assert system == "ICRS"


async def test_geometry_results_are_dali_arrays_in_the_votable(client: httpx.AsyncClient) -> None:
    query = (
        "SELECT hip, POINT(ra, dec) AS p, CIRCLE(ra, dec, 0.5) AS c, POLYGON(1, 2, 3, 2, 2, 4) AS poly, "
        "CENTROID(CIRCLE(POINT(ra, dec), 1)) AS m FROM hipparcos.main WHERE hip = 32349"
    )
    response = await client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})
    assert response.status_code == 200, response.text
    table = parse(io.BytesIO(response.content), verify="exception").get_first_table()
    fields = {f.name: (f.datatype, f.arraysize, f.xtype, f.unit) for f in table.fields}
    assert fields["p"][:3] == ("double", "2", "point")
    assert fields["c"][:3] == ("double", "3", "circle")
    assert fields["poly"][:3] == ("double", "*", "polygon")
    assert fields["m"][:3] == ("double", "2", "point")
    assert str(table.fields[1].unit) == "deg"
    row = table.array[0]
    hip, ra, dec = catalogue()
    i = int(np.searchsorted(hip, 32349))
    assert list(row["p"]) == pytest.approx([ra[i], dec[i]])
    assert list(row["c"]) == pytest.approx([ra[i], dec[i], 0.5])
    assert list(row["poly"]) == pytest.approx([1, 2, 3, 2, 2, 4])
    assert list(row["m"]) == pytest.approx([ra[i], dec[i]], abs=1e-9)


async def explain(pool: db.Pool, tap: TAPService, query: str) -> str:
    sql = adql.translate(query, tap.tableset).sql
    async with pool.acquire() as conn:
        return "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}"))


async def test_hipparcos_is_large_enough_that_the_planner_prefers_a_scan_without_the_index(
    pool: db.Pool, tap: TAPService
) -> None:
    plan = await explain(pool, tap, f"SELECT hip FROM hipparcos.main WHERE DEGREES(ra) - {RA0} < 1E-9 * dec")
    assert "Seq Scan" in plan


@pytest.mark.parametrize(
    "where",
    [
        f"CONTAINS(POINT(ra, dec), CIRCLE({RA0}, {DEC0}, 0.5)) = 1",
        f"1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {RA0}, {DEC0}, 0.5))",
        f"DISTANCE(POINT(ra, dec), POINT({RA0}, {DEC0})) < 0.5",
        f"CONTAINS(POINT(ra, dec), POLYGON({RA0}, {DEC0}, {RA0 + 1}, {DEC0}, {RA0}, {DEC0 + 1})) = 1",
    ],
)
async def test_cone_search_uses_the_spatial_index(pool: db.Pool, tap: TAPService, where: str) -> None:
    plan = await explain(pool, tap, f"SELECT hip FROM hipparcos.main WHERE {where}")
    assert "main_spoint_idx" in plan, plan


@pytest.mark.parametrize(
    "on",
    [
        "CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, 0.01)) = 1",
        "DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) < 0.01",
    ],
)
async def test_crossmatch_uses_the_spatial_index(pool: db.Pool, tap: TAPService, on: str) -> None:
    query = f"SELECT a.hip, b.hip FROM hipparcos.main AS a JOIN hipparcos.main AS b ON {on} WHERE b.hpmag < 6"
    plan = await explain(pool, tap, query)
    assert "main_spoint_idx" in plan, plan
    assert "Nested Loop" in plan, plan


FIXTURES = Path(__file__).parents[2] / "unit" / "adql" / "fixtures" / "geometry.sql"


def fixture_statements() -> list[str]:
    """The PostgreSQL half of every pair in the geometry fixture table."""
    statements = []
    for block in FIXTURES.read_text().split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#")]
        if lines:
            statements.append(lines[-1].rstrip(";"))
    return statements


def test_geometry_fixture_table_has_statements() -> None:
    assert len(fixture_statements()) > 15


@pytest.mark.parametrize("sql", fixture_statements(), ids=lambda sql: sql[:60])
async def test_geometry_fixture_sql_is_valid_postgresql(pool: db.Pool, hipparcos: None, sql: str) -> None:
    async with pool.acquire() as conn:
        await conn.fetch(f"EXPLAIN {sql}")


async def test_polygon_vertices_may_use_a_table_aliased_like_the_vertex_list(pool: db.Pool, tap: TAPService) -> None:
    query = (
        "SELECT v.hip FROM hipparcos.main AS v WHERE v.hip = 32349 AND CONTAINS(POINT(v.ra + 0.25, v.dec + 0.25), "
        "POLYGON(v.ra, v.dec, v.ra + 1, v.dec, v.ra, v.dec + 1)) = 1"
    )
    assert [r[0] for r in await run(pool, tap, query)] == [32349]
