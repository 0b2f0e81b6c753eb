"""A throwaway single-node Ceph with its S3 gateway (RADOS Gateway), for tests and demonstrations.

:class:`ThrowawayCeph` starts one monitor, one OSD keeping objects in memory
(``memstore``) and one ``radosgw`` from Debian's packages (``ceph-mon ceph-osd
radosgw ceph-common``), creates an S3 user and a bucket, and stops them again;
on this kind of machine that takes about 2 seconds.  It is tooling like
:mod:`vostack.db.cluster`: it runs the Ceph programs as subprocesses and never
serves anything itself.  Nothing survives :meth:`ThrowawayCeph.stop`.

The settings that decide whether it works at all (each measured on Ceph 16.2):

- cephx is off (``auth_*_required = none``), which makes radosgw hang unless
  ``ms_mon_client_mode = crc``;
- one OSD holds every pool: pool size 1, ``mon_allow_pool_size_one``,
  ``osd_crush_chooseleaf_type = 0``;
- monitor proposals every 50 ms (``paxos_propose_interval``) and the gateway's
  seven pools created before the gateway starts (otherwise its first write waits
  seconds for them);
- the OSD binds several ports: they come from ``ms_bind_port_min..max`` (messenger v2 only);
- the monitor stops itself on a nearly full disk unless ``mon_data_avail_*`` are lowered;
- radosgw ignores SIGTERM once the OSD is gone: stop radosgw, then the OSD, then the monitor.

Every daemon runs in the foreground (``-f``) in a session of its own, so a
Ctrl-C at the terminal reaches only Python; :meth:`ThrowawayCeph.stop` also
runs at interpreter exit if the caller forgot.
"""

from __future__ import annotations

import atexit
import datetime as dt
import http.client
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import obstore

from vostack.errors import VOError
from vostack.objects.bucket import Bucket, s3_store

__all__ = ["CEPH_PACKAGES", "CephError", "CephNotInstalled", "ThrowawayCeph", "ceph_installed"]

#: The Debian packages that provide the programs :class:`ThrowawayCeph` runs.
CEPH_PACKAGES = ("ceph-mon", "ceph-osd", "radosgw", "ceph-common")
_SYSTEM_PYTHON = "/usr/bin/python3"
_PROGRAMS = ("monmaptool", "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph")
_POOLS = (".rgw.root", *(f"default.rgw.{p}" for p in ("log", "control", "meta", "buckets.index",
                                                       "buckets.data", "buckets.non-ec")))  # fmt: skip


class CephError(VOError):
    """The throwaway Ceph could not start or stop; the message says what failed."""


class CephNotInstalled(CephError):
    """Ceph's programs are missing; the message gives the command that installs them."""


def ceph_installed() -> bool:
    """Whether the programs of :data:`CEPH_PACKAGES` are on the ``PATH``."""
    return all(shutil.which(program) for program in _PROGRAMS) and Path(_SYSTEM_PYTHON).exists()


