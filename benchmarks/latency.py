"""Per-request latency: kept-alive against fresh connections, and vostack against the floor, measured in one run.

Usage::

    .venv/bin/python benchmarks/latency.py [--dsn DSN] [--repeat 100] [--rounds 3] [--clients 16]
                                           [--round-trips]

Without ``--dsn`` an embedded throwaway PostgreSQL is started and the demo
catalogue loaded.  vostack runs as a separate ``vostack demo`` process, as in
production; clients are ``requests`` sessions, as in pyvo.  Reported:

* **kept-alive against fresh connections** (medians of ``--repeat``): a small
  ``/tap/sync`` query, ``/tap/availability``, and the async round trip (create
  with ``PHASE=RUN``, ``WAIT`` until final, fetch the result), each through one
  ``requests.Session`` and with a new connection per request.  A kept-alive
  request should cost what a fresh one costs, or less;
* **vostack against the floor**: the floor is the thinnest Python endpoint
  for the same TOP-10 cone search, a Starlette + asyncpg app (``floor_app``
  below) answering the same SQL as a tiny TABLEDATA VOTable, served by uvicorn
  in its own process.  One client: median latency; ``--clients`` concurrent
  clients: queries per second.  The ratios are printed against the goals of
  issue 16 (one client <= 1.5x the floor's median, 16 clients >= 0.85x its
  throughput); rounds alternate between the two servers, medians reported;
* with ``--round-trips``: database round trips per request, counted by a TCP
  proxy between a second ``vostack demo`` (and the floor) and PostgreSQL: a
  round trip is a client write after the server answered (pipelined messages
  count once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import requests
import uvicorn
from common import cpu_seconds, database, free_port, load_hipparcos, serving
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SMALL = "SELECT TOP 5 * FROM TAP_SCHEMA.tables"
CONE = (
    "SELECT TOP 10 hip, ra, dec, hpmag FROM hipparcos.main WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(56.75, 24.12, 1))"
)
#: CONE as vostack translates it (seen with log_statement = 'all'): the floor runs exactly this.
CONE_SQL = (
    'SELECT "main"."hip", "main"."ra", "main"."dec", "main"."hpmag" FROM "hipparcos"."main" AS "main" '
    'WHERE (SPOINT(RADIANS("main"."ra"), RADIANS("main"."dec")) <@ '
    "SCIRCLE(SPOINT(RADIANS(56.75), RADIANS(24.12)), RADIANS(1))) LIMIT 10"
)
PHASE = "{http://www.ivoa.net/xml/UWS/v1.0}phase"
FINAL = {"COMPLETED", "ERROR", "ABORTED"}
Request_ = Callable[..., requests.Response]  # requests.Session().request, or requests.request (a fresh connection)


# -- the floor --------------------------------------------------------------------------------------


def floor_app(dsn: str) -> Starlette:
    """The thinnest Python endpoint for the cone: one asyncpg fetch, the rows as a TABLEDATA VOTable."""
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
        '<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/><TABLE><FIELD name="hip" datatype="int"/>'
        '<FIELD name="ra" datatype="double" unit="deg"/><FIELD name="dec" datatype="double" unit="deg"/>'
        '<FIELD name="hpmag" datatype="float" unit="mag"/><DATA><TABLEDATA>'
    )
    tail = "</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    pools: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with asyncpg.create_pool(dsn, min_size=1, max_size=10) as pool:  # vostack's pool size
            pools.append(pool)
            yield

    async def cone(request: Request) -> Response:
        async with pools[0].acquire() as conn:
            rows = await conn.fetch(CONE_SQL)
        cells = ("<TR>" + "".join(f"<TD>{'' if v is None else v}</TD>" for v in row) + "</TR>" for row in rows)
        return Response(head + "".join(cells) + tail, media_type="application/x-votable+xml")

    return Starlette(routes=[Route("/cone", cone)], lifespan=lifespan)


@contextmanager
def floor_server(dsn: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """:func:`floor_app` under ``uvicorn`` (its own bind) in a subprocess; yields it and its cone URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve-floor", str(port), "--dsn", dsn])
    url = f"http://127.0.0.1:{port}/cone"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the floor server did not start")
            time.sleep(0.1)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- requests -----------------------------------------------------------------------------------------


def sync_query(request: Request_, tap: str, query: str) -> None:
    response = request("POST", f"{tap}/sync", data={"LANG": "ADQL", "QUERY": query})
    assert response.status_code == 200 and b"<TABLE" in response.content, response.text


