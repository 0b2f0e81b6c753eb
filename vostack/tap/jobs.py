"""TAP asynchronous queries: UWS jobs that run the same :class:`QueryRun` as ``/sync`` (TAP 1.1 §2.2).

The job's parameters are parsed exactly as a synchronous request's
(:func:`parse_tap_request`); the query runs through :class:`QueryRun` with the
job's execution duration as its time limit, and the streamed document
(VOTable in any RESPONSEFORMAT sync offers, with the same MAXREC overflow
marking) is written to the result store as ``results/result``.  An error
ends the job in ERROR; ``{job}/error`` is then a VOTable error document
(DALI 1.1 §5.4).  That includes an error after the first rows (a lost
connection, a division by zero in a later row): unlike a sync response,
whose status line is already sent, a job has its own error channel, so the
partial result is removed and the job ends in ERROR rather than COMPLETED
with ``QUERY_STATUS=ERROR`` inside its VOTable.

Uploads (TAP 1.1 §4.5): the file parts of the job-creating POST are kept in
the job's result store by the UWS layer (``UWS.FILE.<part>`` parameters) and
read again when the job runs, in whichever process; http(s) uploads are
fetched when the job runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from vostack.auth import Identity
from vostack.config import ServiceConfig
from vostack.dali import OutputFormat, Params
from vostack.tap.params import TAPRequest, parse_tap_request
from vostack.tap.query import QueryRun
from vostack.tap.upload import Upload, UploadLimits, UploadSource, load_uploads
from vostack.uws import JobContext, ResultStore, UWSService, job_identity
from vostack.uws.routes import FILE_PARAMETER
from vostack.votable import MEDIA_TYPE, error_document
from vostack.web import RequestLimits

__all__ = ["TAPJobExecutor", "async_service", "votable_error"]

_UNLIMITED = 365 * 86_400.0


class _TAP(Protocol):
    @property
    def settings(self) -> ServiceConfig: ...

    @property
    def formats(self) -> Sequence[OutputFormat]: ...

    @property
    def jobs(self) -> UWSService: ...

    async def open_query(
        self,
        request: TAPRequest,
        *,
        time_limit: float,
        uploads: Sequence[Upload] = (),
        run: type[QueryRun] = QueryRun,
        identity: Identity = ...,
    ) -> QueryRun: ...


def votable_error(message: str) -> tuple[bytes, str]:
    """The ``{job}/error`` document of a TAP job: a VOTable with QUERY_STATUS=ERROR (TAP 1.1 §2.9)."""
    return error_document(message), MEDIA_TYPE


class TAPJobExecutor:
    """Runs one TAP job: parse the parameters, run the query, store ``result`` (TAP 1.1 §2.2)."""

    def __init__(self, tap: _TAP) -> None:
        self.tap = tap

    async def __call__(self, context: JobContext) -> None:
        settings = self.tap.settings
        params = Params(context.job.parameters)
        request = parse_tap_request(
            params,
            formats=self.tap.formats,
            maxrec=settings.maxrec,
            hardlimit=settings.hardlimit,
        )
        files = await _kept_files(self.tap.jobs.results, params, request.uploads)
        uploads = await load_uploads(request.uploads, files, UploadLimits.of(settings))
        time_limit = float(context.job.execution_duration) or _UNLIMITED
        # the job sees what its creator sees, under its role; on a read replica unless it has uploads (the
        # job's own bookkeeping stays on the primary)
        run = await self.tap.open_query(
            request, time_limit=time_limit, uploads=uploads, run=_JobQueryRun, identity=job_identity(context.job)
        )
        try:
            await context.write_result("result", run.iter_bytes(), mime_type=request.format.mime)
        finally:
            await run.aclose()


class _JobQueryRun(QueryRun):
    """The query of a job: an error after the first byte raises :class:`~vostack.votable.StreamAborted`
    (the job ends in ERROR and its partial result is removed) instead of being written after the table."""

    errors_in_band = False


async def _kept_files(store: ResultStore, params: Params, sources: Sequence[UploadSource]) -> dict[str, bytes]:
    """The file parts the job's inline uploads name, as the UWS layer kept them (missing ones are left out)."""
    files: dict[str, bytes] = {}
    for source in sources:
        location = params.get(FILE_PARAMETER + source.part) if source.part is not None else None
        if source.part is not None and location is not None:
            files[source.part] = b"".join([chunk async for chunk in store.iter_bytes(location)])
    return files


def async_service(tap: _TAP, **options: Any) -> UWSService:
    """The UWS service behind ``/async`` of ``tap``; ``options`` go to :class:`UWSService`."""
    options.setdefault("name", "tap")
    options.setdefault("error_document", votable_error)
    # the sync limits; with upload_limit, the file parts of inline uploads are kept with the job (TAP 1.1 §4.5)
    options.setdefault("limits", RequestLimits.of(tap.settings, files=True))
    return UWSService(executor=TAPJobExecutor(tap), **options)
