"""DALI examples and HTTP manners of the TAP service: CORS, gzip (DALI 1.1 §2.3; TAP 1.1 §2.4)."""

from __future__ import annotations

import io

import httpx
import pytest
from astropy.io.votable import parse
from lxml import etree

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
