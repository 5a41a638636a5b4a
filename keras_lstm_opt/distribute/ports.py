"""Ports of a cluster: is ours free, who listens on it, does a peer answer.

* `port_in_use`: binds as servers do (SO_REUSEADDR, on the wildcard address TensorFlow's
  gRPC server binds), so a previous run's TIME_WAIT connections do not count and only a
  socket bound or listening there does; a fixed-port rerun (Slurm's and TFJob's 2222)
  starts at once.
* `listener_of`: the process listening on a port (from /proc, where it is ours to see),
  so the message names it.
* `probe`: None when something accepts connections at host:port, else why not
  ("connection refused", "name does not resolve", "no answer in 1 s").

Example:

    if port_in_use("127.0.0.1", 2222):
        print(listener_of(2222))     # "process 4242 (keras-lstm-opt train ...)"
    probe("worker-1.svc", 2222)      # None, or "connection refused"
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket

_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp{,6}


def _bind_address(host: str) -> tuple[int, str]:
    """The family and address TensorFlow's server binds for `host`: the wildcard."""
    return (socket.AF_INET6, "::") if ":" in host else (socket.AF_INET, "0.0.0.0")


def port_in_use(host: str, port: int) -> bool:
    """True when a server could not bind `port` (a socket is bound or listening there);
    connections lingering in TIME_WAIT from an earlier run do not count.

    Args:
        host: the address from TF_CONFIG (selects IPv4 or IPv6).
        port: the port to check.
    """
    family, addr = _bind_address(host)
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name, encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) > 9 and f[3] == _LISTEN and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    return inodes


def listener_of(port: int) -> str:
    """Who listens on `port` here: "process PID (COMMAND)", or a plainer description
    when the socket's owner is not visible to this user.

    Args:
        port: the local port.
    """
    inodes = _listening_inodes(port)
    if not inodes:
        return "a socket is bound to it (not listening)"
    wanted = {f"socket:[{i}]" for i in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in wanted for fd in fds):
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    words = fh.read().split(b"\0")
                cmd = " ".join(
                    os.path.basename(w.decode(errors="replace"))
                    if i == 0
                    else w.decode(errors="replace")
                    for i, w in enumerate(words)
                    if w
                )
                return f"process {pid} ({cmd[:80]}) listens on it"
    return "a process of another user listens on it"


def probe(host: str, port: int, timeout: float = 1.0) -> str | None:
    """None when something accepts a TCP connection at `host:port`, else the reason.

    Args:
        host: a name or address.
        port: the port.
        timeout: seconds to wait for the connection.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return "name does not resolve"
    except ConnectionRefusedError:
        return "connection refused"
    except TimeoutError:
        return f"no answer in {timeout:g} s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
