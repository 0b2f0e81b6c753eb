"""REGION, CAST to geometries, CENTROID of polygons and polygon columns on real PostgreSQL + pgSphere.

Expected answers are computed here, never read from the database: REGION cones with astropy on the
catalogue file (:mod:`.test_geometry`), polygon centroids by integrating the unit vector over the
polygon on a fine grid with numpy, DALI arrays from the vertices written into the table.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from astropy.io.votable import parse

from tests.unit.adql.tables import footprints
from vostack import adql, db
from vostack.schema import TableSet
from vostack.tap import TAPService
from vostack.votable import TAP_FORMATS, writer_for

from .test_geometry import DEC0, RA0, RADIUS, assert_same_cone, run, unit_vectors

pytestmark = pytest.mark.postgres

# a large triangle (its centre of mass is 1.6° from the mean of its vertices) and small ones
TRIANGLE = [(10.0, -10.0), (80.0, -10.0), (10.0, 60.0)]
ACROSS_ZERO = [(359.0, -1.0), (1.0, -1.0), (0.0, 1.5)]
QUAD = [(120.0, 30.0), (124.0, 31.0), (123.0, 35.0), (119.5, 34.0)]
FIELDS = {1: TRIANGLE, 2: TRIANGLE[::-1], 3: ACROSS_ZERO, 4: QUAD}
TEXTS = {1: "10.5 -20.25", 2: " 120.5\t32 ", 3: "1 2 3 4 5 6", 4: "83.8 -5.4 0.5"}


def spoly(vertices: list[tuple[float, float]]) -> str:
    return "{" + ",".join(f"({lon}d,{lat}d)" for lon, lat in vertices) + "}"


@pytest.fixture
async def fields(pool: db.Pool) -> AsyncIterator[TableSet]:
    async with pool.acquire() as connection:
        await connection.execute(
            "CREATE SCHEMA IF NOT EXISTS adqltest; DROP TABLE IF EXISTS adqltest.fields;"
            "CREATE TABLE adqltest.fields (id integer, fp spoly, txt text)"
        )
        rows = [(i, spoly(v), TEXTS[i]) for i, v in FIELDS.items()] + [(5, None, None)]
        await connection.executemany("INSERT INTO adqltest.fields VALUES ($1, CAST($2 AS spoly), $3)", rows)
    yield footprints("adqltest")
    await pool.execute("DROP TABLE adqltest.fields")


async def fetch(pool: db.Pool, tables: TableSet, query: str) -> list[Any]:
    return list(await pool.fetch(adql.translate(query, tables).sql))


def lonlat(vector: np.ndarray) -> tuple[float, float]:
    vector = vector / np.linalg.norm(vector)
    return float(np.degrees(np.arctan2(vector[1], vector[0])) % 360), float(np.degrees(np.arcsin(vector[2])))


def integrated_centroid(vertices: list[tuple[float, float]], step: float = 0.05) -> tuple[float, float]:
    """The polygon's centre of mass on the sphere: the mean unit vector over a grid of cells inside it."""
    lon = np.array([v[0] for v in vertices])
    lon = np.where(lon > 180, lon - 360, lon)  # keep the box of a polygon across RA 0 contiguous
    lat = np.array([v[1] for v in vertices])
    corners = unit_vectors(lon, lat)
    grid_lon = np.arange(lon.min() - 5, lon.max() + 5, step) + step / 2
    grid_lat = np.arange(max(lat.min() - 10, -90), min(lat.max() + 5, 90), step) + step / 2
    glon, glat = np.meshgrid(grid_lon, grid_lat)
    points = unit_vectors(glon, glat)
    normals = np.cross(corners, np.roll(corners, -1, axis=0))
    side = np.sign(normals @ corners.mean(axis=0))
    inside = np.all((points @ normals.T) * side >= 0, axis=-1)
    weights = np.cos(np.radians(glat)) * inside
    return lonlat((points * weights[..., None]).sum(axis=(0, 1)))


def separation(a: tuple[float, float], b: tuple[float, float]) -> float:
    u, v = unit_vectors(*a), unit_vectors(*b)
    return float(np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v)), u @ v)))


async def test_polygon_column_is_returned_as_dali_arrays_in_degrees(pool: db.Pool, fields: TableSet) -> None:
    rows = await fetch(pool, fields, "SELECT id, fp FROM adqltest.fields ORDER BY id")
    got = {row[0]: row[1] for row in rows}
    for key, vertices in FIELDS.items():
        assert got[key] == pytest.approx([c for vertex in vertices for c in vertex], abs=1e-9)
    assert got[5] is None


async def test_polygon_column_serialises_as_a_votable_polygon(pool: db.Pool, fields: TableSet) -> None:
    translation = adql.translate("SELECT id, fp FROM adqltest.fields WHERE id = 4", fields)
    rows = [tuple(row) for row in await pool.fetch(translation.sql)]
    writer = writer_for(TAP_FORMATS[0], translation.fields)
    document = writer.header() + writer.rows(rows) + b"".join(writer.iter_footer())
    table = parse(io.BytesIO(document), verify="exception").get_first_table()
    field = table.get_field_by_id_or_name("fp")
    assert (field.datatype, field.xtype) == ("double", "polygon")
    assert list(table.array["fp"][0]) == pytest.approx([c for vertex in QUAD for c in vertex], abs=1e-9)


