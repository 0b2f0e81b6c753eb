"""Synchronous TAP against the real database with the Hipparcos demo loaded (TAP 1.1 §2, DALI 1.1)."""

from __future__ import annotations

import io
import math
from typing import Any

import astropy.units as u
import httpx
import pytest
from astropy.io.votable import parse
from astropy.io.votable.tree import VOTableFile

from vostack.demo import hipparcos

pytestmark = pytest.mark.postgres

TABLE = hipparcos.TABLE


async def sync(client: httpx.AsyncClient, query: str, *, method: str = "POST", **extra: str) -> httpx.Response:
    params = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, **extra}
    if method == "GET":
        return await client.get("/tap/sync", params=params)
    return await client.post("/tap/sync", data=params)


def votable(response: httpx.Response) -> VOTableFile:
    return parse(io.BytesIO(response.content), verify="exception")


def query_status(doc: VOTableFile) -> list[tuple[str, str]]:
    return [(i.value, (i.content or "").strip()) for i in doc.resources[0].infos if i.name == "QUERY_STATUS"]


def brightest(n: int) -> list[tuple[int, float]]:
    """The n brightest stars by Hp, computed from the catalogue file itself, not the database."""
    col = hipparcos.COLUMNS.index("hpmag")
    rows = [(int(str(r[0])), float(str(r[col]))) for r in hipparcos.iter_rows() if r[col] is not None]
    return sorted(rows, key=lambda r: (r[1], r[0]))[:n]


@pytest.mark.parametrize(
    ("fmt", "element"),
    [("votable", "BINARY2"), ("votable/b2", "BINARY2"), ("votable/td", "TABLEDATA"), ("votable/b", "BINARY")],
)
async def test_top_5_by_magnitude_in_every_votable_serialization(
    client: httpx.AsyncClient, fmt: str, element: str
) -> None:
    response = await sync(client, f"SELECT TOP 5 hip, hpmag, ra, dec FROM {TABLE} ORDER BY hpmag, hip",
                          RESPONSEFORMAT=fmt)  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    assert f"<{element}".encode() in response.content
    doc = votable(response)
    table = doc.get_first_table()
    expected = brightest(5)
    assert [int(h) for h in table.array["hip"]] == [h for h, _ in expected]
    assert [float(m) for m in table.array["hpmag"]] == pytest.approx([m for _, m in expected])
    fields = {f.name: f for f in table.fields}
    assert str(fields["ra"].unit) == "deg" and fields["ra"].ucd == "pos.eq.ra;meta.main"
    assert str(fields["hpmag"].unit) == "mag"
    assert fields["hip"].datatype == "int" and fields["ra"].datatype == "double"
    assert all(f.description for f in table.fields)
    assert query_status(doc)[0][0] == "OK"


async def test_result_fields_carry_the_published_metadata(client: httpx.AsyncClient, tap: Any) -> None:
    response = await sync(client, f"SELECT TOP 1 * FROM {TABLE}")
    table = votable(response).get_first_table()
    published = tap.tableset.table(TABLE)
    assert [f.name for f in table.fields] == [c.name for c in published.columns]
    for field, column in zip(table.fields, published.columns, strict=True):
        assert field.datatype == column.datatype
        assert field.unit == (u.Unit(column.unit, format="vounit") if column.unit else None), column.name
        assert field.ucd == column.ucd
        assert (field.arraysize or None) == column.arraysize, column.name


async def test_get_post_and_multipart_give_the_same_rows(client: httpx.AsyncClient) -> None:
    query = f"SELECT TOP 3 hip FROM {TABLE} ORDER BY hip"
    get = await sync(client, query, method="GET", RESPONSEFORMAT="votable/td")
    post = await sync(client, query, RESPONSEFORMAT="votable/td")
    files = {k: (None, v) for k, v in {"lang": "ADQL", "query": query, "responseformat": "votable/td"}.items()}
    multipart = await client.post("/tap/sync", files=files)
    rows = [list(votable(r).get_first_table().array["hip"]) for r in (get, post, multipart)]
    assert rows == [[1, 2, 3]] * 3


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_parameter_names_are_case_insensitive(client: httpx.AsyncClient, method: str) -> None:
    params = {"request": "doQuery", "Lang": "ADQL", "qUeRy": f"SELECT TOP 4 hip FROM {TABLE}", "maxREC": "2"}
    if method == "GET":
        response = await client.get("/tap/sync", params=params)
    else:
        response = await client.post("/tap/sync", data=params)
    assert response.status_code == 200, response.text
    assert len(votable(response).get_first_table().array) == 2


