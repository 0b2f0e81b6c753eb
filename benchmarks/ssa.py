"""SSA 1.1 against TAP on ivoa.obscore for the same cone, and the cost of each product, measured in one run.

Usage::

    .venv/bin/python benchmarks/ssa.py [--dsn DSN] [--repeat 30]

Without ``--dsn`` an embedded throwaway PostgreSQL is started.  The demo catalogue and the
SpeX spectra are loaded first (the spectra load is timed), then a separate ``vostack demo``
process serves, as in production.  Reported, as medians over ``--repeat`` runs:

* a cone of 30 degrees (several hundred spectra) through SSA queryData (FORMAT=native) and
  the same cone through ``/tap/sync`` on ``ivoa.obscore``, and their ratio;
* one spectrum through getData as the original FITS file, as the Spectrum data model VOTable
  made on the fly, and as the SVG preview, with the ratios to the FITS file.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx
from common import database, median_of, serving

from vostack import db
from vostack.demo import ensure_hipparcos
from vostack.demo.spex import ensure_spex, fetch_wheel

RA, DEC, DIAMETER = 201.0, 5.0, 30.0
PUBDID = "ivo://vostack.demo/spex?10001"


async def measure(tap_url: str, repeat: int) -> None:
    ssa_url = tap_url.removesuffix("/tap") + "/ssa/"
    adql = (
        "SELECT * FROM ivoa.obscore WHERE "
        f"CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {RA}, {DEC}, {DIAMETER / 2})) = 1"
    )
    async with httpx.AsyncClient(timeout=120) as client:

        async def get(url: str, params: dict[str, str], marker: bytes = b"") -> int:
            response = await client.get(url, params=params)
            assert response.status_code == 200 and marker in response.content, response.text[:500]
            return len(response.content)

        ssa_params = {"REQUEST": "queryData", "POS": f"{RA},{DEC}", "SIZE": str(DIAMETER), "FORMAT": "native"}
        ssa, ssa_size = await median_of(repeat, lambda: get(ssa_url, ssa_params, b"<BINARY2>"))
        tap, tap_size = await median_of(
            repeat, lambda: get(tap_url + "/sync", {"LANG": "ADQL", "QUERY": adql}, b"<BINARY2>")
        )
        print(f"cone of {DIAMETER} deg, SSA queryData       median {ssa * 1000:7.1f} ms  ({ssa_size:,} bytes)")
        print(f"same cone, TAP on ivoa.obscore      median {tap * 1000:7.1f} ms  ({tap_size:,} bytes)")
        print(f"SSA / TAP time ratio                {ssa / tap:7.2f}")
        products = {
            "getData FITS (original file)": {"REQUEST": "getData", "PUBDID": PUBDID},
            "getData Spectrum VOTable": {"REQUEST": "getData", "PUBDID": PUBDID, "FORMAT": "votable"},
        }
        base, _ = await median_of(repeat, lambda: get(ssa_url, products["getData FITS (original file)"]))
        for name, params in products.items():
            took, size = await median_of(repeat, lambda params=params: get(ssa_url, params))  # type: ignore[misc]
            print(f"{name:<35} median {took * 1000:7.1f} ms  ({size:,} bytes)  ratio to FITS {took / base:5.2f}")
        took, size = await median_of(repeat, lambda: get(ssa_url + "preview", {"ID": PUBDID}, b"<svg"))
        print(f"{'SVG preview':<35} median {took * 1000:7.1f} ms  ({size:,} bytes)  ratio to FITS {took / base:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    wheel = fetch_wheel(Path(__file__).resolve().parent.parent / ".vostack" / "splat")
    with database(args.dsn) as dsn:

        async def load() -> None:
            pool = await db.create_pool(dsn)
            try:
                await ensure_hipparcos(pool, progress=False)
                started = time.perf_counter()
                report = await ensure_spex(pool, wheel)
                if report is not None:
                    print(
                        f"loaded {report.loaded:,} of {report.rows:,} spectra in {time.perf_counter() - started:.1f} s"
                        f" (read from the wheel, one FITS file each; left out: {report.skipped})"
                    )
            finally:
                await pool.close()

        asyncio.run(load())
        with serving(dsn) as (_, url):
            asyncio.run(measure(url, args.repeat))


if __name__ == "__main__":
    main()
