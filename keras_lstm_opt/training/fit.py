"""The fit helper: config -> data -> strategy -> model -> training -> run directory.

Example:

    metrics = fit("configs/text.yaml", run_dir="runs/text", overrides=["train.epochs=3"])
    metrics["val_accuracy"]
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
from typing import Any

from keras_lstm_opt.config import ExperimentConfig, load_config, save_config
from keras_lstm_opt.data.diagnose import find_bad_record
from keras_lstm_opt.data.pipeline import DataFiles, make_dataset, resolve_files
from keras_lstm_opt.data.schema import DataError, parse_spec
from keras_lstm_opt.data.storage import check_paths, config_paths
from keras_lstm_opt.distribute.strategy import get_strategy
from keras_lstm_opt.errors import TrainingError, TrainingInterrupted
from keras_lstm_opt.logs import ensure_visible
from keras_lstm_opt.models.cudnn import require_cudnn
from keras_lstm_opt.models.factory import build_model
from keras_lstm_opt.models.heads import head_for
from keras_lstm_opt.paths import is_remote
from keras_lstm_opt.resources import configure_threads
from keras_lstm_opt.training.artifacts import (
    plot_curves,
    run_paths,
    sync_dir,
    weights_digest,
    write_json_atomic,
)
from keras_lstm_opt.training.backup import Backup
from keras_lstm_opt.training.best import BestWeights, best_epoch, monitor_mode
from keras_lstm_opt.training.callbacks import (
    ProfileWindow,
    monitored,
    standard_callbacks,
    verbosity,
)
from keras_lstm_opt.training.loop import make_evaluator, run_loop
from keras_lstm_opt.training.optim import make_optimizer
from keras_lstm_opt.training.run_dir import (
    check_run_dir,
    clear_run_dir,
    default_run_dir,
    resolve_run_dir,
)

log = logging.getLogger("keras_lstm_opt")


def _as_config(config: ExperimentConfig | str | None, overrides: list[str]) -> ExperimentConfig:
    if isinstance(config, ExperimentConfig):
        if overrides:
            from keras_lstm_opt.config import config_from_dict, config_to_dict

            return config_from_dict(config_to_dict(config), "<config>", overrides)
        return config
    return load_config(config, overrides)


def _diagnosed(exc: Exception, files: DataFiles, data: Any) -> Exception:
    """A DataError naming the bad shard and record, if a scan finds one."""
    problem = find_bad_record(files.train + files.validation, files.compression,
                              parse_spec(files.schema),
                              files.schema if data.validate else None, data.max_length,
                              data.too_long)
    return DataError(f"bad training data: {problem}") if problem else exc


def compile_model(cfg: ExperimentConfig, schema: dict[str, Any], total_steps: int) -> Any:
    """Build the model for `schema` and compile it with the configured optimizer."""
    if cfg.model.lstm == "fast":  # compile FastLSTM's kernels now (once per machine), not
        from keras_lstm_opt.models.kernels import load_kernels  # inside the first step

        load_kernels()  # logs one line when it compiles
    model = build_model(cfg.model, schema, precision=cfg.train.precision)
    if cfg.model.require_cudnn:
        require_cudnn(model)
    head = head_for(schema)
    # The loop (training/loop.py) clips the gradient summed over replicas and applies
    # train.steps_per_execution and train.jit_compile itself; compile() gives the model
    # its optimizer (for callbacks and backups) and a loss for whoever loads model.keras.
    model.compile(optimizer=make_optimizer(cfg.train, total_steps, cfg.train.precision,
                                           clip=cfg.train.precision == "mixed_float16"),
                  loss=head.loss, metrics=[head.metric])
    return model


def _reference(schema: dict[str, Any], metric: str) -> dict[str, float]:
    info = schema.get("info", {})
    ref = {}
    if "known_best_accuracy" in info:
        ref[f"{metric}:known best"] = info["known_best_accuracy"]
    if "baseline_mae" in info:
        ref[f"{metric}:seasonal naive"] = info["baseline_mae"]
    return ref


def _quality(schema: dict[str, Any], final: dict[str, float]) -> dict[str, Any]:
    """Validation results set against the dataset's known best or baseline."""
    info, out = schema.get("info", {}), {}
    if "known_best_accuracy" in info and "val_accuracy" in final:
        out["known_best_accuracy"] = info["known_best_accuracy"]
        out["fraction_of_known_best"] = final["val_accuracy"] / info["known_best_accuracy"]
    if "baseline_mae" in info and "val_mae" in final:
        out["baseline_mae"] = info["baseline_mae"]
        out["improvement_over_baseline"] = 1.0 - final["val_mae"] / info["baseline_mae"]
    return out


