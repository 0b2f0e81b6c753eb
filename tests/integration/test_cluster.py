"""The embedded PostgreSQL launcher against the real PostgreSQL 15 + pgSphere binaries."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

import vostack.db.cluster as cluster_module
from vostack.db.cluster import (
    ClusterError,
    EmbeddedPostgres,
    PostgresNotInstalled,
    StateDirectoryInUse,
    default_state_dir,
    find_bindir,
)

pytestmark = pytest.mark.postgres


def _new_state_dir() -> Path:
    # Not tmp_path: as root the server runs as 'postgres', which cannot enter /tmp/pytest-of-root.
    return Path(tempfile.mkdtemp(prefix="vostack-cluster-test-"))


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedPostgres]:
    """A pgSphere cluster shared by the tests that leave it running."""
    state_dir = _new_state_dir()
    pg = EmbeddedPostgres(state_dir=state_dir, ephemeral=True)
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def bare_state_dir() -> Iterator[Path]:
    """A state directory for a cluster of the test's own (no extensions: faster)."""
    state_dir = _new_state_dir()
    yield state_dir
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def ctrl_c_raises_keyboard_interrupt() -> Iterator[None]:
    """SIGINT handled as Python handles it by default, whatever disposition this process inherited.

    A shell without job control starts background commands with SIGINT ignored (POSIX), and Python
    keeps it ignored: under ``bash scripts/test.sh &`` in a script, a simulated Ctrl-C did nothing.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _another_process(state_dir: Path, then: str) -> subprocess.Popen[str]:
    """Python in another process: starts a cluster on ``state_dir``, prints its DSN, then runs ``then``."""
    script = (
        "import os, sys; from pathlib import Path; from vostack.db.cluster import EmbeddedPostgres; "
        "pg = EmbeddedPostgres(state_dir=Path(sys.argv[1]), extensions=(), ephemeral=True); "
        f"print(pg.start(), flush=True); {then}"
    )
    project = Path(cluster_module.__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(state_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _run_in_another_process(state_dir: Path, then: str) -> str:
    """The DSN :func:`_another_process` printed, once it exited."""
    with _another_process(state_dir, then) as process:
        stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0
    return stdout.strip()


def _crashed_run(state_dir: Path) -> str:
    """The DSN of a cluster whose process died without stopping it (no atexit: as after SIGKILL)."""
    return _run_in_another_process(state_dir, "os._exit(0)")


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _a_new_run_starts_and_stops(state_dir: Path) -> None:
    """A new object on ``state_dir`` gets a server that accepts connections, then stops it."""
    pg = EmbeddedPostgres(state_dir=state_dir, extensions=(), ephemeral=True)
    try:
        assert _accepts_connections(urlsplit(pg.start()).port or 0)
    finally:
        pg.stop()


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


async def _fetchrow(dsn: str, query: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(query)
    finally:
        await conn.close()


async def test_started_cluster_has_pg_sphere(cluster: EmbeddedPostgres) -> None:
    row = await _fetchrow(
        cluster.dsn,
        "SELECT spoint(0, 0)::text AS p, scircle(spoint(0, 0), radians(1)) @> spoint(radians(0.5), 0) AS inside",
    )
    assert row["p"] == "(0 , 0)"
    assert row["inside"] is True


async def test_server_listens_on_loopback_only(cluster: EmbeddedPostgres) -> None:
    url = urlsplit(cluster.dsn)
    assert (url.scheme, url.username, url.hostname, url.port, url.path) == (
        "postgresql",
        "vostack",
        "127.0.0.1",
        cluster.port,
        "/vostack",
    )
    row = await _fetchrow(
        cluster.dsn,
        "SELECT host(inet_server_addr()) AS addr, inet_server_port() AS port,"
        " current_setting('listen_addresses') AS listen",
    )
    assert (row["addr"], row["port"], row["listen"]) == ("127.0.0.1", cluster.port, "127.0.0.1")


def test_start_twice_returns_the_same_dsn(cluster: EmbeddedPostgres) -> None:
    assert cluster.start() == cluster.dsn


async def test_data_survives_stop_and_start(cluster: EmbeddedPostgres) -> None:
    conn = await asyncpg.connect(cluster.dsn)
    try:
        await conn.execute("CREATE TABLE survivors (n integer)")
        await conn.execute("INSERT INTO survivors SELECT generate_series(1, 3)")
    finally:
        await conn.close()
    cluster.stop()
    cluster.start()
    row = await _fetchrow(cluster.dsn, "SELECT array_agg(n ORDER BY n) AS ns FROM survivors")
    assert row["ns"] == [1, 2, 3]


def test_stop_is_idempotent(cluster: EmbeddedPostgres) -> None:
    port = cluster.port
    cluster.stop()
    cluster.stop()
    assert not _accepts_connections(port)
    with pytest.raises(ClusterError):
        _ = cluster.dsn
    cluster.start()  # leave the shared cluster running
    EmbeddedPostgres(state_dir=cluster.state_dir).stop()  # never started: nothing to do


def test_find_bindir_with_bogus_directory_names_debian_packages(tmp_path: Path) -> None:
    with pytest.raises(PostgresNotInstalled) as excinfo:
        find_bindir(tmp_path / "no-postgres-here")
    assert "initdb" in excinfo.value.message
    assert "apt-get install postgresql-15 postgresql-15-pgsphere" in excinfo.value.message


def test_missing_extension_names_its_package() -> None:
    with pytest.raises(PostgresNotInstalled) as excinfo:
        find_bindir(extensions=("pg_sphere", "no_such_extension"))
    assert "no_such_extension is not installed" in excinfo.value.message
    assert "postgresql-15-pgsphere postgresql-15-no-such-extension" in excinfo.value.message


def test_server_left_by_a_crashed_run_is_reused_and_stopped(bare_state_dir: Path) -> None:
    dsn = _crashed_run(bare_state_dir)
    pid = _postmaster_pid(bare_state_dir / "data")
    # A new run on the same state directory finds the server still running, and no one holding it.
    rerun = EmbeddedPostgres(state_dir=bare_state_dir, extensions=(), ephemeral=True)
    assert rerun.start() == dsn
    assert _postmaster_pid(rerun.data_dir) == pid
    rerun.stop()
    assert not _accepts_connections(urlsplit(dsn).port or 0)


def test_a_state_directory_in_use_is_refused_and_its_server_left_alone(bare_state_dir: Path) -> None:
    first = EmbeddedPostgres(state_dir=bare_state_dir, extensions=(), ephemeral=True)
    dsn = first.start()
    try:
        second = EmbeddedPostgres(state_dir=bare_state_dir, extensions=(), ephemeral=True)
        with pytest.raises(StateDirectoryInUse) as excinfo:
            second.start()
        assert excinfo.value.pid == os.getpid()
        assert excinfo.value.message.startswith(
            f"The state directory {bare_state_dir} is in use by process {os.getpid()} ("
        )
        second.stop()  # it started nothing: it stops nothing
        assert _accepts_connections(urlsplit(dsn).port or 0)
        with pytest.raises(ClusterError):
            _ = second.dsn
    finally:
        first.stop()
    _a_new_run_starts_and_stops(bare_state_dir)  # free again once the first one stopped


def test_another_process_using_the_state_directory_is_named(bare_state_dir: Path) -> None:
    # the other process holds the directory until it reads a line from us, then exits (stopping its server)
    with _another_process(bare_state_dir, "sys.stdin.readline()") as other:
        assert other.stdin is not None and other.stdout is not None
        dsn = other.stdout.readline().strip()
        try:
            with pytest.raises(StateDirectoryInUse) as excinfo:
                EmbeddedPostgres(state_dir=bare_state_dir, extensions=(), ephemeral=True).start()
            assert excinfo.value.pid == other.pid
            assert f"in use by process {other.pid} ({sys.executable} -c import os, sys; " in excinfo.value.message
            assert _accepts_connections(urlsplit(dsn).port or 0)
        finally:
            other.stdin.close()
            other.wait(timeout=60)
    assert not _accepts_connections(urlsplit(dsn).port or 0)


def test_killed_server_leaves_a_stale_pid_file_that_does_not_block_start(bare_state_dir: Path) -> None:
    _crashed_run(bare_state_dir)
    # Its backends exit soon after; the launcher waits for them, and for the zombie postmaster.
    os.kill(_postmaster_pid(bare_state_dir / "data"), signal.SIGKILL)
    assert (bare_state_dir / "data" / "postmaster.pid").exists()
    _a_new_run_starts_and_stops(bare_state_dir)


def test_pid_file_naming_a_reused_pid_does_not_block_start(bare_state_dir: Path) -> None:
    pg = EmbeddedPostgres(state_dir=bare_state_dir, extensions=(), ephemeral=True)
    pg.start()
    pidfile = pg.data_dir / "postmaster.pid"
    lines = pidfile.read_text().splitlines()
    pg.stop()
    # After a crash and a reboot, the pid in postmaster.pid may belong to another process of the
    # same user: the postmaster then refuses to start ("lock file already exists").
    owner = pg.data_dir.stat()
    user = owner.st_uid if os.geteuid() == 0 else None
    group = owner.st_gid if os.geteuid() == 0 else None
    with subprocess.Popen(["sleep", "60"], user=user, group=group, cwd="/") as other:
        try:
            pidfile.write_text("\n".join([str(other.pid), *lines[1:]]) + "\n")
            os.chown(pidfile, owner.st_uid, owner.st_gid)
            assert _accepts_connections(urlsplit(pg.start()).port or 0)
        finally:
            other.kill()
            pg.stop()


def test_ctrl_c_during_start_stops_the_server(bare_state_dir: Path, ctrl_c_raises_keyboard_interrupt: None) -> None:
    def interrupt_when_starting(line: str) -> None:
        if line.startswith("Starting PostgreSQL"):
            os.kill(os.getpid(), signal.SIGINT)

    pg = EmbeddedPostgres(state_dir=bare_state_dir, extensions=(), ephemeral=True, log=interrupt_when_starting)
    try:
        with pytest.raises(KeyboardInterrupt):
            pg.start()
        assert not (pg.data_dir / "postmaster.pid").exists()
        with pytest.raises(ClusterError):
            _ = pg.dsn
    finally:
        pg.stop()  # whatever went wrong above, leave no server behind
    _a_new_run_starts_and_stops(bare_state_dir)  # the interrupted start left a usable cluster, and it free


def test_a_state_directory_removed_under_a_running_server_is_reported_as_such(bare_state_dir: Path) -> None:
    pg = EmbeddedPostgres(state_dir=bare_state_dir, extensions=(), ephemeral=True)
    port = urlsplit(pg.start()).port or 0
    moved = bare_state_dir.with_name(bare_state_dir.name + "-moved")
    bare_state_dir.rename(moved)
    try:
        with pytest.raises(ClusterError) as excinfo:
            pg.stop()
        assert excinfo.value.message.startswith(
            f"Cannot run pg_ctl: the state directory {bare_state_dir} was removed"
        )  # not "No such file or directory" about pg_ctl
    finally:
        moved.rename(bare_state_dir)
    pg.stop()
    assert not _accepts_connections(port)


def test_port_in_use_fails_with_the_server_log(bare_state_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        pg = EmbeddedPostgres(state_dir=bare_state_dir, port=port, extensions=(), ephemeral=True)
        with pytest.raises(ClusterError) as excinfo:
            pg.start()
    assert "could not bind" in excinfo.value.message
    assert str(pg.log_path) in excinfo.value.message
    assert not (pg.data_dir / "postmaster.pid").exists()


def test_server_is_stopped_when_the_interpreter_exits(bare_state_dir: Path) -> None:
    dsn = _run_in_another_process(bare_state_dir, "")  # and exit without stop()
    assert dsn.startswith("postgresql://vostack@127.0.0.1:")
    assert not (bare_state_dir / "data" / "postmaster.pid").exists()
    assert not _accepts_connections(urlsplit(dsn).port or 0)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to the 'postgres' user")
def test_state_dir_the_postgres_user_cannot_enter_is_refused() -> None:
    locked = Path(tempfile.mkdtemp())  # mode 0700, owned by root
    try:
        pg = EmbeddedPostgres(state_dir=locked / "state", extensions=())
        with pytest.raises(ClusterError, match="cannot enter"):
            pg.start()
        assert not (locked / "state").exists()
    finally:
        shutil.rmtree(locked)


def test_default_state_dir_follows_xdg_for_users(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_state_dir("demo") == tmp_path / "vostack" / "demo"


def test_default_state_dir_of_root_is_outside_its_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_state_dir("demo") == Path("/var/lib/vostack/demo")
