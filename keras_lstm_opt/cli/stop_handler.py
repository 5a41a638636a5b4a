"""The SIGINT/SIGTERM handler of `signals.stop_on_signals`: `Stopped`, also when C code
catches it.

The first signal raises `Stopped` in the main thread; a second one, while the first is
handled, ends the process at once (as a second Ctrl-C does everywhere).

Python runs a signal handler in whatever frame the main thread is in, also in Python code
that C code called (`ABCMeta.__instancecheck__` from TensorFlow's `nest.flatten`, say).
C code may catch the exception there, report it through `sys.unraisablehook` ("SystemError:
<built-in function __import__> returned a result with an exception set", a traceback on
stderr) and go on as if nothing happened. So while the handler is installed:

* an unraisable error caused by our `Stopped` is not printed (any other goes to the hook
  that was there), and the stop is raised again in the main thread at its next step
  (`_thread.interrupt_main`; at most `MAX_HIDDEN` times), asked for from a thread of its
  own: asked for in the hook, Python would run the handler at its next check, still in
  the hook, and print the raise as the hook's own error ("Exception ignored in
  sys.unraisablehook", a traceback on a stopped `predict`); a raise that comes while the
  hook still runs is asked for once more;
* that second raise is dropped where it would cut into the stop's own unwinding (an
  exception is being handled), or once the block is ending;
* `signals.stop_on_signals` raises `Stopped` at the end of a block that a signal reached
  and that ended without it (the stop swallowed on the way).

Example (what `stop_on_signals` does):

    handler = StopHandler()
    handler.install()
    try:
        run_the_command()      # SIGTERM -> Stopped(15)
    finally:
        handler.uninstall()
"""

from __future__ import annotations

import _thread
import signal
import sys
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)
MAX_HIDDEN = 100


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
        self._again = False  # the stop is to be raised again (C code swallowed it)
        self._ending = False
        self._in_hook = False
        self._asking = _thread.allocate_lock()  # held while a thread asks for a raise
        self._old: dict[int, Any] = {}
        self._old_hook = sys.unraisablehook

    def install(self) -> None:
        self._old_hook = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        self._old = {sig: signal.signal(sig, self._handle) for sig in SIGNALS}

    def uninstall(self) -> None:
        self._ending = True
        try:
            # Python runs a pending handler at its next check (a loop's back edge): a stop
            # raised again and still pending runs here, while `_ending` drops it, not
            # under the handler restored below; one still asked for by its thread is
            # waited for (the thread only calls `interrupt_main`, then releases the lock)
            with self._asking:
                pass
            for _ in range(100):
                pass
        finally:
            sys.unraisablehook = self._old_hook
            for sig, handler in self._old.items():
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._again:
            if self._in_hook and not self._ending:
                self._raise_again()  # still in the hook: raising here would be printed
                return
            self._again = False
            if self._ending or sys.exc_info()[1] is not None:
                return  # the stop is already unwinding, or the block is over
            raise Stopped(self.signum)
        if self.signum:  # a second signal while the first is handled: stop now
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        self.signum = signum
        raise Stopped(signum)

    def _unraisable(self, info: Any) -> None:  # sys.UnraisableHookArgs
        if self.signum and caused_by_stop(info.exc_value):
            self.hidden += 1
            if self.hidden <= MAX_HIDDEN and not self._ending and not self._again:
                self._again = True
                self._in_hook = True
                try:
                    self._raise_again()
                finally:
                    self._in_hook = False
            return
        self._old_hook(info)

    def _raise_again(self) -> None:
        """The stop raised again in the main thread at its next step after this one,
        asked for by a new thread (`start_new_thread` does not wait for it to start);
        nothing if a thread is asking already."""
        if self._asking.acquire(blocking=False):
            try:
                _thread.start_new_thread(self._ask, (signal.Signals(self.signum),))
            except RuntimeError:  # no thread to be had: the end of the block raises it
                self._asking.release()

    def _ask(self, signum: signal.Signals) -> None:
        try:
            _thread.interrupt_main(signum)
        finally:
            self._asking.release()


def caused_by_stop(exc: BaseException | None) -> int:
    """The signal of a `Stopped` among `exc`, its causes and contexts, or 0."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        if isinstance(e, Stopped):
            return e.signum
        seen.add(id(e))
        todo += [e.__cause__, e.__context__]
    return 0
