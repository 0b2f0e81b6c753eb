"""TAP job results on Ceph's S3 gateway, served by ``vostack serve`` configured with ``[results] store = "s3"``.

Real parts only: a throwaway Ceph (monitor, OSD, RADOS Gateway), the embedded PostgreSQL, the ``vostack``
command in a process of its own, and pyvo, which follows the 303 to the presigned URL as it would to any
result URL.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import pyvo
import requests

from tests.interop.test_cli import Command, _free_port
from vostack.objects.ceph import ThrowawayCeph

# pyvo's submit_job leaves the job document's response (stream=True) unread: the garbage collector closes its
# socket with a ResourceWarning at any moment (as in test_uws.py); each test collects it before it ends
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ROWS = 1_000_000
SCHEMA = "objects_uws"


def _make_table(dsn: str) -> None:
    """``bulk.million``: 1,000,000 rows of the PERFORMANCE.md shape (int, double, double, real, smallint)."""

    async def make() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            if await conn.fetchval("SELECT to_regclass('bulk.million') IS NOT NULL"):
                return
            await conn.execute(
                "CREATE SCHEMA IF NOT EXISTS bulk;"
                "CREATE TABLE bulk.million AS SELECT i AS id, random() * 360 AS ra, random() * 180 - 90 AS dec,"
                " (random() * 15)::real AS mag, (i % 7)::smallint AS flag FROM generate_series(1, $1) AS i"
                .replace("$1", str(ROWS))
            )  # fmt: skip
            await conn.execute("ANALYZE bulk.million")
        finally:
            await conn.close()

    asyncio.run(make())


@pytest.fixture(scope="module")
def node(postgres_dsn: str, ceph: ThrowawayCeph, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Command]:
    """``vostack serve`` keeping its job results in the Ceph bucket (credentials from the environment)."""
    _make_table(postgres_dsn)
    config = tmp_path_factory.mktemp("s3node") / "site.toml"
    config.write_text(
        f"""
[service]
tap_schema = "objects_tap_schema"
hardlimit = {ROWS}

[tables."bulk.million"]
description = "A million random rows"

[results]
store = "s3"
endpoint = "{ceph.endpoint}"
bucket = "{ceph.bucket}"
prefix = "uws/"
access_key_env = "TEST_S3_KEY"
secret_key_env = "TEST_S3_SECRET"
presign_expiry = 600

[database]
jobs_schema = "{SCHEMA}"
"""
    )
    environment = {"TEST_S3_KEY": ceph.access_key_id, "TEST_S3_SECRET": ceph.secret_access_key}
    command = Command("serve", "--dsn", postgres_dsn, "--config", str(config), "--port", str(_free_port()),
                      env=environment)  # fmt: skip
    try:
        command.serving()
        yield command
    finally:
        command.stop()


def _keys(ceph: ThrowawayCeph, prefix: str) -> list[str]:
    return asyncio.run(ceph.bucket_client().keys(prefix))


def test_pyvo_follows_the_presigned_redirect_and_deleting_the_job_deletes_the_object(
    node: Command, ceph: ThrowawayCeph
) -> None:
    with requests.Session() as http:  # kept alive, as pyvo keeps its connections
        service = pyvo.dal.TAPService(node.url, session=http)
        job = service.submit_job("SELECT TOP 20000 id, ra, mag FROM bulk.million ORDER BY id", maxrec=20_000)
        job.run().wait(timeout=120)
        assert job.phase == "COMPLETED"
        # the node answers the result with a 303 to the gateway: a presigned URL that expires
        answer = http.get(job.result_uri, allow_redirects=False, timeout=30)
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert location.startswith(f"{ceph.endpoint}/{ceph.bucket}/uws/{job.job_id}/result?")
        assert "X-Amz-Expires=600" in location and "X-Amz-Signature=" in location
        table = job.fetch_result().to_table()  # pyvo follows it
        assert list(table["id"]) == list(range(1, 20_001))
        # a byte range straight from the store
        whole = http.get(location, timeout=30).content
        part = http.get(location, headers={"Range": "bytes=100-1099"}, timeout=30)
        assert part.status_code == 206 and part.content == whole[100:1100]
        assert _keys(ceph, f"uws/{job.job_id}") == [f"uws/{job.job_id}/result"]
        job.delete()
        assert _keys(ceph, f"uws/{job.job_id}") == []
        assert http.get(location, timeout=30).status_code == 404
    gc.collect()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _peak_rss_while(pid: int, work: threading.Thread) -> int:
    peak = _rss_kib(pid)
    work.start()
    while work.is_alive():
        peak = max(peak, _rss_kib(pid))
        time.sleep(0.02)
    work.join()
    return peak


def _run_job(url: str, rows: int, sizes: list[int]) -> threading.Thread:
    def run() -> None:
        with requests.Session() as http:
            job = pyvo.dal.TAPService(url, session=http).submit_job(
                f"SELECT TOP {rows} id, ra, dec, mag, flag FROM bulk.million", maxrec=rows
            )
            job.run().wait(timeout=600)
            assert job.phase == "COMPLETED", job.phase
            sizes.append(int(http.head(job.result_uri, timeout=60).headers["content-length"]))  # from the job
            job.delete()

    return threading.Thread(target=run)


def test_a_million_row_result_streams_into_the_store_with_flat_memory(node: Command, ceph: ThrowawayCeph) -> None:
    sizes: list[int] = []
    _run_job(node.url, 1000, sizes).run()  # warm up: imports, pools, the translation cache
    rises = {}
    for rows in (ROWS // 2, ROWS):  # both beyond the few upload parts the server holds at a time
        before = _rss_kib(node.pid)
        rises[rows] = _peak_rss_while(node.pid, _run_job(node.url, rows, sizes)) - before
    half, whole = sizes[1], sizes[2]
    assert whole > 1.9 * half > 1.9 * 15_000_000  # the result doubles: 36 MB of VOTable for a million rows
    # the server never held the result, and held no more for twice the rows
    assert rises[ROWS] < 0.6 * whole / 1024, (rises, sizes)
    assert rises[ROWS] - rises[ROWS // 2] < (whole - half) / 1024 / 2, (rises, sizes)
    gc.collect()
