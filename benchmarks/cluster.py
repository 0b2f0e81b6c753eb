"""Two sites on one machine: vostack nodes, a PostgreSQL primary and its streaming replica, Ceph, and failures.

Usage (as root: it makes network namespaces)::

    .venv/bin/python benchmarks/cluster.py [--seconds 30] [--scale-seconds 15] [--delay-ms 25]

What it builds, each site a network namespace of its own::

    clients (this process, the root namespace)
      |-- 10.77.1.0/24 --- site A (vsa-*): PostgreSQL primary, Ceph (monitor, OSD, RADOS Gateway),
      |                                    nodes A1 and A2
      |-- 10.77.2.0/24 --- site B (vsb-*): PostgreSQL streaming replica of A's primary, node B1
                           A <-> B: 10.77.0.0/24, every connection from B to A through a relay that
                           delays each direction by --delay-ms (the WAN between the sites)

Every node is a vostack site built from the library as a portal builds one: TAP (Hipparcos and a
1,000,000-row table), the demo's ``/compute`` UWS service, job results in the Ceph bucket
(``ObjectResultStore``, 303 to presigned URLs), node B's queries on its local replica
(``db.ReadPools``); all nodes share one job queue in the primary.  The job lease is 10 s here
(30 s by default), so that a dead node's jobs come back sooner.

Printed, all measured in this run:

* throughput of CPU-bound work through one node of site A, then through two (same clients, same
  length), and the ratio;
* a mixed load through both sites (small sync queries, 1,000,000-row downloads, TAP async jobs,
  compute jobs) during which node A1 is killed (SIGKILL) and later all of site B (every process in
  its namespace): jobs submitted / completed / in error / lost, p50 and p95 latency per kind, which
  node ran the jobs and where their results were stored.

Why a relay and not ``tc netem``: this kernel has no ``sch_netem`` ("Specified qdisc kind is unknown");
the relay (a few lines of asyncio below) holds every chunk for the delay before passing it on, in
order, which adds the delay to each direction of every round trip as netem would (not packet loss or
jitter).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

NS_A, NS_B = f"vsa-{os.getpid()}", f"vsb-{os.getpid()}"
A_WAN, B_WAN = "10.77.0.1", "10.77.0.2"  # the link between the sites
A_CLIENTS, B_CLIENTS = "10.77.1.2", "10.77.2.2"  # the sites' addresses towards the clients
PHASE = "{http://www.ivoa.net/xml/UWS/v1.0}phase"
FINAL = {"COMPLETED", "ERROR", "ABORTED"}
ROWS = 1_000_000
LEASE = 10.0
#: A TAP job of a few seconds (35 million comparisons), for the nodes that are killed while running it.
SLOW = {
    "LANG": "ADQL",
    "QUERY": "SELECT COUNT(*) AS n FROM hipparcos.main AS a, hipparcos.main AS b"
    " WHERE a.hip < 300 AND a.hpmag < b.hpmag",
}
HERE = Path(__file__).resolve()


# ------------------------------------------------------------------ inside the namespaces


def site_a(state: Path) -> None:
    """Site A: the primary (with the demo catalogue and a million-row table) and Ceph; stops at stdin's end."""
    from vostack.db.cluster import EmbeddedPostgres
    from vostack.objects.ceph import ThrowawayCeph

    pg = EmbeddedPostgres(state_dir=state / "primary", ephemeral=True, listen=[A_WAN], trusted=["10.77.0.0/16"])
    ceph = ThrowawayCeph(state_dir=state / "ceph", host=A_WAN)
    try:
        dsn = pg.start()
        asyncio.run(_load(dsn))
        ceph.start()
        print(json.dumps({"dsn": dsn, "pg_port": pg.port, "s3_port": ceph.port, "bucket": ceph.bucket,
                          "key": ceph.access_key_id, "secret": ceph.secret_access_key}), flush=True)  # fmt: skip
        sys.stdin.read()
    finally:
        ceph.stop()
        pg.stop()


