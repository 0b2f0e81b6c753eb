"""Connection set-up for the pools vostack borrows from a portal."""

from __future__ import annotations

import asyncpg

from vostack.db.errors import map_errors

__all__ = ["Connection", "Pool", "create_pool", "init_connection", "ping"]

Pool = asyncpg.Pool
Connection = asyncpg.Connection


async def init_connection(conn: asyncpg.Connection) -> None:
    """Prepare a new connection for vostack's queries (the ``init=`` hook of ``asyncpg.create_pool``).

    Translated ADQL inlines its literals; ``force_custom_plan`` keeps cone
    searches on their index even when a statement is prepared repeatedly.
    """
    await conn.execute("SET plan_cache_mode = force_custom_plan; SET application_name = 'vostack'")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool with :func:`init_connection` installed; errors become :class:`TransientError`."""
    with map_errors():
        pool: asyncpg.Pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=init_connection)
    return pool


async def ping(pool: asyncpg.Pool, *, wait: float = 2.0) -> None:
    """Check that the database answers; raises :class:`TransientError` when it does not."""
    with map_errors():
        async with pool.acquire(timeout=wait) as conn:
            await conn.fetchval("SELECT 1", timeout=wait)
