"""Streaming speed of /tap/sync in every format against raw PostgreSQL COPY over the same rows, in one run.

Usage::

    .venv/bin/python benchmarks/stream.py [--dsn DSN] [--rows 1000000] [--repeat 3] [--formats votable/b2,csv]
                                          [--gzip]

Without ``--dsn`` an embedded throwaway PostgreSQL is started.  The rows are a
cross join of Hipparcos (int, double, double, real, smallint), the shape of
``../shared/PERFORMANCE.md``.  The baselines are the translated query's
``COPY ... TO STDOUT`` read by asyncpg in the same run: ``FORMAT binary`` for
the binary formats (VOTable BINARY2 and BINARY, FITS, Parquet) and ``FORMAT
csv`` for the text formats (TABLEDATA, CSV, TSV, JSON, GeoJSON).  Each format
is fetched ``--repeat`` times through a kept-alive HTTP connection without
compression (``--gzip`` adds runs with ``Accept-Encoding: gzip``); the table
shows medians: rows per second, the ratio to the baseline, the time to the
first byte and the server's peak resident memory during that format's runs
(the server is a separate ``vostack demo`` process; its peak, VmHWM, is reset
through ``/proc/PID/clear_refs`` before each format).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import asyncpg
import httpx
from common import database, serving

from vostack import adql, db
from vostack.demo import demo_config, ensure_hipparcos
from vostack.tap import TAPService

FORMATS = ("votable/b2", "votable/b", "fits", "parquet", "votable/td", "csv", "tsv", "json", "geojson")
BINARY = frozenset({"votable/b2", "votable/b", "votable", "fits", "parquet"})


def adql_query(rows: int) -> str:
    copies = -(-rows // 117_955)
    return (
        f"SELECT TOP {rows} a.hip, a.ra, a.dec, a.hpmag, a.sn FROM hipparcos.main AS a, "
        f"(SELECT TOP {copies} hip FROM hipparcos.main) AS b"
    )


async def copy_baseline(dsn: str, sql: str, fmt: str) -> float:
    """Seconds of ``COPY (sql) TO STDOUT (FORMAT fmt)`` read by asyncpg."""
    conn = await asyncpg.connect(dsn)

    async def sink(chunk: bytes) -> None:
        pass

    try:
        started = time.perf_counter()
        await conn.copy_from_query(sql, output=sink, format=fmt)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def translated_sql(dsn: str, query: str) -> str:
    pool = await db.create_pool(dsn, max_size=2)
    try:
        await ensure_hipparcos(pool)
        tap = TAPService(config=demo_config())
        async with tap.serve(pool):
            tableset = tap.tableset
    finally:
        await pool.close()
    return adql.translate(query, tableset).sql


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak(pid: int) -> None:
    """Start a new VmHWM period (Linux ≥ 4.0: writing 5 to clear_refs resets the peak RSS)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def stream(client: httpx.Client, url: str, query: str, fmt: str, rows: int) -> tuple[float, float, int]:
    """Seconds to the first byte, seconds in total, bytes on the wire."""
    data = {"LANG": "ADQL", "QUERY": query, "MAXREC": str(rows), "RESPONSEFORMAT": fmt}
    received = 0
    started = time.perf_counter()
    first = 0.0
    with client.stream("POST", url + "/sync", data=data) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if not received:
                first = time.perf_counter() - started
            received += len(chunk)
    return first, time.perf_counter() - started, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--gzip", action="store_true", help="also fetch each format with Accept-Encoding: gzip")
    args = parser.parse_args()
    hardlimit = demo_config().service.hardlimit
    if args.rows > hardlimit:
        parser.error(f"--rows is at most the demo's hardlimit, {hardlimit:,}: more would be cut at MAXREC")
    encodings = ("identity", "gzip") if args.gzip else ("identity",)
    with database(args.dsn) as dsn:
        query = adql_query(args.rows)
        sql = asyncio.run(translated_sql(dsn, query))
        with serving(dsn) as (proc, url):
            print(f"rows: {args.rows:,}   query: {query}")
            print(f"server RSS after start-up: {peak_rss_mib(proc.pid):.0f} MiB (peak so far)")
            baselines: dict[str, list[float]] = {"binary": [], "csv": []}
            header = (
                f"{'format':<12}{'encoding':<10}{'rows/s':>12}{'ratio':>8}  {'baseline':<12}{'first byte':>11}"
                f"{'peak RSS':>10}{'MB':>8}"
            )
            lines = []
            for fmt in args.formats.split(","):
                baseline = "binary" if fmt in BINARY else "csv"
                for encoding in encodings:
                    reset_peak(proc.pid)
                    firsts, rates, ratios = [], [], []
                    size = 0
                    with httpx.Client(timeout=600, headers={"Accept-Encoding": encoding}) as client:
                        for _ in range(args.repeat):
                            copy = args.rows / asyncio.run(copy_baseline(dsn, sql, baseline))
                            baselines[baseline].append(copy)
                            first, total, size = stream(client, url, query, fmt, args.rows)
                            firsts.append(first)
                            rates.append(args.rows / total)
                            ratios.append(args.rows / total / copy)
                    lines.append(
                        f"{fmt:<12}{encoding:<10}{statistics.median(rates):>12,.0f}{statistics.median(ratios):>7.2f}x"
                        f"  COPY {baseline:<7}{statistics.median(firsts) * 1000:>8.0f} ms"
                        f"{peak_rss_mib(proc.pid):>7.0f} MiB{size / 1e6:>8.1f}"
                    )
                    print(lines[-1], flush=True)
            print()
            for name, rates in baselines.items():
                if rates:
                    print(f"COPY (FORMAT {name}) via asyncpg: median {statistics.median(rates):,.0f} rows/s "
                          f"(min {min(rates):,.0f}, max {max(rates):,.0f}, {len(rates)} runs)")  # fmt: skip
            print()
            print("ratio: the median over the runs of (format rows/s) / (COPY rows/s measured just before it)")
            print(header)
            print("\n".join(lines))


if __name__ == "__main__":
    main()
