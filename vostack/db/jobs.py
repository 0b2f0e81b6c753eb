"""The SQL of the UWS job store: its own schema, row locks, SKIP LOCKED claims, leases, LISTEN/NOTIFY.

Everything here speaks in plain rows (:class:`JobRow`, :class:`ResultRow`) and
phase strings; the UWS rules (which transition is legal) live in
:mod:`vostack.uws`, which calls these functions.

The job tables live in a schema of their own (``vostack_uws`` by default),
created and migrated by :func:`ensure_schema` under an advisory lock, so that
several processes starting at once migrate it exactly once; the version is in
``<schema>.schema_version``.

Every phase change and deletion of a job sends a notification on the channel
:func:`channel_name` with the payload ``"<service> <job_id> <phase>"``
(``DELETED`` for a deletion), from a trigger, so that no code path can forget
it; :func:`insert_job` announces a new job the same way, after its commit
(except a job inserted already claimed by its worker: nobody else needs to
know).  Every process keeps one :class:`Listener` connection for the channel.

Durability: creating a job and the client's changes (RUN, ABORT, DELETE,
DESTRUCTION) commit durably.  The runner's own bookkeeping (claim, finish,
lease renewal, recovery) commits with ``synchronous_commit = off``, which
saves a WAL flush (~4 ms on a plain disk) per step: if PostgreSQL itself
crashes, the last few hundred milliseconds of such steps may be lost, which
leaves a job QUEUED or EXECUTING with an expiring lease, and the recovery
rule of :mod:`vostack.uws.runner` runs it again.  No job is lost.  The claim
and the finish, the two steps on every job's path, set it for their own
implicit transaction with ``set_config(..., true)`` inside the statement
(:data:`_RELAXED`): one round trip instead of four (BEGIN, SET LOCAL, the
statement, COMMIT).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from vostack.db.catalog import quote_ident
from vostack.db.errors import map_errors
from vostack.db.locks import advisory_xact_lock

__all__ = [
    "SCHEMA_VERSION",
    "JobLock",
    "JobRow",
    "Listener",
    "ResultRow",
    "channel_name",
    "claim_job",
    "delete_job",
    "ensure_schema",
    "fetch_job",
    "finish_job",
    "insert_job",
    "list_jobs",
    "lock_job",
    "recover_lost_jobs",
    "renew_leases",
    "requeue_jobs",
    "select_expired",
]


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One result of a job: its id, where the result store keeps it, and what it is."""

    result_id: str
    location: str
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class JobRow:
    """One row of ``<schema>.jobs`` with its results; phases are the UWS tokens as text."""

    job_id: str
    service: str
    owner: str | None
    run_id: str | None
    phase: str
    creation_time: dt.datetime
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    execution_duration: int
    destruction: dt.datetime
    quote: dt.datetime | None
    parameters: tuple[tuple[str, str], ...]
    error_type: str | None = None
    error_message: str | None = None
    worker: str | None = None
    attempts: int = 0
    results: tuple[ResultRow, ...] = ()


SCHEMA_VERSION = 2
"""The job store's schema version this code writes (``<schema>.schema_version``)."""


