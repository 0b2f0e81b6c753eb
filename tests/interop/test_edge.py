"""The HTTP edge over real HTTP, served by ``vostack serve`` as a user runs it: limits, timeouts, pyvo's view.

A kept-alive ``requests.Session`` (what pyvo uses) sends what real clients send: a QUERY over the request
limit, a form of 2,000 fields, a URL over the limit; pyvo's ``run_sync`` meets a query stopped at the
service's execution time limit.  Each gets the DALI error VOTable with its status: 413, 414, 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvo
import requests

from tests.documents import dali_error
from tests.interop.test_cli import _free_port, vostack

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

LIMIT = 1_048_576  # the default request_limit
# a self-join of the 117,955 Hipparcos stars: far longer than the 0.5 s limit of the server below
HEAVY = "SELECT COUNT(*) AS n FROM hipparcos.main AS a, hipparcos.main AS b WHERE a.hpmag < b.hpmag - a.b_v"


def long_query(length: int) -> str:
    """A query of about ``length`` bytes that URL encoding keeps about that long (letters, '+' for spaces)."""
    return f"SELECT TOP 1 hip FROM hipparcos.main WHERE hip > 0 OR 'q' = '{'x' * length}'"


@pytest.fixture(scope="module")
def tap_url(postgres_dsn: str, hipparcos: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config: Path = tmp_path_factory.mktemp("edge") / "site.toml"
    config.write_text(
        """
[service]
title = "Edge"
sync_timeout = 0.5
tap_schema = "edge_tap_schema"

[tables."hipparcos.main"]
description = "Hipparcos"
"""
    )
    with vostack("serve", "--dsn", postgres_dsn, "--config", str(config), "--port", str(_free_port())) as (url, _, _):
        yield url


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def test_a_query_stopped_at_the_time_limit_is_400_and_pyvo_raises_dal_query_error(
    tap_url: str, session: requests.Session
) -> None:
    with pytest.raises(pyvo.dal.DALQueryError) as info:
        pyvo.dal.TAPService(tap_url, session=session).run_sync(HEAVY)
    assert "longer than its execution time limit" in str(info.value)
    assert "/async" in str(info.value)  # the message says what to do
    response = session.post(f"{tap_url}/sync", data={"LANG": "ADQL", "QUERY": HEAVY})
    assert response.status_code == 400
    assert "execution time limit" in dali_error(response)
    # the connection is fine afterwards: the next query on it answers
    assert len(pyvo.dal.TAPService(tap_url, session=session).run_sync("SELECT TOP 2 hip FROM hipparcos.main")) == 2


def test_a_query_over_the_request_limit_is_413_and_pyvo_shows_the_limit(
    tap_url: str, session: requests.Session
) -> None:
    with pytest.raises(pyvo.dal.DALQueryError) as info:
        pyvo.dal.TAPService(tap_url, session=session).run_sync(long_query(LIMIT))
    assert "larger than this service accepts (1,048,576 bytes of parameters" in str(info.value)
    response = session.post(f"{tap_url}/sync", data={"LANG": "ADQL", "QUERY": long_query(LIMIT)})
    assert response.status_code == 413
    assert "1,048,576 bytes" in dali_error(response)


@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
def test_a_form_of_2000_fields_is_413(tap_url: str, session: requests.Session, multipart: bool) -> None:
    fields = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 hip FROM hipparcos.main"}
    fields |= {f"F{i}": "1" for i in range(2000)}
    if multipart:
        response = session.post(f"{tap_url}/sync", files={k: (None, v) for k, v in fields.items()})
    else:
        response = session.post(f"{tap_url}/sync", data=fields)
    assert response.status_code == 413
    assert dali_error(response) == "the request has more parameters than this service accepts (1,000)"


def test_a_url_over_the_limit_reaches_the_service_and_is_414(tap_url: str, session: requests.Session) -> None:
    # uvicorn's h11 alone would refuse any request head over 16 KiB with a bare 400; the launcher lets heads
    # up to the limit + 16 KiB through, so a query string just over the limit gets its DALI document
    response = session.get(f"{tap_url}/sync", params={"LANG": "ADQL", "QUERY": long_query(LIMIT)})
    assert response.status_code == 414
    assert "longer than this service accepts (1,048,576 bytes)" in dali_error(response)
    # 60 kB of query string, over what h11 buffers by default (ADQL takes up to 100,000 characters): served
    within = session.get(f"{tap_url}/sync", params={"LANG": "ADQL", "QUERY": long_query(60_000)})
    assert within.status_code == 200, within.text[:1000]
