#!/usr/bin/env bash
# Installs what is needed, then runs every check: ruff, mypy --strict, and the whole pytest suite
# (against a throwaway embedded PostgreSQL 15 + pgSphere, or VOSTACK_TEST_DSN if set).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
echo "== ruff"
.venv/bin/ruff check vostack tests benchmarks examples
.venv/bin/ruff format --check vostack tests benchmarks examples
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/pytest "$@"
