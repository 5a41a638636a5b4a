"""The SIGINT/SIGTERM handler of `signals.stop_on_signals`: `Stopped`, and nothing printed
when C code catches it.

The first signal raises `Stopped` in the main thread; a second one, while the first is
handled, ends the process at once (as a second Ctrl-C does everywhere).

Python runs a signal handler in whatever frame the main thread is in, also in Python code
that C code called (an `__import__` from TensorFlow's `nest.flatten`, say). C code that
catches the exception there reports it through `sys.unraisablehook` (TensorFlow's pybind11
code: "SystemError: <built-in function __import__> returned a result with an exception
set", a traceback on stderr) and goes on; what it returns next fails, and that error
(with our `Stopped` as its cause) reaches the command, which reports the stop. So while the
handler is installed, an unraisable error caused by our `Stopped` is not printed; any
other goes to the hook that was there.

Example (what `stop_on_signals` does):

    handler = StopHandler()
    handler.install()
    try:
        run_the_command()      # SIGTERM -> Stopped(15)
    finally:
        handler.uninstall()
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """A command stopped by `signum` (SIGINT or SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopHandler:
    """SIGINT and SIGTERM raise `Stopped` in the main thread between `install` and
    `uninstall` (both called from the main thread)."""

    def __init__(self) -> None:
        self.signum = 0  # the first signal; 0 before it
        self.hidden = 0  # unraisable errors caused by the stop, not printed
        self._old: dict[int, Any] = {}
        self._old_hook = sys.unraisablehook

    def install(self) -> None:
        self._old_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        self._old = {sig: signal.signal(sig, self._handle) for sig in SIGNALS}

    def uninstall(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        sys.unraisablehook = self._old_hook

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum:  # a second signal while the first is handled: stop now
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        self.signum = signum
        raise Stopped(signum)

    def _unraisable(self, info: Any) -> None:  # sys.UnraisableHookArgs
        if self.signum and caused_by_stop(info.exc_value):
            self.hidden += 1
            return
        self._old_hook(info)


def caused_by_stop(exc: BaseException | None) -> int:
    """The signal of the `Stopped` in `exc`'s chain of causes and contexts, or 0."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, Stopped):
            return exc.signum
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return 0
