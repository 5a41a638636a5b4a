"""One writer per run directory: an exclusive lock taken before anything is written.

Two processes training into one run directory interleave their epochs in history.csv
and overwrite each other's model and backups. `hold(run_dir)` takes the directory's
lock for the life of the process (or until `release`); a second writer gets
`RunDirBusyError` (exit status 2) naming the owner: "run directory R is being trained by
PID P on HOST since T".

* Local directories: `fcntl.flock(LOCK_EX | LOCK_NB)` on `R/.lock`, which holds the
  owner's record (PID, host, start time, command) as JSON. The kernel frees the lock when
  its process dies, however it dies, so a lock left by a killed process is simply taken
  (with a log line naming it). Released at the end, the file is removed (and the run
  directory too, when the lock created it and nothing else was written). On a file
  system without file locks (flock fails with EOPNOTSUPP, ENOLCK or ENOSYS: some FUSE
  and NFS mounts) the file is still written, which checks that R is writable, and
  training goes on unlocked after one warning.
* s3:// (through s3fs): a lock object `R/.lock.json` with the owner's record and a
  heartbeat, rewritten every `interval` seconds by a daemon thread. It is created with a
  conditional PUT (`If-None-Match: *`) and replaced (taken over, refreshed) with
  `If-Match: <ETag>`, so of two racing writers exactly one wins where the server honours
  the conditions (AWS S3 since 2024, Ceph RGW); every write is also read back and
  compared, which catches a race on a server that ignores them. The heartbeat's age is
  measured on the server's clock (LastModified against the response's Date), so clock
  skew between machines does not matter. A lock is taken over when its heartbeat is
  older than `stale_seconds` (default 60, `KLO_RUN_LOCK_STALE_SECONDS`), or at once when
  its owner ran on this same machine (host, boot and PID namespace) and its process is
  gone. Removed at release.
* Other remote file systems (hdfs://, gs://, s3:// through TensorFlow): the same object
  written through `fs`, without conditions: write, read back, compare.

Re-entrant within a process: `train` takes the lock, then the Trainer it runs takes it
again (a count, keyed by the resolved directory). Taking the lock is also the check that
the run directory can be written: "cannot write run directory R: <reason>" (exit 2).

Importing this module does not import TensorFlow (the CLI locks before loading it).

Example:

    lock = hold("runs/a")          # RunDirBusyError if another process trains there
    try:
        ...                        # write into runs/a
    finally:
        lock.release()
    owner("runs/a")                # None, or the live Owner of another process's lock
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from typing import Any

from keras_lstm_opt.errors import RunDirBusyError
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.training.run_lock_owner import (  # noqa: F401 (also this module's API)
    DEFAULT_STALE_SECONDS,
    LOCAL_FILE,
    NO_FLOCK,
    REMOTE_FILE,
    STALE_ENV,
    Owner,
    busy_message,
    cannot_write,
    gone_here,
    machine_id,
    new_record,
    parse_record,
    process_started,
    stale_seconds,
)

log = logging.getLogger("keras_lstm_opt")


def _makedirs(path: str) -> list[str]:
    """Create `path` and its parents; return the directories created, outermost first.

    Raises:
        NotADirectoryError: a file is in the way (its path in `filename`).
    """
    missing, p = [], path
    while not os.path.isdir(p):
        if os.path.lexists(p):
            raise NotADirectoryError(
                20, "it is a file, not a directory" if p == path else "a file is in the way", p
            )
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for d in reversed(missing):
        os.mkdir(d)
    return list(reversed(missing))


class LocalLock:
    """`flock` on `R/.lock`: held while its file descriptor is open (the process lives)."""

    def __init__(self, key: str, run_dir: str, record: dict[str, Any]) -> None:
        self.dir, self.run_dir, self.record = key, run_dir, record
        self.path = os.path.join(key, LOCAL_FILE)
        self.fd, self.created = -1, list[str]()
        self.unlocked = False  # a file system without flock: the file, but no lock
        self.lost: str | None = None  # never: the kernel holds it while the process lives

    def acquire(self) -> None:
        try:
            self.created = _makedirs(self.dir)
            previous = self._lock()
        except RunDirBusyError:
            self._remove_created()
            raise
        except OSError as exc:
            self._remove_created()
            raise cannot_write(self.run_dir, exc, self.dir, self.path) from None
        if previous:
            log.warning(
                "%s: took over the lock of PID %s on %s, which is gone",
                self.run_dir,
                previous.get("pid"),
                previous.get("host"),
            )

    def _lock(self) -> dict[str, Any] | None:
        deadline = time.monotonic() + 0.3  # a reader's shared lock lasts microseconds
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                who = local_owner(self.path) or Owner(None, "?", "?")
                raise RunDirBusyError(
                    busy_message(self.run_dir, who), who.pid, who.host, who.since
                ) from None
            except OSError as exc:
                if exc.errno not in NO_FLOCK:
                    os.close(fd)
                    raise
                log.warning(
                    "%s: this file system has no file locks; two processes could "
                    "write this run directory",
                    self.run_dir,
                )
                self.unlocked = True  # the file is still written: R is writable
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # its releasing owner removed that file meanwhile: lock the new one
        self.fd = fd
        try:
            previous = None if self.unlocked else parse_record(os.pread(fd, 1 << 16, 0))
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(self.record).encode("utf-8"), 0)
        except BaseException:
            self.release()
            raise
        return previous

    def release(self) -> None:
        if self.fd < 0:
            return
        try:
            os.remove(self.path)  # before closing: a waiter then sees another file
        except OSError:
            pass
        os.close(self.fd)
        self.fd = -1
        self._remove_created()

    def _remove_created(self) -> None:
        """The directories the lock created, while they are empty (nothing was written)."""
        for d in reversed(self.created):
            try:
                os.rmdir(d)
            except OSError:
                break
        self.created = []


def local_owner(path: str) -> Owner | None:
    """The owner recorded in a local lock file, when a live process holds its lock."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        for _ in range(25):
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                record = parse_record(os.pread(fd, 1 << 16, 0))
                if record:
                    return Owner.of(record)
                time.sleep(0.02)  # taken this instant: its record comes next
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return Owner(None, "?", "?")
    finally:
        os.close(fd)