def fit(config: ExperimentConfig | str | None = None, run_dir: str | None = None,
        overrides: list[str] | tuple[str, ...] = (), overwrite: bool = False,
        ) -> dict[str, Any]:
    """Train from a config and write the run directory; return the metrics.

    Args:
        config: an ExperimentConfig, a YAML path, or None for the defaults.
        run_dir: where artifacts go (default `runs/<timestamp>`; required for
            multi-worker runs), relative to the current directory or absolute (made
            absolute once, here) or remote. Rerunning on the same directory resumes an
            unfinished run from its last backup when `train.resume` is true.
        overrides: `key=value` strings applied on top of the config.
        overwrite: replace a finished run in `run_dir` (else RunDirError).

    Returns:
        The contents of metrics.json (on every worker; only the chief writes files).

    Raises:
        ConfigError: the config is invalid (nothing is written).
        TFConfigError: TF_CONFIG is malformed (nothing is written).
        DataError: the data cannot be read; names the file and record.
        StorageError: a remote path this install cannot reach (nothing is written).
        RunDirError: `run_dir` holds a finished run and `overwrite` is false.
        TrainingError: the loss became NaN or Inf.
        TrainingInterrupted: SIGINT/SIGTERM; the backup is saved and the message says
            how to resume.
    """
    import keras
    import tensorflow as tf

    cfg = _as_config(config, list(overrides))
    ensure_visible()
    given_run_dir = run_dir
    run_dir = resolve_run_dir(run_dir) if run_dir is not None else None
    d = cfg.distribute
    threads = configure_threads(d.intra_op_threads, d.inter_op_threads, cfg.data.threads,
                                fused_lstm=cfg.model.lstm == "fast")
    strategy, cluster = get_strategy(cfg.distribute)  # before any other TF work
    if cluster is not None and run_dir is None:
        raise TrainingError("multi-worker runs need an explicit --run-dir (the same on every "
                            "worker) so that workers can find the chief's backup")
    check_paths(config_paths(cfg, run_dir))  # remote paths need the io extra
    files = resolve_files(cfg.data)  # fails before the run directory is touched
    head = head_for(files.schema)
    batch = cfg.train.batch_size
    replicas = strategy.num_replicas_in_sync
    if batch % replicas:
        raise TrainingError(f"train.batch_size {batch} is not divisible by the {replicas} "
                            f"replicas; use a multiple of {replicas}")
    run_dir = run_dir or resolve_run_dir(default_run_dir())
    is_chief = cluster is None or cluster.is_chief
    state = check_run_dir(run_dir, overwrite)
    if state == "finished" and is_chief:
        log.info("overwrite: removed the earlier run's %s from %s",
                 ", ".join(clear_run_dir(run_dir)), run_dir)
    # A remote run directory is staged locally and copied out after the config is
    # written and at the end; backups go straight to it (that is what resume reads).
    staged = is_chief and is_remote(run_dir)
    out_dir = run_dir if is_chief and not staged else tempfile.mkdtemp(
        prefix="klo-stage-" if staged else "klo-worker-")
    paths = run_paths(out_dir)
    os.makedirs(paths["checkpoints"], exist_ok=True)
    save_config(cfg, paths["config"])
    if staged:
        sync_dir(out_dir, run_dir)
    keras.utils.set_random_seed(cfg.train.seed)
    if cfg.data.deterministic:
        tf.config.experimental.enable_op_determinism()

    n_train = _split_examples(files, "train")
    steps = cfg.train.steps_per_epoch or max(1, math.ceil((n_train or batch) / batch))
    with strategy.scope():
        model = compile_model(cfg, files.schema, steps * cfg.train.epochs)
        backup = Backup(model, run_paths(run_dir)["backup"], is_chief, cfg.train.resume,
                        cfg.train.keep_backups, cfg.train.backup_copy_to)

    def dataset_fn(ctx: Any, done_steps: int) -> Any:
        ds = make_dataset(cfg.data, files.schema, files.train,
                          ctx.get_per_replica_batch_size(batch), training=True,
                          compression=files.compression, seed=cfg.train.seed, repeat=True,
                          input_context=ctx)
        per_pipeline = ctx.num_replicas_in_sync // ctx.num_input_pipelines
        return ds.skip(done_steps * per_pipeline) if done_steps else ds

    val_ds = make_dataset(cfg.data, files.schema, files.validation, batch, training=False,
                          compression=files.compression) if files.validation else None
    monitor = monitored(cfg.train, val_ds is not None)
    shared = run_paths(run_dir)  # the chief's, also read by the other workers
    before = best_epoch(shared["history"], monitor, monitor_mode(monitor)) \
        if cfg.train.resume and not is_remote(run_dir) else None
    callbacks, timer = standard_callbacks(cfg.train, paths, val_ds is not None,
                                          before[1] if before else None)
    best = BestWeights(monitor, cfg.train.restore_best_weights, before, shared["best"])
    callbacks.append(best)
    if cfg.profile.start_step and is_chief:
        callbacks.append(ProfileWindow(paths["tensorboard"], cfg.profile.start_step,
                                       cfg.profile.num_steps))
    log.info("training %s: %d params, %d steps/epoch, global batch %d, %d replica(s)%s -> %s",
             model.name, model.count_params(), steps, batch, replicas,
             f", worker {cluster.task_type}:{cluster.task_index}" if cluster else "", run_dir)
    evaluate = make_evaluator(model, head)
    start = time.perf_counter()
    try:
        hist, guard = run_loop(model, strategy, dataset_fn, val_ds, head, cfg.train, steps,
                        callbacks, backup, verbosity(cfg.train.verbose) if is_chief else 0,
                        evaluate)
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError, UnicodeDecodeError) as exc:
        raise _diagnosed(exc, files, cfg.data) from exc
    except tf.errors.OutOfRangeError:
        raise DataError(f"no examples could be read from {len(files.train)} training "
                        f"shard(s) in {files.directory} (empty files?)") from None
    except TrainingInterrupted as exc:
        if out_dir != run_dir:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise TrainingInterrupted(f"{exc}; the backup is in {run_paths(run_dir)['backup']}: "
                                  f"train into the same run directory to resume ("
                                  f"run_dir={given_run_dir or run_dir!r})", exc.signum,
                                  exc.reason) from None
    wall = time.perf_counter() - start
    blow_up = guard.exhausted
    if blow_up or any(not math.isfinite(v) for v in hist.get("loss", [])):
        backup.close(remove_backup=False)
        raise TrainingError(f"training stopped: {blow_up or 'loss became NaN/Inf'}; lower "
                            f"train.learning_rate or set train.global_clipnorm ({run_dir})")
    final = {f"val_{k}": v for k, v in evaluate(val_ds).items()} if val_ds else {}
    digest = weights_digest(model)
    resumed = backup.resumed_step
    metrics = {
        **final,
        # training loss and metric of the epoch whose weights model.keras holds
        "loss": best.kept_logs.get("loss", hist["loss"][-1] if hist.get("loss") else None),
        head.metric: best.kept_logs.get(head.metric, hist[head.metric][-1]
                                        if hist.get(head.metric) else None),
        **_quality(files.schema, final),
        "train_seconds": wall,
        "train_loop_seconds": timer.train_seconds,
        "samples_per_second": timer.steps * batch / timer.train_seconds
        if timer.train_seconds else 0.0,
        "num_replicas": replicas,
        "num_workers": cluster.num_workers if cluster else 1,
        "is_chief": is_chief,
        "epochs_completed": resumed // steps + timer.epochs,
        "steps_completed": resumed + timer.steps,
        "resumed_from_step": resumed,
        "resume_seconds": backup.restore_seconds,
        "resumed_from": backup.restored_from,
        **best.summary(),
        "rollbacks": guard.rollbacks,
        "threads": threads,
        "global_batch_size": batch,
        "weights_digest": digest,
        "params": model.count_params(),
        "task": files.schema.get("task"),
        "data": files.directory,
    }
    log.info("worker %d weights_digest %s", cluster.task_index if cluster else 0, digest)
    if is_chief:
        model.save(paths["model"])
        plot_curves(hist, paths["curves"], f"{model.name} on {cfg.data.path or cfg.data.task}",
                    _reference(files.schema, head.metric))
        write_json_atomic(paths["metrics"], metrics)
        if staged:
            log.info("copied %d files to %s", sync_dir(out_dir, run_dir), run_dir)
    if out_dir != run_dir:
        shutil.rmtree(out_dir, ignore_errors=True)
    backup.close(remove_backup=True)
    log.info("done in %.1f s: %s", wall, {k: metrics[k] for k in final})
    return metrics


def _split_examples(files: DataFiles, split: str) -> int | None:
    """Examples in a split as recorded in the schema, when the files are exactly those."""
    info = files.schema.get("splits", {}).get(split, {})
    chosen = files.train if split == "train" else files.validation
    if sorted(info.get("files", [])) == sorted(os.path.basename(f) for f in chosen):
        return info.get("examples")
    return None
