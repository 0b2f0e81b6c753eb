"""A TAP service with its /async jobs, a pg_sleep job service and the /compute demo, each in a job schema of its own."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount

from vostack import db
from vostack.demo import demo_config
from vostack.demo.compute import compute_service
from vostack.tap import TAPService
from vostack.uws import DirectoryResultStore, FunctionExecutor, JobContext, Parameter, UWSService


def user(request: Request) -> str | None:
    """The test portal's authentication: the X-User header."""
    return request.headers.get("x-user")


async def sleep_in_postgresql(*, seconds: float, marker: str, context: JobContext) -> bytes:
    """A job that waits in PostgreSQL; ``marker`` finds its statement in pg_stat_activity."""
    sql = f"SELECT pg_sleep({float(seconds)!r}) AS {'marker_' + ''.join(c for c in marker if c.isalnum())}"
    async with db.open_cursor(context.pool, sql, statement_timeout=3600) as cursor:
        await cursor.fetch(1)
    return b"slept"


class Services:
    def __init__(self, tap: TAPService, sleep: UWSService, compute: UWSService, results: Path) -> None:
        self.tap, self.sleep, self.compute, self.results = tap, sleep, compute, results


@pytest.fixture(scope="module")
async def uws_pool(postgres_dsn: str) -> AsyncIterator[db.Pool]:
    pool = await db.create_pool(postgres_dsn, max_size=12)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def services(
    uws_pool: db.Pool, hipparcos: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Services]:
    schema = f"uws_test_{secrets.token_hex(4)}"
    results_dir = tmp_path_factory.mktemp("results")
    results = DirectoryResultStore(results_dir)
    options = {"schema": schema, "results": results, "identity": user, "max_wait": 3.0, "lease": 3.0}
    tap = TAPService(config=demo_config(), async_options=options)
    sleep = UWSService(
        name="sleep",
        executor=FunctionExecutor(
            sleep_in_postgresql, parameters=[Parameter("SECONDS", float), Parameter("MARKER")], context=True
        ),
        max_concurrent=1,
        **options,  # type: ignore[arg-type]
    )
    compute = compute_service(**options)
    for service in (tap, sleep, compute):
        await service.start(uws_pool)
    yield Services(tap, sleep, compute, results_dir)
    for service in (compute, sleep, tap):
        await service.stop()
    await db.execute(uws_pool, f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(
        routes=[Mount("/tap", services.tap), *services.sleep.routes("/sleep"), *services.compute.routes("/compute")]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
        yield client
