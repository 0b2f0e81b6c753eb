"""The community's validators against a live server: stilts taplint and the pyvo client scenarios."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.interop]

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
needs_shared = pytest.mark.skipif(
    not (SHARED / "taplint.sh").exists(),
    reason=f"the conformance scripts are not beside this clone ({SHARED}); they live in the team's shared folder",
)

#: taplint stages: metadata (TMV TME TMS TMC), capabilities (CPV CAP), availability (AVV), queries by GET, POST and
#: async (QGE QPO QAS), UWS, result metadata (MDQ), ObsCore (OBS), examples (EXA), uploads (UPL).  Not run: LOC
#: (ObsLocTAP needs an ivoa.obsplan table, which the demo does not publish).
STAGES = "TMV TME TMS TMC CPV CAP AVV QGE QPO QAS UWS MDQ OBS EXA UPL"

#: Reports that are wrong about the standard, each with the reason.
KNOWN_WRONG = {
    # ADQL 2.1 (REC 2023-12-15) defines the conditional-function feature type (COALESCE); Debian's stilts 3.4.7
    # predates it, newer STIL releases list it among the ADQL 2.1 feature types.
    'E-CAP-KEYX-01 Unknown standard feature key "ivo://ivoa.net/std/TAPRegExt#features-adql-conditional" '
    "for language ADQL",
}


#: Warnings that say what vostack does on purpose, each with the reason.
EXPECTED_WARNINGS = {
    # CASE is not in ADQL 2.1; TAPRegExt 1.0 §2.3 lets a service declare features of its own types (vostack.adql
    # .features.EXTENSIONS), and taplint notes every such type.
    'W-CAP-CULF-01 Custom feature type "ivo://vostack.org/std/exts#extra-adql-keywords" for language ADQL',
}


@needs_shared
def test_taplint_finds_no_errors_or_failures(live_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TAPLINT_STAGES": STAGES}
    result = subprocess.run(
        ["bash", str(SHARED / "taplint.sh"), live_url, str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    report = (tmp_path / "taplint.txt").read_text() if (tmp_path / "taplint.txt").exists() else ""
    problems = [line for line in report.splitlines() if line.startswith(("E-", "F-")) and line not in KNOWN_WRONG]
    warnings = [line for line in report.splitlines() if line.startswith("W-") and line not in EXPECTED_WARNINGS]
    assert report and not problems, result.stdout + result.stderr + "\n".join(problems)
    assert not warnings, "\n".join(warnings)


@needs_shared
def test_pyvo_scenarios_pass(live_url: str) -> None:
    """Every client scenario (pyvo and httpx): VOSI, TAP_SCHEMA, sync, formats, errors, UWS, uploads."""
    result = subprocess.run(
        [sys.executable, str(SHARED / "pyvo_scenarios.py"), live_url],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert result.returncode == 0 and summary.endswith(("0 failed", "0 failed, 0 skipped")), (
        "\n".join(failures) or result.stdout[-2000:] + result.stderr[-2000:]
    )
