"""Checks that span several config keys, or the file system (run after each key passed
its own type and range check in `parse`).

Each returns `Problem` records with the key and message; the caller (`load_config`)
fills in each one's source (the file or `--set`). The `tune.space` checks are in `space`.

Example:

    cross_field_problems(ExperimentConfig(model=ModelConfig(units=[8, 8])))
    # [Problem(key='model.units', message='has 2 entries but model.layers is 1; ...')]
"""

from __future__ import annotations

import glob
import json
import math
import os

from keras_lstm_opt.config.schema import (
    ACTIVATIONS,
    INITIALIZERS,
    TASK_METRICS,
    ExperimentConfig,
)
from keras_lstm_opt.data.cache import remote_cache_problem
from keras_lstm_opt.errors import Problem
from keras_lstm_opt.io.paths import is_remote


def _path_problem(key: str, path: str | None) -> list[Problem]:
    if path is None or is_remote(path):
        return []
    if os.path.isdir(path) or glob.glob(path):
        return []
    return [Problem(key, f"no such directory or matching files: {path!r}")]


def data_task(cfg: ExperimentConfig) -> str | None:
    """The task the run will train: the data's schema.json says it when `data.path` is set
    (`data.task` only picks an embedded dataset); None where it cannot be read before
    TensorFlow starts (a remote path, no schema.json yet): then it is checked at run time."""
    d = cfg.data
    if d.path is None:
        return d.task
    if is_remote(d.path):
        return None
    directory = d.path if os.path.isdir(d.path) else os.path.dirname(d.path)
    try:
        with open(os.path.join(directory, "schema.json"), encoding="utf-8") as fh:
            task = json.load(fh).get("task")
    except (OSError, ValueError, AttributeError):
        return None
    return task if task in TASK_METRICS else None


