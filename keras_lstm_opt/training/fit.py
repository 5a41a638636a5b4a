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
import time
from typing import Any

from keras_lstm_opt.config import ExperimentConfig, load_config, save_config
from keras_lstm_opt.data.diagnose import find_bad_record
from keras_lstm_opt.data.pipeline import DataFiles, make_dataset, resolve_files
from keras_lstm_opt.data.schema import DataError, parse_spec
from keras_lstm_opt.distribute.strategy import get_strategy
from keras_lstm_opt.models.cudnn import require_cudnn
from keras_lstm_opt.models.factory import build_model
from keras_lstm_opt.models.heads import head_for
from keras_lstm_opt.training.artifacts import (
    plot_curves,
    run_paths,
    weights_digest,
    write_json_atomic,
)
from keras_lstm_opt.training.callbacks import standard_callbacks, verbosity
from keras_lstm_opt.training.optim import make_optimizer

log = logging.getLogger("keras_lstm_opt")


class TrainingError(RuntimeError):
    """Training stopped without a usable result (e.g. the loss became NaN)."""


def default_run_dir() -> str:
    return os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))


def _as_config(config: ExperimentConfig | str | None, overrides: list[str]) -> ExperimentConfig:
    if isinstance(config, ExperimentConfig):
        if overrides:
            from keras_lstm_opt.config import config_from_dict, config_to_dict

            return config_from_dict(config_to_dict(config), "<config>", overrides)
        return config
    return load_config(config, overrides)


def _diagnosed(exc: Exception, files: DataFiles) -> Exception:
    """A DataError naming the bad shard and record, if a scan finds one."""
    problem = find_bad_record(files.train + files.validation, files.compression,
                              parse_spec(files.schema))
    return DataError(f"bad training data: {problem}") if problem else exc