async def _load(dsn: str) -> None:
    from vostack import db
    from vostack.demo import ensure_hipparcos

    pool = await db.create_pool(dsn)
    try:
        await ensure_hipparcos(pool, progress=False)
        await db.execute(
            pool,
            "CREATE SCHEMA IF NOT EXISTS bulk; DROP TABLE IF EXISTS bulk.million;"
            f" CREATE TABLE bulk.million AS SELECT i AS id, random() * 360 AS ra, random() * 180 - 90 AS dec,"
            f" (random() * 15)::real AS mag, (i % 7)::smallint AS flag FROM generate_series(1, {ROWS}) AS i;"
            " ANALYZE bulk.million",
        )
    finally:
        await pool.close()


def site_b(state: Path, primary: str) -> None:
    """Site B: a streaming replica of the primary (reached through the relay); stops at stdin's end."""
    from vostack.db.cluster import EmbeddedPostgres

    pg = EmbeddedPostgres(state_dir=state / "replica", ephemeral=True, primary=primary, extensions=())
    try:
        print(json.dumps({"dsn": pg.start()}), flush=True)
        sys.stdin.read()
    finally:
        pg.stop()


async def relay(listen: str, routes: list[tuple[int, str, int]], delay: float) -> None:
    """Pass TCP connections from ``listen:port`` to ``host:port``, each chunk ``delay`` seconds late."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(chunk)
                await writer.drain()
            writer.close()

        loop = asyncio.get_running_loop()
        sender = asyncio.ensure_future(deliver())
        try:
            while chunk := await reader.read(1 << 16):
                queue.put_nowait((loop.time() + delay, chunk))
        except ConnectionError:
            pass
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(ConnectionError):
            await sender

    def handler(host: str, port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection(host, port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

        return connect

    servers = [await asyncio.start_server(handler(h, p), listen, port) for port, h, p in routes]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


async def node(args: argparse.Namespace) -> None:
    """One vostack node: TAP and /compute, results in the bucket, queries on the replica if given."""
    import datetime as dt

    import uvicorn

    from vostack import db
    from vostack.cli import build_app, listen
    from vostack.config import TableMeta
    from vostack.demo import demo_config
    from vostack.demo.compute import compute_service
    from vostack.objects import Bucket
    from vostack.site import Site
    from vostack.tap import TAPService
    from vostack.uws import ObjectResultStore

    bucket = Bucket(
        endpoint=args.s3, public_endpoint=args.s3_public, bucket=args.bucket,
        access_key_id=os.environ["S3_KEY"], secret_access_key=os.environ["S3_SECRET"],
    )  # fmt: skip
    results = ObjectResultStore(bucket, prefix="uws/", expires=dt.timedelta(minutes=10))
    options: dict[str, Any] = {"results": results, "lease": LEASE, "max_wait": 30.0}
    config = demo_config()
    config = dataclasses.replace(
        config,
        schemas={**config.schemas, "bulk": "A million random rows"},
        tables={**config.tables, "bulk.million": TableMeta(description="Random rows")},
    )
    tap = TAPService(config=config, async_options=options)
    compute = compute_service(**options)
    site = Site(services=[tap, compute])
    sock = listen(args.host, args.port)
    pool = await db.create_pool(args.dsn, max_size=8)
    replicas = [("replica", await db.create_pool(args.replica, min_size=0, max_size=8))] if args.replica else []
    reads = db.ReadPools(pool, replicas, max_lag=30, check_interval=1) if replicas else None
    async with site.serve(pool, reads=reads):
        app = build_app(tap, compute)
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
        serving = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                await serving  # a start-up error surfaces here
                return
            await asyncio.sleep(0.05)
        print("ready", flush=True)
        await serving


# ------------------------------------------------------------------ the namespaces


def _sh(*args: str, check: bool = True) -> None:
    subprocess.run(args, check=check, capture_output=True)


def _netns_up(delay_ms: float) -> None:
    _sh("ip", "netns", "add", NS_A)
    _sh("ip", "netns", "add", NS_B)
    tag = str(os.getpid() % 100000)
    links = [
        (f"vca{tag}", None, "10.77.1.1/24", f"vna{tag}", NS_A, f"{A_CLIENTS}/24"),
        (f"vcb{tag}", None, "10.77.2.1/24", f"vnb{tag}", NS_B, f"{B_CLIENTS}/24"),
        (f"vwa{tag}", NS_A, f"{A_WAN}/24", f"vwb{tag}", NS_B, f"{B_WAN}/24"),
    ]
    for left, left_ns, left_ip, right, right_ns, right_ip in links:
        _sh("ip", "link", "add", left, "type", "veth", "peer", "name", right)
        for name, ns, ip in ((left, left_ns, left_ip), (right, right_ns, right_ip)):
            prefix = ("ip", "netns", "exec", ns) if ns else ()
            if ns:
                _sh("ip", "link", "set", name, "netns", ns)
            _sh(*prefix, "ip", "addr", "add", ip, "dev", name)
            _sh(*prefix, "ip", "link", "set", name, "up")
    for ns in (NS_A, NS_B):
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    # the clients reach site A's WAN address (Ceph's presigned URLs, the primary) through site A
    _sh("ip", "route", "add", f"{A_WAN}/32", "via", A_CLIENTS)
    print(f"namespaces {NS_A}, {NS_B}; WAN A<->B through a relay delaying each direction {delay_ms:g} ms")


def _netns_down() -> None:
    for ns in (NS_A, NS_B):
        _kill_namespace(ns)
        _sh("ip", "netns", "del", ns, check=False)
    _sh("ip", "route", "del", f"{A_WAN}/32", check=False)


def _kill_namespace(ns: str) -> None:
    """SIGKILL every process in ``ns`` (a site that dies)."""
    found = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=False).stdout.split()
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[str]

    def line(self, timeout: float = 300) -> str:
        """The next line it prints (waiting at most ``timeout``)."""
        assert self.popen.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.popen.stdout.readline()
            if line:
                return line.strip()
            if self.popen.poll() is not None:
                raise SystemExit(f"{self.name} exited: see its log")
        raise SystemExit(f"{self.name} said nothing within {timeout:.0f} s")


def _start(name: str, ns: str, *args: str, env: dict[str, str] | None = None, log: Path) -> Proc:
    command = ["ip", "netns", "exec", ns, sys.executable, str(HERE), *args]
    popen = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("ab"), text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(HERE.parents[1]), **(env or {})},
    )  # fmt: skip
    return Proc(name, popen)


# ------------------------------------------------------------------ the clients


@dataclass
class Node:
    name: str
    url: str
    proc: Proc
    alive: bool = True
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=120))


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (kind, job URL path below the node)
    lost_creations: int = 0

    def record(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def fail(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1


class Nodes:
    """The nodes the clients use in turn; a node that refuses a connection is skipped from then on."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self._turn = 0

    def next(self) -> Node:
        alive = [n for n in self.nodes if n.alive]
        if not alive:
            raise RuntimeError("no node is left")
        self._turn += 1
        return alive[self._turn % len(alive)]