def _install_hint() -> str:
    return (
        "Ceph is not installed (needed for the S3 result store tests): "
        f"apt-get install -y --no-install-recommends {' '.join(CEPH_PACKAGES)}"
    )


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayCeph:
    """A single-node Ceph with an S3 gateway on ``host``, objects in memory, for as long as it runs.

    Parameters
    ----------
    state_dir
        Where the configuration, the monitor's store and the logs go (a new temporary directory by default;
        removed by :meth:`stop` when it made it).
    host
        The address every daemon binds to (the gateway's S3 endpoint is ``http://host:port``).
    bucket
        The bucket created for the S3 user.
    """

    def __init__(self, *, state_dir: Path | None = None, host: str = "127.0.0.1", bucket: str = "vostack") -> None:
        self._own_dir = state_dir is None
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="vostack-ceph-"))
        self.host = host
        self.bucket = bucket
        self.access_key_id = "VOSTACK" + secrets.token_hex(6).upper()
        self.secret_access_key = secrets.token_hex(20)
        self.port = 0
        self._processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    @property
    def conf(self) -> Path:
        """The ``ceph.conf`` every Ceph program here is given (``-c``)."""
        return self.state_dir / "ceph.conf"

    @property
    def endpoint(self) -> str:
        """The S3 endpoint, ``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def bucket_client(self, **options: object) -> Bucket:
        """A :class:`Bucket` on the bucket this Ceph serves, with its user's keys."""
        return Bucket(
            endpoint=self.endpoint,
            bucket=self.bucket,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            **options,  # type: ignore[arg-type]
        )

    def start(self) -> str:
        """Start the monitor, the OSD and the gateway, create the user and the bucket; returns the endpoint.

        Raises :class:`CephNotInstalled` with the install command when Ceph's programs are missing.
        """
        if not ceph_installed():
            raise CephNotInstalled(_install_hint())
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self.endpoint

    def stop(self) -> None:
        """Stop the gateway, the OSD and the monitor (in that order); remove the state directory if it made it."""
        atexit.unregister(self.stop)
        for _, process in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        self._processes.clear()
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> ThrowawayCeph:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ThrowawayCeph(endpoint={self.endpoint!r}, state_dir={str(self.state_dir)!r})"

    # ------------------------------------------------------------------ steps

    def _start(self) -> None:
        d = self.state_dir
        for sub in ("mon", "osd", "rgw", "run"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        fsid = str(uuid.uuid4())
        mon_port = _free_port(self.host)
        self.port = _free_port(self.host)
        low = _free_port(self.host)  # a start for the OSD's ports; the range is rarely in use
        self._write_conf(fsid, mon_port, low)
        mon = f"v2:{self.host}:{mon_port}"
        self._run("monmaptool", "--create", "--add", "a", mon, "--fsid", fsid, str(d / "monmap"), conf=False)
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(d / "monmap"))
        self._daemon("monitor", "ceph-mon", "-i", "a")
        osd_uuid = str(uuid.uuid4())
        self._run("ceph", "osd", "new", osd_uuid)  # waits for the monitor to answer
        self._run("ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        self._daemon("OSD", "ceph-osd", "-i", "0")
        # the gateway's pools, made before it starts (else its first write waits for them), in one process:
        # Debian's python3 has Ceph's rados module (python3-rados, a dependency of ceph-common)
        self._run(
            _SYSTEM_PYTHON, "-c",
            "import rados, sys\n"
            "cluster = rados.Rados(conffile=sys.argv[1]); cluster.connect(timeout=30)\n"
            "for pool in sys.argv[2:]:\n"
            "    cluster.create_pool(pool)\n"
            "cluster.shutdown()",
            str(self.conf), *_POOLS, conf=False,
        )  # fmt: skip
        self._daemon("gateway", "radosgw", "-n", "client.rgw.a")
        self._wait_for_gateway()
        self._run(
            "radosgw-admin", "user", "create", "--uid=vostack", "--display-name=vostack",
            f"--access-key={self.access_key_id}", f"--secret={self.secret_access_key}",
        )  # fmt: skip
        self._create_bucket()

    def _write_conf(self, fsid: str, mon_port: int, low: int) -> None:
        d = self.state_dir
        self.conf.write_text(
            f"""[global]
fsid = {fsid}
mon_host = v2:{self.host}:{mon_port}
public_addr = {self.host}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_bind_msgr1 = false
ms_bind_port_min = {low}
ms_bind_port_max = {min(low + 40, 65535)}
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
paxos_propose_interval = 0.05
mon_data_avail_warn = 1
mon_data_avail_crit = 0
rgw_gc_obj_min_wait = 30
run_dir = {d}/run
admin_socket = {d}/run/$name.asok
log_file = {d}/$name.log
pid_file = {d}/run/$name.pid
[mon.a]
mon_data = {d}/mon
[osd.0]
osd_data = {d}/osd
osd_objectstore = memstore
[client.rgw.a]
rgw_frontends = beast endpoint={self.host}:{self.port}
rgw_data = {d}/rgw
"""
        )

    def _run(self, program: str, *args: str, conf: bool = True) -> None:
        command = [program, *(["-c", str(self.conf)] if conf else []), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, start_new_session=True, check=False)
        if done.returncode != 0:
            raise CephError(f"{' '.join(command[:4])} failed: {(done.stderr or done.stdout).strip()[-800:]}")

    def _daemon(self, name: str, program: str, *args: str) -> None:
        log = (self.state_dir / f"{program}.out").open("wb")
        process = subprocess.Popen(
            [program, "-c", str(self.conf), "-f", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C at the terminal reaches Python only
        )
        log.close()
        self._processes.append((name, process))

    def _wait_for_gateway(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self._processes:
                if process.poll() is not None:
                    raise CephError(f"the Ceph {name} exited at start: {self._tail(name)}")
            try:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=2)
                connection.request("GET", "/")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.05)
        raise CephError(f"the Ceph gateway did not answer within {timeout:.0f} s: {self._tail('gateway')}")

    def _create_bucket(self) -> None:
        """Create the bucket: a presigned PUT of the bucket itself (S3 CreateBucket; obstore has no call for it)."""
        store = s3_store(self.endpoint, self.bucket, self.access_key_id, self.secret_access_key, "us-east-1")
        url = obstore.sign(store, "PUT", "", dt.timedelta(minutes=1))
        with urllib.request.urlopen(urllib.request.Request(url, method="PUT"), timeout=30) as response:
            if response.status != 200:
                raise CephError(f"creating the bucket {self.bucket!r} answered HTTP {response.status}")

    def _tail(self, name: str) -> str:
        programs = {"monitor": "ceph-mon", "OSD": "ceph-osd", "gateway": "radosgw"}
        path = self.state_dir / f"{programs.get(name, name)}.out"
        try:
            return path.read_text(errors="replace").strip()[-800:] or "(no output)"
        except OSError:
            return "(no output)"
