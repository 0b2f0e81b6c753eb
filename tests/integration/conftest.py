"""Fixtures over the real database: a started TAP service and an HTTP client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from vostack import db
from vostack.cli import build_app
from vostack.demo import demo_config
from vostack.tap import TAPService


@pytest.fixture(scope="session")
async def tap(pool: db.Pool, hipparcos: None) -> AsyncIterator[TAPService]:
    service = TAPService(config=demo_config())
    async with service.serve(pool):
        yield service


@pytest.fixture
async def client(tap: TAPService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(tap))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
