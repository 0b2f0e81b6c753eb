"""The rest of ADQL 2.1 on real PostgreSQL: math semantics, strings, sets, CTEs, CAST, units, UDFs, bitwise.

Expected values come from Python (the catalogue file, the published TableSet, :mod:`math`), not from the
database.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import httpx
import pytest

from vostack import adql, db
from vostack.demo import hipparcos
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres

SIRIUS = 32349  # Sirius (early in the file, so quick to find)


@functools.cache
def star(hip: int) -> dict[str, Any]:
    """One catalogue record, from the file."""
    for row in hipparcos.iter_rows():
        if int(str(row[0])) == hip:
            return {name: row[i] for i, name in enumerate(hipparcos.COLUMNS)}
    raise LookupError(hip)


async def run(pool: db.Pool, tap: TAPService, query: str, **kwargs: Any) -> list[Any]:
    return list(await pool.fetch(adql.translate(query, tap.tableset, **kwargs).sql))


async def one(pool: db.Pool, tap: TAPService, select: str) -> Any:
    rows = await run(pool, tap, f"SELECT {select} FROM hipparcos.main WHERE hip = {SIRIUS}")
    assert len(rows) == 1
    return tuple(rows[0]) if len(rows[0]) > 1 else rows[0][0]


async def test_math_functions_have_adql_semantics(pool: db.Pool, tap: TAPService) -> None:
    ra = float(str(star(SIRIUS)["ra"]))
    got = await one(
        pool,
        tap,
        "ROUND(ra, 2), ROUND(ra, -1), ROUND(ra), TRUNCATE(ra, 1), TRUNCATE(-ra), MOD(ra, 7), MOD(hip, 7), "
        "LOG(ra), LOG10(ra), POWER(2, 10), 7 / 2, 7.0 / 2, PI(), RAND(3)",
    )
    assert got[:6] == pytest.approx(
        (round(ra, 2), round(ra, -1), round(ra), math.trunc(ra * 10) / 10, math.trunc(-ra), math.fmod(ra, 7))
    )
    assert got[6:13] == pytest.approx((SIRIUS % 7, math.log(ra), math.log10(ra), 1024, 3, 3.5, math.pi))
    assert 0 <= got[13] < 1


async def test_round_half_away_from_zero_on_doubles(pool: db.Pool, tap: TAPService) -> None:
    assert await one(pool, tap, "ROUND(2.5), ROUND(-2.5), ROUND(0.125, 2)") == (3, -3, 0.13)


async def test_in_unit_converts_with_astropy_factors(pool: db.Pool, tap: TAPService) -> None:
    row = star(SIRIUS)
    ra, plx = float(str(row["ra"])), float(str(row["plx"]))
    rad, arcsec = await one(pool, tap, "IN_UNIT(ra, 'rad'), IN_UNIT(plx, 'arcsec')")
    assert rad == pytest.approx(math.radians(ra))
    assert arcsec == pytest.approx(plx / 1000, rel=1e-6)


async def test_cast_coalesce_bitwise_and_hex(pool: db.Pool, tap: TAPService) -> None:
    got = await one(
        pool,
        tap,
        "CAST(ra AS INTEGER), CAST(hip AS VARCHAR(10)), CAST(hip AS CHAR(3)), COALESCE(NULL, hip), "
        "hip & 0xFF, hip | 0x100, hip ^ 1, ~hip, 0x7FFFFFFFFF",
    )
    ra = float(str(star(SIRIUS)["ra"]))
    assert got == (
        round(ra),
        str(SIRIUS),
        str(SIRIUS)[:3],
        SIRIUS,
        SIRIUS & 0xFF,
        SIRIUS | 0x100,
        SIRIUS ^ 1,
        ~SIRIUS,
        0x7FFFFFFFFF,
    )


async def test_set_operators_and_common_table_expressions(pool: db.Pool, tap: TAPService) -> None:
    bright = "SELECT hip FROM hipparcos.main WHERE hpmag < 1"
    near = "SELECT hip FROM hipparcos.main WHERE plx > 300"
    union = {r[0] for r in await run(pool, tap, f"{bright} UNION {near}")}
    inter = {r[0] for r in await run(pool, tap, f"{bright} INTERSECT {near}")}
    minus = {r[0] for r in await run(pool, tap, f"{bright} EXCEPT {near}")}
    b = {r[0] for r in await run(pool, tap, bright)}
    n = {r[0] for r in await run(pool, tap, near)}
    assert b and n
    assert (union, inter, minus) == (b | n, b & n, b - n)
    doubled = await run(pool, tap, f"{bright} UNION ALL {bright}")
    assert len(doubled) == 2 * len(b)
    cte = await run(pool, tap, f"WITH b AS ({bright}), n AS ({near}) SELECT COUNT(*) FROM b JOIN n USING (hip)")
    assert cte[0][0] == len(b & n)


async def test_offset_and_top(pool: db.Pool, tap: TAPService) -> None:
    all_rows = [r[0] for r in await run(pool, tap, "SELECT TOP 10 hip FROM hipparcos.main ORDER BY hip")]
    page = [r[0] for r in await run(pool, tap, "SELECT TOP 3 hip FROM hipparcos.main ORDER BY hip OFFSET 4")]
    assert page == all_rows[4:7]


async def test_string_functions_and_ilike_on_tap_schema(pool: db.Pool, tap: TAPService) -> None:
    table = tap.tableset.table("hipparcos.main")
    assert table is not None
    names = {c.name for c in table.columns}
    rows = await run(
        pool,
        tap,
        "SELECT UPPER(column_name), LOWER(UPPER(column_name)) || '!' FROM tap_schema.columns "
        "WHERE table_name ILIKE 'HIPPARCOS.MAIN' AND column_name ILIKE 'E%'",
    )
    expected = {n for n in names if n.lower().startswith("e")}
    assert {r[0] for r in rows} == {n.upper() for n in expected}
    assert {r[1] for r in rows} == {f"{n.lower()}!" for n in expected}


async def test_builtin_udfs_run(pool: db.Pool, tap: TAPService) -> None:
    got = await one(
        pool,
        tap,
        "ivo_hasword('The bright star Vega', 'stars'), ivo_hasword('Vega', 'Deneb'), "
        "ivo_nocasematch('Vega', 'v%'), ivo_hashlist_has('a#Vega#c', 'vega'), ivo_hashlist_has('a#b', 'c'), "
        "ivo_interval_overlaps(1, 2, 2, 3), ivo_interval_overlaps(1, 2, 2.5, 3), ivo_healpix_index(0, ra, dec)",
    )
    assert got[:7] == (1, 0, 1, 1, 0, 1, 0)
    assert 0 <= got[7] < 12


async def test_healpix_center_is_inside_its_pixel(pool: db.Pool, tap: TAPService) -> None:
    rows = await run(
        pool,
        tap,
        "SELECT TOP 5 ivo_healpix_index(4, COORD1(ivo_healpix_center(4, ivo_healpix_index(4, ra, dec))), "
        "COORD2(ivo_healpix_center(4, ivo_healpix_index(4, ra, dec)))) - ivo_healpix_index(4, ra, dec) "
        "FROM hipparcos.main WHERE ra IS NOT NULL",
    )
    assert [r[0] for r in rows] == [0] * 5


async def test_string_agg_aggregates(pool: db.Pool, tap: TAPService) -> None:
    rows = await run(
        pool, tap, "SELECT ivo_string_agg(hip, ',') FROM (SELECT TOP 3 hip FROM hipparcos.main ORDER BY hip) AS t"
    )
    assert sorted(rows[0][0].split(",")) == sorted(str(h) for h in (1, 2, 3))


async def test_case_in_both_forms_with_the_datatype_of_its_branches(
    pool: db.Pool, tap: TAPService, client: httpx.AsyncClient
) -> None:
    hpmag = float(str(star(SIRIUS)["hpmag"]))
    expected = "bright" if hpmag < 3 else "faint"
    got = await one(
        pool,
        tap,
        "CASE WHEN hpmag < 3 THEN 'bright' ELSE 'faint' END, CASE hip WHEN 32349 THEN 1 ELSE 2.5 END, "
        "CASE WHEN hip > 1 THEN hip ELSE 3000000000 END, CASE WHEN hip < 0 THEN 1 END",
    )
    assert got == (expected, 1.0, SIRIUS, None)
    count = await run(pool, tap, "SELECT COUNT(*) FROM hipparcos.main WHERE CASE WHEN hpmag < 3 THEN 1 ELSE 0 END = 1")
    truth = sum(1 for row in hipparcos.iter_rows() if float(str(row[hipparcos.COLUMNS.index("hpmag")])) < 3)
    assert count[0][0] == truth
    fields = adql.translate(
        "SELECT CASE WHEN hpmag < 3 THEN 'b' ELSE 'f' END AS a, CASE hip WHEN 1 THEN 1 ELSE 2.5 END AS b, "
        "CASE WHEN hip > 1 THEN hip ELSE 3000000000 END AS c, CASE WHEN hip > 1 THEN POINT(ra, dec) END AS d "
        "FROM hipparcos.main",
        tap.tableset,
    ).fields
    assert [(f.datatype, f.arraysize, f.xtype) for f in fields] == [
        ("char", "*", None),
        ("double", None, None),
        ("long", None, None),
        ("double", "2", "point"),
    ]
    # through TAP: the VOTable says the same, and the HTML page and the capabilities declare CASE
    response = await client.post(
        "/tap/sync",
        data={
            "LANG": "ADQL",
            "QUERY": f"SELECT CASE WHEN hip > 1 THEN POINT(ra, dec) END AS p FROM {hipparcos.TABLE} "
            f"WHERE hip = {SIRIUS}",
        },
    )
    assert response.status_code == 200 and 'xtype="point"' in response.text
    capabilities = (await client.get("/tap/capabilities")).text
    assert "<form>CASE</form>" in capabilities and adql.features.EXTENSIONS in capabilities
    assert "<code>CASE</code>" in (await client.get("/tap/")).text
