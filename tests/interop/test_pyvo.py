"""Real clients over real HTTP: pyvo, and raw sockets for streaming and disconnects."""

from __future__ import annotations

import asyncio
import csv
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import pyvo

from vostack import db
from vostack.demo import hipparcos

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

TABLE = hipparcos.TABLE


def test_pyvo_run_sync_returns_rows_with_units_and_ucds(live_url: str) -> None:
    service = pyvo.dal.TAPService(live_url)
    result = service.run_sync(f"SELECT TOP 5 * FROM {TABLE} ORDER BY hpmag")
    table = result.to_table()
    assert len(table) == 5
    assert list(table["hpmag"]) == sorted(table["hpmag"])
    assert str(table["ra"].unit) == "deg"
    ucds = {f.name: f.ucd for f in result.fielddescs}
    assert ucds["ra"] == "pos.eq.ra;meta.main" and ucds["hpmag"] == "phot.mag;em.opt"
    assert result.query_status == "OK"


def test_pyvo_sees_the_overflow(live_url: str) -> None:
    service = pyvo.dal.TAPService(live_url)
    result = service.run_sync(f"SELECT hip FROM {TABLE}", maxrec=7)  # cut where the client asked: no warning
    assert len(result) == 7
    assert result.query_status == "OVERFLOW"
    with pytest.warns(pyvo.dal.DALOverflowWarning, match="server limits"):
        cut = service.run_sync(f"SELECT hip FROM {TABLE}")
    assert len(cut) == service.maxrec


def test_pyvo_reads_the_error_message(live_url: str) -> None:
    service = pyvo.dal.TAPService(live_url)
    with pytest.raises(pyvo.dal.DALQueryError) as info:
        service.run_sync(f"SELECT no_such_column FROM {TABLE}")
    assert "no_such_column" in str(info.value)


def test_pyvo_reads_capabilities_and_tables(live_url: str) -> None:
    service = pyvo.dal.TAPService(live_url)
    assert service.maxrec == 10_000
    assert service.hardlimit == 2_000_000
    assert TABLE in service.tables
    assert "hpmag" in [c.name for c in service.tables[TABLE].columns]


def _raw_request(live_url: str, query: str, maxrec: int, fmt: str = "votable") -> socket.socket:
    parts = urllib.parse.urlsplit(live_url)
    body = urllib.parse.urlencode({"LANG": "ADQL", "QUERY": query, "MAXREC": str(maxrec), "RESPONSEFORMAT": fmt})
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    sock.sendall(
        f"POST {parts.path}/sync HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
    )
    return sock


async def _backends(dsn: str, marker: str) -> list[str]:
    pool = await db.create_pool(dsn, max_size=1)
    try:
        rows = await pool.fetch(
            "SELECT state FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()",
            f"%{marker}%",
        )
    finally:
        await pool.close()
    return [r["state"] for r in rows]


def test_first_bytes_leave_before_the_result_is_read(live_url: str, postgres_dsn: str) -> None:
    # 117,955 x 4 rows: far more than one batch; the first chunk must arrive while the cursor is open.
    query = f"SELECT a.hip, a.ra, a.dec, 1 AS m_9d1c FROM {TABLE} AS a, (SELECT TOP 4 hip FROM {TABLE}) AS b"
    sock = _raw_request(live_url, query, 1_000_000)
    try:
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200")
        states = asyncio.run(_backends(postgres_dsn, "m_9d1c"))
        assert states, "the query's cursor should still be open while the first bytes are read"
    finally:
        sock.close()


@pytest.mark.parametrize("fmt", ["votable", "csv"])  # read from the binary and from the text COPY
def test_a_client_that_goes_away_mid_stream_cancels_its_query(live_url: str, postgres_dsn: str, fmt: str) -> None:
    # 117,955 x 20 rows streamed: the client reads the first bytes, then closes the connection
    query = f"SELECT a.hip, a.ra, a.dec, 2 AS m_77c2 FROM {TABLE} AS a, (SELECT TOP 20 hip FROM {TABLE}) AS b"
    sock = _raw_request(live_url, query, 2_000_000, fmt)
    try:
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert asyncio.run(_backends(postgres_dsn, "m_77c2")) == ["active"]  # still streaming
    finally:
        sock.close()
    deadline = time.monotonic() + 5
    while "active" in asyncio.run(_backends(postgres_dsn, "m_77c2")):
        assert time.monotonic() < deadline, "the abandoned COPY is still running in PostgreSQL"
        time.sleep(0.1)


def _chunks(body: bytes) -> list[bytes]:
    """The chunks of an HTTP/1.1 chunked body, as far as it goes (RFC 9112 §7.1); ``b""`` is the last chunk."""
    chunks = []
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line, 16)
        if len(rest) < size + 2:
            break
        chunks.append(rest[:size])
        body = rest[size + 2 :]
    return chunks


def test_a_csv_that_fails_after_its_first_rows_ends_without_the_final_chunk(live_url: str) -> None:
    # a division by zero far beyond the first rows, computed above the ordered subquery: row by row as the rows
    # leave it, whether PostgreSQL sorts (a freshly loaded table) or reads the primary key in order (once vacuumed)
    last = f"(SELECT MIN(t.hip) FROM (SELECT TOP 100000 hip FROM {TABLE} ORDER BY hip DESC) AS t)"
    ordered = f"(SELECT TOP 200000 hip FROM {TABLE} ORDER BY hip) AS s"
    sock = _raw_request(live_url, f"SELECT hip, 1 / (hip - {last}) AS x FROM {ordered}", 2_000_000, "csv")
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    finally:
        sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower()
    chunks = _chunks(body)
    assert b"".join(chunks).count(b"\r\n") > 1000  # rows were sent
    assert b"" not in chunks  # but not the last chunk: the client sees a broken transfer, not a short table


def test_a_client_that_goes_away_cancels_its_query(live_url: str, postgres_dsn: str) -> None:
    query = f"SELECT COUNT(*) AS m_51ee FROM {TABLE} AS a, {TABLE} AS b WHERE a.hpmag < b.hpmag - a.b_v"
    sock = _raw_request(live_url, query, 10)
    deadline = time.monotonic() + 10
    while not asyncio.run(_backends(postgres_dsn, "m_51ee")):
        assert time.monotonic() < deadline, "the query never started"
        time.sleep(0.1)
    sock.close()
    deadline = time.monotonic() + 5
    while "active" in asyncio.run(_backends(postgres_dsn, "m_51ee")):
        assert time.monotonic() < deadline, "the abandoned query is still running in PostgreSQL"
        time.sleep(0.1)


def test_stilts_tapquery_gets_the_same_rows_as_pyvo(live_url: str, tmp_path: Path) -> None:
    query = f"SELECT TOP 5 hip, ra, dec, hpmag FROM {TABLE} ORDER BY hpmag, hip"
    out = tmp_path / "result.csv"
    done = subprocess.run(
        ["stilts", "tapquery", f"tapurl={live_url}", f"adql={query}", "sync=true", "ofmt=csv", f"out={out}"],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open(newline="") as fh:
        stilts_rows = [(int(r["hip"]), float(r["hpmag"])) for r in csv.DictReader(fh)]
    table = pyvo.dal.TAPService(live_url).run_sync(query).to_table()
    pyvo_rows = [(int(h), float(m)) for h, m in zip(table["hip"], table["hpmag"], strict=True)]
    assert len(stilts_rows) == 5
    assert [h for h, _ in stilts_rows] == [h for h, _ in pyvo_rows]
    assert [m for _, m in stilts_rows] == pytest.approx([m for _, m in pyvo_rows])
