"""The attacks that translate run harmlessly on the real database (see tests/unit/adql/test_safety.py)."""

from __future__ import annotations

import asyncpg
import pytest

from tests.unit.adql.test_safety import HARMLESS
from vostack import adql, db
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("query", sorted(HARMLESS), ids=lambda q: q[:40])
async def test_harmless_attack_runs_without_side_effects(pool: db.Pool, tap: TAPService, query: str) -> None:
    before = await pool.fetchval("SELECT COUNT(*) FROM hipparcos.main")
    sql = adql.translate(query, tap.tableset, row_limit=5).sql
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        try:
            rows = await conn.fetch(sql)
        except asyncpg.NumericValueOutOfRangeError:
            rows = []  # the literal too big for a double: PostgreSQL refuses it
        except asyncpg.StatementTooComplexError:
            rows = []  # 5,000 '+' in a row: beyond PostgreSQL's stack (SQLSTATE 54001, a 400 through TAP)
    assert len(rows) <= 5
    assert await pool.fetchval("SELECT COUNT(*) FROM hipparcos.main") == before > 0
