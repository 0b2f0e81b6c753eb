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
from astropy.coordinates import Latitude, Longitude
from astropy.io.votable import parse
from mocpy import MOC
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from vostack import Site, db, web
from vostack.auth import Auth, Identity, StaticTokens
from vostack.config import PublishConfig, ServiceConfig, TableMeta
from vostack.demo import spex as demo_spex
from vostack.moc import CoverageConfig, CoverageService, TableCoverage
from vostack.obscore import view_sql
from vostack.ssa import SSAService
from vostack.ssa.obscore import obscore_select
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres

PREFIX = "vostack_embargo"


def embargo_sql(table: str, *, hidden: str, released: str, others: str = "NULL") -> str:
    """Copy ``table`` as ``<table>`` with an embargo: the rows where ``hidden`` holds are the group "team"'s until
    next year, where ``released`` holds until yesterday; the other rows have the release date ``others``."""
    copy, source = table.split(" AS ")
    return f"""
CREATE TABLE {copy} AS SELECT * FROM {source};
-- the source has these columns already when the demo's private project was set up on this database first
ALTER TABLE {copy} ADD COLUMN IF NOT EXISTS owner_group text, ADD COLUMN IF NOT EXISTS release_date timestamptz;
UPDATE {copy} SET owner_group = NULL, release_date = {others};
UPDATE {copy} SET owner_group = 'team', release_date = now() + interval '1 year' WHERE {hidden};
UPDATE {copy} SET owner_group = 'team', release_date = now() - interval '1 day' WHERE {released};
"""


SETUP = "DROP SCHEMA IF EXISTS embargo CASCADE; CREATE SCHEMA embargo;" + embargo_sql(
    "embargo.spectra AS spex.spectra",
    hidden="pubdid IN (SELECT pubdid FROM spex.spectra ORDER BY pubdid LIMIT 10)",
    released="pubdid IN (SELECT pubdid FROM spex.spectra ORDER BY pubdid OFFSET 10 LIMIT 5)",
)
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
    select = obscore_select(ssa.mapping, datalink_url="http://h/ssa/datalink")
    await db.execute(pool, view_sql([select], security_invoker=True, relation="embargo.obscore"))
    await db.execute(pool, f'GRANT SELECT ON embargo.obscore TO "{anonymous}"')
    async with db.open_cursor(pool, "SELECT count(*) FROM embargo.obscore", statement_timeout=10, role=anonymous) as c:
        assert (await c.fetch(1))[0][0] == 3074


@pytest.fixture(scope="module")
async def public_ssa(pool: db.Pool, ssa: SSAService, spex_wheel: Path) -> AsyncIterator[SSAService]:
    """The same spectra with their metadata public (``metadata_public``): a copy of the table, rows for all."""
    await db.execute(pool, "DROP TABLE IF EXISTS embargo.public_spectra; "
                     "CREATE TABLE embargo.public_spectra AS SELECT * FROM embargo.spectra")  # fmt: skip
    service = SSAService(
        mapping=dataclasses.replace(ssa.mapping, table="embargo.public_spectra", metadata_public=True),
        products=demo_spex.SpexProducts(spex_wheel),
        settings=ssa.settings,
    )
    await service.start(pool)
    yield service
    await service.stop()


async def test_public_metadata_show_every_spectrum_but_refuse_its_data(public_ssa: SSAService, pool: db.Pool) -> None:
    auth = Auth.tokens(StaticTokens(TOKENS), login_url="/login")
    app = Starlette(routes=[Mount("/ssa", public_ssa)], middleware=[Middleware(web.Authentication, auth=auth)])
    transport = httpx.ASGITransport(app=app)
    pubdid = (await embargoed(pool))[0]
    released = "SELECT pubdid FROM embargo.spectra WHERE release_date IS NULL ORDER BY pubdid LIMIT 1"
    async with pool.acquire() as conn:
        public = await conn.fetchval(released)
    for who, token, refusal in (("anonymous", None, 401), ("outsider", "outsider-token-012345678", 403),
                                ("member", "member-token-0123456789", 200)):  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
            found = await client.get("/ssa/", params={"REQUEST": "queryData", "PUBDID": pubdid})
            assert found.status_code == 200
            assert parse(io.BytesIO(found.content)).get_first_table().array.shape[0] >= 1, who  # the record: public
            data = await client.get("/ssa/", params={"REQUEST": "getData", "PUBDID": pubdid})
            links = await client.get("/ssa/datalink", params={"ID": pubdid})
            preview = await client.get("/ssa/preview", params={"ID": pubdid})
            assert data.status_code == links.status_code == preview.status_code == refusal, who
            if refusal == 401:
                assert "ivoa_bearer" in data.headers["www-authenticate"] and b"not released" in data.content
                assert b'QUERY_STATUS" value="ERROR"' in data.content
            for url, params in (("/ssa/", {"REQUEST": "getData", "PUBDID": public}), ("/ssa/datalink", {"ID": public})):
                assert (await client.get(url, params=params)).status_code == 200, who
    # PostgreSQL: every reader role sees every row; the release condition, evaluated for the role, refuses the data
    anonymous = await db.reader_role(pool, PREFIX, ())
    condition = db.release_condition(PREFIX, "owner_group", "release_date")
    sql = f"SELECT count(*), count(*) FILTER (WHERE NOT {condition}) FROM embargo.public_spectra"
    async with db.open_cursor(pool, sql, statement_timeout=10, role=anonymous) as cursor:
        assert tuple((await cursor.fetch(1))[0]) == (3084, 10)


async def test_the_moc_of_a_table_with_embargoed_rows_covers_what_everyone_sees(ssa: SSAService, pool: db.Pool) -> None:
    config = PublishConfig(
        service=ServiceConfig(tap_schema="tap_schema_embargo", role_prefix=PREFIX),
        schemas={"embargo": None},
        tables={"embargo.spectra": TableMeta(description="spectra, some embargoed")},
    )
    tap = TAPService(config=config, row_security=True, async_options={"name": "tapembargo"})
    coverage = CoverageService(tap=tap, config=CoverageConfig(order=10, tables={"embargo.spectra": TableCoverage(
        ra="ra", dec="dec", time_min="t_min", time_max="t_max", time_format="mjd")}))  # fmt: skip
    async with Site(services=[tap, coverage]).serve(pool):
        await coverage.recompute(["embargo.spectra"])
        space, timed = coverage.stored("embargo.spectra", "space"), coverage.stored("embargo.spectra", "time")
        assert space is not None and timed is not None
        assert space.rows == timed.rows == 3074  # not the 10 spectra still under embargo
        hidden = "SELECT ra, dec FROM embargo.spectra WHERE release_date > now()"
        async with pool.acquire() as conn:
            positions = await conn.fetch(hidden)
        public = "SELECT ra, dec FROM embargo.spectra WHERE release_date IS NULL OR release_date <= now()"
        async with pool.acquire() as conn:
            everyone = await conn.fetch(public)
        moc = coverage.moc("embargo.spectra", "space")
        assert isinstance(moc, MOC)
        expected = MOC.from_lonlat(
            lon=Longitude([r[0] for r in everyone], unit="deg"), lat=Latitude([r[1] for r in everyone], unit="deg"),
            max_norder=10,
        )  # fmt: skip
        assert moc == expected
        assert not moc.contains_lonlat(
            Longitude([r[0] for r in positions], unit="deg"), Latitude([r[1] for r in positions], unit="deg")
        ).all()  # at least one embargoed spectrum lies where no public one does
