"""SIA 2.0 against TAP over the same ObsCore rows, and SODA cutouts against the whole file, measured in one run.

Usage::

    .venv/bin/python benchmarks/sia.py [--dsn DSN] [--repeat 30]

Without ``--dsn`` an embedded throwaway PostgreSQL is started; a separate ``vostack demo`` process then
serves, as in production (it loads the demo data and images the first time).
Reported, as medians over ``--repeat`` requests on one kept-alive connection (as pyvo and TOPCAT keep theirs):

* an SIA search around M13 (``POS=CIRCLE``, the footprint index) and TAP ``/sync`` of ``ivoa.obscore`` for the
  same centre (``CONTAINS`` of the centre, the point index), and their ratio: what the SIA layer adds to the
  database's answer;
* a SODA cutout of M13 (a circle of 0.02 degree, a quarter of the file) and the download of the whole file:
  what cutting costs;
* the PNG preview of M13 and of the GOES light curve (42,177 samples drawn), against the file download.
"""

from __future__ import annotations

import argparse
import asyncio

import httpx
from common import database, median_of, serving

M13 = "ivo://vostack.demo/vostack-demo-sky-images?m13_dss.fits"
GOES = "ivo://vostack.demo/vostack-demo-light-curves?goes15_xrs_20110607.fits"


async def measure(tap_url: str, repeat: int) -> None:
    root = tap_url.removesuffix("/tap")
    async with httpx.AsyncClient(timeout=120) as client:

        async def get(url: str, params: dict[str, str]) -> int:
            response = await client.get(url, params=params)
            assert response.status_code == 200, response.text[:500]
            return len(response.content)

        def timed(url: str, params: dict[str, str]) -> tuple[str, dict[str, str]]:
            return url, params

        cases = {
            "SIA POS=CIRCLE around M13": timed(f"{root}/sia/query", {"POS": "CIRCLE 250.42 36.46 0.5"}),
            "TAP /sync, same centre": timed(
                f"{tap_url}/sync",
                {
                    "LANG": "ADQL",
                    "RESPONSEFORMAT": "votable",
                    "QUERY": "SELECT * FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), "
                    "CIRCLE(250.42, 36.46, 0.5)) = 1",
                },
            ),
            "SODA cutout of M13 (r=0.02 deg)": timed(f"{root}/sia/soda", {"ID": M13, "CIRCLE": "250.42 36.46 0.02"}),
            "whole file of M13": timed(f"{root}/sia/file", {"ID": M13}),
            "PNG preview of M13": timed(f"{root}/sia/preview", {"ID": M13}),
            "PNG plot of the GOES curve": timed(f"{root}/sia/preview", {"ID": GOES}),
            "whole file of the GOES curve": timed(f"{root}/sia/file", {"ID": GOES}),
        }
        medians = {}
        for name, (url, params) in cases.items():
            took, size = await median_of(repeat, lambda url=url, params=params: get(url, params))  # type: ignore[misc]
            medians[name] = took
            print(f"{name:34} median {took * 1000:8.2f} ms  ({size:,} bytes)")
        ratios = (("SIA / TAP", "SIA POS=CIRCLE around M13", "TAP /sync, same centre"),
                  ("cutout / file", "SODA cutout of M13 (r=0.02 deg)", "whole file of M13"),
                  ("preview / file (M13)", "PNG preview of M13", "whole file of M13"),
                  ("plot / file (GOES)", "PNG plot of the GOES curve", "whole file of the GOES curve"))  # fmt: skip
        for label, top, bottom in ratios:
            print(f"{label:34} ratio  {medians[top] / medians[bottom]:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with database(args.dsn) as dsn, serving(dsn) as (_, url):
        asyncio.run(measure(url, args.repeat))


if __name__ == "__main__":
    main()
