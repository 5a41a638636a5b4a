"""Cluster formation with a deadline, progress, and prompt stops on SIGINT/SIGTERM.

`tf.distribute.MultiWorkerMirroredStrategy()` blocks until every task of TF_CONFIG has
joined (`CoordinationServiceAgent::WaitForAllTasks`, inside `TFE_EnableCollectiveOps`),
holding Python's GIL and with TensorFlow's own SIGTERM handler installed: a worker whose
peer never comes (a pending pod) prints nothing, no Python thread runs, SIGTERM is only
logged by TensorFlow and SIGINT waits for the call to return, so only SIGKILL ends it.

So `form_cluster` first waits in Python, where signals and a deadline work: it listens on
its own TF_CONFIG port (accepting and closing connections; a rendezvous, before
TensorFlow's server takes the port over) and probes every peer's address until each
accepts a connection (its rendezvous or its TensorFlow server), logging the tasks still
missing every `interval` seconds. Only then does it call TensorFlow, which completes
within a moment once everyone is there. SIGINT/SIGTERM while waiting raise
`TrainingInterrupted` (128 + signal, nothing trained or saved); the deadline
(`distribute.startup_timeout_seconds`) raises `ClusterStartupError` naming the missing
tasks. A peer that vanishes in the moment between the rendezvous and TensorFlow's own
formation cannot be noticed by Python: SIGALRM (default action: the process ends, exit
status 142) bounds that wait at the remaining deadline, at least 60 s.

After formation, SIGINT and SIGTERM get back the handlers they had before (TensorFlow's
SIGTERM handler would otherwise swallow a SIGTERM until training installs its own).

Example:

    strategy = form_cluster(cluster, tf.distribute.MultiWorkerMirroredStrategy, 300)
"""

from __future__ import annotations

import logging
import math
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from keras_lstm_opt.distribute.ports import listener_of, probe
from keras_lstm_opt.distribute.tf_config import ClusterInfo
from keras_lstm_opt.errors import ClusterStartupError, TFConfigError, TrainingInterrupted

log = logging.getLogger("keras_lstm_opt")
T = TypeVar("T")
TICK = 0.25  # seconds between probes of the missing peers


