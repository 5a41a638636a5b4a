"""The fit helper: config -> data -> strategy -> model -> Trainer -> run directory.

A thin layer over `keras_lstm_opt.Trainer`: it builds the datasets and the model the
config describes and hands them to the Trainer, which trains them like any user's model.

Example:

    metrics = fit("configs/text.yaml", run_dir="runs/text", overrides=["train.epochs=3"])
    metrics["val_accuracy"]
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

import keras
import tensorflow as tf
import yaml

from keras_lstm_opt.class_weights import class_weight_ids
from keras_lstm_opt.config import (
    ExperimentConfig,
    bundled_keys,
    config_from_dict,
    config_to_dict,
    dotted_keys,
    given_keys,
    load_config,
    with_given,
)
from keras_lstm_opt.config.auto import auto_settings
from keras_lstm_opt.config.parse import parse_overrides
from keras_lstm_opt.data.diagnose import find_bad_record
from keras_lstm_opt.data.pipeline import DataFiles, make_dataset, resolve_files
from keras_lstm_opt.data.schema import Schema, parse_spec
from keras_lstm_opt.distribute.strategy import get_strategy
from keras_lstm_opt.errors import ConfigError, DataError, Problem, UsageError
from keras_lstm_opt.experiment_verdict import (
    _quality,
    _reference,
    baseline_margin,
    baseline_verdict,
)
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.io.storage import check_paths, config_paths
from keras_lstm_opt.logs import ensure_visible
from keras_lstm_opt.models.cudnn import require_cudnn
from keras_lstm_opt.models.factory import build_model
from keras_lstm_opt.models.heads import Head, head_for
from keras_lstm_opt.resources import configure_threads
from keras_lstm_opt.training.artifacts import RunArtifacts
from keras_lstm_opt.training.best import monitor_mode
from keras_lstm_opt.training.callbacks import Deadline, LoggedEarlyStopping, monitored
from keras_lstm_opt.training.inputs import steps_for
from keras_lstm_opt.training.optim import make_optimizer
from keras_lstm_opt.training.options import LoopOptions
from keras_lstm_opt.training.result import FitResult
from keras_lstm_opt.training.run_dir import default_run_dir
from keras_lstm_opt.training.tracking import MLflowCallback
from keras_lstm_opt.training.trainer import Trainer

log = logging.getLogger("keras_lstm_opt")
EVAL_BATCH = 256  # the least validation batch of `train` (see fit)


def _as_config(config: ExperimentConfig | str | None, overrides: list[str]) -> ExperimentConfig:
    if isinstance(config, ExperimentConfig):
        if overrides:
            keys = set(given_keys(config))
            parsed = parse_overrides(overrides)
            for key, value in parsed:  # what the caller set, also in a section
                keys |= {key, *(f"{key}.{k}" for k in dotted_keys(value))}
            cfg = with_given(config_from_dict(config_to_dict(config), "<config>", overrides), keys)
            overridden = {key for key, _ in parsed}
            object.__setattr__(cfg, "_bundled", bundled_keys(config) - overridden)
            return cfg
        return config
    return load_config(config, overrides)


def threads_for(cfg: ExperimentConfig) -> dict[str, Any]:
    """Apply the threads `cfg` asks for (before TensorFlow runs any op); see
    `resources.configure_threads`."""
    d = cfg.distribute
    return configure_threads(
        d.intra_op_threads,
        d.inter_op_threads,
        cfg.data.threads,
        fused_lstm=cfg.model.lstm == "fast",
    )


def _diagnosed(exc: Exception, files: DataFiles, data: Any) -> Exception:
    """A DataError naming the bad shard and record, if a scan finds one."""
    problem = find_bad_record(
        files.train + files.validation,
        files.compression,
        parse_spec(files.schema),
        files.schema if data.validate else None,
        data.max_length,
        data.too_long,
    )
    return DataError(f"bad training data: {problem}") if problem else exc


def build_compiled(
    cfg: ExperimentConfig, schema: Schema, total_steps: int, compile: bool = True
) -> keras.Model:
    """The config's model for `schema`, compiled with the configured optimizer (call it
    in the strategy's scope); `compile=False` leaves that to the Trainer."""
    if cfg.model.lstm == "fast":  # compile FastLSTM's kernels now (once per machine), not
        from keras_lstm_opt.models.kernels import load_kernels  # inside the first step

        load_kernels()  # logs one line when it compiles
    model = build_model(cfg.model, schema, precision=cfg.train.precision)
    if cfg.model.require_cudnn:
        require_cudnn(model)
    if not compile:
        return model
    head = head_for(schema)
    # The loop clips the gradient summed over replicas itself; Keras's optimizer would
    # clip each replica's share (kept only under loss scaling).
    model.compile(
        optimizer=make_optimizer(
            cfg.train, total_steps, cfg.train.precision, clip=cfg.train.precision == "mixed_float16"
        ),
        loss=head.loss,
        metrics=[head.metric],
    )
    return model


