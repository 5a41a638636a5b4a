"""The forecasting choices a user did not make, decided from the rows' statistics.

`data import --time ...` without `--season` or `--transform` asks this module, as
`train.auto` decides for text; every choice comes back with its reason, logged and kept in
the import report:

* the season: `find_season` (the autocorrelation's strongest prominent peak) on the
  detrended training rows, else on their first differences (growth hides a season from a
  straight-line detrend: quarterly earnings, yarn production);
* no logarithm: `log+...` is the user's to give (`--transform log+diff`). Taking the log
  of every positive series whose swings grow with its level (Guerrero's method, as
  `forecast::BoxCox.lambda`) forecast worse on the series suite's dev half (Dec 6, 2026:
  6 of the first 17 dev series worse, none better; docs/measurements.md);
* the transform: seasonal differencing when the season is strong (Hyndman's seasonal
  strength of a classical decomposition above 0.64, the threshold `forecast::nsdiffs`
  uses), else first differences when the KPSS test rejects level stationarity at 5%
  (the test `forecast::ndiffs` uses) or when the last value forecasts the training rows
  better than the mean of the rows before each origin does (a persistent series: the model
  then forecasts from the last value, not from a level it may never have seen), else none;
* the anchor the differences are summed from (`diff` only): the window's last value, an
  exponentially smoothed level (plus the mean step per step ahead: smoothing with drift) or a
  level and a damped trend (Holt), whichever forecasts the next training row best, the last
  value unless another is 5% better (`keras_lstm_opt.smoothing`);
* the step the anchor adds (`diff` from the last value, `seasonal_diff`): the training
  rows' mean step, or the window's own mean step where that forecasts the rows imported
  (validation rows included) at least 5% better over the horizon (a trend whose steps
  grow, as a population's: the mean of the training rows' steps lags it); the network's
  forecast is shrunk toward that anchor
  (`keras_lstm_opt.models.shrink`; `choose_drift`);
* the baseline: of last value, seasonal naive and the training rows' mean, the one with
  the lower MAE over the training rows (so the validation figure it reports was not used
  to pick it).

Example:

    season, why = choose_season(values[:split], None)
    name, lag, why = choose_transform(values[:split], season)
"""

from __future__ import annotations

import numpy as np

from keras_lstm_opt.data.season import find_season
from keras_lstm_opt.smoothing import holt_weights

SEASONAL_STRENGTH = 0.64  # forecast::nsdiffs's threshold for a seasonal difference
KPSS_CRITICAL_5 = 0.463  # KPSS level-stationarity test, 5% (Kwiatkowski et al. 1992)


def choose_season(
    values: np.ndarray, given: int | None, longest: int | None = None
) -> tuple[int | None, str]:
    """The season (given, or found in `values`) and why; None when nothing repeats.

    Args:
        values: the training rows of the first target, oldest first.
        given: the user's season (kept as given).
        longest: the longest season that fits (a window of this many rows), if bounded.
    """
    if given is not None:
        return given, f"{given} (given)"
    found, rows = find_season(values), "training rows"
    if found is None and len(values) > 4:
        # a trend that is not a straight line (growth, a level shift) can hide the season
        # from the detrended rows; their first differences show it
        found, rows = find_season(np.diff(values)), "first differences of the training rows"
    if found is None:
        return None, "none found (no significant, prominent autocorrelation peak)"
    why = f"autocorrelation {found.acf:.2f} at lag {found.period}, {rows}"
    if longest is not None and found.period > longest:
        return None, f"{found.period} found ({why}) but longer than the window ({longest})"
    return found.period, f"{found.period} (found: {why})"


def kpss(values: np.ndarray) -> float:
    """The KPSS statistic for level stationarity (Newey-West long-run variance)."""
    y = np.asarray(values, np.float64)
    n = len(y)
    e = y - y.mean()
    s = np.cumsum(e)
    lags = int(np.floor(4 * (n / 100) ** 0.25))  # Schwert's short lag, as R's tseries::kpss
    var = float(e @ e) / n
    for k in range(1, min(lags, n - 1) + 1):
        var += 2 * (1 - k / (lags + 1)) * float(e[k:] @ e[:-k]) / n
    return float(s @ s) / (n * n * var) if var > 0 else 0.0


def seasonal_strength(values: np.ndarray, period: int) -> float:
    """Hyndman's F_s = max(0, 1 - var(R) / var(S + R)) of a classical decomposition."""
    y = np.asarray(values, np.float64)
    n = len(y)
    if period < 2 or n < 2 * period + 1:
        return 0.0
    if period % 2:  # the trend: a centred moving average over one season (2 x P for even P)
        kernel = np.full(period, 1.0 / period)
    else:
        kernel = np.r_[0.5, np.ones(period - 1), 0.5] / period
    trend = np.convolve(y, kernel, mode="valid")
    start = (len(kernel) - 1) // 2
    detrended = y[start : start + len(trend)] - trend
    phase = (np.arange(len(detrended)) + start) % period
    means = np.array([detrended[phase == p].mean() for p in range(period)])
    seasonal = means[phase] - means.mean()
    remainder = detrended - seasonal
    total = np.var(seasonal + remainder)
    return float(max(0.0, 1.0 - np.var(remainder) / total)) if total > 0 else 0.0


