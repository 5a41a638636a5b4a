"""Keras layers that put a forecasting model's transform, scaling and inverse inside it.

A dataset imported from a raw series (`keras_lstm_opt.data.series.import_series`)
stores RAW windows in original units. The model itself turns them into what the LSTM
learns from, and turns its prediction back:

* `SeriesPreprocess`: raw window `[B, W + lag, C]` -> transformed, scaled `[B, W, C]`.
  With `log`, the target columns are first replaced by their logarithms (a series whose
  swings grow with its level: growth in percent becomes a difference). They are then
  differenced (`diff`: lag 1; `seasonal_diff`: lag P, the
  season) or kept (`none`: lag 0); every column is then standardised with the mean and
  standard deviation fitted on the training period.
* `SeriesInverse`: (scaled prediction `[B, H * T]`, raw window) -> prediction in
  original units `[B, H * T]` (time-major: h0t0, h0t1, ...). It un-scales, then undoes
  the difference from the window's last raw values: `y[t] = y[t - lag] + d[t]`,
  recursively when the horizon H is longer than the lag (from the log of the window's
  values with `log`, and the exponential of the sum then).

So training metrics, evaluation, prediction and every exported model work in original
units on raw windows. Both layers use plain TensorFlow ops (they trace into a SavedModel
and convert with tf2onnx) and always compute in float32, also under mixed precision.

Example:

    raw = keras.Input((24 + 12, 1))
    x = SeriesPreprocess([0], "seasonal_diff", 12, mean=[1.5], std=[0.6])(raw)
    scaled = keras.layers.Dense(12)(keras.layers.LSTM(32)(x))
    y = SeriesInverse([0], "seasonal_diff", 12, horizon=12, mean=[1.5],
                      std=[0.6])([scaled, raw])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.smoothing import damped_steps, holt_weights

TRANSFORMS = ("none", "diff", "seasonal_diff")


def check_series_args(
    layer: str,
    targets: Sequence[int],
    transform: str,
    lag: int,
    mean: Sequence[float],
    std: Sequence[float],
) -> None:
    """Raise a UsageError naming `layer` unless the arguments describe a valid transform."""
    if transform not in TRANSFORMS:
        raise UsageError(f"{layer}: transform must be one of {TRANSFORMS}, got {transform!r}")
    expected = {"none": lag == 0, "diff": lag == 1, "seasonal_diff": lag >= 1}[transform]
    if isinstance(lag, bool) or not isinstance(lag, int) or not expected:
        need = {"none": "0", "diff": "1", "seasonal_diff": "the season, >= 1"}[transform]
        raise UsageError(f"{layer}: lag must be {need} for transform {transform!r}, got {lag!r}")
    if len(mean) != len(std) or not mean:
        raise UsageError(
            f"{layer}: mean and std need one value per column (got {len(mean)} and {len(std)})"
        )
    bad = [s for s in std if not (math.isfinite(s) and s > 0)]
    if bad or not all(math.isfinite(m) for m in mean):
        raise UsageError(
            f"{layer}: std must be finite and > 0, mean finite; got "
            f"mean={list(mean)}, std={list(std)}"
        )
    if (
        not targets
        or len(set(targets)) != len(targets)
        or any(
            isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < len(mean) for t in targets
        )
    ):
        raise UsageError(
            f"{layer}: targets must be distinct column indices in "
            f"0..{len(mean) - 1}, got {list(targets)}"
        )


def _check_smoothing(
    smoothing: dict[str, Sequence[float]], transform: str, targets: Sequence[int]
) -> dict[str, list[float]]:
    """`smoothing` as lists of floats, or a UsageError saying what it needs."""
    try:
        out = {k: [float(v) for v in smoothing[k]] for k in ("alpha", "beta", "phi")}
        ok = (
            transform == "diff"
            and all(len(v) == len(targets) for v in out.values())
            and all(0 < a <= 1 for a in out["alpha"])
            and all(0 <= b <= 1 for b in out["beta"])
            and all(0 < p <= 1 for p in out["phi"])
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise UsageError(
            "SeriesInverse: smoothing needs transform 'diff' and {'alpha', 'beta', 'phi'}, "
            f"one weight per target each (alpha, phi in (0, 1], beta in [0, 1]); got "
            f"{smoothing!r} for {transform!r} and {len(targets)} target(s)"
        )
    return out


class _SeriesLayer(keras.layers.Layer):
    """Shared arguments, checks and config of the two layers."""

    def __init__(
        self,
        targets: Sequence[int],
        transform: str,
        lag: int,
        mean: Sequence[float],
        std: Sequence[float],
        log: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs["dtype"] = "float32"  # scaling and sums stay exact under mixed precision
        super().__init__(**kwargs)
        check_series_args(type(self).__name__, targets, transform, lag, mean, std)
        self.targets = list(targets)
        self.transform = transform
        self.lag = lag
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        if not isinstance(log, bool):
            raise UsageError(f"{type(self).__name__}: log must be True or False, got {log!r}")
        self.log = log

    def _targets_log(self, x: tf.Tensor) -> tf.Tensor:
        """`x` `[B, S, C]` with its target columns replaced by their logarithms (values
        at or below 0, outside a log series' domain, read as the smallest positive
        float32)."""
        mask = tf.constant([c in self.targets for c in range(len(self.mean))], tf.bool)
        logged = tf.math.log(tf.maximum(x, tf.constant(1.1754944e-38, tf.float32)))
        return tf.where(mask, logged, x)

    def _check_window(self, shape: Any) -> None:
        if len(shape) != 3:
            raise UsageError(
                f"{type(self).__name__}: expected a raw window "
                f"[batch, time, columns], got shape {tuple(shape)}"
            )
        if shape[2] is not None and shape[2] != len(self.mean):
            raise UsageError(
                f"{type(self).__name__}: the window has {shape[2]} columns, "
                f"mean/std describe {len(self.mean)}"
            )
        if shape[1] is not None and shape[1] <= self.lag:
            raise UsageError(
                f"{type(self).__name__}: a window of {shape[1]} steps is too "
                f"short for lag {self.lag}"
            )

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.pop("dtype", None)  # always float32 (set in __init__)
        config.update(
            targets=self.targets,
            transform=self.transform,
            lag=self.lag,
            mean=self.mean,
            std=self.std,
        )
        if self.log:  # absent when False: models saved before `log` load unchanged
            config["log"] = True
        return config


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class SeriesPreprocess(_SeriesLayer):
    """Raw window `[B, W + lag, C]` -> differenced targets, scaled columns `[B, W, C]`.

    Args:
        targets: the indices of the target columns (those the transform applies to).
        transform: "none", "diff" or "seasonal_diff".
        lag: 0 for "none", 1 for "diff", the season P for "seasonal_diff": the window
            holds `lag` extra leading steps so every one of the W output steps has
            its differenced value.
        mean, std: per column, of the transformed columns (fitted on the training
            period); each output column is `(value - mean) / std`.
        log: take the targets' logarithms before differencing (positive series).
        **kwargs: those of `keras.layers.Layer` (name, ...); the dtype is float32.

    Example:

        layer = SeriesPreprocess([0], "diff", 1, mean=[0.1, 0.0], std=[1.2, 0.7])
        layer(np.zeros((4, 25, 2), "float32")).shape   # (4, 24, 2)
    """

    def build(self, input_shape: Any) -> None:
        self._check_window(input_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        x = tf.cast(inputs, tf.float32)
        if self.log:
            x = self._targets_log(x)
        if self.lag:
            mask = tf.constant(
                [1.0 if c in self.targets else 0.0 for c in range(len(self.mean))], tf.float32
            )
            x = x[:, self.lag :, :] - mask * x[:, : -self.lag, :]
        mean = tf.constant(self.mean, tf.float32)
        std = tf.constant(self.std, tf.float32)
        return (x - mean) / std

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        steps = None if input_shape[1] is None else input_shape[1] - self.lag
        return (input_shape[0], steps, input_shape[2])


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class SeriesInverse(_SeriesLayer):
    """(scaled prediction `[B, H * T]`, raw window) -> prediction in original units.

    The prediction is time-major (h0t0, h0t1, ..., h1t0, ...). Each target is
    un-scaled with its column's mean and std, then the difference is undone from the
    raw window's last `lag` values: `y[h] = y[h - lag] + d[h]`, where `y[h - lag]` is
    an observed value while `h < lag` and an earlier prediction after that.

    Args:
        targets, transform, lag, mean, std, log: as for `SeriesPreprocess` (the same
            values).
        horizon: H, the number of predicted steps.
        smoothing: `diff` only: {"alpha": [...], "beta": [...], "phi": [...]}, one weight
            per target: the differences are summed from the window's exponentially smoothed
            level (and, where beta > 0, its damped trend; `keras_lstm_opt.smoothing`) in
            place of its last value. A prediction of the training rows' mean step is then
            that smoothing's own forecast (with beta 0: the level plus the mean step per
            step: simple exponential smoothing with drift). None: the last value.
        shrink: give the layer a weight per target (non-trainable, 1 when built) that
            scales the network's scaled prediction: at 0 the forecast is the anchor's
            alone (the prediction the training rows' mean step or value gives), at 1 the
            network's. `keras_lstm_opt.models.shrink` sets it after training.
        drift: with shrink and a difference, per target: "training" (the anchor adds the
            training rows' mean step, the default) or "window" (it adds the window's own
            mean step over `lag` rows: at weight w the step is w times the network's plus
            1 - w times the window's). None: "training" for every target.
        **kwargs: those of `keras.layers.Layer`; the dtype is float32.

    Example:

        inv = SeriesInverse([0], "diff", 1, horizon=3, mean=[0.0], std=[1.0])
        inv([np.ones((1, 3), "float32"), np.full((1, 5, 1), 10.0, "float32")])
        # [[11., 12., 13.]]
    """

    def __init__(
        self,
        targets: Sequence[int],
        transform: str,
        lag: int,
        horizon: int,
        mean: Sequence[float],
        std: Sequence[float],
        log: bool = False,
        smoothing: dict[str, Sequence[float]] | None = None,
        shrink: bool = False,
        drift: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(targets, transform, lag, mean, std, log, **kwargs)
        if not isinstance(shrink, bool):
            raise UsageError(f"SeriesInverse: shrink must be True or False, got {shrink!r}")
        self.shrink = shrink
        if drift is not None and (
            isinstance(drift, str)
            or len(drift) != len(self.targets)
            or any(d not in ("training", "window") for d in drift)
            or (not self.lag and "window" in drift)
        ):
            raise UsageError(
                "SeriesInverse: drift must list 'training' or 'window' per target "
                f"({len(self.targets)}), 'window' only with a difference; got {drift!r}"
            )
        self.drift = None if drift is None or "window" not in drift else list(drift)
        if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
            raise UsageError(f"SeriesInverse: horizon must be an integer >= 1, got {horizon!r}")
        self.horizon = horizon
        self.smoothing = (
            None if smoothing is None else _check_smoothing(smoothing, transform, targets)
        )
        trended = [bool(b) for b in (self.smoothing or {}).get("beta", [0.0] * len(targets))]
        if self.drift and any(
            d == "window" and t for d, t in zip(self.drift, trended, strict=True)
        ):
            raise UsageError(
                "SeriesInverse: drift 'window' for a target whose smoothing has a trend "
                f"(beta > 0): the trend is its step; got drift {self.drift!r}"
            )

    def build(self, input_shape: Any) -> None:
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise UsageError("SeriesInverse: expected two inputs, [prediction, raw window]")
        pred, window = input_shape
        self._check_window(window)
        n = self.horizon * len(self.targets)
        if len(pred) != 2 or (pred[1] is not None and pred[1] != n):
            raise UsageError(
                f"SeriesInverse: the prediction must be [batch, {n}] "
                f"(horizon {self.horizon} x {len(self.targets)} targets), "
                f"got {tuple(pred)}"
            )
        if self.shrink:
            self.shrink_weight = self.add_weight(
                name="shrink", shape=(len(self.targets),), initializer="ones", trainable=False
            )

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        pred, window = (tf.cast(t, tf.float32) for t in inputs)
        h, n_t = self.horizon, len(self.targets)
        mean = tf.constant([self.mean[t] for t in self.targets], tf.float32)
        std = tf.constant([self.std[t] for t in self.targets], tf.float32)
        d = tf.reshape(pred, [-1, h, n_t])
        if self.shrink:  # toward the anchor: a prediction of 0 is the mean step or value
            d = d * tf.cast(self.shrink_weight, tf.float32)
        d = d * std + mean
        if self.shrink and self.drift:  # the anchor's step: the window's, where chosen
            d = d + self._window_step(window, mean)
        if self.lag:
            p = self.lag
            k = -(-h // p)  # seasons covered by the horizon, the last one maybe partial
            d = tf.pad(d, [[0, 0], [0, k * p - h], [0, 0]])
            # season j's value = the last observed season + the differences of seasons 0..j
            steps = tf.math.cumsum(tf.reshape(d, [-1, k, p, n_t]), axis=1)
            last = window[:, -p:, :] if self.smoothing is None else window
            if self.log:
                last = self._targets_log(last)
            last = tf.gather(last, self.targets, axis=2)
            if self.smoothing is None:  # season j = the last season + the steps of 0..j
                d = tf.reshape(steps + last[:, None, :, :], [-1, k * p, n_t])[:, :h, :]
            else:  # lag 1: step h = its anchor + the steps 1..h
                d = tf.reshape(steps, [-1, h, n_t]) + self._anchor(last)
        if self.log:  # float32's exp overflows past ~88: cap the log there
            d = tf.exp(tf.minimum(d, 88.0))
        return tf.reshape(d, [-1, h * n_t])

    def _window_step(self, window: tf.Tensor, mean: tf.Tensor) -> tf.Tensor:
        """`[B, 1, T]`: (1 - w) times (the window's mean step over `lag` rows less the
        training rows' mean step), for the targets whose drift is "window" (0 for the
        others): what moves the anchor's step from the training rows' to the window's."""
        p = self.lag
        x = self._targets_log(window) if self.log else window
        x = tf.gather(x, self.targets, axis=2)
        steps = tf.cast(tf.shape(x)[1], tf.float32)
        own = (tf.reduce_sum(x[:, -p:, :], axis=1) - tf.reduce_sum(x[:, :p, :], axis=1)) / (
            steps - p
        )  # sum over the window of x[i + p] - x[i], divided by their count
        chosen = tf.constant([d == "window" for d in self.drift or ()], tf.float32)
        keep = 1.0 - tf.cast(self.shrink_weight, tf.float32)
        return ((own - mean) * chosen * keep)[:, None, :]

    def _anchor(self, window: tf.Tensor) -> tf.Tensor:
        """`[B, H, T]`: each step's anchor from the targets' window `[B, S, T]`: the level
        plus the damped trend's sum, less the mean step where there is a trend (so that a
        prediction of the mean step is the smoothing's own forecast)."""
        steps, h = window.shape[1], self.horizon
        if steps is None:
            raise UsageError("SeriesInverse: smoothing needs a window of a known length")
        sm = self.smoothing
        assert sm is not None
        columns = [
            holt_weights(a, b, phi, steps)
            for a, b, phi in zip(sm["alpha"], sm["beta"], sm["phi"], strict=True)
        ]
        level_w = tf.constant(np.stack([c[0] for c in columns], axis=1), tf.float32)  # [S, T]
        trend_w = tf.constant(np.stack([c[1] for c in columns], axis=1), tf.float32)
        ahead = np.stack(
            [
                damped_steps(phi, h) if b else np.zeros(h)
                for b, phi in zip(sm["beta"], sm["phi"], strict=True)
            ],
            axis=1,
        )  # [H, T]
        drift = np.stack(
            [np.arange(1, h + 1) * (1.0 if b else 0.0) for b in sm["beta"]], axis=1
        )  # [H, T]: the mean step's sum, taken off where a trend replaces it
        mean = tf.constant([self.mean[t] for t in self.targets], tf.float32)
        level = tf.einsum("bst,st->bt", window, level_w)[:, None, :]
        trend = tf.einsum("bst,st->bt", window, trend_w)[:, None, :]
        return (
            level + trend * tf.constant(ahead, tf.float32) - tf.constant(drift, tf.float32) * mean
        )

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        return (input_shape[0][0], self.horizon * len(self.targets))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["horizon"] = self.horizon
        if self.smoothing is not None:  # absent otherwise: earlier models load unchanged
            config["smoothing"] = self.smoothing
        if self.shrink:
            config["shrink"] = True
        if self.drift:  # absent when every target's is the training rows': older models load
            config["drift"] = self.drift
        return config
