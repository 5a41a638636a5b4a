"""Publish steps that SIGINT and SIGTERM do not cut in half.

The commands write their outputs somewhere temporary and then publish them: remove an
earlier import's shards and move the new ones and schema.json in, replace the plots and
evaluation.json, swap an export directory, write a profile's report files. A signal
that raised in the middle of such a step (`cli.signals.Stopped`, or Python's own
KeyboardInterrupt) would leave half of the old output and half of the new. Inside
`publishing(target)` both signals are only recorded; when the block has run, the first
one is delivered again to the handler that was there before, which raises as usual.
So a stopped command leaves the earlier output or the complete new one, and
`published(target)` says which (the CLI's stop line reports it). A second signal while
the block runs ends the process at once, as a second Ctrl-C does everywhere else.

Signal handlers can only be set in the main thread: elsewhere the block runs as is
(Python runs its signal handlers in the main thread, so the step is not interrupted).

Example:

    with publishing(out):            # a SIGTERM here is delivered after the block
        move_the_new_files_in(out)
    published(out)                   # True: out holds the new output
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
_published: set[str] = set()
_depth = 0


def _key(target: str) -> str:
    return target.rstrip("/") if "://" in target else os.path.abspath(target)


def published(target: str) -> bool:
    """Whether a `publishing(target)` block of this process has run to its end."""
    return _key(target) in _published


def forget() -> None:
    """Forget what was published (for a process that runs more than one command)."""
    _published.clear()


@contextmanager
def publishing(target: str) -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block has run, then are delivered.

    Args:
        target: the output being published (a directory or a file); recorded for
            `published` when the block ends without an exception.
    """
    with deferred():
        yield
        _published.add(_key(target))


@contextmanager
def deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block has run (a short step that must not
    be cut in two, e.g. create a probe file and remove it), then are delivered."""
    global _depth
    if _depth or threading.current_thread() is not threading.main_thread():
        yield  # nested, or not the main thread: the outer block (or nothing) defers
        return
    pending: list[int] = []

    def record(signum: int, frame: Any) -> None:
        if pending:  # a second signal: stop now, half done or not
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
            return
        pending.append(signum)

    old: dict[int, Any] = {}
    _depth += 1
    try:
        for sig in SIGNALS:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                old[sig] = signal.signal(sig, record)
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        _depth -= 1
        if pending:  # the handler that was there runs now (e.g. raises Stopped)
            signal.raise_signal(pending[0])
