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
import shutil
import socket
import struct
import subprocess
import sys

ENV = "KLO_NETNS"
OPEN_PORTS = ("TensorFlow's gRPC servers listen on all interfaces (0.0.0.0, no bind option "
              "upstream) with unencrypted traffic; anyone who can reach this host can reach "
              "the workers")


def in_isolated_netns() -> bool:
    return os.environ.get(ENV) == "1"


def isolation_available() -> bool:
    """Whether `unshare -rn` works here (util-linux present, user namespaces enabled)."""
    tool = shutil.which("unshare")
    if not tool or not sys.platform.startswith("linux"):
        return False
    try:
        return subprocess.run([tool, "-rn", "true"], capture_output=True,
                              timeout=10).returncode == 0
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