async def test_polygon_centroid_is_the_centre_of_mass_on_the_sphere(pool: db.Pool, fields: TableSet) -> None:
    rows = await fetch(pool, fields, "SELECT id, CENTROID(fp) AS c FROM adqltest.fields ORDER BY id")
    got = {row[0]: tuple(row[1]) for row in rows}
    for key, vertices in FIELDS.items():
        expected = integrated_centroid(vertices)
        assert separation(got[key], expected) < 0.01, (key, got[key], expected)
    # not the normalised mean of the vertices, which is 1.6 degrees away for the large triangle
    mean = lonlat(unit_vectors(*np.array(TRIANGLE).T).sum(axis=0))
    assert separation(got[1], mean) > 1
    assert got[5] == (None, None)


async def test_centroid_of_polygon_and_box_literals(pool: db.Pool, fields: TableSet) -> None:
    flat = ", ".join(f"{lon}, {lat}" for lon, lat in TRIANGLE)
    rows = await fetch(
        pool,
        fields,
        f"SELECT CENTROID(POLYGON({flat})), COORD2(CENTROID(BOX(10, 20, 2, 2))), "
        "CENTROID(REGION('Polygon ICRS 120 30 124 31 123 35 119.5 34')) FROM adqltest.fields WHERE id = 1",
    )
    polygon, box_lat, quad = rows[0]
    assert separation(tuple(polygon), integrated_centroid(TRIANGLE)) < 0.01
    # a box's great-circle edges bulge towards the pole: its centre of mass is north of its centre
    box = [(9.0, 19.0), (11.0, 19.0), (11.0, 21.0), (9.0, 21.0)]
    assert box_lat == pytest.approx(integrated_centroid(box, step=0.005)[1], abs=1e-3)
    assert 20 < box_lat < 20.002
    assert separation(tuple(quad), integrated_centroid(QUAD)) < 0.01


async def test_cast_of_dali_strings_to_geometries(pool: db.Pool, fields: TableSet) -> None:
    rows = await fetch(
        pool,
        fields,
        "SELECT CAST('12.5 -45.25' AS POINT), CAST('12.5 -45.25 0.5' AS CIRCLE), "
        "CAST('1 2 3 4 5 6' AS POLYGON) FROM adqltest.fields WHERE id = 1",
    )
    assert [list(value) for value in rows[0]] == [
        pytest.approx([12.5, -45.25]),
        pytest.approx([12.5, -45.25, 0.5]),
        pytest.approx([1, 2, 3, 4, 5, 6]),
    ]
    points = await fetch(pool, fields, "SELECT id, CAST(txt AS POINT) FROM adqltest.fields WHERE id IN (1, 2, 5)")
    got = {row[0]: list(row[1]) for row in points}
    assert got[1] == pytest.approx([10.5, -20.25])
    assert got[2] == pytest.approx([120.5, 32])
    polygon = await fetch(pool, fields, "SELECT CAST(txt AS POLYGON) FROM adqltest.fields WHERE id = 3")
    assert list(polygon[0][0]) == pytest.approx([1, 2, 3, 4, 5, 6], abs=1e-9)
    circle = await fetch(pool, fields, "SELECT AREA(CAST(txt AS CIRCLE)) FROM adqltest.fields WHERE id = 4")
    cap = 2 * np.pi * (1 - np.cos(np.radians(0.5))) * np.degrees(1) ** 2  # square degrees
    assert circle[0][0] == pytest.approx(cap, rel=1e-9)


async def test_cast_text_column_to_point_in_a_predicate(pool: db.Pool, fields: TableSet) -> None:
    rows = await fetch(
        pool, fields, "SELECT id FROM adqltest.fields WHERE 1 = CONTAINS(CAST(txt AS POINT), CIRCLE(10, -20, 1))"
    )
    positions = {key: (float(TEXTS[key].split()[0]), float(TEXTS[key].split()[1])) for key in (1, 2)}
    inside = {key for key, position in positions.items() if separation(position, (10, -20)) <= 1}
    assert {row[0] for row in rows} == inside == {1}


async def test_region_circle_cone_matches_astropy(pool: db.Pool, tap: TAPService) -> None:
    region = f"REGION('Circle ICRS {RA0} {DEC0} {RADIUS}')"
    rows = await run(pool, tap, f"SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), {region}) = 1")
    assert_same_cone({r[0] for r in rows}, RA0, DEC0, RADIUS)


@pytest.mark.parametrize(
    ("region", "constructor"),
    [
        ("REGION('Polygon ICRS 80 -8 88 -7 87 -2 81 -1.5')", "POLYGON(80, -8, 88, -7, 87, -2, 81, -1.5)"),
        ("REGION('Box ICRS GEOCENTER 84 -5 4 3')", "BOX(84, -5, 4, 3)"),
        ("REGION('Polygon ICRS 1.396263 -0.139626 1.535890 -0.122173 1.518436 -0.034907 unit rad')", None),
    ],
)
async def test_region_shapes_select_what_the_adql_shapes_select(
    pool: db.Pool, tap: TAPService, region: str, constructor: str | None
) -> None:
    template = "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT(ra, dec), {}) = 1"
    found = {r[0] for r in await run(pool, tap, template.format(region))}
    assert found
    if constructor is None:  # radians: the same triangle as in degrees, up to the rounding of the radians
        degrees = "POLYGON(80, -8, 88, -7, 87, -2)"
        expected = {r[0] for r in await run(pool, tap, template.format(degrees))}
        assert len(found ^ expected) <= 2
    else:
        assert found == {r[0] for r in await run(pool, tap, template.format(constructor))}
