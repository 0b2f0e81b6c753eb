"""A UWS 1.1 service as an ASGI app: the job list, each job and its resources (UWS 1.1 §2.2).

Mount it with :meth:`UWSService.routes`, which also answers the job list URL
without a trailing slash (``POST /tap/async`` must not be redirected)::

    compute = UWSService(name="compute", executor=..., results=DirectoryResultStore("/srv/results"))
    app = Starlette(routes=[*compute.routes("/compute")])
    # in the portal's lifespan:  await compute.start(pool) ... await compute.stop()

**Blocking WAIT** (UWS 1.1 §2.2.3.1): ``GET {job}?WAIT=n[&PHASE=p]`` returns as
soon as the job's phase changes, or after ``n`` seconds, but never blocks
longer than :attr:`UWSService.max_wait` (60 s by default; ``WAIT=-1`` means
that maximum).  It returns at once for a job in a final phase, or when PHASE
is given and the job is not in it.  The phase change arrives through
PostgreSQL LISTEN/NOTIFY, from whichever process made it.  When the new
phase is not final, WAIT lingers up to :data:`WAIT_SETTLE` (0.25 s) for a
further change, so that a short job is reported COMPLETED in one request.

**The WAIT cap, advertised.**  UWS 1.1 lets a service end a WAIT early but
has no element to say when; every job document (``GET {job}``, with or
without WAIT) therefore carries the response header :data:`MAX_WAIT_HEADER`
(``UWS-Max-Wait: 60``), so that a client learns the cap before it waits and
can tell a capped WAIT from a phase change; :attr:`UWSService.wait_note` says
the same in words for a service's VOSI availability note.  WAIT requests
still blocked when the service stops are answered at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import re
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vostack import db
from vostack.auth import ANONYMOUS
from vostack.auth import Identity as AuthIdentity
from vostack.dali import Params, format_timestamp, parse_int, parse_timestamp
from vostack.errors import InvalidPhaseError, NotFoundError, ParameterError, VOError
from vostack.uws.model import ACTIVE_PHASES, ExecutionPhase, Job
from vostack.uws.results import DirectoryResultStore, ResultStore
from vostack.uws.runner import Executor, Runner
from vostack.uws.store import JobStore
from vostack.uws.transitions import Action
from vostack.uws.xml import job_document, jobs_document, parameters_document, results_document
from vostack.web import XML, ErrorDocuments, RequestLimits, mount_url, request_form, request_params
from vostack.web import identity as web_identity

__all__ = ["FILE_PARAMETER", "GROUPS_PARAMETER", "MAX_WAIT_HEADER", "Identity", "UWSService", "job_identity"]

Identity = Callable[[Request], str | None]
"""The portal's own authentication: the caller's name for a request, ``None`` when anonymous.

Without it, the identity :class:`vostack.web.Authentication` found owns the jobs."""

GROUPS_PARAMETER = "UWS.GROUPS"
"""The job parameter that records the groups of the job's creator (one per line): the job runs with
what they may see (:func:`job_identity`).  Clients cannot send parameters starting with ``UWS.``."""

WAIT_SETTLE = 0.25
"""After the phase changed to a non-final phase, how long WAIT lingers for the next change (seconds)."""

MAX_WAIT_HEADER = "UWS-Max-Wait"
"""The response header of every job document that states the WAIT cap in seconds (UWS 1.1 §2.2.3.1)."""

_ACTIVE = frozenset(p.value for p in ACTIVE_PHASES)
_TEXT = "text/plain; charset=utf-8"

# Parameters that are UWS job control, not job parameters (UWS 1.1 §2.2.3).
_CONTROL = {"PHASE", "RUNID", "ACTION", "DESTRUCTION", "EXECUTIONDURATION", "WAIT"}


def _text_error(message: str) -> tuple[bytes, str]:
    return (message + "\n").encode(), _TEXT


_RESERVED = "UWS."

FILE_PARAMETER = "UWS.FILE."
"""Prefix of the job parameters that record a file part of the job-creating POST.

