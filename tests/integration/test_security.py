"""Servers and inputs: where our servers listen, and that YAML cannot run code.

TensorFlow's own gRPC servers (distributed workers, tf.data service) bind 0.0.0.0 with
no option for an address; the launcher therefore runs workers in a private network
namespace whose only interface is loopback. KerasTuner's oracle binds the address we
give it (127.0.0.1)."""

from __future__ import annotations

import os
import sys

import pytest

from ..conftest import REPO, time_limit

LAUNCH = [sys.executable, os.path.join(REPO, "tools", "launch.py")]

# Prints this process's network namespace, its interfaces and its listening TCP sockets.
LISTENERS = r"""
import os, socket, struct, time
def listening():
    mine = {os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")}
    out = []
    for name in ("tcp", "tcp6"):
        for line in open(f"/proc/self/net/{name}").read().splitlines()[1:]:
            f = line.split()
            if f[3] != "0A" or f"socket:[{f[9]}]" not in mine:
                continue
            hexip, hexport = f[1].split(":")
            raw = bytes.fromhex(hexip)
            if len(raw) == 4:
                ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                ip = socket.inet_ntop(socket.AF_INET6, b"".join(
                    raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            out.append(f"{ip.removeprefix('::ffff:')}:{int(hexport, 16)}")  # v4-mapped
    return sorted(out)
def wait_listening(seconds=60):  # a server started in the background: until it listens
    end = time.monotonic() + seconds * float(os.environ.get("KLO_TEST_TIME_SCALE", "1"))
    while not listening() and time.monotonic() < end:  # (tests/conftest.py: time_limit)
        time.sleep(0.02)
def report():
    ifaces = [l.split(":")[0].strip() for l in open("/proc/self/net/dev").read().splitlines()[2:]]
    print("NETNS", os.readlink("/proc/self/ns/net"), "IFACES", ",".join(ifaces),
          "LISTEN", ",".join(listening()), flush=True)
"""

TF_WORKER = (
    LISTENERS
    + r"""
import json
import tensorflow as tf
c = json.loads(os.environ["TF_CONFIG"])
server = tf.distribute.Server(tf.train.ClusterSpec(c["cluster"]), job_name="worker",
                              task_index=c["task"]["index"], start=True)
wait_listening()
report()
os._exit(0)
"""
)


def _launch(*args, timeout=300):
    import subprocess

    return subprocess.run(
        [*LAUNCH, *args], capture_output=True, text=True, timeout=time_limit(timeout)
    )


def _reports(stdout: str) -> list[dict[str, str]]:
    out = []
    for line in stdout.splitlines():
        if "NETNS" in line:
            f = line.split("NETNS", 1)[1].split()
            out.append({"netns": f[0], "ifaces": f[2], "listen": f[4] if len(f) > 4 else ""})
    return out


def test_launcher_workers_listen_only_inside_a_private_loopback_network():
    from keras_lstm_opt.launch.netns import isolation_available

    if not isolation_available():
        pytest.skip("unshare -rn does not work here: the launcher warns instead")
    out = _launch("--workers", "2", "--", sys.executable, "-c", TF_WORKER)
    assert out.returncode == 0, out.stderr[-2000:]
    reports = _reports(out.stdout)
    print(reports)
    assert len(reports) == 2
    host_netns = os.readlink("/proc/self/ns/net")
    for r in reports:
        assert r["netns"] != host_netns and r["ifaces"] == "lo"  # reachable only via lo
        assert r["listen"]  # TensorFlow's gRPC server is up (bound to 0.0.0.0 in there)
    assert len({r["netns"] for r in reports}) == 1  # both workers share it
    assert "listen on all interfaces" not in out.stderr


def test_launcher_with_host_network_warns_about_open_ports():
    out = _launch(
        "--workers", "1", "--network", "host", "--", sys.executable, "-c", LISTENERS + "report()"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "listen on all interfaces" in out.stderr and "unencrypted" in out.stderr
    assert _reports(out.stdout)[0]["netns"] == os.readlink("/proc/self/ns/net")


def test_tuner_oracle_listens_on_loopback():
    from keras_lstm_opt.tuning.launch import launch_tuners

    code = (
        LISTENERS
        + r"""
import threading
if os.environ["KERASTUNER_TUNER_ID"] != "chief":
    os._exit(0)
import keras_tuner
from keras_tuner.src.distribute import oracle_chief
oracle = keras_tuner.oracles.RandomSearchOracle(
    objective="val_loss", max_trials=1,
    hyperparameters=keras_tuner.HyperParameters())
threading.Thread(target=oracle_chief.start_server, args=(oracle,), daemon=True).start()
wait_listening()
report()
os._exit(0)
"""
    )
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = launch_tuners([sys.executable, "-c", code], 1, grace_seconds=2, out=buf)
    assert rc == 0, buf.getvalue()[-2000:]
    listen = _reports(buf.getvalue())[0]["listen"].split(",")
    assert listen and all(a.startswith("127.0.0.1:") for a in listen), listen


def test_yaml_cannot_run_code(tmp_path):
    from keras_lstm_opt.config import ConfigError, load_config

    marker = tmp_path / "ran"
    bad = tmp_path / "evil.yaml"
    bad.write_text(f"model: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="evil.yaml"):
        load_config(str(bad))
    assert not marker.exists()