def compile_model(cfg: ExperimentConfig, schema: dict[str, Any], total_steps: int) -> Any:
    """Build the model for `schema` and compile it with the configured optimizer."""
    model = build_model(cfg.model, schema, precision=cfg.train.precision)
    if cfg.model.require_cudnn:
        require_cudnn(model)
    head = head_for(schema)
    model.compile(optimizer=make_optimizer(cfg.train, total_steps, cfg.train.precision),
                  loss=head.loss, metrics=[head.metric],
                  steps_per_execution=cfg.train.steps_per_execution,
                  jit_compile=cfg.train.jit_compile)
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
        overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """Train from a config and write the run directory; return the metrics.

    Args:
        config: an ExperimentConfig, a YAML path, or None for the defaults.
        run_dir: where artifacts go (default `runs/<timestamp>`). Rerunning on the
            same directory resumes an unfinished run when `train.resume` is true.
        overrides: `key=value` strings applied on top of the config.

    Returns:
        The contents of metrics.json.

    Raises:
        ConfigError: the config is invalid (nothing is written).
        DataError: the data cannot be read; names the file and record.
        TrainingError: the loss became NaN or Inf.
    """
    import keras
    import tensorflow as tf

    cfg = _as_config(config, list(overrides))
    files = resolve_files(cfg.data)  # fails before the run directory is touched
    head = head_for(files.schema)
    run_dir = run_dir or default_run_dir()
    paths = run_paths(run_dir)
    os.makedirs(paths["checkpoints"], exist_ok=True)
    if os.path.exists(paths["metrics"]):  # a previous result must not outlive this run
        os.remove(paths["metrics"])
    save_config(cfg, paths["config"])
    keras.utils.set_random_seed(cfg.train.seed)
    if cfg.data.deterministic:
        tf.config.experimental.enable_op_determinism()

    batch = cfg.train.batch_size
    n_train = _split_examples(files, "train")
    steps = cfg.train.steps_per_epoch or max(1, math.ceil((n_train or batch) / batch))
    strategy = get_strategy(cfg.distribute)
    with strategy.scope():
        model = compile_model(cfg, files.schema, steps * cfg.train.epochs)
    train_ds = make_dataset(cfg.data, files.schema, files.train, batch, training=True,
                            compression=files.compression, seed=cfg.train.seed,
                            repeat=bool(cfg.train.steps_per_epoch), num_examples=n_train)
    val_ds = make_dataset(cfg.data, files.schema, files.validation, batch, training=False,
                          compression=files.compression,
                          num_examples=_split_examples(files, "validation")
                          ) if files.validation else None
    callbacks, timer = standard_callbacks(cfg.train, paths, val_ds is not None, steps)
    resumed = _backup_epoch(paths["backup"]) if cfg.train.resume else 0
    if resumed:
        log.info("resuming from the backup in %s: %d epoch(s) already done", paths["backup"],
                 resumed)
    log.info("training %s: %d params, %d steps/epoch, global batch %d, %d replica(s) -> %s",
             model.name, model.count_params(), steps, batch, strategy.num_replicas_in_sync,
             run_dir)
    start = time.perf_counter()
    try:
        history = model.fit(train_ds, validation_data=val_ds, epochs=cfg.train.epochs,
                            steps_per_epoch=cfg.train.steps_per_epoch or None,
                            callbacks=callbacks, verbose=verbosity(cfg.train.verbose),
                            shuffle=False)  # the pipeline shuffles
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError, UnicodeDecodeError) as exc:
        raise _diagnosed(exc, files) from exc
    wall = time.perf_counter() - start
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    if any(not math.isfinite(v) for v in hist.get("loss", [])):
        raise TrainingError(f"loss became NaN/Inf in epoch {len(hist['loss'])}; lower "
                            f"train.learning_rate or set train.global_clipnorm ({run_dir})")
    final = {}
    if val_ds is not None:
        final = {f"val_{k}": float(v) for k, v in
                 model.evaluate(val_ds, verbose=0, return_dict=True).items()}
    model.save(paths["model"])
    plot_curves(hist, paths["curves"], f"{model.name} on {cfg.data.path or cfg.data.task}",
                _reference(files.schema, head.metric))
    shutil.rmtree(paths["backup"], ignore_errors=True)
    examples = timer.steps * batch if n_train is None else min(timer.steps * batch,
                                                               timer.epochs * n_train)
    metrics = {
        **final,
        "loss": hist["loss"][-1] if hist.get("loss") else None,
        head.metric: hist[head.metric][-1] if hist.get(head.metric) else None,
        **_quality(files.schema, final),
        "train_seconds": wall,
        "train_loop_seconds": timer.train_seconds,
        "samples_per_second": examples / timer.train_seconds if timer.train_seconds else 0.0,
        "num_replicas": strategy.num_replicas_in_sync,
        "epochs_completed": resumed + len(hist.get("loss", [])),
        "resumed_from_epoch": resumed,
        "steps_completed": timer.steps,
        "global_batch_size": batch,
        "weights_digest": weights_digest(model),
        "params": model.count_params(),
        "task": files.schema.get("task"),
        "data": files.directory,
    }
    write_json_atomic(paths["metrics"], metrics)
    log.info("done in %.1f s: %s", wall, {k: metrics[k] for k in final})
    return metrics


def _backup_epoch(backup_dir: str) -> int:
    """Epochs finished by an interrupted run, from Keras BackupAndRestore's metadata."""
    import json

    try:
        with open(os.path.join(backup_dir, "training_metadata.json"), encoding="utf-8") as fh:
            return int(json.load(fh).get("epoch", 0))
    except (OSError, ValueError):
        return 0


def _split_examples(files: DataFiles, split: str) -> int | None:
    """Examples in a split as recorded in the schema, when the files are exactly those."""
    info = files.schema.get("splits", {}).get(split, {})
    chosen = files.train if split == "train" else files.validation
    if sorted(info.get("files", [])) == sorted(os.path.basename(f) for f in chosen):
        return info.get("examples")
    return None