def _migrations(schema: str) -> list[str]:
    s = quote_ident(schema)
    chan = channel_name(schema).replace("'", "''")
    return [
        # version 1
        f"""
        CREATE TABLE {s}.jobs (
            job_id text PRIMARY KEY,
            service text NOT NULL,
            owner text,
            run_id text,
            phase text NOT NULL,
            creation_time timestamptz NOT NULL DEFAULT clock_timestamp(),
            start_time timestamptz,
            end_time timestamptz,
            execution_duration integer NOT NULL,
            destruction timestamptz NOT NULL,
            quote timestamptz,
            parameters jsonb NOT NULL,
            error_type text,
            error_message text,
            worker text,
            lease_until timestamptz,
            attempts integer NOT NULL DEFAULT 0
        );
        CREATE INDEX jobs_list ON {s}.jobs (service, creation_time DESC);
        CREATE INDEX jobs_queued ON {s}.jobs (service, creation_time) WHERE phase = 'QUEUED';
        CREATE INDEX jobs_executing ON {s}.jobs (lease_until) WHERE phase = 'EXECUTING';
        CREATE INDEX jobs_destruction ON {s}.jobs (destruction);
        CREATE TABLE {s}.results (
            job_id text NOT NULL REFERENCES {s}.jobs ON DELETE CASCADE,
            result_id text NOT NULL,
            position integer NOT NULL,
            location text NOT NULL,
            mime_type text,
            size bigint,
            PRIMARY KEY (job_id, result_id)
        );
        CREATE FUNCTION {s}.notify_phase() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('{chan}', OLD.service || ' ' || OLD.job_id || ' DELETED');
                RETURN OLD;
            END IF;
            IF TG_OP = 'INSERT' OR NEW.phase IS DISTINCT FROM OLD.phase THEN
                PERFORM pg_notify('{chan}', NEW.service || ' ' || NEW.job_id || ' ' || NEW.phase);
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF phase OR DELETE ON {s}.jobs
            FOR EACH ROW EXECUTE FUNCTION {s}.notify_phase();
        """,
        # version 2: a new job is announced by insert_job after its commit, not by the trigger: a NOTIFY
        # serialises commits (with their WAL flush), which made concurrent job creation 4x slower.
        f"""
        DROP TRIGGER jobs_notify ON {s}.jobs;
        CREATE TRIGGER jobs_notify AFTER UPDATE OF phase OR DELETE ON {s}.jobs
            FOR EACH ROW EXECUTE FUNCTION {s}.notify_phase();
        """,
    ]


def channel_name(schema: str) -> str:
    """The LISTEN/NOTIFY channel of the job store in ``schema``."""
    return f"{schema}_jobs"[:63]


_RELAXED = "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed"
"""A FROM item that makes the commit of the statement's own transaction skip the WAL flush."""