The file is kept in the result store (not listed as a result); the parameter
``UWS.FILE.<part name>`` holds its location there (a parameter by reference,
UWS 1.1 §2.1.11).  Clients cannot send parameters with this prefix themselves.
"""

_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class UWSService:
    """A UWS 1.1 job service backed by PostgreSQL, shared by every process pointing at the same database.

    Parameters
    ----------
    name
        The service's name in the job store (``"tap"``, ``"compute"``): jobs of
        different services share the schema but never each other's list.
    executor
        Runs one job (see :class:`vostack.uws.Executor`).
    results
        Where results are kept; default a directory under the system's temporary directory.
    schema
        The PostgreSQL schema of the job store, created and migrated at start.
    identity
        The portal's authentication; jobs of an identity are seen only by it.
    max_concurrent
        Jobs executing at once in this process; more stay QUEUED.
    execution_duration, max_execution_duration
        Default and largest execution duration in seconds (UWS 1.1 §2.1.6; 0 = unlimited).
    retention, max_retention
        Default and largest time from creation to destruction (UWS 1.1 §2.1.7).
    max_wait
        The cap on a blocking WAIT, in seconds (UWS 1.1 §2.2.3.1).
    lease, max_attempts
        The recovery rule for jobs of dead workers (:mod:`vostack.uws.runner`).
    error_document
        Renders ``{job}/error`` from the error message: ``(body, media type)``;
        TAP gives a VOTable error document, the default is plain text.
    limits
        How much of a request is read (:class:`vostack.web.RequestLimits`); with ``file_bytes``,
        the file parts of a job-creating multipart POST are kept with the job (:data:`FILE_PARAMETER`),
        without, file parts are ignored.
    url_key, url_lifetime
        The results of a job with an owner are listed with signed URLs that expire after
        ``url_lifetime`` seconds: whoever holds such a URL (a browser, an application it was sent to)
        may fetch that result without credentials until then.  Every process of a site needs the same
        ``url_key``; the default is a key of this process alone.
    """

    def __init__(
        self,
        *,
        name: str,
        executor: Executor,
        results: ResultStore | None = None,
        schema: str = "vostack_uws",
        identity: Identity | None = None,
        max_concurrent: int = 4,
        execution_duration: int = 3600,
        max_execution_duration: int = 86_400,
        retention: dt.timedelta = dt.timedelta(days=7),
        max_retention: dt.timedelta = dt.timedelta(days=30),
        max_wait: float = 60.0,
        lease: float = 30.0,
        max_attempts: int = 2,
        reap_interval: float = 60.0,
        error_document: Callable[[str], tuple[bytes, str]] = _text_error,
        limits: RequestLimits | None = None,
        url_key: bytes | None = None,
        url_lifetime: float = 3600.0,
    ) -> None:
        if not name or " " in name:
            raise ValueError("a UWS service name must be a non-empty word")
        if execution_duration < 0 or max_execution_duration < 0 or max_wait <= 0:
            raise ValueError("durations must not be negative")
        self.name = name
        self.store = JobStore(service=name, schema=schema)
        self.results = results or DirectoryResultStore(Path(tempfile.gettempdir()) / "vostack-results" / schema)
        self.identity = identity
        self.execution_duration = execution_duration
        self.max_execution_duration = max_execution_duration
        self.retention = retention
        self.max_retention = max_retention
        self.max_wait = max_wait
        self.error_document = error_document
        self.limits = limits or RequestLimits()
        self.url_key = url_key or secrets.token_bytes(32)
        self.url_lifetime = url_lifetime
        self.runner = Runner(
            self.store,
            self.results,
            executor,
            max_concurrent=max_concurrent,
            lease=lease,
            max_attempts=max_attempts,
            reap_interval=reap_interval,
        )
        self._router = Router(
            routes=[
                Route("/", self._jobs, methods=["GET", "POST"]),
                Route("/{job_id}", self._job, methods=["GET", "POST", "DELETE"]),
                Route("/{job_id}/phase", self._phase, methods=["GET", "POST"]),
                Route("/{job_id}/executionduration", self._execution_duration, methods=["GET", "POST"]),
                Route("/{job_id}/destruction", self._destruction, methods=["GET", "POST"]),
                Route("/{job_id}/error", self._error_detail, methods=["GET"]),
                Route("/{job_id}/quote", self._quote, methods=["GET"]),
                Route("/{job_id}/owner", self._owner, methods=["GET"]),
                Route("/{job_id}/runId", self._run_id, methods=["GET"]),
                Route("/{job_id}/parameters", self._parameters, methods=["GET", "POST"]),
                Route("/{job_id}/results", self._results, methods=["GET"]),
                Route("/{job_id}/results/{result_id}", self._result, methods=["GET"]),
            ]
        )
        self._app = self._edge(self._router)

    @property
    def wait_note(self) -> str:
        """The WAIT cap in words, for a service's VOSI availability note (UWS 1.1 §2.2.3.1)."""
        return f"a blocking WAIT on a job returns after at most {_seconds(self.max_wait)} s"

    def routes(self, path: str) -> list[BaseRoute]:
        """Routes serving this service at ``path`` (the job list URL, with or without a trailing slash)."""
        return [Route(path, self._edge(_asgi(self._jobs)), methods=["GET", "POST"]), Mount(path, app=self)]

    async def start(self, pool: db.Pool) -> None:
        """Create or migrate the job store and start this process's runner."""
        await self.store.start(pool)
        await self.runner.start(pool)

    def release_waiters(self) -> None:
        """Answer every blocked WAIT now and stop blocking: call it when the server begins to shut down.

        A server waits for its open requests before it stops its services, so that a WAIT blocked for up
        to :attr:`max_wait` seconds would delay the shutdown; :meth:`stop` calls it too.
        """
        self.runner.release_waiters()

    async def stop(self) -> None:
        """Stop the runner (running jobs go back to the queue) and give the pool back."""
        await self.runner.stop()
        await self.store.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    # ------------------------------------------------------------------ helpers

    def _edge(self, app: ASGIApp) -> ErrorDocuments:
        """``app`` with its errors answered as this service's error documents (UWS 1.1 §2.2.2.2, DALI 1.1 §4.2)."""
        return ErrorDocuments(app, service=f"{self.name} job", document=self._error_document)

    def _error_document(self, request: Request, exc: VOError) -> tuple[bytes, str]:
        return self.error_document(exc.message)

    def owner_of(self, request: Request) -> str | None:
        """Who owns the jobs of ``request``'s caller (``None``: anonymous; UWS 1.1 §2.1.4)."""
        return self.identity(request) if self.identity is not None else web_identity(request).name

    def _signature(self, job_id: str, result_id: str, expires: int) -> str:
        message = f"{self.name}/{job_id}/{result_id}/{expires}".encode()
        return hmac.new(self.url_key, message, hashlib.sha256).hexdigest()

    def result_url(self, job: Job, href: str) -> str:
        """A result's URL ``href``: signed and expiring for a job with an owner (see ``url_key``)."""
        if job.owner is None:
            return href
        expires = int(time.time() + self.url_lifetime)
        result_id = href.rsplit("/", 1)[-1]
        return f"{href}?expires={expires}&signature={self._signature(job.job_id, result_id, expires)}"

    def _signed(self, request: Request, job_id: str, result_id: str) -> bool:
        """Whether the request carries a valid, unexpired signature for this result."""
        expires, signature = request.query_params.get("expires", ""), request.query_params.get("signature", "")
        if not expires.isdigit() or not signature or int(expires) < time.time():
            return False
        return hmac.compare_digest(self._signature(job_id, result_id, int(expires)), signature)

    @staticmethod
    def _jobs_url(request: Request) -> str:
        url = request.url
        if "job_id" in request.path_params:
            return mount_url(request)
        return f"{url.scheme}://{url.netloc}{url.path}".rstrip("/")

    def _job_url(self, request: Request, job_id: str) -> str:
        return f"{self._jobs_url(request)}/{job_id}"

    def _see(self, request: Request, job_id: str | None = None) -> RedirectResponse:
        target = self._job_url(request, job_id) if job_id else self._jobs_url(request)
        return RedirectResponse(target, status_code=303)

    def _execution_duration_value(self, params: Params) -> int | None:
        value = parse_int(params, "EXECUTIONDURATION", minimum=0)
        if value is None:
            return None
        if self.max_execution_duration and (value == 0 or value > self.max_execution_duration):
            return self.max_execution_duration  # UWS 1.1 §2.1.6: the service may shorten it
        return value

    def _destruction_value(self, params: Params, creation: dt.datetime) -> dt.datetime | None:
        raw = params.get("DESTRUCTION")
        if raw is None or not raw.strip():
            return None
        return min(parse_timestamp(raw, param="DESTRUCTION"), creation + self.max_retention)

    async def _apply(self, request: Request, job_id: str, params: Params, owner: str | None) -> Job:
        """The job-modifying parameters of a POST: DESTRUCTION, EXECUTIONDURATION, then PHASE."""
        job = await self.store.get(job_id, owner=owner)
        destruction = self._destruction_value(params, job.creation_time)
        duration = self._execution_duration_value(params)
        if destruction is not None or duration is not None:
            job = await self.store.update(job_id, owner=owner, destruction=destruction, execution_duration=duration)
        phase = params.get("PHASE")
        if phase is not None:
            job = await self.store.act(job_id, _action(phase), owner=owner)
        return job

    # ------------------------------------------------------------------ endpoints

    async def _jobs(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.1 (GET: the job list with PHASE, AFTER, LAST) and §2.2.3.1 (POST: a new job)."""
        params, files = await request_form(request, self.limits)
        owner = self.owner_of(request)
        if request.method == "GET":
            phases = [_phase(p) for p in params.getall("PHASE")]
            after_raw = params.get("AFTER")
            after = parse_timestamp(after_raw, param="AFTER") if after_raw else None
            if after is not None and after.microsecond == 0:
                # AFTER to the second: compare at that precision, as a client reading whole seconds does
                after += dt.timedelta(seconds=1) - dt.timedelta(microseconds=1)
            last = parse_int(params, "LAST", minimum=1)
            jobs = await self.store.list(owner=owner, phases=phases, after=after, last=last)
            return Response(jobs_document(jobs, jobs_url=self._jobs_url(request)), media_type=XML)
        _check_file_names(files)
        phase = params.get("PHASE")
        run = phase is not None and _action(phase) is Action.RUN
        if phase is not None and not run:
            raise ParameterError(f"PHASE={phase!r} cannot be given when creating a job; use PHASE=RUN", param="PHASE")
        now = dt.datetime.now(dt.UTC)
        duration = self._execution_duration_value(params)
        groups = sorted(web_identity(request).groups) if self.identity is None else []
        job = self.store.prepare(
            owner=owner,
            run_id=params.get("RUNID"),
            parameters=_client_parameters(params) + ([(GROUPS_PARAMETER, "\n".join(groups))] if groups else []),
            execution_duration=self.execution_duration if duration is None else duration,
            destruction=self._destruction_value(params, now) or now + self.retention,
            run=run and not files,
        )
        job = await self.runner.create(job)
        if files:  # kept before the job may run; the job is created PENDING and started afterwards
            await self._keep_files(job, files, owner=owner, run=run)
        return self._see(request, job.job_id)

    async def _keep_files(self, job: Job, files: dict[str, bytes], *, owner: str | None, run: bool) -> None:
        """Store the file parts of a new job and record them as :data:`FILE_PARAMETER` parameters."""
        await self.store.update(job.job_id, owner=owner, parameters=await self._write_files(job.job_id, files))
        if run:
            await self.store.act(job.job_id, Action.RUN, owner=owner)

    async def _write_files(self, job_id: str, files: dict[str, bytes]) -> list[tuple[str, str]]:
        """Write file parts (names checked by :func:`_check_file_names`) to the result store: their parameters."""
        kept: list[tuple[str, str]] = []
        for name, content in files.items():
            location, _ = await self.results.write(job_id, f"file.{name}", _chunks(content))
            kept.append((FILE_PARAMETER + name, location))
        return kept

    async def _job(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 (GET, with WAIT), §2.2.3.2 (POST actions), §2.2.3.3 (DELETE)."""
        job_id = request.path_params["job_id"]
        params = await request_params(request, self.limits)
        owner = self.owner_of(request)
        if request.method == "DELETE" or (params.get("ACTION") or "").upper() == "DELETE":
            await self.delete(job_id, owner=owner)
            return self._see(request)
        if request.method == "POST":
            if params.get("ACTION") is not None:
                raise ParameterError(f"ACTION={params.get('ACTION')!r} is not supported; use ACTION=DELETE",
                                     param="ACTION")  # fmt: skip
            await self._apply(request, job_id, params, owner)
            return self._see(request, job_id)
        wait = parse_int(params, "WAIT", minimum=-1)
        if wait is None or wait == 0:
            job = await self.store.get(job_id, owner=owner)
        else:
            limit = self.max_wait if wait < 0 else min(float(wait), self.max_wait)
            job = await self._wait(job_id, owner, limit, params.get("PHASE"))
        return Response(
            job_document(job, job_url=self._job_url(request, job_id), result_url=self.result_url),
            media_type=XML,
            headers={MAX_WAIT_HEADER: _seconds(self.max_wait)},
        )

    async def _wait(self, job_id: str, owner: str | None, limit: float, phase: str | None) -> Job:
        """Block until the job's phase changes, at most ``limit`` seconds (UWS 1.1 §2.2.3.1)."""
        condition = _phase(phase) if phase else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        async with self.runner.watch(job_id) as watch:
            job = await self.store.get(job_id, owner=owner)
            start = job.phase.value
            if job.phase not in ACTIVE_PHASES or (condition is not None and job.phase is not condition):
                return job
            if self.runner.closing:  # shutting down: do not hold the request
                return job
            # Only the notified phases are looked at while waiting; the job is read once at the end.
            current: str | None = start
            while current == start:
                remaining = deadline - loop.time()
                if remaining <= 0 or not await _wait_event(watch.changed, remaining):
                    return job
                watch.changed.clear()
                if self.runner.closing:
                    break
                current = watch.phase
                if current is None:  # notifications may have been lost: read the job
                    current = (await self.store.get(job_id, owner=owner)).phase.value
            # Settle: a short job passes QUEUED → EXECUTING → COMPLETED in milliseconds; report where it
            # ends up within WAIT_SETTLE rather than make the client come back (pyvo sleeps 1 s in between).
            settle = min(WAIT_SETTLE, deadline - loop.time())
            while (
                current in _ACTIVE
                and settle > 0
                and not self.runner.closing
                and await _wait_event(watch.changed, settle)
            ):
                watch.changed.clear()
                current = watch.phase or current
                settle = min(WAIT_SETTLE, deadline - loop.time())
            if watch.job is not None and watch.job.phase.value == current:
                return watch.job  # ended by this process, which handed it over: no need to read it again
        return await self.store.get(job_id, owner=owner)

    async def delete(self, job_id: str, *, owner: str | None) -> None:
        """Delete ``owner``'s job and its results (UWS 1.1 §2.2.3.3)."""
        job = await self.store.delete(job_id, owner=owner)
        await self.results.delete(job_id, [r.location for r in job.results], everything=True)

    async def abort(self, job_id: str, *, owner: str | None) -> Job:
        """Abort ``owner``'s job (UWS 1.1 §2.2.3.2 ``PHASE=ABORT``; a job in a final phase stays as it is)."""
        return await self.store.act(job_id, Action.ABORT, owner=owner)

    async def _phase(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 ``{job}/phase``: GET the phase, POST PHASE=RUN or PHASE=ABORT."""
        job_id = request.path_params["job_id"]
        owner = self.owner_of(request)
        if request.method == "POST":
            params = await request_params(request, self.limits)
            phase = params.get("PHASE")
            if phase is None:
                raise ParameterError("PHASE is missing: send PHASE=RUN or PHASE=ABORT", param="PHASE")
            await self.store.act(job_id, _action(phase), owner=owner)
            return self._see(request, job_id)
        job = await self.store.get(job_id, owner=owner)
        return Response(job.phase.value, media_type=_TEXT)

    async def _execution_duration(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 ``{job}/executionduration`` (seconds; 0 means unlimited)."""
        return await self._job_value(request, "EXECUTIONDURATION", lambda job: str(job.execution_duration))

    async def _destruction(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 ``{job}/destruction`` (an ISO 8601 timestamp)."""
        return await self._job_value(request, "DESTRUCTION", lambda job: _timestamp(job.destruction))

    async def _job_value(self, request: Request, param: str, value: Callable[[Job], str]) -> Response:
        """A job's value as text (GET), or a new one from ``param`` (POST; see :meth:`_apply`)."""
        job_id = request.path_params["job_id"]
        owner = self.owner_of(request)
        if request.method == "POST":
            params = await request_params(request, self.limits)
            if params.get(param) is None:
                raise ParameterError(f"{param} is missing", param=param)
            await self._apply(request, job_id, params, owner)
            return self._see(request, job_id)
        return Response(value(await self.store.get(job_id, owner=owner)), media_type=_TEXT)

    async def _error_detail(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 ``{job}/error``: the error detail document."""
        job = await self.store.get(request.path_params["job_id"], owner=self.owner_of(request))
        if job.error is None:
            raise NotFoundError(f"job {job.job_id} has no error: it is {job.phase.value}")
        body, media_type = self.error_document(job.error.message)
        return Response(body, media_type=media_type)

    async def _quote(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 ``{job}/quote``: empty, vostack makes no estimate."""
        job = await self.store.get(request.path_params["job_id"], owner=self.owner_of(request))
        return Response(_timestamp(job.quote) if job.quote else "", media_type=_TEXT)

    async def _owner(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 ``{job}/owner``: empty for an anonymous job."""
        job = await self.store.get(request.path_params["job_id"], owner=self.owner_of(request))
        return Response(job.owner or "", media_type=_TEXT)

    async def _run_id(self, request: Request) -> Response:
        """``{job}/runId``: the client's RUNID."""
        job = await self.store.get(request.path_params["job_id"], owner=self.owner_of(request))
        return Response(job.run_id or "", media_type=_TEXT)

    async def _parameters(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 ``{job}/parameters``; POST changes parameters of a PENDING job."""
        job_id = request.path_params["job_id"]
        owner = self.owner_of(request)
        if request.method == "POST":
            params, files = await request_form(request, self.limits)
            new = _client_parameters(params)
            if files:  # e.g. a TAP upload added to a PENDING job (TAP 1.1 §4.5)
                _check_file_names(files)
                phase = (await self.store.get(job_id, owner=owner)).phase
                if phase is not ExecutionPhase.PENDING:  # checked before the files are written
                    raise InvalidPhaseError(f"the job is {phase}: its parameters can only change while PENDING")
                new += await self._write_files(job_id, files)
            if new:
                await self.store.update(job_id, owner=owner, parameters=new)
            await self._apply(request, job_id, params, owner)
            return self._see(request, job_id)
        job = await self.store.get(job_id, owner=owner)
        return Response(parameters_document(job), media_type=XML)

    async def _results(self, request: Request) -> Response:
        """UWS 1.1 §2.2.2.2 ``{job}/results``."""
        job_id = request.path_params["job_id"]
        job = await self.store.get(job_id, owner=self.owner_of(request))
        return Response(
            results_document(job, job_url=self._job_url(request, job_id), result_url=self.result_url), media_type=XML
        )

    async def _result(self, request: Request) -> Response:
        """One result: streamed from the result store, or a 303 to the store's own URL.

        HEAD is answered here, from the job's record (a presigned URL is signed for GET only).
        """
        job_id, result_id = request.path_params["job_id"], request.path_params["result_id"]
        signed = self._signed(request, job_id, result_id)
        job = await self.store.get(job_id, owner=self.owner_of(request), anyone=signed)
        result = next((r for r in job.results if r.result_id == result_id), None)
        if result is None:
            state = job.phase.value if job.error is None else f"{job.phase.value}: {job.error.message}"
            raise NotFoundError(f"job {job_id} has no result {result_id!r} (it is {state})")
        media_type = result.mime_type or "application/octet-stream"
        if request.method == "HEAD" and result.size is not None:
            return Response(headers={"content-length": str(result.size)}, media_type=media_type)
        url = await self.results.url(result.location)
        if url is not None:
            return RedirectResponse(url, status_code=303)
        chunks = self.results.iter_bytes(result.location)
        first = await anext(chunks, b"")  # a missing file is a 404, before any byte is sent
        return StreamingResponse(_prepend(first, chunks), media_type=media_type)


def job_identity(job: Job) -> AuthIdentity:
    """Who a job runs for: its owner with the groups recorded when it was created (:data:`GROUPS_PARAMETER`)."""
    if job.owner is None:
        return ANONYMOUS
    groups = next((value for name, value in job.parameters if name == GROUPS_PARAMETER), "")
    return AuthIdentity.of(job.owner, [g for g in groups.split("\n") if g])


def _asgi(endpoint: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    """``endpoint`` as an ASGI app (what :class:`ErrorDocuments` wraps and a ``Route`` then serves as it is)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await endpoint(Request(scope, receive))
        await response(scope, receive, send)

    return app


def _check_file_names(files: Mapping[str, bytes]) -> None:
    """File parts are stored under their names: letters, digits, '_', '.' and '-' only."""
    for name in files:
        if not _FILE_NAME.match(name):
            raise ParameterError(f"file part names are letters, digits, '_', '.' and '-', not {name!r}", param=name)


def _client_parameters(params: Params) -> list[tuple[str, str]]:
    """The job parameters of a request: not UWS control parameters, never ``UWS.*`` ones (:data:`FILE_PARAMETER`,
    :data:`GROUPS_PARAMETER`)."""
    if any(k.upper().startswith(_RESERVED) for k, _ in params):
        raise ParameterError(f"parameter names starting with {_RESERVED} are reserved for the service", param=_RESERVED)
    return [(k, v) for k, v in params if k not in _CONTROL]


async def _chunks(content: bytes) -> AsyncIterator[bytes]:
    yield content


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


async def _wait_event(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _seconds(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _timestamp(value: dt.datetime) -> str:
    return format_timestamp(value)


def _phase(raw: str) -> ExecutionPhase:
    try:
        return ExecutionPhase(raw.strip().upper())
    except ValueError:
        raise ParameterError(f"PHASE={raw!r} is not a UWS execution phase", param="PHASE") from None


def _action(raw: str) -> Action:
    value = raw.strip().upper()
    if value not in (Action.RUN, Action.ABORT):
        raise ParameterError(f"PHASE={raw!r} is not an action: use PHASE=RUN or PHASE=ABORT", param="PHASE")
    return Action(value)
