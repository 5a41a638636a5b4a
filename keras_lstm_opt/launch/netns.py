"""Keep local multi-worker gRPC off the network: a private network namespace.

TensorFlow's distributed runtime binds its gRPC server to 0.0.0.0 (grpc_server_lib.cc
hard-codes it; there is no bind-address option), so workers started on 127.0.0.1 still
listen on every interface, unencrypted. `tools/launch.py` therefore re-runs itself,
and so every worker, inside a new network namespace (`unshare -rn`: a user namespace
maps the caller to root, so no privileges are needed where user namespaces are
enabled) whose only interface is a loopback: the workers' ports exist only there.
Files, processes and signals are shared as usual; only the network is private, so
remote storage (s3://, hdfs://) is out of reach from inside: pass
`--network host` for those runs (the launcher then warns about the open ports).

Example:

    if wants_isolation and isolation_available() and not in_isolated_netns():
        reexec_isolated(sys.argv)   # does not return
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import struct
import subprocess
import sys

from keras_lstm_opt.errors import UsageError

ENV = "KLO_NETNS"
OPEN_PORTS = (
    "TensorFlow's gRPC servers listen on all interfaces (0.0.0.0, no bind option "
    "upstream) with unencrypted traffic; anyone who can reach this host can reach "
    "the workers"
)


def in_isolated_netns() -> bool:
    return os.environ.get(ENV) == "1"


def isolation_available() -> bool:
    """Whether `unshare -rn` works here (util-linux present, user namespaces enabled)."""
    tool = shutil.which("unshare")
    if not tool or not sys.platform.startswith("linux"):
        return False
    try:
        return (
            subprocess.run([tool, "-rn", "true"], capture_output=True, timeout=10).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def reexec_isolated(argv: list[str]) -> None:
    """Replace this process with `argv` run inside a new network namespace."""
    tool = shutil.which("unshare")
    assert tool, "unshare not found"
    os.environ[ENV] = "1"
    os.execv(tool, [tool, "-rn", sys.executable, *argv])


def loopback_up() -> None:
    """Bring up `lo` (a new network namespace starts with it down)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, siocgifflags, ifr)[:18])[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))


_UNITS = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9}


def parse_rate(text: str) -> int:
    """'100mbit', '1gbit', '10gbit', '500kbit' -> bits per second (tc's units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?bit)\s*", text.lower())
    if not match or float(match.group(1)) <= 0:
        raise UsageError(
            f"--link {text!r}: give a rate as tc writes it, e.g. 100mbit, 1gbit or 10gbit"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def shape_ports(ports: list[int], rate_bps: int) -> str:
    """Give each worker's traffic out of its gRPC port its own link of `rate_bps`.

    One htb class per worker on this namespace's loopback, chosen by source port: in
    TensorFlow's collectives a receiver asks the sender for a buffer (RecvBuf) and the
    tensor comes back in the sender's response, so what a worker sends leaves from its
    server port, as it would leave a host through its own network card. Other traffic
    (requests, the coordination service) stays unshaped. Replaces any earlier shaping
    (each restart of the group has new ports and calls it again). Returns what it applied.
    """
    tool = shutil.which("tc")
    if not tool:
        raise UsageError(
            "--link needs Linux traffic control (`tc`, Debian package "
            "iproute2); install it or run without --link"
        )
    burst = max(2 * 65536, rate_bps // 8 // 500)  # 2 ms at the rate, at least 2 lo packets
    # a restart shapes again: htb cannot be changed in place, so drop what is there first
    subprocess.run([tool, "qdisc", "del", "dev", "lo", "root"], capture_output=True)
    cmds = [
        ["qdisc", "add", "dev", "lo", "root", "handle", "1:", "htb", "default", "99"],
        [
            "class",
            "add",
            "dev",
            "lo",
            "parent",
            "1:",
            "classid",
            "1:99",
            "htb",
            "rate",
            "100gbit",
            "quantum",
            "131072",
        ],
    ]
    for i, port in enumerate(ports):
        cmds += [
            [
                "class",
                "add",
                "dev",
                "lo",
                "parent",
                "1:",
                "classid",
                f"1:{10 + i}",
                "htb",
                "rate",
                f"{rate_bps}bit",
                "ceil",
                f"{rate_bps}bit",
                "burst",
                f"{burst}b",
                "cburst",
                f"{burst}b",
                "quantum",
                "131072",
            ],
            [
                "filter",
                "add",
                "dev",
                "lo",
                "parent",
                "1:",
                "protocol",
                "ip",
                "prio",
                "1",
                "u32",
                "match",
                "ip",
                "sport",
                str(port),
                "0xffff",
                "flowid",
                f"1:{10 + i}",
            ],
        ]
    for cmd in cmds:
        out = subprocess.run([tool, *cmd], capture_output=True, text=True)
        if out.returncode != 0:
            raise UsageError(
                f"--link: `tc {' '.join(cmd)}` failed: "
                f"{out.stderr.strip() or out.returncode} (this kernel may lack "
                "the htb queueing discipline or the u32 filter)"
            )
    return (
        f"each worker's outgoing traffic shaped to {format_rate(rate_bps)} (htb on the "
        f"private loopback, by source port {', '.join(map(str, ports))}; burst {burst} B; "
        "no added latency)"
    )


def format_rate(bps: float) -> str:
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:g} {unit}"
    return f"{bps:g} bit/s"


def shaping_available() -> bool:
    """Whether `--link` can shape here: `tc`, a private namespace, htb and u32 (tried in a
    throwaway namespace)."""
    tool, unshare = shutil.which("tc"), shutil.which("unshare")
    if not (tool and unshare and isolation_available()):
        return False
    script = (
        f"{tool} qdisc add dev lo root handle 1: htb default 99 && {tool} filter add "
        "dev lo parent 1: protocol ip prio 1 u32 match ip sport 1 0xffff flowid 1:10"
    )
    try:
        return (
            subprocess.run(
                [unshare, "-rn", "sh", "-c", script], capture_output=True, timeout=10
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
