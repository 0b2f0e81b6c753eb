"""Streaming query results from a server-side cursor in a read-only transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from vostack.db.errors import map_errors
from vostack.db.upload import TempTable, load_temp_tables

__all__ = ["ResultCursor", "open_cursor"]


class ResultCursor:
    """Batches of rows from a server-side cursor; rows are sequences of Python values."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: asyncpg.cursor.Cursor) -> None:
        self._cursor = cursor

    async def fetch(self, n: int) -> Sequence[Sequence[object]]:
        """The next ``n`` rows at most; an empty list at the end of the result."""
        with map_errors(user_query=True):
            rows: list[asyncpg.Record] = await self._cursor.fetch(n)
        return rows


@asynccontextmanager
async def open_cursor(
    pool: asyncpg.Pool,
    sql: str,
    *,
    statement_timeout: float,
    args: Sequence[object] = (),
    temp_tables: Sequence[TempTable] = (),
) -> AsyncIterator[ResultCursor]:
    """Run ``sql`` read-only with a statement timeout and yield a cursor over its rows.

    ``args`` are the values of the statement's ``$1``, ``$2``, ... bind parameters.

    ``temp_tables`` (TAP uploads) are created and filled first in the same
    transaction, which then becomes ``READ ONLY`` (allowed after writes: only
    the way back to read-write is refused) before ``sql`` runs; they vanish with it.

    The connection goes back to the pool when the block ends; if the block is
    cancelled (the client went away), asyncpg cancels the running statement in
    PostgreSQL and the transaction is rolled back.
    """
    with map_errors():
        conn: asyncpg.Connection = await pool.acquire(timeout=30)
    try:
        with map_errors(user_query=True):
            transaction = conn.transaction(readonly=not temp_tables)
            await transaction.start()
        try:
            with map_errors(user_query=True):
                await conn.execute(f"SET LOCAL statement_timeout = {max(1, int(statement_timeout * 1000))}")
                if temp_tables:
                    await load_temp_tables(conn, temp_tables)
                    await conn.execute("SET TRANSACTION READ ONLY")
                cursor = await conn.cursor(sql, *args)
            yield ResultCursor(cursor)
        finally:
            try:
                if not conn.is_closed():
                    await transaction.rollback()
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                conn.terminate()  # a connection in an unknown state never goes back to the pool
    finally:
        await pool.release(conn)
