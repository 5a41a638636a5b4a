"""Run-directory artifacts: layout, metrics.json, weights digest, training-curve chart.

Layout of a run directory:

    config.yaml         the resolved config
    schema.json         the data's schema (klo.fit runs): vocabulary, class names, scaling
    metrics.json        final metrics (written last, atomically, only on success)
    model.keras         the trained model
    curves.png          training curves
    history.csv         per-epoch metrics
    checkpoints/        best.weights.h5, latest.weights.h5
    backup/             resumable state while a run is unfinished
    tensorboard/        TensorBoard logs
    mlflow.json         the MLflow run's id (with klo.MLflowCallback; tracking.py)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keras_lstm_opt.charts import save_figure


@dataclass(frozen=True)
class RunArtifacts:
    """What a run directory gets besides the model, metrics.json and the curves.

    Args:
        title: curves.png's title (default: the model's name).
        reference: horizontal reference lines on curves.png, {"metric:label": value}
            (e.g. {"val_accuracy:known best": 0.95}).
        extra_files: {name: text} written into the run directory before training.
        metadata: extra metrics.json entries, or a function of the final validation
            metrics that returns them.

    Example:

        trainer.fit(x, y, epochs=3, artifacts=klo.RunArtifacts(
            title="glosses", extra_files={"notes.txt": "first try"},
            metadata=lambda final: {"passed": final["val_accuracy"] > 0.9}))
    """

    title: str | None = None
    reference: Mapping[str, float] = field(default_factory=dict)
    extra_files: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] | Callable[[dict[str, float]], Mapping[str, Any]] | None = None


def run_paths(run_dir: str) -> dict[str, str]:
    join = os.path.join
    return {
        "config": join(run_dir, "config.yaml"),
        "metrics": join(run_dir, "metrics.json"),
        "model": join(run_dir, "model.keras"),
        "curves": join(run_dir, "curves.png"),
        "history": join(run_dir, "history.csv"),
        "checkpoints": join(run_dir, "checkpoints"),
        "best": join(run_dir, "checkpoints", "best.weights.h5"),
        "latest": join(run_dir, "checkpoints", "latest.weights.h5"),
        "backup": join(run_dir, "backup"),
        "tensorboard": join(run_dir, "tensorboard"),
    }


def weights_digest(model: Any) -> str:
    """SHA-256 (first 16 hex digits) over every weight of `model`, in order."""
    h = hashlib.sha256()
    for w in model.weights:
        arr = np.ascontiguousarray(np.asarray(w.numpy() if hasattr(w, "numpy") else w))
        h.update(w.path.encode() if hasattr(w, "path") else b"")
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]


def plot_curves(
    history: dict[str, list[float]],
    path: str,
    title: str,
    reference: dict[str, float] | None = None,
) -> str:
    """Loss and metric per epoch, train vs validation, with reference lines; PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timing = ("learning_rate", "wall_seconds", "epoch_train_seconds")
    metrics = [k for k in history if not k.startswith("val_") and k not in timing]
    if not metrics:  # e.g. a resumed run whose backup already had every epoch
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.text(0.5, 0.5, "no epoch was recorded", ha="center", va="center")
        ax.set_axis_off()
        fig.suptitle(title)
        return save_figure(fig, path)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, name in zip(axes[0], metrics, strict=True):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label=f"train {name}")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label=f"validation {name}")
        for label, value in (reference or {}).items():
            if label.startswith(name + ":"):
                ax.axhline(value, linestyle="--", color="grey", label=label.split(":", 1)[1])
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)
