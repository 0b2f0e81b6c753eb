"""The database layer on a real server: read-only, time-bounded, streaming cursors."""

from __future__ import annotations

import asyncio
import time

import pytest

from vostack import db
from vostack.errors import QueryTimeoutError, TransientError, UsageError

pytestmark = pytest.mark.postgres


async def test_cursor_streams_in_batches(pool: db.Pool) -> None:
    async with db.open_cursor(pool, "SELECT g FROM generate_series(1, 2500) g", statement_timeout=5) as cursor:
        sizes = []
        while batch := await cursor.fetch(1000):
            sizes.append(len(batch))
    assert sizes == [1000, 1000, 500]


async def test_cursor_transaction_is_read_only(pool: db.Pool) -> None:
    with pytest.raises(UsageError, match="read-only"):
        async with db.open_cursor(pool, "CREATE TABLE public.should_not_exist (x int)", statement_timeout=5) as cur:
            await cur.fetch(1)
    assert await pool.fetchval("SELECT to_regclass('public.should_not_exist')") is None


async def test_statement_timeout_becomes_query_timeout_error(pool: db.Pool) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        async with db.open_cursor(pool, "SELECT pg_sleep(30)", statement_timeout=0.2) as cursor:
            await cursor.fetch(1)
    assert time.monotonic() - started < 10  # far below the 30 s the statement asked for


async def test_cancelling_the_consumer_cancels_the_statement_in_postgresql(pool: db.Pool) -> None:
    async def consume() -> None:
        async with db.open_cursor(pool, "SELECT pg_sleep(30) AS marker_2f7a", statement_timeout=60) as cursor:
            await cursor.fetch(1)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.5)
    assert await _running(pool, "marker_2f7a") == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(50):
        if await _running(pool, "marker_2f7a") == 0:
            break
        await asyncio.sleep(0.05)
    assert await _running(pool, "marker_2f7a") == 0


async def _running(pool: db.Pool, marker: str) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        f"%{marker}%",
    )
    return count


async def test_an_unreachable_database_is_a_transient_error() -> None:
    with pytest.raises(TransientError):
        await db.create_pool("postgresql://nobody@127.0.0.1:1/nothing")