class RunLock:
    """A hold on a run directory's lock; `release` once (more calls do nothing)."""

    def __init__(self, key: str, run_dir: str) -> None:
        self.key, self.run_dir, self.released = key, run_dir, False

    def release(self) -> None:
        if not self.released:
            self.released = True
            _drop(self.key)

    def lost(self) -> str | None:
        """Why this process no longer holds the lock, None while it does: another process
        took a remote lock over after this one's heartbeat stalled (`RemoteLock.lost`).
        The training loop reads it every step and stops (`StopSignals.lost`)."""
        held = _HELD.get(self.key)
        if self.released or held is None or held[2] != os.getpid():
            return None
        reason = getattr(held[0], "lost", None)
        return reason if isinstance(reason, str) else None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


_HELD: dict[str, tuple[Any, int, int]] = {}  # key -> (lock, count, pid)
_GUARD = threading.Lock()


def _key(run_dir: str) -> str:
    if is_remote(run_dir):
        return run_dir.rstrip("/")
    return os.path.realpath(os.path.expanduser(run_dir))


def hold(run_dir: str, stale: float | None = None) -> RunLock:
    """Take `run_dir`'s lock (again, if this process holds it already).

    Args:
        run_dir: the run directory (local, created if missing, or remote).
        stale: seconds without a heartbeat after which a remote lock is taken over
            (default `stale_seconds()`).

    Raises:
        RunDirBusyError: another live process holds it (exit status 2).
        UnwritablePathError: the directory cannot be created or written (exit status 2).
    """
    key = _key(run_dir)
    with _GUARD:
        held = _HELD.get(key)
        if held is not None and held[2] == os.getpid():
            _HELD[key] = (held[0], held[1] + 1, held[2])
            return RunLock(key, run_dir)
        if is_remote(run_dir):
            from keras_lstm_opt.training.run_lock_remote import RemoteLock

            lock: Any = RemoteLock(run_dir, new_record(), stale or stale_seconds())
        else:
            lock = LocalLock(key, run_dir, new_record())
        lock.acquire()
        _HELD[key] = (lock, 1, os.getpid())
    return RunLock(key, run_dir)


def _drop(key: str) -> None:
    with _GUARD:
        held = _HELD.get(key)
        if held is None or held[2] != os.getpid():
            return
        if held[1] > 1:
            _HELD[key] = (held[0], held[1] - 1, held[2])
            return
        del _HELD[key]
    held[0].release()


def holds(run_dir: str) -> bool:
    """Whether this process holds `run_dir`'s lock."""
    held = _HELD.get(_key(run_dir))
    return held is not None and held[2] == os.getpid()


def owner(run_dir: str) -> Owner | None:
    """The live owner of `run_dir`'s lock (this process included), None when it is free;
    the lock is only looked at, not taken."""
    try:
        if is_remote(run_dir):
            from keras_lstm_opt.training.run_lock_remote import remote_owner

            return remote_owner(_key(run_dir), stale_seconds())
        return local_owner(os.path.join(_key(run_dir), LOCAL_FILE))
    except OSError as exc:  # cannot look: say nothing rather than fail the caller
        log.debug("could not read the lock of %s: %s", run_dir, exc)
        return None


def check_free(run_dir: str) -> None:
    """RunDirBusyError when another process holds `run_dir`'s lock (nothing is taken)."""
    who = None if holds(run_dir) else owner(run_dir)
    if who is not None:
        raise RunDirBusyError(busy_message(run_dir, who), who.pid, who.host, who.since)


__all__ = [
    "Owner",
    "RunLock",
    "busy_message",
    "check_free",
    "hold",
    "holds",
    "owner",
    "stale_seconds",
]
