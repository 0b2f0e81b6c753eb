"""TAP async against TAP sync, and the throughput of many jobs at once, measured in one run.

Usage::

    .venv/bin/python benchmarks/uws.py [--dsn DSN] [--repeat 50] [--jobs 1000] [--clients 50]

Without ``--dsn`` an embedded throwaway PostgreSQL is started (and the demo
catalogue loaded), with fsync and synchronous commit on as in production, so
that the durable commit of each job's creation is paid (``--no-fsync`` for a
cluster without them).  The server is a separate ``vostack demo`` process, as
in production.  Reported:

* the round trip of a 10-row query through ``/tap/sync`` (one POST), and
  through ``/tap/async``: create with PHASE=RUN (303), ``GET {job}?WAIT=60``
  until the job is final, GET ``results/result``; median and 90th percentile,
  and the median of each of the three requests;
* ``--jobs`` jobs submitted at once by ``--clients`` concurrent clients, each
  then waited for with WAIT: wall time from the first submission to the last
  completion, jobs per second, and a check that every job COMPLETED.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import xml.etree.ElementTree as ET

import httpx
from common import cpu_seconds, database, load_hipparcos, serving

QUERY = "SELECT TOP 10 hip, ra, dec, hpmag FROM hipparcos.main WHERE hpmag < 8 ORDER BY hip"
PHASE = "{http://www.ivoa.net/xml/UWS/v1.0}phase"
FINAL = {"COMPLETED", "ERROR", "ABORTED"}


def _phase(content: bytes) -> str:
    return (ET.fromstring(content).findtext(PHASE) or "").strip()


async def sync_once(client: httpx.AsyncClient, url: str) -> float:
    started = time.perf_counter()
    response = await client.post(f"{url}/sync", data={"LANG": "ADQL", "QUERY": QUERY})
    assert response.status_code == 200 and b"<BINARY2>" in response.content, response.text
    return time.perf_counter() - started


async def run_job(client: httpx.AsyncClient, url: str, query: str = QUERY) -> tuple[str, str, float]:
    """Create with PHASE=RUN, WAIT until final; returns (job URL, final phase, seconds the creation took)."""
    started = time.perf_counter()
    response = await client.post(f"{url}/async", data={"LANG": "ADQL", "QUERY": query, "PHASE": "RUN"})
    created = time.perf_counter() - started
    assert response.status_code == 303, response.text
    job = response.headers["location"]
    phase = ""
    while phase not in FINAL:
        answer = await client.get(job, params={"WAIT": "60"})
        assert answer.status_code == 200, answer.text
        phase = _phase(answer.content)
    return job, phase, created


async def async_once(client: httpx.AsyncClient, url: str) -> tuple[float, float, float, float]:
    """The round trip and its three steps: (total, create, WAIT, fetch) in seconds."""
    started = time.perf_counter()
    job, phase, created = await run_job(client, url)
    waited = time.perf_counter()
    result = await client.get(f"{job}/results/result")
    ended = time.perf_counter()
    assert phase == "COMPLETED" and result.status_code == 200 and b"<BINARY2>" in result.content
    await client.delete(job)
    return ended - started, created, waited - started - created, ended - waited


def _summary(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    return f"{name:<44} median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms   (n={len(ms)})"


async def round_trips(url: str, repeat: int) -> None:
    async with httpx.AsyncClient(timeout=120) as client:
        for _ in range(3):  # warm up connections, plans, translation cache
            await sync_once(client, url)
            await async_once(client, url)
        sync_times, async_steps, plain_times = [], [], []
        job, _, _ = await run_job(client, url)
        for _ in range(repeat):
            sync_times.append(await sync_once(client, url))
            async_steps.append(await async_once(client, url))
            started = time.perf_counter()  # the floor of any request: GET a final job (one small read)
            assert (await client.get(job)).status_code == 200
            plain_times.append(time.perf_counter() - started)
        await client.delete(job)
    async_times = [steps[0] for steps in async_steps]
    print(_summary("10-row query, /tap/sync (POST)", sync_times))
    print(_summary("10-row query, /tap/async (create+WAIT+fetch)", async_times))
    create, wait, fetch = (statistics.median(steps[i] for steps in async_steps) * 1000 for i in (1, 2, 3))
    print(f"{'  its steps (medians)':<44} create {create:.1f} ms, WAIT {wait:.1f} ms, fetch {fetch:.1f} ms")
    extra = statistics.median(async_times) - statistics.median(sync_times)
    plain = statistics.median(plain_times)
    print(f"{'async costs more than sync by':<44} {extra * 1000:7.1f} ms (median)")
    print(
        f"{'  of which its two extra HTTP requests':<44} {2 * plain * 1000:7.1f} ms (a plain GET of a final job:"
        f" {plain * 1000:.1f} ms); the rest, {(extra - 2 * plain) * 1000:.1f} ms, is the job's own overhead"
    )


async def throughput(url: str, jobs: int, clients: int, server_pid: int) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        gate = asyncio.Semaphore(clients)
        created: list[str] = []

        async def submit(i: int) -> None:
            async with gate:
                query = f"SELECT TOP 10 hip, hpmag FROM hipparcos.main WHERE hip > {i * 100} ORDER BY hip"
                response = await client.post(f"{url}/async", data={"LANG": "ADQL", "QUERY": query, "PHASE": "RUN"})
                assert response.status_code == 303, response.text
                created.append(response.headers["location"])

        async def finish(job: str) -> str:
            async with gate:
                phase = ""
                while phase not in FINAL:
                    answer = await client.get(job, params={"WAIT": "60"})
                    phase = _phase(answer.content)
                return phase

        cpu_before, client_before = cpu_seconds(server_pid), time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(submit(i) for i in range(jobs)))
        submitted = time.perf_counter() - started
        phases = await asyncio.gather(*(finish(job) for job in created))
        total = time.perf_counter() - started
        cpu = cpu_seconds(server_pid) - cpu_before
        client_cpu = time.process_time() - client_before
        completed = phases.count("COMPLETED")
        print(
            f"{jobs} jobs submitted at once ({clients} clients): all submitted after {submitted:.2f} s, "
            f"all final after {total:.2f} s = {jobs / total:,.0f} jobs/s; COMPLETED {completed}/{jobs}"
            + ("" if completed == jobs else f"  LOST OR FAILED: {jobs - completed}")
        )
        print(
            f"server CPU for them: {cpu:.1f} s = {cpu / jobs * 1000:.1f} ms per job (HTTP create and WAIT, ADQL"
            f" translation, query, result file); this client's CPU: {client_cpu:.1f} s;"
            f" load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        await asyncio.gather(*(client.delete(job) for job in created))
        if completed != jobs:
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--no-fsync", action="store_true", help="embedded cluster without fsync (not durable)")
    args = parser.parse_args()
    if args.dsn is None:
        print(f"embedded PostgreSQL, {'no fsync' if args.no_fsync else 'fsync and synchronous commit on'}")
    with database(args.dsn, durable=not args.no_fsync) as dsn:
        load_hipparcos(dsn)
        with serving(dsn) as (proc, url):
            asyncio.run(round_trips(url, args.repeat))
            asyncio.run(throughput(url, args.jobs, args.clients, proc.pid))


if __name__ == "__main__":
    main()
