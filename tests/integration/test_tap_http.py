"""DALI examples and HTTP manners of the TAP service: CORS, gzip (DALI 1.1 §2.3; TAP 1.1 §2.4)."""

from __future__ import annotations

import io

import httpx
import pytest
from astropy.io.votable import parse
from lxml import etree

from vostack import db
from vostack.demo import demo_config

pytestmark = pytest.mark.postgres

XHTML = "{http://www.w3.org/1999/xhtml}"


async def test_examples_are_xhtml_with_rdfa_and_every_query_runs(client: httpx.AsyncClient) -> None:
    response = await client.get("/tap/examples")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xhtml+xml")
    root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
    body = root.find(f"{XHTML}body")
    assert body is not None and body.get("vocab") == "http://www.ivoa.net/rdf/examples#"
    blocks = [e for e in root.iter(f"{XHTML}div") if e.get("typeof") == "example"]
    assert [b.findtext(f"{XHTML}h2") for b in blocks] == [e.name for e in demo_config().examples]
    for block in blocks:
        assert block.get("resource") == "#" + block.get("id", "")
        query = next(e for e in block.iter() if e.get("property") == "query").text or ""
        tables = [e.text for e in block.iter() if e.get("property") == "table"]
        assert tables == ["hipparcos.main"]
        result = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "votable/td"})
        assert result.status_code == 200, (query, result.text)
        assert len(parse(io.BytesIO(result.content), verify="exception").get_first_table().array) > 0, query


async def test_capabilities_point_to_the_examples(client: httpx.AsyncClient) -> None:
    content = (await client.get("/tap/capabilities")).content
    assert b'standardID="ivo://ivoa.net/std/DALI#examples"' in content
    assert b"http://testserver/tap/examples" in content


