"""The ``vostack`` command as a user runs it: demo (embedded or given database) and serve, stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import gc
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue
from urllib.parse import urlsplit

import asyncpg
import httpx
import numpy as np
import pytest
import pyvo
import uvicorn
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.schemata import validator
from vostack.cli import listen

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

OAI = "http://www.openarchives.org/OAI/2.0/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Command:
    """``vostack ARGS`` running in a process of its own, its output collected line by line."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vostack.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.url = ""
        assert self.proc.stdout is not None
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self._queue: Queue[str] = Queue()
        stdout = self.proc.stdout

        def read_lines() -> None:
            for line in stdout:
                self._queue.put(line)

        self._reader = threading.Thread(target=read_lines, daemon=True)
        self._reader.start()

    def serving(self, timeout: float = 240) -> str:
        """Wait until it serves; its TAP URL."""
        url = None
        deadline = time.monotonic() + timeout
        lines = self.lines
        while not lines or not lines[-1].startswith("Stop with Ctrl-C"):  # the end of what it prints at start
            assert time.monotonic() < deadline, "vostack did not come up:\n" + "".join(lines)
            try:
                line = self._queue.get(timeout=0.5)
            except Empty:
                assert self.proc.poll() is None, "vostack exited:\n" + "".join(lines)
                continue
            lines.append(line)
            if line.startswith("TAP service: "):
                url = line.split(": ", 1)[1].strip()
        assert url is not None, "".join(lines)
        self.url = url
        return url

    def stop(self, stop: signal.Signals = signal.SIGINT) -> None:
        """Ctrl-C it (or send ``stop``), wait for it to end, and check that it ended well."""
        proc = self.proc
        proc.send_signal(stop)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        self._reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        assert proc.returncode == 0, "".join(self.lines)


@contextmanager
def vostack(
    *args: str, timeout: float = 240, stop: signal.Signals = signal.SIGINT
) -> Iterator[tuple[str, list[str], int]]:
    """Run ``vostack ARGS`` until it serves; yield (TAP URL, output lines, pid); then Ctrl-C it (or send ``stop``)."""
    command = Command(*args)
    try:
        yield command.serving(timeout), command.lines, command.pid
    finally:
        command.stop(stop)


DEMO_SKY = "vostack demo sky images"

#: The [registry] of the TOML sites in these tests.
REGISTRY_TOML = """[registry]
authority = "ivo://toml.example"
organisation = "TOML archive"
title = "TOML archive"
description = "Everything from one file."
reference_url = "https://toml.example/"
created = 2024-01-15T00:00:00Z
updated = 2025-03-01T00:00:00Z
[registry.contact]
name = "Archive staff"
email = "vo@toml.example"
"""


def test_demo_on_a_given_database_serves_hipparcos(postgres_dsn: str, hipparcos: None) -> None:
    port = _free_port()
    with vostack("demo", "--dsn", postgres_dsn, "--port", str(port)) as (url, lines, _):
        assert url == f"http://127.0.0.1:{port}/tap"
        table = pyvo.dal.TAPService(url).run_sync("SELECT TOP 5 hip, hpmag FROM hipparcos.main ORDER BY hpmag")
        assert len(table) == 5
        # SIA over the demo's images: M13 from the DSS, its file from the ObsCore row's access_url
        root = url.removesuffix("/tap")
        (m13,) = list(pyvo.dal.SIA2Service(f"{root}/sia").search(pos=(250.42, 36.46, 0.05), collection=DEMO_SKY))
        assert m13.getdataurl().startswith(f"{root}/sia/file?ID=")
        assert httpx.get(m13.getdataurl(), timeout=30).content[:9] == b"SIMPLE  ="
    assert any("pyvo.dal.TAPService" in line for line in lines), "the demo should print a pyvo example"
    assert any(line.startswith(f"SIA 2.0 images (DataLink, SODA cutouts): {root}/sia/") for line in lines)


