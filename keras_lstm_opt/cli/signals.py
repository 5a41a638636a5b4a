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

`Stopped` raised where C code called Python (TensorFlow's `nest.flatten`) may be caught
there and reported as unraisable: not printed, and raised again (`stop_handler`); a block
that a signal reached ends with `Stopped` even if the stop was swallowed on the way.

Example (what `cli` does):

    with stop_on_signals():
        run_the_command()          # SIGTERM -> Stopped(15) -> "stopped by SIGTERM; ..."
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from keras_lstm_opt.cli.stop_handler import StopHandler, Stopped, caused_by_stop
from keras_lstm_opt.signals_deferred import published

__all__ = ["Stopped", "signum_of", "stop_on_signals", "stopped_line"]


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Stopped` in the main thread while the block runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = StopHandler()
    handler.install()
    try:
        yield
    except Stopped:
        raise
    except Exception as exc:
        signum = handler.signum or caused_by_stop(exc)
        if signum:  # `Stopped` turned into another error by the code it interrupted (e.g.
            # TensorFlow tracing a function: "Expected int32, but got None"): still a stop
            raise Stopped(signum) from exc
        raise
    finally:
        handler.uninstall()
    if handler.signum:  # a signal came and the stop was swallowed on the way (C code)
        raise Stopped(handler.signum)


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