async def test_browser_pages_may_query_cors(client: httpx.AsyncClient) -> None:
    origin = {"Origin": "https://aladin.example.org"}
    response = await client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 hip FROM hipparcos.main"},
                                headers=origin)  # fmt: skip
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = await client.options(
        "/tap/sync",
        headers={**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-y"},
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_results_are_gzipped_when_the_client_asks(client: httpx.AsyncClient) -> None:
    params = {"LANG": "ADQL", "QUERY": "SELECT TOP 500 hip, ra, dec FROM hipparcos.main", "RESPONSEFORMAT": "csv"}
    zipped = await client.get("/tap/sync", params=params, headers={"Accept-Encoding": "gzip"})
    plain = await client.get("/tap/sync", params=params, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.text == plain.text
    assert len(plain.text.splitlines()) == 501


async def test_a_small_result_goes_out_whole_and_a_large_one_streams(client: httpx.AsyncClient) -> None:
    for top, whole in ((10, True), (5_000, False)):  # ~300 bytes and ~140 KB of BINARY2 rows
        query = f"SELECT TOP {top} hip, ra, dec FROM hipparcos.main ORDER BY hip"
        tables = []
        for encoding in ("", "gzip"):
            response = await client.post(
                "/tap/sync", data={"LANG": "ADQL", "QUERY": query}, headers={"Accept-Encoding": encoding}
            )
            assert response.status_code == 200
            # a small document is not worth compressing (web.GZIP_MINIMUM), a large one is
            assert ("content-encoding" in response.headers) is (encoding == "gzip" and not whole), (top, encoding)
            if not encoding:
                # whole: one body with its length; else streamed (chunked), memory flat whatever the size
                assert ("content-length" in response.headers) is whole, top
                if whole:
                    assert int(response.headers["content-length"]) == len(response.content)
            tables.append(parse(io.BytesIO(response.content), verify="exception").get_first_table().array)
        assert len(tables[0]) == top and (tables[0] == tables[1]).all()


async def test_the_page_for_people_lists_holdings_and_runs_a_query(client: httpx.AsyncClient) -> None:
    page = await client.get("/tap/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "hipparcos.main" in page.text and "The ten brightest stars" in page.text and "<form" in page.text
    result = await client.get("/tap/", params={"QUERY": "SELECT TOP 3 hip, hpmag FROM hipparcos.main ORDER BY hip"})
    root = etree.fromstring(result.content, etree.HTMLParser())
    rows = root.xpath("//table[@id='result']/tbody/tr")
    assert [r.xpath("string(td[1])") for r in rows] == ["1", "2", "3"]
    assert root.xpath("string(//table[@id='result']//th[2])").replace(" ", "") == "hpmagmag"
    assert root.xpath("//a[text()='CSV']/@href")[0].startswith("http://testserver/tap/sync?")


async def test_the_page_shows_errors_as_text(client: httpx.AsyncClient) -> None:
    result = await client.get("/tap/", params={"QUERY": "SELECT nothing FROM hipparcos.main"})
    assert result.status_code == 400
    assert "nothing" in etree.fromstring(result.content, etree.HTMLParser()).xpath("string(//div[@id='error'])")


async def test_a_nul_in_a_parameter_is_a_clear_400_everywhere(client: httpx.AsyncClient) -> None:
    sync = await client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 hip FROM hipparcos.main\x00"})
    assert sync.status_code == 400
    info = parse(io.BytesIO(sync.content)).resources[0].infos[0]
    assert (info.name, info.value) == ("QUERY_STATUS", "ERROR")
    assert "parameter QUERY: the character U+0000 is not allowed" in str(info.content)
    tables = await client.get("/tap/tables", params={"detail": "min\x00"})
    assert tables.status_code == 400 and "U+0000" in tables.text
    page = await client.get("/tap/", params={"QUERY": "SELECT\x00"})
    assert "U+0000" in etree.fromstring(page.content, etree.HTMLParser()).xpath("string(//div[@id='error'])")


async def test_head_requests_answer_with_headers_only(client: httpx.AsyncClient) -> None:
    for path in ("/tap/capabilities", "/tap/tables", "/tap/availability", "/tap/examples"):
        response = await client.head(path)
        assert response.status_code == 200, path
        assert response.content == b""
        assert "xml" in response.headers["content-type"]


async def test_an_unreachable_database_gives_503_with_retry_after(pool: db.Pool, hipparcos: None) -> None:
    from vostack.cli import build_app
    from vostack.tap import TAPService

    service = TAPService(config=demo_config())
    async with service.serve(pool):
        dead = await db.create_pool("postgresql://vostack@127.0.0.1:1/vostack", min_size=0)  # nothing listens there
        service._pool = dead  # the database goes away after start-up
        transport = httpx.ASGITransport(app=build_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post(
                "/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 hip FROM hipparcos.main"}
            )
            availability = await client.get("/tap/availability")
        await dead.close()
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    doc = parse(io.BytesIO(response.content), verify="exception")
    assert [i.value for i in doc.resources[0].infos if i.name == "QUERY_STATUS"] == ["ERROR"]
    assert "unreachable" in response.text or "unavailable" in response.text
    assert availability.status_code == 200 and b"false" in availability.content


async def test_every_published_table_has_a_description_and_a_row_estimate(tap: object) -> None:
    from vostack.tap import TAPService

    assert isinstance(tap, TAPService)
    for table in tap.tableset.tables():
        assert table.description, table.name
        assert table.nrows is not None, table.name


async def test_capabilities_declare_the_adql_features(client: httpx.AsyncClient) -> None:
    content = (await client.get("/tap/capabilities")).content
    assert b'type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo"' in content
    assert b"<form>CONTAINS</form>" in content
    assert b"ivo_hasword" in content


async def test_a_portal_udf_runs_and_is_declared(pool: db.Pool, hipparcos: None) -> None:
    from vostack.adql import UDF
    from vostack.cli import build_app
    from vostack.tap import TAPService

    distance_pc = UDF("demo_distance_pc", (("plx", "DOUBLE PRECISION"),), "DOUBLE PRECISION", "(1000.0 / {0})",
                      "Distance in parsecs from a parallax in mas")  # fmt: skip
    service = TAPService(config=demo_config(), udfs=[distance_pc])
    async with service.serve(pool):
        transport = httpx.ASGITransport(app=build_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            query = "SELECT TOP 1 hip, demo_distance_pc(plx) AS d FROM hipparcos.main WHERE hip = 32349"
            result = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv"})
            capabilities = (await client.get("/tap/capabilities")).text
    assert result.status_code == 200, result.text
    assert float(result.text.splitlines()[1].split(",")[1]) == pytest.approx(1000 / 379.21, rel=1e-4)  # Sirius
    assert "demo_distance_pc" in capabilities