def _label_counts(cfg: ExperimentConfig, files: DataFiles) -> Any:
    """Training rows per class id (one pass over the training shards' labels)."""
    import numpy as np

    ds = make_dataset(
        cfg.data, files.schema, files.train, 4096, training=False, compression=files.compression
    )
    counts = np.zeros(int(files.schema.get("info", {}).get("num_classes") or 2), np.int64)
    for _, y in ds:
        ids = np.asarray(y).reshape(len(y), -1)[:, 0].astype(np.int64)
        counts += np.bincount(ids, minlength=len(counts))[: len(counts)]
    return counts


def _config_callbacks(
    cfg: ExperimentConfig,
    has_validation: bool,
) -> list[keras.callbacks.Callback]:
    t = cfg.train
    monitor = monitored(t.monitor, has_validation)
    mode = monitor_mode(monitor)
    cbs: list[keras.callbacks.Callback] = []
    if t.early_stopping_patience:
        cbs.append(
            LoggedEarlyStopping(monitor=monitor, mode=mode, patience=t.early_stopping_patience)
        )
    if t.reduce_lr_on_plateau:
        cbs.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, mode=mode, factor=t.plateau_factor, patience=t.plateau_patience
            )
        )
    return cbs


def _trackers(cfg: ExperimentConfig) -> list[MLflowCallback]:
    """The config's trackers, each checked now (every worker; only the chief logs)."""
    out: list[MLflowCallback] = []
    if "mlflow" in cfg.train.trackers:
        cb = MLflowCallback(required=cfg.train.trackers_required)
        if cb.check():
            out.append(cb)
    return out


