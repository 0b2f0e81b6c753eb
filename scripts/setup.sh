#!/usr/bin/env bash
# Installs what vostack needs on Debian 12 (bookworm) with Python 3.11:
# PostgreSQL 15 with pgSphere from apt (for the tests also Ceph, stilts, chromium), and a virtual environment in .venv.
# Usage: scripts/setup.sh EXTRAS   (e.g. "demo" or "test"); safe to re-run: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-demo}

packages=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || packages+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pg_sphere.control ] || packages+=(postgresql-15-pgsphere)
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
# the tests also drive the server with TOPCAT's command-line twin (stilts tapquery, taplint)
[ "$extras" != test ] || command -v stilts >/dev/null || packages+=(stilts)
# and check the service's HTML page in a real headless browser
[ "$extras" != test ] || command -v chromium >/dev/null || packages+=(chromium)
# the search pages bundle Aladin Lite, fetched from the npm registry by npm (vostack/pages/vendor.py)
[ "$extras" != test ] || command -v npm >/dev/null || packages+=(npm)
# and keep job results in a real S3 store: a throwaway single-node Ceph (vostack.objects.ceph)
if [ "$extras" = test ]; then
  for program in ceph-mon ceph-osd radosgw ceph; do
    command -v $program >/dev/null || { packages+=(ceph-mon ceph-osd radosgw ceph-common); break; }
  done
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${packages[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "vostack needs Python 3.11 or newer; $("$python" --version) found (set PYTHON=...)" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.vostack-$(sha256sum pyproject.toml | cut -c1-16)-$extras"
if [ ! -f "$stamp" ]; then
  echo "Installing vostack[$extras] into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  rm -f .venv/.vostack-*
  touch "$stamp"
fi
# Aladin Lite for the search pages' sky view, from npm at its pinned version and checksum (not in git)
if [ "$extras" = test ]; then
  .venv/bin/python -m vostack.pages.vendor >/dev/null
elif command -v npm >/dev/null; then
  .venv/bin/python -m vostack.pages.vendor >/dev/null || echo "Aladin Lite could not be fetched: the search pages have no sky view" >&2
fi
