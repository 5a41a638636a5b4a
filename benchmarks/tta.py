"""Time to accuracy: a typical Keras tutorial against keras-lstm-opt's defaults, one run.

(a) tutorial: the embedded text task as padded NumPy arrays into `model.fit`, batch 32,
    Embedding + keras.layers.LSTM(64, recurrent_dropout=0.2) + softmax, default Adam;
(b) ours: `keras_lstm_opt.fit` with the defaults (FastLSTM, the TFRecord pipeline, the
    configured batch size and learning rate).
Both record validation accuracy against wall time after each epoch; the target is a
fixed share of the task's known best accuracy. Each runs in a process of its own, as
its user would run it: the tutorial with TensorFlow's own settings (its CPU allocator,
its thread pools), ours with what `train` chooses (`resources.configure_threads`).

Example:

    result = time_to_accuracy(tutorial_epochs=4, out_dir="bench/")
"""

from __future__ import annotations

import csv
import os
import sys
import time
from typing import Any

import numpy as np

from benchmarks.contender import print_result, run_contender
from keras_lstm_opt.charts import save_figure
from keras_lstm_opt.config import load_config


def _arrays(files: Any, split: str) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow as tf

    from keras_lstm_opt.data.schema import parse_spec

    spec = parse_spec(files.schema)
    chosen = files.train if split == "train" else files.validation
    ds = tf.data.TFRecordDataset(chosen, compression_type=files.compression).batch(4096)
    xs, ys = [], []
    for batch in ds:
        ex = tf.io.parse_example(batch, spec)
        xs.append(ex["tokens"].to_tensor(shape=[None, 64]).numpy())
        ys.append(ex["label"].numpy())
    return np.concatenate(xs), np.concatenate(ys)


def tutorial_run(files: Any, epochs: int) -> list[dict[str, float]]:
    import keras

    x, y = _arrays(files, "train")
    xv, yv = _arrays(files, "validation")
    info = files.schema["info"]
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(info["vocab_size"], 32, mask_zero=True),
            keras.layers.LSTM(64, recurrent_dropout=0.2),
            keras.layers.Dense(info["num_classes"], activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    points: list[dict[str, float]] = []
    start = time.perf_counter()

    class Clock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            points.append(
                {
                    "epoch": epoch + 1,
                    "wall_seconds": time.perf_counter() - start,
                    "val_accuracy": float((logs or {})["val_accuracy"]),
                }
            )

    model.fit(
        x, y, batch_size=32, epochs=epochs, validation_data=(xv, yv), verbose=2, callbacks=[Clock()]
    )
    return points


def ours_run(run_dir: str, overrides: list[str]) -> list[dict[str, float]]:
    from keras_lstm_opt.experiment import fit

    fit(None, run_dir, overrides)
    with open(os.path.join(run_dir, "history.csv"), encoding="utf-8") as fh:
        return [
            {
                "epoch": int(r["epoch"]) + 1,
                "wall_seconds": float(r["wall_seconds"]),
                "val_accuracy": float(r["val_accuracy"]),
            }
            for r in csv.DictReader(fh)
        ]


def _child(contender: str, out_dir: str, epochs: int, overrides: list[str]) -> dict[str, Any]:
    return run_contender(
        "benchmarks.tta",
        [contender, out_dir, str(epochs), *overrides],
        tutorial=contender == "tutorial",
    )


def first_reach(points: list[dict[str, float]], target: float) -> float | None:
    return next((p["wall_seconds"] for p in points if p["val_accuracy"] >= target), None)


def time_to_accuracy(
    tutorial_epochs: int, out_dir: str, share: float = 0.9, overrides: list[str] | None = None
) -> dict[str, Any]:
    from keras_lstm_opt.data.pipeline import resolve_files

    cfg = load_config(None, overrides or [])
    files = resolve_files(cfg.data)  # made here once, so that neither child pays for it
    target = share * files.schema["info"]["known_best_accuracy"]
    tut = _child("tutorial", out_dir, tutorial_epochs, overrides or [])
    ours = _child("ours", out_dir, 0, overrides or [])
    t_a, t_b = first_reach(tut["points"], target), first_reach(ours["points"], target)
    return {
        "mode": "time-to-accuracy",
        "target_val_accuracy": target,
        "share_of_best": share,
        "tutorial": {
            **tut,
            "seconds_to_target": t_a,
            "final_val_accuracy": tut["points"][-1]["val_accuracy"],
        },
        "ours": {
            **ours,
            "seconds_to_target": t_b,
            "final_val_accuracy": ours["points"][-1]["val_accuracy"],
        },
        "speedup_to_target": (t_a / t_b) if t_a and t_b else None,
    }


def plot(result: dict[str, Any], path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (
        ("tutorial", "Keras tutorial (LSTM, recurrent_dropout, batch 32)"),
        ("ours", "keras-lstm-opt defaults"),
    ):
        pts = result[key]["points"]
        ax.plot(
            [p["wall_seconds"] for p in pts], [p["val_accuracy"] for p in pts], "o-", label=label
        )
    ax.axhline(result["target_val_accuracy"], ls="--", color="grey", label="target")
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Time to accuracy, embedded text task")
    return save_figure(fig, path, legend_axes=[ax])


def main(argv: list[str]) -> int:
    """The child process: `tta tutorial|ours OUT_DIR EPOCHS [OVERRIDES...]`."""
    contender, out_dir, epochs, overrides = argv[0], argv[1], int(argv[2]), argv[3:]
    if contender == "tutorial":
        from keras_lstm_opt.data.pipeline import resolve_files

        points = tutorial_run(resolve_files(load_config(None, overrides).data), epochs)
    else:
        points = ours_run(os.path.join(out_dir, "tta_run"), [*overrides, "train.verbose=epoch"])
    from keras_lstm_opt.resources import cpu_allocator

    print_result({"points": points, "cpu_allocator": cpu_allocator()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