class _Signalled(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise(signum: int, frame: Any) -> None:
    raise _Signalled(signum)


def task_name(job: str, index: int, addr: str) -> str:
    """ "worker 1 at host:port"."""
    return f"{job} {index} at {addr}"


def peers_of(cluster: ClusterInfo) -> list[tuple[str, str, int]]:
    """(name, host, port) of every task but this one."""
    out = []
    for job, addrs in cluster.cluster.items():
        for i, addr in enumerate(addrs):
            if (job, i) != (cluster.task_type, cluster.task_index):
                host, _, port = addr.rpartition(":")
                out.append((task_name(job, i, addr), host.strip("[]"), int(port)))
    return out


def _listen(cluster: ClusterInfo) -> socket.socket:
    """The rendezvous listener on this task's own port (the wildcard address, as
    TensorFlow's server binds it)."""
    host, _, port = cluster.address.rpartition(":")
    family, addr = (
        (socket.AF_INET6, "::") if ":" in host.strip("[]") else (socket.AF_INET, "0.0.0.0")
    )
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((addr, int(port)))
    except OSError:
        sock.close()
        raise TFConfigError(
            f"TF_CONFIG task {cluster.task_type} {cluster.task_index}: port "
            f"{port} is already in use: {listener_of(int(port))}; stop it or "
            "pick a free port"
        ) from None
    sock.listen(64)
    sock.setblocking(False)
    return sock


def _drain(sock: socket.socket) -> None:
    """Accept and close the peers' probes (a full backlog would look like no answer)."""
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:  # BlockingIOError: none waiting
            return
        conn.close()


def _missing(peers: list[tuple[str, str, int]]) -> dict[str, str]:
    """{task name: why it does not answer} for the peers that do not."""
    out = {}
    for name, host, port in peers:
        why = probe(host, port, timeout=1.0)
        if why:
            out[name] = why
    return out


def _listed(missing: dict[str, str]) -> str:
    return ", ".join(f"{name} ({why})" for name, why in missing.items())


def _wait_for_peers(
    cluster: ClusterInfo, timeout: float, interval: float, began: float, state: dict[str, Any]
) -> None:
    peers = peers_of(cluster)
    me = f"{cluster.task_type} {cluster.task_index}"
    limit = f"{timeout:g} s (distribute.startup_timeout_seconds)" if timeout else "no limit"
    sock = _listen(cluster)
    try:
        logged = 0.0
        while True:
            _drain(sock)
            missing = state["missing"] = _missing(peers)
            waited = time.monotonic() - began
            if not missing:
                if logged:
                    log.info(
                        "%s: all %d peer(s) answered after %.0f s; forming the cluster",
                        me,
                        len(peers),
                        waited,
                    )
                return
            if timeout and waited >= timeout:
                raise ClusterStartupError(
                    f"the cluster did not form within {timeout:g} s "
                    f"(distribute.startup_timeout_seconds): {me} waited for "
                    f"{_listed(missing)}. Start every worker with the same TF_CONFIG cluster "
                    "and its own task index, check that those addresses reach them from "
                    "here, or raise distribute.startup_timeout_seconds",
                    task=", ".join(missing),
                )
            if not logged or waited - logged >= interval:  # the first line: INFO
                log.log(
                    logging.WARNING if logged else logging.INFO,
                    "%s is waiting for %d of %d peer(s) to start: %s; %.0f s of %s",
                    me,
                    len(missing),
                    len(peers),
                    _listed(missing),
                    waited,
                    limit,
                )
                logged = max(waited, 1e-9)
            time.sleep(TICK)
    finally:
        sock.close()


def form_cluster(
    cluster: ClusterInfo, make: Callable[[], T], timeout: float, interval: float = 10.0
) -> T:
    """Wait (interruptibly, at most `timeout` s; 0 = no limit) until every peer of
    `cluster` answers, then call `make` (which creates the strategy) and return its
    result.

    Args:
        cluster: this task's validated TF_CONFIG.
        make: creates the multi-worker strategy (TensorFlow's blocking formation).
        timeout: the deadline for the whole formation, in seconds; 0 = none.
        interval: seconds between the progress lines.

    Raises:
        TrainingInterrupted: SIGINT/SIGTERM while waiting (nothing trained or saved).
        ClusterStartupError: a peer did not answer within `timeout`.
        TFConfigError: this task's own port is taken.
    """
    began = time.monotonic()
    state: dict[str, Any] = {"missing": {}}
    if threading.current_thread() is not threading.main_thread():
        _wait_for_peers(cluster, timeout, interval, began, state)  # no signals off main
        return make()
    old = {sig: signal.signal(sig, _raise) for sig in (signal.SIGINT, signal.SIGTERM)}
    waiting = "its peers to start"
    try:
        _wait_for_peers(cluster, timeout, interval, began, state)
        waiting = "TensorFlow to form the cluster"
        if not timeout:
            return make()
        # a backstop while TensorFlow's own wait holds the GIL: SIGALRM's default action
        # ends the process (status 142); an alarm someone else had set is re-armed after
        left = timeout - (time.monotonic() - began)
        alarm = signal.signal(signal.SIGALRM, signal.SIG_DFL)
        armed_at, previous = time.monotonic(), signal.alarm(max(60, math.ceil(left)))
        try:
            return make()
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, alarm)
            if previous:
                signal.alarm(max(1, previous - math.floor(time.monotonic() - armed_at)))
    except _Signalled as sig:
        name = signal.Signals(sig.signum).name
        me = f"{cluster.task_type} {cluster.task_index}"
        if state["missing"] and waiting.startswith("its peers"):
            waiting = _listed(state["missing"])
        raise TrainingInterrupted(
            f"stopped by {name} after {time.monotonic() - began:.0f} s of cluster formation, "
            f"while {me} "
            f"was waiting for {waiting}: nothing was trained or saved",
            sig.signum,
            reason=f"stopped by {name} during cluster formation",
            saved=False,
        ) from None
    finally:
        for signum, handler in old.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
