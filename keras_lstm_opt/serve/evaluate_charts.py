"""The charts `evaluate` writes: the confusion matrix and the forecast against the truth.

Each is a PNG saved through `keras_lstm_opt.charts.save_figure` (matplotlib's Agg backend,
loaded only when a chart is drawn).

Example:

    plot_confusion(np.array([[5, 1], [0, 4]]), ["a", "b"], "confusion_matrix.png", 0.9)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_lstm_opt.charts import save_figure


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(cm: np.ndarray, names: list[str], path: str, accuracy: float) -> str:
    """The confusion matrix as a PNG: rows true, columns predicted, shaded by the share
    of each true class, counts written in the cells."""
    plt = _pyplot()
    k = len(cm)
    size = min(max(4.0, 0.42 * k + 2.5), 16.0)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(k), names, rotation=90, fontsize=7 if k > 12 else 9)
    ax.set_yticks(range(k), names, fontsize=7 if k > 12 else 9)
    if k <= 30:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(
                        j,
                        i,
                        str(cm[i, j]),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if share[i, j] > 0.5 else "black",
                    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix (accuracy {accuracy:.3f}, {int(cm.sum())} examples)")
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    return save_figure(fig, path)


def plot_forecast(
    y: np.ndarray,
    p: np.ndarray,
    baselines: dict[str, np.ndarray],
    targets: list[str],
    path: str,
    mae: float,
) -> str:
    """Left: one-step-ahead forecasts of every window against the truth (first target);
    right: the last window's whole horizon, with the baselines."""
    plt = _pyplot()
    n, t = len(y), len(targets)
    y3, p3 = y.reshape(n, -1, t), p.reshape(n, -1, t)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 3.8))
    a.plot(y3[:, 0, 0], label="truth", color="black", linewidth=1)
    a.plot(p3[:, 0, 0], label="model", linewidth=1)
    a.set_title(f"{targets[0]}: one step ahead, each window")
    a.set_xlabel("window")
    steps = np.arange(1, y3.shape[1] + 1)
    b.plot(steps, y3[-1, :, 0], marker="o", color="black", label="truth")
    b.plot(steps, p3[-1, :, 0], marker="o", label=f"model (MAE {mae:.3g} overall)")
    for name, forecast in baselines.items():
        b.plot(
            steps,
            forecast.reshape(y3.shape)[-1, :, 0],
            linestyle="--",
            label=name.replace("_", " "),
        )
    b.set_title(f"{targets[0]}: the last window, every step")
    b.set_xlabel("step ahead")
    return save_figure(fig, path, legend_axes=(a, b))
