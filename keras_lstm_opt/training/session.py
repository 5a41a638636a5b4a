"""One `Trainer.fit` call: run directory, callbacks, the loop, artifacts, clean exit.

The run directory (when there is one): the chief holds its lock from the start to `close`
(one writer per run directory, `run_lock`: another process training there is refused;
when another takes a remote lock over, training stops at the next step, writing nothing
more);
a finished run is refused unless `overwrite`; an unfinished one resumes from its backup.
The chief writes into it (a remote one is staged locally and copied out); other workers
write into private temporary directories. `close` removes every temporary directory and
private backup on every exit path (success, errors, signals), and releases the lock; the
chief's backup stays unless the run finished.

Example:

    session = FitSession(trainer, data, val, overwrite=False)
    try:
        metrics = session.run(epochs=3, callbacks=[], extra_files={}, metadata=None)
    finally:
        session.close()
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from keras_lstm_opt.errors import TrainingError, TrainingInterrupted, UsageError
from keras_lstm_opt.io import fs, tempdirs
from keras_lstm_opt.io.atomic import atomic_path
from keras_lstm_opt.io.atomic import write_json as write_json_atomic
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.io.storage import check_paths
from keras_lstm_opt.io.sync import pull_dir, sync_dir
from keras_lstm_opt.training.artifacts import plot_curves, run_paths, weights_digest
from keras_lstm_opt.training.backup import Backup
from keras_lstm_opt.training.best import BestWeights, best_epoch, drop_epochs_from, monitor_mode
from keras_lstm_opt.training.callbacks import (
    ProfileWindow,
    ThroughputTimer,
    monitored,
    run_dir_callbacks,
    verbosity,
)
from keras_lstm_opt.training.guard import BlowUpGuard, StopSignals
from keras_lstm_opt.training.inputs import TrainData
from keras_lstm_opt.training.loop import EpochLoop
from keras_lstm_opt.training.run_dir import check_run_dir, clear_run_dir
from keras_lstm_opt.training.run_lock import LOCAL_FILE, REMOTE_FILE, RunLock, hold
from keras_lstm_opt.training.steps import TrainStep, make_evaluator
from keras_lstm_opt.training.tracking import RunInfo, call_hooks

if TYPE_CHECKING:
    from keras_lstm_opt.training.trainer import Trainer

log = logging.getLogger("keras_lstm_opt")
Metadata = Mapping[str, Any] | Callable[[dict[str, float]], Mapping[str, Any]] | None


class FitSession:
    """Args:
    trainer: the Trainer (model, strategy, options, run directory).
    data: the training input, ready to distribute.
    val: the validation dataset or None.
    overwrite: replace a finished run in the run directory.
    """

    def __init__(
        self, trainer: Trainer, data: TrainData, val: tf.data.Dataset | None, overwrite: bool
    ) -> None:
        self.t, self.data, self.val = trainer, data, val
        self.run_dir = trainer.run_dir
        self.stop = StopSignals()
        self.out_dir: str | None = None
        self.staged = self.success = self.local_view = False
        self._seen: dict[str, tuple[int, float]] = {}  # staged files already copied out
        self.backup: Backup | None = None
        self.lock: RunLock | None = None
        try:
            self._open(overwrite)
        except BaseException:
            self.close()
            raise

    def _open(self, overwrite: bool) -> None:
        trainer, run_dir, opts = self.t, self.run_dir, self.t.options
        if run_dir is not None:
            tempdirs.sweep()
            check_paths({"run_dir": run_dir, "backup_copy_to": opts.backup_copy_to})
            if trainer.is_chief:  # one writer per run directory (again, if `train` has it)
                _check_savable(trainer.model)  # model.keras, before an epoch is spent
                self.lock = hold(run_dir)
                self.stop.lost_lock = self.lock.lost  # taken over: the loop stops
            if check_run_dir(run_dir, overwrite) == "finished" and trainer.is_chief:
                log.info(
                    "overwrite: removed the earlier run's %s from %s",
                    ", ".join(clear_run_dir(run_dir)),
                    run_dir,
                )
            self.staged = trainer.is_chief and is_remote(run_dir)
            self.out_dir = (
                run_dir
                if trainer.is_chief and not self.staged
                else tempdirs.make("stage" if self.staged else "worker")
            )
            os.makedirs(run_paths(self.out_dir)["checkpoints"], exist_ok=True)
            # a local view of the run dir: staged, or one TensorFlow and os cannot read
            self.local_view = self.staged or not fs.native(run_dir)
            if self.local_view and opts.resume:  # history and best weights of a resumed run
                pulled = pull_dir(
                    run_dir, self.out_dir, skip=("backup", "tensorboard", LOCAL_FILE, REMOTE_FILE)
                )
                for root, _, names in os.walk(self.out_dir):  # in the bucket already
                    for n in names:
                        st = os.stat(os.path.join(root, n))
                        self._seen[os.path.join(root, n)] = (st.st_size, st.st_mtime)
                if pulled:
                    log.info("pulled %d file(s) of the unfinished run from %s", pulled, run_dir)
        with trainer.strategy.scope():
            self.backup = Backup(
                trainer.model,
                run_paths(run_dir)["backup"] if run_dir else None,
                trainer.is_chief,
                opts.resume,
                opts.keep_backups,
                opts.backup_copy_to,
            )

    def _callbacks(
        self,
        user: list[keras.callbacks.Callback],
        monitor: str,
        before: tuple[int, float] | None,
    ) -> tuple[list[keras.callbacks.Callback], ThroughputTimer, BestWeights]:
        opts, timer = self.t.options, ThroughputTimer()
        files = run_paths(self.out_dir) if self.out_dir else None
        shared_dir = self.out_dir if self.local_view else self.run_dir
        shared = run_paths(shared_dir) if shared_dir else None
        cbs: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
        if files:
            cbs += run_dir_callbacks(files, opts.resume)
        if self.staged and self.out_dir and self.run_dir:  # out as it is written
            local, remote = self.out_dir, self.run_dir
            cbs.append(
                keras.callbacks.LambdaCallback(
                    on_epoch_end=lambda *_: self._sync_out(local, remote)
                )
            )
        cbs += [timer, *user]
        best = BestWeights(
            monitor,
            opts.restore_best_weights,
            before,
            shared["best"] if shared else None,
            files["best"] if files else None,
        )
        cbs.append(best)
        if opts.profile_start_step and self.t.is_chief and files:
            cbs.append(
                ProfileWindow(files["tensorboard"], opts.profile_start_step, opts.profile_num_steps)
            )
        return cbs, timer, best

    def run(
        self,
        epochs: int,
        callbacks: list[keras.callbacks.Callback],
        extra_files: Mapping[str, str],
        metadata: Metadata = None,
        title: str | None = None,
        reference: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        """Train and write the artifacts; return what metrics.json holds. SIGINT and
        SIGTERM are held from the restore to the last file written: during training
        they stop every worker after the same step; after the last step the run
        finishes (and the signal is only logged)."""
        with self.stop:
            run = RunInfo(self.run_dir, self.out_dir, self.t.is_chief)
            call_hooks(callbacks, "on_run_begin", run)  # trackers: before anything is written
            try:
                metrics = self._run(epochs, callbacks, extra_files, metadata, title, reference)
            except BaseException as exc:
                call_hooks(callbacks, "on_run_end", run, None, exc)
                raise
            call_hooks(callbacks, "on_run_end", run, metrics, None)
            return metrics

    def _run(
        self,
        epochs: int,
        callbacks: list[keras.callbacks.Callback],
        extra_files: Mapping[str, str],
        metadata: Metadata,
        title: str | None,
        reference: Mapping[str, float] | None,
    ) -> dict[str, Any]:
        t, opts, model = self.t, self.t.options, self.t.model
        assert self.backup is not None
        self._check_lock(None)
        if self.out_dir:
            for name, text in extra_files.items():
                with open(os.path.join(self.out_dir, name), "w", encoding="utf-8") as fh:
                    fh.write(text)
            if self.staged and self.run_dir:
                sync_dir(self.out_dir, self.run_dir, seen=self._seen)
        monitor = monitored(opts.monitor, self.val is not None)
        history_csv = (
            run_paths(self.out_dir if self.local_view else self.run_dir)["history"]
            if self.run_dir and self.out_dir
            else None
        )
        start_step = self.backup.restore() or 0
        steps = self.data.steps_per_epoch
        readable = bool(history_csv and opts.resume and not is_remote(history_csv))
        if (
            history_csv and readable and t.is_chief
        ):  # epochs after the backup run again: their rows go
            dropped = drop_epochs_from(history_csv, start_step // steps)
            if dropped:
                log.info("history.csv: %d epoch(s) after the backup will run again", dropped)
        before = (
            best_epoch(history_csv, monitor, monitor_mode(monitor), start_step // steps)
            if history_csv and readable
            else None
        )
        cbs, timer, best = self._callbacks(callbacks, monitor, before)
        guard = BlowUpGuard(self.backup, model.optimizer, opts)
        verbose = verbosity(opts.verbose) if t.is_chief else 0
        cb = keras.callbacks.CallbackList(
            cbs,
            add_history=True,
            add_progbar=verbose > 0,
            model=model,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
        )
        loop = EpochLoop(
            model,
            TrainStep(model, t.strategy, t.loss, t.train_metrics, opts),
            iter(self.data.distribute(start_step)),
            cb,
            self.backup,
            guard,
            opts,
            steps,
            t.train_metrics,
            make_evaluator(model, t.loss, t.eval_metrics),
            self.val,
            self.stop,
        )
        replicas = t.strategy.num_replicas_in_sync
        c = t.cluster
        log.info(
            "training %s: %d params, %d steps/epoch, %d replica(s)%s -> %s",
            model.name,
            model.count_params(),
            steps,
            replicas,
            f", worker {c.task_type}:{c.task_index}" if c else "",
            self.run_dir or "(no run directory)",
        )
        began, began_at = time.perf_counter(), time.time()
        try:
            hist = loop.run(epochs, start_step)
        except TrainingInterrupted as exc:
            where = (
                f"the backup is in {run_paths(self.run_dir)['backup']}: train into the "
                f"same run directory to resume (run_dir={t.given_run_dir!r})"
                if self.run_dir
                else "no run_dir was given, so nothing was saved"
            )
            raise TrainingInterrupted(
                f"{exc}; {where}", exc.signum, exc.reason, exc.saved, exc.backup_step
            ) from None
        wall = time.perf_counter() - began
        if guard.exhausted or any(not math.isfinite(v) for v in hist.get("loss", [])):
            raise TrainingError(
                f"training stopped: {guard.exhausted or 'loss became NaN/Inf'}"
                "; lower the learning rate (train.learning_rate) or clip the "
                "gradient (global_clipnorm, train.global_clipnorm)"
                f"{f' ({self.run_dir})' if self.run_dir else ''}"
            )
        call_hooks(callbacks, "on_final_weights", model)  # e.g. models.shrink
        final = (
            {f"val_{k}": v for k, v in loop.evaluate(self.val).items()}
            if self.val is not None and loop.evaluate
            else {}
        )
        metrics = self._metrics(final, hist, best, timer, loop, wall, began_at)
        extra = metadata(final) if callable(metadata) else metadata
        metrics.update(extra or {})
        log.info("worker %d weights_digest %s", c.task_index if c else 0, metrics["weights_digest"])
        if t.is_chief and self.out_dir and self.run_dir:
            self._check_lock(loop.global_step)
            paths = run_paths(self.out_dir)
            with atomic_path(paths["model"], suffix=".keras") as tmp:  # never half a model
                model.save(tmp)
            plot_curves(hist, paths["curves"], title or model.name, dict(reference or {}))
            write_json_atomic(paths["metrics"], metrics)
            if self.staged:
                log.info(
                    "copied %d files to %s",
                    sync_dir(self.out_dir, self.run_dir, seen=self._seen),
                    self.run_dir,
                )
        self.success = True
        log.info("done in %.1f s: %s", wall, final)
        return metrics

    def _sync_out(self, local: str, remote: str) -> None:
        """Copy what the epoch wrote out to the remote run directory, unless another
        process took its lock over (the loop stops at its next step)."""
        if not self.stop.lost():
            sync_dir(local, remote, seen=self._seen, skip=("metrics.json",))

    def _check_lock(self, step: int | None) -> None:
        """TrainingError when another process took the run directory's lock over (the
        loop stops at its next step; this catches it outside the loop)."""
        lost = self.stop.lost()
        if lost:
            where = f"at step {step}" if step is not None else "before its first step"
            raise TrainingError(f"training stopped {where}, writing nothing more: {lost}")

    def _metrics(
        self,
        final: dict[str, float],
        hist: dict[str, list[float]],
        best: BestWeights,
        timer: ThroughputTimer,
        loop: EpochLoop,
        wall: float,
        began_at: float,
    ) -> dict[str, Any]:
        t, backup, steps = self.t, self.backup, self.data.steps_per_epoch
        assert backup is not None
        names = ["loss", *(m.name for m in t.train_metrics)]
        per_step = loop.examples / max(loop.steps_run, 1)
        return {
            **final,
            # training loss and metrics of the epoch whose weights the model ends with
            **{k: best.kept_logs.get(k, hist[k][-1] if hist.get(k) else None) for k in names},
            "train_seconds": wall,
            "train_started_at": round(began_at, 3),  # Unix time; history's wall_seconds
            "train_loop_seconds": timer.train_seconds,
            "samples_per_second": timer.steps * per_step / timer.train_seconds
            if timer.train_seconds
            else 0.0,
            "num_replicas": t.strategy.num_replicas_in_sync,
            "num_workers": t.cluster.num_workers if t.cluster else 1,
            "is_chief": t.is_chief,
            "epochs_completed": backup.resumed_step // steps + timer.epochs,
            "steps_completed": backup.resumed_step + timer.steps,
            "resumed_from_step": backup.resumed_step,
            "resume_seconds": backup.restore_seconds,
            "resumed_from": backup.restored_from,
            "backups_saved": loop.backups_saved,  # this process's (signals' included)
            "backup_seconds": round(loop.backup_seconds, 3),
            **best.summary(),
            "rollbacks": loop.guard.rollbacks,
            "global_batch_size": round(loop.largest_batch),  # not the mean: a last, partial one
            "weights_digest": weights_digest(t.model),
            "params": t.model.count_params(),
        }

    def close(self) -> None:
        """Remove temporary directories and private backups (every exit path), then
        release the lock in `finally`: when removing a finished run's backup fails (a
        remote store's error), the error still propagates but the lock is released, or
        a notebook's process would keep the run directory locked until it exits."""
        try:
            if self.out_dir and self.out_dir != self.run_dir:
                shutil.rmtree(self.out_dir, ignore_errors=True)
            if self.backup is not None:
                self.backup.close(remove_backup=self.success)
        finally:
            if self.lock is not None:
                self.lock.release()


def _check_savable(model: keras.Model) -> None:
    """A model whose config Keras cannot write (a subclassed model whose constructor
    takes objects, without get_config) would train, then fail saving model.keras: refuse
    it before training, saying what to do."""
    try:
        keras.saving.serialize_keras_object(model)
    except (NotImplementedError, TypeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(
            f"model {model.name!r} cannot be saved as model.keras in the run directory "
            f"({reason[:200]}); give its class a get_config() that returns its constructor "
            "arguments (and @keras.saving.register_keras_serializable()), or train "
            "without run_dir"
        ) from None
