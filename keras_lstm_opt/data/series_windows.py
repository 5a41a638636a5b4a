"""Forecasting windows from a raw series, and the baselines they are held to.

What both the importer and the serving side need, apart from the import itself
(`keras_lstm_opt.data.series`): `series_windows` cuts raw windows (and their targets) from a
table as the importer stores them, for evaluation, prediction and serving; `last_value`,
`training_mean` and `seasonal_naive` forecast those windows as the baselines a model is
held to (original units); `not_positive` finds a value a log model cannot take.

Example:

    x, y = series_windows(read_schema("data/co2")["info"], {"co2": values})
    mae = float(np.mean(np.abs(seasonal_naive(info, x) - y)))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_lstm_opt.errors import DataError


def logged_targets(info: dict[str, Any]) -> int:
    """How many target columns (the first ones) the model takes the logarithm of: all of
    them for an import with log, else 0."""
    series = info.get("series") or {}
    return len(series.get("targets") or []) if series.get("log") else 0


def not_positive(values: np.ndarray, n_t: int) -> tuple[int, ...] | None:
    """The index of the first value at or below 0 (outside a logarithm's domain) among the
    first `n_t` columns (the last axis) of `values`, or None.

    Example:

        not_positive(np.array([[1.0, -2.0], [0.0, 3.0]]), 1)   # (1, 0)
    """
    if not n_t:
        return None
    low = np.argwhere(~(np.asarray(values)[..., :n_t] > 0))
    return tuple(int(v) for v in low[0]) if len(low) else None


def _sizes(info: dict[str, Any]) -> tuple[int, int, int, int]:
    s = info["series"]
    return int(info["window"]), int(s["lag"]), int(info["horizon"]), len(s["targets"])


def series_windows(
    info: dict[str, Any], table: dict[str, np.ndarray] | np.ndarray, targets: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw windows (and their targets) from a raw table, as the importer stores them.

    Args:
        info: the schema's info (`window`, `horizon`, `series`).
        table: column name -> values (every column of `info["series"]["columns"]`;
            others are ignored), or an array `[rows, C]` in that column order. Rows are
            consecutive time steps, oldest first.
        targets: True: every window that has `horizon` following rows, with those
            rows' targets; False: every window, the last one ending at the last row
            (the one to forecast after the end), and no targets.

    Returns:
        `x` float32 `[N, W + lag, C]` and `y` float32 `[N, H * T]` (None if not `targets`).

    Example:

        x, _ = series_windows(info, {"co2": values}, targets=False)
        forecast = model.predict(x[-1:])
    """
    columns = list(info["series"]["columns"])
    if isinstance(table, dict):
        missing = [c for c in columns if c not in table]
        if missing:
            raise DataError(
                f"column {missing[0]!r}: missing (the model reads {', '.join(columns)})"
            )
        data = np.stack([np.asarray(table[c], np.float64) for c in columns], axis=1)
    else:
        data = np.asarray(table, np.float64)
        if data.ndim != 2 or data.shape[1] != len(columns):
            raise DataError(
                f"table: expected shape [rows, {len(columns)}] (columns "
                f"{', '.join(columns)}), got {list(data.shape)}"
            )
    bad = np.argwhere(~np.isfinite(data))
    if bad.size:
        row, col = bad[0]
        raise DataError(
            f"row {row + 1}, column {columns[col]!r}: not a finite number ({data[row, col]})"
        )
    w, lag, h, n_t = _sizes(info)
    low = not_positive(data, logged_targets(info))
    if low is not None:
        row, col = low
        raise DataError(
            f"row {row + 1}, column {columns[col]!r}: {data[row, col]:g} is not above 0, and "
            "the model forecasts the logarithm of this column (imported with log)"
        )
    n = data.shape[0] - (w + lag) - (h if targets else 0) + 1
    if n < 1:
        need = w + lag + (h if targets else 0)
        raise DataError(
            f"{data.shape[0]} rows are too few: a window needs {need} "
            f"(window {w} + lag {lag}{f' + horizon {h}' if targets else ''})"
        )
    return cut_windows(data, n, w + lag, h if targets else 0, n_t)


def cut_windows(
    data: np.ndarray, n: int, steps: int, horizon: int, n_t: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """`n` windows starting at rows 0..n-1 of `data`: x [n, steps, C], y [n, horizon*T]."""
    view = np.lib.stride_tricks.sliding_window_view(data, steps + horizon, axis=0)
    view = view[:n].transpose(0, 2, 1)  # [n, steps + horizon, C]
    x = np.ascontiguousarray(view[:, :steps], np.float32)
    if not horizon:
        return x, None
    return x, np.ascontiguousarray(view[:, steps:, :n_t].reshape(n, -1), np.float32)


def last_value(info: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Forecast every step as the window's last value: `[N, H * T]`, original units."""
    _, _, h, n_t = _sizes(info)
    last = np.asarray(x)[:, -1, :n_t]
    return np.tile(last, (1, h))


def training_mean(info: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Forecast every step as the training rows' mean of each target: `[N, H * T]`,
    original units (the forecast a stationary series is held to). Needs
    `info["series"]["level"]` (imports since Dec 6, 2026)."""
    _, _, h, n_t = _sizes(info)
    level = np.asarray(info["series"]["level"][:n_t], np.float64)
    return np.tile(level, (len(np.asarray(x)), h))


def seasonal_naive(info: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Forecast each step as the value one season earlier: `[N, H * T]`, original units.

    Steps more than a season ahead repeat the last observed season. Needs
    `info["series"]["season"]`.
    """
    w, lag, h, n_t = _sizes(info)
    p = info["series"].get("season")
    if not p:
        raise DataError("the schema's info.series has no season: no seasonal-naive baseline")
    if p > w + lag:
        raise DataError(f"season {p} is longer than the window ({w + lag} steps)")
    x = np.asarray(x)
    idx = [w + lag - p + (k % p) for k in range(h)]
    return x[:, idx, :n_t].reshape(len(x), -1)


def mean_abs_error(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.abs(pred.astype(np.float64) - y.astype(np.float64))))
