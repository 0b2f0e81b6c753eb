"""examples/portal.py under plain uvicorn, over the demo's tables, passes taplint's metadata stages.

The example keeps its TAP_SCHEMA in the PostgreSQL schema ``portal_tap_schema``; clients still query
``TAP_SCHEMA.*`` (TAP 1.1 §4), which TOPCAT needs to list the tables.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .test_conformance import KNOWN_WRONG, SHARED, needs_shared

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

ROOT = Path(__file__).resolve().parents[2]


@needs_shared
def test_taplint_metadata_stages_pass_on_the_portal_example(postgres_dsn: str, hipparcos: None, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "uvicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "examples.portal:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env={**os.environ, "VOSTACK_DSN": postgres_dsn}, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/tap"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/availability", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, log.read_text()
            time.sleep(0.1)
        with httpx.Client(base_url=url) as client:  # one kept-alive connection, as TOPCAT uses it
            query = {"LANG": "ADQL", "QUERY": "SELECT table_name FROM TAP_SCHEMA.tables", "RESPONSEFORMAT": "csv"}
            listed = client.get("/sync", params=query)
            assert listed.status_code == 200 and "hipparcos.main" in listed.text, listed.text
        result = subprocess.run(
            ["bash", str(SHARED / "taplint.sh"), url, str(tmp_path)],
            capture_output=True, text=True, env={**os.environ, "TAPLINT_STAGES": "TMV TME TMS TMC"},
            timeout=600, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = (tmp_path / "taplint.txt").read_text() if (tmp_path / "taplint.txt").exists() else ""
    problems = [line for line in report.splitlines() if line.startswith(("E-", "F-")) and line not in KNOWN_WRONG]
    assert report and not problems, result.stdout[-3000:] + result.stderr[-3000:] + "\n".join(problems)
    assert not [line for line in report.splitlines() if line.startswith("E-TMS")]
