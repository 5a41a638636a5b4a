"""Who holds a run directory's lock: the owner's record, its parsing, and the messages.

Shared by the local lock (`run_lock`) and the lock object on remote storage
(`run_lock_remote`), which import it and not each other's internals; importing it does
not import TensorFlow.

Example:

    who = Owner.from_record(parse_record(data), fallback="s3://b/runs/a")
    busy_message("s3://b/runs/a", who)  # "run directory ... is being trained by PID ..."
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import socket
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from keras_lstm_opt.errors import UnwritablePathError

LOCAL_FILE, REMOTE_FILE = ".lock", ".lock.json"
STALE_ENV = "KLO_RUN_LOCK_STALE_SECONDS"
DEFAULT_STALE_SECONDS = 60.0
# flock's errors on a file system without file locks (some FUSE, NFS without lockd, 9p):
# the run directory is used unlocked, with a warning
NO_FLOCK = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOLCK, errno.ENOSYS})


@dataclass(frozen=True)
class Owner:
    """Who holds a run directory's lock: `since` is the owner's start (ISO 8601);
    `heartbeat_age` the seconds since its last heartbeat (remote locks only)."""

    pid: int | None
    host: str
    since: str
    command: str = ""
    heartbeat_age: float | None = None

    @classmethod
    def of(cls, record: dict[str, Any], age: float | None = None) -> Owner:
        pid = record.get("pid")
        return cls(
            pid if isinstance(pid, int) else None,
            str(record.get("host", "?")),
            str(record.get("started", "?")),
            str(record.get("command", "")),
            age,
        )


def stale_seconds() -> float:
    """A remote lock's heartbeat older than this is taken over (`KLO_RUN_LOCK_STALE_SECONDS`)."""
    try:
        return max(float(os.environ.get(STALE_ENV, DEFAULT_STALE_SECONDS)), 0.5)
    except ValueError:
        return DEFAULT_STALE_SECONDS


def busy_message(run_dir: str, who: Owner) -> str:
    """ "run directory R is being trained by PID P on HOST since T", and what to do."""
    beat = (
        f" (last heartbeat {who.heartbeat_age:.0f} s ago)" if who.heartbeat_age is not None else ""
    )
    return (
        f"run directory {run_dir} is being trained by PID {who.pid} on {who.host} since "
        f"{who.since}{beat}; wait for it to finish or stop it, or choose another run "
        "directory"
    )


def machine_id() -> str:
    """This machine as a PID's context: boot and PID namespace ('' when unknown)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return ""


def process_started(pid: int) -> str:
    """The process's start (clock ticks after boot), '' when it is not running here."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
        return stat[stat.rindex(")") + 2 :].split()[19]
    except (OSError, ValueError, IndexError):
        return ""


def gone_here(record: dict[str, Any]) -> bool:
    """The owner ran on this machine (same host, boot and PID namespace) and has exited."""
    pid, machine = record.get("pid"), machine_id()
    if (
        not isinstance(pid, int)
        or not machine
        or record.get("host") != socket.gethostname()
        or record.get("machine") != machine
    ):
        return False
    return process_started(pid) != record.get("pid_started")


def new_record() -> dict[str, Any]:
    now = datetime.datetime.now().astimezone()
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": now.isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]])[:500]
        if sys.argv and sys.argv[0]
        else "python",
        "machine": machine_id(),
        "pid_started": process_started(os.getpid()),
        "token": uuid.uuid4().hex,
    }


def cannot_write(
    run_dir: str, exc: BaseException, *same: str, reason: str | None = None
) -> UnwritablePathError:
    """ "cannot write run directory R: <reason>"; the path at fault is named when it is
    not R itself (or one of `same`: R resolved, its lock file)."""
    if reason:
        pass
    elif isinstance(exc, OSError) and exc.strerror:
        at = str(exc.filename or "").rstrip("/")
        reason = (
            exc.strerror if exc.errno != errno.ENOENT else "no directory can be created there"
        )  # /proc and the like
        if at and at not in {p.rstrip("/") for p in (run_dir, *same)}:
            reason = f"{reason} ({at})"
    else:
        reason = str(exc) or type(exc).__name__
    return UnwritablePathError(f"cannot write run directory {run_dir}: {reason}")


def parse_record(data: bytes) -> dict[str, Any] | None:
    """A lock's owner record, None when `data` is not one (empty, torn)."""
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) and "pid" in record else None