@asynccontextmanager
async def _relaxed(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A transaction whose commit does not wait for the WAL flush (see "Durability" above)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL synchronous_commit = off")
        yield conn


async def ensure_schema(pool: asyncpg.Pool, schema: str) -> int:
    """Create or migrate the job store in ``schema``; returns the version found before.

    Runs under a transaction-level advisory lock, so concurrent starts are safe.
    """
    s = quote_ident(schema)
    with map_errors():
        async with pool.acquire() as conn, conn.transaction():
            await advisory_xact_lock(conn, f"vostack.uws:{schema}")
            await conn.execute(
                f"CREATE SCHEMA IF NOT EXISTS {s};"
                f" CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)"
            )
            found: int | None = await conn.fetchval(f"SELECT max(version) FROM {s}.schema_version")
            before = found or 0
            migrations = _migrations(schema)
            for version in range(before + 1, len(migrations) + 1):
                await conn.execute(migrations[version - 1])
                await conn.execute(f"INSERT INTO {s}.schema_version (version) VALUES ($1)", version)
    return before


_COLUMNS = (
    "job_id, service, owner, run_id, phase, creation_time, start_time, end_time, execution_duration,"
    " destruction, quote, parameters, error_type, error_message, worker, attempts"
)


def _row(record: asyncpg.Record, results: Sequence[ResultRow] = ()) -> JobRow:
    return JobRow(
        job_id=record["job_id"],
        service=record["service"],
        owner=record["owner"],
        run_id=record["run_id"],
        phase=record["phase"],
        creation_time=record["creation_time"],
        start_time=record["start_time"],
        end_time=record["end_time"],
        execution_duration=record["execution_duration"],
        destruction=record["destruction"],
        quote=record["quote"],
        parameters=tuple((str(k), str(v)) for k, v in json.loads(record["parameters"])),
        error_type=record["error_type"],
        error_message=record["error_message"],
        worker=record["worker"],
        attempts=record["attempts"],
        results=tuple(results),
    )


async def insert_job(pool: asyncpg.Pool, schema: str, job: JobRow, *, lease: float | None = None) -> JobRow:
    """Insert a new job (its ``creation_time`` is the database's clock); returns it as stored.

    The commit is durable.  With ``lease``, the job is inserted claimed: EXECUTING for ``job.worker``
    (started now, first attempt, leased for ``lease`` seconds), as :func:`claim_job` would leave it.
    """
    claimed = lease is not None
    if claimed and (job.worker is None or job.phase != "EXECUTING"):
        raise ValueError("a job inserted claimed is EXECUTING and names its worker")
    with map_errors():
        record = await pool.fetchrow(
            f"INSERT INTO {quote_ident(schema)}.jobs (job_id, service, owner, run_id, phase, execution_duration,"
            " destruction, quote, parameters, worker, start_time, lease_until, attempts)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10,"
            " CASE WHEN $11::float8 IS NULL THEN NULL ELSE clock_timestamp() END,"
            " clock_timestamp() + make_interval(secs => $11::float8), CASE WHEN $11::float8 IS NULL THEN 0 ELSE 1 END)"
            f" RETURNING {_COLUMNS}",
            job.job_id,
            job.service,
            job.owner,
            job.run_id,
            job.phase,
            job.execution_duration,
            job.destruction,
            job.quote,
            json.dumps([list(p) for p in job.parameters]),
            job.worker if claimed else None,
            lease,
        )
        if not claimed:  # after the commit: see migration 2
            await pool.execute(
                "SELECT pg_notify($1, $2)", channel_name(schema), f"{job.service} {job.job_id} {job.phase}"
            )
    return _row(record)


async def _fetch(conn: asyncpg.Connection, schema: str, service: str, job_id: str, *, lock: bool) -> JobRow | None:
    if "\x00" in job_id:  # PostgreSQL text cannot hold it, so no stored job has it (a URL's %00)
        return None
    s = quote_ident(schema)
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS}, (SELECT coalesce(json_agg(json_build_array(r.result_id, r.location, r.mime_type, r.size)"
        f" ORDER BY r.position), '[]') FROM {s}.results r WHERE r.job_id = j.job_id) AS results"
        f" FROM {s}.jobs j WHERE job_id = $1 AND service = $2" + (" FOR UPDATE OF j" if lock else ""),
        job_id,
        service,
    )
    if record is None:
        return None
    results = [ResultRow(str(r[0]), str(r[1]), r[2], r[3]) for r in json.loads(record["results"])]
    return _row(record, results)


async def fetch_job(pool: asyncpg.Pool, schema: str, service: str, job_id: str) -> JobRow | None:
    """The job ``job_id`` of ``service`` with its results, or ``None``."""
    with map_errors():
        async with pool.acquire() as conn:
            return await _fetch(conn, schema, service, job_id, lock=False)


async def list_jobs(
    pool: asyncpg.Pool,
    schema: str,
    service: str,
    *,
    owner: str | None,
    phases: Sequence[str] = (),
    after: dt.datetime | None = None,
    last: int | None = None,
) -> list[JobRow]:
    """The jobs of ``owner`` (``None``: anonymous ones), newest first, filtered as UWS 1.1 §2.2.2.1 says."""
    conditions = ["service = $1", "owner IS NOT DISTINCT FROM $2"]
    args: list[object] = [service, owner]
    if phases:
        args.append(list(phases))
        conditions.append(f"phase = ANY(${len(args)}::text[])")
    if after is not None:
        args.append(after)
        conditions.append(f"creation_time > ${len(args)}")
    limit = ""
    if last is not None:
        args.append(last)
        limit = f" LIMIT ${len(args)}"
    with map_errors():
        records = await pool.fetch(
            f"SELECT {_COLUMNS} FROM {quote_ident(schema)}.jobs WHERE {' AND '.join(conditions)}"
            f" ORDER BY creation_time DESC, job_id{limit}",
            *args,
        )
    return [_row(r) for r in records]


class JobLock:
    """A job row held with ``SELECT ... FOR UPDATE`` until the block of :func:`lock_job` ends."""

    def __init__(self, conn: asyncpg.Connection, schema: str, job: JobRow) -> None:
        self._conn = conn
        self._schema = schema
        self.job = job
        self.deleted = False

    async def update(self, **values: object) -> None:
        """Set columns of the locked row (names are :class:`JobRow` fields; ``parameters`` a pair list)."""
        allowed = {"phase", "run_id", "execution_duration", "destruction", "quote", "parameters", "error_type",
                   "error_message", "start_time", "end_time", "worker"}  # fmt: skip
        sets: list[str] = []
        args: list[object] = []
        for name, value in values.items():
            if name not in allowed:
                raise ValueError(f"cannot update job column {name!r}")
            if name == "parameters":
                value = json.dumps([list(p) for p in value])  # type: ignore[attr-defined]
            args.append(value)
            sets.append(f"{name} = ${len(args)}" + ("::jsonb" if name == "parameters" else ""))
        args.append(self.job.job_id)
        with map_errors():
            record = await self._conn.fetchrow(
                f"UPDATE {quote_ident(self._schema)}.jobs SET {', '.join(sets)} WHERE job_id = ${len(args)}"
                f" RETURNING {_COLUMNS}",
                *args,
            )
        self.job = _row(record, [])

    async def delete(self) -> None:
        """Delete the job and its result rows (the caller deletes the stored results)."""
        with map_errors():
            await self._conn.execute(f"DELETE FROM {quote_ident(self._schema)}.jobs WHERE job_id = $1", self.job.job_id)
        self.deleted = True


@asynccontextmanager
async def lock_job(pool: asyncpg.Pool, schema: str, service: str, job_id: str) -> AsyncIterator[JobLock | None]:
    """Lock the job row for a change made in one transaction; yields ``None`` for an unknown job."""
    with map_errors():
        async with pool.acquire() as conn, conn.transaction():
            job = await _fetch(conn, schema, service, job_id, lock=True)
            yield None if job is None else JobLock(conn, schema, job)


async def claim_job(pool: asyncpg.Pool, schema: str, service: str, *, worker: str, lease: float) -> JobRow | None:
    """Move the oldest QUEUED job of ``service`` to EXECUTING for ``worker`` (``FOR UPDATE SKIP LOCKED``).

    Two workers never claim the same job; a job locked by another transaction
    is skipped, not waited for.
    """
    s = quote_ident(schema)
    with map_errors():
        record = await pool.fetchrow(
            f"UPDATE {s}.jobs SET phase = 'EXECUTING', start_time = clock_timestamp(), worker = $2,"
            " lease_until = clock_timestamp() + make_interval(secs => $3), attempts = attempts + 1"
            f" FROM {_RELAXED}"
            f" WHERE job_id = (SELECT job_id FROM {s}.jobs WHERE phase = 'QUEUED' AND service = $1"
            "  ORDER BY creation_time LIMIT 1 FOR UPDATE SKIP LOCKED)"
            f" RETURNING {_COLUMNS}",
            service,
            worker,
            lease,
        )
    return None if record is None else _row(record)


async def finish_job(
    pool: asyncpg.Pool,
    schema: str,
    job_id: str,
    *,
    worker: str,
    phase: str,
    results: Sequence[ResultRow] = (),
    error_type: str | None = None,
    error_message: str | None = None,
) -> dt.datetime | None:
    """End an EXECUTING job this worker owns; returns its end time, ``None`` if it is no longer ours
    (aborted, deleted, recovered)."""
    s = quote_ident(schema)
    with map_errors():
        end_time: dt.datetime | None = await pool.fetchval(
            f"WITH done AS (UPDATE {s}.jobs SET phase = $3, end_time = clock_timestamp(), error_type = $4,"
            f" error_message = $5, lease_until = NULL FROM {_RELAXED}"
            " WHERE job_id = $1 AND worker = $2 AND phase = 'EXECUTING' RETURNING job_id, end_time),"
            f" stored AS (INSERT INTO {s}.results (job_id, result_id, position, location, mime_type, size)"
            " SELECT done.job_id, r.result_id, r.position, r.location, r.mime_type, r.size FROM done,"
            " unnest($6::text[], $7::integer[], $8::text[], $9::text[], $10::bigint[])"
            " AS r(result_id, position, location, mime_type, size))"
            " SELECT end_time FROM done",
            job_id,
            worker,
            phase,
            error_type,
            error_message,
            [r.result_id for r in results],
            list(range(len(results))),
            [r.location for r in results],
            [r.mime_type for r in results],
            [r.size for r in results],
        )
    return end_time


async def renew_leases(pool: asyncpg.Pool, schema: str, *, worker: str, job_ids: Sequence[str], lease: float) -> None:
    """Extend the lease of the jobs ``worker`` is executing (its heartbeat)."""
    if not job_ids:
        return
    with map_errors():
        async with _relaxed(pool) as conn:
            await conn.execute(
                f"UPDATE {quote_ident(schema)}.jobs SET lease_until = clock_timestamp() + make_interval(secs => $3)"
                " WHERE worker = $1 AND job_id = ANY($2::text[]) AND phase = 'EXECUTING'",
                worker,
                list(job_ids),
                lease,
            )


async def requeue_jobs(pool: asyncpg.Pool, schema: str, *, worker: str, job_ids: Sequence[str]) -> None:
    """Give EXECUTING jobs of a worker that stops back to the queue (a clean shutdown is not an attempt)."""
    if not job_ids:
        return
    with map_errors():
        async with _relaxed(pool) as conn:
            await conn.execute(
                f"UPDATE {quote_ident(schema)}.jobs SET phase = 'QUEUED', worker = NULL, lease_until = NULL,"
                " start_time = NULL, attempts = greatest(attempts - 1, 0)"
                " WHERE worker = $1 AND job_id = ANY($2::text[]) AND phase = 'EXECUTING'",
                worker,
                list(job_ids),
            )


async def recover_lost_jobs(pool: asyncpg.Pool, schema: str, *, max_attempts: int, message: str) -> list[str]:
    """Jobs EXECUTING with an expired lease (their worker died): re-queue or fail them.

    A job that has been started fewer than ``max_attempts`` times goes back to
    QUEUED; the others end in ERROR with ``message``.  Returns their ids.
    """
    with map_errors():
        async with _relaxed(pool) as conn:
            records = await conn.fetch(
                f"UPDATE {quote_ident(schema)}.jobs SET"
                " phase = CASE WHEN attempts < $1 THEN 'QUEUED' ELSE 'ERROR' END,"
                " error_type = CASE WHEN attempts < $1 THEN NULL ELSE 'transient' END,"
                " error_message = CASE WHEN attempts < $1 THEN NULL ELSE $2 END,"
                " end_time = CASE WHEN attempts < $1 THEN NULL ELSE clock_timestamp() END,"
                " start_time = CASE WHEN attempts < $1 THEN NULL ELSE start_time END,"
                " worker = NULL, lease_until = NULL"
                " WHERE phase = 'EXECUTING' AND lease_until < clock_timestamp() RETURNING job_id",
                max_attempts,
                message,
            )
    return [r["job_id"] for r in records]


async def select_expired(
    pool: asyncpg.Pool, schema: str, service: str, *, limit: int = 500
) -> list[tuple[str, list[str]]]:
    """Jobs past their destruction time: ``(job_id, result locations)``, oldest first."""
    s = quote_ident(schema)
    with map_errors():
        records = await pool.fetch(
            f"SELECT j.job_id, coalesce(array_agg(r.location) FILTER (WHERE r.location IS NOT NULL), '{{}}') AS locs"
            f" FROM {s}.jobs j LEFT JOIN {s}.results r USING (job_id)"
            " WHERE j.service = $1 AND j.destruction < clock_timestamp()"
            " GROUP BY j.job_id ORDER BY min(j.destruction) LIMIT $2",
            service,
            limit,
        )
    return [(r["job_id"], list(r["locs"])) for r in records]


async def delete_job(pool: asyncpg.Pool, schema: str, job_id: str) -> None:
    """Delete a job row and its result rows (used by the destruction reaper)."""
    with map_errors():
        await pool.execute(f"DELETE FROM {quote_ident(schema)}.jobs WHERE job_id = $1", job_id)


class Listener:
    """One connection that LISTENs on the job store's channel and hands each payload to ``callback``.

    The connection is taken from the pool for as long as the listener runs.
    :meth:`check` re-establishes it after the database went away and returns
    ``True`` then, so that the caller can re-examine what it waits for.
    """

    def __init__(self, pool: asyncpg.Pool, schema: str, callback: Callable[[str], None]) -> None:
        self._pool = pool
        self._channel = channel_name(schema)
        self._callback = callback
        self._conn: asyncpg.Connection | None = None

    def _on_notify(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._callback(payload)

    async def start(self) -> None:
        """Take a connection and LISTEN."""
        with map_errors():
            conn: asyncpg.Connection = await self._pool.acquire()
            try:
                await conn.add_listener(self._channel, self._on_notify)
            except BaseException:
                await self._pool.release(conn)
                raise
        self._conn = conn

    async def stop(self) -> None:
        """UNLISTEN and give the connection back."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not conn.is_closed():
                await conn.remove_listener(self._channel, self._on_notify)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            conn.terminate()
        await self._pool.release(conn)

    async def check(self) -> bool:
        """Reconnect if the connection was lost; ``True`` if it had to."""
        if self._conn is not None and not self._conn.is_closed():
            return False
        await self.stop()
        await self.start()
        return True
