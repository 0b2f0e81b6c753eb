"""The runnable examples work as the README says."""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import httpx
import pytest
from astropy.io.votable import parse

pytestmark = pytest.mark.postgres


async def test_portal_example_mounts_tap_over_its_own_database(
    postgres_dsn: str, hipparcos: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOSTACK_DSN", postgres_dsn)
    portal = importlib.import_module("examples.portal")
    async with portal.app.router.lifespan_context(portal.app):  # what uvicorn does at start-up
        transport = httpx.ASGITransport(app=portal.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            response = await client.post(
                "/tap/sync",
                data={
                    "LANG": "ADQL",
                    "QUERY": "SELECT TOP 3 hip, ra, hpmag FROM hipparcos.main ORDER BY hpmag",
                },
            )
            assert response.status_code == 200, response.text
            table = parse(io.BytesIO(response.content), verify="exception").get_first_table()
            assert len(table.array) == 3
            assert {f.name: f.ucd for f in table.fields}["ra"] == "pos.eq.ra;meta.main"
            assert b"hipparcos.main" in (await client.get("/tap/tables")).content


def test_the_readme_shows_the_portal_example_as_it_runs() -> None:
    # the portal snippet in the README is examples/portal.py (tested above) from its first import on
    root = Path(__file__).resolve().parents[2]
    section = (root / "README.md").read_text(encoding="utf-8").split("## Mount TAP in your own portal", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```\n", 1)[0]
    example = (root / "examples" / "portal.py").read_text(encoding="utf-8")
    assert snippet == example.split("from __future__ import annotations\n\n", 1)[1]
