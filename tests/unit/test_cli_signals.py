"""stop_on_signals (cli.stop_handler): `Stopped` on the first signal; a stop that C code
catches and reports as unraisable (TensorFlow's "SystemError: ... returned a result with
an exception set") is not printed and is raised again at the next step, but not into the
stop's own unwinding; a block that a signal reached ends with `Stopped` even when the stop
was swallowed; other unraisable errors still reach the hook that was there."""

from __future__ import annotations

import signal
import sys
import time
import types

import pytest

from keras_lstm_opt.cli.signals import Stopped, stop_on_signals
from keras_lstm_opt.cli.stop_handler import StopHandler, caused_by_stop

from ..conftest import time_limit


def _c_code_that_catches() -> str:
    """As TensorFlow's C code does: call Python, catch what the signal handler raised
    there, report it with PyErr_WriteUnraisable (sys.unraisablehook), and go on."""
    caught: list[BaseException] = []
    try:
        signal.raise_signal(signal.SIGINT)  # the handler raises at the next step, here
        time.sleep(5)
    except Stopped as stop:
        caught.append(stop)
    error = SystemError("<built-in function __import__> returned a result with an exception")
    error.__cause__ = caught[0]
    sys.unraisablehook(
        types.SimpleNamespace(exc_type=SystemError, exc_value=error, exc_traceback=None)
    )
    return "returned"


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """What reaches the hook that was there (the one that prints)."""
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(info.exc_value))
    return seen


def test_a_stop_that_c_code_swallows_is_not_printed_and_raised_again(printed):
    reached: list[str] = []
    with pytest.raises(Stopped) as stop, stop_on_signals():
        reached.append(_c_code_that_catches())
        deadline = time.monotonic() + time_limit(5)
        while time.monotonic() < deadline:  # the stop is raised again in this loop
            pass
        reached.append("not reached")  # (the end of the block would raise it too late)
    # the hook returned: a raise inside it is printed by Python as the hook's own error
    # ("Exception ignored in sys.unraisablehook", a traceback on a stopped `predict`)
    assert reached == ["returned"]
    assert stop.value.signum == signal.SIGINT
    assert printed == []  # the hook that prints never saw it


def test_the_stop_raised_again_is_dropped_while_an_exception_is_handled():
    handler = StopHandler()
    handler.install()
    try:
        handler.signum = signal.SIGINT
        handler._again = True  # as after a hidden report
        try:
            raise SystemError("the stop, turned into an error by C code, unwinding")
        except SystemError:
            handler._handle(signal.SIGINT, None)  # dropped: cleanup code is running
        handler._again = True
        with pytest.raises(Stopped):
            handler._handle(signal.SIGINT, None)  # raised: nothing is unwinding
    finally:
        handler.uninstall()


def test_a_raise_that_comes_while_the_hook_runs_is_asked_for_again():
    handler = StopHandler()
    handler.install()
    try:
        handler.signum = signal.SIGINT
        handler._again = handler._in_hook = True  # as if it came before the hook returned
        handler._handle(signal.SIGINT, None)  # not raised: Python would print it
        assert handler._again
        handler._in_hook = False
        with pytest.raises(Stopped):  # asked for again, by a thread: raised after the hook
            deadline = time.monotonic() + time_limit(5)
            while time.monotonic() < deadline:
                pass
    finally:
        handler.uninstall()


def test_a_block_whose_stop_was_swallowed_ends_with_it():
    reached: list[str] = []
    with pytest.raises(Stopped) as stop, stop_on_signals():
        try:
            signal.raise_signal(signal.SIGTERM)
            time.sleep(5)
        except KeyboardInterrupt:  # code that swallows Ctrl-C, unreported
            reached.append("swallowed")
        reached.append("the block went on")
    assert reached == ["swallowed", "the block went on"]
    assert stop.value.signum == signal.SIGTERM


def test_other_unraisable_errors_reach_the_hook_that_was_there(printed):
    error = ValueError("not ours")
    with stop_on_signals():
        sys.unraisablehook(types.SimpleNamespace(exc_value=error))
    with pytest.raises(Stopped), stop_on_signals():
        sys.unraisablehook(types.SimpleNamespace(exc_value=error))
        signal.raise_signal(signal.SIGINT)
        time.sleep(5)
    assert printed == [error, error]


def test_the_handlers_and_hook_that_were_there_are_back():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    hook = sys.unraisablehook
    with pytest.raises(Stopped), stop_on_signals():
        signal.raise_signal(signal.SIGINT)
        time.sleep(5)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert sys.unraisablehook is hook


def test_a_stop_is_found_among_causes_and_contexts():
    stop = Stopped(15)
    inner = RuntimeError("inner")
    inner.__context__ = stop
    outer = SystemError("outer")
    outer.__cause__ = ValueError("a cause that does not lead to it")
    outer.__context__ = inner
    assert caused_by_stop(outer) == 15
    assert caused_by_stop(stop) == 15
    assert caused_by_stop(ValueError("no")) == 0
