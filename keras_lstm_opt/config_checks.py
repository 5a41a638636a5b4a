"""Checks that span several config keys (run after each key passed its own type check).

Each check returns `(key, message)` pairs; `config.py` adds the file or `--set` source.
"""

from __future__ import annotations

import glob
import os
from typing import Any

from keras_lstm_opt.paths import REMOTE_SCHEMES, is_remote  # noqa: F401  (re-exported)

ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "relu6", "linear", "softsign",
               "elu", "selu", "gelu", "silu", "swish", "softplus", "exponential")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "xavier_uniform", "xavier_normal",
                "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "orthogonal",
                "identity", "zeros", "ones", "random_normal", "random_uniform",
                "truncated_normal", "variance_scaling")
TASK_METRICS = {"text": ("loss", "accuracy"), "forecast": ("loss", "mae")}


def _path_problem(key: str, path: str | None) -> list[tuple[str, str]]:
    if path is None or is_remote(path):
        return []
    if os.path.isdir(path) or glob.glob(path):
        return []
    return [(key, f"no such directory or matching files: {path!r}")]


def cross_field_problems(cfg: Any, check_paths: bool = True) -> list[tuple[str, str]]:
    """Problems that involve more than one key, or the file system."""
    m, d, t = cfg.model, cfg.data, cfg.train
    out: list[tuple[str, str]] = []
    if isinstance(m.units, list) and len(m.units) != m.layers:
        out.append(("model.units", f"has {len(m.units)} entries but model.layers is "
                                   f"{m.layers}; give one number or one per layer"))
    for key in ("activation", "recurrent_activation"):
        if getattr(m, key) not in ACTIVATIONS:
            out.append((f"model.{key}", f"unknown activation {getattr(m, key)!r}; "
                                        f"use one of {', '.join(ACTIVATIONS)}"))
    for key in ("kernel_initializer", "recurrent_initializer"):
        if getattr(m, key) not in INITIALIZERS:
            out.append((f"model.{key}", f"unknown initializer {getattr(m, key)!r}; "
                                        f"use one of {', '.join(INITIALIZERS)}"))
    if d.batching == "bucket":
        b = d.bucket_boundaries
        if not b:
            out.append(("data.bucket_boundaries", "batching: bucket needs at least one "
                                                  "boundary, e.g. [32, 64, 128]"))
        elif any(x <= 0 for x in b) or b != sorted(set(b)):
            out.append(("data.bucket_boundaries", f"must be positive and strictly increasing, "
                                                  f"got {b}"))
    if d.task == "forecast" and d.batching == "bucket":
        out.append(("data.batching", "forecast windows have a fixed length; use batching: pad"))
    cache_path = d.cache.removeprefix("snapshot:")
    if d.cache not in ("memory", "none") and not is_remote(cache_path):
        parent = os.path.dirname(os.path.abspath(cache_path))
        if check_paths and not os.path.isdir(parent):
            out.append(("data.cache", f"cache file directory does not exist: {parent!r}"))
    if check_paths:
        out += _path_problem("data.path", d.path)
        out += _path_problem("data.validation_path", d.validation_path)
    if d.validation_path is not None and d.path is None:
        out.append(("data.validation_path", "set data.path too (validation_path without path "
                                            "would mix the embedded data with yours)"))
    if t.reduce_lr_on_plateau and t.schedule != "constant":
        out.append(("train.reduce_lr_on_plateau", f"cannot be combined with schedule: "
                                                  f"{t.schedule}; use schedule: constant"))
    if t.warmup_steps and t.schedule != "cosine":
        out.append(("train.warmup_steps", "warm-up is part of schedule: cosine; set it or "
                                          "drop warmup_steps"))
    clips = [k for k in ("clipnorm", "global_clipnorm", "clipvalue") if getattr(t, k)]
    if len(clips) > 1:
        out.append((f"train.{clips[1]}", f"only one of clipnorm, global_clipnorm, clipvalue "
                                         f"may be set; got {', '.join(clips)}"))
    dist = cfg.distribute
    if dist.cpu_devices > 1 and dist.strategy not in ("mirrored", "auto"):
        out.append(("distribute.cpu_devices", f"logical CPU devices are for strategy: "
                                              f"mirrored, not {dist.strategy}"))
    if dist.implementation == "nccl" and dist.strategy == "one_device":
        out.append(("distribute.implementation", "nccl needs a multi-device strategy"))
    names = TASK_METRICS[d.task]
    allowed = list(names) + [f"val_{n}" for n in names]
    if t.monitor not in allowed:
        out.append(("train.monitor", f"{t.monitor!r} is not a metric of task {d.task!r}; "
                                     f"use one of {', '.join(allowed)}"))
    if cfg.tune.objective not in allowed:
        out.append(("tune.objective", f"{cfg.tune.objective!r} is not a metric of task "
                                      f"{d.task!r}; use one of {', '.join(allowed)}"))
    if cfg.tune.space:
        from keras_lstm_opt.tuning_space import space_problems

        out += space_problems(cfg)
    return out
