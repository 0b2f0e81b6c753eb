"""Mutated ADQL that translates must be SQL PostgreSQL can plan (EXPLAIN).

PostgreSQL may still refuse what ADQL's grammar allows but SQL's semantics do not (a column neither
grouped nor aggregated, ORDER BY outside a DISTINCT select list) and argument types the translator
does not check (``LOWER(ra)``): those come back to the client as query errors.  It must never see a
syntax error, an unknown table, column or function name, or anything outside the published tables.
"""

from __future__ import annotations

import contextlib

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vostack import adql, db
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres

SEEDS = [
    "SELECT TOP 10 hip, ra, dec FROM hipparcos.main WHERE hpmag < 5 ORDER BY hpmag",
    "SELECT hip FROM hipparcos.main WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, 20, 1)) = 1",
    "SELECT a.hip, b.hip FROM hipparcos.main AS a JOIN hipparcos.main AS b "
    "ON DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) < 0.01",
    "SELECT COUNT(*), AVG(b_v), ROUND(MAX(hpmag), 2) FROM hipparcos.main GROUP BY sn HAVING COUNT(*) > 1",
    "WITH b AS (SELECT hip FROM hipparcos.main WHERE hpmag < 2) SELECT * FROM b UNION SELECT hip FROM hipparcos.main",
    "SELECT IN_UNIT(ra, 'rad'), CAST(hip AS VARCHAR(5)), COALESCE(b_v, 0), hip & 0xFF FROM hipparcos.main OFFSET 3",
    "SELECT POLYGON(1, 2, 3, 4, 5, 6), AREA(BOX(1, 2, 3, 4)), MOD(ra, 3), TRUNCATE(dec, 1) FROM hipparcos.main",
]
TOKENS = ["(", ")", ",", "1", "0.5", "NULL", "hip", "ra", "dec", "hpmag", "+", "-", "*", "/", "AND", "OR", "NOT",
          "POINT(", "CIRCLE(", "AS", "ORDER BY", "GROUP BY", "DISTINCT", "ABS(", "'x'", "||"]  # fmt: skip


# what SQL semantics or argument types can refuse in a query the translator accepted
SEMANTIC_ERRORS = (
    asyncpg.GroupingError,
    asyncpg.InvalidColumnReferenceError,
    asyncpg.DataError,
    asyncpg.UndefinedFunctionError,
    asyncpg.AmbiguousFunctionError,
    asyncpg.DatatypeMismatchError,
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    words = draw(st.sampled_from(SEEDS)).replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split()
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(words) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete":
            del words[at]
        else:
            words[at : at + (action == "replace")] = [draw(st.sampled_from(TOKENS))]
    return " ".join(words)


async def test_translated_mutants_are_valid_postgresql(pool: db.Pool, tap: TAPService) -> None:
    translated: list[str] = []

    @settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(mutated())
    def collect(text: str) -> None:
        with contextlib.suppress(adql.ADQLError):
            translated.append(adql.translate(text, tap.tableset).sql)

    collect()
    assert len(translated) > 20
    problems = []
    async with pool.acquire() as conn:
        for sql in translated:
            try:
                await conn.fetch(f"EXPLAIN {sql}")
            except SEMANTIC_ERRORS:
                pass
            except asyncpg.PostgresError as exc:
                problems.append((type(exc).__name__, str(exc).splitlines()[0], sql))
    assert problems == []
