"""The epoch loop: Keras callbacks driven by hand around the compiled step function.

Keras 3's `model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585),
so every strategy trains through this loop (and `Trainer` in front of it): one code
path, the same callbacks, metrics and artifacts on one device, on mirrored devices and
across workers.

* Train metrics are summed over replicas each step; validation runs on every worker
  over the whole validation set (identical weights give identical results).
* `Backup` saves model, optimizer and step when the newest backup is
  `backup_every_seconds` old (and at most 5% of the time: every 20 saves' durations), at
  the first epoch end of each process, and every `backup_every_steps` if set; a restarted
  run resumes at that step and skips the batches already consumed. The chief's clock
  decides: its flag rides in the step's all-reduce like a signal's, so every worker saves
  after the same step (a save is collective). A backup every epoch end of a 2-second
  epoch cost a fifth of the epoch (docs/measurements.md).
* A signal (SIGINT, SIGTERM) on any worker stops every worker after the same step: the
  flag rides in the step's all-reduce; all save the backup and raise
  `TrainingInterrupted` with that signal. (TensorFlow's PreemptionCheckpointHandler
  agrees on a step through the coordination service with watcher threads, handles
  SIGTERM only, keeps its own one-deep checkpoint directories and leaves through an
  `exit_fn`; our step already all-reduces every step, so the flag costs nothing and the
  backups keep their fallbacks, copies and resume.)
* A step still blocked on its peers a few seconds after a signal is aborted (the
  watchdog's `interrupt`): `TrainingInterrupted` without a new backup. A lost peer (its
  collectives fail) ends the run with `PeerLostError`: which task is gone, the step, the
  last backup's step; anything else TensorFlow raises propagates as it is.
* A chief whose run directory lock was taken over by another process (`stop.lost()`,
  a remote lock whose heartbeat stalled) stops every worker the same way, the flag
  `LOCK_LOST` in the all-reduce, but saves no backup: the directory is the other
  process's now. It raises `TrainingError` naming that process (exit status 1).

Example:

    loop = EpochLoop(model, train_step, iterator, callbacks, backup, guard, opts,
                     steps_per_epoch=100, metrics=metrics)
    loop.run(epochs=3, start_step=backup.restore())
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Sequence
from typing import Any

import keras
import tensorflow as tf

from keras_lstm_opt.distribute.peers import lost_peer
from keras_lstm_opt.distribute.tf_config import cluster_from_env
from keras_lstm_opt.distribute.watchdog import signal_name
from keras_lstm_opt.errors import PeerLostError, TrainingError, TrainingInterrupted
from keras_lstm_opt.training.backup import Backup
from keras_lstm_opt.training.guard import BlowUpGuard, StopSignals
from keras_lstm_opt.training.optim import current_learning_rate
from keras_lstm_opt.training.options import LoopOptions
from keras_lstm_opt.training.steps import SUMS, Evaluator, TrainStep

# A test hook, not an option: the weights turn NaN once at this step (the rollback's tests)
NAN_AT_STEP_ENV = "KLO_TEST_NAN_AT_STEP"
LOCK_LOST = 255  # the stop flag of a chief that lost its run directory's lock (no signal)


class EpochLoop:
    """Args:
    model: the compiled model being trained.
    train_step: a `steps.TrainStep`.
    iterator: the distributed iterator over (repeated) training batches.
    callbacks: a `keras.callbacks.CallbackList` (with History).
    backup: saves and restores model, optimizer and step.
    guard: the blow-up guard (rollbacks).
    opts: the loop options.
    steps_per_epoch: steps per epoch.
    metrics: the train metrics the step updates (reset every epoch).
    evaluate / val_data: the validation pass at each epoch end (optional).
    stop: the signal handlers, held by the caller around `run`.
    """

    def __init__(
        self,
        model: keras.Model,
        train_step: TrainStep,
        iterator: Iterator[Any],
        callbacks: keras.callbacks.CallbackList,
        backup: Backup,
        guard: BlowUpGuard,
        opts: LoopOptions,
        steps_per_epoch: int,
        metrics: Sequence[keras.metrics.Metric] = (),
        evaluate: Evaluator | None = None,
        val_data: tf.data.Dataset | None = None,
        stop: StopSignals | None = None,
    ) -> None:
        self.model, self.train_step, self.iterator = model, train_step, iterator
        self.callbacks, self.backup, self.guard, self.opts = callbacks, backup, guard, opts
        self.steps_per_epoch = steps_per_epoch
        self.metrics, self.evaluate, self.val_data = list(metrics), evaluate, val_data
        self.global_step = 0
        self.saved_step: int | None = None  # the newest backup's step (None: none yet)
        self.examples = 0.0  # examples and steps this process trained (samples/s)
        self.steps_run = 0
        self.largest_batch = 0.0  # the most examples in one step: the global batch size
        self.stop = stop or StopSignals()  # entered by the caller (FitSession)
        self._injected = False
        self._nan_at = int(os.environ.get(NAN_AT_STEP_ENV) or 0)  # read once, not per step
        self._started = 0.0
        self._last_backup = 0.0  # perf_counter when the newest backup ended (chief's clock)
        self._backup_seconds = 0.0  # how long it took
        self._due = False  # the last step's all-reduced "a backup is due" flag
        self.backups_saved = 0
        self.backup_seconds = 0.0  # all of this process's saves together

    def run(self, epochs: int, start_step: int = 0) -> dict[str, list[float]]:
        """Train up to epoch `epochs` from `start_step`; return the Keras history dict."""
        model, cb = self.model, self.callbacks
        model.stop_training = False
        self._started = self._last_backup = time.perf_counter()
        self.global_step = start_step
        self.saved_step = start_step or None
        if self.train_step.watchdog.enabled:  # multi-worker: a blocked step is aborted
            self.stop.on_signal = self.train_step.watchdog.interrupt
        try:
            cb.on_train_begin()
            for epoch in range(start_step // self.steps_per_epoch, epochs):
                cb.on_epoch_begin(epoch)
                self._epoch(epoch)
                if model.stop_training:
                    break
            cb.on_train_end()
        except tf.errors.OpError as exc:
            failure = self._failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        history = model.history.history if model.history else {}
        return {k: [float(v) for v in vals] for k, vals in history.items()}

    @staticmethod
    def _logs(sums: dict[str, float], results: dict[str, Any]) -> dict[str, float]:
        count = max(sums["count"], 1.0)
        logs = {"loss": (sums["loss_sum"] + sums["reg"]) / count}
        logs.update({k: float(v) for k, v in results.items()})
        return logs

    def _epoch(self, epoch: int) -> None:
        """One epoch from `self.global_step`."""
        opts, steps = self.opts, self.steps_per_epoch
        sums = dict.fromkeys(SUMS, 0.0)
        for m in self.metrics:
            m.reset_state()
        step = self.global_step - epoch * steps
        logs: dict[str, float] = {}
        began = time.perf_counter()
        while step < steps and not self.model.stop_training:
            n = min(opts.steps_per_execution, steps - step)
            self.callbacks.on_train_batch_begin(step)
            signum = float(self.stop.signum or (LOCK_LOST if self.stop.lost() else 0))
            out, results = self.train_step(
                self.iterator, tf.constant(n), tf.constant(signum), tf.constant(self._clock_due())
            )
            values = dict(zip(SUMS, tf.stack([out[k] for k in SUMS]).numpy(), strict=True))
            chunk_loss = float((values["loss_sum"] + values["reg"]) / max(values["count"], 1))
            restored = self.guard.check(chunk_loss, self.global_step + n)
            if restored is not None:  # rolled back: redo the steps from the backup
                sums = dict.fromkeys(SUMS, 0.0)
                for m in self.metrics:
                    m.reset_state()
                self.global_step = max(restored, epoch * steps)
                step = self.global_step - epoch * steps
                continue
            if self.guard.exhausted:
                self.model.stop_training = True
                return
            for k in ("loss_sum", "count", "reg"):
                sums[k] += float(values[k])
            self.examples += float(values["count"])
            self.largest_batch = max(self.largest_batch, float(values["largest"]))
            self.steps_run += n
            logs = self._logs(sums, results)
            step += n
            self.global_step += n
            self.callbacks.on_train_batch_end(step - 1, logs)
            if values["stop_count"] > 0:  # signalled, or the lock lost: all stop here
                self._stop(float(values["stop_signal"] / values["stop_count"]))
            self._due = values["backup_due"] > 0
            every = opts.backup_every_steps
            if (every and self.global_step % every < n) or (self._due and step < steps):
                self._save()  # at the epoch's last step: after its validation, below
            self._inject_nan()
        trained = time.perf_counter() - began  # this epoch's steps, validation apart
        if self.val_data is not None and self.evaluate and not self.model.stop_training:
            logs.update({f"val_{k}": v for k, v in self.evaluate(self.val_data).items()})
        logs["learning_rate"] = current_learning_rate(self.model.optimizer)
        logs["wall_seconds"] = time.perf_counter() - self._started
        logs["epoch_train_seconds"] = trained
        self.callbacks.on_epoch_end(epoch, logs)
        # the first epoch end of each process saves one (a run killed again and again
        # before the clock's first backup would never move on)
        due = not opts.backup_every_seconds or not self.backups_saved or self._due
        if due and self.saved_step != self.global_step:  # not twice at one step
            self._save()

    def _save(self) -> None:
        if self.stop.lost() or not self.backup.directory:  # another process's directory
            return  # (the stop comes with the next step), or none to save into
        began = time.perf_counter()
        self.backup.save(self.global_step)
        self.saved_step = self.global_step
        for cb in self.callbacks.callbacks:  # e.g. best weights written with each backup
            hook = getattr(cb, "on_backup", None)
            if hook is not None:
                hook()
        self._last_backup = time.perf_counter()  # the weights files count in the 5% too
        self._backup_seconds = self._last_backup - began
        self.backups_saved += 1
        self.backup_seconds += self._backup_seconds
        self._due = False

    def _clock_due(self) -> float:
        """1.0 when the chief's clock says a backup is due after this step."""
        every = self.opts.backup_every_seconds
        if not every or not self.backup.is_chief or not self.backup.directory:
            return 0.0
        wait = max(every, 20 * self._backup_seconds)  # backups: at most 5% of the time
        return float(time.perf_counter() - self._last_backup >= wait)

    def _kept(self) -> str:
        """What a rerun resumes from."""
        if not self.backup.directory:
            return "no run_dir was given, so no backup was kept"
        if self.saved_step is None:
            return "no backup was written yet, so a rerun starts from step 0"
        return f"the last backup is at step {self.saved_step} ({self.backup.directory})"

    def _failure(self, exc: tf.errors.OpError) -> BaseException:
        """What to raise for `exc`: a signal's stop, a lost peer, or `exc` itself."""
        watchdog = self.train_step.watchdog
        cluster = cluster_from_env(check_port=False) if watchdog.enabled else None
        lost = lost_peer(exc, cluster) if cluster is not None else None
        # A stop was asked and the step then failed waiting for its peers: whether the
        # watchdog's grace ran out first or TensorFlow's heartbeat check found a stopped
        # peer first (a race on a loaded machine), it is the asked-for stop (128 + signal)
        signum = watchdog.interrupted
        if signum is None and lost is not None:
            signum = watchdog.signalled
        if signum is not None:
            name = signal_name(signum)
            how = (
                f"{watchdog.grace:g} s after the signal"
                if lost is None or watchdog.interrupted is not None
                else f"after the signal ({lost.task}: {lost.how})"
            )
            return TrainingInterrupted(
                f"stopped by {name} at step {self.global_step}: the step still waited for "
                f"its peers {how} and was abandoned (no backup for it); {self._kept()}",
                signum,
                reason=f"stopped by {name} at step {self.global_step} while waiting for peers",
                saved=False,
                backup_step=self.saved_step,
            )
        if lost is None:
            return exc
        return PeerLostError(
            f"lost {lost.task} at step {self.global_step}: {lost.how}. The other workers "
            f"cannot go on without it; {self._kept()}.",
            lost.task,
            self.global_step,
            self.saved_step,
        )

    def _inject_nan(self) -> None:
        at = self._nan_at
        if at and not self._injected and self.global_step >= at:
            self._injected = True  # fault injection: the weights blow up
            first = self.model.trainable_variables[0]
            first.assign(first * float("nan"))

    def _stop(self, mean: float) -> None:
        """Stop every worker here: `mean` is the mean flag of those that asked."""
        lost = self.stop.lost()
        if lost or mean == LOCK_LOST:
            why = lost or (
                "the chief lost the lock of the run directory to another process (its log names it)"
            )
            raise TrainingError(
                f"training stopped at step {self.global_step}, writing nothing more: {why}"
            )
        signum = int(mean) if mean == int(mean) else int(signal.SIGTERM)
        self._save()
        name = signal_name(signum)
        here = "" if self.stop.signum else " on another worker"
        raise TrainingInterrupted(f"stopped by {name}{here} at step {self.global_step}", signum)
