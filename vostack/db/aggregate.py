"""Small results read at once (aggregates: facet counts, statistics), in a read-only transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from vostack.db.cursor import read_only_transaction
from vostack.db.errors import map_errors

__all__ = ["fetch_all"]


async def fetch_all(
    pool: asyncpg.Pool, sql: str, *, statement_timeout: float, role: str | None = None
) -> list[tuple[Any, ...]]:
    """Every row of ``sql``, run read-only with a statement timeout as ``role`` (as :func:`open_cursor` runs it).

    For small results only: the rows are read in one go, not through a cursor, so PostgreSQL may plan the
    query in parallel (it never does for a cursor, which may be read piecemeal); an aggregate over a
    million rows then takes a fraction of the time.
    """
    async with read_only_transaction(pool, statement_timeout=statement_timeout, temp_tables=(), role=role) as conn:
        with map_errors(user_query=True):
            rows: Sequence[asyncpg.Record] = await conn.fetch(sql)
    return [tuple(row) for row in rows]
