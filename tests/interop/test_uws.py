"""UWS across real processes: pyvo's async TAP, two servers sharing one queue, ``kill -9`` and restart.

Run as a script (``python -m tests.interop.test_uws --serve DSN PORT SCHEMA LEASE ATTEMPTS RESULTS``)
this module is the server the tests start in subprocesses: the demo TAP service
plus a ``/nap`` job service whose jobs sleep and return the serving process's pid.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType

import httpx
import pytest
import pyvo
import requests

from vostack.demo import hipparcos

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

TABLE = hipparcos.TABLE
UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- pyvo against the shared live server


# pyvo's submit_job follows the 303 to the job document with stream=True and never reads it, so that
# connection is closed only by the garbage collector, with a ResourceWarning, at any moment of the test.
pyvo_leaks_a_socket = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def service(live_url: str) -> Iterator[pyvo.dal.TAPService]:
    with requests.Session() as session:
        yield pyvo.dal.TAPService(live_url, session=session)
    gc.collect()  # here, under the test's filter, not in a later test


@pyvo_leaks_a_socket
def test_pyvo_run_async_returns_the_rows(service: pyvo.dal.TAPService) -> None:
    started = time.monotonic()
    table = service.run_async(f"SELECT TOP 10 hip, hpmag FROM {TABLE} ORDER BY hpmag").to_table()
    assert len(table) == 10
    assert list(table["hpmag"]) == sorted(table["hpmag"])
    assert time.monotonic() - started < 1.0  # WAIT wakes on the change: no polling sleeps in pyvo


@pyvo_leaks_a_socket
def test_pyvo_submit_job_wait_phase_fetch_delete(service: pyvo.dal.TAPService) -> None:
    job = service.submit_job(f"SELECT hip FROM {TABLE}", maxrec=3, runid="pyvo-test")
    assert job.phase == "PENDING"
    job.execution_duration = 120
    assert job.execution_duration.to_value("s") == 120
    job.run()
    job.wait(timeout=30)
    assert job.phase == "COMPLETED"
    result = job.fetch_result()
    assert len(result.to_table()) == 3
    assert result.query_status == "OVERFLOW"
    url = job.url
    job.delete()
    assert httpx.get(url).status_code == 404


@pyvo_leaks_a_socket
def test_pyvo_async_error_is_a_dal_query_error(service: pyvo.dal.TAPService) -> None:
    with pytest.raises(pyvo.dal.DALQueryError, match=r"no_such_column|nonsense|column"):
        service.run_async(f"SELECT nonsense FROM {TABLE}")


@pyvo_leaks_a_socket
def test_pyvo_abort_stops_a_running_job(service: pyvo.dal.TAPService) -> None:
    job = service.submit_job(f"SELECT COUNT(*) AS n FROM {TABLE} AS a, {TABLE} AS b")
    job.run()
    deadline = time.monotonic() + 10
    while job.phase != "EXECUTING" and time.monotonic() < deadline:
        time.sleep(0.05)
    job.abort()
    assert job.phase == "ABORTED"
    job.delete()


# ---------------------------------------------------------------------- server processes


class Server:
    """A vostack server in a subprocess (this module run with ``--serve``)."""

    def __init__(self, dsn: str, schema: str, results: Path, *, lease: float = 1.0, attempts: int = 2) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        args = [dsn, str(self.port), schema, str(lease), str(attempts), str(results)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.interop.test_uws", "--serve", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("READY"), line + self.process.stdout.read()
        self.pid = int(line.split()[1])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def servers(postgres_dsn: str, hipparcos: None, tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def _schema() -> str:
    return f"uws_proc_{secrets.token_hex(4)}"


def _create(base: str, **params: str) -> str:
    response = httpx.post(f"{base}/nap", data=params)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _job(url: str, **params: str) -> ET.Element:
    response = httpx.get(url, params=params, timeout=70)
    assert response.status_code == 200, response.text
    return ET.fromstring(response.content)


def _phase(job: ET.Element) -> str:
    return (job.findtext(f"{UWS}phase") or "").strip()


def _wait_final(url: str, limit: float = 60) -> ET.Element:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        job = _job(url, WAIT="5")
        if _phase(job) in ("COMPLETED", "ERROR", "ABORTED"):
            return job
    raise AssertionError(f"{url} did not end within {limit} s")


def test_two_processes_share_the_queue_and_wait_works_from_either(
    servers: list[Server], postgres_dsn: str, tmp_path: Path
) -> None:
    schema = _schema()
    a = Server(postgres_dsn, schema, tmp_path)
    servers.append(a)
    b = Server(postgres_dsn, schema, tmp_path)
    servers.append(b)
    jobs = [_create(a.url, SECONDS="0.3", PHASE="RUN") for _ in range(12)]
    pids = []
    for url in jobs:
        job = _wait_final(url.replace(a.url, b.url))  # WAIT on the other process
        assert _phase(job) == "COMPLETED"
        pids.append(int(httpx.get(url + "/results/result").text))
    assert set(pids) == {a.pid, b.pid}  # both claimed jobs; each job ran once (one result each)


def test_a_job_of_a_killed_server_is_run_again_after_restart(
    servers: list[Server], postgres_dsn: str, tmp_path: Path
) -> None:
    schema = _schema()
    a = Server(postgres_dsn, schema, tmp_path, attempts=2)
    servers.append(a)
    url = _create(a.url, SECONDS="3", PHASE="RUN")
    deadline = time.monotonic() + 10
    while _phase(_job(url)) != "EXECUTING" and time.monotonic() < deadline:
        time.sleep(0.05)
    a.kill()
    b = Server(postgres_dsn, schema, tmp_path, attempts=2)
    servers.append(b)
    url = url.replace(a.url, b.url)
    job = _wait_final(url, limit=20)
    assert _phase(job) == "COMPLETED"
    assert int(httpx.get(url + "/results/result").text) == b.pid


def test_a_job_of_a_killed_server_ends_in_error_when_out_of_attempts(
    servers: list[Server], postgres_dsn: str, tmp_path: Path
) -> None:
    schema = _schema()
    a = Server(postgres_dsn, schema, tmp_path, attempts=1)
    servers.append(a)
    url = _create(a.url, SECONDS="30", PHASE="RUN")
    deadline = time.monotonic() + 10
    while _phase(_job(url)) != "EXECUTING" and time.monotonic() < deadline:
        time.sleep(0.05)
    a.kill()
    b = Server(postgres_dsn, schema, tmp_path, attempts=1)
    servers.append(b)
    started = time.monotonic()
    job = _wait_final(url.replace(a.url, b.url), limit=20)
    assert time.monotonic() - started < 5  # lease 1 s, checked every 1/3 s
    assert _phase(job) == "ERROR"
    assert "stopped unexpectedly" in (job.findtext(f"{UWS}errorSummary/{UWS}message") or "")


def test_a_stopping_server_answers_its_blocked_waits_at_once(
    servers: list[Server], postgres_dsn: str, tmp_path: Path
) -> None:
    a = Server(postgres_dsn, _schema(), tmp_path)
    servers.append(a)
    url = _create(a.url, SECONDS="1")  # PENDING: a WAIT on it blocks up to the cap, 60 s
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(_job, url, WAIT="60")
        time.sleep(0.5)
        assert not waiting.done()
        started = time.monotonic()
        a.process.send_signal(signal.SIGINT)
        assert _phase(waiting.result(timeout=10)) == "PENDING"
        a.process.wait(timeout=10)
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------------- the server side


async def _nap(*, seconds: float) -> bytes:
    await asyncio.sleep(seconds)
    return str(os.getpid()).encode()


async def _serve(dsn: str, port: int, schema: str, lease: float, attempts: int, results: str) -> None:
    import uvicorn
    from starlette.applications import Starlette

    from vostack import db
    from vostack.uws import DirectoryResultStore, FunctionExecutor, Parameter, UWSService

    nap = UWSService(
        name="nap",
        executor=FunctionExecutor(_nap, parameters=[Parameter("SECONDS", float)], media_type="text/plain"),
        schema=schema,
        results=DirectoryResultStore(results),
        lease=lease,
        max_attempts=attempts,
        max_concurrent=2,
    )
    pool = await db.create_pool(dsn, max_size=4)
    try:
        await nap.start(pool)
        loop = asyncio.get_running_loop()

        class _Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: FrameType | None) -> None:
                # uvicorn lets open requests finish before it returns: answer the blocked WAITs first
                loop.call_soon_threadsafe(nap.release_waiters)
                super().handle_exit(sig, frame)

        server = _Server(
            uvicorn.Config(Starlette(routes=nap.routes("/nap")), port=port, lifespan="off", log_level="warning")
        )
        serving = asyncio.ensure_future(server.serve())
        while not server.started:  # noqa: ASYNC110  (uvicorn offers no event)
            await asyncio.sleep(0.02)
        print("READY", os.getpid(), flush=True)
        try:
            await serving
        finally:  # also when asyncio.run cancels us for the SIGINT that uvicorn raises again on its way out
            await nap.stop()
    finally:
        await pool.close()


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    _dsn, _port, _schema_name, _lease, _attempts, _results = sys.argv[2:8]
    asyncio.run(_serve(_dsn, int(_port), _schema_name, float(_lease), int(_attempts), _results))
