"""The HTTP edge of every protocol app (vostack.web.edge): limits and bugs answered in each protocol's document.

TAP and SSA answer DALI error VOTables, the UWS job list its service's error document (text, or VOTable for
TAP's /async), the OAI-PMH registry an OAI-PMH badArgument for a request over the limits.  No database: every
request here is refused, or fails, before one would be used.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
from lxml import etree
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.types import Message

from tests.documents import dali_error
from tests.schemata import validator
from tests.unit.registry.helpers import SERVICES, SITE
from vostack.demo.compute import compute_service
from vostack.demo.spex import MAPPING
from vostack.registry import RegistryService
from vostack.ssa import Spectrum, SSAService
from vostack.tap import TAPService

LIMIT = 1_048_576  # the default request_limit
OAI = "{http://www.openarchives.org/OAI/2.0/}"


class _NoProducts:
    media_type = "application/fits"

    def original(self, key: str) -> bytes:
        raise AssertionError("no product is read here")

    def spectrum(self, key: str) -> Spectrum:
        raise AssertionError("no product is read here")


@pytest.fixture(scope="module")
def app() -> Starlette:
    tap = TAPService()
    ssa = SSAService(mapping=MAPPING, products=_NoProducts())
    compute = compute_service()
    registry = RegistryService(site=SITE, services=SERVICES)
    return Starlette(
        routes=[Mount("/tap", tap), Mount("/ssa", ssa), *compute.routes("/compute"), Route("/oai", registry)]
    )


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


def text_message(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("text/plain"), response.text
    return response.text.rstrip("\n")


def oai_message(response: httpx.Response) -> str:
    """The message of an OAI-PMH ``badArgument`` (OAI-PMH 2.0 §3.6), in a document valid against its schema."""
    validator("OAI-PMH.xsd")(response.content)
    error = etree.fromstring(response.content).find(f"{OAI}error")
    assert error is not None and error.get("code") == "badArgument"
    return str(error.text)


@dataclass(frozen=True)
class Endpoint:
    path: str
    message: Callable[[httpx.Response], str]
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.path


TAP_SYNC = Endpoint("/tap/sync", dali_error, (("REQUEST", "doQuery"), ("LANG", "ADQL")))
TAP_ASYNC = Endpoint("/tap/async", dali_error, (("LANG", "ADQL"),))  # a UWS list with TAP's VOTable errors
SSA = Endpoint("/ssa/", dali_error, (("REQUEST", "queryData"),))
UWS = Endpoint("/compute", text_message, (("RA", "10"),))
OAI_PMH = Endpoint("/oai", oai_message, (("verb", "Identify"),))
ENDPOINTS = [TAP_SYNC, TAP_ASYNC, SSA, UWS, OAI_PMH]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_a_form_body_over_the_limit_is_413_in_the_protocols_document(
    client: httpx.AsyncClient, endpoint: Endpoint
) -> None:
    response = await client.post(endpoint.path, data={**dict(endpoint.params), "QUERY": "x" * LIMIT})
    assert response.status_code == 413
    message = endpoint.message(response)
    assert "larger than this service accepts (1,048,576 bytes of parameters)" in message, message


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
async def test_a_form_of_2000_fields_is_413_in_the_protocols_document(
    client: httpx.AsyncClient, endpoint: Endpoint, multipart: bool
) -> None:
    fields = {**dict(endpoint.params), **{f"F{i}": "1" for i in range(2000)}}
    if multipart:
        response = await client.post(endpoint.path, files={name: (None, value) for name, value in fields.items()})
    else:
        response = await client.post(endpoint.path, data=fields)
    assert response.status_code == 413
    assert endpoint.message(response) == "the request has more parameters than this service accepts (1,000)"


async def raw_get(app: Starlette, path: str, query: bytes) -> httpx.Response:
    """GET with a query string longer than httpx sends (it refuses URLs over 64 KiB), straight over ASGI."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": "", "path": path,
        "raw_path": path.encode(), "query_string": query, "headers": [(b"host", b"testserver")],
    }  # fmt: skip
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, *body = sent
    return httpx.Response(start["status"], headers=start["headers"], content=b"".join(m.get("body", b"") for m in body))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_a_query_string_over_the_limit_is_414_in_the_protocols_document(
    app: Starlette, endpoint: Endpoint
) -> None:
    query = urlencode([*endpoint.params, ("QUERY", "x" * LIMIT)]).encode()
    response = await raw_get(app, endpoint.path, query)
    assert response.status_code == 414
    message = endpoint.message(response)
    assert "longer than this service accepts (1,048,576 bytes)" in message, message


def _boom(*args: object, **kwargs: object) -> object:
    raise RuntimeError("a bug planted by the test")


@pytest.mark.parametrize(
    ("endpoint", "target", "service"),
    [
        (TAP_SYNC, "vostack.tap.service.parse_tap_request", "TAP"),
        (TAP_ASYNC, "vostack.uws.routes._client_parameters", "tap job"),
        (SSA, "vostack.ssa.service.parse_ssa_request", "SSA"),
        (UWS, "vostack.uws.routes._client_parameters", "compute job"),
    ],
    ids=["tap-sync", "tap-async", "ssa", "uws"],
)
async def test_a_bug_is_500_with_the_protocols_document_and_its_traceback_in_the_log(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    endpoint: Endpoint,
    target: str,
    service: str,
) -> None:
    monkeypatch.setattr(target, _boom)
    with caplog.at_level(logging.ERROR, logger="vostack"):
        response = await client.post(endpoint.path, data=dict(endpoint.params))
    assert response.status_code == 500
    message = dali_error(response) if endpoint.message is dali_error else text_message(response).strip()
    assert message == f"internal error in the {service} service; the operators have the details in their log"
    assert "planted" not in response.text  # the client gets no internals
    (record,) = [r for r in caplog.records if r.exc_info]
    assert record.getMessage() == f"internal error in the {service} service"
    assert record.exc_info is not None and "a bug planted by the test" in str(record.exc_info[1])


async def test_a_registry_bug_is_500_with_its_traceback_in_the_log(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(RegistryService, "handle", _boom)
    with caplog.at_level(logging.ERROR, logger="vostack"):
        response = await client.get("/oai", params={"verb": "Identify"})
    # OAI-PMH has no document for a server's failure (§3.1.2.1: HTTP statuses besides 200 are the server's)
    assert response.status_code == 500
    assert text_message(response).startswith("internal error in the registry service;")
    (record,) = [r for r in caplog.records if r.exc_info]
    assert "a bug planted by the test" in str(record.exc_info[1])  # type: ignore[index]


async def test_starlettes_routing_errors_keep_their_status_in_the_protocols_document(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/tap/no-such-endpoint")
    assert missing.status_code == 404 and dali_error(missing) == "Not Found"
    wrong = await client.delete("/tap/sync")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"] and dali_error(wrong)


async def test_client_mistakes_stay_400_and_the_unstarted_service_503(client: httpx.AsyncClient) -> None:
    bad = await client.post("/tap/sync", data={"LANG": "SQL", "QUERY": "SELECT 1"})
    assert bad.status_code == 400 and "LANG" in dali_error(bad)
    starting = await client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT 1"})
    assert starting.status_code == 503 and starting.headers["retry-after"] == "30"
    assert "starting" in dali_error(starting)
