"""UWS 1.1 asynchronous jobs in PostgreSQL, shared by every server process (IVOA UWS 1.1).

:class:`UWSService` is a mountable job service for any :data:`Executor`;
:class:`FunctionService` exposes a Python function with typed parameters;
TAP's ``/async`` is one of them (:mod:`vostack.tap.jobs`).
"""

from __future__ import annotations

from vostack.uws.function import FunctionExecutor, Parameter
from vostack.uws.model import ACTIVE_PHASES, FINAL_PHASES, ErrorSummary, ErrorType, ExecutionPhase, Job, JobResult
from vostack.uws.results import DirectoryResultStore, ObjectResultStore, ResultStore
from vostack.uws.routes import GROUPS_PARAMETER, MAX_WAIT_HEADER, Identity, UWSService, job_identity
from vostack.uws.runner import Executor, JobContext, Runner
from vostack.uws.store import JobStore
from vostack.uws.transitions import TRANSITIONS, Action, next_phase
from vostack.uws.xml import UWS_NAMESPACE, job_document, jobs_document

__all__ = [
    "ACTIVE_PHASES",
    "FINAL_PHASES",
    "GROUPS_PARAMETER",
    "MAX_WAIT_HEADER",
    "TRANSITIONS",
    "UWS_NAMESPACE",
    "Action",
    "DirectoryResultStore",
    "ErrorSummary",
    "ErrorType",
    "ExecutionPhase",
    "Executor",
    "FunctionExecutor",
    "Identity",
    "Job",
    "JobContext",
    "JobResult",
    "JobStore",
    "ObjectResultStore",
    "Parameter",
    "ResultStore",
    "Runner",
    "UWSService",
    "job_document",
    "job_identity",
    "jobs_document",
    "next_phase",
]
