"""Progress of a long step: a live bar on a terminal, a log line per interval elsewhere.

`data import`, staging remote shards, `predict`, `evaluate` and `tune` know their size
(bytes of the files, rows, trials), so they say how far they are and when they will end.
On a terminal the bar is rich's (rich comes with Keras), redrawn in place; in a CI log or
a file each interval gives one line, `import: pass 1/2 (counting tokens): 48.2 of 96.5 MB
(50%), 12.1 MB/s, ETA 0:00:04`, and the end one line with the time taken. The interval is
10 s, or `KLO_PROGRESS_SECONDS`.

Example:

    with Progress("predict", total=os.path.getsize(path), unit="bytes") as bar:
        for batch in batches:
            bar.update(batch.offset)     # or bar.add(n) for increments
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("keras_lstm_opt")
INTERVAL_ENV = "KLO_PROGRESS_SECONDS"
DEFAULT_INTERVAL = 10.0


def interval_seconds() -> float:
    """Seconds between progress lines: KLO_PROGRESS_SECONDS, else 10."""
    raw = os.environ.get(INTERVAL_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL


def amount(value: float, unit: str, scale_of: float | None = None) -> str:
    """`value` of `unit` for people: bytes as KB/MB/GB (powers of 1,000; the scale of
    `scale_of` when given), others with thousands separators."""
    if unit != "bytes":
        return f"{value:,.0f} {unit}"
    for size, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if (value if scale_of is None else scale_of) >= size:
            return f"{value / size:,.1f} {name}"
    return f"{value:,.0f} B"


def clock(seconds: float) -> str:
    """H:MM:SS."""
    s = max(0, round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """How far a step is: `update(done)` or `add(n)`, then `close()` (or use `with`).

    Args:
        what: what is being done, as the line starts ("import: pass 2/2 (writing)").
        total: the amount at the end (None: unknown; no percentage or ETA then).
        unit: "bytes" (shown as KB/MB/GB), "rows", "trials", ...
        enabled: False: nothing is shown.
        terminal: a live bar (True) or log lines (False); None: a bar when standard
            error is a terminal.
        now: the clock (time.monotonic), replaceable in tests.
        initial: the amount already done before this process (a resumed search): counted
            in the total, not in the rate.
    """

    def __init__(
        self,
        what: str,
        total: float | None = None,
        unit: str = "rows",
        enabled: bool = True,
        terminal: bool | None = None,
        now: Callable[[], float] = time.monotonic,
        initial: float = 0.0,
    ) -> None:
        self.what, self.total, self.unit, self.enabled = what, total or None, unit, enabled
        self.done = self.initial = float(initial)
        self._lock = threading.Lock()  # staging adds from its download threads
        self._now = now
        self.started = self._last = now()
        self.interval = interval_seconds()
        self.lines = 0  # log lines written (tests)
        self._bar: Any = None
        self._task: Any = None
        if enabled and (sys.stderr.isatty() if terminal is None else terminal):
            self._bar = _rich_bar(what, self.total, unit)
            if self._bar is not None:
                short = what if len(what) <= 26 else what[:25] + "…"  # 80 columns fit
                self._task = self._bar.add_task(short, total=self.total)
                self._bar.start()

    @property
    def live(self) -> bool:
        """Whether a live bar (not log lines) shows this progress."""
        return self._bar is not None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(finished=exc[0] is None)

    def add(self, n: float) -> None:
        with self._lock:
            self._set(self.done + n)

    def update(self, done: float) -> None:
        """Set the amount done so far (it never goes back)."""
        with self._lock:
            self._set(done)

    def _set(self, done: float) -> None:
        self.done = max(self.done, float(done))
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        t = self._now()
        if t - self._last >= self.interval:
            self._last = t
            self.lines += 1
            log.info("%s", self.line(t))

    def line(self, t: float | None = None) -> str:
        """The progress line now: done (of total, percent), rate, ETA."""
        elapsed = max((self._now() if t is None else t) - self.started, 1e-9)
        rate = (self.done - self.initial) / elapsed
        text = f"{self.what}: {amount(self.done, self.unit)}"
        if self.total:
            share = min(self.done / self.total, 1.0)
            done = amount(self.done, self.unit, scale_of=self.total).rsplit(" ", 1)[0]
            text = f"{self.what}: {done} of {amount(self.total, self.unit)} ({share:.0%})"
        if rate >= 1 or self.unit == "bytes":
            text += f", {amount(rate, self.unit)}/s"
        elif rate > 0:  # trials: seconds each
            text += f", {1 / rate:,.1f} s per {self.unit.removesuffix('s')}"
        if self.total and rate > 0:
            text += f", ETA {clock(max(self.total - self.done, 0) / rate)}"
        return text

    def close(self, finished: bool = True) -> None:
        """End the bar; after a step that showed progress, one line with its time."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self.enabled and finished and self.lines:
            took = self._now() - self.started
            log.info("%s: %s in %s", self.what, amount(self.done, self.unit), clock(took))
        self.enabled = False


def _rich_bar(what: str, total: float | None, unit: str) -> Any:
    """rich's progress bar on standard error (None when rich does not import)."""
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import (
            Progress as RichProgress,
        )
    except ImportError:
        return None
    # 80 columns hold it all: a short bar, the description cut to 26 characters
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn(12), TaskProgressColumn()]
    if unit == "bytes":
        columns += [DownloadColumn(), TransferSpeedColumn()]
    else:
        columns += [MofNCompleteColumn(), TextColumn(unit)]
    if total:
        columns += [TextColumn("ETA"), TimeRemainingColumn()]
    return RichProgress(*columns, console=Console(stderr=True), transient=False)
