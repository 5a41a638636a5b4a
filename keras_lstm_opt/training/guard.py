"""Guards around the training loop: loss blow-up rollback and clean stops on signals.

`BlowUpGuard`: a step whose loss is NaN, Inf or above `train.max_loss` rolls the model
and optimizer back to the newest backup, multiplies the learning rate by
`train.nan_lr_factor` and lets training continue, at most `train.nan_rollbacks` times;
then it stops with the reason. Every rollback is logged and kept in `rollbacks`
(metrics.json has them).

`StopSignals`: SIGINT and SIGTERM ask the loop to stop after the step in flight; the
loop saves a backup and raises `TrainingInterrupted`, so the same command resumes.
A second signal stops at once (Python's default behaviour).

Example:

    guard = BlowUpGuard(backup, model.optimizer, LoopOptions())
    restored = guard.check(loss, step)   # None, or the step training resumes from
"""

from __future__ import annotations

import logging
import math
import signal
import threading
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
            self.exhausted = (f"{what} after {len(self.rollbacks)} rollback(s) "
                              f"(train.nan_rollbacks: {self.cfg.nan_rollbacks})")
            return None
        restored = self.backup.restore(force=True)
        if restored is None:
            self.exhausted = f"{what} before any backup was saved: nothing to roll back to"
            return None
        lr = scale_learning_rate(self.optimizer, self.cfg.nan_lr_factor)
        self.rollbacks.append({"at_step": step, "loss": str(loss), "restored_step": restored,
                               "learning_rate": lr})
        log.warning("%s: rolled back to the backup at step %d, learning rate x%g -> %.3g "
                    "(rollback %d of %d)", what, restored, self.cfg.nan_lr_factor, lr,
                    len(self.rollbacks), self.cfg.nan_rollbacks)
        return restored


class StopSignals:
    """Context manager: SIGINT/SIGTERM set `signum` instead of killing the process."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # a second signal: stop now
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
        self.signum = signum
        log.warning("%s received: stopping after this step and saving a backup",
                    signal.Signals(signum).name)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old = {}
