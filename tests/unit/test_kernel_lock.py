"""The lock around FastLSTM's kernel build (`models.kernels._build_lock`): one holder at a
time, a waiter that says it waits, and a build that goes on unlocked where flock fails.
Two real builds racing for it: `tests/integration/test_kernels.py` (heavy tier)."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
import time

from keras_lstm_opt.models.kernels import _build_lock

from ..conftest import time_limit


def _try_lock(path: str) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # releases it if taken


def test_the_lock_is_held_inside_and_released_after(tmp_path):
    lock = str(tmp_path / "build.lock")
    with _build_lock(str(tmp_path)):
        assert not _try_lock(lock)
    assert _try_lock(lock)


def test_a_second_builder_says_it_waits_and_enters_after_the_first(tmp_path, caplog):
    entered = threading.Event()

    def second() -> None:
        with _build_lock(str(tmp_path)):
            entered.set()

    with caplog.at_level(logging.INFO, logger="keras_lstm_opt"):
        with _build_lock(str(tmp_path)):
            waiter = threading.Thread(target=second)
            waiter.start()
            deadline = time.monotonic() + time_limit(2)
            while time.monotonic() < deadline:  # until it logs that it waits
                if "waiting for another process's build" in caplog.text:
                    break
                entered.wait(0.01)
            assert "waiting for another process's build" in caplog.text
            assert not entered.is_set()
        waiter.join(timeout=10)
    assert entered.is_set()


def test_where_flock_fails_the_build_goes_on_unlocked(tmp_path, monkeypatch):
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    reached = []
    with _build_lock(str(tmp_path)):
        reached.append("built")
    assert reached == ["built"]


def test_a_lock_file_it_cannot_open_does_not_stop_the_build(tmp_path, monkeypatch):
    real_open = os.open

    def refused(path: str, *args: int) -> int:  # another user's lock file, say
        if os.path.basename(path) == "build.lock":
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, *args)

    monkeypatch.setattr(os, "open", refused)
    reached = []
    with _build_lock(str(tmp_path)):
        reached.append("built")
    assert reached == ["built"]
