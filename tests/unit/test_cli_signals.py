"""stop_on_signals (cli.stop_handler): `Stopped` on the first signal; a stop that C code
catches and reports as unraisable (TensorFlow's "SystemError: ... returned a result with
an exception set") is not printed, and the error that follows it ends the block as a stop;
other unraisable errors still reach the hook that was there."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import types

import pytest

from keras_lstm_opt.cli.signals import Stopped, stop_on_signals


def _sigint(after: float = 0.05) -> None:
    """SIGINT to this process from another thread (the main thread is busy)."""
    threading.Timer(after, os.kill, (os.getpid(), signal.SIGINT)).start()


def _c_code_that_catches() -> None:
    """As TensorFlow's C code does: catch what a callback raised, report it with
    PyErr_WriteUnraisable (sys.unraisablehook), then fail with it as the cause."""
    end = time.monotonic() + 5
    try:
        while time.monotonic() < end:  # the signal is raised here
            pass
    except Stopped as stop:
        error = SystemError("<built-in function __import__> returned a result with an exception")
        error.__cause__ = stop
        sys.unraisablehook(
            types.SimpleNamespace(exc_type=SystemError, exc_value=error, exc_traceback=None)
        )
        raise error from stop


def test_a_stop_that_c_code_reports_as_unraisable_is_not_printed_and_still_stops(monkeypatch):
    printed: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: printed.append(info.exc_value))
    with pytest.raises(Stopped) as stop, stop_on_signals():
        _sigint()
        _c_code_that_catches()
    assert stop.value.signum == signal.SIGINT
    assert isinstance(stop.value.__cause__, SystemError)
    assert printed == []  # the hook that prints never saw it


def test_other_unraisable_errors_reach_the_hook_that_was_there(monkeypatch):
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(info.exc_value))
    error = ValueError("not ours")
    with stop_on_signals():
        sys.unraisablehook(types.SimpleNamespace(exc_value=error))
    with pytest.raises(Stopped), stop_on_signals():
        _sigint()
        time.sleep(5)
    with stop_on_signals():  # after a stop too: only what the stop caused is hidden
        sys.unraisablehook(types.SimpleNamespace(exc_value=error))
    assert seen == [error, error]


def test_the_handlers_and_hook_that_were_there_are_back():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    hook = sys.unraisablehook
    with pytest.raises(Stopped), stop_on_signals():
        _sigint()
        time.sleep(5)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert sys.unraisablehook is hook