def test_demo_answers_a_blocked_wait_when_stopped(postgres_dsn: str, hipparcos: None) -> None:
    # UWS 1.1 WAIT blocks up to the cap (60 s); Ctrl-C must answer it at once rather than wait for it
    answered: list[float] = []
    with vostack("demo", "--dsn", postgres_dsn, "--port", str(_free_port())) as (url, _, _):
        created = httpx.post(
            f"{url}/async",
            data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 hip FROM hipparcos.main"},
            follow_redirects=True,
        )
        job = str(created.url)  # followed the 303; PENDING: a WAIT on it blocks until the phase changes
        assert created.status_code == 200 and "PENDING" in created.text

        def wait() -> None:
            httpx.get(job, params={"WAIT": "60"}, timeout=120)
            answered.append(time.monotonic())

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(1)
        assert not answered, "the WAIT should block while the job is PENDING"
        stopping = time.monotonic()
    waiter.join(timeout=90)
    assert answered and answered[0] - stopping < 30, "the WAIT was not answered when the server stopped"


def _database_line(lines: list[str]) -> str:
    """The DSN the demo prints for a portal developer."""
    prefix = "Its database, for your own portal (examples/portal.py: VOSTACK_DSN): "
    found = [line[len(prefix) :].strip() for line in lines if line.startswith(prefix)]
    assert len(found) == 1, "".join(lines)
    return found[0]


