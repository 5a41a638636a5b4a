"""One watchdog thread for collective timeouts.

`tf.distribute.experimental.CommunicationOptions(timeout_seconds=...)` makes TensorFlow
start a sleeping thread for every collective op, which lives for the whole timeout
(`SchedNonBlockingClosureAfter`: one detached thread each; tensorflow/tensorflow#62466).
At 10 to 20 collectives a second that is thousands of threads within a minute, and a
multi-worker run aborted with `std::system_error: Resource temporarily unavailable`
after about 2 minutes (2 workers on this machine, a 600 s timeout). So collectives run
without TensorFlow's timeout and this watchdog guards each training step instead: one
thread, a deadline per guarded call, and on expiry the same abort that TensorFlow's own
health check uses (`abort_collective_ops`), so the blocked step fails with
DeadlineExceeded. A peer that vanishes is also found by MultiWorkerMirroredStrategy's
health check (every 30 s).

Example:

    watchdog = CollectiveWatchdog(600)
    with watchdog.guard():
        step(iterator)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class CollectiveWatchdog:
    """Abort this process's collectives when a guarded call outlives `seconds` (0: off)."""

    def __init__(self, seconds: float, what: str = "a training step") -> None:
        self.seconds, self.what = float(seconds or 0), what
        self._deadline: float | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        if not self.seconds:
            yield
            return
        with self._cond:
            self._deadline = time.monotonic() + self.seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, daemon=True,
                                                name="klo-collective-watchdog")
                self._thread.start()
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                self._deadline = None
                self._cond.notify()

    def _watch(self) -> None:
        with self._cond:
            while True:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._deadline = None
                self._abort()

    def _abort(self) -> None:
        from tensorflow.python.eager import context
        from tensorflow.python.framework import errors

        context.context().abort_collective_ops(
            errors.DEADLINE_EXCEEDED,
            f"{self.what} waited more than {self.seconds:g} s for its collectives "
            "(distribute.timeout_seconds): a worker is gone or stuck")
