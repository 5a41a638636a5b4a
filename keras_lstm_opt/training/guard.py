"""Guards around the training loop: loss blow-up rollback and clean stops on signals.

`BlowUpGuard`: a step whose loss is NaN, Inf or above `train.max_loss` rolls the model
and optimizer back to the newest backup, multiplies the learning rate by
`train.nan_lr_factor` and lets training continue, at most `train.nan_rollbacks` times;
then it stops with the reason. Every rollback is logged and kept in `rollbacks`
(metrics.json has them).

`StopSignals`: SIGINT and SIGTERM ask the loop to stop after the step in flight; the
loop saves a backup and raises `TrainingInterrupted`, so the same command resumes.
A second SIGINT stops at once (Python's default behaviour); a repeated SIGTERM does not
(schedulers deliver it more than once, and follow it with SIGKILL). While the main thread waits
in a collective, `on_signal` hears of the signal at once (a wakeup fd and a thread).
`lost()` is the other reason to stop, no signal: the chief's run directory lock went to
another process (`run_lock`); the loop stops after the step in flight without a backup.

Example:

    guard = BlowUpGuard(backup, model.optimizer, LoopOptions())
    restored = guard.check(loss, step)   # None, or the step training resumes from
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from keras_lstm_opt.training.optim import scale_learning_rate
from keras_lstm_opt.training.options import LoopOptions

log = logging.getLogger("keras_lstm_opt")


class BlowUpGuard:
    def __init__(self, backup: Any, optimizer: Any, cfg: LoopOptions) -> None:
        self.backup, self.optimizer, self.cfg = backup, optimizer, cfg
        self.rollbacks: list[dict[str, Any]] = []
        self.exhausted: str | None = None

    def bad(self, loss: float) -> bool:
        return not math.isfinite(loss) or bool(self.cfg.max_loss and loss > self.cfg.max_loss)

    def check(self, loss: float, step: int) -> int | None:
        """None if `loss` is fine; else roll back and return the restored step, or set
        `exhausted` (the reason to stop) and return None."""
        if not self.bad(loss):
            return None
        what = f"loss {loss:g} at step {step}"
        if len(self.rollbacks) >= self.cfg.nan_rollbacks:
            self.exhausted = (
                f"{what} after {len(self.rollbacks)} rollback(s) "
                f"(train.nan_rollbacks: {self.cfg.nan_rollbacks})"
            )
            return None
        restored = self.backup.restore(force=True)
        if restored is None:
            self.exhausted = f"{what} before any backup was saved: nothing to roll back to"
            return None
        lr = scale_learning_rate(self.optimizer, self.cfg.nan_lr_factor)
        self.rollbacks.append(
            {"at_step": step, "loss": str(loss), "restored_step": restored, "learning_rate": lr}
        )
        log.warning(
            "%s: rolled back to the backup at step %d, learning rate x%g -> %.3g "
            "(rollback %d of %d)",
            what,
            restored,
            self.cfg.nan_lr_factor,
            lr,
            len(self.rollbacks),
            self.cfg.nan_rollbacks,
        )
        return restored


class StopSignals:
    """Context manager: SIGINT/SIGTERM set `signum` instead of killing the process.

    Python runs a signal handler only when the main thread runs Python code, not while
    it waits inside a TensorFlow call (a step blocked on a lost peer). So the signals
    are also written to a wakeup fd, read by a thread that calls `on_signal(signum)`
    at once (the loop points it at its watchdog, which aborts a step that stays
    blocked). A second SIGINT (Ctrl-C twice) ends the process at once; a repeated SIGTERM
    does not, since schedulers deliver one SIGTERM more than once and follow it with
    SIGKILL after their grace period."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._repeated = False
        self.on_signal: Callable[[int], None] | None = None
        self.lost_lock: Callable[[], str | None] | None = None  # `RunLock.lost`
        self._old: dict[int, Any] = {}
        self._wakeup: tuple[socket.socket, socket.socket] | None = None
        self._old_fd = -1

    def lost(self) -> str | None:
        """Why training must stop though no signal came: the run directory's lock was
        taken over by another process (`lost_lock`); None to go on."""
        return self.lost_lock() if self.lost_lock is not None else None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            if signum == signal.SIGTERM:  # schedulers send it more than once (Slurm: to each
                # task and again through srun); their SIGKILL follows after a grace period
                if not self._repeated:
                    self._repeated = True
                    log.warning("SIGTERM again: still stopping after this step with a backup")
                return
            signal.signal(signum, signal.SIG_DFL)  # a second Ctrl-C: stop now
            signal.raise_signal(signum)
        self.signum = signum
        log.warning(
            "%s received: stopping after this step and saving a backup", signal.Signals(signum).name
        )

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(64)
            except OSError:
                return
            if not data:
                return
            if self._old_fd != -1:  # whoever listened before (an asyncio loop) hears them too
                try:
                    os.write(self._old_fd, data)
                except OSError:
                    pass
            callback = self.on_signal
            for signum in data:
                if signum in (signal.SIGINT, signal.SIGTERM) and callback is not None:
                    callback(signum)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
            reader, writer = socket.socketpair()
            writer.setblocking(False)
            try:
                self._old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
            except ValueError:
                reader.close()
                writer.close()
                return self
            self._wakeup = (reader, writer)
            threading.Thread(
                target=self._read, args=(reader,), daemon=True, name="klo-signal-reader"
            ).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)
        self._old = {}
        if self._wakeup is not None:
            signal.set_wakeup_fd(self._old_fd)
            reader, writer = self._wakeup
            writer.close()
            reader.shutdown(socket.SHUT_RDWR)
            reader.close()
            self._wakeup = None
