"""Simple Cone Search against TAP for the same cone, and the MOC coverage of Hipparcos, measured in one run.

Usage::

    .venv/bin/python benchmarks/scs.py [--dsn DSN] [--repeat 50]

Without ``--dsn`` an embedded throwaway PostgreSQL is started; a separate ``vostack demo`` process then
serves, as in production (it loads the demo data, including the planetary collections, the first time).
Reported, as medians over ``--repeat`` requests on one kept-alive connection (as pyvo and TOPCAT keep theirs):

* a cone of 1 degree around the Pleiades (VERB=2, nearest first) through ``/scs/hipparcos.main/`` and the same
  ADQL through ``/tap/sync`` (the query SCS runs), and their ratio: what the SCS layer adds to TAP's path;
* a cone of 0.01 degree (one star or none), the same two ways: the fixed cost of a request;
* the spatial MOC of Hipparcos served as FITS, and computing it anew (order 8, a scan of 117,955 rows) against
  ``SELECT count(*)`` over the same positions (the scan alone), in process.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from common import database, load_hipparcos, median_of, serving

from vostack import db
from vostack.moc import CoverageSpec, compute_space


def _adql(ra: float, dec: float, sr: float) -> str:
    """What the cone search runs for VERB=2 (principal columns), in ADQL."""
    return (
        "SELECT CAST(hip AS VARCHAR) AS hip, ra, dec, plx, pmra, pmde, hpmag, b_v, "
        f'DISTANCE(POINT(ra, dec), POINT({ra}, {dec})) AS "_r" FROM hipparcos.main '
        f'WHERE CONTAINS(POINT(ra, dec), CIRCLE({ra}, {dec}, {sr})) = 1 ORDER BY "_r"'
    )


async def measure(tap_url: str, repeat: int) -> None:
    root = tap_url.removesuffix("/tap")
    async with httpx.AsyncClient(timeout=120) as client:

        async def get(url: str, params: dict[str, str]) -> int:
            response = await client.get(url, params=params)
            assert response.status_code == 200, response.text[:500]
            return len(response.content)

        for ra, dec, sr in ((56.75, 24.12, 1.0), (56.75, 24.12, 0.01)):
            cone = {"RA": str(ra), "DEC": str(dec), "SR": str(sr), "RESPONSEFORMAT": "votable/td"}
            scs, scs_size = await median_of(repeat, lambda cone=cone: get(f"{root}/scs/hipparcos.main/", cone))  # type: ignore[misc]
            sync = {"LANG": "ADQL", "QUERY": _adql(ra, dec, sr), "RESPONSEFORMAT": "votable/td"}
            tap, tap_size = await median_of(repeat, lambda sync=sync: get(f"{tap_url}/sync", sync))  # type: ignore[misc]
            print(f"cone of {sr} deg, SCS               median {scs * 1000:7.2f} ms  ({scs_size:,} bytes)")
            print(f"same cone, TAP /sync              median {tap * 1000:7.2f} ms  ({tap_size:,} bytes)")
            print(f"SCS / TAP time ratio              {scs / tap:7.2f}")
        took, size = await median_of(repeat, lambda: get(f"{root}/moc/hipparcos.main/space.fits", {}))
        print(f"MOC of Hipparcos as FITS          median {took * 1000:7.2f} ms  ({size:,} bytes)")


async def coverage(dsn: str, repeat: int) -> None:
    pool = await db.create_pool(dsn, max_size=2)
    try:
        spec = CoverageSpec(table="hipparcos.main", ra="ra", dec="dec", order=8)
        times, scans = [], []
        for _ in range(max(3, repeat // 10)):
            started = time.perf_counter()
            computed = await compute_space(pool, spec)
            assert computed is not None  # the spec has a position
            moc, rows = computed
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            async with db.open_cursor(
                pool,
                "SELECT count(*) FROM hipparcos.main WHERE ra IS NOT NULL AND dec IS NOT NULL",
                statement_timeout=60,
            ) as cursor:
                await cursor.fetch(1)
            scans.append(time.perf_counter() - started)
        took, scan = statistics.median(times), statistics.median(scans)
        print(f"MOC of {rows:,} rows at order 8   median {took * 1000:7.1f} ms  ({moc.sky_fraction:.1%} of the sky)")
        print(f"count(*) over the same rows       median {scan * 1000:7.1f} ms")
        print(f"MOC / scan time ratio             {took / scan:7.2f}")
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with database(args.dsn) as dsn:
        load_hipparcos(dsn)
        with serving(dsn) as (_, url):
            asyncio.run(measure(url, args.repeat))
        asyncio.run(coverage(dsn, args.repeat))


if __name__ == "__main__":
    main()
