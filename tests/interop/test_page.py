"""The TAP page in a real browser: headless Chromium renders the result table (no JavaScript framework needed)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import urllib.parse
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags this machine's closed network needs (no background connections), as root (no sandbox).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def render(url: str, shot: Path, *, size: str) -> str:
    """The DOM of the page at ``url`` after headless Chromium ran it, and its screenshot in ``shot``."""
    assert CHROMIUM is not None
    profile = tempfile.mkdtemp(prefix="vostack-chromium-")
    try:
        common = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}"]
        dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
        subprocess.run([*common, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return dom.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/setup.sh test installs it)")
def test_chromium_shows_the_result_table(live_url: str, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    query = "SELECT TOP 5 hip, ra, dec, hpmag FROM hipparcos.main ORDER BY hpmag"
    url = f"{live_url}/?{urllib.parse.urlencode({'QUERY': query})}"
    shot = tmp_path / "page.png"
    dom = render(url, shot, size="1200,900")
    assert 'id="result"' in dom
    assert "<td>32349</td>" in dom  # Sirius, the brightest, in the first row
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000, "the screenshot is nearly empty"