def naive_errors(values: np.ndarray, season: int, horizon: int) -> tuple[float, float]:
    """MAE of last value and of seasonal naive, `horizon` steps ahead, over `values`."""
    y = np.asarray(values, np.float64)
    last, seasonal = [], []
    for h in range(horizon):
        t = np.arange(season, len(y) - h)  # forecast origins: y[:t] known, y[t + h] wanted
        if not len(t):
            break
        last.append(np.abs(y[t + h] - y[t - 1]))
        seasonal.append(np.abs(y[t + h] - y[t - season + h % season]))
    if not last:
        return float("nan"), float("nan")
    return float(np.mean(np.concatenate(last))), float(np.mean(np.concatenate(seasonal)))


def choose_transform(
    values: np.ndarray, season: int | None, horizon: int = 1
) -> tuple[str, int, str]:
    """("none" | "diff" | "seasonal_diff", lag, why) for the training rows `values`.

    A seasonal difference where the season is strong, or where seasonal naive forecasts
    the training rows better than the last value (the model then learns what seasonal
    naive misses: sunspots' 11-year cycle is too irregular for a strong season, yet the
    value a cycle ago is the better guess).
    """
    y = np.asarray(values, np.float64)
    if season and season >= 2:
        fs = seasonal_strength(y, season)
        if fs > SEASONAL_STRENGTH:
            return (
                "seasonal_diff",
                season,
                f"seasonal_diff:{season} (seasonal strength {fs:.2f} > {SEASONAL_STRENGTH})",
            )
        last, seasonal = naive_errors(y, season, horizon)
        if seasonal < last:
            return (
                "seasonal_diff",
                season,
                f"seasonal_diff:{season} (seasonal strength {fs:.2f}, but seasonal naive "
                f"forecasts the training rows better than the last value: MAE {seasonal:.4g} "
                f"< {last:.4g})",
            )
        strength = (
            f"seasonal strength {fs:.2f} <= {SEASONAL_STRENGTH}, seasonal naive MAE "
            f"{seasonal:.4g} >= last value's {last:.4g}; "
        )
    else:
        strength = ""
    stat = kpss(y)
    if stat > KPSS_CRITICAL_5:
        return "diff", 1, f"diff ({strength}KPSS {stat:.2f} > {KPSS_CRITICAL_5}: not stationary)"
    last, mean = naive_errors(y, 1, horizon)[0], mean_error(y, horizon)
    if last < mean:
        return (
            "diff",
            1,
            f"diff ({strength}KPSS {stat:.2f} <= {KPSS_CRITICAL_5}: stationary, but the last "
            f"value forecasts the training rows better than their mean so far: MAE {last:.4g} < "
            f"{mean:.4g})",
        )
    return "none", 0, f"none ({strength}KPSS {stat:.2f} <= {KPSS_CRITICAL_5}: stationary)"


ALPHAS = np.round(np.arange(0.05, 1.0001, 0.05), 2)  # the level's smoothing weights tried
BETAS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)  # the trend's (0: no trend)
PHIS = (0.8, 0.9, 0.98)  # the trend's damping
MIN_GAIN = 0.05  # a smoothing replaces the last value only when 5% better on the rows
FIT_CHUNK = 8192  # windows per product when fitting (8192 x 440 forecasts: 29 MB)


