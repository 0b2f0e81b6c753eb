"""Embargoed products: spectra with an owner group and a release date, through SSA, DataLink, getData and ObsCore.

A copy of the SpeX spectra (``embargo.spectra``) where ten spectra belong to the group "team" until a date
in the future, and five more until a date in the past (released).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from astropy.io.votable import parse
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from vostack import db, web
from vostack.auth import Auth, Identity, StaticTokens
from vostack.config import ServiceConfig
from vostack.demo import spex as demo_spex
from vostack.ssa import SSAService
from vostack.ssa.obscore import obscore_view_sql

pytestmark = pytest.mark.postgres

PREFIX = "vostack_embargo"
SETUP = """
DROP SCHEMA IF EXISTS embargo CASCADE;
CREATE SCHEMA embargo;
CREATE TABLE embargo.spectra AS SELECT * FROM spex.spectra;
-- spex.spectra has these columns already when the demo's private project was set up on this database first
ALTER TABLE embargo.spectra ADD COLUMN IF NOT EXISTS owner_group text,
  ADD COLUMN IF NOT EXISTS release_date timestamptz;
UPDATE embargo.spectra SET owner_group = NULL, release_date = NULL;
UPDATE embargo.spectra SET owner_group = 'team', release_date = now() + interval '1 year'
  WHERE pubdid IN (SELECT pubdid FROM embargo.spectra ORDER BY pubdid LIMIT 10);
UPDATE embargo.spectra SET owner_group = 'team', release_date = now() - interval '1 day'
  WHERE pubdid IN (SELECT pubdid FROM embargo.spectra ORDER BY pubdid OFFSET 10 LIMIT 5);
"""
TOKENS = {"member-token-0123456789": Identity.of("mia", ["team"]), "outsider-token-012345678": Identity.of("olga")}


@pytest.fixture(scope="module")
async def ssa(pool: db.Pool, spex: None, spex_wheel: Path) -> AsyncIterator[SSAService]:
    await db.execute(pool, SETUP)
    mapping = dataclasses.replace(
        demo_spex.MAPPING, table="embargo.spectra", owner_group="owner_group", release_date="release_date"
    )
    service = SSAService(
        mapping=mapping,
        products=demo_spex.SpexProducts(spex_wheel),
        settings=ServiceConfig(maxrec=10_000, hardlimit=10_000, role_prefix=PREFIX),
    )
    await service.start(pool)
    yield service
    await service.stop()


@pytest.fixture
async def clients(ssa: SSAService) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    auth = Auth.tokens(StaticTokens(TOKENS))
    app = Starlette(routes=[Mount("/ssa", ssa)], middleware=[Middleware(web.Authentication, auth=auth)])
    transport = httpx.ASGITransport(app=app)
    made = {
        who: httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers={"Authorization": f"Bearer {t}"} if t else {}
        )
        for who, t in (
            ("anonymous", None),
            ("member", "member-token-0123456789"),
            ("outsider", "outsider-token-012345678"),
        )
    }
    yield made
    for client in made.values():
        await client.aclose()


async def embargoed(pool: db.Pool) -> list[str]:
    async with pool.acquire() as conn:
        return [r[0] for r in await conn.fetch(
            "SELECT pubdid FROM embargo.spectra WHERE release_date > now() ORDER BY pubdid"
        )]  # fmt: skip


async def test_ssa_shows_embargoed_spectra_to_their_group_only(
    clients: dict[str, httpx.AsyncClient], pool: db.Pool
) -> None:
    hidden = await embargoed(pool)
    assert len(hidden) == 10
    found: dict[str, set[str]] = {}
    for who, client in clients.items():
        response = await client.get("/ssa/", params={"REQUEST": "queryData", "FORMAT": "native", "MAXREC": "10000"})
        assert response.status_code == 200, response.text
        table = parse(io.BytesIO(response.content)).get_first_table().to_table()
        found[who] = {str(v) for v in table["publisher_did"]}
    assert not found["anonymous"] & set(hidden) and found["anonymous"] == found["outsider"]
    assert set(hidden) <= found["member"]
    assert len(found["member"]) == len(found["anonymous"]) + 10 == 3084


async def test_datalink_and_getdata_of_an_embargoed_spectrum(
    clients: dict[str, httpx.AsyncClient], pool: db.Pool
) -> None:
    pubdid = (await embargoed(pool))[0]
    for who in ("anonymous", "outsider"):
        links = await clients[who].get("/ssa/datalink", params={"ID": pubdid})
        assert links.status_code == 200 and b"NotFoundFault" in links.content and b"#preview" not in links.content
        data = await clients[who].get("/ssa/", params={"REQUEST": "getData", "PUBDID": pubdid})
        unknown = await clients[who].get("/ssa/", params={"REQUEST": "getData", "PUBDID": pubdid + "x"})
        assert data.status_code == unknown.status_code == 404  # as for a spectrum that does not exist
    links = await clients["member"].get("/ssa/datalink", params={"ID": pubdid})
    assert b"#preview" in links.content
    data = await clients["member"].get("/ssa/", params={"REQUEST": "getData", "PUBDID": pubdid})
    assert data.status_code == 200 and data.content.startswith(b"SIMPLE")


async def test_postgresql_hides_embargoed_rows_from_any_query_of_a_reader_role(ssa: SSAService, pool: db.Pool) -> None:
    # whatever SQL reaches the table (no WHERE at all here), the release policy filters the rows
    anonymous = await db.reader_role(pool, PREFIX, ())
    member = await db.reader_role(pool, PREFIX, ("team",))
    count = "SELECT count(*) FROM embargo.spectra"
    for role, expected in ((anonymous, 3074), (member, 3084)):
        async with db.open_cursor(pool, count, statement_timeout=10, role=role) as cursor:
            assert (await cursor.fetch(1))[0][0] == expected
    # an ObsCore view over the table (made with security_invoker) gives the same rows
    view = obscore_view_sql(ssa.mapping, datalink_url="http://h/ssa/datalink")
    await db.execute(
        pool,
        view.replace("ivoa.obscore", "embargo.obscore").replace(
            "SCHEMA IF NOT EXISTS ivoa", "SCHEMA IF NOT EXISTS embargo"
        ),
    )
    await db.execute(pool, f'GRANT SELECT ON embargo.obscore TO "{anonymous}"')
    async with db.open_cursor(pool, "SELECT count(*) FROM embargo.obscore", statement_timeout=10, role=anonymous) as c:
        assert (await c.fetch(1))[0][0] == 3074
