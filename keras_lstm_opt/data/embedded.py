"""Embedded default datasets, generated deterministically from a seed (no downloads).

* `text`: token sequences of length 16 to 64 over a 64-token vocabulary. Four marker
  tokens A, B, C, D occur once each among random filler; the class (0..3) is
  2 * [A comes before B] + [C comes before D]. A bag of tokens cannot tell the
  classes apart, a sequence model can. 5% of labels are replaced by another class,
  so the best achievable accuracy is known: 0.95.
* `forecast`: windows of 48 steps of a multivariate series (target, hour-of-day sin
  and cos) with daily seasonality, trend, an AR(1) disturbance and noise; predict
  the next 12 target values. The naive seasonal forecast (the value one day
  earlier) is the baseline to beat; its validation MAE is stored in the schema.

Example:

    path = ensure_embedded("text", examples=24000, seed=1234)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, TypedDict

import numpy as np

from keras_lstm_opt.data.schema import DataError, read_schema
from keras_lstm_opt.data.writer import write_tfrecords
from keras_lstm_opt.io.storage import check_paths

VERSION = 1
VALIDATION_SHARE = 0.2


class TextSpec(TypedDict):
    vocab_size: int
    num_classes: int
    min_len: int
    max_len: int
    noise: float


class ForecastSpec(TypedDict):
    window: int
    horizon: int
    period: int


TEXT: TextSpec = {"vocab_size": 64, "num_classes": 4, "min_len": 16, "max_len": 64, "noise": 0.05}
FORECAST: ForecastSpec = {"window": 48, "horizon": 12, "period": 24}


def make_text(n: int, seed: int) -> dict[str, np.ndarray | list[np.ndarray]]:
    """Token sequences and their (noisy) labels; see the module docstring."""
    rng = np.random.default_rng(seed)
    markers = np.array([1, 2, 3, 4])  # A, B, C, D; 0 is padding
    lengths = rng.integers(TEXT["min_len"], TEXT["max_len"] + 1, size=n)
    tokens: list[np.ndarray] = []
    labels = np.empty(n, dtype=np.int64)
    for i, length in enumerate(lengths):
        seq = rng.integers(5, TEXT["vocab_size"], size=length)
        pos = rng.choice(length, size=4, replace=False)
        seq[pos] = markers
        labels[i] = 2 * int(pos[0] < pos[1]) + int(pos[2] < pos[3])
        tokens.append(seq.astype(np.int64))
    flip = rng.random(n) < TEXT["noise"]
    shift = rng.integers(1, TEXT["num_classes"], size=n)
    labels = np.where(flip, (labels + shift) % TEXT["num_classes"], labels)
    return {"tokens": tokens, "label": labels}


def make_forecast(n: int, seed: int) -> dict[str, np.ndarray]:
    """Forecasting windows `x` [n, 48, 3] and targets `y` [n, 12]."""
    rng = np.random.default_rng(seed)
    w, h, p = FORECAST["window"], FORECAST["horizon"], FORECAST["period"]
    t = np.arange(w + h)[None, :] + rng.integers(0, p, size=(n, 1))
    level = rng.normal(0.0, 1.0, size=(n, 1))
    trend = rng.normal(0.0, 0.01, size=(n, 1))
    amp = rng.uniform(0.5, 1.5, size=(n, 1))
    season = amp * np.sin(2 * np.pi * t / p) + 0.3 * amp * np.sin(4 * np.pi * t / p)
    ar = np.zeros((n, w + h))
    eps = rng.normal(0.0, 0.25, size=(n, w + h))
    for k in range(1, w + h):
        ar[:, k] = 0.9 * ar[:, k - 1] + eps[:, k]
    y = level + trend * (t - t[:, :1]) + season + ar + rng.normal(0.0, 0.1, size=(n, w + h))
    hour = 2 * np.pi * (t % p) / p
    x = np.stack([y[:, :w], np.sin(hour[:, :w]), np.cos(hour[:, :w])], axis=-1)
    return {"x": x.astype(np.float32), "y": y[:, w:].astype(np.float32)}


def seasonal_naive_mae(x: np.ndarray, y: np.ndarray) -> float:
    """MAE of predicting each target step by the value one period earlier."""
    p, h = FORECAST["period"], y.shape[1]
    w = x.shape[1]
    history = np.concatenate([x[:, :, 0], y], axis=1)
    pred = np.stack([history[:, w + k - p] for k in range(h)], axis=1)
    return float(np.mean(np.abs(pred - y)))


def default_cache_dir() -> str:
    root = os.environ.get("KERAS_LSTM_OPT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_lstm_opt"
    )
    return os.path.join(root, "embedded")


def write_embedded(
    task: str,
    out_dir: str,
    examples: int,
    seed: int = 1234,
    shards: int = 4,
    compression: str = "GZIP",
) -> str:
    """Generate an embedded dataset into `out_dir` (train and validation splits).

    `out_dir` may be remote (s3:// needs the io extra): it is checked before anything
    is generated or written, and a StorageError names it if it cannot be used here.
    """
    if task not in ("text", "forecast"):
        raise DataError(f"task: expected 'text' or 'forecast', got {task!r}")
    check_paths({"out_dir": out_dir})
    n_val = max(1, int(examples * VALIDATION_SHARE))
    n_train = examples - n_val
    if n_train < shards or n_val < 1:
        raise DataError(f"examples: {examples} is too few for {shards} shards")
    train: dict[str, Any]
    val: dict[str, Any]
    info: dict[str, Any]
    if task == "text":
        train, val = make_text(n_train, seed), make_text(n_val, seed + 1)
        info = {
            "vocab_size": TEXT["vocab_size"],
            "num_classes": TEXT["num_classes"],
            "known_best_accuracy": round(1.0 - TEXT["noise"], 4),
            "label_noise": TEXT["noise"],
        }
        io = ("tokens", "label")
    else:
        forecast_val = make_forecast(n_val, seed + 1)
        train, val = make_forecast(n_train, seed), forecast_val
        info = {
            "n_features": 3,
            **FORECAST,
            "baseline_mae": seasonal_naive_mae(forecast_val["x"], forecast_val["y"]),
            "baseline": "seasonal naive (value one period earlier)",
        }
        io = ("x", "y")
    info.update(seed=seed, generator_version=VERSION)
    write_tfrecords(out_dir, train, "train", shards, compression, *io, task, info)
    write_tfrecords(out_dir, val, "validation", max(1, shards // 4), compression, *io, task, info)
    return out_dir


def ensure_embedded(task: str, examples: int, seed: int, cache_dir: str | None = None) -> str:
    """Return the directory of an embedded dataset, generating it once if missing."""
    root = cache_dir or default_cache_dir()
    out = os.path.join(root, f"{task}-n{examples}-s{seed}-v{VERSION}")
    try:
        read_schema(out)
        return out
    except DataError:
        pass
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{task}-", dir=root)
    try:
        write_embedded(task, tmp, examples, seed)
        os.chmod(tmp, 0o755)
        try:
            os.replace(tmp, out)
        except OSError:  # another process (a second worker) got there first, or a
            try:  # half-written directory from an interrupted run is in the way
                read_schema(out)
            except DataError:
                shutil.rmtree(out, ignore_errors=True)
                os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
