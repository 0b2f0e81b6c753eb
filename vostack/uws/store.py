"""The job store: UWS jobs in PostgreSQL, changed only under a row lock (UWS 1.1 §2.1, §2.2).

:class:`JobStore` applies the phase table of :mod:`vostack.uws.transitions`
to rows that :mod:`vostack.db.jobs` reads and writes; ownership is checked
here: a job with an owner is invisible (:class:`NotFoundError`) to anyone else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Sequence

from vostack import db
from vostack.db import jobs as sql
from vostack.errors import InvalidPhaseError, NotFoundError, TransientError
from vostack.uws.model import ErrorSummary, ErrorType, ExecutionPhase, Job, JobResult
from vostack.uws.transitions import Action, next_phase

__all__ = ["JobStore", "new_job_id"]


def new_job_id() -> str:
    """A job identifier nobody can guess (UWS 1.1 §2.1.1)."""
    return secrets.token_hex(10)


def _job(row: sql.JobRow) -> Job:
    error = None
    if row.error_message is not None:
        error = ErrorSummary(row.error_message, ErrorType(row.error_type or "fatal"))
    return Job(
        job_id=row.job_id,
        phase=ExecutionPhase(row.phase),
        owner=row.owner,
        run_id=row.run_id,
        creation_time=row.creation_time,
        start_time=row.start_time,
        end_time=row.end_time,
        execution_duration=row.execution_duration,
        destruction=row.destruction,
        quote=row.quote,
        parameters=row.parameters,
        error=error,
        results=tuple(JobResult(r.result_id, r.location, r.mime_type, r.size) for r in row.results),
        attempts=row.attempts,
    )


def _visible(row: sql.JobRow | None, owner: str | None, job_id: str) -> sql.JobRow:
    if row is None or (row.owner is not None and row.owner != owner):
        raise NotFoundError(f"there is no job {job_id!r} (it may have been deleted or have expired)")
    return row


class JobStore:
    """The jobs of one UWS service (``service``) in the job schema ``schema``, shared by every process."""

    def __init__(self, *, service: str, schema: str = "vostack_uws") -> None:
        self.service = service
        self.schema = schema
        self._pool: db.Pool | None = None

    @property
    def pool(self) -> db.Pool:
        """The pool borrowed at :meth:`start`."""
        if self._pool is None:
            raise TransientError("the job service is starting; try again in a moment")
        return self._pool

    async def start(self, pool: db.Pool) -> None:
        """Borrow ``pool`` and create or migrate the job schema."""
        await sql.ensure_schema(pool, self.schema)
        self._pool = pool

    async def stop(self) -> None:
        """Stop using the pool."""
        self._pool = None

    def prepare(
        self,
        *,
        owner: str | None,
        run_id: str | None,
        parameters: Sequence[tuple[str, str]],
        execution_duration: int,
        destruction: dt.datetime,
        run: bool = False,
    ) -> Job:
        """A new job, not stored yet: PENDING, or QUEUED when ``run`` (UWS 1.1 §2.2.3); see :meth:`insert`."""
        return Job(
            job_id=new_job_id(),
            phase=ExecutionPhase.QUEUED if run else ExecutionPhase.PENDING,
            owner=owner,
            run_id=run_id,
            creation_time=dt.datetime.now(dt.UTC),
            start_time=None,
            end_time=None,
            execution_duration=execution_duration,
            destruction=destruction,
            quote=None,
            parameters=tuple(parameters),
        )

    async def insert(self, job: Job, *, worker: str | None = None, lease: float = 0.0) -> Job:
        """Store a job made by :meth:`prepare` (durably); returns it as stored.

        With ``worker``, the job is stored already claimed by that worker (EXECUTING, first attempt, leased
        for ``lease`` seconds): a job the creating process starts at once, without passing through the queue.
        """
        row = sql.JobRow(
            job_id=job.job_id,
            service=self.service,
            owner=job.owner,
            run_id=job.run_id,
            phase=(ExecutionPhase.EXECUTING if worker else job.phase).value,
            creation_time=job.creation_time,
            start_time=None,
            end_time=None,
            execution_duration=job.execution_duration,
            destruction=job.destruction,
            quote=job.quote,
            parameters=job.parameters,
            worker=worker,
        )
        return _job(await sql.insert_job(self.pool, self.schema, row, lease=lease if worker else None))

    async def get(self, job_id: str, *, owner: str | None, anyone: bool = False) -> Job:
        """The job, if ``owner`` may see it (``anyone``: whoever owns it); else :class:`NotFoundError`."""
        row = await sql.fetch_job(self.pool, self.schema, self.service, job_id)
        if anyone and row is not None:
            return _job(row)
        return _job(_visible(row, owner, job_id))

    async def list(
        self,
        *,
        owner: str | None,
        phases: Sequence[ExecutionPhase] = (),
        after: dt.datetime | None = None,
        last: int | None = None,
    ) -> list[Job]:
        """The owner's jobs, newest first (UWS 1.1 §2.2.2.1)."""
        rows = await sql.list_jobs(
            self.pool, self.schema, self.service, owner=owner, phases=[p.value for p in phases], after=after, last=last
        )
        return [_job(r) for r in rows]

    async def act(self, job_id: str, action: Action, *, owner: str | None) -> Job:
        """Apply a client action (RUN, ABORT) under the row lock; refused actions change nothing."""
        async with sql.lock_job(self.pool, self.schema, self.service, job_id) as lock:
            row = _visible(lock.job if lock else None, owner, job_id)
            assert lock is not None
            phase = next_phase(ExecutionPhase(row.phase), action)
            if phase.value != row.phase:
                now = dt.datetime.now(dt.UTC)
                values: dict[str, object] = {"phase": phase.value}
                if phase is ExecutionPhase.ABORTED:
                    values["end_time"] = now
                await lock.update(**values)
            return _job(dataclasses.replace(lock.job, results=row.results))

    async def update(
        self,
        job_id: str,
        *,
        owner: str | None,
        destruction: dt.datetime | None = None,
        execution_duration: int | None = None,
        parameters: Sequence[tuple[str, str]] | None = None,
    ) -> Job:
        """Change the destruction time (any time), or the execution duration or parameters (PENDING only)."""
        async with sql.lock_job(self.pool, self.schema, self.service, job_id) as lock:
            row = _visible(lock.job if lock else None, owner, job_id)
            assert lock is not None
            values: dict[str, object] = {}
            if destruction is not None:
                values["destruction"] = destruction
            if execution_duration is not None or parameters is not None:
                if row.phase != ExecutionPhase.PENDING:
                    raise InvalidPhaseError(
                        f"the job is {row.phase}: its parameters and execution duration can only change while PENDING"
                    )
                if execution_duration is not None:
                    values["execution_duration"] = execution_duration
                if parameters is not None:
                    names = {k.upper() for k, _ in parameters}
                    kept = [(k, v) for k, v in row.parameters if k.upper() not in names]
                    values["parameters"] = (*kept, *parameters)
            if values:
                await lock.update(**values)
        return await self.get(job_id, owner=owner)

    async def delete(self, job_id: str, *, owner: str | None) -> Job:
        """Delete the job (any phase; a running one is stopped by its worker); returns it as it was."""
        async with sql.lock_job(self.pool, self.schema, self.service, job_id) as lock:
            row = _visible(lock.job if lock else None, owner, job_id)
            assert lock is not None
            await lock.delete()
        return _job(row)

    # ------------------------------------------------------------------ the runner's side

    async def claim(self, *, worker: str, lease: float) -> Job | None:
        """The oldest QUEUED job, now EXECUTING for ``worker``; ``None`` when the queue is empty."""
        row = await sql.claim_job(self.pool, self.schema, self.service, worker=worker, lease=lease)
        return None if row is None else _job(row)

    async def finish(
        self,
        job: Job,
        *,
        worker: str,
        results: Sequence[JobResult] = (),
        error: ErrorSummary | None = None,
    ) -> Job | None:
        """COMPLETED with ``results``, or ERROR with ``error``: the job as it is now (``job`` is the job as
        claimed); ``None`` if the job is no longer this worker's."""
        phase = next_phase(ExecutionPhase.EXECUTING, Action.FAIL if error else Action.COMPLETE)
        end_time = await sql.finish_job(
            self.pool,
            self.schema,
            job.job_id,
            worker=worker,
            phase=phase.value,
            results=[sql.ResultRow(r.result_id, r.location, r.mime_type, r.size) for r in results],
            error_type=error.type.value if error else None,
            error_message=error.message if error else None,
        )
        if end_time is None:
            return None
        return dataclasses.replace(
            job, phase=phase, end_time=end_time, error=error, results=() if error else tuple(results)
        )
