"""One watchdog thread for collective timeouts.

`tf.distribute.experimental.CommunicationOptions(timeout_seconds=...)` makes TensorFlow
start a sleeping thread for every collective op, which lives for the whole timeout
(`SchedNonBlockingClosureAfter`: one detached thread each; tensorflow/tensorflow#62466).
At 10 to 20 collectives a second that is thousands of threads within a minute, and a
multi-worker run aborted with `std::system_error: Resource temporarily unavailable`
within minutes (measured: docs/measurements.md, design measurements). So collectives run
without TensorFlow's timeout and this watchdog guards each training step instead: one
thread, a deadline per guarded call, and on expiry the same abort that TensorFlow's own
health check uses (`abort_collective_ops`), so the blocked step fails with
DeadlineExceeded. A peer that vanishes is also found by MultiWorkerMirroredStrategy's
health check (every 30 s).

A signal cannot reach Python while the main thread waits inside a collective, so a
SIGINT/SIGTERM that asks the loop to stop "after this step" would wait as long as the
step does (forever, when a peer is stopped). `interrupt(signum)` (called from the signal
reader thread of `training.guard.StopSignals`) gives the step in flight, or the next one,
`grace` more seconds (at least `MIN_GRACE`, and 3 times the longest step seen): a step
whose peers answer finishes within it and the stop is the usual coordinated one; a step
still blocked then is aborted (CANCELLED), and `interrupted` holds the signal.

A step that takes longer than `PROBE_AFTER` seconds also probes the peers' TF_CONFIG
addresses once a second: a peer whose port no longer accepts connections (its process
died: connection refused; its node is gone: no answer) is lost, and the step is aborted
(UNAVAILABLE, "peer lost: ...") at once instead of after TensorFlow's heartbeat timeout
(tens of seconds). A live peer's kernel accepts connections even when the process is
busy or stopped, so probing never aborts a slow but healthy step.

Example:

    watchdog = CollectiveWatchdog(600)
    with watchdog.guard():
        step(iterator)
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

MIN_GRACE = 5.0  # seconds a step may still take after a signal before it counts as blocked
PROBE_AFTER = 2.0  # seconds into a step before the peers' ports are probed
PROBE_EVERY = 1.0
MISSES_TO_LOSE = 3  # probes in a row without an answer that count as a lost peer


class CollectiveWatchdog:
    """Abort this process's collectives when a guarded call outlives `seconds` (0: off),
    or outlives the grace after `interrupt`.

    Args:
        seconds: the limit of one guarded call; 0 = no limit.
        what: the guarded call, for the message.
        enabled: guard at all (default: when `seconds` is set); a multi-worker step is
            guarded for `interrupt` even without a limit.
    """

    def __init__(
        self, seconds: float, what: str = "a training step", enabled: bool | None = None
    ) -> None:
        self.seconds, self.what = float(seconds or 0), what
        self.enabled = bool(self.seconds) if enabled is None else enabled
        self.interrupted: int | None = None  # the signal whose stop aborted a step
        self.grace = MIN_GRACE
        self._deadline: float | None = None
        self._started = 0.0
        self._signal: tuple[int, float] | None = None  # (signum, when)
        self._calls, self._longest = 0, 0.0
        self._next_probe = 0.0
        self._peers: list[tuple[str, str, int]] | None = None
        self._misses: dict[str, int] = {}
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def guard(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._cond:
            self._started = time.monotonic()
            self._deadline = self._started + self.seconds if self.seconds else math.inf
            self._next_probe = self._started + PROBE_AFTER
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, daemon=True, name="klo-collective-watchdog"
                )
                self._thread.start()
            self._cond.notify()
        try:
            yield
        finally:
            with self._cond:
                took = time.monotonic() - self._started
                self._calls += 1
                if self._calls > 1:  # the first call traces and compiles
                    self._longest = max(self._longest, took)
                self._deadline = None
                self._cond.notify()

    @property
    def signalled(self) -> int | None:
        """The signal that asked the loop to stop (whether or not it aborted a step)."""
        return self._signal[0] if self._signal is not None else None

    def interrupt(self, signum: int) -> None:
        """A signal asked the loop to stop: abort the step in flight (or the next) if it
        is still blocked `grace` s after the later of the signal and its start.

        Args:
            signum: the signal received.
        """
        with self._cond:
            self.grace = max(MIN_GRACE, 3 * self._longest)
            if self.enabled and self._signal is None:
                self._signal = (signum, time.monotonic())
                self._cond.notify()

    def _due(self) -> tuple[float, str] | None:
        """(when, why) of the next abort of the call in flight, or None."""
        if self._deadline is None:
            return None
        due = min((self._deadline, "timeout"), (self._next_probe, "probe"))
        if self._signal is not None:
            when = max(self._signal[1], self._started) + self.grace
            due = min(due, (when, "signal"))
        return due

    def _watch(self) -> None:
        with self._cond:
            while True:
                due = self._due()
                if due is None:
                    self._cond.wait()
                    continue
                left = due[0] - time.monotonic()
                if left > 0:
                    self._cond.wait(None if left == math.inf else left)
                    continue
                if due[1] == "probe":
                    self._probe()
                    continue
                self._deadline = None
                if due[1] == "signal" and self._signal is not None:
                    self.interrupted = self._signal[0]
                    self._abort(signal_name(self._signal[0]))
                else:
                    self._abort()

    def _probe(self) -> None:
        """Probe the peers (without the lock); abort the same call if one is gone."""
        started = self._started
        self._next_probe = time.monotonic() + PROBE_EVERY
        self._cond.release()
        try:
            gone = self._gone_peer()
        finally:
            self._cond.acquire()
        if gone and self._deadline is not None and self._started == started:
            self._deadline = None
            from tensorflow.python.eager import context
            from tensorflow.python.framework import errors

            context.context().abort_collective_ops(
                errors.UNAVAILABLE, f"peer lost: {gone}, while {self.what} waited for it"
            )

    def _gone_peer(self) -> str | None:
        if self._peers is None:
            from keras_lstm_opt.distribute.formation import peers_of
            from keras_lstm_opt.distribute.tf_config import cluster_from_env

            cluster = cluster_from_env(check_port=False)
            self._peers = peers_of(cluster) if cluster else []
        from keras_lstm_opt.distribute.ports import probe

        for name, host, port in self._peers:
            why = probe(host, port, timeout=1.0)
            # refused or unresolvable: gone; no answer (a lost SYN is resent after ~1 s):
            # gone only after MISSES_TO_LOSE probes in a row
            misses = self._misses[name] = self._misses.get(name, 0) + 1 if why else 0
            if why and (not why.startswith("no answer") or misses >= MISSES_TO_LOSE):
                return f"{name} ({why})"
        return None

    def _abort(self, signame: str | None = None) -> None:
        from tensorflow.python.eager import context
        from tensorflow.python.framework import errors

        if signame:
            context.context().abort_collective_ops(
                errors.CANCELLED,
                f"stopped by {signame}: {self.what} still waited for its peers "
                f"{self.grace:g} s after the signal",
            )
            return
        context.context().abort_collective_ops(
            errors.DEADLINE_EXCEEDED,
            f"{self.what} waited more than {self.seconds:g} s for its collectives "
            "(distribute.timeout_seconds): a worker is gone or stuck",
        )


def signal_name(signum: int) -> str:
    """ "SIGTERM" for 15 (or "signal N")."""
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
