"""What the benchmark scripts share: a demo server in a subprocess, synthetic catalogue rows, a best-of timer."""

from __future__ import annotations

import asyncio
import os
import queue
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vostack import db
from vostack.db.cluster import EmbeddedPostgres
from vostack.demo import ensure_hipparcos
from vostack.schema import Field

#: The shape of ../shared/PERFORMANCE.md's rows: int, double, double, real, smallint.
FIELDS = (
    Field("id", "int"),
    Field("ra", "double", unit="deg", ucd="pos.eq.ra;meta.main"),
    Field("dec", "double", unit="deg", ucd="pos.eq.dec;meta.main"),
    Field("mag", "float", unit="mag"),
    Field("flag", "short"),
)
BATCH = 5_000


def make_rows(count: int, *, nulls: bool) -> list[tuple[object, ...]]:
    """``count`` rows like a catalogue query returns them (mag null in 1 row of 10 with ``nulls``)."""
    rng = random.Random(42)
    rows: list[tuple[object, ...]] = []
    for i in range(count):
        mag: float | None = rng.uniform(5.0, 20.0)
        if nulls and i % 10 == 0:
            mag = None
        rows.append((i, rng.uniform(0.0, 360.0), rng.uniform(-90.0, 90.0), mag, rng.randrange(-100, 100)))
    return rows


def best_of(repeat: int, run: Callable[[], int]) -> tuple[float, int]:
    """The fastest of ``repeat`` runs, in seconds, and the bytes the last one wrote."""
    best, size = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = run()
        best = min(best, time.perf_counter() - start)
    return best, size


async def median_of(repeat: int, run: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    """The median time of ``repeat`` awaited runs after three warm-up ones (connections, plans, caches), in
    seconds, and the bytes the last one returned."""
    for _ in range(3):
        await run()
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = await run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), size


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def load_hipparcos(dsn: str) -> None:
    """The demo catalogue (hipparcos.main) in ``dsn``, loaded unless it is there already."""

    async def load() -> None:
        pool = await db.create_pool(dsn)
        try:
            await ensure_hipparcos(pool, progress=False)
        finally:
            await pool.close()

    asyncio.run(load())


def start_server(dsn: str) -> tuple[subprocess.Popen[str], str]:
    """``vostack demo`` on a free port, as in production; returns the process and the TAP URL once it serves."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vostack.cli", "demo", "--dsn", dsn, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout

    def read_lines() -> None:  # a thread keeps the pipe drained; select() on a buffered pipe misses lines
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read_lines, daemon=True).start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                raise SystemExit("the server exited before it served") from None
            continue
        if line.startswith("TAP service: "):
            return proc, line.split(": ", 1)[1].strip()
    proc.kill()  # never leave a server behind: it would share the job queue with later runs
    raise SystemExit("the server did not start")


@contextmanager
def database(dsn: str | None, *, durable: bool = False) -> Iterator[str]:
    """``dsn``, or a throwaway embedded cluster (with fsync only when ``durable``) stopped at the end.

    SIGTERM exits through the ``finally`` blocks, so an interrupted benchmark leaves no server behind.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    if dsn is not None:
        yield dsn
        return
    state = Path(tempfile.mkdtemp(prefix="vostack-bench-"))
    state.chmod(0o755)
    cluster = EmbeddedPostgres(state_dir=state / "pg", ephemeral=not durable)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(state, ignore_errors=True)


@contextmanager
def serving(dsn: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """:func:`start_server`, interrupted (as by Ctrl-C) at the end."""
    proc, url = start_server(dsn)
    try:
        yield proc, url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
