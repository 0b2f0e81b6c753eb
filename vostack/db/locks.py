"""Advisory locks, so that servers starting at the same moment on one database write one after another.

Start-up writes (the job store's schema, TAP_SCHEMA, the ObsCore view, a
demo's tables) are serialised by PostgreSQL advisory locks named after what
they write, and are idempotent: a server that finds the work done by another
reuses it.  A lock dies with its connection, so a server killed mid-way
leaves nothing locked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from vostack.db.errors import map_errors

__all__ = ["advisory_xact_lock", "ensure_relation", "exclusive"]


async def advisory_xact_lock(conn: asyncpg.Connection, key: str) -> None:
    """Wait for the advisory lock named ``key`` for the rest of ``conn``'s transaction (released at its end)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", key)


@asynccontextmanager
async def exclusive(pool: asyncpg.Pool, key: str) -> AsyncIterator[None]:
    """Hold the advisory lock named ``key`` for the block, which may use ``pool`` in several transactions.

    The lock is held by a connection of its own (the pool needs one more than
    the block uses), and released when the block ends or that connection dies.
    """
    with map_errors():
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", key)
            try:
                yield
            finally:
                if not conn.is_closed():
                    try:
                        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", key)
                    except BaseException:
                        # a session lock outlives its block on a pooled connection (vostack's pools send no
                        # reset query): a connection that could not unlock is closed, which unlocks
                        conn.terminate()
                        raise


async def ensure_relation(pool: asyncpg.Pool, *, relation: str, comment: str, sql: str) -> bool:
    """Run the DDL ``sql`` unless the table or view ``relation`` exists with the comment ``comment``.

    ``sql`` creates (or replaces) ``relation`` and sets that comment, which
    should therefore say what was created (a digest of the definition).  It
    runs in one transaction under an advisory lock on ``relation``: servers
    starting at the same moment create it once, the others find it as they
    would make it and leave it alone (no lock on the relation, so its readers
    carry on).  Returns whether ``sql`` ran.
    """
    with map_errors():
        async with pool.acquire() as conn, conn.transaction():
            await advisory_xact_lock(conn, f"vostack.relation:{relation}")
            found = await conn.fetchval("SELECT obj_description(to_regclass($1), 'pg_class')", relation)
            if found == comment:
                return False
            await conn.execute(sql)
    return True
