"""Start N local worker processes on 127.0.0.1, each with its own TF_CONFIG.

* Free ports are picked on 127.0.0.1; worker 0 is the chief.
* Every output line is prefixed with `[worker i]`.
* When a worker exits non-zero or is killed, the others get SIGTERM, then SIGKILL after
  `grace_seconds`; the launcher reports the worker and its last lines. Nothing hangs.
* `max_restarts` relaunches the whole group after a failure (new ports); a `train` run
  with the same --run-dir then resumes from its last backup. A worker that lost a peer
  exits 138 (`PEER_LOST_EXIT`) by itself; the others are given `grace_seconds` to do
  the same before they are stopped.

Example:

    rc = launch(["keras-lstm-opt", "train", "--run-dir", "runs/mw"], workers=2)
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from keras_lstm_opt.distribute.tf_config import build_tf_config
from keras_lstm_opt.errors import PEER_LOST_EXIT, UsageError


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """`n` distinct ports that were free on `host` a moment ago."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def describe_exit(rc: int) -> str:
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    if rc == PEER_LOST_EXIT:
        return f"exit status {rc}: lost a peer"
    return f"exit status {rc}"


@dataclass
class Worker:
    index: int
    proc: subprocess.Popen
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20))
    reader: threading.Thread | None = None
    label: str = ""


def _pump(worker: Worker, out: TextIO, lock: threading.Lock) -> None:
    assert worker.proc.stdout is not None
    for line in worker.proc.stdout:
        line = line.rstrip("\n")
        worker.tail.append(line)
        with lock:
            out.write(f"[{worker.label or f'worker {worker.index}'}] {line}\n")
            out.flush()


def spawn(
    index: int,
    command: list[str],
    env: dict[str, str],
    out: TextIO,
    lock: threading.Lock,
    label: str = "",
) -> Worker:
    """Start one worker in its own process group, its output prefixed and kept."""
    proc = subprocess.Popen(
        command,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        start_new_session=True,
    )
    w = Worker(index, proc, label=label)
    w.reader = threading.Thread(target=_pump, args=(w, out, lock), daemon=True)
    w.reader.start()
    return w


def first_failure(workers: list[Worker]) -> tuple[Worker | None, list[int | None]]:
    """The first worker that exited non-zero (or None), and every worker's status."""
    codes = [w.proc.poll() for w in workers]
    failed = next((w for w, c in zip(workers, codes, strict=True) if c not in (None, 0)), None)
    return failed, codes


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# a coordinated stop, or a survivor of a lost peer: the others exit by themselves
STOPPED_BY_SIGNAL = (128 + signal.SIGINT, 128 + signal.SIGTERM, PEER_LOST_EXIT)


def wait_all(workers: list[Worker], seconds: float) -> None:
    """Wait up to `seconds` for every worker to exit by itself."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(w.proc.poll() is None for w in workers):
        time.sleep(0.05)


def stop_all(workers: list[Worker], grace_seconds: float) -> None:
    """SIGTERM every live worker's process group, then SIGKILL what is left."""
    live = [w for w in workers if w.proc.poll() is None]
    for w in live:
        _signal_group(w.proc, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for w in live:
        try:
            w.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(w.proc, signal.SIGKILL)
            w.proc.wait()
    for w in workers:
        if w.reader is not None:
            w.reader.join(timeout=5)


def run_group(
    command: list[str],
    workers: int,
    host: str = "127.0.0.1",
    grace_seconds: float = 10.0,
    out: TextIO = sys.stdout,
    env: dict[str, str] | None = None,
    shaper: Callable[[list[int]], str] | None = None,
    say: Callable[[str], Any] | None = None,
) -> tuple[int, int | None, list[str]]:
    """Run one attempt; return (status, failed worker or None, its last lines).
    `shaper(ports)` (e.g. `netns.shape_ports`) shapes the links before workers start."""
    ports = free_ports(workers, host)
    addrs = [f"{host}:{p}" for p in ports]
    if shaper is not None:
        applied = shaper(ports)
        if say is not None:
            say(applied)
    lock = threading.Lock()
    group: list[Worker] = []
    base = dict(os.environ if env is None else env)
    try:
        for i in range(workers):
            group.append(
                spawn(i, command, {**base, "TF_CONFIG": build_tf_config(addrs, i)}, out, lock)
            )
        while True:
            failed, codes = first_failure(group)
            if failed is not None:
                if failed.proc.returncode in STOPPED_BY_SIGNAL:  # a coordinated stop: the
                    wait_all(group, grace_seconds)  # others save and exit on their own
                stop_all(group, grace_seconds)
                return failed.proc.returncode, failed.index, list(failed.tail)
            if all(c == 0 for c in codes):
                for w in group:
                    if w.reader is not None:
                        w.reader.join(timeout=5)
                return 0, None, []
            time.sleep(0.1)
    except BaseException:
        stop_all(group, grace_seconds)
        raise


def launch(
    command: list[str],
    workers: int,
    max_restarts: int = 0,
    host: str = "127.0.0.1",
    grace_seconds: float = 10.0,
    out: TextIO = sys.stdout,
    log: Callable[[str], Any] | None = None,
    workers_on_restart: int | None = None,
    shaper: Callable[[list[int]], str] | None = None,
) -> int:
    """Run `command` as `workers` local workers; relaunch up to `max_restarts` times,
    with `workers_on_restart` workers if given (elastic: training resumes from the
    backup on the new worker count, keeping the global batch and the step count).
    `shaper(ports)` shapes each attempt's links (`--link`; see netns.shape_ports).

    Returns 0 when every worker succeeded, else the failed worker's exit status
    (128 + signal number for a killed worker).
    """
    if workers < 1:
        raise UsageError("--workers must be >= 1")
    if not command:
        raise UsageError("no command given after --")
    say = log or (lambda msg: print(f"launch: {msg}", file=sys.stderr, flush=True))
    if host not in ("127.0.0.1", "localhost"):
        say(f"WARNING: workers listen on {host}; gRPC between them is not encrypted")
    if workers_on_restart is not None and workers_on_restart < 1:
        raise UsageError("--workers-on-restart must be >= 1")
    for attempt in range(max_restarts + 1):
        if attempt and workers_on_restart:
            workers = workers_on_restart
        started = time.monotonic()
        say(
            f"starting {workers} worker(s) on {host} (attempt {attempt + 1}/"
            f"{max_restarts + 1}): {' '.join(command)}"
        )
        status, failed, tail = run_group(
            command, workers, host, grace_seconds, out, shaper=shaper, say=say
        )
        if failed is None:
            say(f"all {workers} worker(s) finished in {time.monotonic() - started:.1f} s")
            return 0
        say(
            f"worker {failed} failed ({describe_exit(status)}); stopped the others "
            f"{time.monotonic() - started:.1f} s after start. Its last lines:\n"
            + "\n".join(f"    {line}" for line in tail[-10:])
        )
        if attempt < max_restarts:
            say(f"restarting the group ({attempt + 1} of {max_restarts} restarts)")
    return status if status > 0 else 128 - status
