"""Read replicas: a real streaming replica of the test database (EmbeddedPostgres(primary=...), pg_basebackup -R).

Queries go to the replica (seen in its pg_stat_activity, and in answers from its replay-paused view of the
data), jobs and TAP_SCHEMA to the primary; a replica that lags or is stopped is skipped; queries fall back
to the primary.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import secrets
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from astropy.io.votable import parse

from vostack import db
from vostack.cli import build_app
from vostack.config import PublishConfig, TableMeta
from vostack.dali import Params
from vostack.db.cluster import EmbeddedPostgres
from vostack.obscore import FOOTPRINT, OBSCORE_COLUMNS
from vostack.sia import SIAService
from vostack.site import Site
from vostack.tap import TAPService
from vostack.tap.params import parse_tap_request

pytestmark = pytest.mark.postgres

TABLE = "probe.stars"


@pytest.fixture(scope="module")
def replica(postgres_dsn: str) -> Iterator[EmbeddedPostgres]:
    """A hot standby streaming from the test database."""
    # not tmp_path: as root the server runs as 'postgres', which cannot enter /tmp/pytest-of-root
    state_dir = Path(tempfile.mkdtemp(prefix="vostack-replica-"))
    with socket.socket() as sock:  # a port of its own, kept across a restart (the node's pool names it)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    standby = EmbeddedPostgres(state_dir=state_dir, primary=postgres_dsn, port=port, ephemeral=True, extensions=())
    try:
        standby.start()
        yield standby
    finally:
        standby.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


class Node:
    """A TAP service reading from the replica, as a node with ``[database] replicas`` does."""

    def __init__(self, tap: TAPService, reads: db.ReadPools, http: httpx.AsyncClient) -> None:
        self.tap, self.reads, self.http = tap, reads, http

    async def count(self) -> int:
        """``COUNT(*)`` of the probe table, asked through /tap/sync."""
        answer = await self.http.post("/tap/sync", data={"LANG": "ADQL", "QUERY": f"SELECT COUNT(*) AS n FROM {TABLE}"})
        assert answer.status_code == 200, answer.text
        return int(parse(io.BytesIO(answer.content)).get_first_table().array["n"][0])


async def _count(pool: db.Pool) -> int:
    n: int = await pool.fetchval(f"SELECT count(*) FROM {TABLE}")
    return n


async def _until(condition: object, what: str, limit: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await condition():  # type: ignore[operator]
        assert loop.time() < deadline, f"{what} did not happen within {limit} s"
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def node(pool: db.Pool, replica: EmbeddedPostgres) -> AsyncIterator[Node]:
    await db.execute(
        pool,
        f"DROP SCHEMA IF EXISTS probe CASCADE; CREATE SCHEMA probe; CREATE TABLE {TABLE} (id int PRIMARY KEY);"
        f" INSERT INTO {TABLE} SELECT generate_series(1, 10)",
    )
    replica_pool = await db.create_pool(replica.dsn, min_size=0, max_size=3)
    await _until(lambda: _replayed(replica_pool, 10), "the replica's replay of the probe table")
    config = PublishConfig(tables={TABLE: TableMeta(description="Rows counted on one server or the other")})
    config = dataclasses.replace(config, service=dataclasses.replace(config.service, tap_schema="replica_tap_schema"))
    tap = TAPService(config=config, async_options={"schema": f"uws_replica_{secrets.token_hex(4)}", "max_wait": 5.0})
    reads = db.ReadPools(pool, [("replica", replica_pool)], max_lag=3600, check_interval=3600)
    async with Site(services=[tap]).serve(pool, reads=reads):
        transport = httpx.ASGITransport(app=build_app(tap))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60) as http:
            yield Node(tap, reads, http)
    await replica_pool.close()
    await db.execute(pool, f"DROP SCHEMA probe CASCADE; DROP SCHEMA {tap.jobs.store.schema} CASCADE")


async def _replayed(replica_pool: db.Pool, rows: int) -> bool:
    try:
        return await _count(replica_pool) == rows
    except Exception:  # the table is not there yet
        return False


async def test_a_query_runs_on_the_replica(node: Node, replica: EmbeddedPostgres, pool: db.Pool) -> None:
    marker = f"marker_{secrets.token_hex(4)}"
    request = parse_tap_request(
        Params([("LANG", "ADQL"), ("QUERY", f"SELECT id AS {marker} FROM {TABLE}")]),
        formats=node.tap.formats, maxrec=100, hardlimit=100,
    )  # fmt: skip
    run = await node.tap.open_query(request, time_limit=30)
    try:  # the cursor is open: its statement is in the replica's pg_stat_activity, not the primary's
        sql = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()"
        replica_pool = node.reads.replicas[0][1]
        assert await replica_pool.fetchval(sql, f"%{marker}%") == 1
        assert await pool.fetchval(sql, f"%{marker}%") == 0
    finally:
        await run.aclose()


async def test_queries_see_the_replica_and_jobs_are_written_to_the_primary(node: Node, pool: db.Pool) -> None:
    replica_pool = node.reads.replicas[0][1]
    await replica_pool.execute("SELECT pg_wal_replay_pause()")
    try:
        await db.execute(pool, f"INSERT INTO {TABLE} SELECT generate_series(11, 15)")
        assert await _count(pool) == 15 and await _count(replica_pool) == 10  # the replica stands still
        assert await node.count() == 10  # answered by the replica
        # an async job: created, run and finished in the primary's job store, its query on the replica
        created = await node.http.post(
            "/tap/async", data={"LANG": "ADQL", "QUERY": f"SELECT COUNT(*) AS n FROM {TABLE}", "PHASE": "RUN"}
        )
        job = created.headers["location"]
        phase = (await node.http.get(job + "/phase")).text
        while phase not in ("COMPLETED", "ERROR"):
            await node.http.get(job, params={"WAIT": "5"})
            phase = (await node.http.get(job + "/phase")).text
        assert phase == "COMPLETED"
        result = await node.http.get(job + "/results/result")
        assert int(parse(io.BytesIO(result.content)).get_first_table().array["n"][0]) == 10
        # once the replica lags more than allowed it is skipped: the primary answers
        await asyncio.sleep(1.2)
        node.reads.max_lag = 1.0
        (state,) = await node.reads.check()
        assert not state.fit and state.lag is not None and state.lag > 1.0 and "lags" in str(state.reason)
        assert await node.count() == 15
    finally:
        await replica_pool.execute("SELECT pg_wal_replay_resume()")
    await _until(lambda: _replayed(replica_pool, 15), "the replica catching up")
    (state,) = await node.reads.check()
    assert state.fit and state.lag is not None and state.lag < 1.0  # caught up: it serves again
    node.reads.max_lag = 3600
    await db.execute(pool, f"DELETE FROM {TABLE} WHERE id > 10")
    await _until(lambda: _replayed(replica_pool, 10), "the replica replaying the deletion")


async def test_queries_fall_back_to_the_primary_when_the_replica_stops(
    node: Node, replica: EmbeddedPostgres, pool: db.Pool
) -> None:
    (state,) = await node.reads.check()
    assert state.fit
    await asyncio.to_thread(replica.stop)
    try:
        await db.execute(pool, f"INSERT INTO {TABLE} VALUES (99)")  # only the primary can have seen this
        assert await node.count() == 11  # the replica's connection failed: the query ran on the primary
        (state,) = await node.reads.check()
        assert not state.fit and "unreachable" in str(state.reason)
        assert node.reads.reader() is pool
        assert await node.count() == 11
    finally:
        await db.execute(pool, f"DELETE FROM {TABLE} WHERE id = 99")
        await asyncio.to_thread(replica.start)
    await _until(lambda: _replayed(node.reads.replicas[0][1], 10), "the restarted replica catching up")
    (state,) = await node.reads.check()
    assert state.fit and node.reads.reader() is node.reads.replicas[0][1]


async def test_sia_searches_run_on_the_replica(node: Node, pool: db.Pool) -> None:
    """SIA 2.0 reads ``ivoa.obscore``-shaped tables through the site's read pools, as TAP and SSA do."""
    columns = [*OBSCORE_COLUMNS, FOOTPRINT]
    table = "probe.obscore"
    row = "('probe', 'ivo://probe/{0}', 'image', 2, 'https://example.org/{0}.fits')"
    names = "obs_collection, obs_publisher_did, dataproduct_type, calib_level, access_url"
    insert = f"INSERT INTO {table} ({names}) VALUES "
    await db.execute(
        pool, f"CREATE TABLE {table} ({', '.join(f'{c.name} {c.db_type}' for c in columns)}); {insert}{row.format(1)}"
    )
    replica_pool = node.reads.replicas[0][1]
    sia = SIAService(collections=(), table=table, jobs_schema=f"uws_sia_{secrets.token_hex(4)}")
    sia.read_from(node.reads)
    await sia.start(pool)
    try:
        await _until(lambda: _replayed_sql(replica_pool, f"SELECT count(*) FROM {table}", 1), "the replica's copy")
        await replica_pool.execute("SELECT pg_wal_replay_pause()")
        try:
            await db.execute(pool, insert + row.format(2))  # only the primary has the second record
            transport = httpx.ASGITransport(app=sia)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                answer = await http.get("/query", params={"COLLECTION": "probe"})
            assert answer.status_code == 200, answer.text
            dids = list(parse(io.BytesIO(answer.content)).get_first_table().array["obs_publisher_did"])
            assert dids == ["ivo://probe/1"]  # answered by the replica, whose replay stands still
        finally:
            await replica_pool.execute("SELECT pg_wal_replay_resume()")
    finally:
        await sia.stop()
        await db.execute(pool, f"DROP TABLE {table}; DROP SCHEMA {sia.jobs.store.schema} CASCADE")
        dropped = "SELECT count(*) FROM pg_tables WHERE schemaname = 'probe' AND tablename = 'obscore'"
        await _until(lambda: _replayed_sql(replica_pool, dropped, 0), "the replica replaying the drop")


async def _replayed_sql(replica_pool: db.Pool, sql: str, expected: int) -> bool:
    try:
        return bool(await replica_pool.fetchval(sql) == expected)
    except Exception:  # the table is not there yet
        return False
