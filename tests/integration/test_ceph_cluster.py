"""The real Ceph cluster fixture (tests/ceph_cluster.py): objects go in and come back out
through botocore and s3fs, the CLI prints its environment and start time, and stopping
ends exactly the daemons it started, frees their ports and leaves no secret in the logs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from .. import ceph_cluster
from ..ceph_cluster import BUCKET, CephCluster, ceph_available
from ..conftest import REPO, time_limit

ceph = ceph_cluster.ceph  # the module-scoped fixture: a started cluster, bucket "klo"

pytestmark = [
    pytest.mark.storage,
    pytest.mark.skipif(ceph_available() is not None, reason=str(ceph_available())),
]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _port_free(port: int) -> bool:
    """Nothing listens there and a server could bind it (TIME_WAIT connections remain)."""
    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_put_get_list_through_botocore(ceph: CephCluster) -> None:
    import botocore.session

    assert os.environ["AWS_ENDPOINT_URL_S3"] == ceph.endpoint
    assert ceph.endpoint.startswith("http://127.0.0.1:") and 0 < ceph.start_seconds < time_limit(60)
    # a client built from the environment alone, as the package's clients are
    client = botocore.session.get_session().create_client("s3")
    client.put_object(Bucket=BUCKET, Key="dir/a.txt", Body=b"hello ceph")
    client.put_object(Bucket=BUCKET, Key="dir/b.bin", Body=os.urandom(3 << 20))
    assert client.get_object(Bucket=BUCKET, Key="dir/a.txt")["Body"].read() == b"hello ceph"
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="dir/")["Contents"]
    assert {(o["Key"], o["Size"]) for o in listed} == {("dir/a.txt", 10), ("dir/b.bin", 3 << 20)}
    bad = botocore.session.get_session().create_client(
        "s3", aws_secret_access_key="wrong", aws_access_key_id=ceph.access_key
    )
    with pytest.raises(bad.exceptions.ClientError, match="SignatureDoesNotMatch"):
        bad.list_objects_v2(Bucket=BUCKET)


def test_put_get_list_through_s3fs(ceph: CephCluster) -> None:
    s3fs = pytest.importorskip("s3fs")
    fs = s3fs.S3FileSystem(skip_instance_cache=True)  # endpoint and keys from env()
    with fs.open(f"{BUCKET}/s3fs/x.txt", "wb") as f:
        f.write(b"through s3fs")
    assert fs.cat(f"{BUCKET}/s3fs/x.txt") == b"through s3fs"
    assert fs.ls(f"{BUCKET}/s3fs", detail=False) == [f"{BUCKET}/s3fs/x.txt"]


def test_stop_ends_its_daemons_frees_ports_and_logs_no_secret(tmp_path, monkeypatch) -> None:
    cluster = CephCluster().start()
    print(f"\nceph cluster started in {cluster.start_seconds:.2f} s")
    client = cluster.client()
    client.create_bucket(Bucket="secrets")
    client.put_object(Bucket="secrets", Key="k", Body=b"v")
    pids = [proc.pid for proc in cluster.procs.values()]
    assert len(pids) == 3 and all(_alive(pid) for pid in pids)
    monkeypatch.setenv("KLO_CEPH_KEEP_LOGS", str(tmp_path / "logs"))
    t0 = time.monotonic()
    cluster.stop()
    print(f"stopped in {time.monotonic() - t0:.2f} s")
    assert time.monotonic() - t0 < time_limit(10)
    assert not any(_alive(pid) for pid in pids)
    assert all(_port_free(port) for port in cluster.ports)
    assert not os.path.exists(cluster.dir)
    logs = sorted((tmp_path / "logs").iterdir())
    assert {"mon.a.log", "osd.0.log", "client.rgw.a.log"} <= {p.name for p in logs}
    for log in logs:
        text = log.read_text(errors="replace")
        assert cluster.secret_key not in text, log.name
    assert all(proc.returncode == 0 for proc in cluster.procs.values())  # no SIGKILL


def test_failed_start_reports_the_logs_and_leaves_nothing(monkeypatch) -> None:
    conf = CephCluster._conf
    monkeypatch.setattr(
        CephCluster,
        "_conf",
        lambda self, *ports: conf(self, *ports) + "keyring = /nonexistent/keyring\n",
    )  # the gateway cannot start
    cluster = CephCluster(timeout=time_limit(20))
    with pytest.raises(RuntimeError) as err:
        cluster.start()
    msg = str(err.value)
    assert "client.rgw.a exited" in msg and "--- client.rgw.a.log ---" in msg, msg
    assert "/nonexistent/keyring" in msg and "--- mon.a.log ---" in msg, msg
    assert not any(_alive(proc.pid) for proc in cluster.procs.values())
    assert not os.path.exists(cluster.dir)


def test_cli_prints_env_and_start_time_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ceph_cluster"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("# started in") or len(lines) > 50:
                break
        env = dict(ln[len("export ") :].split("=", 1) for ln in lines if ln.startswith("export "))
        assert set(env) >= {
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL",
            "S3_ENDPOINT",
            "S3_USE_HTTPS",
            "S3_VERIFY_SSL",
        }, lines
        started = lines[-1].split()
        assert float(started[3]) > 0 and started[4] == "s", lines
        pids = [int(word.split("=")[1].rstrip(");")) for word in started if "=" in word]
        assert len(pids) == 3 and all(_alive(pid) for pid in pids)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=time_limit(30)) == 0
    assert not any(_alive(pid) for pid in pids)
    assert _port_free(int(env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]))
