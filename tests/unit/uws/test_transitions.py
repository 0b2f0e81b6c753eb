"""The UWS phase table (UWS 1.1 §2.1.3, §2.2.3): every pair of phase and action, allowed or refused."""

from __future__ import annotations

import itertools

import pytest

from vostack.errors import InvalidPhaseError
from vostack.uws import FINAL_PHASES, TRANSITIONS, Action, ExecutionPhase, next_phase

P = ExecutionPhase

EXPECTED = {
    (P.PENDING, Action.RUN): P.QUEUED,
    (P.HELD, Action.RUN): P.QUEUED,
    (P.QUEUED, Action.RUN): P.QUEUED,
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


@pytest.mark.parametrize(("phase", "action"), list(itertools.product(P, Action)))
def test_every_phase_and_action_is_allowed_exactly_as_the_table_says(phase: P, action: Action) -> None:
    if (phase, action) in EXPECTED:
        assert next_phase(phase, action) is EXPECTED[phase, action]
    else:
        with pytest.raises(InvalidPhaseError, match=f"cannot {action.value} a job that is {phase.value}"):
            next_phase(phase, action)


def test_the_table_is_the_documented_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize("phase", sorted(FINAL_PHASES))
def test_final_phases_are_never_left(phase: P) -> None:
    assert not [a for (p, a) in TRANSITIONS if p is phase]


def test_run_on_completed_job_is_usage_error() -> None:
    with pytest.raises(InvalidPhaseError) as info:
        next_phase(P.COMPLETED, Action.RUN)
    assert info.value.http_status == 400


def test_phase_tokens_are_the_spec_tokens() -> None:
    assert [p.value for p in P] == [
        "PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "UNKNOWN", "HELD", "SUSPENDED", "ARCHIVED",
    ]  # fmt: skip
