"""The job store's own schema: created and migrated by vostack, concurrently, exactly once."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from vostack import db
from vostack.db import jobs as sql

pytestmark = pytest.mark.postgres


async def test_schema_is_created_at_the_current_version_and_migrating_again_changes_nothing(pool: db.Pool) -> None:
    schema = f"uws_mig_{secrets.token_hex(4)}"
    try:
        found = await asyncio.gather(*(sql.ensure_schema(pool, schema) for _ in range(4)))
        assert sorted(found) == [0, sql.SCHEMA_VERSION, sql.SCHEMA_VERSION, sql.SCHEMA_VERSION]
        versions = await pool.fetch(f"SELECT version FROM {schema}.schema_version ORDER BY version")
        assert [r["version"] for r in versions] == list(range(1, sql.SCHEMA_VERSION + 1))
        assert await sql.ensure_schema(pool, schema) == sql.SCHEMA_VERSION
    finally:
        await db.execute(pool, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def test_a_version_1_store_is_migrated_to_the_current_version(pool: db.Pool) -> None:
    schema = f"uws_mig_{secrets.token_hex(4)}"
    try:
        await db.execute(pool, f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.schema_version (version integer)")
        await db.execute(pool, sql._migrations(schema)[0] + f"; INSERT INTO {schema}.schema_version VALUES (1)")
        assert await sql.ensure_schema(pool, schema) == 1
        trigger = await pool.fetchval(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = 'jobs_notify' AND tgrelid = $1::regclass",
            f"{schema}.jobs",
        )
        assert "INSERT" not in trigger
    finally:
        await db.execute(pool, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