@pytest.mark.parametrize(
    ("query", "maxrec", "rows", "overflow"),
    [
        (f"SELECT hip FROM {TABLE}", "3", 3, True),
        (f"SELECT TOP 3 hip FROM {TABLE}", "3", 3, False),
        (f"SELECT TOP 4 hip FROM {TABLE}", "3", 3, True),
        (f"SELECT TOP 3 hip FROM {TABLE}", "10", 3, False),
        (f"SELECT hip FROM {TABLE} WHERE hip < 11", "10", 10, False),
        (f"SELECT hip FROM {TABLE} WHERE hip < 12", "10", 10, True),
        (f"SELECT hip FROM {TABLE}", "0", 0, True),
        (f"SELECT hip FROM {TABLE} WHERE hip < 0", "0", 0, False),
        (f"SELECT TOP 10000 hip FROM {TABLE}", "10000", 10000, False),
        (f"SELECT TOP 10001 hip FROM {TABLE}", "10000", 10000, True),
        (f"SELECT TOP 12000 hip FROM {TABLE}", "12000", 12000, False),
        (f"SELECT TOP 12001 hip FROM {TABLE}", "12000", 12000, True),
    ],
)
async def test_overflow_is_marked_after_the_table_exactly_when_rows_were_cut(
    client: httpx.AsyncClient, query: str, maxrec: str, rows: int, overflow: bool
) -> None:
    response = await sync(client, query, MAXREC=maxrec)
    assert response.status_code == 200, response.text
    doc = votable(response)
    assert len(doc.get_first_table().array) == rows
    statuses = [v for v, _ in query_status(doc)]
    assert statuses == (["OK", "OVERFLOW"] if overflow else ["OK"])
    if overflow:
        assert response.content.index(b'value="OVERFLOW"') > response.content.index(b"</TABLE>")


async def test_maxrec_above_the_hard_limit_is_capped(client: httpx.AsyncClient, tap: Any) -> None:
    response = await sync(client, f"SELECT hip FROM {TABLE}", MAXREC=str(10**9))
    doc = votable(response)
    assert len(doc.get_first_table().array) == min(tap.settings.hardlimit, 117_955)


async def test_nulls_arrays_and_expressions_come_through(client: httpx.AsyncClient) -> None:
    # the outer join leaves every column of b NULL: no HIP number is above a million
    query = (
        f"SELECT TOP 20 a.hip, b.hip AS no_hip, b.b_v, b.uw, a.uw AS uw_a, a.hpmag + 1 AS hp1 "
        f"FROM {TABLE} AS a LEFT OUTER JOIN {TABLE} AS b ON b.hip = a.hip + 1000000 ORDER BY a.hip"
    )
    counted = f"SELECT TOP 3 sn, COUNT(*) AS n FROM {TABLE} GROUP BY sn ORDER BY n DESC"
    for fmt in ("votable/td", "votable/b2", "votable/b"):
        response = await sync(client, query, RESPONSEFORMAT=fmt)
        assert response.status_code == 200, response.text
        table = votable(response).get_first_table()
        fields = {f.name: f for f in table.fields}
        assert fields["uw"].arraysize == "15" and fields["hp1"].datatype == "double"
        assert len(table.array) == 20
        assert list(table.array["hip"]) == list(range(1, 21))
        assert all(table.array.mask["no_hip"]), "an int NULL must come back as masked"
        assert all(table.array.mask["b_v"] | [math.isnan(float(v)) for v in table.array.data["b_v"]])
        assert table.array["uw_a"][0].shape == (15,)
        assert float(table.array["hp1"][0]) == pytest.approx(float(brightest_hp(1)) + 1)
        n = votable(await sync(client, counted, RESPONSEFORMAT=fmt)).get_first_table()
        assert {f.name: f.datatype for f in n.fields}["n"] == "long"
        assert sum(int(v) for v in n.array["n"]) > 0


def brightest_hp(hip: int) -> float:
    col = hipparcos.COLUMNS.index("hpmag")
    return next(float(str(r[col])) for r in hipparcos.iter_rows() if r[0] == hip)