def availability(request: Request_, tap: str) -> None:
    response = request("GET", f"{tap}/availability")
    assert response.status_code == 200 and b"available>true<" in response.content, response.text


def async_round_trip(request: Request_, tap: str) -> None:
    """Create with PHASE=RUN, WAIT until final, fetch the result (pyvo's run_async, in one fewer request)."""
    params = {"LANG": "ADQL", "QUERY": CONE, "PHASE": "RUN"}
    created = request("POST", f"{tap}/async", data=params, allow_redirects=False)
    assert created.status_code == 303, created.text
    job: str = created.headers["location"]
    phase = ""
    while phase not in FINAL:
        answer = request("GET", job, params={"WAIT": "60"})
        phase = (ET.fromstring(answer.content).findtext(PHASE) or "").strip()
    result = request("GET", f"{job}/results/result")
    assert phase == "COMPLETED" and b"<TABLE" in result.content, result.text


def get(request: Request_, url: str) -> None:
    response = request("GET", url)
    assert response.status_code == 200 and b"<TABLE" in response.content, response.text


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def queries_per_second(
    run: Callable[[Request_], object], clients: int, per_client: int, server: int
) -> tuple[float, float]:
    """``clients`` threads, each with its own session, running ``per_client`` requests.

    Returns queries per second and the CPU time the ``server`` process spent per query, in ms.
    """
    sessions = [requests.Session() for _ in range(clients)]
    for session in sessions:
        run(session.request)  # open the connection
    barrier = threading.Barrier(clients + 1)

    def client(session: requests.Session) -> None:
        barrier.wait()
        for _ in range(per_client):
            run(session.request)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client, session) for session in sessions]
        barrier.wait()
        cpu, started = cpu_seconds(server), time.perf_counter()
        for future in futures:
            future.result()
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(server) - cpu
    for session in sessions:
        session.close()
    queries = clients * per_client
    return queries / elapsed, cpu / queries * 1000


# -- the report ---------------------------------------------------------------------------------------


