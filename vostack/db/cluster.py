"""An embedded PostgreSQL server for running vostack without a DSN.

:class:`EmbeddedPostgres` keeps a PostgreSQL cluster in a state directory and
drives it with the server's own tools (``initdb``, ``pg_ctl``, ``psql``); this
module only runs subprocesses and never imports asyncpg.  The state directory
holds::

    <state_dir>/data          the cluster (PGDATA), created by initdb on first use
    <state_dir>/run           the unix socket directory
    <state_dir>/postgres.log  the server log (pg_ctl -l)
    <state_dir>/vostack.lock  locked (flock) by the process using the directory; holds its pid

Design decisions, in one place:

- **Users.**  Not root: everything runs as the current user.  Root: initdb and
  pg_ctl refuse to run as root, so they run as the ``postgres`` system user
  (created by the Debian package) through :func:`subprocess.run`'s
  ``user``/``group``/``extra_groups`` (the same as ``runuser -u postgres --``
  without needing util-linux or PAM), and the state directory is handed to
  that user.  ``initdb -U vostack`` names the superuser ``vostack`` whatever
  the OS user is, so the DSN is always ``postgresql://vostack@127.0.0.1:PORT/DB``.
- **Access.**  ``pg_hba.conf`` trusts unix-socket and 127.0.0.1 connections
  only, and the server listens on 127.0.0.1 only.  Trust means any local user
  can connect as superuser: this server is for a demo or tests on one machine.
- **Settings** go into ``data/vostack.conf``, rewritten on every start and
  included at the end of ``postgresql.conf`` (so it wins): the port, the
  listen address and socket directory, ``shared_buffers`` and, for
  ``ephemeral`` clusters, no fsync.  Keeping them out of ``pg_ctl -o`` avoids
  pg_ctl's shell quoting.
- **Database and extensions** are created with ``psql`` (a dependency of the
  Debian ``postgresql-15`` package) over TCP, with names passed as psql
  variables (``:'name'``, ``:"name"``) so psql quotes them.
- **pgSphere on Debian bookworm.**  ``CREATE EXTENSION pg_sphere`` of
  Debian's pgSphere 1.2 fails on current PostgreSQL 15 minor releases
  ("commutator operator @> is already the commutator of operator <@").  When
  exactly that happens, the packaged install script is run without the two
  obsolete operators at fault (see ``_install_pgsphere_script``): pgSphere then
  works, but is not registered in ``pg_extension``.
- **One user at a time.**  :meth:`EmbeddedPostgres.start` locks
  ``vostack.lock`` (``flock``, released by :meth:`EmbeddedPostgres.stop` or
  when the process ends, however it ends) before it looks at the cluster; a
  second process (or object) on the same state directory is refused at once
  with :class:`StateDirectoryInUse`, naming the holder's pid, and never
  touches the server the holder started.
- **A server left running** by an earlier run that crashed (its postmaster
  still alive on the data directory, ready, on 127.0.0.1, and no process
  holding the lock) is **reused**: its port is read from ``postmaster.pid``
  and this object stops it like its own.
  If a different port was asked for, it is stopped and restarted.  A
  ``postmaster.pid`` whose process is dead is left to the postmaster, which
  removes it; one whose process id was reused by an unrelated process of the
  same user (common in containers), or by a crashed postmaster that is still
  a zombie, would make the postmaster refuse to start: on Linux this is
  detected through ``/proc/<pid>/cwd`` (every process of a cluster works in
  its data directory) and the file is removed once no process works there.
- **Ctrl-C.**  Every subprocess runs in its own session, so a Ctrl-C at the
  terminal reaches only Python, never initdb, pg_ctl or the server.  When
  :meth:`EmbeddedPostgres.start` or :meth:`EmbeddedPostgres.stop` run in the
  main thread, SIGINT is held back while they work: a Ctrl-C during start
  lets the running step finish, stops the server if it was started, and then
  re-delivers SIGINT (a ``KeyboardInterrupt`` by default).  A Ctrl-C during
  stop lets the stop finish first.  Elsewhere, the server is stopped at
  interpreter exit (:mod:`atexit`) if the caller forgot.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from vostack.errors import VOError

__all__ = [
    "ClusterError",
    "EmbeddedPostgres",
    "PostgresNotInstalled",
    "StateDirectoryInUse",
    "default_state_dir",
    "find_bindir",
]

_logger = logging.getLogger(__name__)

SUPERUSER = "vostack"
"""The superuser role initdb creates (``initdb -U``), and the DSN's user."""

