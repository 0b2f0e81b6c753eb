"""The UWS phase machine as a table: (phase, action) → new phase (UWS 1.1 §2.1.3, §2.2.3).

Pure functions and data; the job store applies them to a locked row.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from vostack.errors import InvalidPhaseError
from vostack.uws.model import ExecutionPhase

__all__ = ["TRANSITIONS", "Action", "next_phase"]

P = ExecutionPhase


class Action(StrEnum):
    """What moves a job: the client's PHASE=RUN/ABORT and the runner's steps."""

    RUN = "RUN"
    """The client's PHASE=RUN (UWS 1.1 §2.2.3.2)."""
    ABORT = "ABORT"
    """The client's PHASE=ABORT (UWS 1.1 §2.2.3.2)."""
    START = "START"
    """A worker claimed the job."""
    COMPLETE = "COMPLETE"
    """The work ended with results."""
    FAIL = "FAIL"
    """The work ended with an error, or exceeded its execution duration."""
    REQUEUE = "REQUEUE"
    """The worker died; the job goes back to the queue (see the runner's recovery rule)."""


TRANSITIONS: Mapping[tuple[ExecutionPhase, Action], ExecutionPhase] = {
    (P.PENDING, Action.RUN): P.QUEUED,
    (P.HELD, Action.RUN): P.QUEUED,
    (P.QUEUED, Action.RUN): P.QUEUED,  # repeated RUN: accepted, nothing changes
    (P.EXECUTING, Action.RUN): P.EXECUTING,
    (P.PENDING, Action.ABORT): P.ABORTED,
    (P.QUEUED, Action.ABORT): P.ABORTED,
    (P.EXECUTING, Action.ABORT): P.ABORTED,
    (P.HELD, Action.ABORT): P.ABORTED,
    (P.SUSPENDED, Action.ABORT): P.ABORTED,
    (P.QUEUED, Action.START): P.EXECUTING,
    (P.EXECUTING, Action.COMPLETE): P.COMPLETED,
    (P.EXECUTING, Action.FAIL): P.ERROR,
    (P.QUEUED, Action.FAIL): P.ERROR,
    (P.EXECUTING, Action.REQUEUE): P.QUEUED,
}
"""Every allowed transition; anything absent is refused with :class:`InvalidPhaseError`."""


def next_phase(phase: ExecutionPhase, action: Action) -> ExecutionPhase:
    """The phase after ``action``; raises :class:`InvalidPhaseError` when ``phase`` does not allow it."""
    try:
        return TRANSITIONS[phase, action]
    except KeyError:
        raise InvalidPhaseError(f"cannot {action.value} a job that is {phase.value}") from None
