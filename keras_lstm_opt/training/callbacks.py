"""Callbacks of the fit helper: throughput timing, history, and the standard Keras set.

Example:

    cbs = run_dir_callbacks(run_paths(run_dir), resume=True)
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import keras

from keras_lstm_opt.training.best import save_weights

log = logging.getLogger("keras_lstm_opt")


class ThroughputTimer(keras.callbacks.Callback):
    """Times the training part of each epoch (validation excluded) and counts steps.

    Batch indices give the step count, so a call per chunk of `steps_per_execution`
    steps, or an epoch resumed half-way, still counts every step once.
    """

    def __init__(self) -> None:
        super().__init__()
        self.train_seconds = 0.0
        self.steps = 0
        self.epochs = 0
        self._start = self._last = 0.0
        self._first: int | None = None
        self._end = 0
        self.last_loss = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = self._last = time.perf_counter()
        self._first, self._end = None, 0

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self._first is None:
            self._first = batch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._last = time.perf_counter()
        self._end = batch + 1
        self.last_loss = float((logs or {}).get("loss", 0.0))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.train_seconds += self._last - self._start
        self.steps += self._end - (self._first or 0)
        self.epochs += 1


class ProfileWindow(keras.callbacks.Callback):
    """Profile steps [start, start + num_steps) into `logdir`, each step marked for xprof.

    Keras 3's TensorBoard(profile_batch=...) writes profiles in which xprof finds no
    step; a root `Trace("train", step_num=..., _r=1)` around each step fixes that.
    """

    def __init__(self, logdir: str, start: int, num_steps: int) -> None:
        super().__init__()
        self.logdir, self.start, self.stop = logdir, start, start + num_steps
        self.step = 0
        self._trace: Any = None
        self._active = False

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        import tensorflow as tf

        if self.step == self.start and not self._active:
            tf.profiler.experimental.start(self.logdir)
            self._active = True
        if self._active:
            self._trace = tf.profiler.experimental.Trace("train", step_num=self.step, _r=1)
            self._trace.__enter__()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:

        if self._trace is not None:
            self._trace.__exit__(None, None, None)
            self._trace = None
        self.step += 1
        if self._active and self.step >= self.stop:
            self._finish()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._active:
            self._finish()

    def _finish(self) -> None:
        import glob

        import tensorflow as tf

        from keras_lstm_opt.training.xplane_steps import fold_loop_iterations

        tf.profiler.experimental.stop()
        self._active = False
        planes = sorted(
            glob.glob(os.path.join(self.logdir, "plugins", "profile", "*", "*.xplane.pb"))
        )
        if planes:  # a copy in which xprof finds the steps of a while_loop LSTM
            fold_loop_iterations(planes[-1])


def verbosity(mode: str) -> int:
    """Keras verbose level: a progress bar on a terminal, one line per epoch otherwise."""
    import sys

    if mode == "auto":
        return 1 if sys.stdout.isatty() else 2
    return {"bar": 1, "epoch": 2, "silent": 0}[mode]


class LastWeights(keras.callbacks.Callback):
    """`latest.weights.h5` once, when training ends: the last epoch's weights, written
    before `BestWeights` restores the best (atomically, without the optimizer's
    variables). Each epoch's state is in the run's backup (training/backup.py), so a
    second weights file per epoch only cost time."""

    def __init__(self, filepath: str) -> None:
        super().__init__()
        self.filepath = filepath
        self._trained = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._trained = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._trained:
            save_weights(self.model, self.filepath)


class LoggedEarlyStopping(keras.callbacks.EarlyStopping):
    """Keras's EarlyStopping that says in one log line when and why it stopped (the
    best weights are restored by `best.BestWeights`, across resumes)."""

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0:
            log.info(
                "early stopping after epoch %d: %s did not improve for %d epoch(s) "
                "(train.early_stopping_patience)",
                self.stopped_epoch + 1,
                self.monitor,
                self.patience,
            )


class Deadline(keras.callbacks.Callback):
    """Stop at the first epoch end at or after `deadline` (a `time.time()` value): a
    time-boxed run (`tune --budget`) ends with its best epoch so far. The decision is
    this process's own clock: for one-process runs, as tuning trials are.

    Example:

        trainer.fit(data, epochs=50, callbacks=[Deadline(time.time() + 600)])
    """

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if time.time() >= self.deadline and not self.model.stop_training:
            self.model.stop_training = True
            log.info("time budget reached: stopping after epoch %d", epoch + 1)


def monitored(monitor: str, has_validation: bool) -> str:
    """The metric `monitor` names, without `val_` when there is no validation."""
    return monitor if has_validation else monitor.removeprefix("val_")


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """`keras.callbacks.TensorBoard(update_freq="epoch")` without its per-batch summaries.

    Keras 3's TensorBoard calls `tf.summary.scalar` for every log value at every batch,
    even when only epoch summaries are written (no batch writer is active, so each
    call writes nothing): a measurable share of a small model's step (docs/measurements.md).
    Graph writing and profiler traces (`profile_batch`) work as in Keras.

    Args:
        log_dir: where the event files go.
        **kwargs: as `keras.callbacks.TensorBoard`, apart from `update_freq`.
    """

    def __init__(self, log_dir: str, **kwargs: Any) -> None:
        super().__init__(log_dir, update_freq="epoch", **kwargs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        super().on_train_batch_end(batch, None)


def run_dir_callbacks(paths: dict[str, str], resume: bool) -> list[keras.callbacks.Callback]:
    """What a run directory gets: latest weights (at the end), history.csv and TensorBoard
    logs (best weights: `best.BestWeights`; backups: training/backup.py)."""
    return [
        LastWeights(paths["latest"]),
        keras.callbacks.CSVLogger(paths["history"], append=resume),
        EpochTensorBoard(paths["tensorboard"], write_graph=False),
    ]
