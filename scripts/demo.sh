#!/usr/bin/env bash
# Installs what is needed, then runs the demo: a TAP service over Hipparcos at http://127.0.0.1:8000/tap
# (extra arguments go to `vostack demo`, e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
exec .venv/bin/vostack demo "$@"
