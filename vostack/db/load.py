"""Bulk loading and small administrative statements (used by the demo and the tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice

import asyncpg

from vostack.db.catalog import quote_ident
from vostack.db.errors import map_errors
from vostack.db.locks import advisory_xact_lock

__all__ = ["copy_rows", "execute", "row_count"]


async def execute(pool: asyncpg.Pool, sql: str, *, lock: str | None = None) -> None:
    """Run one or more SQL statements (DDL) in a transaction.

    With ``lock``, the transaction first takes the advisory lock of that name: servers starting together run
    such DDL one after another (``CREATE ... IF NOT EXISTS`` run at the same moment can fail).
    """
    with map_errors():
        async with pool.acquire() as conn, conn.transaction():
            if lock is not None:
                await advisory_xact_lock(conn, lock)
            await conn.execute(sql)


async def row_count(pool: asyncpg.Pool, table: str) -> int | None:
    """The exact row count of ``schema.table``, or ``None`` if the table does not exist."""
    schema_name, _, table_name = table.partition(".")
    with map_errors():
        async with pool.acquire() as conn:
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema_name}.{table_name}")
            if not exists:
                return None
            count: int = await conn.fetchval(
                f"SELECT count(*) FROM {quote_ident(schema_name)}.{quote_ident(table_name)}"
            )
    return count


async def copy_rows(
    pool: asyncpg.Pool,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    chunk: int = 20_000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY ``rows`` into ``schema.table`` in one transaction; ``progress`` gets the running count."""
    schema_name, _, table_name = table.partition(".")
    done = 0
    it = iter(rows)
    with map_errors():
        async with pool.acquire() as conn, conn.transaction():
            while batch := list(islice(it, chunk)):
                await conn.copy_records_to_table(
                    table_name, records=batch, columns=list(columns), schema_name=schema_name
                )
                done += len(batch)
                if progress is not None:
                    progress(done)
    return done
