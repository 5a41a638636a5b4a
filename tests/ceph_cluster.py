"""A real single-node Ceph cluster on 127.0.0.1 for the storage tests: one monitor, one
memstore OSD and a radosgw (beast frontend) with an S3 user, from Debian's ceph-mon,
ceph-osd, radosgw and ceph-common packages (16.2.15 in bookworm).

It is set up the way Ceph's own src/vstart.sh does it, with cephx keys: ceph-authtool
makes mon. and client.admin, `ceph osd new` registers the OSD's key (memstore's mkfs does
not write its keyring, so it is written here), `ceph auth get-or-create` the gateway's.
Everything (data, keyrings, run dir, admin sockets, logs) lives in one temporary
directory; every daemon binds 127.0.0.1 on ports picked free at start, runs in the
foreground (`-f`) as a child process tracked by PID, and `stop()` ends exactly those:
SIGTERM, a grace period, then SIGKILL. The cluster is ready when a signed S3 request
(botocore) succeeds.

Use the module-scoped `ceph` fixture (skips where the binaries are missing), or by hand:

    python -m tests.ceph_cluster      # prints `export K=V` lines, waits for Ctrl-C

KLO_CEPH_KEEP_LOGS=DIR copies the daemons' logs to DIR on stop.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

TOOLS = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool", "monmaptool")
BUCKET = "klo"
REGION = "us-east-1"


def ceph_available() -> str | None:
    """None when the Ceph binaries are installed, else why not (a pytest skip reason)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"needs Ceph ({', '.join(missing)} not found): apt-get install ceph-mon "
            "ceph-osd radosgw ceph-common"
        )
    if importlib.util.find_spec("botocore") is None:
        return "needs botocore for the S3 checks (pip install s3fs)"
    return None


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class CephCluster:
    """One monitor, one memstore OSD and a radosgw in a temporary directory."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.dir = ""
        self.endpoint = ""
        self.access_key = "KLO" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.start_seconds = 0.0
        self.fsid = str(uuid.uuid4())
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: list[int] = []

    # --- setup ------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return os.path.join(self.dir, *parts)

    def _conf(self, mon2: int, mon1: int, rgw: int) -> str:
        d = self.dir
        return f"""[global]
