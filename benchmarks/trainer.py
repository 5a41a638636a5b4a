"""The overhead of our loop: `klo.Trainer.fit` against Keras's own `model.fit`, side by side.

The same user model (two inputs: token ids through Embedding and FastLSTM, dense
per-step features, attention pooling, a Dense head) and the same NumPy arrays, on one
device. Rounds are interleaved (keras, trainer, keras, trainer, ...) so that machine
noise hits both alike; every step's time is the gap between two batch ends, the first
epoch of each run (tracing, kernel loading) left out.

Example:

    result = bench_trainer(rounds=3, epochs=3, steps=40)
    result["ratio_trainer_vs_keras"]    # median step time, Trainer / model.fit
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

T, F, V = 40, 8, 2000


def user_model(units: int = 64) -> Any:
    """Two inputs, FastLSTM, attention-style pooling, a Dense head."""
    import keras

    from keras_lstm_opt.models.fast_lstm import FastLSTM

    ids = keras.Input((T,), dtype="int32", name="ids")
    feats = keras.Input((T, F), name="feats")
    h = FastLSTM(units, return_sequences=True)(keras.layers.Embedding(V, 32)(ids))
    h = keras.layers.Concatenate()([h, keras.layers.Dense(16, activation="tanh")(feats)])
    weights = keras.layers.Softmax(axis=1)(keras.layers.Dense(1, use_bias=False)(h))
    pooled = keras.ops.sum(keras.ops.multiply(weights, h), axis=1)
    out = keras.layers.Dense(4, activation="softmax")(pooled)
    return keras.Model({"ids": ids, "feats": feats}, out, name="user_model")


def user_data(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=(n, T)).astype("int32")
    feats = rng.normal(size=(n, T, F)).astype("float32")
    return {"ids": ids, "feats": feats}, (ids[:, 0] % 4).astype("int64")


def _timer() -> tuple[Any, list[list[float]]]:
    import keras

    epochs: list[list[float]] = []

    class StepTimes(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            epochs.append([time.perf_counter()])

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            epochs[-1].append(time.perf_counter())

    return StepTimes(), epochs


def _steps(epochs: list[list[float]]) -> list[float]:
    """Step times of every epoch but the first (its steps include tracing)."""
    return [b - a for marks in epochs[1:] for a, b in zip(marks[1:], marks[2:], strict=False)]


def _keras_fit(x: Any, y: Any, batch: int, epochs: int) -> list[float]:
    import keras

    keras.utils.set_random_seed(1)
    model = user_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    cb, marks = _timer()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[cb])
    return _steps(marks)


def _trainer_fit(x: Any, y: Any, batch: int, epochs: int) -> list[float]:
    from keras_lstm_opt.training.options import LoopOptions
    from keras_lstm_opt.training.trainer import Trainer

    trainer = Trainer(
        user_model,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        strategy="one_device",
        options=LoopOptions(seed=1, verbose="silent"),
    )
    cb, marks = _timer()
    trainer.fit(x, y, batch_size=batch, epochs=epochs, callbacks=[cb])
    return _steps(marks)


def bench_trainer(
    rounds: int = 3,
    epochs: int = 3,
    steps: int = 40,
    batch: int = 64,
    progress: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Median step time of each, per round and overall, and the ratio."""
    from keras_lstm_opt.models.kernels import load_kernels

    load_kernels()
    x, y = user_data(steps * batch)
    runs: dict[str, list[float]] = {"keras model.fit": [], "klo.Trainer.fit": []}
    per_round: list[dict[str, float]] = []
    for r in range(rounds):
        medians = {}
        for name, fn in (("keras model.fit", _keras_fit), ("klo.Trainer.fit", _trainer_fit)):
            times = fn(x, y, batch, epochs)
            runs[name] += times
            medians[name] = statistics.median(times) * 1e3
            progress(f"round {r + 1}/{rounds}: {name} {medians[name]:.2f} ms/step")
        per_round.append(medians)
    rows: list[dict[str, Any]] = [  # JSON rows: the variant's name and its step times
        {
            "variant": name,
            "median_step_ms": statistics.median(t) * 1e3,
            "p90_step_ms": sorted(t)[int(0.9 * (len(t) - 1))] * 1e3,
            "steps_timed": len(t),
        }
        for name, t in runs.items()
    ]
    ratio = rows[1]["median_step_ms"] / rows[0]["median_step_ms"]
    for row in rows:
        row["ratio_vs_keras"] = row["median_step_ms"] / rows[0]["median_step_ms"]
    return {
        "rows": rows,
        "per_round_ms": per_round,
        "ratio_trainer_vs_keras": ratio,
        "shape": {
            "batch": batch,
            "time_steps": T,
            "features": F,
            "vocab": V,
            "steps_per_epoch": steps,
            "epochs": epochs,
            "rounds": rounds,
        },
    }