def _count_hipparcos(dsn: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            n: int = await conn.fetchval("SELECT count(*) FROM hipparcos.main")
            return n
        finally:
            await conn.close()

    return asyncio.run(count())


def test_demo_with_its_own_postgresql_loads_once_and_stops_cleanly() -> None:
    # not tmp_path: as root the server runs as 'postgres', which cannot enter /tmp/pytest-of-root
    base = Path(tempfile.mkdtemp(prefix="vostack-demo-test-"))
    base.chmod(0o755)
    state = base / "state"
    port = _free_port()
    with vostack("demo", "--state-dir", str(state), "--port", str(port)) as (url, lines, pid):
        rows = pyvo.dal.TAPService(url).run_sync("SELECT COUNT(*) AS n FROM hipparcos.main").to_table()
        assert int(rows["n"][0]) == 117_955
        # it prints the DSN of its database, for examples/portal.py
        assert _count_hipparcos(_database_line(lines)) == 117_955
        # a second demo on the same state directory is refused at once and leaves the first one's server alone
        second = subprocess.run(
            [sys.executable, "-m", "vostack.cli", "demo", "--state-dir", str(state), "--port", str(_free_port())],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 1, second.stdout + second.stderr
        assert f"vostack: The state directory {state} is in use by process {pid} (" in second.stderr
        assert "give this one another --state-dir" in second.stderr
        rows = pyvo.dal.TAPService(url).run_sync("SELECT TOP 1 hip FROM hipparcos.main").to_table()
        assert len(rows) == 1
    output = "".join(lines)
    assert "loading Hipparcos" in output
    assert not list(state.rglob("postmaster.pid")), "the embedded PostgreSQL is still running"
    # SIGTERM (systemd, docker stop, kill) stops it as cleanly as Ctrl-C
    with vostack("demo", "--state-dir", str(state), "--port", str(port), stop=signal.SIGTERM) as (url, lines, _):
        rows = pyvo.dal.TAPService(url).run_sync("SELECT TOP 1 hip FROM hipparcos.main").to_table()
        assert len(rows) == 1
        dsn = _database_line(lines)
    assert "loading Hipparcos" not in "".join(lines), "the second run should reuse the loaded data"
    assert "Stopped." in "".join(lines)
    assert not list(state.rglob("postmaster.pid"))
    assert not _accepts_connections(dsn)
    shutil.rmtree(base, ignore_errors=True)


def _accepts_connections(dsn: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", urlsplit(dsn).port or 0), timeout=2):
            return True
    except OSError:
        return False


def test_sigterm_while_the_embedded_postgresql_starts_stops_it() -> None:
    base = Path(tempfile.mkdtemp(prefix="vostack-demo-test-"))
    base.chmod(0o755)
    state = base / "state"
    proc = subprocess.Popen(
        [sys.executable, "-m", "vostack.cli", "demo", "--state-dir", str(state), "--port", str(_free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("Starting PostgreSQL on"):  # pg_ctl start runs now
            proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 0, "".join(lines)
    proc.stdout.close()
    output = "".join(lines)
    assert "Stopping PostgreSQL" in output  # after the interrupted start (or, on a slow machine, after it)
    assert "Stopped." in output
    assert not list(state.rglob("postmaster.pid")), output
    shutil.rmtree(base, ignore_errors=True)


def test_serve_publishes_the_tables_named_in_a_config(postgres_dsn: str, pool: object, tmp_path: Path) -> None:
    async def make_table() -> None:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.execute(
                """
                DROP SCHEMA IF EXISTS portal CASCADE;
                CREATE SCHEMA portal;
                CREATE TABLE portal.planets (name text PRIMARY KEY, mass_earth double precision, moons int);
                COMMENT ON COLUMN portal.planets.moons IS 'Number of known moons';
                INSERT INTO portal.planets VALUES ('Mars', 0.107, 2), ('Jupiter', 317.8, 95);
                """
            )
        finally:
            await conn.close()

    asyncio.run(make_table())
    config = tmp_path / "site.toml"
    config.write_text(
        """
[service]
title = "Planets"
tap_schema = "portal_tap_schema"

[tables."portal.planets"]
description = "Some planets"

[tables."portal.planets".columns.mass_earth]
unit = "earthMass"
ucd = "phys.mass"
description = "Mass in Earth masses"

[registry]
authority = "ivo://planets.example"
organisation = "Planet archive"
title = "Planet archive"
description = "Planets and their moons."
reference_url = "https://planets.example/"
created = 2024-01-15T00:00:00Z
updated = 2025-03-01T00:00:00Z

[registry.contact]
name = "Archive staff"
email = "vo@planets.example"

[registry.services.tap]
dois = ["10.5072/planets"]
"""
    )
    port = _free_port()
    command = ("serve", "--dsn", postgres_dsn, "--config", str(config), "--port", str(port))
    with vostack(*command, stop=signal.SIGTERM) as (url, lines, _):  # SIGTERM stops it as Ctrl-C does
        result = pyvo.dal.TAPService(url).run_sync("SELECT name, mass_earth, moons FROM portal.planets ORDER BY name")
        fields = {f.name: f for f in result.fielddescs}
        assert [str(n) for n in result.to_table()["name"]] == ["Jupiter", "Mars"]
        assert str(fields["mass_earth"].unit) == "earthMass" and fields["mass_earth"].ucd == "phys.mass"
        assert fields["moons"].description == "Number of known moons"
        # the [registry] section publishes the site and its TAP service over OAI-PMH at /oai
        oai = f"http://127.0.0.1:{port}/oai"
        listed = httpx.get(oai, params={"verb": "ListIdentifiers", "metadataPrefix": "ivo_vor"})
        validator("OAI-PMH.xsd")(listed.content)
        ids = etree.fromstring(listed.content).xpath("//oai:identifier/text()", namespaces={"oai": OAI})
        assert sorted(ids) == [f"ivo://planets.example{k}" for k in ("", "/org", "/registry", "/tap")]
        got = httpx.get(oai, params={"verb": "GetRecord", "identifier": "ivo://planets.example/tap",
                                     "metadataPrefix": "ivo_vor"})  # fmt: skip
        resource = etree.fromstring(got.content).find(".//{*}Resource")
        assert resource is not None
        validator("RegistryInterface.xsd")(etree.tostring(resource))
        assert resource.findtext("title") == "Planets"
        assert resource.findtext("altIdentifier") == "doi:10.5072/planets"
        assert resource.findtext("capability/interface/accessURL") == url
        assert "portal.planets" in resource.xpath("tableset/schema/table/name/text()")
    assert any(line.startswith(f"OAI-PMH publishing registry: {oai}") for line in lines)


def test_demo_on_a_port_in_use_says_so_before_starting_anything(tmp_path: Path) -> None:
    # the HTTP port is bound first: a clash is reported at once, and the embedded PostgreSQL
    # (which picks a free port of its own) can never be given the HTTP port meanwhile
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        state = tmp_path / "state"
        done = subprocess.run(
            [sys.executable, "-m", "vostack.cli", "demo", "--state-dir", str(state), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"vostack: cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr
    assert "Starting the embedded PostgreSQL" not in done.stdout
    assert not state.exists()


def _server_end_nodelay(client: socket.socket) -> int:
    """TCP_NODELAY of the server's end of ``client``'s connection, found among this process's descriptors."""
    for name in os.listdir("/proc/self/fd"):
        fd = os.dup(int(name))
        try:
            sock = socket.socket(fileno=fd)  # family, type and protocol read from the descriptor
        except OSError:
            os.close(fd)  # not a socket
            continue
        with sock:
            try:
                peer = sock.getpeername()
            except OSError:
                continue  # a listening socket, or not a TCP/IP one
            if peer == client.getsockname():
                return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    raise AssertionError("the server's end of the connection was not found")


@pytest.mark.parametrize("bind", ["vostack", "uvicorn"])
def test_kept_alive_connections_are_answered_without_nagle_delay(bind: str) -> None:
    # A response is written in two parts (headers, body). With Nagle's algorithm on, the second
    # waits for the client's ACK of the first, which a kept-alive client delays (~40 ms on Linux):
    # the server's end of every connection must have TCP_NODELAY set. "vostack" is how `vostack demo`
    # and `vostack serve` serve (a socket bound first, handed to uvicorn); "uvicorn" is a portal
    # under plain `uvicorn module:app` (uvicorn binds).
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    port = _free_port()
    config = uvicorn.Config(
        Starlette(routes=[Route("/", hello)]), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    sockets = [listen("127.0.0.1", port)] if bind == "vostack" else None
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=sockets)))
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn did not start"
            time.sleep(0.01)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for _ in range(2):  # the second request reuses the connection
                connection.request("GET", "/")
                assert connection.getresponse().read() == b"hello"
            assert connection.sock is not None
            assert _server_end_nodelay(connection.sock) != 0
        finally:
            connection.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for sock in sockets or ():
            sock.close()


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # pyvo's submit_job leaves a response unclosed
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_two_serve_processes_started_together_both_come_up(postgres_dsn: str, pool: object, tmp_path: Path) -> None:
    # Both generate the same TAP_SCHEMA at the same moment on a database that has none yet: one writes it,
    # the other waits for it and reuses it (before, one exited with a foreign-key violation). Many tables
    # make the generation long enough for the two to overlap although the processes start unevenly.
    tables = [f"twins.stars{i}" for i in range(TWIN_TABLES)]

    async def fresh() -> None:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            await conn.execute(
                "DROP SCHEMA IF EXISTS twin_tap_schema CASCADE; DROP SCHEMA IF EXISTS twin_uws CASCADE;"
                " DROP SCHEMA IF EXISTS twins CASCADE"
            )
            await conn.execute("CREATE SCHEMA twins")
            for name in tables:
                columns = ", ".join(f"c{j} real" for j in range(20))
                await conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, {columns})")
            await conn.execute(f"INSERT INTO {tables[0]} (id, c0) SELECT i, i / 10.0 FROM generate_series(1, 100) i")
        finally:
            await conn.close()

    asyncio.run(fresh())
    config = tmp_path / "site.toml"
    # a job queue of their own: the session's other servers (another configuration) share the default one
    config.write_text(
        '[service]\ntap_schema = "twin_tap_schema"\n[database]\njobs_schema = "twin_uws"\n'
        + "".join(f'[tables."{t}"]\n' for t in tables)
    )
    commands = [
        Command("serve", "--dsn", postgres_dsn, "--config", str(config), "--port", str(_free_port())) for _ in (1, 2)
    ]
    try:
        first, second = (pyvo.dal.TAPService(command.serving()) for command in commands)
        for service in (first, second):
            assert len(service.run_sync(f"SELECT id FROM {tables[0]} WHERE c0 > 5").to_table()) == 50
        # one job queue: a job created through one server is fetched through the other
        job = first.submit_job(f"SELECT count(*) AS n FROM {tables[0]}")
        job.run().wait(timeout=60)
        assert job.phase == "COMPLETED"
        other = pyvo.dal.AsyncTAPJob(job.url.replace(first.baseurl, second.baseurl))
        assert int(other.fetch_result().to_table()["n"][0]) == 100
        other.delete()
    finally:
        for command in commands:
            command.stop()
    gc.collect()  # here, under this test's filters


TWIN_TABLES = 60


def test_serve_publishes_cone_searches_mocs_and_epn_tap_from_the_toml_alone(
    postgres_dsn: str, hipparcos: None, planetary: None, tmp_path: Path
) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        f"""
[service]
title = "Stars and planets"
tap_schema = "toml_tap_schema"

[tables."hipparcos.main"]
description = "Hipparcos"
[tables."hipparcos.main".columns.hip]
ucd = "meta.id;meta.main"
principal = true
[tables."hipparcos.main".columns.ra]
ucd = "pos.eq.ra;meta.main"
unit = "deg"
principal = true
[tables."hipparcos.main".columns.dec]
ucd = "pos.eq.dec;meta.main"
unit = "deg"
principal = true

[scs."hipparcos.main"]
max_sr = 5

[coverage]
order = 5

[epntap.exo_toml]
source = "planetary.exoplanets"
title = "Exoplanets"
description = "Planets of other stars, declared in TOML."
subjects = ["exoplanet-astronomy"]
[epntap.exo_toml.columns]
granule_uid = "name"
obs_id = "name"
target_name = "name"
c1min = "ra"
c1max = "ra"
c2min = "dec"
c2max = "dec"
ra = "ra"
dec = "dec"
creation_date = "last_update"
modification_date = "last_update"
release_date = "last_update"
[epntap.exo_toml.constants]
granule_gid = "planets"
dataproduct_type = "ci"
target_class = "exoplanet"
spatial_frame_type = "celestial"

{REGISTRY_TOML}"""
    )
    from mocpy import MOC

    from tests.catalogues import hipparcos_within
    from tests.epntap_validator import validate

    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    with vostack("serve", "--dsn", postgres_dsn, "--config", str(config), "--port", str(port)) as (url, lines, _):
        stars = pyvo.dal.SCSService(f"{root}/scs/hipparcos.main/?").search(pos=(56.75, 24.12), radius=1)
        assert {str(h) for h in stars.to_table()["hip"]} == hipparcos_within(56.75, 24.12, 1)
        moc = MOC.from_string(httpx.get(f"{root}/moc/hipparcos.main/space.txt").text, format="ascii")
        assert moc.max_order == 5
        tap = pyvo.dal.TAPService(url)

        def query(adql: str) -> list[tuple[object, ...]]:
            table = tap.run_sync(adql, maxrec=100_000).to_table()
            return [tuple(None if v is np.ma.masked else v for v in row) for row in table.iterrows()]

        assert validate(query) == {"exo_toml.epn_core": []}
        listed = httpx.get(f"{root}/oai", params={"verb": "ListIdentifiers", "metadataPrefix": "ivo_vor"})
        ids = etree.fromstring(listed.content).xpath("//oai:identifier/text()", namespaces={"oai": OAI})
        assert {"ivo://toml.example/scs/hipparcos.main", "ivo://toml.example/epn/exo_toml"} <= set(ids)
    assert any(line.startswith(f"Simple Cone Search of hipparcos.main: {root}/scs/hipparcos.main/") for line in lines)
    # after the data change, one command computes the MOCs anew for every server of the site
    done = subprocess.run(
        [sys.executable, "-m", "vostack.cli", "coverage", "--dsn", postgres_dsn, "--config", str(config),
         "hipparcos.main"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hipparcos.main: space MOC of 117,955 rows at order 5" in done.stdout
