"""Shrink a trained forecasting network toward its anchor, as far as its data can vouch for it.

A model of a series imported from raw rows forecasts an anchor plus what its network adds:
its `SeriesInverse` sums the network's scaled prediction onto the window's last value, its
smoothed level and trend, its last season, or the training rows' mean (a prediction of 0
is the anchor's own forecast: the mean step, season-on-season change or value). On a short
series those additions fit noise; on the development half of the series suite (round 5,
docs/measurements.md) the anchor alone beat the network on 17 of 38 series. So after
training, `fit_shrink` sets the layer's weight `w` (one per target, in [0, 1]) that scales
the network's prediction:

    w = (n_v * s_v + K * Z) / (n_v + K),    Z = N / (N + C)

* `Z`, the credibility of `N` training windows (Buhlmann's n / (n + k)), `C` = 300;
* `s_v`, the least-squares weight of (network - anchor) against (truth - anchor) on the
  validation windows, clipped to [0, 1] (of their logarithms for a log model, where the
  weight scales the logarithm's departure);
* `n_v`, the validation rows divided by the horizon (the validation windows that do not
  overlap), weighs `s_v` against `Z`, with `K` = 10.

C and K were chosen on the development half; the mean MASE changes little between C = 200
and 1000 and K = 10 and 30 there. Backups and checkpoints/best.weights.h5 hold the weights
with `w` = 1 (they are written while training); model.keras holds the fitted `w`.

Example:

    model.fit(...)
    result = fit_shrink(model, val_dataset, train_windows=113, val_rows=32, horizon=8)
    result["weights"]   # e.g. [0.43]
"""

from __future__ import annotations

import logging
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_lstm_opt.models.series import SeriesInverse

log = logging.getLogger("keras_lstm_opt")

CREDIBLE_WINDOWS = 300  # C: N training windows earn the network N / (N + C)
PRIOR_WINDOWS = 10  # K: what Z counts for against n_v independent validation windows


def credibility(train_windows: int) -> float:
    """Z = N / (N + C): what N training windows vouch for the network's additions."""
    return train_windows / (train_windows + CREDIBLE_WINDOWS)


def shrink_weight(train_windows: int, val_windows: float, fitted: float) -> float:
    """`w` from N training windows, n_v independent validation windows and their fit s_v
    (rounded to 4 decimals: every worker assigns, and metrics.json reports, that figure)."""
    z = credibility(train_windows)
    return round((val_windows * fitted + PRIOR_WINDOWS * z) / (val_windows + PRIOR_WINDOWS), 4)


def _layer(model: keras.Model) -> SeriesInverse | None:
    for layer in model.layers:
        if isinstance(layer, SeriesInverse) and layer.shrink:
            return layer
    return None


def _forecasts(model: keras.Model, batches: list[tuple[Any, Any]]) -> np.ndarray:
    return np.concatenate([np.asarray(model(x, training=False), np.float64) for x, _ in batches])


def fit_shrink(
    model: keras.Model, validation: Any, train_windows: int, val_rows: int, horizon: int
) -> dict[str, Any] | None:
    """Set the model's shrink weights from its validation windows; None without them.

    Args:
        model: a trained model with a `SeriesInverse` built with `shrink=True` among its
            top-level layers.
        validation: a finite dataset of (raw window, targets[, weights]) batches (sample
            weights are not used by the fit).
        train_windows: N, the training windows.
        val_rows: the validation rows; with `horizon`, n_v = val_rows / horizon.

    Returns:
        {"weights": [w per target], "fitted": [s_v per target], "credibility": Z,
        "validation_windows": n_v}, or None when the model has no shrink weight or there
        are no validation windows.
    """
    layer = _layer(model)
    if layer is None or validation is None:
        return None
    batches = [(b[0], b[1]) for b in validation]
    if not batches:
        return None
    n_t = len(layer.targets)
    truth = np.concatenate([np.asarray(y, np.float64) for _, y in batches])
    layer.shrink_weight.assign(tf.ones([n_t]))
    full = _forecasts(model, batches)
    layer.shrink_weight.assign(tf.zeros([n_t]))
    anchor = _forecasts(model, batches)
    if layer.log:  # the weight scales the logarithm's departure: fit it there
        full, anchor, truth = (np.log(np.maximum(a, 1e-30)) for a in (full, anchor, truth))
    d = (full - anchor).reshape(len(full), -1, n_t)
    e = (truth - anchor).reshape(len(full), -1, n_t)
    fitted = np.clip((d * e).sum((0, 1)) / np.maximum((d * d).sum((0, 1)), 1e-12), 0.0, 1.0)
    n_v = val_rows / max(horizon, 1)
    if not np.all(np.isfinite(fitted)):  # a forecast that is not finite: no fit, Z alone
        log.warning("series: the validation forecasts are not all finite; shrink by Z alone")
        fitted, n_v = np.zeros(n_t), 0.0
    weights = [shrink_weight(train_windows, n_v, float(s)) for s in fitted]
    layer.shrink_weight.assign(tf.constant(weights, tf.float32))
    return {
        "weights": weights,
        "fitted": [round(float(s), 4) for s in fitted],
        "credibility": round(credibility(train_windows), 4),
        "validation_windows": round(n_v, 2),
    }


class ShrinkToAnchor(keras.callbacks.Callback):
    """`fit_shrink` on the final weights (klo.Trainer's `on_final_weights` hook: after the
    best epoch's weights are restored, before the final evaluation and the model file);
    the result is in `.result` and logged."""

    def __init__(self, validation: Any, train_windows: int, val_rows: int, horizon: int):
        super().__init__()
        self.validation = validation
        self.sizes = (train_windows, val_rows, horizon)
        self.result: dict[str, Any] | None = None

    def on_final_weights(self, model: keras.Model) -> None:
        self.result = fit_shrink(model, self.validation, *self.sizes)
        if self.result:
            r = self.result
            log.info(
                "series: the forecast keeps %s of what the network adds to its anchor "
                "(credibility of %d training windows %.2f, validation fit %s over %.1f "
                "windows; val_mae is measured with it, best_val_mae and history.csv without)",
                ", ".join(f"{w:.2f}" for w in r["weights"]),
                self.sizes[0],
                r["credibility"],
                ", ".join(f"{s:.2f}" for s in r["fitted"]),
                r["validation_windows"],
            )
