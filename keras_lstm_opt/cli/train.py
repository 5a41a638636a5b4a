"""`keras-lstm-opt train`: the config and the run directory checked, and the run
directory's lock taken (one writer per run directory: a second `train` into it exits 2
at once, naming the first), before TensorFlow loads; the fit, the summary, and the
resume command in every stop message.

Example (what the CLI does):

    keras-lstm-opt train --set train.epochs=2 --run-dir runs/a
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def _resume_command(args: argparse.Namespace, run_dir: str) -> str:
    import shlex

    words = ["keras-lstm-opt", "train", *([args.config] if args.config else [])]
    for item in args.overrides:
        words += ["--set", item]
    return shlex.join([*words, "--run-dir", run_dir])


def _is_chief() -> bool:
    """Whether this process writes the run directory: one alone, or a cluster's chief
    (a malformed TF_CONFIG: yes here; the fit reports it)."""
    from keras_lstm_opt.distribute.tf_config import cluster_from_env
    from keras_lstm_opt.errors import TFConfigError

    try:
        cluster = cluster_from_env(check_port=False)
    except TFConfigError:
        return True
    return cluster is None or cluster.is_chief


def train(args: argparse.Namespace, tensorflow: Callable[[], None]) -> int:
    """`keras-lstm-opt train`: check config and run dir, and take the run directory's
    lock (the chief), before TensorFlow loads (`tensorflow()` loads it); fit, print the
    summary; 0 on success."""
    from keras_lstm_opt.config import load_config
    from keras_lstm_opt.io.fs import s3fs_path
    from keras_lstm_opt.io.paths import is_remote
    from keras_lstm_opt.training.run_dir import default_run_dir
    from keras_lstm_opt.training.run_lock import hold

    cfg = load_config(args.config, args.overrides)  # before TensorFlow: mistakes at once
    run_dir = args.run_dir or default_run_dir()
    if s3fs_path(run_dir):  # reachable, and not finished, at once
        from keras_lstm_opt.io.storage import check_paths

        check_paths({"run_dir": run_dir})
    checked = not is_remote(run_dir) or s3fs_path(run_dir)  # the others need TensorFlow
    # one writer per run directory (the Trainer locks the others); also the check that
    # the run directory can be written
    lock = hold(run_dir) if checked and _is_chief() else None
    try:  # remote shards are staged: the stage directory too, before TensorFlow
        from keras_lstm_opt.io.staging import check_stage_dir

        check_stage_dir(cfg.data)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    try:
        return _train(args, cfg, run_dir, tensorflow, checked)
    finally:
        if lock is not None:
            lock.release()


def _train(
    args: argparse.Namespace, cfg: Any, run_dir: str, tensorflow: Callable[[], None], checked: bool
) -> int:
    from keras_lstm_opt.training.run_dir import check_run_dir

    if checked:
        check_run_dir(run_dir, args.overwrite, how="--overwrite")
    tensorflow()
    from keras_lstm_opt.errors import PeerLostError, TrainingInterrupted
    from keras_lstm_opt.experiment import fit

    try:
        metrics = fit(cfg, run_dir=run_dir, overwrite=args.overwrite)
    except TrainingInterrupted as exc:
        if not exc.saved:  # while waiting for peers: the message says what was kept
            raise TrainingInterrupted(
                f"{str(exc).removeprefix('stopped ')}; to continue, "
                f"run again:\n  {_resume_command(args, run_dir)}",
                exc.signum,
                exc.reason,
                saved=False,
                backup_step=exc.backup_step,
            ) from exc
        raise TrainingInterrupted(
            f"{exc.reason.removeprefix('stopped ')}; the backup is "
            f"saved; resume with:\n  {_resume_command(args, run_dir)}",
            exc.signum,
            exc.reason,
        ) from None
    except PeerLostError as exc:  # one paragraph: what is gone, what is kept, what to run
        raise type(exc)(
            f"{exc} When every worker can run again, start this same command "
            f"on each (it resumes): {_resume_command(args, run_dir)}",
            exc.task,
            exc.step,
            exc.backup_step,
        ) from exc
    keys = [
        k
        for k in (
            "val_accuracy",
            "val_mae",
            "known_best_accuracy",
            "fraction_of_known_best",
            "baseline_mae",
            "improvement_over_baseline",
            "best_baseline",
            "best_baseline_mae",
            "train_seconds",
            "train_loop_seconds",
            "samples_per_second",
            "epochs_completed",
            "weights",
            "best_epoch",
            "num_replicas",
            "weights_digest",
        )
        if k in metrics
    ]
    if not metrics.get("is_chief", True):
        print(
            f"\nworker done (the chief writes {run_dir}); weights_digest "
            f"{metrics['weights_digest']}"
        )
        return 0
    print(f"\nrun directory: {run_dir}")
    for k in keys:
        v = metrics[k]
        print(f"  {k:<26} {v:.4f}" if isinstance(v, float) else f"  {k:<26} {v}")
    return 0
