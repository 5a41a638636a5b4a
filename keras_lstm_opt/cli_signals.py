"""SIGINT and SIGTERM in the commands other than `train`: one line, 128 + the signal.

`train` stops at a step boundary and saves a backup (`training.guard.StopSignals`, also
used by every trial of `tune`). The other commands have nothing to save: their writers
write into temporary files and publish them at the end, and remove them when an
exception passes. So, during a command, both signals raise `Stopped` (a
KeyboardInterrupt: code that cleans up after Ctrl-C cleans up after SIGTERM too), the
CLI prints one line saying what was kept (`stopped_line`), and exits 130 or 143. A
second signal while the first is being handled ends the process at once.

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
from typing import Any


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

    def handle(signum: int, frame: Any) -> None:
        if fired:  # a second signal while the first is handled: stop now
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        fired.append(signum)
        raise Stopped(signum)

    old = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def signum_of(exc: KeyboardInterrupt) -> int:
    return getattr(exc, "signum", int(signal.SIGINT))


def stopped_line(args: argparse.Namespace | None, signum: int) -> str:
    """"stopped by SIGINT; nothing written", or what the command kept."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    head = f"stopped by {name}"
    command = getattr(args, "command", None)
    if command == "data" and getattr(args, "data_command", None) == "import":
        out = str(getattr(args, "out", ""))
        if os.path.isfile(os.path.join(out, "schema.json")):
            return f"{head}; nothing written ({out} keeps the earlier import)"
        return f"{head}; nothing written"
    if command == "predict" and getattr(args, "out", None) in (None, "-"):
        return f"{head}; only the predictions printed before it are on standard output"
    if command in ("predict", "evaluate", "export", "profile"):
        return f"{head}; nothing written"
    if command == "tune":
        run_dir = getattr(args, "run_dir", None)
        if run_dir and os.path.isdir(run_dir):
            return (f"{head}; the trials finished so far are kept in {run_dir}; run the "
                    "same command to continue the search")
        return f"{head}; nothing written"
    return head
