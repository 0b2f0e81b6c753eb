"""UWS results in a Ceph bucket (ObjectResultStore): streamed through the service or redirected to it, removed
with their job, never left behind by a failed run; uploads kept with their job are stored there too."""

from __future__ import annotations

import io
import secrets
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from astropy.io.votable import parse
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.integration.uws.test_tap_async import NS, TABLE, find, phase_of, query_job, wait_final
from vostack import db
from vostack.demo import demo_config
from vostack.demo.compute import compute_service
from vostack.objects import Bucket
from vostack.objects.ceph import ThrowawayCeph
from vostack.tap import TAPService
from vostack.uws import ObjectResultStore

pytestmark = pytest.mark.postgres


class Node:
    def __init__(self, http: httpx.AsyncClient, bucket: Bucket, prefix: str) -> None:
        self.http, self.bucket, self.prefix = http, bucket, prefix

    async def keys(self, job_url: str) -> list[str]:
        return await self.bucket.keys(f"{self.prefix}{job_url.rsplit('/', 1)[1]}/")


@pytest.fixture(scope="module", params=[False, True], ids=["streamed", "redirected"])
async def node(
    request: pytest.FixtureRequest, uws_pool: db.Pool, hipparcos: None, ceph: ThrowawayCeph
) -> AsyncIterator[Node]:
    bucket = ceph.bucket_client()
    prefix = f"{secrets.token_hex(4)}/"
    results = ObjectResultStore(bucket, prefix=prefix, redirect=request.param)
    options = {"schema": f"uws_objects_{secrets.token_hex(4)}", "results": results, "max_wait": 3.0}
    tap = TAPService(config=demo_config(), async_options=options)
    compute = compute_service(**options)
    for service in (tap, compute):
        await service.start(uws_pool)
    app = Starlette(routes=[Mount("/tap", tap), *compute.routes("/compute")])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield Node(http, bucket, prefix)
    for service in (compute, tap):
        await service.stop()
    await db.execute(uws_pool, f"DROP SCHEMA {options['schema']} CASCADE")


async def _fetch(node: Node, url: str) -> httpx.Response:
    """GET a result as a client does: following a redirect to the store."""
    answer = await node.http.get(url)
    if answer.status_code != 303:
        return answer
    assert answer.headers["location"].startswith(node.bucket.endpoint)
    async with httpx.AsyncClient() as outside:  # a client of the store itself, not of the service
        return await outside.get(answer.headers["location"])


async def test_a_tap_result_is_kept_in_the_bucket_and_removed_with_its_job(node: Node) -> None:
    job = await query_job(node.http, f"SELECT TOP 3000 hip, ra, dec FROM {TABLE} ORDER BY hip", PHASE="RUN",
                          MAXREC="3000")  # fmt: skip
    assert phase_of(await wait_final(node.http, job)) == "COMPLETED"
    assert await node.keys(job) == [f"{node.prefix}{job.rsplit('/', 1)[1]}/result"]
    answer = await _fetch(node, job + "/results/result")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-votable+xml")
    table = parse(io.BytesIO(answer.content), verify="exception").get_first_table().to_table()
    assert len(table) == 3000
    head = await node.http.head(job + "/results/result")  # answered from the job's record, not redirected
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(answer.content)
    assert (await node.http.delete(job)).status_code == 303
    assert await node.keys(job) == []


async def test_a_job_failing_after_its_first_rows_leaves_nothing_in_the_bucket(node: Node, uws_pool: db.Pool) -> None:
    # the division by zero comes after 110,000 rows were written towards the store
    zero: int = await uws_pool.fetchval(f"SELECT hip FROM {TABLE} ORDER BY hip OFFSET 110000 LIMIT 1")
    query = f"SELECT hip, ra, dec, 1 / (hip - {zero}) AS x FROM {TABLE} ORDER BY hip"
    job = await query_job(node.http, query, MAXREC="200000", PHASE="RUN")
    root = await wait_final(node.http, job)
    assert phase_of(root) == "ERROR" and root.find("uws:results/uws:result", NS) is None
    assert await node.keys(job) == []


async def test_a_compute_result_and_an_upload_kept_with_a_job_live_in_the_bucket(node: Node) -> None:
    job = (await node.http.post("/compute", data={"RA": "10", "DEC": "20", "SR": "2", "EPOCH": "2030",
                                                    "PHASE": "RUN"})).headers["location"]  # fmt: skip
    root = await wait_final(node.http, job)
    assert phase_of(root) == "COMPLETED"
    result = find(root, "uws:results/uws:result")
    answer = await _fetch(node, f"{job}/results/{result.get('id')}")
    assert answer.status_code == 200 and b"<VOTABLE" in answer.content
    # a TAP upload's file part is kept with its job until it runs, then deleted with it
    upload = (
        b'<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>'
        b'<FIELD name="hip" datatype="int"/><DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA>'
        b"</TABLE></RESOURCE></VOTABLE>"
    )
    created = await node.http.post(
        "/tap/async",
        data={"LANG": "ADQL", "QUERY": f"SELECT t.hip FROM TAP_UPLOAD.t AS t JOIN {TABLE} AS m ON m.hip = t.hip",
              "UPLOAD": "t,param:t"},
        files={"t": ("t.xml", upload, "application/x-votable+xml")},
    )  # fmt: skip
    pending = created.headers["location"]
    assert [k.rsplit("/", 1)[1] for k in await node.keys(pending)] == ["file.t"]
    assert (await node.http.post(pending + "/phase", data={"PHASE": "RUN"})).status_code == 303
    assert phase_of(await wait_final(node.http, pending)) == "COMPLETED"
    answer = await _fetch(node, pending + "/results/result")
    assert list(parse(io.BytesIO(answer.content), verify="exception").get_first_table().array["hip"]) == [1]
    for url in (job, pending):
        await node.http.delete(url)
        assert await node.keys(url) == []


async def test_a_job_whose_store_is_unreachable_ends_in_error_saying_so(uws_pool: db.Pool, hipparcos: None) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bucket = Bucket(endpoint=f"http://127.0.0.1:{port}", bucket="gone", access_key_id="a", secret_access_key="b")
    schema = f"uws_objects_{secrets.token_hex(4)}"
    compute = compute_service(schema=schema, results=ObjectResultStore(bucket), max_wait=3.0)
    await compute.start(uws_pool)
    try:
        app = Starlette(routes=compute.routes("/compute"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            created = await http.post("/compute", data={"RA": "10", "DEC": "20", "PHASE": "RUN"})
            root = await wait_final(http, created.headers["location"])
        assert phase_of(root) == "ERROR"
        error = find(root, "uws:errorSummary")
        assert error.get("type") == "transient" and "object store" in str(error.findtext("uws:message", namespaces=NS))
    finally:
        await compute.stop()
        await db.execute(uws_pool, f"DROP SCHEMA {schema} CASCADE")
