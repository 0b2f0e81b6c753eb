"""TAP asynchronous queries: UWS jobs that run the same :class:`QueryRun` as ``/sync`` (TAP 1.1 §2.2).

The job's parameters are parsed exactly as a synchronous request's
(:func:`parse_tap_request`); the query runs through :class:`QueryRun` with the
job's execution duration as its time limit, and the streamed document
(VOTable in any RESPONSEFORMAT sync offers, with the same MAXREC overflow
marking) is written to the result store as ``results/result``.  An error
ends the job in ERROR; ``{job}/error`` is then a VOTable error document
(DALI 1.1 §5.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from vostack import adql
from vostack.config import ServiceConfig
from vostack.dali import OutputFormat, Params
from vostack.schema import TableSet
from vostack.tap.params import parse_tap_request
from vostack.tap.query import QueryRun
from vostack.uws import JobContext, UWSService
from vostack.votable import MEDIA_TYPE, error_document

__all__ = ["TAPJobExecutor", "async_service", "votable_error"]

_UNLIMITED = 365 * 86_400.0


class _TAP(Protocol):
    @property
    def tableset(self) -> TableSet: ...

    @property
    def settings(self) -> ServiceConfig: ...

    @property
    def formats(self) -> Sequence[OutputFormat]: ...

    @property
    def udfs(self) -> Sequence[adql.UDF]: ...


def votable_error(message: str) -> tuple[bytes, str]:
    """The ``{job}/error`` document of a TAP job: a VOTable with QUERY_STATUS=ERROR (TAP 1.1 §2.9)."""
    return error_document(message), MEDIA_TYPE


class TAPJobExecutor:
    """Runs one TAP job: parse the parameters, run the query, store ``result`` (TAP 1.1 §2.2)."""

    def __init__(self, tap: _TAP) -> None:
        self.tap = tap

    async def __call__(self, context: JobContext) -> None:
        settings = self.tap.settings
        request = parse_tap_request(
            Params(context.job.parameters),
            formats=self.tap.formats,
            maxrec=settings.maxrec,
            hardlimit=settings.hardlimit,
        )
        time_limit = float(context.job.execution_duration) or _UNLIMITED
        run = await QueryRun.start(context.pool, self.tap.tableset, request, time_limit=time_limit, udfs=self.tap.udfs)
        try:
            await context.write_result("result", run.iter_bytes(), mime_type=request.format.mime)
        finally:
            await run.aclose()


def async_service(tap: _TAP, **options: Any) -> UWSService:
    """The UWS service behind ``/async`` of ``tap``; ``options`` go to :class:`UWSService`."""
    options.setdefault("name", "tap")
    options.setdefault("error_document", votable_error)
    return UWSService(executor=TAPJobExecutor(tap), **options)
