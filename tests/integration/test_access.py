"""Private projects: what anonymous callers, members and non-members see through TAP, and what PostgreSQL refuses.

The site publishes hipparcos.main (public), project.plans (restricted to the group "team", its column
budget to "finance") and project.notes (public, its column secret to "team").
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from vostack import adql, db, web
from vostack.auth import ANONYMOUS, Auth, Identity, StaticTokens
from vostack.config import ColumnMeta, Example, PublishConfig, ServiceConfig, TableMeta
from vostack.errors import UsageError
from vostack.tap import TAPService

pytestmark = pytest.mark.postgres

TOKENS = {
    "anonymous": None,
    "member": "member-token-0123456789",
    "treasurer": "treasurer-token-0123456789",
    "outsider": "outsider-token-0123456789",
}
IDENTITIES = {
    "member-token-0123456789": Identity.of("mia", ["team"]),
    "treasurer-token-0123456789": Identity.of("tom", ["team", "finance"]),
    "outsider-token-0123456789": Identity.of("olga", ["astronomers"]),
}

SETUP = """
DROP SCHEMA IF EXISTS project CASCADE;
CREATE SCHEMA project;
CREATE TABLE project.plans (id integer PRIMARY KEY, target text, budget integer);
INSERT INTO project.plans VALUES (1, 'M31', 1000), (2, 'M33', 2000);
CREATE TABLE project.notes (id integer, note text, secret text);
INSERT INTO project.notes VALUES (1, 'public note', 'private remark');
"""


def config() -> PublishConfig:
    return PublishConfig(
        service=ServiceConfig(title="access test", tap_schema="tap_schema_access", role_prefix="vostack_test"),
        schemas={"hipparcos": None, "project": "a private project"},
        tables={
            "hipparcos.main": TableMeta(description="public"),
            "project.plans": TableMeta(
                description="the project's plans", groups=("team",), columns={"budget": ColumnMeta(groups=("finance",))}
            ),
            "project.notes": TableMeta(description="notes", columns={"secret": ColumnMeta(groups=("team",))}),
        },
        examples=(
            Example("bright", "SELECT TOP 3 hip FROM hipparcos.main ORDER BY hpmag"),
            Example("plans", "SELECT id, target FROM project.plans"),
        ),
    )


@pytest.fixture(scope="module")
async def tap(pool: db.Pool, hipparcos: None) -> AsyncIterator[TAPService]:
    await db.execute(pool, SETUP)
    service = TAPService(config=config(), async_options={"name": "tapaccess"})  # a job queue of its own
    async with service.serve(pool):
        yield service


@pytest.fixture
async def clients(tap: TAPService) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    auth = Auth.tokens(StaticTokens(IDENTITIES), login_url="/login")
    app = Starlette(routes=[Mount("/tap", tap)], middleware=[Middleware(web.Authentication, auth=auth)])
    transport = httpx.ASGITransport(app=app)
    made = {}
    for who, token in TOKENS.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        made[who] = httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers)
    yield made
    for client in made.values():
        await client.aclose()


async def query(client: httpx.AsyncClient, adql_text: str) -> httpx.Response:
    return await client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": adql_text, "RESPONSEFORMAT": "csv"})


def rows(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return response.text.strip().splitlines()[1:]


async def test_tap_schema_rows_are_what_each_identity_sees(clients: dict[str, httpx.AsyncClient]) -> None:
    tables = "SELECT table_name FROM tap_schema.tables WHERE schema_name = 'project' ORDER BY table_name"
    columns = "SELECT table_name || '.' || column_name FROM tap_schema.columns WHERE table_name LIKE 'project.%'"
    schemas = "SELECT schema_name FROM tap_schema.schemas ORDER BY schema_name"
    seen = {who: rows(await query(client, tables)) for who, client in clients.items()}
    assert seen == {
        "anonymous": ["project.notes"],
        "member": ["project.notes", "project.plans"],
        "treasurer": ["project.notes", "project.plans"],
        "outsider": ["project.notes"],
    }
    cols = {who: sorted(rows(await query(client, columns))) for who, client in clients.items()}
    assert cols["anonymous"] == ["project.notes.id", "project.notes.note"]
    assert cols["member"] == [
        "project.notes.id", "project.notes.note", "project.notes.secret", "project.plans.id", "project.plans.target"
    ]  # fmt: skip
    assert "project.plans.budget" in cols["treasurer"]
    assert "tap_schema" in rows(await query(clients["anonymous"], schemas))
    keys = "SELECT k.from_table, c.from_column FROM tap_schema.keys AS k JOIN tap_schema.key_columns AS c USING(key_id)"
    assert "tap_schema.columns,table_name" in rows(await query(clients["anonymous"], keys))


async def test_vosi_tables_and_the_page_show_only_visible_tables(clients: dict[str, httpx.AsyncClient]) -> None:
    anonymous = await clients["anonymous"].get("/tap/tables")
    assert b"project.notes" in anonymous.content and b"project.plans" not in anonymous.content
    assert b"<name>secret</name>" not in anonymous.content
    member = await clients["member"].get("/tap/tables")
    assert b"project.plans" in member.content and b"<name>budget</name>" not in member.content
    assert (await clients["treasurer"].get("/tap/tables/project.plans")).content.count(b"<name>budget</name>") == 1
    hidden = await clients["anonymous"].get("/tap/tables/project.plans")
    absent = await clients["anonymous"].get("/tap/tables/project.nothere")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.text.replace("plans", "X") == absent.text.replace("nothere", "X")
    page = await clients["anonymous"].get("/tap/")
    assert "project.notes" in page.text and "project.plans" not in page.text
    assert "project.plans" in (await clients["member"].get("/tap/")).text
    examples = await clients["anonymous"].get("/tap/examples")
    assert b"hipparcos.main" in examples.content and b"project.plans" not in examples.content
    assert b"project.plans" in (await clients["member"].get("/tap/examples")).content


async def test_an_invisible_table_or_column_answers_as_a_nonexistent_one(clients: dict[str, httpx.AsyncClient]) -> None:
    def message(response: httpx.Response) -> str:
        assert response.status_code == 400
        return re.sub(r"(plans|nothere|budget|nosuch)", "X", response.text)

    for who in ("anonymous", "outsider"):
        client = clients[who]
        hidden = await query(client, "SELECT id FROM project.plans")
        absent = await query(client, "SELECT id FROM project.nothere")
        assert message(hidden) == message(absent)
        near = await query(client, "SELECT id FROM project.plan")  # no suggestion names the hidden table
        assert "plans" not in near.text
    member = clients["member"]
    hidden = await query(member, "SELECT budget FROM project.plans")
    absent = await query(member, "SELECT nosuch FROM project.plans")
    assert message(hidden) == message(absent)
    assert rows(await query(member, "SELECT id, target FROM project.plans ORDER BY id")) == ["1,M31", "2,M33"]
    assert rows(await query(clients["treasurer"], "SELECT SUM(budget) FROM project.plans")) == ["3000"]
    assert rows(await query(clients["anonymous"], "SELECT note FROM project.notes")) == ["public note"]
    assert "secret" not in (await query(clients["anonymous"], "SELECT * FROM project.notes")).text
    assert rows(await query(member, "SELECT secret FROM project.notes")) == ["private remark"]


async def test_postgresql_refuses_what_the_translator_would_hide(tap: TAPService, pool: db.Pool) -> None:
    # the leak test: translate with every table visible (the translator's own check switched off), run as anonymous
    everything = adql.Translator(tap.tableset)
    anonymous = await tap.role_for(ANONYMOUS)
    member = await tap.role_for(IDENTITIES["member-token-0123456789"])
    assert anonymous is not None and member is not None and anonymous != member

    async def run(adql_text: str, role: str) -> list[object]:
        sql = everything.translate(adql_text).sql
        async with db.open_cursor(pool, sql, statement_timeout=10, role=role) as cursor:
            return [tuple(r) for r in await cursor.fetch(100)]

    with pytest.raises(UsageError, match="permission denied"):
        await run("SELECT id, target FROM project.plans", anonymous)
    with pytest.raises(UsageError, match="permission denied"):
        await run("SELECT secret FROM project.notes", anonymous)
    with pytest.raises(UsageError, match="permission denied"):
        await run("SELECT budget FROM project.plans", member)
    assert await run("SELECT id, target FROM project.plans ORDER BY id", member) == [(1, "M31"), (2, "M33")]
    assert await run("SELECT note FROM project.notes", anonymous) == [("public note",)]
    # TAP_SCHEMA read directly as the anonymous role: PostgreSQL's row security leaves the private rows out
    raw = "SELECT table_name FROM tap_schema_access.tables WHERE table_name LIKE 'project.%' ORDER BY 1"
    async with db.open_cursor(pool, raw, statement_timeout=10, role=anonymous) as cursor:
        assert [r[0] for r in await cursor.fetch(10)] == ["project.notes"]
    async with db.open_cursor(pool, raw.replace("tables", "columns"), statement_timeout=10, role=anonymous) as cursor:
        assert len(await cursor.fetch(10)) == 2  # notes.id, notes.note


async def test_identities_with_the_same_view_share_one_translator(tap: TAPService) -> None:
    # groups the rules do not name do not matter: one translator (and cache of query shapes) per view
    assert tap.translator_for(Identity.of("a", ["astronomers"])) is tap.translator_for(ANONYMOUS)
    assert tap.translator_for(Identity.of("b", ["team", "x"])) is tap.translator_for(Identity.of("c", ["team"]))
    assert tap.translator_for(Identity.of("d", ["team"])) is not tap.translator_for(ANONYMOUS)


async def test_jobs_belong_to_their_creator_and_run_with_what_it_sees(clients: dict[str, httpx.AsyncClient]) -> None:
    member, outsider, anonymous = clients["member"], clients["outsider"], clients["anonymous"]
    created = await member.post(
        "/tap/async",
        data={"LANG": "ADQL", "QUERY": "SELECT id, target FROM project.plans ORDER BY id", "PHASE": "RUN",
              "RESPONSEFORMAT": "csv"},
    )  # fmt: skip
    assert created.status_code == 303
    job_url = created.headers["location"]
    job = await member.get(job_url, params={"WAIT": "30", "PHASE": "EXECUTING"})
    job = await member.get(job_url, params={"WAIT": "30"})
    assert b"COMPLETED" in job.content, job.text
    assert b"<uws:ownerId>mia</uws:ownerId>" in job.content
    # another identity, or nobody, finds no such job; the lists are each one's own
    for other in (outsider, anonymous):
        assert (await other.get(job_url)).status_code == 404
        assert (await other.get(job_url + "/results/result")).status_code == 404
        assert job_url.rsplit("/", 1)[-1].encode() not in (await other.get("/tap/async")).content
    assert job_url.rsplit("/", 1)[-1].encode() in (await member.get("/tap/async")).content
    # the result's URL is signed and expires: whoever holds it may fetch it without credentials, until then
    href = re.search(rb'xlink:href="([^"]+/results/result[^"]*)"', job.content)
    assert href is not None
    signed = href.group(1).decode().replace("&amp;", "&")
    assert "signature=" in signed and "expires=" in signed
    fetched = await anonymous.get(signed)
    assert fetched.status_code == 200 and fetched.text.strip().splitlines()[1:] == ["1,M31", "2,M33"]
    assert (await anonymous.get(signed.replace("signature=", "signature=0"))).status_code == 404
    expired = re.sub(r"expires=\d+", "expires=1000", signed)
    assert (await anonymous.get(expired)).status_code == 404
    # a job of an outsider on the private table fails as for a table that does not exist
    failed = await outsider.post(
        "/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT id FROM project.plans", "PHASE": "RUN"}
    )
    failed_job = await outsider.get(failed.headers["location"], params={"WAIT": "30"})
    failed_job = await outsider.get(failed.headers["location"], params={"WAIT": "30"})
    assert b"ERROR" in failed_job.content and b"M31" not in failed_job.content
    # clients cannot forge the groups a job runs with
    forged = await outsider.post(
        "/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT id FROM project.plans", "UWS.GROUPS": "team"}
    )
    assert forged.status_code == 400
