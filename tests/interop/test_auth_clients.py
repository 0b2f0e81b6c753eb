"""Authenticated clients over real HTTP: pyvo's AuthSession (bearer and Basic) and ``stilts tapquery``/taplint.

A live server publishes hipparcos.main (public) and project.plans (the group "team" only), with bearer
JWTs (HS256), HTTP Basic with the token as password, and the login endpoint of the ivoa_* challenges.
"""

from __future__ import annotations

import gc
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import pytest
import pyvo
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from tests.interop.conftest import LiveServer
from vostack import Site, db, web
from vostack.auth import Auth, JWTVerifier
from vostack.config import ColumnMeta, PublishConfig, ServiceConfig, TableMeta
from vostack.tap import TAPService

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

SECRET = "an-interop-test-secret-of-at-least-32-bytes"
SETUP = """
CREATE SCHEMA IF NOT EXISTS project;
DROP TABLE IF EXISTS project.plans;
CREATE TABLE project.plans (id integer PRIMARY KEY, target text, budget integer);
INSERT INTO project.plans VALUES (1, 'M31', 1000), (2, 'M33', 2000);
"""
PLANS = "SELECT id, target FROM project.plans ORDER BY id"


def token(name: str, groups: list[str]) -> str:
    return jwt.encode({"sub": name, "groups": groups, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")


def config() -> PublishConfig:
    return PublishConfig(
        service=ServiceConfig(title="auth interop", tap_schema="tap_schema_auth", role_prefix="vostack_interop"),
        schemas={"hipparcos": None, "project": "a private project"},
        tables={
            "hipparcos.main": TableMeta(description="public"),
            "project.plans": TableMeta(groups=("team",), columns={"budget": ColumnMeta(groups=("finance",))}),
        },
    )


class AuthServer(LiveServer):
    """The live server of this file: the private project's TAP service with authentication (module docstring)."""

    async def _main(self) -> None:
        pool = await db.create_pool(self.dsn, max_size=4)
        try:
            await db.execute(pool, SETUP)
            # a job queue of its own: other TAP services on this database must not run its jobs
            tap = TAPService(config=config(), async_options={"name": "tapauth"})
            auth = Auth.tokens(
                JWTVerifier(key=SECRET, algorithms=("HS256",)), session_secret=SECRET, login_url="/login"
            )
            # /strict/tap: the same service where authentication is required (anonymous callers get 401),
            # for clients that authenticate only when challenged (java.net.Authenticator in STILTS 3.4.7)
            strict = Auth.tokens(JWTVerifier(key=SECRET, algorithms=("HS256",)), required=True)
            required = Starlette(routes=[Mount("/tap", tap)], middleware=[Middleware(web.Authentication, auth=strict)])
            optional = Starlette(
                routes=[Mount("/tap", tap), Route("/login", web.LoginService(auth=auth), methods=["GET", "POST"])],
                middleware=[Middleware(web.Authentication, auth=auth)],
            )
            app = Starlette(routes=[Mount("/strict", required), Mount("/", optional)])
            async with Site(services=[tap]).serve(pool):
                self.server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
                self.ready.set()
                await self.server.serve(sockets=[self.sock])
        finally:
            await pool.close()


@pytest.fixture(scope="module")
def server(postgres_dsn: str, hipparcos: None) -> Iterator[AuthServer]:
    live = AuthServer(postgres_dsn)
    live.start_serving()
    yield live
    live.stop()


@contextmanager
def auth_session(*, bearer: str | None = None, password: str | None = None) -> Iterator[Any]:
    """A pyvo AuthSession with a bearer token or Basic credentials; its sessions are closed afterwards."""
    session = pyvo.auth.AuthSession()
    if bearer is not None:
        with_token = requests.Session()
        with_token.headers["Authorization"] = f"Bearer {bearer}"
        session.credentials.set("ivo://ivoa.net/sso#token", with_token)
    if password is not None:
        session.credentials.set_password("mia", password)
    try:
        yield session
    finally:
        for each in session.credentials.credentials.values():
            each.close()
        gc.collect()  # pyvo leaves the connection of a refused query to the garbage collector: here, under
        # the tests' filters, not in a later test


# pyvo does not close the streamed response of a query that fails (DALQueryError)
pyvo_leaks_a_socket = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pyvo_leaks_a_socket[0]
@pyvo_leaks_a_socket[1]
def test_pyvo_with_a_bearer_token_queries_the_private_table(server: AuthServer) -> None:
    with auth_session(bearer=token("mia", ["team"])) as session:
        service = pyvo.dal.TAPService(server.url, session=session)
        session.update_from_capabilities(service.capabilities)
        assert list(service.run_sync(PLANS).to_table()["target"]) == ["M31", "M33"]
        assert list(service.run_async(PLANS).to_table()["id"]) == [1, 2]
        names = {t.name for t in service.tables}
        assert "project.plans" in names
        assert [c.name for c in service.tables["project.plans"].columns] == ["id", "target"]  # budget: finance


@pyvo_leaks_a_socket[0]
@pyvo_leaks_a_socket[1]
def test_pyvo_with_basic_credentials_and_anonymously(server: AuthServer) -> None:
    with auth_session(password=token("mia", ["team"])) as session:
        service = pyvo.dal.TAPService(server.url, session=session)
        session.update_from_capabilities(service.capabilities)
        assert len(service.run_sync(PLANS).to_table()) == 2
    with auth_session() as nobody:
        anonymous = pyvo.dal.TAPService(server.url, session=nobody)
        assert "project.plans" not in {t.name for t in anonymous.tables}
        with pytest.raises(pyvo.dal.DALQueryError):
            anonymous.run_sync(PLANS)
    with auth_session(bearer=token("olga", ["astronomers"])) as outsider:
        refused = pyvo.dal.TAPService(server.url, session=outsider)
        outsider.update_from_capabilities(refused.capabilities)
        with pytest.raises(pyvo.dal.DALQueryError):
            refused.run_sync(PLANS)


def test_capabilities_advertise_the_security_methods_and_challenges(server: AuthServer) -> None:
    http = requests.Session()
    response = http.get(server.url + "/capabilities", timeout=10)
    assert response.status_code == 200
    challenges = response.headers["www-authenticate"]
    assert "ivoa_bearer" in challenges and "Basic" in challenges and "Bearer" in challenges
    assert 'access_url="http://127.0.0.1' in challenges and "/login" in challenges
    assert b'standardID="ivo://ivoa.net/sso#token"' in response.content
    assert b'standardID="ivo://ivoa.net/sso#BasicAA"' in response.content
    mine = http.get(server.url + "/tables", headers={"Authorization": f"Bearer {token('mia', ['team'])}"})
    assert mine.headers["x-vo-authenticated"] == "mia"
    bad = http.get(server.url + "/sync", params={"QUERY": "SELECT 1"}, headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401 and "www-authenticate" in bad.headers
    # the ivoa_bearer login: Basic credentials (the token as password) give the token back in X-VO-Bearer
    mia = token("mia", ["team"])
    login = http.get(server.root + "/login", auth=("mia", mia), timeout=10)
    assert login.status_code == 200 and login.headers["x-vo-bearer"] == mia
    http.close()


STILTS = shutil.which("stilts")


@pytest.mark.skipif(STILTS is None, reason="stilts is not installed (Debian package stilts)")
def test_stilts_tapquery_with_basic_credentials_queries_the_private_table(server: AuthServer) -> None:
    assert STILTS is not None
    # STILTS 3.4.7 (Debian 12) answers a Basic challenge with the star.basicauth.* properties
    command = [STILTS, "-Dstar.basicauth.user=mia", f"-Dstar.basicauth.password={token('mia', ['team'])}",
               "tapquery", f"tapurl={server.root}/strict/tap", f"adql={PLANS}", "sync=true", "ofmt=csv"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[1:] == ["1,M31", "2,M33"]
    anonymous = subprocess.run(command[:1] + command[3:], capture_output=True, text=True, timeout=120)
    assert anonymous.returncode != 0 and "M31" not in anonymous.stdout


#: taplint stages: metadata, capabilities, availability, queries by GET, POST and async, UWS, result metadata
TAPLINT_STAGES = "TMV TME TMS TMC CPV CAP AVV QGE QPO QAS UWS MDQ"
KNOWN_WRONG = "features-adql-conditional"  # ADQL 2.1's conditional-function feature type: stilts 3.4.7 predates it


@pytest.mark.skipif(STILTS is None, reason="stilts is not installed (Debian package stilts)")
@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "member"])
def test_taplint_is_clean_with_credentials_and_without(server: AuthServer, authenticated: bool) -> None:
    assert STILTS is not None
    credentials = ["-Dstar.basicauth.user=mia", f"-Dstar.basicauth.password={token('mia', ['team'])}"]
    url = f"{server.root}/strict/tap" if authenticated else server.url
    command = [STILTS, *(credentials if authenticated else []), "taplint", f"tapurl={url}",
               f"stages={TAPLINT_STAGES}", "report=EF", "maxrepeat=3"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    problems = [
        line for line in done.stdout.splitlines()
        if line.startswith(("E-", "F-")) and KNOWN_WRONG not in line
    ]  # fmt: skip
    assert "Totals:" in done.stdout, done.stdout[-3000:] + done.stderr
    assert not problems, "\n".join(problems)
