"""The pools a protocol service borrows (db.PoolBorrower): refused before start, replicas when given."""

from __future__ import annotations

import pytest

from vostack import db
from vostack.errors import TransientError
from vostack.sia import SIAService
from vostack.tap import TAPService


@pytest.mark.parametrize(("make", "name"), [(TAPService, "TAP"), (lambda: SIAService(collections=()), "SIA")])
def test_a_service_not_started_answers_that_it_is_starting(make: object, name: str) -> None:
    service = make()  # type: ignore[operator]
    assert isinstance(service, db.PoolBorrower)
    with pytest.raises(TransientError, match=f"the {name} service is starting"):
        service.reader()