# ---------------------------------------------------------------- errors


def assert_error(response: httpx.Response, status: int, *fragments: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    statuses = query_status(votable(response))
    assert statuses and statuses[0][0] == "ERROR", response.text
    message = statuses[0][1]
    assert "Traceback" not in response.text
    for fragment in fragments:
        assert fragment in message, message
    return message


async def test_syntax_error_gives_line_and_column(client: httpx.AsyncClient) -> None:
    response = await sync(client, f"SELECT hip\nFROM {TABLE}\nWHERE hip >")
    message = assert_error(response, 400)
    assert "line 3" in message.lower() or "3:" in message


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("SELECT * FROM no_such_schema.No_Such_Table", "no_such_schema.No_Such_Table"),
        ("SELECT relname FROM pg_catalog.pg_class", "pg_catalog.pg_class"),
        ("SELECT table_name FROM information_schema.tables", "information_schema.tables"),
        ("SELECT * FROM secret.data", "secret.data"),
        (f"SELECT no_such_column FROM {TABLE}", "no_such_column"),
        (f"SELECT TOP 1 Hpmagg FROM {TABLE}", "Hpmagg"),
    ],
)
async def test_unknown_or_unpublished_names_are_named_as_written(
    client: httpx.AsyncClient, pool: Any, query: str, fragment: str
) -> None:
    await pool.execute("CREATE SCHEMA IF NOT EXISTS secret; CREATE TABLE IF NOT EXISTS secret.data (x int)")
    assert_error(await sync(client, query), 400, fragment)


@pytest.mark.parametrize(
    "query",
    [
        f"DELETE FROM {TABLE}",
        f"DROP TABLE {TABLE}",
        f"INSERT INTO {TABLE} (hip) VALUES (0)",
        f"UPDATE {TABLE} SET hpmag = 0",
        f"SELECT hip FROM {TABLE}; DELETE FROM {TABLE}",
        f"SELECT hip FROM {TABLE} LIMIT 5",
        f"SELECT hip::text FROM {TABLE}",
        "SELECT pg_sleep(10)",
        f"SELECT pg_sleep(10) FROM {TABLE}",
        f"SELECT current_setting('data_directory') FROM {TABLE}",
        "CREATE TABLE evil (x int)",
    ],
)
async def test_anything_but_an_adql_select_on_published_tables_is_refused(
    client: httpx.AsyncClient, pool: Any, query: str
) -> None:
    assert_error(await sync(client, query), 400)
    assert await pool.fetchval(f"SELECT count(*) FROM {TABLE}") == 117_955


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"LANG": "SQL"}, "LANG"),
        ({"REQUEST": "getCapabilities"}, "REQUEST"),
        ({"MAXREC": "lots"}, "MAXREC"),
        ({"MAXREC": "-1"}, "MAXREC"),
        ({"RESPONSEFORMAT": "image/png"}, "RESPONSEFORMAT"),
        ({"QUERY": ""}, "QUERY"),
    ],
)
async def test_bad_parameters_get_a_dali_error_document(
    client: httpx.AsyncClient, params: dict[str, str], fragment: str
) -> None:
    response = await sync(client, f"SELECT TOP 1 hip FROM {TABLE}", **params)
    assert_error(response, 400, fragment)


async def test_a_database_error_in_a_query_is_the_users_error(client: httpx.AsyncClient) -> None:
    assert_error(await sync(client, f"SELECT TOP 5 hip / 0 FROM {TABLE}"), 400, "division by zero")


