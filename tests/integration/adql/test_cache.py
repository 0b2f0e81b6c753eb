"""The TAP service translates a query shape once (the vostack.adql.Translator it keeps for its TableSet)."""

from __future__ import annotations

import httpx
import pytest

from vostack.tap import TAPService

pytestmark = pytest.mark.postgres


async def test_repeated_sync_query_is_translated_once(client: httpx.AsyncClient, tap: TAPService) -> None:
    shared = tap.translator
    hits, misses = shared.hits, shared.misses
    query = "SELECT TOP 3 hip, ra FROM hipparcos.main WHERE hip BETWEEN 7 AND 70 ORDER BY hip"
    bodies = []
    for _ in range(3):
        response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv"})
        assert response.status_code == 200
        bodies.append(response.text)
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0].splitlines()[0] == "hip,ra"
    assert (shared.hits - hits, shared.misses - misses) == (2, 1)
    # another MAXREC is another translation (its row limit is in the SQL)
    form = {"LANG": "ADQL", "QUERY": query, "MAXREC": "1", "RESPONSEFORMAT": "csv"}
    response = await client.post("/tap/sync", data=form)
    assert response.status_code == 200
    assert len(response.text.splitlines()) == 2
    assert shared.misses - misses == 2
    # the same query at other values comes from the cache, with the right rows
    other = query.replace("BETWEEN 7 AND 70", "BETWEEN 100 AND 200")
    response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": other, "RESPONSEFORMAT": "csv"})
    assert response.status_code == 200
    assert [int(line.split(",")[0]) for line in response.text.splitlines()[1:]] == [100, 101, 102]
    assert (shared.hits - hits, shared.misses - misses) == (3, 2)


async def test_failing_query_is_an_error_every_time(client: httpx.AsyncClient, tap: TAPService) -> None:
    for _ in range(2):
        response = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT nope FROM hipparcos.main"})
        assert response.status_code == 400
        assert "unknown column 'nope'" in response.text
