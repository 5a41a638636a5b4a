"""SIGINT and SIGTERM in the commands other than `train`: one line, 128 + the signal.

`train` stops at a step boundary and saves a backup (`training.guard.StopSignals`, also
used by every trial of `tune`). The other commands have nothing to save: their writers
write into temporary files and publish them at the end, and remove them when an
exception passes. So, during a command, both signals raise `Stopped` (a
KeyboardInterrupt: code that cleans up after Ctrl-C cleans up after SIGTERM too), the
CLI prints one line saying what was kept (`stopped_line`), and exits 130 or 143. A
second signal while the first is being handled ends the process at once. While an
output is published (moved into place), a signal waits until that step is done
(`signals_deferred.publishing`): the line then says the new output is complete.

Python runs a signal handler in whatever frame the main thread is in, also in Python
code that C code called (an `__import__` from TensorFlow's `nest.flatten`, say). An
exception raised there can reach C code that does not expect one: TensorFlow then
prints "SystemError: <built-in function __import__> returned a result with an
exception set" with a traceback before our line. So while the interrupted frame is
TensorFlow's or the import system's, the signal is delivered again a moment later
(`RETRY_S`, for at most `RETRY_MAX_S`), when the main thread is in other code. Where C
code still catches `Stopped` and reports it as unraisable (`sys.unraisablehook`), the
report is dropped and the signal delivered again.

Example (what `cli` does):

    with stop_on_signals():
        run_the_command()          # SIGTERM -> Stopped(15) -> "stopped by SIGTERM; ..."
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from keras_lstm_opt.signals_deferred import published

RETRY_S = 0.02
RETRY_MAX_S = 2.0
_UNSAFE = ("<frozen importlib", f"{os.sep}importlib{os.sep}", f"{os.sep}tensorflow{os.sep}")


class Stopped(KeyboardInterrupt):
    """A command stopped by `signum` (SIGINT or SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Stopped` in the main thread while the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []
    since: list[float] = []

    def handle(signum: int, frame: Any) -> None:
        if fired:  # a second signal while the first is handled: stop now
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        since[:] = since or [time.monotonic()]
        if in_c_callback(frame) and time.monotonic() - since[0] < RETRY_MAX_S:
            redeliver(signum)
            return
        fired.append(signum)
        raise Stopped(signum)

    def unraisable(info: Any) -> None:
        if fired and _caused_by_stop(info.exc_value):  # C code caught our `Stopped` and
            # would print it ("SystemError: ... returned a result with an exception
            # set"): not printed, and the stop, lost there, is raised again
            signum = fired.pop()
            redeliver(signum)
            return
        previous_hook(info)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    old = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except Stopped:
        raise
    except Exception as exc:
        if fired or _caused_by_stop(exc):  # `Stopped` turned into another error by the
            # code it interrupted (TensorFlow tracing a function: "Expected int32, but
            # got None"; C code: "SystemError: ... returned a result with an exception
            # set"): still a stop
            raise Stopped(fired[0] if fired else _caused_by_stop(exc)) from exc
        raise
    finally:
        for sig, handler in old.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        sys.unraisablehook = previous_hook


def _caused_by_stop(exc: BaseException | None) -> int:
    """The signal of the `Stopped` in `exc`'s chain of causes and contexts, or 0."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Stopped):
            return exc.signum
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return 0


def in_c_callback(frame: Any) -> bool:
    """Whether `frame` may be Python code that C code called, where an exception raised
    by a signal handler can turn into a SystemError: TensorFlow's own code, or anything
    run by an import in progress (a module's body, a lazy loader's `__getattr__`)."""
    if _unsafe_file(frame):
        return True
    for _ in range(200):  # the frames above it, up to the command's
        frame = getattr(frame, "f_back", None)
        if frame is None:
            return False
        if "importlib" in _file(frame):
            return True
    return False


def _file(frame: Any) -> str:
    return str(getattr(getattr(frame, "f_code", None), "co_filename", ""))


def _unsafe_file(frame: Any) -> bool:
    name = _file(frame)
    return any(part in name for part in _UNSAFE)


def redeliver(signum: int, after: float = RETRY_S) -> None:
    """Send `signum` to the main thread again `after` seconds from now."""
    timer = threading.Timer(after, signal.pthread_kill, (threading.main_thread().ident, signum))
    timer.daemon = True
    timer.start()


def signum_of(exc: KeyboardInterrupt) -> int:
    """The signal behind a stop (a plain KeyboardInterrupt is SIGINT)."""
    return getattr(exc, "signum", int(signal.SIGINT))


def stopped_line(args: argparse.Namespace | None, signum: int) -> str:
    """ "stopped by SIGINT; nothing written", or what the command kept."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    head = f"stopped by {name}"
    command = getattr(args, "command", None)
    out = str(getattr(args, "out", None) or "")
    if command == "data" and getattr(args, "data_command", None) == "import":
        if published(out):  # the signal came while it was published: delivered after
            return f"{head}; the new import in {out} is complete"
        if os.path.isfile(os.path.join(out, "schema.json")):
            return f"{head}; nothing written ({out} keeps the earlier import)"
        return f"{head}; nothing written"
    if command == "predict" and out in ("", "-"):
        return f"{head}; only the predictions printed before it are on standard output"
    if command == "evaluate":
        where = out or str(getattr(args, "run_dir", ""))
        if published(where):
            return f"{head}; the evaluation in {where} is complete (evaluation.json)"
    if command == "export" and published(out):
        return f"{head}; the export in {out} is complete"
    if command == "profile":
        return _profile_line(head, str(getattr(args, "run_dir", None) or ""))
    if command in ("predict", "evaluate", "export"):
        return f"{head}; nothing written"
    if command == "tune":
        run_dir = getattr(args, "run_dir", None)
        if run_dir and os.path.isdir(run_dir):
            return (
                f"{head}; the trials finished so far are kept in {run_dir}; run the "
                "same command to continue the search"
            )
        return f"{head}; nothing written"
    return head


def _profile_line(head: str, run_dir: str) -> str:
    """A directory `profile` made is removed unless its report was complete."""
    if run_dir and published(run_dir):
        return f"{head}; the report in {run_dir} is complete"
    if run_dir and os.path.isfile(os.path.join(run_dir, "report.json")):
        return f"{head}; no new report ({run_dir} keeps the earlier report)"
    if run_dir and os.path.isdir(run_dir):
        return f"{head}; no report written"
    return f"{head}; nothing written"
