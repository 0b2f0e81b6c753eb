"""TAP uploads through /sync and /async against the real database (TAP 1.1 §4.5, DALI 1.1 §3.4.5)."""

from __future__ import annotations

import asyncio
import io
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
from astropy.io.votable import from_table, parse, writeto
from astropy.table import MaskedColumn, Table

from vostack import db
from vostack.dali import Params
from vostack.errors import UploadError, UsageError
from vostack.tap import TAPService
from vostack.tap.params import parse_tap_request
from vostack.tap.upload import UploadLimits, UploadSource, load_uploads, temp_tables, with_uploads

pytestmark = pytest.mark.postgres

CROSSMATCH = (
    "SELECT u.id, h.hip FROM TAP_UPLOAD.targets AS u JOIN hipparcos.main AS h "
    "ON CONTAINS(POINT(u.ra, u.dec), CIRCLE(h.ra, h.dec, 0.001)) = 1 ORDER BY u.id"
)


def votable(table: Table, serialization: str = "binary2") -> bytes:
    document = from_table(table)
    document.get_first_table().format = serialization
    out = io.BytesIO()
    writeto(document, out)
    return out.getvalue()


def read(content: bytes) -> Table:
    return parse(io.BytesIO(content), verify="exception").get_first_table().to_table()


async def stars(pool: db.Pool, n: int) -> list[tuple[int, float, float]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT hip, ra, dec FROM hipparcos.main WHERE hip % 997 = 1 ORDER BY hip LIMIT $1", n)
    return [(r["hip"], r["ra"], r["dec"]) for r in rows]


def targets(found: list[tuple[int, float, float]]) -> Table:
    """An upload of positions 1 arcsec off the given stars, plus one in an empty spot."""
    table = Table()
    table["id"] = np.arange(len(found) + 1, dtype=np.int32)
    table["ra"] = [ra + 1 / 3600 for _, ra, _ in found] + [0.0]
    table["dec"] = [dec for _, _, dec in found] + [-89.99]
    return table


async def test_an_inline_upload_comes_back_with_its_values_and_types(client: httpx.AsyncClient) -> None:
    table = Table()
    table["n"] = np.array([1, 2, 3], dtype=np.int16)
    table["big"] = np.array([2**40, -1, 0], dtype=np.int64)
    table["x"] = MaskedColumn([1.5, 2.5, 3.5], mask=[False, True, False])
    table["f"] = np.array([0.5, 1.5, 2.5], dtype=np.float32)
    table["name"] = ["alpha", "beta", ""]
    table["ok"] = [True, False, True]
    table["v"] = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    for serialization in ("tabledata", "binary", "binary2"):
        response = await client.post(
            "/tap/sync",
            data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.mine ORDER BY n", "UPLOAD": "mine,param:t1"},
            files={"t1": ("t.xml", votable(table, serialization), "application/x-votable+xml")},
        )
        assert response.status_code == 200, response.text
        result = read(response.content)
        assert result.colnames == ["n", "big", "x", "f", "name", "ok", "v"]
        assert [result[c].dtype.kind for c in result.colnames] == ["i", "i", "f", "f", "U", "b", "f"]
        assert list(result["n"]) == [1, 2, 3] and list(result["big"]) == [2**40, -1, 0]
        assert result["x"][0] == 1.5 and bool(result["x"].mask[1]) and result["x"][2] == 3.5
        assert list(result["f"]) == [0.5, 1.5, 2.5] and result["f"].dtype == np.float32
        assert list(result["name"][:2]) == ["alpha", "beta"]
        assert list(result["ok"]) == [True, False, True]
        assert result["v"].tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


async def test_same_named_uploads_of_other_types_on_one_connection(postgres_dsn: str, hipparcos: None) -> None:
    # the driver caches statements per connection by their text: each upload needs a table name of its own
    from vostack.cli import build_app
    from vostack.demo import demo_config

    pool = await db.create_pool(postgres_dsn, max_size=2)  # one for UWS's LISTEN, one for every query
    tap = TAPService(config=demo_config())
    tables = [
        Table({"id": np.array([2**40, 5], dtype=np.int64), "x": [1.5, 2.5]}),
        Table({"id": np.array([7, 8], dtype=np.int32), "x": np.array([0.5, 1.5], dtype=np.float32)}),
        Table({"id": ["a", "b"], "x": np.array([3, 4], dtype=np.int16)}),
    ]
    try:
        async with tap.serve(pool):
            transport = httpx.ASGITransport(app=build_app(tap))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                for table in tables:
                    response = await client.post(
                        "/tap/sync",
                        data={
                            "LANG": "ADQL",
                            "QUERY": "SELECT id, x FROM TAP_UPLOAD.mine ORDER BY x",
                            "UPLOAD": "mine,param:t",
                        },
                        files={"t": ("t.xml", votable(table), "application/x-votable+xml")},
                    )
                    assert response.status_code == 200, response.text
                    result = read(response.content)
                    assert result["id"].tolist() == table["id"].tolist()
                    assert result["x"].tolist() == table["x"].tolist()
    finally:
        await pool.close()


async def test_uploaded_geometries_become_pgsphere_values(client: httpx.AsyncClient) -> None:
    table = Table()
    table["pos"] = np.array([[10.0, 20.0], [200.0, -30.0]])
    table["disk"] = np.array([[10.0, 20.0, 1.0], [200.0, -30.0, 2.0]])
    table["t"] = ["2020-01-02T03:04:05", "1999-12-31T23:59:59.5"]
    document = from_table(table)
    for field, xtype in zip(document.get_first_table().fields, ("point", "circle", "timestamp"), strict=True):
        field.xtype = xtype
    out = io.BytesIO()
    writeto(document, out)
    query = (
        "SELECT pos, disk, t, CONTAINS(pos, CIRCLE(10, 20.5, 1)) AS inside, DISTANCE(pos, POINT(10, 21)) AS d "
        "FROM TAP_UPLOAD.g ORDER BY t"
    )
    response = await client.post(
        "/tap/sync", data={"LANG": "ADQL", "QUERY": query, "UPLOAD": "g,param:g"}, files={"g": out.getvalue()}
    )
    assert response.status_code == 200, response.text
    fields = parse(io.BytesIO(response.content), verify="exception").get_first_table().fields
    assert [(f.xtype, f.datatype) for f in fields[:3]] == [
        ("point", "double"),
        ("circle", "double"),
        ("timestamp", "unicodeChar"),
    ]
    result = read(response.content)
    np.testing.assert_allclose(result["pos"].tolist(), [[200.0, -30.0], [10.0, 20.0]])
    np.testing.assert_allclose(result["disk"].tolist(), [[200.0, -30.0, 2.0], [10.0, 20.0, 1.0]])
    assert list(result["t"]) == ["1999-12-31T23:59:59.500000", "2020-01-02T03:04:05"]
    assert list(result["inside"]) == [0, 1]
    assert result["d"][1] == pytest.approx(1.0)


async def test_a_crossmatch_of_an_upload_finds_the_catalogue_stars(client: httpx.AsyncClient, pool: db.Pool) -> None:
    found = await stars(pool, 20)
    response = await client.post(
        "/tap/sync",
        data={"LANG": "ADQL", "QUERY": CROSSMATCH, "UPLOAD": "targets,param:cat"},
        files={"cat": votable(targets(found))},
    )
    assert response.status_code == 200, response.text
    result = read(response.content)
    assert [(int(i), int(h)) for i, h in zip(result["id"], result["hip"], strict=True)] == [
        (i, hip) for i, (hip, _, _) in enumerate(found)
    ]


@pytest.mark.parametrize(
    "condition",
    [
        "CONTAINS(POINT(u.ra, u.dec), CIRCLE(h.ra, h.dec, 0.001)) = 1",
        "1 = CONTAINS(POINT(h.ra, h.dec), CIRCLE(u.ra, u.dec, 0.001))",
        "DISTANCE(POINT(u.ra, u.dec), POINT(h.ra, h.dec)) < 0.001",
    ],
)
async def test_a_crossmatch_of_an_upload_uses_the_catalogue_spatial_index(
    tap: TAPService, pool: db.Pool, condition: str
) -> None:
    found = await stars(pool, 200)
    query = f"SELECT u.id, h.hip FROM TAP_UPLOAD.targets AS u JOIN hipparcos.main AS h ON {condition}"
    request = parse_tap_request(
        Params([("LANG", "ADQL"), ("QUERY", query), ("UPLOAD", "targets,param:t")]),
        formats=tap.formats,
        maxrec=10,
        hardlimit=10,
    )
    uploads = await load_uploads(request.uploads, {"t": votable(targets(found))}, UploadLimits.of(tap.settings))
    from vostack import adql

    sql = adql.translate(query, with_uploads(tap.tableset, uploads)).sql
    async with db.open_cursor(pool, f"EXPLAIN {sql}", statement_timeout=10, temp_tables=temp_tables(uploads)) as cur:
        plan = "\n".join(str(row[0]) for row in await cur.fetch(100))
    assert "main_spoint_idx" in plan, plan
    assert "Seq Scan on main" not in plan, plan


async def test_several_uploads_in_one_query_and_repeated_upload_parameters(client: httpx.AsyncClient) -> None:
    a, b, c = (Table({"k": np.array(values, dtype=np.int32)}) for values in ([1, 2, 3], [2, 3, 4], [3, 4, 5]))
    query = "SELECT a.k FROM TAP_UPLOAD.a AS a JOIN TAP_UPLOAD.b AS b ON a.k = b.k JOIN TAP_UPLOAD.c AS c ON b.k = c.k"
    response = await client.post(
        "/tap/sync",
        data={"LANG": "ADQL", "QUERY": query, "UPLOAD": ["a,param:a;b,param:b", "c,param:c"]},
        files={"a": votable(a), "b": votable(b), "c": votable(c)},
    )
    assert response.status_code == 200, response.text
    assert list(read(response.content)["k"]) == [3]


async def test_upload_tables_vanish_with_the_query_and_the_transaction_is_read_only(postgres_dsn: str) -> None:
    pool = await db.create_pool(postgres_dsn, max_size=1)  # one connection: every query below shares it
    table = db.TempTable("gone", (("k", "integer"),), [(1,), (2,)], "upload 'gone'")
    try:
        async with db.open_cursor(pool, "SELECT count(*) FROM pg_temp.gone", statement_timeout=10,
                                  temp_tables=[table]) as cursor:  # fmt: skip
            assert (await cursor.fetch(1))[0][0] == 2
        with pytest.raises(UsageError, match="read-only"):
            async with db.open_cursor(pool, "CREATE TABLE public.evil (x int)", statement_timeout=10,
                                      temp_tables=[table]) as cursor:  # fmt: skip
                await cursor.fetch(1)
        async with db.open_cursor(pool, "SELECT to_regclass('pg_temp.gone') IS NULL", statement_timeout=10) as cursor:
            assert (await cursor.fetch(1))[0][0] is True
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("upload", "files", "message"),
    [
        ("1bad,param:x", {"x": b""}, "regular identifier"),
        ("select,param:x", {"x": b""}, "reserved word"),
        ("t,param:x;T,param:y", {"x": b"", "y": b""}, "used twice"),
        ("t,param:nothere", {"x": b"<VOTABLE/>"}, "no file part named 'nothere'"),
        ("t,file:///etc/passwd", {}, "not supported"),
        ("t,ftp://example.org/t.xml", {}, "not supported"),
        ("t", {}, "must be 'name,uri'"),
        ("t,param:x", {"x": b"this is not xml"}, "upload 't' is not well-formed XML"),
        ("t,param:x", {"x": b"<html><body/></html>"}, "upload 't' is not a VOTable"),
    ],
)
async def test_bad_uploads_are_dali_errors_that_name_the_upload(
    client: httpx.AsyncClient, upload: str, files: dict[str, bytes], message: str
) -> None:
    response = await client.post(
        "/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": upload}, files=files or None
    )
    assert response.status_code == 400
    document = parse(io.BytesIO(response.content), verify="exception")
    status = next(i for i in document.resources[0].infos if i.name == "QUERY_STATUS")
    assert status.value == "ERROR"
    assert message in str(status.content), status.content


