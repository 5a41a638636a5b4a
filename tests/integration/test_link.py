"""`launch --link RATE`: each worker's outgoing traffic shaped with Linux traffic control
inside the launcher's private network namespace (plain Python workers: fast)."""

import os
import re
import subprocess
import sys

import pytest

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.launch.netns import parse_rate, shaping_available

from ..conftest import REPO, time_limit

LAUNCH = [sys.executable, os.path.join(REPO, "tools", "launch.py")]
# Worker 0 serves 6 MiB from its own TF_CONFIG port (as a TensorFlow worker answers a
# RecvBuf); worker 1 reads them and prints the rate it got.
SERVE_AND_READ = r"""
import json, os, socket, time
c = json.loads(os.environ["TF_CONFIG"]); i = c["task"]["index"]
host, port = c["cluster"]["worker"][0].rsplit(":", 1)
if i == 0:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port))); s.listen(); conn, _ = s.accept()
    conn.sendall(b"x" * (6 << 20)); conn.close()
else:
    for _ in range(100):
        try:
            conn = socket.create_connection((host, int(port))); break
        except OSError:
            time.sleep(0.05)
    began, got = time.monotonic(), 0
    while chunk := conn.recv(1 << 20):
        got += len(chunk)
    print("MBITS", round(got * 8 / (time.monotonic() - began) / 1e6, 1), flush=True)
"""


def _mbits(*link: str) -> tuple[float, str]:
    out = subprocess.run(
        [*LAUNCH, "--workers", "2", *link, "--", sys.executable, "-c", SERVE_AND_READ],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 0, out.stderr
    return float(re.search(r"MBITS ([\d.]+)", out.stdout).group(1)), out.stderr


@pytest.mark.skipif(
    not shaping_available(), reason="needs `tc` (iproute2), unprivileged network namespaces and htb"
)
def test_link_shapes_what_a_worker_sends_and_says_so():
    shaped, log = _mbits("--link", "100mbit")
    unshaped, _ = _mbits()
    print({"shaped_mbit_s": shaped, "unshaped_mbit_s": unshaped})
    assert 70 <= shaped <= 110, shaped  # 103 seen: the burst goes at once
    assert unshaped > 5 * shaped
    assert "shaped to 100 Mbit/s" in log


def test_link_rates_parse_as_tc_writes_them_and_bad_ones_name_the_flag():
    assert parse_rate("100mbit") == 10**8 and parse_rate("1gbit") == 10**9
    assert parse_rate("2.5gbit") == 25 * 10**8 and parse_rate("500kbit") == 5 * 10**5
    for bad in ("fast", "100mb", "0gbit", "-1gbit"):
        with pytest.raises(UsageError, match="--link"):
            parse_rate(bad)
    out = subprocess.run(
        [*LAUNCH, "--workers", "2", "--link", "1gbit", "--network", "host", "--", "true"],
        capture_output=True,
        text=True,
        timeout=time_limit(60),
    )
    assert out.returncode == 2 and "--network host" in out.stderr


@pytest.mark.skipif(
    not shaping_available(), reason="needs `tc` (iproute2), unprivileged network namespaces and htb"
)
def test_link_shapes_each_restart_of_the_group_again(tmp_path):
    """A restart has new ports, so the launcher shapes again (htb has no in-place change:
    a second `qdisc replace` failed)."""
    marker = tmp_path / "failed-once"
    code = (
        f"import os, sys\nif not os.path.exists({str(marker)!r}):\n"
        f"    open({str(marker)!r}, 'w').close(); sys.exit(3)\n"
    )
    out = subprocess.run(
        [
            *LAUNCH,
            "--workers",
            "2",
            "--link",
            "1gbit",
            "--max-restarts",
            "1",
            "--",
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("shaped to 1 Gbit/s") == 2 and "restarting the group" in out.stderr
