"""Connection set-up for the pools vostack borrows from a portal, and for the ones it opens itself."""

from __future__ import annotations

import asyncpg

from vostack.db.errors import map_errors

__all__ = ["Connection", "Pool", "create_pool", "init_connection", "ping", "reset_connection"]

Pool = asyncpg.Pool
Connection = asyncpg.Connection


async def init_connection(conn: asyncpg.Connection) -> None:
    """Prepare a new connection for vostack's queries (the ``init=`` hook of ``asyncpg.create_pool``).

    Translated ADQL inlines its literals; ``force_custom_plan`` keeps cone
    searches on their index even when a statement is prepared repeatedly.  A
    pool with asyncpg's default reset undoes these settings at the first release
    (``RESET ALL``): every query's transaction sets ``plan_cache_mode`` again
    itself (:func:`vostack.db.cursor.query_settings`).
    """
    await conn.execute("SET plan_cache_mode = force_custom_plan; SET application_name = 'vostack'")


async def reset_connection(conn: asyncpg.Connection) -> None:
    """The ``reset=`` hook of a pool whose users leave no session state on its connections: nothing to send.

    asyncpg's default reset costs a round trip per release (``SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``), one in four
    of a small query's.  vostack leaves nothing for it to undo: its queries
    change settings with ``SET LOCAL`` and make temporary tables ``ON COMMIT
    DROP`` inside transactions that end before the release, it takes advisory
    locks for transactions only (``pg_advisory_xact_lock``), opens no cursor
    ``WITH HOLD``, and its job store's listener ``UNLISTEN``\\ s before it gives
    its connection back.  asyncpg itself still rolls back a transaction left
    open and drops the listener callbacks before it calls this hook.  Code that
    breaks these rules (a session ``SET``, ``LISTEN``, ``pg_advisory_lock``)
    must not use a pool with this hook: a portal passes it to its own pool only
    when its own code keeps them too.
    """


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool with :func:`init_connection` and :func:`reset_connection`; errors become :class:`TransientError`."""
    with map_errors():
        pool: asyncpg.Pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=max_size, init=init_connection, reset=reset_connection
        )
    return pool


async def ping(pool: asyncpg.Pool, *, wait: float = 2.0) -> None:
    """Check that the database answers; raises :class:`TransientError` when it does not."""
    with map_errors():
        async with pool.acquire(timeout=wait) as conn:
            await conn.fetchval("SELECT 1", timeout=wait)