_DEBIAN_BINDIR = Path("/usr/lib/postgresql/15/bin")
_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres", "psql")
_MIN_MAJOR = 15
_LOG_TAIL_LINES = 20
_PG_CTL_TIMEOUT = 60  # seconds pg_ctl waits for start or stop
_SUBPROCESS_TIMEOUT = 300  # seconds before a stuck initdb or psql is killed
_ORPHAN_TIMEOUT = 15  # seconds to wait for the backends of a killed postmaster to exit
_PORT_ATTEMPTS = 3  # fresh ports tried when the chosen one was taken meanwhile
_SUN_PATH_MAX = 107  # bytes in a unix socket path (sun_path minus the NUL)
_INCLUDE_LINE = "include_if_exists = 'vostack.conf'"
_LOCK_FILE = "vostack.lock"
# pg_ctl hands -D and -l to /bin/sh inside double quotes.
_SHELL_UNSAFE = re.compile(r'["$`\\\n]')
_HAVE_SPOINT = "SELECT to_regtype('spoint') IS NOT NULL;\n"
_COMMUTATOR_CLASH = "is already the commutator of operator"
# pgSphere 1.2's compatibility operators `bigint @ smoc` and `spoint @ smoc` (see _install_pgsphere_script).
_PGSPHERE_OBSOLETE_OPERATORS = re.compile(
    r"CREATE OPERATOR @ \(\s*LEFTARG\s*=\s*(?:bigint|spoint)\s*,\s*RIGHTARG\s*=\s*smoc\s*,[^;]*\);"
)
_PSQL_GUARD = re.compile(r"^\\echo .*\\quit[ \t]*$", re.MULTILINE)  # "use CREATE EXTENSION" guard


class ClusterError(VOError):
    """The embedded PostgreSQL server could not be set up, started or stopped."""


class PostgresNotInstalled(ClusterError):
    """The PostgreSQL server binaries or a required extension are missing."""


