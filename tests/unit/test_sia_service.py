"""The SIA service without a database: what the site reaches through it."""

from __future__ import annotations

from vostack import Site
from vostack.sia import SIAService


def test_a_site_shutting_down_answers_the_blocked_waits_of_async_soda() -> None:
    sia = SIAService(collections=[])
    assert not sia.jobs.runner.closing
    Site(services=[sia]).release_waiters()
    assert sia.jobs.runner.closing  # blocked WAITs on /soda/async answer at once (UWS 1.1 §2.2.3.1)