def keep_alive(tap: str, repeat: int) -> None:
    print("\nkept-alive (one requests.Session) against a fresh connection per request, alternating, medians:")
    session = requests.Session()
    cases: list[tuple[str, Callable[[Request_], object], int]] = [
        (f"/tap/sync {SMALL}", lambda r: sync_query(r, tap, SMALL), repeat),
        ("/tap/availability", lambda r: availability(r, tap), repeat),
        ("/tap/async create+WAIT+fetch (TOP-10 cone)", lambda r: async_round_trip(r, tap), max(10, repeat // 2)),
    ]
    for name, run, n in cases:
        for _ in range(3):
            run(session.request)  # warm up: connection, translation cache, plans
        times: list[tuple[Request_, list[float]]] = [(session.request, []), (requests.request, [])]
        for _ in range(n):
            for request, spent in times:
                started = time.perf_counter()
                run(request)
                spent.append(time.perf_counter() - started)
        kept, fresh = (statistics.median(spent) * 1000 for _, spent in times)
        print(f"  {name:<54} kept-alive {kept:7.1f} ms   fresh {fresh:7.1f} ms   kept/fresh {kept / fresh:5.2f}")
    session.close()


def against_floor(tap: tuple[int, str], floor: tuple[int, str], repeat: int, rounds: int, clients: int) -> None:
    """``tap`` and ``floor``: (server pid, URL)."""

    def vostack(request: Request_) -> None:
        sync_query(request, tap[1], CONE)

    def thinnest(request: Request_) -> None:
        get(request, floor[1])

    print(f"\nTOP-10 cone, vostack /tap/sync against the floor (Starlette + asyncpg), {rounds} rounds:")
    latency: dict[str, list[float]] = {"vostack": [], "floor": []}
    throughput: dict[str, list[float]] = {"vostack": [], "floor": []}
    cpu: dict[str, list[float]] = {"vostack": [], "floor": []}
    for _ in range(rounds):
        for name, run, pid in (("vostack", vostack, tap[0]), ("floor", thinnest, floor[0])):
            session = requests.Session()
            for _ in range(5):
                run(session.request)
            latency[name].append(median_ms(partial(run, session.request), repeat))
            session.close()
            qps, ms = queries_per_second(run, clients, max(10, repeat // 2), pid)
            throughput[name].append(qps)
            cpu[name].append(ms)
    v_ms, f_ms = statistics.median(latency["vostack"]), statistics.median(latency["floor"])
    v_qps, f_qps = statistics.median(throughput["vostack"]), statistics.median(throughput["floor"])
    print(f"  1 client, median latency    vostack {v_ms:6.1f} ms   floor {f_ms:6.1f} ms   "
          f"ratio {v_ms / f_ms:5.2f} (goal <= 1.5)")  # fmt: skip
    print(f"  {clients} clients, queries/s      vostack {v_qps:6.0f}      floor {f_qps:6.0f}      "
          f"ratio {v_qps / f_qps:5.2f} (goal >= 0.85)")  # fmt: skip
    v_cpu, f_cpu = statistics.median(cpu["vostack"]), statistics.median(cpu["floor"])
    print(f"  server process CPU per query  vostack {v_cpu:5.2f} ms  floor {f_cpu:5.2f} ms  "
          f"ratio {v_cpu / f_cpu:5.2f} (with {clients} clients; PostgreSQL's own CPU not included)")  # fmt: skip
    print(f"  (per round: vostack {', '.join(f'{x:.1f}' for x in latency['vostack'])} ms, "
          f"{', '.join(f'{x:.0f}' for x in throughput['vostack'])} q/s; floor "
          f"{', '.join(f'{x:.1f}' for x in latency['floor'])} ms, {', '.join(f'{x:.0f}' for x in throughput['floor'])}"
          f" q/s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")  # fmt: skip


# -- database round trips -----------------------------------------------------------------------------


class RoundTripCounter(threading.Thread):
    """A TCP proxy to PostgreSQL counting round trips: client writes that follow an answer of the server."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        url = urlsplit(dsn)
        self._upstream = (url.hostname or "127.0.0.1", url.port or 5432)
        self.port = free_port()
        self.dsn = urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{self.port}"))
        self.count = 0
        self._ready = threading.Event()

    def run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._proxy, "127.0.0.1", self.port)
        self._ready.set()
        async with server:
            await server.serve_forever()

    async def _proxy(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection(*self._upstream)
        answered = [True]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, from_client: bool) -> None:
            while data := await source.read(65536):
                if from_client and answered[0]:
                    self.count += 1
                answered[0] = not from_client
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pump(client_in, server_out, True), pump(server_in, client_out, False))

    def started(self) -> RoundTripCounter:
        self.start()
        self._ready.wait()
        return self

    def per_request(self, run: Callable[[], object], repeat: int) -> float:
        for _ in range(3):
            run()  # warm up: prepared statements, translation cache
        time.sleep(0.5)  # let background work (the UWS runner, the pool) settle
        before = self.count
        for _ in range(repeat):
            run()
        return (self.count - before) / repeat


def round_trips(dsn: str, repeat: int) -> None:
    counter = RoundTripCounter(dsn).started()
    print("\ndatabase round trips per request (a TCP proxy counts them; background work may add a few):")
    session = requests.Session()
    with serving(counter.dsn) as (_, tap):
        cases: list[tuple[str, Callable[[], object]]] = [
            (f"/tap/sync {CONE[:40]}...", lambda: sync_query(session.request, tap, CONE)),
            (f"/tap/sync {SMALL}", lambda: sync_query(session.request, tap, SMALL)),
            ("/tap/availability", lambda: availability(session.request, tap)),
            ("/tap/async create+WAIT+fetch", lambda: async_round_trip(session.request, tap)),
        ]
        for name, run in cases:
            print(f"  vostack {name:<54} {counter.per_request(run, repeat):5.1f}")
    with floor_server(counter.dsn) as (_, floor):
        print(f"  {'floor: the same cone (fetch; the pool resets the connection)':<62} "
              f"{counter.per_request(lambda: get(session.request, floor), repeat):5.1f}")  # fmt: skip
    session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--repeat", type=int, default=100, help="requests per median (default 100)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of vostack and the floor (default 3)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for throughput (default 16)")
    parser.add_argument("--round-trips", action="store_true", help="also count database round trips per request")
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor is not None:
        uvicorn.run(floor_app(args.dsn), host="127.0.0.1", port=args.serve_floor, log_level="warning")
        return
    with database(args.dsn) as dsn:
        load_hipparcos(dsn)
        with serving(dsn) as (server, tap), floor_server(dsn) as (floor, cone):
            keep_alive(tap, args.repeat)
            against_floor((server.pid, tap), (floor.pid, cone), args.repeat, args.rounds, args.clients)
        if args.round_trips:
            round_trips(dsn, max(20, args.repeat // 5))


if __name__ == "__main__":
    main()