def fit(
    config: ExperimentConfig | str | None = None,
    run_dir: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    overwrite: bool = False,
    deadline: float | None = None,
) -> FitResult:
    """Train from a config and write the run directory; return the metrics (a
    `FitResult`: the dict metrics.json holds, with `.history` per epoch).

    Args:
        config: an ExperimentConfig, a YAML path, or None for the defaults.
        run_dir: where artifacts go (default `runs/<timestamp>`; required for
            multi-worker runs), relative to the current directory or absolute (made
            absolute once, here) or remote. Rerunning on the same directory resumes an
            unfinished run from its last backup when `train.resume` is true.
        overrides: `key=value` strings applied on top of the config.
        overwrite: replace a finished run in `run_dir` (else RunDirError).
        deadline: a `time.time()` value: stop at the first epoch end after it, keeping
            the best epoch so far (`tune --budget`; one-process runs only).

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
    cfg = _as_config(config, list(overrides))
    ensure_visible()
    threads = threads_for(cfg)
    strategy, cluster = get_strategy(cfg.distribute)  # before any other TF work
    if cluster is not None and deadline is not None:
        raise UsageError(
            "a deadline is one process's clock: multi-worker runs cannot stop "
            "by it (their workers would stop at different epochs)"
        )
    if cluster is not None and run_dir is None:
        raise UsageError(
            "multi-worker runs need an explicit --run-dir (the same on every "
            "worker) so that workers can find the chief's backup"
        )
    check_paths(config_paths(cfg, run_dir))  # remote paths need the io extra
    trackers = _trackers(cfg)  # an unreachable tracker fails here, before any training
    files = resolve_files(cfg.data)  # fails before the run directory is touched
    head: Head = head_for(files.schema)
    replicas = strategy.num_replicas_in_sync
    cfg, auto = auto_settings(cfg, files.schema, replicas)
    for tracker in trackers:  # the config as it runs, train.auto's choices in
        tracker.run_params = config_to_dict(cfg)
    for key, choice in auto.items():
        log.info(
            "auto: %s = %s (default %s): %s", key, choice["value"], choice["was"], choice["why"]
        )
    t = cfg.train
    if t.batch_size % replicas:
        raise ConfigError(
            [
                Problem(
                    "train.batch_size",
                    f"{t.batch_size} is not divisible by "
                    f"the {replicas} replicas; use a multiple of {replicas}",
                )
            ]
        )
    steps = t.steps_per_epoch or steps_for(_split_examples(files, "train"), t.batch_size)
    trainer = Trainer(
        lambda: build_compiled(cfg, files.schema, steps * t.epochs, compile=False),
        loss=head.loss,
        metrics=[head.metric],
        optimizer=lambda: make_optimizer(
            t, steps * t.epochs, t.precision, clip=t.precision == "mixed_float16"
        ),
        strategy=strategy,
        run_dir=run_dir or default_run_dir(),
        options=dataclasses.replace(
            LoopOptions.pick(t),
            deterministic=cfg.data.deterministic,
            gradient_compression=cfg.distribute.gradient_compression,
            embedding_exchange=cfg.distribute.embedding_exchange,
            collective_timeout_seconds=cfg.distribute.timeout_seconds,
            profile_start_step=cfg.profile.start_step,
            profile_num_steps=cfg.profile.num_steps,
        ),
    )

    def dataset_fn(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
        return make_dataset(
            cfg.data,
            files.schema,
            files.train,
            ctx.get_per_replica_batch_size(t.batch_size),
            training=True,
            compression=files.compression,
            seed=t.seed,
            repeat=True,
            input_context=ctx,
        )

    # validation has no gradient to average: larger batches, fewer calls (small batches
    # of short texts made validation a sixth of an epoch)
    val_ds = (
        make_dataset(
            cfg.data,
            files.schema,
            files.validation,
            max(t.batch_size, EVAL_BATCH),
            training=False,
            compression=files.compression,
        )
        if files.validation
        else None
    )
    class_weight = class_weight_ids(t.class_weight, files.schema, lambda: _label_counts(cfg, files))
    shrink = _shrink_callback(cfg, files, val_ds)
    try:
        result = trainer.fit(
            dataset_fn,
            validation_data=val_ds,
            epochs=t.epochs,
            steps_per_epoch=steps,
            class_weight=class_weight,
            callbacks=_config_callbacks(cfg, val_ds is not None)
            + ([Deadline(deadline)] if deadline is not None else [])
            + ([shrink] if shrink else [])
            + trackers,
            overwrite=overwrite,
            artifacts=RunArtifacts(
                extra_files={
                    "config.yaml": yaml.safe_dump(config_to_dict(cfg), sort_keys=False),
                    # the data's schema (vocabulary, class names, scaling): what
                    # evaluate, predict and export need, kept with the model
                    "schema.json": json.dumps(files.schema, indent=2, sort_keys=True),
                },
                metadata=lambda final: {
                    **_quality(files.schema, final),
                    "threads": threads,
                    "auto": auto,
                    "global_batch_size": t.batch_size,
                    "task": files.schema.get("task"),
                    # absolute, so that `evaluate RUN` finds it from any directory
                    "data": files.directory
                    if is_remote(files.directory)
                    else os.path.abspath(files.directory),
                    **({"shrink": shrink.result} if shrink and shrink.result else {}),
                },
                title=f"{trainer.model.name} on {cfg.data.path or cfg.data.task}",
                reference=_reference(files.schema, head.metric),
            ),
        )
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError, UnicodeDecodeError) as exc:
        raise _diagnosed(exc, files, cfg.data) from exc
    except tf.errors.OutOfRangeError:
        raise DataError(
            f"no examples could be read from {len(files.train)} training "
            f"shard(s) in {files.directory} (empty files?)"
        ) from None
    verdict = baseline_verdict(result)
    if verdict:
        log.warning("verdict: %s", verdict)
    elif margin := baseline_margin(result):
        log.info("verdict: %s", margin)
    return result


def _shrink_callback(cfg: ExperimentConfig, files: DataFiles, val_ds: Any) -> Any:
    """models.shrink's callback for a series imported from raw rows with model.shrink."""
    info = files.schema.get("info", {})
    if not (cfg.model.shrink and "series" in info and val_ds is not None):
        return None
    from keras_lstm_opt.models.shrink import ShrinkToAnchor

    windows = int(files.schema.get("splits", {}).get("train", {}).get("examples", 0) or 0)
    val_rows = int(info["series"].get("validation_rows", 0))
    return ShrinkToAnchor(val_ds, windows, val_rows, int(info.get("horizon", 1)))


def _split_examples(files: DataFiles, split: str) -> int | None:
    """Examples in a split as recorded in the schema, when the files are exactly those."""
    info = files.schema.get("splits", {}).get(split, {})
    chosen = files.train if split == "train" else files.validation
    if sorted(info.get("files", [])) == sorted(os.path.basename(f) for f in chosen):
        return info.get("examples")
    return None
