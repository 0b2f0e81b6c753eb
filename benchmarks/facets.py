"""Facet refreshes on Tycho-2 (1,871,011 rows) and Hipparcos (117,955), beside a plain ``COUNT(*) GROUP BY``.

Usage::

    .venv/bin/python benchmarks/facets.py [--dsn DSN] [--repeat 9]

Without ``--dsn`` an embedded throwaway PostgreSQL is started.  Tycho-2 is loaded from Debian's
``astrometry-data-tycho2-07-littleendian`` the first time (``benchmarks/tycho2.py``: ``apt-get download``,
about 35 s with its indexes), Hipparcos from its wheel.  For each selection the script prints, as medians
over ``--repeat`` runs after a warm-up, in the same process and on the same pool:

* ``cold``: ``GET /facets?<selection>`` of the facet API (through its ASGI app, JSON included) with nothing
  kept, so every facet's aggregate runs in PostgreSQL: each facet under the filters of the others (and the
  row count when every facet has a filter);
* ``refresh``: the same as a site runs it: the whole table's counts kept since the start (``table_ttl``; a
  facet's own filter does not apply to it, so after one click that facet shows them), the selection's
  computed (``cache_ttl = 0``);
* ``cached``: the same request once more with the selection's counts kept (a user going back and forth);
* ``rows``: ``GET /rows?<selection>`` (the first page of 50 rows, sorted);
* ``GROUP BY``: the plain ``SELECT <column>, COUNT(*) FROM <table> WHERE <selection> GROUP BY <column>`` of
  the selection, read the same way (:func:`vostack.db.fetch_all`), and the ratio refresh / GROUP BY.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import time
import tomllib
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

import httpx
from common import database
from starlette.applications import Starlette
from starlette.routing import Mount
from tycho2 import METADATA, ensure_tycho2

from vostack import Site, db
from vostack.config import parse_config
from vostack.demo import demo_config, ensure_hipparcos
from vostack.facets import Facet, FacetSearch, FacetService
from vostack.tap import TAPService

#: (label, facet API parameters, the WHERE clause of the same selection in SQL, the column of the GROUP BY)
TYCHO = [
    ("no filter", [], "", "sweep"),
    ("vtmag 9..10 (11 %)", [("vtmag", "9..10")], "WHERE vtmag >= 9 AND vtmag < 10", "sweep"),
    ("sweep = 17 (0.4 %)", [("sweep", "17")], "WHERE sweep = 17", "floor(vtmag)"),
    (
        "cone 10° at Orion, vtmag < 10",
        [("position", "cone:83.8,-5.4,10"), ("vtmag", "..10")],
        "WHERE spoint(radians(ra), radians(dec)) <@ scircle(spoint(radians(83.8), radians(-5.4)), radians(10)) "
        "AND vtmag < 10",
        "sweep",
    ),
    ("sweep 1..3, vtmag 11..12", [("sweep", "1"), ("sweep", "2"), ("sweep", "3"), ("vtmag", "11..12")],
     "WHERE sweep IN (1, 2, 3) AND vtmag >= 11 AND vtmag < 12", "floor(vtmag)"),
]  # fmt: skip
HIPPARCOS = [
    ("no filter", [], "", "sn"),
    ("sn = 5", [("sn", "5")], "WHERE sn = 5", "va"),
    ("hpmag 5..7, sn = 5", [("sn", "5"), ("hpmag", "5..7")], "WHERE sn = 5 AND hpmag >= 5 AND hpmag < 7", "va"),
    ("plx >= 10, b_v 0.5..1", [("plx", "10.."), ("b_v", "0.5..1")], "WHERE plx >= 10 AND b_v >= 0.5 AND b_v < 1",
     "sn"),
]  # fmt: skip


def searches(tap: TAPService, *, cache_ttl: float, table_ttl: float) -> dict[str, FacetService]:
    """The facet APIs of both tables, keeping counts ``cache_ttl`` and ``table_ttl`` seconds (0: not kept)."""
    tycho = FacetSearch(
        tap=tap,
        table="tycho2.main",
        facets=[Facet.categorical("sweep"), Facet.numeric("vtmag"), Facet.position("ra", "dec")],
        cache_ttl=cache_ttl,
        table_ttl=table_ttl,
    )
    hipparcos = FacetSearch(
        tap=tap,
        table="hipparcos.main",
        facets=[
            Facet.categorical("sn"),
            Facet.categorical("va"),
            Facet.numeric("hpmag"),
            Facet.numeric("b_v"),
            Facet.numeric("plx"),
            Facet.position("ra", "dec"),
        ],
        columns=["hip", "ra", "dec", "hpmag", "b_v", "plx"],
        cache_ttl=cache_ttl,
        table_ttl=table_ttl,
    )
    return {"tycho2.main": FacetService(search=tycho), "hipparcos.main": FacetService(search=hipparcos)}


async def median(repeat: int, run: Callable[[], Awaitable[object]]) -> float:
    """The median seconds of ``repeat`` runs after one warm-up."""
    await run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(dsn: str, repeat: int) -> None:
    pool = await db.create_pool(dsn, max_size=8)
    try:
        await ensure_hipparcos(pool, progress=False)
        await ensure_tycho2(pool)
        base = demo_config()
        tycho = parse_config(tomllib.loads(METADATA))
        config = dataclasses.replace(
            base, schemas={**base.schemas, **tycho.schemas}, tables={**base.tables, **tycho.tables}
        )
        tap = TAPService(config=config)
        kinds = {
            "cold": searches(tap, cache_ttl=0, table_ttl=0),
            "site": searches(tap, cache_ttl=0, table_ttl=3600),
            "warm": searches(tap, cache_ttl=3600, table_ttl=3600),
        }
        services = [s for kind in kinds.values() for s in kind.values()]
        async with Site(services=[tap, *services]).serve(pool):
            routes = [Mount(f"/{kind}/{t}", s) for kind, apis in kinds.items() for t, s in apis.items()]
            transport = httpx.ASGITransport(app=Starlette(routes=routes))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:

                async def get(url: str) -> object:
                    response = await client.get(url)
                    assert response.status_code == 200, response.text[:300]
                    return response.json()

                for table, cases in (("tycho2.main", TYCHO), ("hipparcos.main", HIPPARCOS)):
                    print(f"\n{table}: medians of {repeat} runs (ms)")
                    print(f"{'selection':32} {'total':>9} {'cold':>7} {'refresh':>8} {'cached':>7} {'rows':>6} "
                          f"{'GROUP BY':>9} {'cold/GB':>8} {'refresh/GB':>10}")  # fmt: skip
                    for label, params, where, column in cases:
                        query = urlencode(params)
                        answer = await get(f"/cold/{table}/facets?{query}")
                        assert isinstance(answer, dict)

                        async def timed(kind: str, what: str = "facets", table: str = table, q: str = query) -> float:
                            return await median(repeat, lambda: get(f"/{kind}/{table}/{what}?{q}"))

                        cold = await timed("cold")
                        refresh = await timed("site")
                        cached = await timed("warm")
                        rows = await timed("cold", "rows")
                        sql = f"SELECT {column}, COUNT(*) FROM {table} {where} GROUP BY 1"
                        plain = await median(repeat, lambda sql=sql: db.fetch_all(pool, sql, statement_timeout=120))  # type: ignore[misc]
                        print(
                            f"{label:32} {answer['total']:>9,} {cold * 1000:7.1f} {refresh * 1000:8.1f} "
                            f"{cached * 1000:7.2f} {rows * 1000:6.1f} {plain * 1000:9.1f} {cold / plain:8.2f} "
                            f"{refresh / plain:10.2f}"
                        )
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", help="use this database (default: a throwaway embedded PostgreSQL)")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with database(args.dsn) as dsn:
        asyncio.run(measure(dsn, args.repeat))


if __name__ == "__main__":
    main()
