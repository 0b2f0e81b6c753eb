"""The UWS 1.1 data model: execution phases, jobs, results, error summaries (UWS 1.1 §2.1)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ACTIVE_PHASES", "FINAL_PHASES", "ErrorSummary", "ErrorType", "ExecutionPhase", "Job", "JobResult"]


class ExecutionPhase(StrEnum):
    """The phase of a job, with the spec's tokens (UWS 1.1 §2.1.3)."""

    PENDING = "PENDING"
    """Accepted, not yet committed to run: parameters may still change."""
    QUEUED = "QUEUED"
    """Committed to run, waiting for a free worker."""
    EXECUTING = "EXECUTING"
    """Running."""
    COMPLETED = "COMPLETED"
    """Ended successfully; the results are available."""
    ERROR = "ERROR"
    """Ended with an error, described by the error summary."""
    ABORTED = "ABORTED"
    """Stopped by the client (or by the service) before it completed."""
    UNKNOWN = "UNKNOWN"
    """The service cannot tell (not used by vostack)."""
    HELD = "HELD"
    """Waiting for something other than a worker (not used by vostack)."""
    SUSPENDED = "SUSPENDED"
    """Started, then paused by the service (not used by vostack)."""
    ARCHIVED = "ARCHIVED"
    """Ended; the results are gone, the metadata remains (not used by vostack)."""


FINAL_PHASES = frozenset(
    {ExecutionPhase.COMPLETED, ExecutionPhase.ERROR, ExecutionPhase.ABORTED, ExecutionPhase.ARCHIVED}
)
"""Phases a job never leaves (UWS 1.1 §2.1.3)."""

ACTIVE_PHASES = frozenset({ExecutionPhase.PENDING, ExecutionPhase.QUEUED, ExecutionPhase.EXECUTING,
                           ExecutionPhase.HELD, ExecutionPhase.SUSPENDED})  # fmt: skip
"""Phases in which a blocking WAIT blocks (UWS 1.1 §2.2.3.1)."""


class ErrorType(StrEnum):
    """The ``type`` of an error summary (UWS 1.1 §2.1.11)."""

    TRANSIENT = "transient"
    """Running the job again may succeed."""
    FATAL = "fatal"
    """Running the job again will fail the same way."""


@dataclass(frozen=True, slots=True)
class ErrorSummary:
    """Why a job ended in ERROR (UWS 1.1 §2.1.11); the detail is served at ``{job}/error``."""

    message: str
    type: ErrorType = ErrorType.FATAL
    has_detail: bool = True


@dataclass(frozen=True, slots=True)
class JobResult:
    """A result of a job (UWS 1.1 §2.1.10): ``location`` is the result store's key for it."""

    result_id: str
    location: str
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A UWS job as stored (UWS 1.1 §2.1).  Times are aware UTC datetimes; durations seconds (0: unlimited)."""

    job_id: str
    phase: ExecutionPhase
    owner: str | None
    run_id: str | None
    creation_time: dt.datetime
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    execution_duration: int
    destruction: dt.datetime
    quote: dt.datetime | None
    parameters: tuple[tuple[str, str], ...]
    error: ErrorSummary | None = None
    results: tuple[JobResult, ...] = ()
    attempts: int = 0

    def parameter(self, name: str) -> str | None:
        """The first value of parameter ``name`` (case-insensitive, as DALI names are)."""
        key = name.upper()
        return next((v for k, v in self.parameters if k.upper() == key), None)
