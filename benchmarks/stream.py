"""Streaming speed of /tap/sync against raw PostgreSQL COPY over the same rows, measured in one run.

Usage::

    .venv/bin/python benchmarks/stream.py [--dsn DSN] [--rows 1000000] [--formats votable/b2,votable/td]

Without ``--dsn`` an embedded throwaway PostgreSQL is started.  The rows are a
cross join of Hipparcos (int, double, double, real, smallint), the shape of
``../shared/PERFORMANCE.md``.  Each format is fetched without compression
and with ``Accept-Encoding: gzip`` (what pyvo and httpx send).  The server runs as a separate ``vostack demo``
process so that its peak resident memory (VmHWM) can be read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import asyncpg
import httpx
from common import database, serving

from vostack import adql, db
from vostack.demo import demo_config, ensure_hipparcos
from vostack.tap import TAPService


def adql_query(rows: int) -> str:
    copies = -(-rows // 117_955)
    return (
        f"SELECT TOP {rows} a.hip, a.ra, a.dec, a.hpmag, a.sn FROM hipparcos.main AS a, "
        f"(SELECT TOP {copies} hip FROM hipparcos.main) AS b"
    )


async def copy_baseline(dsn: str, sql: str) -> tuple[float, int]:
    """Seconds and bytes of ``COPY (sql) TO STDOUT (FORMAT binary)`` read by asyncpg."""
    conn = await asyncpg.connect(dsn)
    received = 0

    async def sink(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    try:
        started = time.perf_counter()
        await conn.copy_from_query(sql, output=sink, format="binary")
        return time.perf_counter() - started, received
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


def rss_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def stream(url: str, query: str, fmt: str, rows: int, encoding: str) -> tuple[float, float, int]:
    """Seconds to the first byte, seconds in total, bytes on the wire."""
    data = {"LANG": "ADQL", "QUERY": query, "MAXREC": str(rows), "RESPONSEFORMAT": fmt}
    received = 0
    with httpx.Client(timeout=600, headers={"Accept-Encoding": encoding}) as client:
        started = time.perf_counter()
        first = 0.0
        with client.stream("POST", url + "/sync", data=data) as response:
            response.raise_for_status()
            for chunk in response.iter_raw():
                if not received:
                    first = time.perf_counter() - started
                received += len(chunk)
        total = time.perf_counter() - started
    return first, total, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="votable/b2,votable/td")
    args = parser.parse_args()
    with database(args.dsn) as dsn:
        query = adql_query(args.rows)
        sql = asyncio.run(translated_sql(dsn, query))
        with serving(dsn) as (proc, url):
            idle = rss_kib(proc.pid, "VmRSS")
            copy_s, copy_bytes = asyncio.run(copy_baseline(dsn, sql))
            copy_rate = args.rows / copy_s
            print(f"rows: {args.rows:,}   query: {query}")
            print(f"COPY (FORMAT binary) via asyncpg: {copy_rate:>12,.0f} rows/s  ({copy_s:.2f} s, {copy_bytes:,} B)")
            for fmt in args.formats.split(","):
                for encoding in ("identity", "gzip"):
                    first, total, size = stream(url, query, fmt, args.rows, encoding)
                    rate = args.rows / total
                    print(
                        f"/tap/sync {fmt:<12} {encoding:<8}: {rate:>10,.0f} rows/s  ({total:.2f} s, {size:,} B, "
                        f"first byte after {first * 1000:.0f} ms)  = {rate / copy_rate:.2f} x COPY"
                    )
            peak = rss_kib(proc.pid, "VmHWM")
            print(f"server RSS: {idle / 1024:.0f} MiB after start-up, peak {peak / 1024:.0f} MiB over the whole run")


if __name__ == "__main__":
    main()