def _phase(content: bytes) -> str:
    return (ET.fromstring(content).findtext(PHASE) or "").strip()


async def _request(nodes: Nodes, tally: Tally, kind: str, send: Callable[[Node], Awaitable[None]]) -> None:
    """One request of ``kind``: on a dead node, the next one (as a load balancer would)."""
    for _ in range(len(nodes.nodes)):
        target = nodes.next()
        started = time.perf_counter()
        try:
            await send(target)
        except httpx.HTTPError as exc:  # a dead node (refused, reset), or an error status
            if isinstance(exc, httpx.ConnectError):
                target.alive = False
            tally.fail(kind)
            continue
        tally.record(kind, time.perf_counter() - started)
        return


async def _sync_small(node: Node) -> None:
    ra = 360 * (time.perf_counter() % 1)
    cone = f"CONTAINS(POINT(ra, dec), CIRCLE({ra:.4f}, 10, 1)) = 1"
    query = f"SELECT TOP 10 hip, ra, dec, hpmag FROM hipparcos.main WHERE {cone}"
    answer = await node.client.post(f"{node.url}/tap/sync", data={"LANG": "ADQL", "QUERY": query})
    answer.raise_for_status()


async def _cpu_bound(node: Node) -> None:
    """A query whose cost is the node's: 3,000 rows encoded as TABLEDATA (PostgreSQL reads an index range)."""
    first = int(1 + 100_000 * (time.perf_counter() % 1))
    query = f"SELECT TOP 3000 * FROM hipparcos.main WHERE hip >= {first} ORDER BY hip"
    data = {"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "votable/td", "MAXREC": "3000"}
    async with node.client.stream("POST", f"{node.url}/tap/sync", data=data) as answer:
        answer.raise_for_status()
        async for _ in answer.aiter_raw():
            pass


async def _download(node: Node) -> None:
    query = "SELECT id, ra, dec, mag, flag FROM bulk.million"
    data = {"LANG": "ADQL", "QUERY": query, "MAXREC": str(ROWS)}
    size = 0
    async with node.client.stream("POST", f"{node.url}/tap/sync", data=data) as answer:
        answer.raise_for_status()
        async for chunk in answer.aiter_raw():
            size += len(chunk)
    if size < 20_000_000:
        raise httpx.RemoteProtocolError(f"a short download: {size} bytes")


def _job_runner(tally: Tally, kind: str, path: str, params: dict[str, str]) -> Callable[[Node], Awaitable[None]]:
    async def run(node: Node) -> None:
        created = await node.client.post(f"{node.url}{path}", data={**params, "PHASE": "RUN"})
        if created.status_code != 303:
            raise httpx.RemoteProtocolError(f"job creation answered {created.status_code}")
        job = created.headers["location"].removeprefix(node.url)
        tally.jobs.append((kind, job))
        phase = ""
        while phase not in FINAL:
            phase = _phase((await node.client.get(f"{node.url}{job}", params={"WAIT": "30"})).content)
        if phase == "COMPLETED":
            result = await node.client.get(f"{node.url}{job}/results/result", follow_redirects=True)
            result.raise_for_status()

    return run


async def _loop(nodes: Nodes, tally: Tally, kind: str, send: Callable[[Node], Awaitable[None]], until: float) -> None:
    while time.monotonic() < until:
        await _request(nodes, tally, kind, send)


def _percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms"


def _cpu(pid: int) -> float:
    """User plus system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_of_site(ns: str, exclude: set[int]) -> float:
    """CPU seconds of every process in ``ns`` but ``exclude`` (PostgreSQL, Ceph)."""
    found = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=False).stdout.split()
    return sum(_cpu(int(pid)) for pid in found if int(pid) not in exclude)


async def scale(a1: Node, a2: Node, seconds: float) -> list[tuple[float, dict[str, float]]]:
    """Requests per second of CPU-bound work through A1 alone, then through A1 and A2, and the CPU milliseconds
    per request of the nodes, of the rest of site A (PostgreSQL, Ceph) and of the clients."""
    runs = []
    pids = {a1.proc.popen.pid, a2.proc.popen.pid}
    for group in ([a1], [a1, a2]):
        nodes = Nodes(group)
        await asyncio.gather(*(_loop(nodes, Tally(), "cpu", _cpu_bound, time.monotonic() + 3) for _ in range(6)))
        tally = Tally()  # after a warm-up of 3 s
        before = (sum(_cpu(p) for p in pids), _cpu_of_site(NS_A, pids), time.process_time())
        started = time.monotonic()
        await asyncio.gather(*(_loop(nodes, tally, "cpu", _cpu_bound, started + seconds) for _ in range(6)))
        elapsed = time.monotonic() - started
        after = (sum(_cpu(p) for p in pids), _cpu_of_site(NS_A, pids), time.process_time())
        done = len(tally.latencies.get("cpu", [])) or 1
        cost = {
            name: 1000 * (b - a) / done for name, a, b in zip(("nodes", "site", "clients"), before, after, strict=True)
        }
        runs.append((done / elapsed, cost))
    return runs


async def mixed(nodes: Nodes, a1: Node, site_b: list[Node], seconds: float) -> Tally:
    """The mixed load through every node; A1 is killed at a third, site B at two thirds."""
    tally = Tally()
    started = time.monotonic()
    until = started + seconds
    loops = [
        *(_loop(nodes, tally, "sync", _sync_small, until) for _ in range(3)),
        _loop(nodes, tally, "download", _download, until),
        *(_loop(nodes, tally, "async", _job_runner(tally, "async", "/tap/async", {
            "LANG": "ADQL", "QUERY": "SELECT TOP 2000 hip, ra, dec, pmra, pmde FROM hipparcos.main ORDER BY hpmag",
            "MAXREC": "2000"}), until) for _ in range(2)),
        *(_loop(nodes, tally, "compute", _job_runner(tally, "compute", "/compute", {
            "RA": "83.8", "DEC": "-5.4", "SR": "8", "EPOCH": "2050"}), until) for _ in range(2)),
    ]  # fmt: skip

    async def running_on(target: Node) -> None:
        """Two slow jobs created with PHASE=RUN on ``target``, which therefore runs them itself at once."""
        for _ in range(2):
            created = await target.client.post(f"{target.url}/tap/async", data={**SLOW, "PHASE": "RUN"})
            tally.jobs.append(("slow", created.headers["location"].removeprefix(target.url)))
        await asyncio.sleep(1.0)

    async def failures() -> None:
        await asyncio.sleep(seconds / 3 - 1)
        await running_on(a1)
        a1.proc.popen.kill()
        print(f"  t={time.monotonic() - started:4.1f} s: node A1 killed (SIGKILL) while it ran two slow jobs")
        await asyncio.sleep(seconds / 3 - 1)
        await running_on(site_b[0])
        _kill_namespace(NS_B)
        print(f"  t={time.monotonic() - started:4.1f} s: site B killed (every process in {NS_B}: B1, its replica,"
              " the relay) while B1 ran two slow jobs")  # fmt: skip

    await asyncio.gather(*loops, failures())
    return tally


async def settle(survivor: Node, tally: Tally) -> dict[str, int]:
    """Wait (through a surviving node) until every submitted job is final; their phases."""
    phases: dict[str, int] = {}
    deadline = time.monotonic() + 3 * LEASE + 60
    for _, job in tally.jobs:
        phase = ""
        while phase not in FINAL and time.monotonic() < deadline:
            answer = await survivor.client.get(f"{survivor.url}{job}", params={"WAIT": "10"})
            phase = "GONE" if answer.status_code == 404 else _phase(answer.content)
            if phase == "GONE":
                break
        phases[phase or "UNKNOWN"] = phases.get(phase or "UNKNOWN", 0) + 1
    return phases


async def where(dsn: str, bucket_keys: list[str], names: dict[int, str]) -> list[str]:
    """Which node ran the jobs (the worker recorded in the job store) and what the bucket holds."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT service, phase, split_part(worker, ':', 2)::int AS pid, count(*) AS n, max(attempts) AS tries"
            " FROM vostack_uws.jobs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    finally:
        await conn.close()
    lines = []
    for r in rows:
        name = names.get(r["pid"], f"pid {r['pid']}")
        lines.append(
            f"  {r['service']:<8} {r['phase']:<10} ran on {name:<6} {r['n']:5d} jobs (at most {r['tries']} starts)"
        )
    conn = await asyncpg.connect(dsn)
    try:
        rerun = await conn.fetch(
            "SELECT job_id, phase, attempts, split_part(worker, ':', 2)::int AS pid FROM vostack_uws.jobs"
            " WHERE attempts > 1 ORDER BY creation_time"
        )
    finally:
        await conn.close()
    for r in rerun:
        name = names.get(r["pid"], str(r["pid"]))
        lines.append(f"  job {r['job_id']} started {r['attempts']} times, {r['phase']} on {name}: its first node"
                     " died, the lease rule gave it back")  # fmt: skip
    total = sum(r["n"] for r in rows)
    final = sum(r["n"] for r in rows if r["phase"] in FINAL)
    lines.append(f"  the job queue holds {total} jobs, {final} of them final (more than the clients counted by"
                 " each creation whose answer was lost when its node died)")  # fmt: skip
    results = sum(1 for k in bucket_keys if k.endswith("/result"))
    lines.append(f"  results stored in Ceph (bucket, prefix uws/): {results} objects, {len(bucket_keys)} in all")
    return lines


# ------------------------------------------------------------------ main


def _with_port(dsn: str, host: str, port: int) -> str:
    user, _, rest = dsn.removeprefix("postgresql://").partition("@")
    database = rest.partition("/")[2]
    return f"postgresql://{user}@{host}:{port}/{database}"


@contextlib.contextmanager
def _sites(args: argparse.Namespace, work: Path) -> Iterator[dict[str, Any]]:
    procs: list[Proc] = []
    _netns_up(args.delay_ms)
    try:
        log = work / "cluster.log"
        a = _start("site A", NS_A, "site-a", str(work / "a"), log=log)
        procs.append(a)
        print("site A: starting PostgreSQL, loading Hipparcos and 1,000,000 rows, starting Ceph ...", flush=True)
        info = json.loads(a.line())
        pg_port, s3_port = info["pg_port"], info["s3_port"]
        routes = f"{pg_port}:{A_WAN}:{pg_port},{s3_port}:{A_WAN}:{s3_port}"
        wan = _start("relay", NS_B, "relay", B_WAN, routes, str(args.delay_ms / 1000), log=log)
        procs.append(wan)
        wan.line()
        primary_from_b = _with_port(info["dsn"], B_WAN, pg_port)  # through the relay
        b = _start("site B", NS_B, "site-b", str(work / "b"), primary_from_b, log=log)
        procs.append(b)
        print("site B: copying the primary through the WAN (pg_basebackup -R) ...", flush=True)
        replica = json.loads(b.line())["dsn"]
        env = {"S3_KEY": info["key"], "S3_SECRET": info["secret"]}
        public = f"http://{A_WAN}:{s3_port}"
        nodes = {}
        for name, ns, host, port, dsn, s3, extra in (
            ("A1", NS_A, A_CLIENTS, 8001, info["dsn"], public, []),
            ("A2", NS_A, A_CLIENTS, 8002, info["dsn"], public, []),
            ("B1", NS_B, B_CLIENTS, 8001, primary_from_b, f"http://{B_WAN}:{s3_port}", ["--replica", replica]),
        ):
            proc = _start(f"node {name}", ns, "node", "--host", host, "--port", str(port), "--dsn", dsn,
                          "--s3", s3, "--s3-public", public, "--bucket", info["bucket"], *extra,
                          env=env, log=log)  # fmt: skip
            procs.append(proc)
            nodes[name] = Node(name, f"http://{host}:{port}", proc)
        for node_ in nodes.values():  # started together: they generate TAP_SCHEMA once between them
            node_.proc.line()
        print(f"nodes A1, A2 (site A) and B1 (site B, queries on its replica) serve; log: {log}", flush=True)
        yield {"nodes": nodes, "primary": _with_port(info["dsn"], A_WAN, pg_port), "bucket": info,
               "public": public}  # fmt: skip
    finally:
        for proc in reversed(procs):
            if proc.popen.poll() is None:
                with contextlib.suppress(BrokenPipeError, OSError):
                    assert proc.popen.stdin is not None
                    proc.popen.stdin.close()
                if proc.name.startswith(("node", "relay")):
                    proc.popen.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.popen.wait(timeout=60)
        _netns_down()


async def _bucket_keys(info: dict[str, Any], public: str) -> list[str]:
    from vostack.objects import Bucket

    bucket = Bucket(endpoint=public, bucket=info["bucket"], access_key_id=info["key"], secret_access_key=info["secret"])
    return await bucket.keys("uws")


async def _drive(args: argparse.Namespace, sites: dict[str, Any]) -> None:
    nodes: dict[str, Node] = sites["nodes"]
    a1, a2, b1 = nodes["A1"], nodes["A2"], nodes["B1"]
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\n1. CPU-bound work (3,000-row TABLEDATA queries, 6 clients), {args.scale_seconds:g} s each"
          f" ({os.cpu_count()} cores; load average before: {load}):")  # fmt: skip
    ratios = []
    for _ in range(args.repeat):  # 1 node and 2 nodes alternate, so that other load falls on both alike
        (one, cost1), (two, cost2) = await scale(a1, a2, args.scale_seconds)
        ratios.append(two / one)
        print(f"   1 node: {one:6.1f} queries/s   2 nodes: {two:6.1f} queries/s   ratio {two / one:4.2f}"
              f"   (CPU per query: nodes {cost1['nodes']:.0f}/{cost2['nodes']:.0f} ms, PostgreSQL and Ceph"
              f" {cost1['site']:.0f}/{cost2['site']:.0f} ms, clients {cost1['clients']:.0f}/{cost2['clients']:.0f}"
              " ms)", flush=True)  # fmt: skip
    print(f"   median ratio of {len(ratios)} runs: {statistics.median(ratios):4.2f}")
    print(f"\n2. Mixed load through A1, A2 and B1 for {args.seconds:g} s:")
    tally = await mixed(Nodes([a1, a2, b1]), a1, [b1], args.seconds)
    phases = await settle(a2, tally)
    submitted = len(tally.jobs)
    lost = submitted - phases.get("COMPLETED", 0) - phases.get("ERROR", 0)
    print(f"\n   jobs submitted {submitted}, completed {phases.get('COMPLETED', 0)}, in error "
          f"{phases.get('ERROR', 0)}, lost {lost}  (phases: {phases})")  # fmt: skip
    print("   requests that failed and were sent again elsewhere:", tally.failures or "none")
    for kind in ("sync", "download", "async", "compute"):
        values = tally.latencies.get(kind, [])
        print(f"   {kind:<9} {len(values):5d} done   {_percentiles(values)}")
    names = {n.proc.popen.pid: n.name for n in nodes.values()}
    for line in await where(sites["primary"], await _bucket_keys(sites["bucket"], sites["public"]), names):
        print(line)
    for node_ in nodes.values():
        await node_.client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    a = sub.add_parser("site-a")
    a.add_argument("state", type=Path)
    b = sub.add_parser("site-b")
    b.add_argument("state", type=Path)
    b.add_argument("primary")
    r = sub.add_parser("relay")
    r.add_argument("listen")
    r.add_argument("routes")
    r.add_argument("delay", type=float)
    n = sub.add_parser("node")
    for option in ("--host", "--dsn", "--s3", "--s3-public", "--bucket"):
        n.add_argument(option, required=True)
    n.add_argument("--port", type=int, required=True)
    n.add_argument("--replica")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the mixed load")
    parser.add_argument("--scale-seconds", type=float, default=15.0, help="length of each throughput run")
    parser.add_argument("--delay-ms", type=float, default=25.0, help="delay of each direction between the sites")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs with 1 node, then 2 nodes")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "site-a":
            site_a(args.state)
        elif args.command == "site-b":
            site_b(args.state, args.primary)
        elif args.command == "relay":
            routes = [tuple(part.split(":")) for part in args.routes.split(",")]
            asyncio.run(relay(args.listen, [(int(p), h, int(q)) for p, h, q in routes], args.delay))
        elif args.command == "node":
            asyncio.run(node(args))
        else:
            if os.geteuid() != 0:
                raise SystemExit("benchmarks/cluster.py makes network namespaces: run it as root")
            work = Path(tempfile.mkdtemp(prefix=f"vostack-cluster-{uuid.uuid4().hex[:6]}-"))
            work.chmod(0o755)
            try:
                with _sites(args, work) as sites:
                    asyncio.run(_drive(args, sites))
            finally:
                shutil.rmtree(work / "a", ignore_errors=True)
                shutil.rmtree(work / "b", ignore_errors=True)


if __name__ == "__main__":
    main()
