"""The community's validators against a live server: stilts taplint (the stages the sync TAP service covers)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
needs_shared = pytest.mark.skipif(
    not (SHARED / "taplint.sh").exists(),
    reason=f"the conformance scripts are not beside this clone ({SHARED}); they live in the team's shared folder",
)

#: taplint stages of synchronous TAP: metadata (TMV TME TMS TMC), capabilities (CPV CAP), availability (AVV),
#: sync queries by GET and POST (QGE QPO), examples (EXA), result metadata (MDQ).  QAS and UWS need /async.
SYNC_STAGES = "TMV TME TMS TMC CPV CAP AVV QGE QPO EXA MDQ"

#: Reports that are wrong about the standard, each with the reason.
KNOWN_WRONG = {
    # ADQL 2.1 (REC 2023-12-15) defines the conditional-function feature type (COALESCE); Debian's stilts 3.4.7
    # predates it, newer STIL releases list it among the ADQL 2.1 feature types.
    'E-CAP-KEYX-01 Unknown standard feature key "ivo://ivoa.net/std/TAPRegExt#features-adql-conditional" '
    "for language ADQL",
}


@needs_shared
def test_taplint_finds_no_errors_or_failures(live_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TAPLINT_STAGES": SYNC_STAGES}
    result = subprocess.run(
        ["bash", str(SHARED / "taplint.sh"), live_url, str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    report = (tmp_path / "taplint.txt").read_text() if (tmp_path / "taplint.txt").exists() else ""
    problems = [line for line in report.splitlines() if line.startswith(("E-", "F-")) and line not in KNOWN_WRONG]
    warnings = [line for line in report.splitlines() if line.startswith("W-")]
    assert report and not problems, result.stdout + result.stderr + "\n".join(problems)
    assert not warnings, "\n".join(warnings)
