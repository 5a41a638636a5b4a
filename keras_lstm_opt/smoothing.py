"""Exponential smoothing of a window as fixed weights: the anchor a series model forecasts from.

A forecasting model with first differences (`diff`) sums its predicted steps from an anchor.
The last value is the plain choice; a noisy level is better forecast from its smoothed
level (simple exponential smoothing), a series with momentum from a level and a damped
trend (Holt's method, Gardner and McKenzie's damping), as ETS does. For fixed smoothing
weights both are linear in the window's values, so the level and the trend of a window of
S steps are two weight vectors `[S]`: the import fits the weights on the training rows
(`data/series_auto.py`) and the model's `SeriesInverse` applies them (`models/series.py`),
both through `holt_weights`.

Start: the level is the window's mean and the trend the window's mean step; then, for each
step s, level = alpha y_s + (1 - alpha)(level + phi trend) and trend = beta (level -
previous level) + (1 - beta) phi trend. With beta = 0 there is no trend (simple
smoothing); alpha = 1, beta = 0 is the last value.

Example:

    level, trend = holt_weights(0.3, 0.1, 0.9, 12)
    window @ level + (0.9 + 0.81) * (window @ trend)   # the forecast two steps ahead
"""

from __future__ import annotations

import numpy as np


def holt_weights(
    alpha: float, beta: float, phi: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """(level weights `[steps]`, trend weights `[steps]`) of a window of `steps` values.

    Args:
        alpha: the level's smoothing weight, in (0, 1].
        beta: the trend's smoothing weight, in [0, 1]; 0 = no trend (its weights are 0).
        phi: the trend's damping, in (0, 1].
        steps: the window's length, >= 1.
    """
    level = np.full(steps, 1.0 / steps)
    trend = np.zeros(steps)
    if beta > 0 and steps > 1:
        trend[0], trend[-1] = -1.0 / (steps - 1), 1.0 / (steps - 1)
    unit = np.eye(steps)
    for s in range(steps):
        previous = level
        level = alpha * unit[s] + (1 - alpha) * (level + phi * trend)
        trend = beta * (level - previous) + (1 - beta) * phi * trend if beta > 0 else trend
    return level, trend


def damped_steps(phi: float, horizon: int) -> np.ndarray:
    """`[horizon]`: phi + phi^2 + ... + phi^h for h = 1..horizon (the trend's multiple)."""
    return np.cumsum(phi ** np.arange(1, horizon + 1, dtype=np.float64))