fsid = {self.fsid}
mon host = [v2:127.0.0.1:{mon2},v1:127.0.0.1:{mon1}]
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = {d}/keyring
run dir = {d}/run
pid file = {d}/run/$name.pid
log file = {d}/log/$name.log
log to stderr = false
err to stderr = false
crash dir = {d}/crash
mon cluster log file = {d}/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
paxos propose interval = 0.1
[mon]
admin socket = {d}/run/$name.asok
mon data = {d}/mon.$id
[osd]
admin socket = {d}/run/$name.asok
osd data = {d}/osd.$id
keyring = {d}/osd.$id/keyring
osd objectstore = memstore
memstore device bytes = 1073741824
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
admin socket = {d}/run/$name.asok
keyring = {d}/rgw.keyring
rgw data = {d}/rgw
rgw frontends = beast endpoint=127.0.0.1:{rgw}
rgw thread pool size = 32
# no lifecycle threads: at start they contend for their shard locks and sleep 5 s, and the
# gateway's shutdown waits for them (SIGTERM took 5 to 10 s on an Intel machine, Dec 2026)
rgw enable lc threads = false
"""

    def _run(self, *args: str) -> str:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=self.timeout)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args[:3])} ... exited {proc.returncode}: "
                f"{(proc.stderr or proc.stdout)[-1500:]}"
            )
        return proc.stdout

    def _spawn(self, name: str, *args: str) -> None:
        with open(self._path("log", f"{name}.out"), "wb") as out:
            self.procs[name] = subprocess.Popen(
                [*args, "-f", "-c", self._path("ceph.conf")],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.timeout
        while not ready():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited {proc.returncode} while waiting for {what}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {self.timeout:.0f} s waiting for {what}")
            time.sleep(0.05)

    def _s3_ready(self) -> bool:
        import botocore.exceptions

        try:
            self.client().list_buckets()
            return True
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return False

    def client(self) -> Any:
        """A botocore S3 client for this cluster's gateway and user."""
        import botocore.config
        import botocore.session

        return botocore.session.get_session().create_client(
            "s3",
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=botocore.config.Config(
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
                s3={"addressing_style": "path"},
            ),
        )

    def start(self) -> CephCluster:
        """Create, start and wait for the cluster; on failure stop it and raise
        RuntimeError with the tail of the daemons' logs."""
        t0 = time.monotonic()
        self.dir = tempfile.mkdtemp(prefix="klo-ceph-")
        try:
            self._start()
        except BaseException as exc:  # Ctrl-C too: stop what started, then re-raise
            tail = self.log_tail()
            self.stop()
            if not isinstance(exc, Exception):
                raise
            raise RuntimeError(f"the Ceph cluster did not start: {exc}\n{tail}") from exc
        self.start_seconds = time.monotonic() - t0
        return self

    def _start(self) -> None:
        for sub in ("run", "log", "crash", "rgw", "mon.a", "osd.0"):
            os.makedirs(self._path(sub))
        mon2, mon1, rgw = self.ports = _free_ports(3)
        self.endpoint = f"http://127.0.0.1:{rgw}"
        conf = self._path("ceph.conf")
        with open(conf, "w") as f:
            f.write(self._conf(mon2, mon1, rgw))
        keyring, cli = self._path("keyring"), ("ceph", "-c", conf, "--connect-timeout", "30")
        self._run(
            "ceph-authtool",
            "--create-keyring",
            "--gen-key",
            "--name=mon.",
            keyring,
            "--cap",
            "mon",
            "allow *",
        )
        self._run(
            "ceph-authtool",
            "--gen-key",
            "--name=client.admin",
            keyring,
            "--cap",
            "mon",
            "allow *",
            "--cap",
            "osd",
            "allow *",
            "--cap",
            "mds",
            "allow *",
            "--cap",
            "mgr",
            "allow *",
        )
        monmap = self._path("monmap")
        self._run(
            "monmaptool",
            "--create",
            "--clobber",
            "--fsid",
            self.fsid,
            "--addv",
            "a",
            f"[v2:127.0.0.1:{mon2},v1:127.0.0.1:{mon1}]",
            monmap,
        )
        self._run(
            "ceph-mon", "-c", conf, "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", keyring
        )
        self._spawn("mon.a", "ceph-mon", "-i", "a")
        # the OSD's key: written by hand (memstore's mkfs does not), registered by osd new
        osd_key = self._run("ceph-authtool", "--gen-print-key").strip()
        osd_uuid = str(uuid.uuid4())
        with open(self._path("osd.0", "keyring"), "w") as f:
            f.write(f"[osd.0]\n\tkey = {osd_key}\n")
        with open(self._path("osd.0", "new.json"), "w") as f:
            f.write(f'{{"cephx_secret": "{osd_key}"}}')
        self._wait("the monitor's port", lambda: _port_open(mon2))
        # both talk to the monitor only: run them side by side
        new = subprocess.Popen(
            [*cli, "osd", "new", osd_uuid, "0", "-i", self._path("osd.0", "new.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            self._run(
                *cli,
                "auth",
                "get-or-create",
                "client.rgw.a",
                "mon",
                "allow rw",
                "osd",
                "allow rwx",
                "-o",
                self._path("rgw.keyring"),
            )
            out = new.communicate(timeout=self.timeout)[0].decode()
        finally:
            if new.poll() is None:
                new.kill()
                new.wait()
        if new.returncode != 0:
            raise RuntimeError(f"ceph osd new exited {new.returncode}: {out[-1500:]}")
        self._run("ceph-osd", "-c", conf, "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        self._spawn("osd.0", "ceph-osd", "-i", "0")
        self._spawn("client.rgw.a", "radosgw", "-n", "client.rgw.a")
        self._wait("the gateway's port", lambda: _port_open(rgw))
        self._run(
            "radosgw-admin",
            "-c",
            conf,
            "user",
            "create",
            "--uid",
            "klo",
            "--display-name",
            "klo tests",
            "--access-key",
            self.access_key,
            "--secret-key",
            self.secret_key,
        )
        self._wait("a signed S3 request", self._s3_ready)

    # --- use and teardown ---------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The environment clients need: botocore/s3fs and tensorflow-io's variables."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ENDPOINT_URL": self.endpoint,
            "S3_ENDPOINT": self.endpoint,
            "S3_USE_HTTPS": "0",
            "S3_VERIFY_SSL": "0",
        }

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of every log in the cluster's log directory."""
        logs = self._path("log")
        parts = []
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            with open(os.path.join(logs, name), errors="replace") as f:
                tail = f.read().splitlines()[-lines:]
            if tail:
                parts.append(f"--- {name} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self, grace: float = 3.0) -> None:
        """End exactly the processes start() began, one at a time: the gateway first
        (stopped together with the OSD it hangs), the OSD while the monitor still answers
        it, then the monitor; each SIGTERM, up to `grace` seconds, then SIGKILL. Then
        remove the temporary directory (logs copied to $KLO_CEPH_KEEP_LOGS if set)."""
        for name in ("client.rgw.a", "osd.0", "mon.a"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.dir and os.path.isdir(self.dir):
            keep = os.environ.get("KLO_CEPH_KEEP_LOGS")
            if keep:
                shutil.copytree(self._path("log"), keep, dirs_exist_ok=True)
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def ceph() -> Iterator[CephCluster]:
    """A started cluster with bucket "klo", its env() in os.environ for the module."""
    reason = ceph_available()
    if reason:
        pytest.skip(reason)
    cluster = CephCluster()
    try:
        cluster.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    saved = {k: os.environ.get(k) for k in cluster.env()}
    os.environ.update(cluster.env())
    try:
        cluster.client().create_bucket(Bucket=BUCKET)
        yield cluster
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        cluster.stop()


def main() -> int:
    reason = ceph_available()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    cluster = CephCluster()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # even where a shell started it ignoring SIGINT
    try:
        cluster.start()
        for key, value in cluster.env().items():
            print(f"export {key}={value}")
        pids = " ".join(f"{name}={proc.pid}" for name, proc in cluster.procs.items())
        print(
            f"# started in {cluster.start_seconds:.2f} s in {cluster.dir} ({pids}); "
            "Ctrl-C stops it",
            flush=True,
        )
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
