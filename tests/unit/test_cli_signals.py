"""stop_on_signals: a signal that lands in TensorFlow's or the import system's Python
code (maybe called from C, where an exception becomes a SystemError) raises `Stopped`
a moment later, in the caller's code; one that keeps landing there raises anyway."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import types

import pytest

from keras_lstm_opt.cli import signals
from keras_lstm_opt.cli.signals import Stopped, in_c_callback, stop_on_signals

# A function whose code claims a file inside TensorFlow: the frame the handler sees.
_SOURCE = """
def busy(seconds, send):
    end = __import__("time").monotonic() + seconds
    send()
    while __import__("time").monotonic() < end:
        pass
    return "returned"
"""
_NAMESPACE: dict = {}
exec(
    compile(_SOURCE, os.path.join(os.sep, "venv", "tensorflow", "python", "x.py"), "exec"),
    _NAMESPACE,
)
in_tensorflow = _NAMESPACE["busy"]


def _sigint() -> None:
    """SIGINT to this process from another thread in 50 ms (the main thread is busy)."""
    threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()


def test_frames_of_tensorflow_and_imports_count_as_c_callbacks():
    import importlib._bootstrap as bootstrap

    code = type("F", (), {})
    for name, expected in (
        (in_tensorflow.__code__.co_filename, True),
        (bootstrap._find_and_load.__code__.co_filename, True),
        (__file__, False),
        (signals.__file__, False),
    ):
        frame = code()
        frame.f_code = type("C", (), {"co_filename": name})()
        assert in_c_callback(frame) is expected, name


def test_a_signal_inside_tensorflow_is_raised_after_it_returns():
    reached: list[str] = []
    with pytest.raises(Stopped) as stop, stop_on_signals():
        reached.append(in_tensorflow(0.3, _sigint))  # the signal lands in its loop
        while True:  # our code: the signal delivered again is raised here
            time.sleep(0.01)
    assert reached == ["returned"]
    assert stop.value.signum == signal.SIGINT


def test_a_signal_that_keeps_landing_in_tensorflow_is_raised_there(monkeypatch):
    monkeypatch.setattr(signals, "RETRY_MAX_S", 0.2)
    start = time.monotonic()
    with pytest.raises(Stopped), stop_on_signals():
        in_tensorflow(5.0, _sigint)
    assert time.monotonic() - start < 2.0  # not the 5 s the loop would take


def test_a_signal_elsewhere_is_raised_at_once():
    start = time.monotonic()
    with pytest.raises(Stopped), stop_on_signals():
        _sigint()
        while time.monotonic() - start < 5:
            pass
    assert time.monotonic() - start < 0.5  # 50 ms, and no retry


def test_the_handlers_and_hook_that_were_there_are_back():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    hook = sys.unraisablehook
    with pytest.raises(Stopped), stop_on_signals():
        _sigint()
        time.sleep(5)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert sys.unraisablehook is hook


def _c_code_that_catches(reported: list[str]) -> str:
    """As TensorFlow's C code does: catch what a callback raised, report it with
    PyErr_WriteUnraisable (sys.unraisablehook) and go on."""
    end = time.monotonic() + 5
    try:
        while time.monotonic() < end:  # the signal is raised here (RETRY_MAX_S is 0)
            pass
    except Stopped as stop:
        error = SystemError(
            "<built-in function __import__> returned a result with an exception set"
        )
        error.__cause__ = stop
        reported.append("reported")
        sys.unraisablehook(
            types.SimpleNamespace(
                exc_type=SystemError, exc_value=error, exc_traceback=None, err_msg=None, object=None
            )
        )
    return "returned"


def test_a_stop_that_c_code_reports_as_unraisable_is_not_printed_and_still_stops(
    monkeypatch, capsys
):
    monkeypatch.setattr(signals, "RETRY_MAX_S", 0.0)
    reported: list[str] = []
    reached: list[str] = []
    with pytest.raises(Stopped) as stop, stop_on_signals():
        _sigint()
        reached.append(_c_code_that_catches(reported))
        time.sleep(5)  # the stop, delivered again, is raised here
    assert reported == ["reported"] and reached == ["returned"]
    assert stop.value.signum == signal.SIGINT
    assert capsys.readouterr().err == ""


def test_other_unraisable_errors_reach_the_hook_that_was_there(monkeypatch):
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(info.exc_value))
    error = ValueError("not ours")
    with stop_on_signals():
        sys.unraisablehook(types.SimpleNamespace(exc_value=error))
    assert seen == [error]