async def test_a_query_over_its_time_limit_is_stopped_with_a_hint(pool: Any, hipparcos: None) -> None:
    from vostack.cli import build_app
    from vostack.config import PublishConfig, ServiceConfig
    from vostack.demo import demo_config
    from vostack.tap import TAPService

    base = demo_config()
    config = PublishConfig(
        service=ServiceConfig(sync_timeout=0.5, tap_schema=base.service.tap_schema),
        schemas=base.schemas,
        tables=base.tables,
    )
    service = TAPService(config=config)
    async with service.serve(pool):
        transport = httpx.ASGITransport(app=build_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await sync(
                client, f"SELECT COUNT(*) FROM {TABLE} AS a, {TABLE} AS b WHERE a.hpmag < b.hpmag - a.b_v"
            )
    message = assert_error(response, 400, "time limit")
    assert "async" in message


# ---------------------------------------------------------------- TAP_SCHEMA and VOSI


async def test_tap_schema_describes_every_published_column(client: httpx.AsyncClient, pool: Any) -> None:
    response = await sync(
        client,
        "SELECT column_name, datatype, arraysize, unit, ucd, description, principal, indexed, std "
        f"FROM TAP_SCHEMA.columns WHERE table_name = '{TABLE}' ORDER BY column_index",
        RESPONSEFORMAT="votable/td",
    )
    table = votable(response).get_first_table().array
    names = [str(n) for n in table["column_name"]]
    assert names == list(hipparcos.COLUMNS)
    assert all(str(d) for d in table["description"])
    assert all(str(u) for u in table["ucd"])
    rows = {str(r["column_name"]): r for r in table}
    assert str(rows["ra"]["unit"]) == "deg" and str(rows["uw"]["arraysize"]) == "15"
    assert int(rows["hip"]["indexed"]) == 1 and int(rows["ra"]["indexed"]) == 1
    assert int(rows["hip"]["principal"]) == 1 and int(rows["sn"]["principal"]) == 0


async def test_tap_schema_publishes_itself(client: httpx.AsyncClient) -> None:
    response = await sync(client, "SELECT table_name FROM tap_schema.tables", RESPONSEFORMAT="votable/td")
    names = {str(n) for n in votable(response).get_first_table().array["table_name"]}
    assert {f"tap_schema.{t}" for t in ("schemas", "tables", "columns", "keys", "key_columns")} <= names
    assert TABLE in names


async def test_vosi_endpoints_answer(client: httpx.AsyncClient) -> None:
    availability = await client.get("/tap/availability")
    assert availability.status_code == 200 and b"<available>true</available>" in availability.content.replace(
        b"vosi:", b""
    )
    capabilities = await client.get("/tap/capabilities")
    assert capabilities.status_code == 200 and b"ivo://ivoa.net/std/TAP" in capabilities.content
    assert b"http://testserver/tap" in capabilities.content
    tables = await client.get("/tap/tables")
    assert tables.status_code == 200 and b"hpmag" in tables.content
    minimal = await client.get("/tap/tables", params={"detail": "min"})
    assert b"hipparcos.main" in minimal.content and b"hpmag" not in minimal.content
    one = await client.get(f"/tap/tables/{TABLE}")
    assert one.status_code == 200 and b"hpmag" in one.content
    missing = await client.get("/tap/tables/nope.nothing")
    assert missing.status_code == 404


async def test_an_existing_tap_schema_is_served_as_it_is(pool: Any, hipparcos: None) -> None:
    from vostack.cli import build_app
    from vostack.config import PublishConfig, ServiceConfig
    from vostack.tap import TAPService

    await pool.execute(
        """
        DROP SCHEMA IF EXISTS legacy_ts CASCADE;
        CREATE SCHEMA legacy_ts;
        CREATE TABLE legacy_ts.schemas (schema_name text, utype text, description text);
        CREATE TABLE legacy_ts.tables (schema_name text, table_name text, table_type text, utype text,
                                       description text);
        CREATE TABLE legacy_ts.columns (table_name text, column_name text, utype text, ucd text, unit text,
          description text, datatype text, "size" int, principal int, indexed int, std int);
        INSERT INTO legacy_ts.schemas VALUES ('hipparcos', NULL, 'hand-made');
        INSERT INTO legacy_ts.tables VALUES ('hipparcos', 'hipparcos.main', 'table', NULL, 'hand-made table');
        INSERT INTO legacy_ts.columns VALUES
          ('hipparcos.main', 'hip', NULL, 'meta.id', NULL, 'hand-made id', 'int', NULL, 1, 1, 0),
          ('hipparcos.main', 'hpmag', NULL, 'phot.mag', 'mag', 'hand-made mag', 'float', NULL, 1, 0, 0);
        """
    )
    service = TAPService(
        config=PublishConfig(service=ServiceConfig(tap_schema="legacy_ts", tap_schema_source="existing"))
    )
    async with service.serve(pool):
        assert [c.name for c in service.tableset.table(TABLE).columns] == ["hip", "hpmag"]  # type: ignore[union-attr]
        transport = httpx.ASGITransport(app=build_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ok = await sync(client, f"SELECT TOP 2 hip, hpmag FROM {TABLE} ORDER BY hip")
            unpublished = await sync(client, f"SELECT TOP 2 ra FROM {TABLE}")
    table = votable(ok).get_first_table()
    assert [f.description for f in table.fields] == ["hand-made id", "hand-made mag"]
    assert_error(unpublished, 400, "ra")


async def test_generation_never_overwrites_a_tap_schema_vostack_did_not_make(pool: Any, hipparcos: None) -> None:
    from vostack.config import PublishConfig, ServiceConfig
    from vostack.errors import VOError
    from vostack.tap import TAPService

    await pool.execute("DROP SCHEMA IF EXISTS theirs CASCADE; CREATE SCHEMA theirs; CREATE TABLE theirs.tables (x int)")
    service = TAPService(config=PublishConfig(service=ServiceConfig(tap_schema="theirs")))
    with pytest.raises(VOError, match="did not generate"):
        await service.start(pool)
    assert await pool.fetchval("SELECT count(*) FROM theirs.tables") == 0


async def test_tap_schema_is_tap_schema_in_adql_wherever_it_is_kept(pool: Any, hipparcos: None) -> None:
    # examples/portal.toml keeps the metadata in portal_tap_schema: ADQL still reads TAP_SCHEMA.* (TAP 1.1 §4)
    from vostack.cli import build_app
    from vostack.config import PublishConfig, ServiceConfig, TableMeta
    from vostack.tap import TAPService

    await pool.execute("DROP SCHEMA IF EXISTS kept_here CASCADE")
    config = PublishConfig(service=ServiceConfig(tap_schema="kept_here"), tables={TABLE: TableMeta()})
    service = TAPService(config=config)
    async with service.serve(pool):
        transport = httpx.ASGITransport(app=build_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            listed = await sync(client, "SELECT table_name FROM TAP_SCHEMA.tables ORDER BY table_name")
            lower = await sync(
                client, "SELECT COUNT(*) AS n FROM tap_schema.columns WHERE table_name = 'tap_schema.keys'"
            )
            joined = await sync(
                client,
                "SELECT t.table_name, COUNT(*) AS n FROM TAP_SCHEMA.tables AS t JOIN TAP_SCHEMA.columns AS c "
                "ON c.table_name = t.table_name GROUP BY t.table_name",
            )
            located = await sync(client, "SELECT * FROM kept_here.tables")
            schemas = await sync(client, "SELECT schema_name FROM TAP_SCHEMA.schemas ORDER BY schema_name")
            tables = await client.get("/tap/tables")
    names = [str(n) for n in votable(listed).get_first_table().array["table_name"]]
    assert names == [TABLE, *sorted(f"tap_schema.{t}" for t in ("columns", "key_columns", "keys", "schemas", "tables"))]
    assert int(votable(lower).get_first_table().array["n"][0]) == 5
    assert len(votable(joined).get_first_table().array) == 6
    assert_error(located, 400, "kept_here.tables")  # the database location is not an ADQL name
    assert [str(n) for n in votable(schemas).get_first_table().array["schema_name"]] == ["hipparcos", "tap_schema"]
    assert "<name>tap_schema.tables</name>" in tables.text and "kept_here" not in tables.text
    # the rows are in the schema the setting names
    assert await pool.fetchval("SELECT count(*) FROM kept_here.tables WHERE table_name = 'tap_schema.tables'") == 1


async def test_ten_thousand_ors_and_a_ten_thousand_item_in_list_run(client: httpx.AsyncClient) -> None:
    # generated by scripts and portals: a long flat list is not deep nesting
    hips = range(1, 20_001, 2)
    ors = f"SELECT COUNT(*) AS n FROM {TABLE} WHERE " + " OR ".join(f"hip = {h}" for h in hips)
    listed = f"SELECT COUNT(*) AS n FROM {TABLE} WHERE hip IN (" + ", ".join(str(h) for h in hips) + ")"
    counts = []
    for query in (ors, listed):
        response = await sync(client, query, RESPONSEFORMAT="csv")
        assert response.status_code == 200, response.text[:500]
        counts.append(int(response.text.splitlines()[1]))
    wanted = set(hips)
    expected = sum(1 for row in hipparcos.iter_rows() if int(str(row[0])) in wanted)
    assert counts == [expected, expected] and expected > 9_000