class StateDirectoryInUse(ClusterError):
    """Another process (``pid``, when known) uses the state directory and the server in it."""

    def __init__(self, message: str, *, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


def _install_hint(extensions: Sequence[str]) -> str:
    packages = ["postgresql-15", "postgresql-15-pgsphere"]
    for name in extensions:
        package = "postgresql-15-" + ("pgsphere" if name == "pg_sphere" else name.replace("_", "-"))
        if package not in packages:
            packages.append(package)
    return (
        f"On Debian or Ubuntu install them with: apt-get install {' '.join(packages)}. "
        "Elsewhere, set VOSTACK_PG_BINDIR to the directory holding initdb, pg_ctl and postgres, "
        "or give vostack the DSN of a running PostgreSQL server."
    )


def _clean_env() -> dict[str, str]:
    """The environment for PostgreSQL tools: no PG* variables, C messages."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    return env


def _major_version(bindir: Path) -> int | None:
    try:
        result = subprocess.run(
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            env=_clean_env(),
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", result.stdout)
    return int(match.group(1)) if match else None


def _sharedir_candidates(bindir: Path) -> list[Path]:
    candidates: list[Path] = []
    pg_config = bindir / "pg_config"
    if pg_config.is_file():
        try:
            result = subprocess.run(
                [str(pg_config), "--sharedir"],
                capture_output=True,
                text=True,
                env=_clean_env(),
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            result = None
        if result is not None and result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    # Debian: /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15
    if bindir.parent.parent.name == "postgresql" and bindir.name == "bin":
        prefix = bindir.parent.parent.parent.parent
        candidates.append(prefix / "share" / "postgresql" / bindir.parent.name)
    # Source and most distribution layouts: <prefix>/bin -> <prefix>/share[/postgresql]
    candidates += [bindir.parent / "share" / "postgresql", bindir.parent / "share"]
    return candidates


def _extension_dir(bindir: Path) -> Path | None:
    """The ``sharedir/extension`` directory of the PostgreSQL in ``bindir``."""
    return next((d / "extension" for d in _sharedir_candidates(bindir) if (d / "extension").is_dir()), None)


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    try:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, env=_clean_env(), timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


def find_bindir(explicit: Path | None = None, *, extensions: Sequence[str] = ("pg_sphere",)) -> Path:
    """Find the PostgreSQL server binaries and check the extensions are installed.

    The directory is ``explicit`` if given, else ``$VOSTACK_PG_BINDIR`` if set
    (neither falls back to a search), else the first of
    ``/usr/lib/postgresql/15/bin`` (Debian), ``pg_config --bindir`` and the
    directory of ``initdb`` on ``PATH`` that holds ``initdb``.  It must hold
    ``initdb``, ``pg_ctl``, ``postgres`` and ``psql`` of PostgreSQL 15 or
    later, and the server's ``sharedir/extension`` must hold
    ``<name>.control`` for each of ``extensions``.

    Parameters
    ----------
    explicit
        A directory to use instead of searching.
    extensions
        Extensions that must be installed (by default pgSphere).

    Returns
    -------
    Path
        The directory holding the server binaries.

    Raises
    ------
    PostgresNotInstalled
        Naming what is missing and the Debian packages to install
        (``apt-get install postgresql-15 postgresql-15-pgsphere``).
    """
    hint = _install_hint(extensions)
    if explicit is None and os.environ.get("VOSTACK_PG_BINDIR"):
        explicit = Path(os.environ["VOSTACK_PG_BINDIR"])
    if explicit is not None:
        bindir = Path(explicit)
        looked = str(bindir)
    else:
        candidates = [_DEBIAN_BINDIR]
        from_pg_config = _pg_config_bindir()
        if from_pg_config is not None:
            candidates.append(from_pg_config)
        initdb = shutil.which("initdb")
        if initdb is not None:
            candidates.append(Path(initdb).parent)
        looked = ", ".join(dict.fromkeys(str(c) for c in candidates))
        bindir = next((c for c in candidates if (c / "initdb").is_file()), candidates[0])
    missing = [name for name in _SERVER_BINARIES if not os.access(bindir / name, os.X_OK)]
    if missing:
        raise PostgresNotInstalled(
            f"The PostgreSQL server programs ({', '.join(missing)}) were not found (looked in {looked}). {hint}"
        )
    major = _major_version(bindir)
    if major is None or major < _MIN_MAJOR:
        found = "an unknown version" if major is None else f"version {major}"
        raise PostgresNotInstalled(f"{bindir / 'postgres'} is {found}; vostack needs PostgreSQL 15. {hint}")
    extdir = _extension_dir(bindir)
    if extdir is None:
        raise PostgresNotInstalled(f"The extension directory of the PostgreSQL in {bindir} was not found. {hint}")
    absent = [name for name in extensions if not (extdir / f"{name}.control").is_file()]
    if absent:
        names = ", ".join("pgSphere (pg_sphere)" if name == "pg_sphere" else name for name in absent)
        raise PostgresNotInstalled(f"The PostgreSQL extension {names} is not installed in {extdir}. {hint}")
    return bindir


def default_state_dir(name: str = "demo") -> Path:
    """Where an embedded cluster called ``name`` keeps its data between runs.

    ``$XDG_DATA_HOME/vostack/<name>`` (``~/.local/share/vostack/<name>``) for
    ordinary users; ``/var/lib/vostack/<name>`` for root, because the
    ``postgres`` user that runs the server cannot enter ``/root``.
    """
    if os.geteuid() == 0:
        return Path("/var/lib/vostack") / name
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vostack" / name


class _ServerUser:
    """The unprivileged account that owns the cluster when we run as root."""

    def __init__(self, entry: pwd.struct_passwd) -> None:
        self.name = entry.pw_name
        self.uid = entry.pw_uid
        self.gid = entry.pw_gid
        self.groups = os.getgrouplist(entry.pw_name, entry.pw_gid)
        self.home = entry.pw_dir

    @classmethod
    def lookup(cls) -> _ServerUser | None:
        if os.geteuid() != 0:
            return None
        try:
            return cls(pwd.getpwnam("postgres"))
        except KeyError:
            raise PostgresNotInstalled(
                "vostack runs as root, so its PostgreSQL server must run as the 'postgres' system user, "
                f"which does not exist. {_install_hint(())}"
            ) from None

    def can_enter(self, directory: Path) -> bool:
        st = directory.stat()
        if st.st_uid == self.uid:
            bit = stat.S_IXUSR
        elif st.st_gid in self.groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        return bool(st.st_mode & bit)


class _Interrupted(BaseException):
    """SIGINT arrived while the cluster was changing state (internal)."""


class _DeferredSigint:
    """Hold SIGINT back in the main thread; re-deliver it on exit."""

    def __init__(self) -> None:
        self.pending = False
        self._previous: Callable[[int, types.FrameType | None], object] | int = signal.SIG_DFL
        self._installed = False

    def _record(self, signum: int, frame: types.FrameType | None) -> None:
        self.pending = True

    def __enter__(self) -> _DeferredSigint:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            # None: a handler installed from C, which could not be restored.
            if previous is not None and previous != signal.SIG_IGN:
                self._previous = previous
                signal.signal(signal.SIGINT, self._record)
                self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
            if self.pending:
                signal.raise_signal(signal.SIGINT)

    def check(self) -> None:
        if self.pending:
            raise _Interrupted


def _conf_string(value: str) -> str:
    """Quote a postgresql.conf string value."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _conninfo_value(value: str) -> str:
    """Quote a libpq key=value connection string value."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _command_line(pid: int) -> str:
    """`` (COMMAND LINE)`` of a process, when it can be read (Linux), else nothing."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    line = " ".join(arg.decode(errors="replace") for arg in argv if arg)
    return f" ({line})" if line else ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedPostgres:
    """A PostgreSQL cluster of vostack's own, kept in a state directory.

    Used when no DSN is given (the demo and the test fixtures).  The data
    survive :meth:`stop` and the next :meth:`start`.  See the module
    docstring for how users, ports, leftover servers and Ctrl-C are handled.

    Parameters
    ----------
    state_dir
        Directory for the cluster, its socket and its log; created if missing.
    database
        Database created on start if missing; the DSN names it.
    port
        TCP port on 127.0.0.1; by default a free port is chosen on each start.
    bindir
        PostgreSQL binaries; by default found by :func:`find_bindir`.
    extensions
        Extensions created (``CREATE EXTENSION IF NOT EXISTS``) in ``database``.
    log
        Receives one line per step; by default the module's logger at INFO.
    ephemeral
        For throwaway test clusters: no fsync, no synchronous commit, no full
        page writes.  A crash can then corrupt the data.
    primary
        The DSN of a running server to follow: on first use the cluster is a
        copy of it (``pg_basebackup -R``), started as a hot standby that
        streams its changes (a read replica); nothing is created in it.
    listen, trusted
        Addresses to listen on besides 127.0.0.1, and networks (CIDR) whose
        connections are trusted like local ones (written when the cluster is
        created): for servers other machines reach, such as the sites of
        ``benchmarks/cluster.py``.  Trust means no password: a private network only.

    Examples
    --------
    >>> with EmbeddedPostgres(state_dir=default_state_dir()) as pg:  # doctest: +SKIP
    ...     pool = await asyncpg.create_pool(pg.dsn)
    """

    def __init__(
        self,
        *,
        state_dir: Path,
        database: str = "vostack",
        port: int | None = None,
        bindir: Path | None = None,
        extensions: Sequence[str] = ("pg_sphere",),
        log: Callable[[str], None] | None = None,
        ephemeral: bool = False,
        primary: str | None = None,
        listen: Sequence[str] = (),
        trusted: Sequence[str] = (),
    ) -> None:
        state_dir = Path(state_dir).expanduser().absolute()
        if _SHELL_UNSAFE.search(str(state_dir)):
            raise ClusterError(
                f"The state directory {str(state_dir)!r} contains a quote, '$', '`', '\\' or a newline, "
                "which pg_ctl cannot pass to the shell; choose another directory."
            )
        if not database or "\0" in database or len(database.encode()) > 63:
            raise ClusterError(f"Invalid database name {database!r} (1 to 63 bytes).")
        if port is not None and not 0 < port < 65536:
            raise ClusterError(f"Invalid port {port}.")
        self._state_dir = state_dir
        self._database = database
        self._requested_port = port
        self._bindir = bindir
        self._extensions = tuple(extensions)
        self._log = log if log is not None else _logger.info
        self._ephemeral = ephemeral
        self._primary = primary
        if any(not re.fullmatch(r"[0-9A-Fa-f.:/]+", item) for item in (*listen, *trusted)):
            raise ClusterError("listen addresses and trusted networks are IP addresses and CIDR networks")
        self._listen = tuple(listen)
        self._trusted = tuple(trusted)
        self._found_bindir: Path | None = None
        self._port: int | None = None
        self._dsn: str | None = None
        self._owner_pid: int | None = None  # the process that registered the atexit hook
        self._lock_fd: int | None = None  # vostack.lock, locked while started

    # -- public API -----------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        """The state directory (absolute)."""
        return self._state_dir

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (PGDATA)."""
        return self._state_dir / "data"

    @property
    def log_path(self) -> Path:
        """The server log."""
        return self._state_dir / "postgres.log"

    @property
    def lock_path(self) -> Path:
        """The lock file held (``flock``) by the process using the state directory."""
        return self._state_dir / _LOCK_FILE

    @property
    def socket_dir(self) -> Path:
        """The unix socket directory."""
        return self._state_dir / "run"

    @property
    def port(self) -> int:
        """The TCP port the running server listens on (127.0.0.1)."""
        if self._port is None or self._dsn is None:
            raise ClusterError("The embedded PostgreSQL server is not running; call start() first.")
        return self._port

    @property
    def dsn(self) -> str:
        """``postgresql://vostack@127.0.0.1:PORT/DATABASE`` of the running server."""
        if self._dsn is None:
            raise ClusterError("The embedded PostgreSQL server is not running; call start() first.")
        return self._dsn

    def start(self) -> str:
        """Start the server (creating the cluster on first use) and return its DSN.

        Idempotent: a second call returns the same DSN.

        Raises
        ------
        PostgresNotInstalled
            The binaries or an extension are missing.
        StateDirectoryInUse
            Another process, or another object in this one, uses the state directory.
        ClusterError
            initdb, pg_ctl or psql failed; the message ends with the last
            lines of the server log.
        """
        if self._dsn is not None:
            return self._dsn
        try:
            with _DeferredSigint() as sigint:
                self._dsn = self._start(sigint)
        except _Interrupted:
            # SIGINT was re-delivered on exit from the block and its handler did not raise.
            raise ClusterError("Starting PostgreSQL was interrupted; the server was stopped.") from None
        return self._dsn

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``); safe to call repeatedly or before start."""
        if self._port is None:
            return
        with _DeferredSigint():
            self._log(f"Stopping PostgreSQL in {self.data_dir}")
            self._stop_server()
            self._port = None
            self._dsn = None
            atexit.unregister(self._stop_at_exit)
            self._owner_pid = None
            self._unlock_state_dir()

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self._port}" if self._dsn is not None else "stopped"
        return f"EmbeddedPostgres(state_dir={str(self._state_dir)!r}, {state})"

    # -- start ----------------------------------------------------------------------------------

    def _start(self, sigint: _DeferredSigint) -> str:
        bindir = self._found_bindir = find_bindir(self._bindir, extensions=self._extensions)
        user = _ServerUser.lookup()
        self._prepare_state_dir(user)
        self._lock_state_dir()
        try:
            sigint.check()
            if not (self.data_dir / "PG_VERSION").is_file():
                if self._primary is not None:
                    self._basebackup(bindir, user, self._primary)
                else:
                    self._initdb(bindir, user)
                sigint.check()
            self._check_data_version(bindir)
            port = self._adopt_running_server()
            if port is None:
                port = self._launch(bindir, user, sigint)
            self._port = port
            if self._owner_pid is None:
                atexit.register(self._stop_at_exit)
                self._owner_pid = os.getpid()
            sigint.check()
            if self._primary is None:  # a standby has what its primary has, and is read-only
                self._create_database(bindir, port)
            sigint.check()
        except BaseException:
            if self._port is not None:
                self._log("Stopping PostgreSQL after a failed or interrupted start")
                try:
                    self._stop_server()
                except ClusterError as exc:
                    _logger.warning("%s", exc.message)
                self._port = None
                atexit.unregister(self._stop_at_exit)
                self._owner_pid = None
            self._unlock_state_dir()
            raise
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{quote(self._database, safe='')}"

    def _prepare_state_dir(self, user: _ServerUser | None) -> None:
        missing: list[Path] = []
        for directory in (self._state_dir, *self._state_dir.parents):
            if directory.exists():
                break
            missing.append(directory)
        if user is not None:
            # Checked before creating anything; the directories created below are 0755.
            for directory in self._state_dir.parents:
                if directory.exists() and not user.can_enter(directory):
                    raise ClusterError(
                        f"The '{user.name}' user, which runs the PostgreSQL server, cannot enter "
                        f"{directory}; choose a state directory it can reach, such as {default_state_dir()}."
                    )
        for directory in reversed(missing):
            try:
                directory.mkdir(exist_ok=True)
                # Parents we create stay traversable for the server user whatever the umask.
                directory.chmod(0o700 if directory == self._state_dir else 0o755)
            except OSError as exc:
                raise ClusterError(f"Cannot create the state directory {directory}: {exc}") from None
        if not self._state_dir.is_dir():
            raise ClusterError(f"The state directory {self._state_dir} is not a directory.")
        if user is None:
            return
        if self._state_dir.stat().st_uid != user.uid:
            os.chown(self._state_dir, user.uid, user.gid)
        if self.log_path.exists() and self.log_path.stat().st_uid != user.uid:
            os.chown(self.log_path, user.uid, user.gid)

    def _lock_state_dir(self) -> None:
        """Lock ``vostack.lock`` for this object's use of the state directory, or say who holds it."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by subprocesses
        except OSError as exc:
            raise ClusterError(f"Cannot open {self.lock_path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode("ascii", errors="replace").strip()
            os.close(fd)
            pid = int(holder) if holder.isdigit() else None
            by = "another process" if pid is None else f"process {pid}{_command_line(pid)}"
            raise StateDirectoryInUse(f"The state directory {self._state_dir} is in use by {by}", pid=pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._lock_fd = fd

    def _unlock_state_dir(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def _write_server_file(self, path: Path, text: str, user: _ServerUser | None, mode: int = 0o600) -> None:
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
        if user is not None:
            os.chown(path, user.uid, user.gid)

    def _initdb(self, bindir: Path, user: _ServerUser | None) -> None:
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ClusterError(
                f"{self.data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); "
                "remove it or choose another state directory."
            )
        self._log(f"Creating a PostgreSQL cluster in {self.data_dir}")
        staging = self._state_dir / "data.initdb"
        if staging.exists():  # left by an initdb that was killed: ours to remove
            shutil.rmtree(staging)
        args = [str(bindir / "initdb"), "-D", str(staging), "-U", SUPERUSER, "-E", "UTF8", "--locale=C"]
        args += ["--auth-local=trust", "--auth-host=trust"]
        if self._ephemeral:
            args.append("--no-sync")
        result = self._run(args, user=user)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise ClusterError(f"initdb failed in {staging}:\n{(result.stderr or result.stdout).strip()}")
        self._write_server_file(
            staging / "pg_hba.conf",
            "# Written by vostack: trust local connections only (the server listens on 127.0.0.1).\n"
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all          all                 trust\n"
            "host    all          all   127.0.0.1/32  trust\n"
            "# streaming replicas on this machine (EmbeddedPostgres(primary=...), pg_basebackup)\n"
            "local   replication  all                 trust\n"
            "host    replication  all   127.0.0.1/32  trust\n"
            + "".join(f"host    {kind}  all   {network}  trust\n" for network in self._trusted
                      for kind in ("all        ", "replication")),
            user,
        )  # fmt: skip
        conf = staging / "postgresql.conf"
        text = conf.read_text(encoding="utf-8")
        self._write_server_file(
            conf,
            f"{text}\n# Added by vostack: its settings, rewritten on every start.\n{_INCLUDE_LINE}\n",
            user,
        )
        # The cluster appears under its final name only once complete.
        staging.rename(self.data_dir)

    def _basebackup(self, bindir: Path, user: _ServerUser | None, primary: str) -> None:
        """Make the cluster a copy of ``primary`` that follows it (``standby.signal``, ``primary_conninfo``)."""
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ClusterError(f"{self.data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION).")
        self._log(f"Copying the primary into {self.data_dir} (pg_basebackup), to follow it as a read replica")
        staging = self._state_dir / "data.basebackup"
        if staging.exists():  # left by a pg_basebackup that was killed: ours to remove
            shutil.rmtree(staging)
        args = [str(bindir / "pg_basebackup"), "-D", str(staging), "-R", "-X", "stream", "-c", "fast", "-d", primary]
        if self._ephemeral:
            args.append("--no-sync")
        result = self._run(args, user=user)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise ClusterError(f"pg_basebackup of the primary failed:\n{(result.stderr or result.stdout).strip()}")
        conf = staging / "postgresql.conf"
        text = conf.read_text(encoding="utf-8")
        if _INCLUDE_LINE not in text:  # a primary that vostack did not create
            self._write_server_file(conf, f"{text}\n{_INCLUDE_LINE}\n", user)
        staging.rename(self.data_dir)

    def _check_data_version(self, bindir: Path) -> None:
        found = (self.data_dir / "PG_VERSION").read_text(encoding="ascii").strip()
        major = _major_version(bindir)
        if major is not None and found != str(major):
            raise ClusterError(
                f"{self.data_dir} holds a PostgreSQL {found} cluster but {bindir} is PostgreSQL {major}; "
                "use the matching binaries (VOSTACK_PG_BINDIR) or another state directory."
            )

    def _postmaster(self) -> tuple[int, list[str]] | None:
        """The live postmaster of our data directory: its pid and postmaster.pid lines.

        A postmaster.pid naming a process that is not our postmaster but still
        exists (a zombie not yet reaped after a crash, or a pid reused by an
        unrelated process) would make the postmaster refuse to start; it is
        removed once no process works in the data directory any more (on
        Linux, through /proc).  One naming a process that no longer exists is
        left to the postmaster, which removes it itself.
        """
        pidfile = self.data_dir / "postmaster.pid"
        try:
            lines = pidfile.read_text(encoding="utf-8").splitlines()
            pid = abs(int(lines[0]))  # negative: a single-user backend
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return None  # another user's process: the postmaster treats the file as stale
        if not Path("/proc/self/cwd").exists():
            return pid, lines  # no /proc: trust the pid
        try:
            cwd: str | None = os.readlink(f"/proc/{pid}/cwd")
        except PermissionError:
            return pid, lines  # cannot tell: assume it is ours
        except OSError:
            cwd = None  # a zombie, or exited just now
        if cwd is not None and os.path.realpath(cwd) == os.path.realpath(self.data_dir):
            return pid, lines  # every process of a cluster works in its data directory
        self._wait_for_no_process_in_data_dir()
        self._log(f"Removing {pidfile}: process {pid} is not its postmaster")
        pidfile.unlink(missing_ok=True)
        return None

    def _wait_for_no_process_in_data_dir(self) -> None:
        """Wait for the backends of a dead postmaster to exit (they do on their own)."""
        data_dir = os.path.realpath(self.data_dir)
        deadline = time.monotonic() + _ORPHAN_TIMEOUT
        while True:
            busy = []
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    with contextlib.suppress(OSError):
                        if os.path.realpath(os.readlink(f"/proc/{entry}/cwd")) == data_dir:
                            busy.append(int(entry))
            if not busy:
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"Processes {', '.join(map(str, busy))} of an earlier PostgreSQL server still run in "
                    f"{self.data_dir} without their postmaster; stop them and try again."
                )
            time.sleep(0.1)

    def _adopt_running_server(self) -> int | None:
        found = self._postmaster()
        if found is None:
            return None
        pid, lines = found
        # postmaster.pid lines (PostgreSQL >= 10): pid, datadir, start time, port, socket dir,
        # listen address, shared memory key, status.
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        address = lines[5].strip() if len(lines) > 5 else ""
        status = lines[7].strip() if len(lines) > 7 else ""
        if port is not None and address == "127.0.0.1" and status == "ready" and self._requested_port in (None, port):
            self._log(f"Reusing the PostgreSQL server left running by an earlier run (pid {pid}, port {port})")
            return port
        self._log(f"Stopping the PostgreSQL server left running by an earlier run (pid {pid})")
        self._port = port or 0  # so that a failure below still stops it
        self._stop_server()
        self._port = None
        return None

    def _write_settings(self, port: int, user: _ServerUser | None) -> None:
        socket_dir = self.socket_dir
        if not socket_dir.is_dir():
            socket_dir.mkdir(mode=0o700)
            if user is not None:
                os.chown(socket_dir, user.uid, user.gid)
        socket_path = socket_dir / f".s.PGSQL.{port}"
        # A list of directories: each one double-quoted inside the string.  Too long a path
        # for a unix socket: TCP only (the server would refuse to start).
        sockets = '"' + str(socket_dir).replace('"', '""') + '"'
        if len(os.fsencode(socket_path)) > _SUN_PATH_MAX:
            sockets = ""
        lines = [
            "# Written by vostack on every start; it overrides postgresql.conf.",
            f"listen_addresses = {_conf_string(','.join(('127.0.0.1', *self._listen)))}",
            f"port = {port}",
            f"unix_socket_directories = {_conf_string(sockets)}",
            "shared_buffers = '128MB'",
        ]
        if self._ephemeral:
            lines += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        self._write_server_file(self.data_dir / "vostack.conf", "\n".join(lines) + "\n", user)

    def _launch(self, bindir: Path, user: _ServerUser | None, sigint: _DeferredSigint) -> int:
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = self._requested_port or _free_port()
            self._write_settings(port, user)
            self._log(f"Starting PostgreSQL on 127.0.0.1:{port} (log: {self.log_path})")
            self._port = port  # from here on a failure must stop the server
            result = self._run(
                [
                    str(bindir / "pg_ctl"),
                    "start",
                    "-w",
                    "-t",
                    str(_PG_CTL_TIMEOUT),
                    "-s",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_path),
                ],
                user=user,
            )
            if result.returncode == 0:
                return port
            tail = self._log_tail()
            self._stop_server()  # pg_ctl may give up while the postmaster is still starting
            self._port = None
            port_taken = "could not bind" in tail or "Address already in use" in tail
            if self._requested_port is None and port_taken and attempt < _PORT_ATTEMPTS:
                sigint.check()
                continue
            raise ClusterError(
                f"PostgreSQL did not start: {(result.stderr or result.stdout).strip()}\n"
                f"Last lines of {self.log_path}:\n{tail}"
            )
        raise AssertionError("unreachable")

    def _create_database(self, bindir: Path, port: int) -> None:
        script = (
            "SELECT format('CREATE DATABASE %I', :'dbname')"
            " WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \\gexec\n"
        )
        self._psql(bindir, port, "postgres", script, {"dbname": self._database})
        for name in self._extensions:
            self._create_extension(bindir, port, name)

    def _create_extension(self, bindir: Path, port: int, name: str) -> None:
        registered = "SELECT count(*) FROM pg_extension WHERE extname = :'ext';\n"
        if self._psql(bindir, port, self._database, registered, {"ext": name}) == "1":
            return
        if name == "pg_sphere" and self._psql(bindir, port, self._database, _HAVE_SPOINT, {}) == "t":
            return  # installed without CREATE EXTENSION on an earlier start (see below)
        try:
            self._psql(bindir, port, self._database, 'CREATE EXTENSION IF NOT EXISTS :"ext";\n', {"ext": name})
        except ClusterError as exc:
            if name != "pg_sphere" or _COMMUTATOR_CLASH not in exc.message:
                raise
            self._install_pgsphere_script(bindir, port)

    def _install_pgsphere_script(self, bindir: Path, port: int) -> None:
        """Run pgSphere's install script without its two obsolete ``@`` smoc operators.

        pgSphere 1.2 (Debian bookworm's ``postgresql-15-pgsphere``) declares
        ``bigint @ smoc`` and ``spoint @ smoc`` (compatibility operators for
        old GAVO DaCHS) with a commutator that is already another operator's;
        recent PostgreSQL minor releases reject that, so ``CREATE EXTENSION
        pg_sphere`` fails.  pgSphere 1.4 dropped these operators (pgsphere
        PR #92).  This runs the packaged script, minus them, in one
        transaction: every other type, function, operator and index class is
        created, but not as members of an extension (``pg_extension`` has no
        ``pg_sphere`` row, and a later ``CREATE EXTENSION pg_sphere`` fails).
        """
        extdir = _extension_dir(bindir)
        if extdir is None:
            raise PostgresNotInstalled(f"pgSphere's extension directory was not found. {_install_hint(())}")
        control = (extdir / "pg_sphere.control").read_text(encoding="utf-8")
        version = re.search(r"^\s*default_version\s*=\s*'([^']+)'", control, re.MULTILINE)
        module = re.search(r"^\s*module_pathname\s*=\s*'([^']+)'", control, re.MULTILINE)
        script_path = extdir / f"pg_sphere--{version.group(1) if version else ''}.sql"
        if version is None or module is None or not script_path.is_file():
            raise ClusterError(f"Cannot install pgSphere: its install script in {extdir} was not found.")
        script = script_path.read_text(encoding="utf-8")
        script, removed = _PGSPHERE_OBSOLETE_OPERATORS.subn("", script)
        if removed == 0:
            raise ClusterError(f"CREATE EXTENSION pg_sphere failed and {script_path} is not the known broken script.")
        script = _PSQL_GUARD.sub("", script)
        script = script.replace("MODULE_PATHNAME", module.group(1)).replace("@extschema@", "public")
        self._log(
            "CREATE EXTENSION pg_sphere fails on this PostgreSQL (pgSphere 1.2's obsolete '@' smoc "
            f"operators); installing pgSphere's objects from {script_path.name} without them"
        )
        self._psql(bindir, port, self._database, script, {}, single_transaction=True)

    def _psql(
        self,
        bindir: Path,
        port: int,
        database: str,
        script: str,
        variables: dict[str, str],
        *,
        single_transaction: bool = False,
    ) -> str:
        """Run ``script`` (names and values passed as psql variables); return its unaligned output."""
        conninfo = f"host=127.0.0.1 port={port} user={SUPERUSER} dbname={_conninfo_value(database)}"
        args = [str(bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo]
        if single_transaction:
            args.append("--single-transaction")
        for name, value in variables.items():
            args += ["-v", f"{name}={value}"]
        result = self._run([*args, "-f", "-"], user=None, stdin=script)
        if result.returncode != 0:
            raise ClusterError(f"Preparing database {database!r} failed: {(result.stderr or result.stdout).strip()}")
        return result.stdout.strip()

    # -- stop -----------------------------------------------------------------------------------

    def _stop_server(self) -> None:
        user = _ServerUser.lookup()
        bindir = self._found_bindir or find_bindir(self._bindir, extensions=())
        base = [
            str(bindir / "pg_ctl"),
            "stop",
            "-w",
            "-t",
            str(_PG_CTL_TIMEOUT),
            "-s",
            "-D",
            str(self.data_dir),
        ]
        result = self._run([*base, "-m", "fast"], user=user)
        if result.returncode == 0 or self._postmaster() is None:
            return
        self._log("PostgreSQL did not stop in time; stopping it immediately")
        result = self._run([*base, "-m", "immediate"], user=user)
        if result.returncode != 0 and self._postmaster() is not None:
            raise ClusterError(
                f"PostgreSQL did not stop: {(result.stderr or result.stdout).strip()}\n"
                f"Last lines of {self.log_path}:\n{self._log_tail()}"
            )

    def _stop_at_exit(self) -> None:
        if os.getpid() != self._owner_pid:
            return  # a forked child: the server belongs to the parent
        try:
            self.stop()
        except VOError as exc:
            _logger.error("%s", exc.message)

    # -- helpers --------------------------------------------------------------------------------

    def _log_tail(self) -> str:
        try:
            with self.log_path.open(encoding="utf-8", errors="replace") as log:
                return "".join(log.readlines()[-_LOG_TAIL_LINES:]).rstrip()
        except OSError:
            return "(no log)"

    def _run(
        self, args: list[str], *, user: _ServerUser | None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = _clean_env()
        if user is not None:
            env.update(HOME=user.home, USER=user.name, LOGNAME=user.name)
        try:
            return subprocess.run(
                args,
                input=stdin,
                capture_output=True,
                text=True,
                env=env,
                cwd=self._state_dir,
                start_new_session=True,  # a terminal's Ctrl-C reaches only us
                timeout=_SUBPROCESS_TIMEOUT,
                check=False,
                user=None if user is None else user.uid,
                group=None if user is None else user.gid,
                extra_groups=None if user is None else user.groups,
            )
        except subprocess.TimeoutExpired:
            raise ClusterError(f"{Path(args[0]).name} did not finish in {_SUBPROCESS_TIMEOUT} s.") from None
        except OSError as exc:
            if not self._state_dir.is_dir():  # the working directory: subprocess names it, not the program
                raise ClusterError(
                    f"Cannot run {Path(args[0]).name}: the state directory {self._state_dir} was removed (a "
                    "PostgreSQL server still running there stops by itself once it finds its lock file gone)"
                ) from None
            raise ClusterError(f"Cannot run {args[0]}: {exc}") from None