def cross_field_problems(cfg: ExperimentConfig, check_paths: bool = True) -> list[Problem]:
    """Problems that involve more than one key, or the file system (`check_paths`)."""
    m, d, t = cfg.model, cfg.data, cfg.train
    out: list[Problem] = []

    def add(key: str, message: str) -> None:
        out.append(Problem(key, message))

    if isinstance(m.units, list) and len(m.units) != m.layers:
        add(
            "model.units",
            f"has {len(m.units)} entries but model.layers is {m.layers}; "
            "give one number or one per layer",
        )
    for key in ("activation", "recurrent_activation"):
        if getattr(m, key) not in ACTIVATIONS:
            add(
                f"model.{key}",
                f"unknown activation {getattr(m, key)!r}; use one of {', '.join(ACTIVATIONS)}",
            )
    for key in ("kernel_initializer", "recurrent_initializer"):
        if getattr(m, key) not in INITIALIZERS:
            add(
                f"model.{key}",
                f"unknown initializer {getattr(m, key)!r}; use one of {', '.join(INITIALIZERS)}",
            )
    if d.batching == "bucket":
        b = d.bucket_boundaries
        if not b:
            add(
                "data.bucket_boundaries",
                "batching: bucket needs at least one boundary, e.g. [32, 64, 128]",
            )
        elif any(x <= 0 for x in b) or b != sorted(set(b)):
            add("data.bucket_boundaries", f"must be positive and strictly increasing, got {b}")
    task = data_task(cfg)
    if task == "forecast" and d.batching == "bucket":
        add("data.batching", "forecast windows have a fixed length; use batching: pad")
    cache_path = d.cache.removeprefix("snapshot:")
    problem = remote_cache_problem(cache_path) if d.cache not in ("memory", "none") else None
    if problem:
        add("data.cache", problem)
    if d.cache not in ("memory", "none") and not is_remote(cache_path):
        parent = os.path.dirname(os.path.abspath(cache_path))
        if check_paths and not os.path.isdir(parent):
            add("data.cache", f"cache file directory does not exist: {parent!r}")
    if check_paths:
        out.extend(_path_problem("data.path", d.path))
        out.extend(_path_problem("data.validation_path", d.validation_path))
        vectors = cfg.model.pretrained_embeddings
        if vectors and not is_remote(vectors) and not os.path.isfile(vectors):
            add("model.pretrained_embeddings", f"no such file: {vectors!r}")
    if d.validation_path is not None and d.path is None:
        add(
            "data.validation_path",
            "set data.path too (validation_path without path would "
            "mix the embedded data with yours)",
        )
    if t.reduce_lr_on_plateau and t.schedule != "constant":
        add(
            "train.reduce_lr_on_plateau",
            f"cannot be combined with schedule: {t.schedule}; use schedule: constant",
        )
    if t.warmup_steps and t.schedule != "cosine":
        add(
            "train.warmup_steps", "warm-up is part of schedule: cosine; set it or drop warmup_steps"
        )
    clips = [k for k in ("clipnorm", "global_clipnorm", "clipvalue") if getattr(t, k)]
    if len(clips) > 1:
        add(
            f"train.{clips[1]}",
            f"only one of clipnorm, global_clipnorm, clipvalue may be set; got {', '.join(clips)}",
        )
    dist = cfg.distribute
    if dist.cpu_devices > 1 and dist.strategy not in ("mirrored", "auto"):
        add(
            "distribute.cpu_devices",
            f"logical CPU devices are for strategy: mirrored, not {dist.strategy}",
        )
    if dist.implementation == "nccl" and dist.strategy == "one_device":
        add("distribute.implementation", "nccl needs a multi-device strategy")
    from keras_lstm_opt.errors import UsageError
    from keras_lstm_opt.launch.netns import parse_rate

    for i, link in enumerate(cfg.profile.links):
        try:
            parse_rate(str(link))
        except UsageError:
            add(
                f"profile.links[{i}]",
                f"{link!r} is not a rate; write it as tc does, e.g. 100mbit, 1gbit or 10gbit",
            )
    for i, n in enumerate(cfg.profile.workers):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            add(f"profile.workers[{i}]", f"{n!r}: a worker count, at least 1")
    if dist.gradient_compression == "float16" and t.precision == "mixed_float16":
        add(
            "distribute.gradient_compression",
            "float16 on the wire would carry loss-scaled "
            "gradients (x32,768), which overflow float16; use it with precision float32 or "
            "mixed_bfloat16",
        )
    if (
        dist.embedding_exchange == "dense"
        and t.embedding_updates == "lazy"
        and t.optimizer in ("adam", "adamw")
    ):
        add(
            "distribute.embedding_exchange",
            "dense sends the whole table, but lazy "
            "embedding updates need the rows a step touched; use sparse or auto, or set "
            "train.embedding_updates: dense",
        )
    cw = t.class_weight
    if isinstance(cw, dict):
        bad = {
            k: v
            for k, v in cw.items()
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf
        }
        if not cw or bad:
            add("train.class_weight", f"weights must be numbers >= 0, got {bad or cw}")
    elif cw not in ("none", "balanced"):
        add(
            "train.class_weight",
            f"expected none, balanced or a mapping {{label: weight}}, got {cw!r}",
        )
    if task is None:
        return out
    names = TASK_METRICS[task]
    allowed = list(names) + [f"val_{n}" for n in names]
    of = f"task {task!r}" + (f" (from {d.path}'s schema.json)" if d.path else "")
    if cw != "none" and task != "text":
        add("train.class_weight", f"weights classes; {of} has none (use none)")
    if t.monitor not in allowed:
        add(
            "train.monitor",
            f"{t.monitor!r} is not a metric of {of}; use one of {', '.join(allowed)}",
        )
    if cfg.tune.objective not in allowed:
        add(
            "tune.objective",
            f"{cfg.tune.objective!r} is not a metric of {of}; use one of {', '.join(allowed)}",
        )
    return out
