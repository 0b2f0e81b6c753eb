"""Running jobs in the server process: claim, execute, time out, abort, recover, reap (UWS 1.1 §2.1.3).

One :class:`Runner` per UWS service and process.  It keeps one LISTEN
connection (:class:`vostack.db.jobs.Listener`) through which every phase change
of the job store arrives, whichever process made it; from these it

* wakes the claim loop when a job is QUEUED (claims use ``FOR UPDATE SKIP
  LOCKED``, so each job runs in exactly one process),
* cancels the task of a job it runs when the job is ABORTED or deleted
  (a running query is cancelled in PostgreSQL by asyncpg),
* wakes blocking WAIT requests (:meth:`Runner.watch`).

At most ``max_concurrent`` jobs execute at once in a process; the others stay
QUEUED.  A job running longer than its execution duration is cancelled and
ends in ERROR.

**Start at creation.**  A job created with PHASE=RUN in a process that has a
free slot (:meth:`Runner.create`) does not pass through the queue: it is
inserted already claimed by this process (EXECUTING, with its lease, in the
same durable INSERT), and it starts executing while that INSERT commits, so
that the WAL flush of the creation and the work overlap.  The client gets
its 303 only once the INSERT is durable; the job's end is recorded only after
it, and if the INSERT fails the work is cancelled and its results removed.
A process whose slots are all busy inserts the job QUEUED, as before, for
whichever process frees a slot first.

**Recovery rule.**  Each process renews a lease on the jobs it executes every
``lease / 3`` seconds.  A job still EXECUTING after its lease expired belongs to
a worker that died (``kill -9``, a lost machine): any process finds it within
``lease + lease / 3`` seconds, and puts it back to QUEUED if it has been started
fewer than ``max_attempts`` times (default 2: one re-run), else ends it in
ERROR, type ``transient``, with a message saying so.  A process that stops
cleanly puts its running jobs back to QUEUED at once.

**Destruction.**  Every ``reap_interval`` seconds one pass deletes the jobs
past their destruction time, with their stored results.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import os
import socket
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from vostack import db
from vostack.db import jobs as sql
from vostack.errors import QueryTimeoutError, VOError
from vostack.uws.model import ErrorSummary, ErrorType, ExecutionPhase, Job, JobResult
from vostack.uws.results import ResultStore
from vostack.uws.store import JobStore

__all__ = ["Executor", "JobContext", "PhaseWatch", "Runner"]

log = logging.getLogger("vostack.uws")


@dataclass(slots=True)
class JobContext:
    """What an executor gets: the job, the database pool, and where to put results.

    ``cancelled`` is set when the job is aborted or times out, for work running
    in a thread (which cannot be interrupted); coroutines are simply cancelled.
    """

    job: Job
    pool: db.Pool
    _results: ResultStore
    written: list[JobResult] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)

    async def write_result(
        self, result_id: str, data: bytes | AsyncIterable[bytes], *, mime_type: str | None = None
    ) -> JobResult:
        """Store one result of the job (UWS 1.1 §2.1.10); the first one written is listed first."""
        chunks = _once(data) if isinstance(data, bytes) else data
        location, size = await self._results.write(self.job.job_id, result_id, chunks, media_type=mime_type)
        result = JobResult(result_id, location, mime_type, size)
        self.written.append(result)
        return result


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class PhaseWatch:
    """What :meth:`Runner.watch` yields: ``changed`` is set at each notification for the job, and
    ``phase`` is the phase it announced (``"DELETED"`` for a deletion; ``None`` when notifications may
    have been lost and the job must be read again); ``job`` is the job in that phase when this process
    ended it itself (so that it need not be read again)."""

    __slots__ = ("changed", "job", "phase")

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.phase: str | None = None
        self.job: Job | None = None

    def notify(self, phase: str | None, job: Job | None = None) -> None:
        """Record ``phase`` (and the ``job`` as it is now, when the notifier has it) and wake the waiter."""
        if job is not None or phase != self.phase:  # the NOTIFY that follows a local end keeps its job
            self.job = job
        self.phase = phase
        self.changed.set()


Executor = Callable[[JobContext], Awaitable[None]]
"""Runs one job: reads ``context.job.parameters``, writes results, raises :class:`VOError` on failure."""


class Runner:
    """The job runner of one UWS service in this process (see the module docstring for the rules)."""

    def __init__(
        self,
        store: JobStore,
        results: ResultStore,
        executor: Executor,
        *,
        max_concurrent: int = 4,
        lease: float = 30.0,
        max_attempts: int = 2,
        reap_interval: float = 60.0,
        poll_interval: float = 10.0,
        worker_id: str | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if lease <= 0 or max_attempts < 1:
            raise ValueError("lease must be positive and max_attempts at least 1")
        self.store = store
        self.results = results
        self.executor = executor
        self.max_concurrent = max_concurrent
        self.lease = lease
        self.max_attempts = max_attempts
        self.reap_interval = reap_interval
        self.poll_interval = poll_interval
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._aborted: set[str] = set()
        self._waiters: dict[str, set[PhaseWatch]] = {}
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._listener: sql.Listener | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._inserting: set[asyncio.Future[Job]] = set()
        self._in_executor: set[str] = set()
        self._stopping = False
        self._closing = False

    @property
    def closing(self) -> bool:
        """Whether :meth:`release_waiters` was called: blocking WAITs answer at once."""
        return self._closing

    def release_waiters(self) -> None:
        """Answer every blocked WAIT now, and every later one at once (the server is shutting down)."""
        self._closing = True
        for watches in self._waiters.values():
            for watch in watches:
                watch.notify(None)

    @property
    def running(self) -> frozenset[str]:
        """The ids of the jobs executing in this process now."""
        return frozenset(self._tasks)

    async def start(self, pool: db.Pool) -> None:
        """Listen for phase changes and start claiming jobs; ``store`` must be started."""
        self._stopping = self._closing = False
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(self.max_concurrent)
        self._listener = sql.Listener(pool, self.store.schema, self._on_notify)
        await self._listener.start()
        self._loops = [asyncio.create_task(self._claim_loop()), asyncio.create_task(self._maintenance_loop())]
        self._wake.set()

    async def stop(self) -> None:
        """Answer the blocked WAITs, stop claiming, cancel the running jobs and put them back in the queue."""
        self.release_waiters()
        self._stopping = True
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        running = list(self._tasks)
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), *self._inserting, return_exceptions=True)
        with contextlib.suppress(VOError):
            await sql.requeue_jobs(self.store.pool, self.store.schema, worker=self.worker_id, job_ids=running)
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        for watches in self._waiters.values():
            for watch in watches:
                watch.notify(None)

    # ------------------------------------------------------------------ notifications

    def _on_notify(self, payload: str) -> None:
        service, _, rest = payload.partition(" ")
        if service != self.store.service:
            return
        job_id, _, phase = rest.partition(" ")
        for watch in self._waiters.get(job_id, ()):
            watch.notify(phase)
        if phase == "QUEUED":
            self._wake.set()
        if phase in ("ABORTED", "DELETED") and job_id in self._tasks:
            # ABORT or deletion by a client.  (Not QUEUED: that notification may be older than our claim.
            # A job re-queued by another process's recovery is found out when finish() is refused.)
            self._aborted.add(job_id)
            self._tasks[job_id].cancel()

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[PhaseWatch]:
        """The phase changes (and deletion) of ``job_id`` as they are notified; enter it before reading the job."""
        watch = PhaseWatch()
        self._waiters.setdefault(job_id, set()).add(watch)
        try:
            yield watch
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(watch)
                if not waiters:
                    del self._waiters[job_id]

    # ------------------------------------------------------------------ claiming and executing

    async def create(self, job: Job) -> Job:
        """Store a new job (UWS 1.1 §2.2.3) made by :meth:`JobStore.prepare`; a job to run (QUEUED) starts
        here at once when this process has a free slot (see "Start at creation" in the module docstring)."""
        run = job.phase is ExecutionPhase.QUEUED
        if not run or self._stopping or not self._loops or self._slots.locked():
            return await self.store.insert(job)
        await self._slots.acquire()  # free (not locked): returns at once
        now = dt.datetime.now(dt.UTC)
        job = dataclasses.replace(job, phase=ExecutionPhase.EXECUTING, start_time=now, attempts=1)
        stored = asyncio.ensure_future(self.store.insert(job, worker=self.worker_id, lease=self.lease))
        self._inserting.add(stored)
        stored.add_done_callback(self._inserting.discard)
        task = self._launch(job, stored)
        stored.add_done_callback(functools.partial(self._not_stored, job.job_id, task))
        return await asyncio.shield(stored)  # a client that goes away does not stop the INSERT

    def _not_stored(self, job_id: str, task: asyncio.Task[None], stored: asyncio.Future[Job]) -> None:
        if (stored.cancelled() or stored.exception() is not None) and job_id in self._in_executor:
            self._aborted.add(job_id)  # the job does not exist: stop its work (_execute removes the results)
            task.cancel()

    def _launch(self, job: Job, stored: asyncio.Future[Job] | None = None) -> asyncio.Task[None]:
        """Execute a job this process holds a slot for."""
        task = asyncio.create_task(self._execute(job, stored))
        self._tasks[job.job_id] = task
        # Bookkeeping in a done callback, not in _execute: a task cancelled before it started
        # (ABORT right after the claim) never runs its body.
        task.add_done_callback(functools.partial(self._done, job.job_id))
        return task

    async def _claim_loop(self) -> None:
        # A slot is held only while claiming, not while waiting for work, so that create() can use it.
        while True:
            await self._slots.acquire()
            self._wake.clear()
            try:
                job = await self.store.claim(worker=self.worker_id, lease=self.lease)
            except VOError as exc:
                log.warning("claiming a job failed: %s", exc.message)
                job = None
            except BaseException:
                self._slots.release()
                raise
            if job is not None:
                self._wake.set()  # there may be more
                self._launch(job)
                continue
            self._slots.release()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    def _done(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
        self._aborted.discard(job_id)
        self._slots.release()

    async def _execute(self, job: Job, stored: asyncio.Future[Job] | None = None) -> None:
        context = JobContext(job=job, pool=self.store.pool, _results=self.results)
        error: ErrorSummary | None = None
        try:
            self._in_executor.add(job.job_id)
            try:
                async with asyncio.timeout(job.execution_duration or None):
                    await self.executor(context)
            except TimeoutError:
                context.cancelled.set()
                error = _duration_error(job)
            except QueryTimeoutError:
                error = _duration_error(job)
            except VOError as exc:
                error = ErrorSummary(exc.message, ErrorType(exc.uws_type))
            except asyncio.CancelledError:
                context.cancelled.set()
                if job.job_id in self._aborted and not self._stopping:
                    await self.results.delete(job.job_id, [r.location for r in context.written])
                    return
                raise
            except Exception:
                log.exception("job %s failed", job.job_id)
                error = ErrorSummary(
                    "internal error while running the job; the operators have the details in their log"
                )
            finally:
                self._in_executor.discard(job.job_id)
            if error is not None:
                await self.results.delete(job.job_id, [r.location for r in context.written])
            if stored is not None:
                await asyncio.wait([stored])  # its failure is the creating request's to report
                if stored.cancelled() or stored.exception() is not None:
                    await self.results.delete(job.job_id, [r.location for r in context.written])
                    return
                job = stored.result()  # with the database's times
            results = () if error else context.written
            final = await self.store.finish(job, worker=self.worker_id, results=results, error=error)
            if final is None:  # aborted, deleted or recovered meanwhile
                await self.results.delete(job.job_id, [r.location for r in context.written])
                return
            # WAIT requests of this process learn the end at once (the NOTIFY follows for the other processes)
            for watch in self._waiters.get(job.job_id, ()):
                watch.notify(final.phase.value, final)
        except VOError as exc:
            log.warning("could not record the end of job %s: %s", job.job_id, exc.message)

    # ------------------------------------------------------------------ leases, recovery, reaping

    async def _maintenance_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_reap = loop.time()
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                assert self._listener is not None
                if await self._listener.check():  # notifications may have been lost
                    self._wake.set()
                    for watches in self._waiters.values():
                        for watch in watches:
                            watch.notify(None)
                await sql.renew_leases(
                    self.store.pool,
                    self.store.schema,
                    worker=self.worker_id,
                    job_ids=list(self._tasks),
                    lease=self.lease,
                )
                await self.recover()
                if loop.time() >= next_reap:
                    await self.reap()
                    next_reap = loop.time() + self.reap_interval
            except VOError as exc:
                log.warning("job maintenance failed: %s", exc.message)

    async def recover(self) -> list[str]:
        """Apply the recovery rule to jobs whose worker died; returns their ids."""
        message = (
            "the server process running this job stopped unexpectedly (its lease expired) and the job had already"
            f" been started {self.max_attempts} time(s); it was not run again: submit it anew"
        )
        lost = await sql.recover_lost_jobs(
            self.store.pool, self.store.schema, max_attempts=self.max_attempts, message=message
        )
        if lost:
            log.warning("recovered jobs of a lost worker: %s", ", ".join(lost))
            self._wake.set()
        return lost

    async def reap(self) -> int:
        """Delete the jobs past their destruction time and their results (UWS 1.1 §2.1.8); returns how many."""
        expired = await sql.select_expired(self.store.pool, self.store.schema, self.store.service)
        for job_id, locations in expired:
            await sql.delete_job(self.store.pool, self.store.schema, job_id)
            await self.results.delete(job_id, locations, everything=True)
        return len(expired)


def _duration_error(job: Job) -> ErrorSummary:
    return ErrorSummary(
        f"the job was stopped because it ran longer than its execution duration of {job.execution_duration} s",
        ErrorType.FATAL,
    )
