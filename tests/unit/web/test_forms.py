"""Request parameters and their limits (vostack.web.forms), on a bare ASGI app: no database, no server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from vostack.config import ConfigError, ServiceConfig, parse_config
from vostack.errors import RequestTooLargeError, URITooLongError, UsageError, VOError
from vostack.web import RequestLimits, request_form, request_pairs

LIMITS = RequestLimits(parameter_bytes=1000, parameters=10, file_bytes=500)


def _app(limits: RequestLimits, *, starlette: bool = True) -> Starlette | Router:
    """Echoes what the web layer read, or the error it raised with its status."""

    async def echo(request: Request) -> Response:
        try:
            pairs = await request_pairs(request, limits) if "pairs" in request.query_params else None
            params, files = await request_form(request, limits) if pairs is None else (None, {})
        except VOError as exc:
            return JSONResponse({"error": exc.message, "type": type(exc).__name__}, status_code=exc.http_status)
        return JSONResponse(
            {
                "pairs": pairs if pairs is not None else list(params or ()),
                "files": {name: content.decode() for name, content in files.items()},
            }
        )

    routes = [Route("/", echo, methods=["GET", "POST"])]
    # inside a Starlette app, Starlette's form errors are HTTPException; outside, MultiPartException
    return Starlette(routes=routes) if starlette else Router(routes=routes)


@pytest.fixture(params=[True, False], ids=["in-starlette", "bare-router"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(_app(LIMITS, starlette=request.param)) as http:
        yield http


def _client(app: Starlette | Router) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def _multipart(*parts: tuple[str, str, str | None], boundary: str = "b0undary") -> tuple[bytes, dict[str, str]]:
    body = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n".encode()
    body += f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def test_query_string_and_form_body_are_read_together_in_order(client: httpx.AsyncClient) -> None:
    response = await client.post("/?LANG=ADQL", data={"QUERY": "SELECT 1", "lang": "x"})
    assert response.json()["pairs"] == [["LANG", "ADQL"], ["QUERY", "SELECT 1"], ["LANG", "x"]]


async def test_a_body_is_parsed_as_a_query_string_is(client: httpx.AsyncClient) -> None:
    # a ';' separates nothing, '+' is a space, %-escapes are UTF-8: the same in a GET and in a POST
    raw = "UPLOAD=a,param:x;b,param:y&Q=caf%C3%A9+1"
    by_get = (await client.get(f"/?{raw}")).json()["pairs"]
    by_post = await client.post("/", content=raw, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert by_get == by_post.json()["pairs"] == [["UPLOAD", "a,param:x;b,param:y"], ["Q", "café 1"]]


async def test_oai_pairs_keep_the_names_as_sent(client: httpx.AsyncClient) -> None:
    response = await client.post("/?pairs=1", data={"verb": "Identify"})
    assert response.json()["pairs"] == [["pairs", "1"], ["verb", "Identify"]]


async def test_a_body_of_another_type_is_not_read(client: httpx.AsyncClient) -> None:
    response = await client.post("/?A=1", content=b"B=2", headers={"Content-Type": "text/plain"})
    assert response.json()["pairs"] == [["A", "1"]]


async def test_a_query_string_over_the_limit_is_uri_too_long(client: httpx.AsyncClient) -> None:
    assert (await client.get("/", params={"Q": "x" * 998})).status_code == 200  # "Q=" + 998 bytes: exactly the limit
    response = await client.get("/", params={"Q": "x" * 999})
    assert response.status_code == 414
    assert response.json() == {
        "type": URITooLongError.__name__,
        "error": "the URL's query string is 1,001 bytes, longer than this service accepts (1,000 bytes)",
    }


async def test_too_many_parameters_in_the_url_are_uri_too_long(client: httpx.AsyncClient) -> None:
    assert (await client.get("/", params={f"P{i}": "" for i in range(10)})).status_code == 200
    response = await client.get("/", params={f"P{i}": "" for i in range(11)})
    assert response.status_code == 414 and "(10)" in response.json()["error"]


async def test_a_urlencoded_body_over_the_limit_is_refused_by_its_length(client: httpx.AsyncClient) -> None:
    assert (await client.post("/", data={"Q": "x" * 998})).status_code == 200
    response = await client.post("/", data={"Q": "x" * 999})
    assert response.status_code == 413
    assert response.json()["error"] == (
        "the request body of 1,001 bytes is larger than this service accepts (1,000 bytes of parameters)"
    )


async def test_a_body_without_content_length_is_refused_while_it_is_read() -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"Q="
        while sent < 100_000:
            sent += 100
            yield b"x" * 100

    async with _client(_app(LIMITS)) as http:
        response = await http.post("/", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert (
        response.json()["error"] == "the request body is larger than this service accepts (1,000 bytes of parameters)"
    )
    assert sent < 2000  # refused as soon as it was over the limit


async def test_parameters_are_counted_across_url_and_body(client: httpx.AsyncClient) -> None:
    url = "/?" + "&".join(f"G{i}=" for i in range(4))
    assert (await client.post(url, data={f"P{i}": "" for i in range(6)})).status_code == 200
    response = await client.post(url, data={f"P{i}": "" for i in range(7)})
    assert response.status_code == 413
    assert response.json()["error"] == "the request has more parameters than this service accepts (10)"


@pytest.mark.parametrize("boundary", ["b0undary", "x", "a-very-long-boundary-" + "q" * 40])
async def test_multipart_parts_are_counted_whatever_the_chunks(boundary: str) -> None:
    limits = RequestLimits(parameter_bytes=10_000, parameters=10)
    for parts, status in ((10, 200), (11, 413)):
        body, headers = _multipart(*((f"P{i}", "v", None) for i in range(parts)), boundary=boundary)
        for size in (1, 3, 7, len(body)):  # the delimiters split across chunks in every way

            async def chunked(body: bytes = body, size: int = size) -> AsyncIterator[bytes]:
                for i in range(0, len(body), size):
                    yield body[i : i + size]

            async with _client(_app(limits)) as http:
                response = await http.post("/", content=chunked(), headers=headers)
            assert response.status_code == status, (parts, size, response.text)
            if status == 200:
                assert len(response.json()["pairs"]) == parts


async def test_multipart_parameters_over_the_limit_are_refused_after_the_parts_are_read(
    client: httpx.AsyncClient,
) -> None:
    # the body may carry file_bytes more, but the fields alone are limited to parameter_bytes
    body, headers = _multipart(("Q", "x" * 999, None))
    assert (await client.post("/", content=body, headers=headers)).status_code == 200
    body, headers = _multipart(("Q", "x" * 1000, None))
    response = await client.post("/", content=body, headers=headers)
    assert response.status_code == 413
    assert response.json()["error"] == (
        "the request's parameters are 1,001 bytes, more than this service accepts (1,000 bytes)"
    )


async def test_file_parts_are_read_within_the_body_limit(client: httpx.AsyncClient) -> None:
    body, headers = _multipart(("UPLOAD", "t,param:x", None), ("x", "<VOTABLE/>", "x.xml"))
    assert (await client.post("/", content=body, headers=headers)).json() == {
        "pairs": [["UPLOAD", "t,param:x"]],
        "files": {"x": "<VOTABLE/>"},
    }
    body, headers = _multipart(("x", "y" * 1500, "x.xml"))  # over parameter_bytes + file_bytes
    response = await client.post("/", content=body, headers=headers)
    assert response.status_code == 413
    assert "(1,500 bytes of parameters and files)" in response.json()["error"]


async def test_file_parts_are_ignored_by_a_service_without_files() -> None:
    limits = RequestLimits(parameter_bytes=1000, parameters=10)
    body, headers = _multipart(("A", "1", None), ("x", "data", "x.xml"))
    async with _client(_app(limits)) as http:
        assert (await http.post("/", content=body, headers=headers)).json() == {"pairs": [["A", "1"]], "files": {}}


async def test_two_file_parts_of_one_name_are_a_usage_error(client: httpx.AsyncClient) -> None:
    body, headers = _multipart(("x", "1", "a.xml"), ("x", "2", "b.xml"))
    response = await client.post("/", content=body, headers=headers)
    assert response.status_code == 400 and "two file parts named 'x'" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--\r\n", "multipart/form-data; boundary=b", "name"),
        (b"anything", "multipart/form-data", "boundary"),
    ],
)
async def test_a_malformed_multipart_body_is_a_usage_error(
    client: httpx.AsyncClient, body: bytes, content_type: str, reason: str
) -> None:
    response = await client.post("/", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert response.json()["type"] == UsageError.__name__
    assert response.json()["error"].startswith("the multipart/form-data body cannot be read: ")
    assert reason in response.json()["error"]


def test_limits_come_from_the_service_settings() -> None:
    settings = ServiceConfig(request_limit=5000, request_parameters=20, upload_limit=300)
    assert RequestLimits.of(settings) == RequestLimits(5000, 20, 0)
    assert RequestLimits.of(settings, files=True) == RequestLimits(5000, 20, 300)
    assert RequestLimits.of(settings, files=True).body_bytes == 5300
    assert RequestLimits().head_bytes == 1_048_576 + 16_384
    defaults = parse_config({}).service
    assert (defaults.request_limit, defaults.request_parameters) == (1_048_576, 1000)
    with pytest.raises(ConfigError, match="request_limit"):
        parse_config({"service": {"request_limit": 0}})
    with pytest.raises(ValueError, match="positive"):
        RequestLimits(parameters=0)


def test_limit_errors_are_413_and_414() -> None:
    assert RequestTooLargeError("x").http_status == 413 and URITooLongError("x").http_status == 414
    assert isinstance(URITooLongError("x"), RequestTooLargeError)