def choose_smoothing(values: np.ndarray, steps: int) -> tuple[tuple[float, float, float], str]:
    """((alpha, beta, phi), why): the exponential smoothing of a window of `steps` rows
    that forecasts the next training row best (MAE over every window of `values`, one step
    ahead, as ETS fits by one-step errors). Without a trend (beta 0) the forecast is the
    level plus the rows' mean step; with one, the level plus the damped trend. (1, 0, 1)
    is the last value (plus the mean step): the plain `diff` forecast, kept unless a
    smoothing is at least `MIN_GAIN` better (on the series suite's dev half, smoothings
    under 1% better forecast worse out of sample: msft, realinv).

    Example:

        (alpha, beta, phi), why = choose_smoothing(np.cumsum(rng.normal(size=300)), 13)
    """
    y = np.asarray(values, np.float64)
    n = len(y) - steps
    if n < 1:
        return (1.0, 0.0, 1.0), "the last value (too few training rows to fit a smoothing)"
    drift = float(np.mean(np.diff(y)))
    keys = [
        (float(alpha), beta, phi)
        for beta in BETAS
        for phi in (PHIS if beta else (1.0,))
        for alpha in ALPHAS
    ]
    weights = [holt_weights(*k, steps) for k in keys]
    # every window's one-step forecast under every smoothing: windows [n, S] @ weights
    # [S, K], in chunks of rows (a million-row series: one BLAS product per chunk, not
    # a convolution per smoothing)
    level_w = np.stack([w[0] for w in weights], axis=1)
    trend_w = np.stack([w[1] * k[2] for w, k in zip(weights, keys, strict=True)], axis=1)
    offset = np.array([0.0 if k[1] else drift for k in keys])
    windows = np.lib.stride_tricks.sliding_window_view(y, steps)[:n]
    total = np.zeros(len(keys))
    for start in range(0, n, FIT_CHUNK):
        chunk = windows[start : start + FIT_CHUNK]
        f = chunk @ level_w + chunk @ trend_w + offset
        total += np.abs(y[steps + start : steps + start + len(chunk), None] - f).sum(axis=0)
    errors = dict(zip(keys, (total / n).tolist(), strict=True))
    plain = (1.0, 0.0, 1.0)
    best = min(errors, key=lambda k: errors[k])  # ties: the first tried (no trend first)
    if errors[best] > (1 - MIN_GAIN) * errors[plain]:
        return plain, (
            f"the last value (MAE {errors[plain]:.4g} forecasting the next training row; no "
            f"smoothing does {MIN_GAIN:.0%} better)"
        )
    alpha, beta, phi = best
    what = (
        f"a smoothed level (alpha {alpha:g}) plus the mean step"
        if not beta
        else f"a level and a damped trend (alpha {alpha:g}, beta {beta:g}, phi {phi:g})"
    )
    return best, (
        f"{what}: forecasts the next training row with MAE {errors[best]:.4g}, the last "
        f"value with {errors[plain]:.4g}"
    )


def choose_drift(
    values: np.ndarray, trained: float, lag: int, steps: int, horizon: int
) -> tuple[str, str]:
    """("training" | "window", why): the step per `lag` that the anchor adds, each step
    ahead: `trained`, the training rows' mean step (the one the model scales by), or the
    mean step of the window the forecast reads (`steps` rows), whichever forecasts `values`
    better over the horizon (the MAE of the last value, or of the last season's value for
    a seasonal difference, plus that step, at every origin); the training rows' unless the
    window's is `MIN_GAIN` better (the same margin as `choose_smoothing`'s). `values` are
    every row imported, validation rows included: a step that changes shows first in the
    newest rows.

    Example:

        drift, why = choose_drift(population, trained=2.35, lag=4, steps=20, horizon=8)
    """
    y = np.asarray(values, np.float64)
    origins = np.arange(steps, len(y))  # y[:o] known, y[o + h] wanted
    if lag < 1 or len(y) <= lag or not len(origins):
        return "training", "the training rows' mean step (too few rows to compare)"
    windows = np.lib.stride_tricks.sliding_window_view(y, steps)[: len(origins)]
    # each window's mean step over `lag` rows: its last `lag` rows less its first, summed
    own = (windows[:, -lag:].sum(axis=1) - windows[:, :lag].sum(axis=1)) / (steps - lag)
    err: dict[str, list[np.ndarray]] = {"training": [], "window": []}
    for h in range(horizon):
        o = origins[origins + h < len(y)]
        if not len(o):
            break
        base, k = y[o - lag + h % lag], h // lag + 1  # the last (season's) value, steps summed
        err["training"].append(np.abs(y[o + h] - (base + k * trained)))
        err["window"].append(np.abs(y[o + h] - (base + k * own[: len(o)])))
    mae = {k: float(np.mean(np.concatenate(v))) for k, v in err.items()}
    figures = (
        f"MAE {mae['window']:.4g} with the window's, {mae['training']:.4g} with the training "
        f"rows' ({trained:.4g}), forecasting the {len(y)} rows imported {horizon} step(s) ahead"
    )
    if mae["window"] <= (1 - MIN_GAIN) * mae["training"]:
        return "window", f"the window's mean step ({figures})"
    return "training", f"the training rows' mean step ({figures})"


def mean_error(values: np.ndarray, horizon: int) -> float:
    """MAE of the mean of the rows before each origin as the forecast, at the origins
    `naive_errors` uses (season 1). A forecast, as the last value is: the mean of all the
    rows, future ones included, fits a short persistent series better than any forecast
    could, and would keep it undifferenced (docs/measurements.md, series round 6)."""
    y = np.asarray(values, np.float64)
    sums = np.cumsum(y)
    errors = []
    for h in range(horizon):
        t = np.arange(1, len(y) - h)  # y[:t] known, y[t + h] wanted
        if len(t):
            errors.append(np.abs(y[t + h] - sums[t - 1] / t))
    return float(np.mean(np.concatenate(errors))) if errors else float("nan")


def choose_baseline(train_mae: dict[str, float]) -> tuple[str, str]:
    """The baseline with the lower training-rows MAE, and why."""
    best = min(train_mae, key=lambda k: train_mae[k])
    figures = ", ".join(f"{k} {v:.4g}" for k, v in train_mae.items())
    return best, f"{best} (lower MAE on the training windows: {figures})"
