"""TAP async and generic UWS 1.1 against the real database (TAP 1.1 §2.2, UWS 1.1 §2)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import secrets
import time

import httpx
import pytest
from astropy.io.votable import parse
from lxml import etree
from starlette.applications import Starlette

from tests.integration.uws.conftest import Services
from tests.schemata import validator
from vostack import db
from vostack.demo import hipparcos
from vostack.uws import DirectoryResultStore, FunctionExecutor, UWSService

pytestmark = pytest.mark.postgres

NS = {"uws": "http://www.ivoa.net/xml/UWS/v1.0", "xlink": "http://www.w3.org/1999/xlink"}
TABLE = hipparcos.TABLE
HEAVY = f"SELECT COUNT(*) AS n FROM {TABLE} AS a, {TABLE} AS b WHERE a.hpmag < b.hpmag + a.ra"
FINAL = {"COMPLETED", "ERROR", "ABORTED"}


async def create(client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None, /, **params: str) -> str:
    response = await client.post(path, data=params, headers=headers)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"http://testserver{path}/")
    return location


async def query_job(client: httpx.AsyncClient, query: str, **params: str) -> str:
    return await create(client, "/tap/async", LANG="ADQL", QUERY=query, **params)


def doc(response: httpx.Response) -> etree._Element:
    assert response.status_code == 200, response.text
    validator("UWS.xsd")(response.content)
    return etree.fromstring(response.content)


def find(root: etree._Element, path: str) -> etree._Element:
    element = root.find(path, NS)
    assert element is not None, path
    return element


def phase_of(root: etree._Element) -> str:
    return str(root.findtext("uws:phase", namespaces=NS))


async def wait_final(
    client: httpx.AsyncClient, job: str, *, limit: float = 30, headers: dict[str, str] | None = None
) -> etree._Element:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        root = doc(await client.get(job, params={"WAIT": "2"}, headers=headers))
        if phase_of(root) in FINAL:
            return root
    raise AssertionError(f"{job} did not end within {limit} s")


async def wait_phase(client: httpx.AsyncClient, job: str, phase: str, *, limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if (await client.get(job + "/phase")).text == phase:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{job} never reached {phase}")


async def running(pool: db.Pool, marker: str) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        f"%{marker}%",
    )
    return count


# ---------------------------------------------------------------------- TAP async


async def test_async_query_gives_the_same_rows_as_sync(http: httpx.AsyncClient) -> None:
    query = f"SELECT TOP 10 hip, ra, dec, hpmag FROM {TABLE} ORDER BY hpmag, hip"
    job = await query_job(http, query, PHASE="RUN")
    root = await wait_final(http, job)
    assert phase_of(root) == "COMPLETED"
    href = str(find(root, "uws:results/uws:result[@id='result']").get(f"{{{NS['xlink']}}}href"))
    result = await http.get(href)
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("application/x-votable+xml")
    sync = await http.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query})
    a = parse(io.BytesIO(result.content), verify="exception").get_first_table().array
    b = parse(io.BytesIO(sync.content), verify="exception").get_first_table().array
    assert list(a["hip"]) == list(b["hip"])
    assert len(a) == 10
    assert root.findtext("uws:startTime", namespaces=NS) and root.findtext("uws:endTime", namespaces=NS)


async def test_maxrec_overflow_is_marked_as_in_sync(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT hip FROM {TABLE}", MAXREC="5", PHASE="RUN")
    assert phase_of(await wait_final(http, job)) == "COMPLETED"
    votable = parse(io.BytesIO((await http.get(job + "/results/result")).content), verify="exception")
    assert len(votable.get_first_table().array) == 5
    assert [i.value for i in votable.resources[0].infos if i.name == "QUERY_STATUS"][-1] == "OVERFLOW"


async def test_responseformat_of_sync_works_in_async(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 3 hip FROM {TABLE}", RESPONSEFORMAT="votable/td", PHASE="RUN")
    root = await wait_final(http, job)
    result = find(root, "uws:results/uws:result")
    assert result.get("mime-type") == "application/x-votable+xml;serialization=TABLEDATA"
    assert b"<TABLEDATA>" in (await http.get(job + "/results/result")).content


async def test_bad_adql_ends_in_error_with_a_votable_error_document(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT nonsense FROM {TABLE} WHERE ((", PHASE="RUN")
    root = await wait_final(http, job)
    assert phase_of(root) == "ERROR"
    message = root.findtext("uws:errorSummary/uws:message", namespaces=NS)
    assert message
    error = await http.get(job + "/error")
    assert error.status_code == 200
    votable = parse(io.BytesIO(error.content), verify="exception")
    (status,) = [i for i in votable.resources[0].infos if i.name == "QUERY_STATUS"]
    assert status.value == "ERROR"
    assert status.content == message
    assert (await http.get(job + "/results/result")).status_code == 404


async def test_an_error_after_the_first_rows_ends_the_job_in_error_without_a_result(
    http: httpx.AsyncClient, uws_pool: db.Pool, services: Services
) -> None:
    # The division by zero happens at row 100,000, long after the first rows were written (the rows
    # PostgreSQL sent in the same network read as an error are dropped with it, so an error close to
    # the first rows can still be reported before the first byte, as a 400).  It is computed above the
    # ordered subquery, row by row as the rows leave it, whether PostgreSQL sorts them (a freshly loaded
    # table) or reads them in order from the primary key (once the table is vacuumed).
    zero: int = await uws_pool.fetchval(f"SELECT hip FROM {TABLE} ORDER BY hip OFFSET 99999 LIMIT 1")
    query = f"SELECT hip, 1 / (hip - {zero}) AS x FROM (SELECT TOP 200000 hip FROM {TABLE} ORDER BY hip) AS s"
    sync = await http.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "MAXREC": "200000"})
    assert sync.status_code == 200 and b'value="ERROR"' in sync.content  # sync: inside the document
    job = await query_job(http, query, MAXREC="200000", PHASE="RUN")
    root = await wait_final(http, job)
    assert phase_of(root) == "ERROR"
    assert "zero" in str(root.findtext("uws:errorSummary/uws:message", namespaces=NS))
    assert root.find("uws:results/uws:result", NS) is None
    assert (await http.get(job + "/results/result")).status_code == 404
    assert not list((services.results / job.rsplit("/", 1)[1]).glob("*"))


async def test_a_missing_query_ends_in_error_naming_the_parameter(http: httpx.AsyncClient) -> None:
    job = await create(http, "/tap/async", LANG="ADQL", PHASE="RUN")
    root = await wait_final(http, job)
    assert phase_of(root) == "ERROR"
    assert "QUERY" in str(root.findtext("uws:errorSummary/uws:message", namespaces=NS))


# ---------------------------------------------------------------------- UWS resources and actions


async def test_new_job_is_pending_with_every_resource(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}", RUNID="my-run")
    root = doc(await http.get(job))
    assert phase_of(root) == "PENDING"
    assert root.findtext("uws:runId", namespaces=NS) == "my-run"
    assert (await http.get(job + "/phase")).text == "PENDING"
    assert (await http.get(job + "/executionduration")).text == "3600"
    destruction = (await http.get(job + "/destruction")).text
    assert dt.datetime.fromisoformat(destruction.replace("Z", "+00:00")) > dt.datetime.now(dt.UTC)
    assert (await http.get(job + "/owner")).text == ""
    assert (await http.get(job + "/quote")).status_code == 200
    params = doc(await http.get(job + "/parameters"))
    assert {p.get("id"): p.text for p in params} == {"lang": "ADQL", "query": f"SELECT TOP 1 hip FROM {TABLE}"}
    doc(await http.get(job + "/results"))
    assert (await http.get(job + "/error")).status_code == 404


async def test_run_on_completed_job_is_refused_and_changes_nothing(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}", PHASE="RUN")
    before = await wait_final(http, job)
    for action in ("RUN", "ABORT"):
        response = await http.post(job + "/phase", data={"PHASE": action})
        assert response.status_code == 400
        assert f"cannot {action} a job that is COMPLETED" in response.text
    after = doc(await http.get(job))
    assert etree.tostring(before) == etree.tostring(after)


async def test_unknown_phase_value_is_refused(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}")
    assert (await http.post(job + "/phase", data={"PHASE": "SUSPEND"})).status_code == 400
    assert (await http.get(job + "/phase")).text == "PENDING"


async def test_abort_of_pending_job_is_final(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}")
    response = await http.post(job + "/phase", data={"PHASE": "ABORT"})
    assert response.status_code == 303
    assert response.headers["location"] == job
    assert (await http.get(job + "/phase")).text == "ABORTED"
    assert (await http.post(job + "/phase", data={"PHASE": "RUN"})).status_code == 400
    assert (await http.get(job + "/phase")).text == "ABORTED"


async def test_parameters_change_only_while_pending(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT hip FROM {TABLE}")
    assert (await http.post(job + "/parameters", data={"MAXREC": "2"})).status_code == 303
    params = {p.get("id"): p.text for p in doc(await http.get(job + "/parameters"))}
    assert params["maxrec"] == "2"
    await http.post(job + "/phase", data={"PHASE": "RUN"})
    await wait_final(http, job)
    table = parse(io.BytesIO((await http.get(job + "/results/result")).content)).get_first_table()
    assert len(table.array) == 2
    assert (await http.post(job + "/parameters", data={"MAXREC": "3"})).status_code == 400


async def test_destruction_and_execution_duration_can_be_set(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}")
    want = "2030-01-02T03:04:05Z"
    response = await http.post(job + "/destruction", data={"DESTRUCTION": want})
    assert response.status_code == 303
    # capped at creation + 30 days (the service's maximum retention)
    got = dt.datetime.fromisoformat((await http.get(job + "/destruction")).text.replace("Z", "+00:00"))
    assert got < dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)).replace(microsecond=0)
    await http.post(job, data={"DESTRUCTION": soon.isoformat(), "EXECUTIONDURATION": "77"})
    assert (await http.get(job + "/destruction")).text == soon.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert (await http.get(job + "/executionduration")).text == "77"
    assert (await http.post(job + "/executionduration", data={"EXECUTIONDURATION": "x"})).status_code == 400


async def test_deleted_job_answers_404_and_its_results_are_gone(http: httpx.AsyncClient, services: Services) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}", PHASE="RUN")
    await wait_final(http, job)
    job_id = job.rsplit("/", 1)[1]
    assert (services.results / job_id / "result").is_file()
    response = await http.delete(job)
    assert response.status_code == 303
    assert response.headers["location"] == "http://testserver/tap/async"
    assert (await http.get(job)).status_code == 404
    assert (await http.get(job + "/phase")).status_code == 404
    assert not (services.results / job_id).exists()
    other = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}")
    assert (await http.post(other, data={"ACTION": "DELETE"})).status_code == 303
    assert (await http.get(other)).status_code == 404


async def test_unknown_job_is_404(http: httpx.AsyncClient) -> None:
    assert (await http.get("/tap/async/no-such-job")).status_code == 404
    assert (await http.post("/tap/async/no-such-job/phase", data={"PHASE": "RUN"})).status_code == 404


async def test_job_list_filters_by_phase_after_and_last_newest_first(http: httpx.AsyncClient) -> None:
    headers = {"X-User": "lister"}
    start = dt.datetime.now(dt.UTC)
    pending = await create(http, "/tap/async", headers, LANG="ADQL", QUERY=f"SELECT TOP 1 hip FROM {TABLE}")
    done = await create(http, "/tap/async", headers, LANG="ADQL", QUERY=f"SELECT TOP 1 hip FROM {TABLE}", PHASE="RUN")
    await wait_final(http, done, headers=headers)

    async def ids(**params: str | list[str]) -> list[str]:
        root = doc(await http.get("/tap/async", params=params, headers=headers))
        return [str(r.get("id")) for r in root.iterfind("uws:jobref", NS)]

    p_id, d_id = pending.rsplit("/", 1)[1], done.rsplit("/", 1)[1]
    assert await ids() == [d_id, p_id]
    assert await ids(PHASE="PENDING") == [p_id]
    assert await ids(PHASE=["PENDING", "COMPLETED"]) == [d_id, p_id]
    assert await ids(LAST="1") == [d_id]
    assert await ids(AFTER=(start - dt.timedelta(seconds=1)).isoformat()) == [d_id, p_id]
    assert await ids(AFTER=dt.datetime.now(dt.UTC).isoformat()) == []
    assert (await http.get("/tap/async", params={"PHASE": "NOPE"})).status_code == 400
    assert (await http.get("/tap/async/", headers=headers)).status_code == 200


async def test_jobs_of_an_owner_are_invisible_to_others(http: httpx.AsyncClient) -> None:
    alice = {"X-User": "alice"}
    job = await create(http, "/tap/async", alice, LANG="ADQL", QUERY=f"SELECT TOP 1 hip FROM {TABLE}")
    assert doc(await http.get(job, headers=alice)).findtext("uws:ownerId", namespaces=NS) == "alice"
    for headers in ({"X-User": "mallory"}, {}):
        assert (await http.get(job, headers=headers)).status_code == 404
        assert (await http.post(job + "/phase", data={"PHASE": "RUN"}, headers=headers)).status_code == 404
        assert (await http.delete(job, headers=headers)).status_code == 404
        listed = doc(await http.get("/tap/async", headers=headers))
        assert job.rsplit("/", 1)[1] not in [r.get("id") for r in listed.iterfind("uws:jobref", NS)]
    assert (await http.get(job + "/phase", headers=alice)).text == "PENDING"


async def test_phase_other_than_run_on_creation_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1", "PHASE": "ABORT"})
    assert response.status_code == 400


# ---------------------------------------------------------------------- WAIT


async def test_wait_returns_when_the_phase_changes(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}")

    async def run_later() -> None:
        await asyncio.sleep(0.5)
        await http.post(job + "/phase", data={"PHASE": "RUN"})

    runner = asyncio.create_task(run_later())
    started = time.monotonic()
    root = doc(await http.get(job, params={"WAIT": "30"}))  # capped at 3 s by this service
    waited = time.monotonic() - started
    await runner
    assert phase_of(root) != "PENDING"
    assert 0.4 < waited < 1.5


async def test_wait_times_out_at_the_service_cap(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}")
    started = time.monotonic()
    root = doc(await http.get(job, params={"WAIT": "-1"}))
    assert phase_of(root) == "PENDING"
    assert 2.9 < time.monotonic() - started < 4.0  # max_wait = 3 s here (60 s by default)


async def test_wait_on_a_final_job_or_another_phase_returns_at_once(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}", PHASE="RUN")
    await wait_final(http, job)
    pending = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}")
    started = time.monotonic()
    doc(await http.get(job, params={"WAIT": "20"}))
    doc(await http.get(pending, params={"WAIT": "20", "PHASE": "EXECUTING"}))
    assert time.monotonic() - started < 0.5


async def test_every_job_document_advertises_the_wait_cap(http: httpx.AsyncClient) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}")
    assert (await http.get(job)).headers["UWS-Max-Wait"] == "3"  # max_wait = 3 s here
    assert (await http.get(job, params={"WAIT": "1"})).headers["UWS-Max-Wait"] == "3"
    availability = await http.get("/tap/availability")
    assert "WAIT on a job returns after at most 3 s" in availability.text


async def test_a_job_run_at_creation_starts_at_once_in_the_creating_process(
    http: httpx.AsyncClient, uws_pool: db.Pool, services: Services
) -> None:
    job = await create(http, "/sleep", SECONDS="0.5", MARKER="now", PHASE="RUN")
    assert (await http.get(job + "/phase")).text == "EXECUTING"  # never seen QUEUED: it skipped the queue
    row = await uws_pool.fetchrow(
        f"SELECT worker, attempts, lease_until > now() AS leased FROM {services.sleep.store.schema}.jobs"
        " WHERE job_id = $1",
        job.rsplit("/", 1)[1],
    )
    assert tuple(row) == (services.sleep.runner.worker_id, 1, True)
    assert phase_of(await wait_final(http, job)) == "COMPLETED"


async def test_a_job_started_at_creation_is_stopped_when_its_creation_fails(
    http: httpx.AsyncClient, uws_pool: db.Pool, services: Services
) -> None:
    before = set(services.results.iterdir())
    # a constraint of the test's own makes the job's INSERT fail, after the work has started
    table = f"{services.sleep.store.schema}.jobs"
    await db.execute(uws_pool, f"ALTER TABLE {table} ADD CONSTRAINT refuse CHECK (parameters::text !~ 'refused')")
    try:
        response = await http.post("/sleep", data={"SECONDS": "5", "MARKER": "refused", "PHASE": "RUN"})
    finally:
        await db.execute(uws_pool, f"ALTER TABLE {table} DROP CONSTRAINT refuse")
    assert response.status_code == 500 and "violates check constraint" in response.text
    await asyncio.sleep(0.3)
    assert await running(uws_pool, "marker_refused") == 0
    assert not services.sleep.runner.running
    assert set(services.results.iterdir()) == before


@pytest.mark.parametrize("value", ["nul\x00", "bell\x07", "\ufffe"])
async def test_a_parameter_xml_cannot_carry_is_refused_and_creates_no_job(
    http: httpx.AsyncClient, services: Services, value: str
) -> None:
    jobs = (await http.get("/sleep")).content
    response = await http.post("/sleep", data={"SECONDS": "0", "MARKER": value, "PHASE": "RUN"})
    assert response.status_code == 400
    assert f"parameter MARKER: the character U+{ord(value[-1]):04X} is not allowed" in response.text
    assert (await http.get("/sleep")).content == jobs


async def test_a_job_path_with_a_nul_is_not_found(http: httpx.AsyncClient) -> None:
    for path in ("/sleep/x%00y", "/sleep/x%00y/phase", "/tap/async/x%00y/results/result"):
        response = await http.get(path)
        assert response.status_code == 404, (path, response.text)


async def test_wait_woken_by_the_end_in_this_process_answers_as_a_later_read(http: httpx.AsyncClient) -> None:
    job = await create(http, "/sleep", SECONDS="0.3", MARKER="same", PHASE="RUN")
    waited = await http.get(job, params={"WAIT": "3"})  # EXECUTING when it starts: woken by the end
    assert phase_of(doc(waited)) == "COMPLETED"
    assert waited.content == (await http.get(job)).content  # same times, same results, as stored


async def test_release_waiters_answers_blocked_waits_at_once(
    uws_pool: db.Pool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    service = UWSService(
        name="idle",
        executor=FunctionExecutor(_nothing, parameters=[]),
        schema=f"uws_wait_{secrets.token_hex(4)}",
        results=DirectoryResultStore(tmp_path_factory.mktemp("idle")),
        max_wait=30,
    )
    await service.start(uws_pool)
    try:
        transport = httpx.ASGITransport(app=Starlette(routes=service.routes("/idle")))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            job = await create(client, "/idle")
            waiting = asyncio.create_task(client.get(job, params={"WAIT": "30"}))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            started = time.monotonic()
            service.release_waiters()  # the server is shutting down
            assert phase_of(doc(await waiting)) == "PENDING"
            again = await client.get(job, params={"WAIT": "30"})  # later WAITs do not block either
            assert time.monotonic() - started < 1.0
            assert phase_of(doc(again)) == "PENDING"
    finally:
        await service.stop()
        await db.execute(uws_pool, f"DROP SCHEMA {service.store.schema} CASCADE")


def _nothing() -> bytes:
    return b""


# ---------------------------------------------------------------------- abort, limits, reaper


async def test_abort_cancels_a_running_query_in_postgresql_within_a_second(
    http: httpx.AsyncClient, uws_pool: db.Pool
) -> None:
    job = await query_job(http, HEAVY.replace("AS n", "AS n_abort_7c1"), PHASE="RUN")
    await wait_phase(http, job, "EXECUTING")
    for _ in range(100):
        if await running(uws_pool, "n_abort_7c1"):
            break
        await asyncio.sleep(0.05)
    assert await running(uws_pool, "n_abort_7c1") == 1
    started = time.monotonic()
    assert (await http.post(job + "/phase", data={"PHASE": "ABORT"})).status_code == 303
    while await running(uws_pool, "n_abort_7c1") and time.monotonic() - started < 5:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    assert time.monotonic() - started < 1.0
    assert (await http.get(job + "/phase")).text == "ABORTED"


async def test_abort_cancels_a_python_job_and_its_statement(http: httpx.AsyncClient, uws_pool: db.Pool) -> None:
    job = await create(http, "/sleep", SECONDS="60", MARKER="py9d", PHASE="RUN")
    await wait_phase(http, job, "EXECUTING")
    for _ in range(100):
        if await running(uws_pool, "marker_py9d"):
            break
        await asyncio.sleep(0.05)
    started = time.monotonic()
    await http.post(job + "/phase", data={"PHASE": "ABORT"})
    while await running(uws_pool, "marker_py9d") and time.monotonic() - started < 5:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    assert time.monotonic() - started < 1.0
    root = doc(await http.get(job))
    assert phase_of(root) == "ABORTED"
    assert root.find("uws:results/uws:result", NS) is None


async def test_execution_duration_stops_the_query(http: httpx.AsyncClient, uws_pool: db.Pool) -> None:
    job = await query_job(http, HEAVY.replace("AS n", "AS n_dur_51b"), EXECUTIONDURATION="1", PHASE="RUN")
    started = time.monotonic()
    root = await wait_final(http, job)
    assert time.monotonic() - started < 4
    assert phase_of(root) == "ERROR"
    assert "execution duration of 1 s" in str(root.findtext("uws:errorSummary/uws:message", namespaces=NS))
    await asyncio.sleep(0.2)
    assert await running(uws_pool, "n_dur_51b") == 0


async def test_jobs_beyond_the_concurrency_bound_stay_queued(http: httpx.AsyncClient) -> None:
    first = await create(http, "/sleep", SECONDS="1", MARKER="c1", PHASE="RUN")
    second = await create(http, "/sleep", SECONDS="0", MARKER="c2", PHASE="RUN")
    await wait_phase(http, first, "EXECUTING")
    assert (await http.get(second + "/phase")).text == "QUEUED"  # max_concurrent = 1
    assert phase_of(await wait_final(http, second)) == "COMPLETED"
    assert (await http.get(second + "/results/result")).content == b"slept"


async def test_reaper_deletes_jobs_past_their_destruction_with_their_results(
    http: httpx.AsyncClient, services: Services
) -> None:
    job = await query_job(http, f"SELECT TOP 1 hip FROM {TABLE}", PHASE="RUN")
    await wait_final(http, job)
    job_id = job.rsplit("/", 1)[1]
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    assert (await http.post(job + "/destruction", data={"DESTRUCTION": past})).status_code == 303
    assert await services.tap.jobs.runner.reap() >= 1
    assert (await http.get(job)).status_code == 404
    assert not (services.results / job_id).exists()


# ---------------------------------------------------------------------- the demo computation


async def test_compute_propagates_a_hipparcos_cone_to_another_epoch(http: httpx.AsyncClient) -> None:
    job = await create(http, "/compute", RA="101.28", DEC="-16.72", SR="0.5", EPOCH="2016.5", PHASE="RUN")
    root = await wait_final(http, job)
    assert phase_of(root) == "COMPLETED", etree.tostring(root)
    votable = parse(io.BytesIO((await http.get(job + "/results/result")).content), verify="exception")
    table = votable.get_first_table().array
    assert 32349 in list(table["hip"])  # Sirius
    sirius = table[list(table["hip"]).index(32349)]
    years = 2016.5 - 1991.25
    # small-angle check, independent of the implementation: Δδ = μδ t, Δα cos δ = μα* t
    assert float(sirius["dec"]) - float(sirius["dec_cat"]) == pytest.approx(
        float(sirius["pmde"]) * years / 3.6e6, rel=1e-4
    )
    cos_dec = float(__import__("math").cos(__import__("math").radians(float(sirius["dec_cat"]))))
    assert (float(sirius["ra"]) - float(sirius["ra_cat"])) * cos_dec == pytest.approx(
        float(sirius["pmra"]) * years / 3.6e6, rel=1e-3
    )


async def test_compute_refuses_a_bad_radius_with_an_error_summary(http: httpx.AsyncClient) -> None:
    job = await create(http, "/compute", RA="10", DEC="10", SR="45", PHASE="RUN")
    root = await wait_final(http, job)
    assert phase_of(root) == "ERROR"
    assert "SR" in str(root.findtext("uws:errorSummary/uws:message", namespaces=NS))


async def test_a_stale_queued_notification_does_not_stop_a_running_job(
    http: httpx.AsyncClient, services: Services
) -> None:
    # The QUEUED notification of a new job can arrive after this process already claimed it.
    job = await create(http, "/sleep", SECONDS="2", MARKER="stale", PHASE="RUN")
    await wait_phase(http, job, "EXECUTING")
    services.sleep.runner._on_notify(f"sleep {job.rsplit('/', 1)[1]} QUEUED")
    assert phase_of(await wait_final(http, job)) == "COMPLETED"
    # the WAIT is answered as the job ends; the runner's own bookkeeping follows a moment later
    for _ in range(500):
        if not services.sleep.runner.running:
            break
        await asyncio.sleep(0.01)
    assert not services.sleep.runner.running
