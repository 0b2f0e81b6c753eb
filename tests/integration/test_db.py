"""The database layer on a real server: read-only, time-bounded, streaming cursors."""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse

import asyncpg
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


async def test_a_query_runs_read_only_with_its_settings(pool: db.Pool) -> None:
    sql = (
        "SELECT current_setting('transaction_read_only'), current_setting('statement_timeout'),"
        " current_setting('plan_cache_mode'), current_setting('extra_float_digits')"
    )
    async with db.open_statement(pool, sql, statement_timeout=2.5) as statement:
        reader = statement.copy(binary=False)
        data = await reader.read()
        assert await reader.read() is None
    assert data == b"on\t2500ms\tforce_custom_plan\t1\n"


async def test_vostacks_own_pool_keeps_its_connection_settings_and_no_transaction(postgres_dsn: str) -> None:
    pool = await db.create_pool(postgres_dsn, max_size=1)  # one connection: every block below gets the same
    try:
        for sql in ("SELECT 1", "SELECT 1 / 0"):
            with contextlib.suppress(UsageError):
                async with db.open_cursor(pool, sql, statement_timeout=5) as cursor:
                    await cursor.fetch(1)
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SHOW statement_timeout") == "0"  # SET LOCAL ended with the transaction
            assert await conn.fetchval("SHOW application_name") == "vostack"  # init_connection's, kept
    finally:
        await pool.close()


async def test_a_small_query_costs_four_round_trips_and_its_release_none(postgres_dsn: str) -> None:
    proxy = _RoundTrips(postgres_dsn)
    await proxy.start()
    pool = await db.create_pool(proxy.dsn, max_size=1)
    try:

        async def query() -> bytes:
            async with db.open_statement(
                pool, "SELECT g, g * 0.5 FROM generate_series(1, 10) g", statement_timeout=5
            ) as s:
                reader = s.copy(binary=True)
                data = b""
                while (chunk := await reader.read()) is not None:
                    data += chunk
                return data

        await query()  # the connection's first use: type codecs
        before = proxy.count
        await query()
        # BEGIN READ ONLY with its SET LOCALs, the statement's description, the COPY, ROLLBACK; the pool's
        # reset sends nothing
        assert proxy.count - before == 4
    finally:
        await pool.close()
        proxy.close()


class _RoundTrips:
    """A TCP proxy to PostgreSQL counting round trips: writes of the client that follow an answer of the server."""

    def __init__(self, dsn: str) -> None:
        self._url = urllib.parse.urlsplit(dsn)
        self.count = 0
        self.dsn = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._proxy, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.dsn = urllib.parse.urlunsplit(self._url._replace(netloc=f"{self._url.username}@127.0.0.1:{port}"))

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _proxy(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(self._url.hostname, self._url.port)
        answered = True

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, from_client: bool) -> None:
            nonlocal answered
            while data := await source.read(65536):
                if from_client and answered:
                    self.count += 1
                answered = not from_client
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pump(client_in, server_out, True), pump(server_in, client_out, False))


async def test_a_lock_whose_unlock_is_interrupted_does_not_stay_on_a_pooled_connection(postgres_dsn: str) -> None:
    # vostack's pools send no reset query: a session advisory lock left on a pooled connection would stay
    pool = await db.create_pool(postgres_dsn, min_size=1, max_size=2)
    try:
        inside = asyncio.Event()

        async def hold() -> None:
            async with db.exclusive(pool, "vostack.test:interrupted"):
                inside.set()
                await asyncio.sleep(3600)

        task = asyncio.ensure_future(hold())
        await inside.wait()
        task.cancel()  # the block ends: its finally starts the unlock ...
        await asyncio.sleep(0)
        task.cancel()  # ... which is interrupted in turn
        with pytest.raises(asyncio.CancelledError):
            await task
        other = await asyncpg.connect(postgres_dsn)
        try:
            assert await other.fetchval("SELECT pg_try_advisory_lock(hashtext('vostack.test:interrupted'))")
        finally:
            await other.close()
    finally:
        await pool.close()