async def test_uploads_over_the_row_or_byte_limit_are_refused(client: httpx.AsyncClient, tap: TAPService) -> None:
    rows = tap.settings.upload_rows
    big = votable(Table({"k": np.arange(rows + 1, dtype=np.int32)}))
    ok = votable(Table({"k": np.arange(rows, dtype=np.int32)}))
    data = {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM TAP_UPLOAD.t", "UPLOAD": "t,param:x"}
    response = await client.post("/tap/sync", data=data, files={"x": ok})
    assert response.status_code == 200 and list(read(response.content)["n"]) == [rows]
    response = await client.post("/tap/sync", data=data, files={"x": big})
    assert response.status_code == 400 and b"more than this service accepts" in response.content
    limits = UploadLimits(max_bytes=len(ok) - 1, max_rows=rows, timeout=5)
    with pytest.raises(UploadError, match=f"more than this service accepts per query \\({len(ok) - 1:,} bytes"):
        await load_uploads(parse_tap_request(Params([("LANG", "ADQL"), ("QUERY", "SELECT 1"),
                                                     ("UPLOAD", "t,param:x")]), formats=tap.formats, maxrec=1,
                                             hardlimit=1).uploads, {"x": ok}, limits)  # fmt: skip


async def test_a_request_body_over_the_limit_is_refused_while_it_is_read(
    client: httpx.AsyncClient, tap: TAPService
) -> None:
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        boundary = b"--b\r\n"
        yield boundary + b'Content-Disposition: form-data; name="LANG"\r\n\r\nADQL\r\n'
        yield boundary + b'Content-Disposition: form-data; name="x"; filename="x.xml"\r\n\r\n'
        chunk = b"x" * (1 << 20)
        while sent < 4 * tap.settings.upload_limit:
            sent += len(chunk)
            yield chunk

    response = await client.post(
        "/tap/sync",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413 and b"larger than this service accepts" in response.content
    assert sent < tap.settings.upload_limit + (3 << 20)


class _Server(ThreadingHTTPServer):
    payload: bytes = b""
    requests = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests += 1
        if self.path.startswith("/redirect"):
            self.send_response(302)
            target = {"/redirect-ftp": "ftp://example.org/x", "/redirect-internal": "http://10.1.2.3/x.xml"}
            self.send_header("Location", target.get(self.path, "file:///etc/passwd"))
            self.end_headers()
            return
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-votable+xml")
        self.end_headers()
        if self.path == "/slow":
            for _ in range(50):
                self.wfile.write(b" ")
                self.wfile.flush()
                threading.Event().wait(0.1)
        self.wfile.write(self.server.payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


async def test_an_http_upload_is_fetched_by_the_server(
    client: httpx.AsyncClient, tap: TAPService, http_server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    http_server.payload = votable(Table({"k": np.array([7, 8], dtype=np.int32)}))
    url = f"http://127.0.0.1:{http_server.server_port}/t.xml"
    params = {"LANG": "ADQL", "QUERY": "SELECT SUM(k) AS s FROM TAP_UPLOAD.remote", "UPLOAD": f"remote,{url}"}
    # by default the server fetches from public addresses only: 127.0.0.1 is refused before any connection
    response = await client.get("/tap/sync", params=params)
    assert response.status_code == 400
    assert "public addresses only" in response.text and http_server.requests == 0
    # a portal that serves uploads from its own network allows that network
    settings = replace(tap.config.service, upload_networks=("127.0.0.0/8",))
    monkeypatch.setattr(tap, "config", replace(tap.config, service=settings))
    response = await client.get("/tap/sync", params=params)
    assert response.status_code == 200, response.text
    assert list(read(response.content)["s"]) == [15]
    assert http_server.requests == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",  # the database next door: the held-out hostile request
        "http://localhost:5432/",
        "http://[::1]:5432/",
        "http://[::ffff:127.0.0.1]:5432/",
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service (link-local)
        "http://10.0.0.1/x.xml",
        "http://192.168.1.1/x.xml",
        "http://172.16.0.1/x.xml",
        "http://100.64.0.1/x.xml",  # carrier-grade NAT
        "http://0.0.0.0:5432/",
        "https://127.0.0.1:5432/",
    ],
)
async def test_uploads_from_internal_addresses_are_refused_without_a_connection(url: str) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0)
    try:
        url = url.replace(":5432", f":{listener.getsockname()[1]}")
        sources = (UploadSource("t", url),)
        with pytest.raises(UploadError) as caught:
            await load_uploads(sources, {}, UploadLimits(10**6, 10**6, 5.0))
        assert "public addresses only" in caught.value.message
        assert "closed connection" not in caught.value.message
        with pytest.raises(BlockingIOError):  # nobody knocked
            listener.accept()
    finally:
        listener.close()


async def test_a_redirect_to_an_internal_address_is_refused(http_server: _Server) -> None:
    # the first hop is allowed (this test's server), its redirect to another internal address is not
    base = f"http://127.0.0.1:{http_server.server_port}"
    sources = (UploadSource("t", f"{base}/redirect-internal"),)
    with pytest.raises(UploadError, match="public addresses only"):
        await load_uploads(sources, {}, UploadLimits(10**6, 10**6, 5.0, networks=("127.0.0.1/32",)))


async def test_http_uploads_are_bounded_in_time_size_and_schemes(http_server: _Server) -> None:
    http_server.payload = votable(Table({"k": np.arange(1000, dtype=np.int32)}))
    base = f"http://127.0.0.1:{http_server.server_port}"

    local = ("127.0.0.0/8",)

    async def load(path: str, limits: UploadLimits) -> None:
        sources = parse_tap_request(
            Params([("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("UPLOAD", f"t,{base}{path}")]),
            formats=TAPService().formats,
            maxrec=1,
            hardlimit=1,
        ).uploads
        await load_uploads(sources, {}, limits)

    with pytest.raises(UploadError, match="did not deliver within 1 s"):
        await load("/slow", UploadLimits(10**6, 10**6, 1.0, networks=local))
    with pytest.raises(UploadError, match="more than this service accepts"):
        await load("/t.xml", UploadLimits(100, 10**6, 5.0, networks=local))
    with pytest.raises(UploadError, match=r"file:///etc/passwd.* (refused|is not allowed)"):
        await load("/redirect", UploadLimits(10**6, 10**6, 5.0, networks=local))
    with pytest.raises(UploadError, match="HTTP 404"):
        await load("/missing", UploadLimits(10**6, 10**6, 5.0, networks=local))
    with pytest.raises(UploadError, match=r"ftp://example\.org/x.* refused"):
        await load("/redirect-ftp", UploadLimits(10**6, 10**6, 5.0, networks=local))
    await load("/t.xml", UploadLimits(10**6, 10**6, 5.0, networks=local))
    with pytest.raises(UploadError, match="does not fetch uploads by URL"):
        await load("/t.xml", UploadLimits(10**6, 10**6, 5.0, http=False, networks=local))


async def test_an_async_job_keeps_its_inline_upload_until_it_runs(client: httpx.AsyncClient, pool: db.Pool) -> None:
    found = await stars(pool, 5)
    created = await client.post(
        "/tap/async",
        data={"LANG": "ADQL", "QUERY": CROSSMATCH, "UPLOAD": "targets,param:cat", "RESPONSEFORMAT": "votable"},
        files={"cat": votable(targets(found))},
    )
    assert created.status_code == 303
    job = created.headers["location"]
    parameters = (await client.get(f"{job}/parameters")).text
    assert "uws.file.cat" in parameters.lower()
    assert (await client.post(f"{job}/phase", data={"PHASE": "RUN"})).status_code == 303
    for _ in range(100):
        phase = (await client.get(f"{job}/phase")).text
        if phase in ("COMPLETED", "ERROR"):
            break
        await asyncio.sleep(0.1)
    assert phase == "COMPLETED", (await client.get(f"{job}/error")).text
    result = read((await client.get(f"{job}/results/result")).content)
    assert [int(h) for h in result["hip"]] == [hip for hip, _, _ in found]
    await client.delete(job)


async def test_an_upload_can_be_added_to_a_pending_job(client: httpx.AsyncClient) -> None:
    # TAP 1.1 §4.5: UPLOAD and its file part may come in a later POST to {job}/parameters
    created = await client.post(
        "/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT SUM(k) AS s FROM TAP_UPLOAD.t ORDER BY s"}
    )
    job = created.headers["location"]
    table = Table({"k": np.array([2, 3, 4], dtype=np.int32)})
    added = await client.post(f"{job}/parameters", data={"UPLOAD": "t,param:x"}, files={"x": votable(table)})
    assert added.status_code == 303, added.text
    assert (await client.post(f"{job}/phase", data={"PHASE": "RUN"})).status_code == 303
    waited = await client.get(job, params={"WAIT": 30, "PHASE": "EXECUTING"})
    for _ in range(100):
        phase = (await client.get(f"{job}/phase")).text
        if phase in ("COMPLETED", "ERROR"):
            break
        await asyncio.sleep(0.1)
    assert waited.status_code == 200 and phase == "COMPLETED", (await client.get(f"{job}/error")).text
    assert list(read((await client.get(f"{job}/results/result")).content)["s"]) == [9]
    late = await client.post(f"{job}/parameters", data={"UPLOAD": "u,param:y"}, files={"y": votable(table)})
    assert late.status_code == 400 and b"only change while PENDING" in late.content
    await client.delete(job)


async def test_async_jobs_refuse_forged_file_parameters(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/tap/async",
        data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:x", "UWS.FILE.x": "a/file.x"},
    )
    assert response.status_code == 400 and b"reserved for the service" in response.content


async def test_an_async_job_with_phase_run_and_an_upload_runs(client: httpx.AsyncClient) -> None:
    table = Table({"k": np.array([4, 5], dtype=np.int32)})
    created = await client.post(
        "/tap/async",
        data={"LANG": "ADQL", "QUERY": "SELECT MAX(k) AS m FROM TAP_UPLOAD.t", "UPLOAD": "t,param:x", "PHASE": "RUN"},
        files={"x": votable(table)},
    )
    job = created.headers["location"]
    waited = await client.get(job, params={"WAIT": 10, "PHASE": "QUEUED"})
    for _ in range(100):
        phase = (await client.get(f"{job}/phase")).text
        if phase in ("COMPLETED", "ERROR"):
            break
        await asyncio.sleep(0.1)
    assert waited.status_code == 200 and phase == "COMPLETED"
    assert list(read((await client.get(f"{job}/results/result")).content)["m"]) == [5]
    await client.delete(job)


async def test_an_async_job_whose_upload_is_missing_ends_in_error(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/tap/async",
        data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:x", "PHASE": "RUN"},
    )
    job = created.headers["location"]
    for _ in range(100):
        phase = (await client.get(f"{job}/phase")).text
        if phase in ("COMPLETED", "ERROR"):
            break
        await asyncio.sleep(0.1)
    assert phase == "ERROR"
    assert b"no file part named 'x'" in (await client.get(f"{job}/error")).content
    await client.delete(job)
