"""Identities from tokens (JWT, opaque, Basic, session cookie) and what the HTTP edge tells clients (AuthVO)."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from vostack import web
from vostack.auth import (
    ANONYMOUS,
    Auth,
    BasicAuthenticator,
    Identity,
    JWTVerifier,
    SessionCookies,
    StaticTokens,
    TokenLookup,
    parse_auth,
)
from vostack.config import ConfigError
from vostack.errors import AuthenticationError

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def token(claims: dict[str, object], key: rsa.RSAPrivateKey = KEY, kid: str = "k1") -> str:
    return jwt.encode({"exp": int(time.time()) + 600, **claims}, key, algorithm="RS256", headers={"kid": kid})


def jwks() -> dict[str, object]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}


async def test_a_jwt_is_verified_against_a_jwks_document(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(__import__("json").dumps(jwks()))
    verifier = JWTVerifier(jwks=path, audience="https://data.example.org")
    good = token({"sub": "alice", "groups": ["team", "gaia"], "aud": "https://data.example.org"})
    assert await verifier(good) == Identity.of("alice", ["team", "gaia"])
    gafaelfawr = token({"sub": "bob", "groups": [{"name": "team", "id": 3}], "aud": "https://data.example.org"})
    assert await verifier(gafaelfawr) == Identity.of("bob", ["team"])
    assert await verifier("not-a-jwt") is None  # another verifier's token
    with pytest.raises(AuthenticationError, match="expired"):
        await verifier(token({"sub": "a", "aud": "https://data.example.org", "exp": int(time.time()) - 3600}))
    with pytest.raises(AuthenticationError, match="not valid"):
        await verifier(token({"sub": "a", "aud": "https://data.example.org"}, key=OTHER))  # forged
    with pytest.raises(AuthenticationError, match="not valid"):
        await verifier(token({"sub": "a", "aud": "https://elsewhere"}))
    with pytest.raises(AuthenticationError, match="known key"):
        await verifier(token({"sub": "a", "aud": "https://data.example.org"}, kid="k9"))
    unsigned = jwt.encode({"sub": "a", "exp": int(time.time()) + 60}, "", algorithm="none")
    with pytest.raises(AuthenticationError):
        await verifier(unsigned)


async def test_a_jwt_is_verified_against_a_key_and_hmac_needs_its_algorithm() -> None:
    secret = "s" * 40
    verifier = JWTVerifier(key=secret, algorithms=("HS256",))
    assert await verifier(jwt.encode({"sub": "c", "exp": time.time() + 60}, secret)) == Identity.of("c")
    with pytest.raises(ValueError, match="none"):
        JWTVerifier(key=secret, algorithms=("none",))
    with pytest.raises(ValueError, match="exactly one"):
        JWTVerifier(key=secret, jwks_url="https://x")


async def test_opaque_tokens_are_looked_up_by_the_portal() -> None:
    calls: list[str] = []

    async def lookup(value: str) -> Identity | None:
        calls.append(value)
        return Identity.of("dora", ["team"]) if value == "opaque-1" else None

    assert await TokenLookup(lookup)("opaque-1") == Identity.of("dora", ["team"])
    assert await TokenLookup(lambda v: None)("x") is None
    static = StaticTokens({"t" * 20: Identity.of("erin")})
    assert await static("t" * 20) == Identity.of("erin") and await static("u" * 20) is None
    assert calls == ["opaque-1"]


async def test_basic_takes_the_token_as_password() -> None:
    basic = BasicAuthenticator(StaticTokens({"secret-token-123456": Identity.of("fay", ["team"])}))

    def header(user: str, password: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    assert await basic.authenticate(header("anyone", "secret-token-123456"), {}) == Identity.of("fay", ["team"])
    assert await basic.authenticate({}, {}) is None
    with pytest.raises(AuthenticationError):
        await basic.authenticate(header("fay", "wrong"), {})
    with pytest.raises(AuthenticationError, match="password"):
        await basic.authenticate(header("fay", ""), {})


async def test_session_cookies_are_signed_and_expire() -> None:
    sessions = SessionCookies("k" * 32, max_age=60)
    value = sessions.issue(Identity.of("gil", ["team"]), now=1000.0)
    assert sessions.read(value, now=1010.0) == Identity.of("gil", ["team"])
    with pytest.raises(AuthenticationError, match="expired"):
        sessions.read(value, now=1100.0)
    _, _, signature = value.partition(".")
    forged = base64.urlsafe_b64encode(b'{"n":"gil","g":["admin"],"e":99999}').decode().rstrip("=")
    with pytest.raises(AuthenticationError, match="not valid"):
        sessions.read(f"{forged}.{signature}", now=1010.0)
    with pytest.raises(ValueError):
        SessionCookies("short")


def test_the_auth_table_of_the_toml_file(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x" * 40 + "\n")
    auth = parse_auth(
        {
            "required": True,
            "login_url": "/login",
            "session_secret_file": "secret",
            "jwt": {"key": "y" * 40, "algorithms": ["HS256"]},
            "tokens": {"alice": {"token": "a" * 20, "groups": ["team"]}},
        },
        base=tmp_path,
    )
    assert auth is not None and auth.required and auth.sessions is not None
    assert auth.security_methods == (
        "ivo://ivoa.net/sso#token",
        "ivo://ivoa.net/sso#BasicAA",
        "ivo://ivoa.net/sso#cookie",
    )
    assert parse_auth(None) is None
    bads: list[dict[str, object]] = [
        {"jwt": {}},
        {"tokens": {"a": {"token": "short"}}},
        {"whatever": 1},
        {"required": True},
    ]
    for bad in bads:
        with pytest.raises(ConfigError):
            parse_auth(bad)


TOKENS = StaticTokens(
    {"alice-token-0123456789": Identity.of("alice", ["team"]), "bob-token-0123456789": Identity.of("bob")}
)


def app(auth: Auth) -> httpx.AsyncClient:
    async def whoami(request: Request) -> PlainTextResponse:
        return PlainTextResponse(web.identity(request).name or "anonymous")

    async def caps(request: Request) -> PlainTextResponse:
        return PlainTextResponse("caps")

    inner = Starlette(routes=[Route("/q", whoami), Route("/capabilities", caps)])
    protocol = web.ErrorDocuments(inner, service="TAP", document=web.dali_document())
    routes = [Route("/login", web.LoginService(auth=auth), methods=["GET", "POST"])]
    outer = Starlette(routes=routes, middleware=[Middleware(web.Authentication, auth=auth)])
    outer.mount("/tap", protocol)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://testserver")


async def test_the_edge_names_the_caller_and_challenges_anonymous_ones_where_required() -> None:
    client = app(Auth.tokens(TOKENS, session_secret="z" * 32, login_url="/login", realm="Example"))
    anonymous = await client.get("/tap/q")
    assert anonymous.text == "anonymous" and "x-vo-authenticated" not in anonymous.headers
    bearer = await client.get("/tap/q", headers={"Authorization": "Bearer alice-token-0123456789"})
    assert bearer.text == "alice" and bearer.headers["x-vo-authenticated"] == "alice"
    # optional authentication: the capabilities are 200 with every challenge (AuthVO §4.1)
    caps = await client.get("/tap/capabilities")
    challenges = caps.headers.get_list("www-authenticate")
    assert caps.status_code == 200
    assert challenges == [
        'ivoa_bearer standard_id="ivo://ivoa.net/sso#BasicAA", access_url="http://testserver/login"',
        'Bearer realm="Example"',
        'Basic realm="Example", charset="UTF-8"',
        'ivoa_cookie standard_id="ivo://ivoa.net/sso#tls-with-password", access_url="http://testserver/login"',
    ]
    # an invalid token is a 401 with the protocol's error document, also on the capabilities
    for path in ("/tap/q", "/tap/capabilities"):
        bad = await client.get(path, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and b'value="ERROR"' in bad.content
        assert bad.headers.get_list("www-authenticate") == challenges


async def test_a_site_that_requires_authentication_says_401_and_403_outside_its_groups() -> None:
    client = app(Auth.tokens(TOKENS, required=True, groups=["team"]))
    assert (await client.get("/tap/q")).status_code == 401
    assert (await client.get("/tap/q")).headers.get_list("www-authenticate")
    assert (await client.get("/tap/capabilities")).status_code == 200  # VOSI 1.1 §2: open to all
    refused = await client.get("/tap/q", headers={"Authorization": "Bearer bob-token-0123456789"})
    assert refused.status_code == 403 and refused.headers["x-vo-authenticated"] == "bob"
    assert (await client.get("/tap/q", headers={"Authorization": "Bearer alice-token-0123456789"})).text == "alice"


async def test_the_login_endpoint_trades_a_token_for_a_bearer_header_and_a_session_cookie() -> None:
    client = app(Auth.tokens(TOKENS, session_secret="z" * 32, login_url="/login"))
    refused = await client.get("/login")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    assert "<form" in (await client.get("/login", headers={"Accept": "text/html"})).text
    login = await client.get("/login", auth=("alice", "alice-token-0123456789"))  # ivoa_bearer, standard_id=BasicAA
    assert login.status_code == 200
    assert login.headers["x-vo-bearer"] == "alice-token-0123456789"
    assert login.headers["x-vo-authenticated"] == "alice"
    assert (await client.get("/tap/q")).text == "alice"  # the session cookie the login set
    client.cookies.clear()
    login_form = {"username": "alice", "password": "alice-token-0123456789", "next": "/tap/q"}
    form = await client.post("/login", data=login_form, follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == "/tap/q"
    assert (await client.get("/tap/q")).text == "alice"
    evil = await client.post("/login", data={"password": "alice-token-0123456789", "next": "//evil.example"},
                       follow_redirects=False)  # fmt: skip
    assert evil.status_code == 200  # never an open redirect
    assert (await client.post("/login", data={"password": "wrong"})).status_code == 401
    assert (await client.get("/login?logout")).status_code == 200
    client.cookies.clear()
    assert (await client.get("/tap/q")).text == "anonymous"
    assert web.identity({"type": "http"}) is ANONYMOUS
