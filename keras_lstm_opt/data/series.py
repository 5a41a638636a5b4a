"""Import a raw time series (CSV, TSV, JSON Lines, Parquet) as forecasting windows.

One row per time step: a time column (ISO dates / datetimes, or numbers), the target
columns to forecast and, optionally, more feature columns the model reads. The whole
series is held in memory while it is imported (8 bytes x rows x columns, plus each
row's place for error messages), and so are its windows before they are written (4 bytes
x windows x (W + lag + H) x C): it is sorted by time, split by time, and windowed.

* Split: the validation period is the last `validation_fraction` of the rows, or a
  separate `validation` file whose times all come after the training period.
  Training windows lie wholly in the training period (inputs and targets); a
  validation window has all its targets in the validation period and reads its inputs
  from the steps just before them (which may lie before the split, never after the
  targets).
* Stored windows are RAW, in original units: `x` `[N, W + lag, C]`, `y` `[N, H * T]`
  (time-major). The transform (`none`, `diff`, `seasonal_diff:P`, on the target
  columns) and the scaling (mean, std of the transformed columns, fitted on training
  rows only) are recorded in `info.series`; the model applies them and their inverse
  itself (`keras_lstm_opt.models.series`), so its output is in original units.
* Choices not given are made from the training rows (`keras_lstm_opt.data.series_auto`,
  each reason logged and kept in the report): the season (found in the autocorrelation),
  the transform (`auto`: seasonal diff for a strong season, diff for a non-stationary
  series, else none), window and horizon (from the season).
* Baselines on the validation windows, original units: seasonal naive (the value one
  season earlier), last value and the training rows' mean (`info.series.level`).
  `info.baseline_mae` is the validation MAE of the one with the lower MAE over the
  training windows (`info.baselines_train`).

Example:

    report = import_series(["co2.csv"], "data/co2",
                           SeriesColumns(time="date", target="co2", window=24, horizon=12,
                                         transform="seasonal_diff:12"))
    x, y = series_windows(read_schema("data/co2")["info"], {"co2": values})  # series_windows.py
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_lstm_opt.data.import_options import ReadOptions, SeriesColumns
from keras_lstm_opt.data.readers import expand_sources
from keras_lstm_opt.data.series_auto import (
    choose_baseline,
    choose_drift,
    choose_season,
    choose_smoothing,
    choose_transform,
)
from keras_lstm_opt.data.series_read import Series, format_time, read_series
from keras_lstm_opt.data.series_transform import TRANSFORMS as TRANSFORMS  # re-exported
from keras_lstm_opt.data.series_transform import (
    _check_positive,
    _scaling,
    parse_transform,
    split_log,
)
from keras_lstm_opt.data.series_windows import (
    cut_windows,
    last_value,
    mean_abs_error,
    seasonal_naive,
    series_windows,
    training_mean,
)
from keras_lstm_opt.data.series_write import _write
from keras_lstm_opt.errors import DataError, UsageError

log = logging.getLogger("keras_lstm_opt")

WINDOWS_PER_SHARD = 20000

__all__ = [
    "Series",
    "import_series",
    "last_value",
    "parse_transform",
    "read_series",
    "seasonal_naive",
    "series_windows",
    "training_mean",
]


def _choose(
    window: int | None, horizon: int | None, season: int | None
) -> tuple[int, int, dict[str, str]]:
    why = {}
    if horizon is None:
        horizon = season or 1
        why["horizon"] = f"{horizon} (default: {'the season' if season else 'one step'})"
    if window is None:
        window = max(2 * (season or 0), 2 * horizon, 8)
        why["window"] = f"{window} (default: the longest of 2 x season, 2 x horizon, 8)"
    for name, v in (("window", window), ("horizon", horizon)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise UsageError(f"{name}: must be an integer >= 1, got {v!r}")
    return window, horizon, why


def _files(where: Sequence[str]) -> str:
    """The files the rows came from (each row's `where` is "FILE, line N"), in order."""
    files = list(dict.fromkeys(w.rsplit(", line ", 1)[0] for w in where))
    return ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")


def _split(
    train: Series, val: Series | None, fraction: float, horizon: int
) -> tuple[Series, int, str]:
    """The whole series and the index of its first validation row."""
    if val is not None:
        if val.times[0] <= train.times[-1]:
            raise DataError(
                f"{val.where[0]}, column {val.time!r}: the validation period "
                f"must come after the training period, but "
                f"{format_time(val.times[0], val.kind)} is not after "
                f"{format_time(train.times[-1], train.kind)} ({train.where[-1]})"
            )
        if val.kind != train.kind:
            raise DataError(
                f"{val.where[0]}, column {val.time!r}: the validation times are "
                f"{val.kind}s, the training times {train.kind}s"
            )
        return train.concat(val), len(train), "the validation file"
    if isinstance(fraction, bool) or not 0 < fraction < 1:
        raise UsageError(f"validation_fraction: must lie between 0 and 1, got {fraction!r}")
    n_val = int(round(len(train) * fraction))
    if n_val < horizon:
        raise DataError(
            f"{_files(train.where)}: the series has {len(train)} rows; the last {fraction:g} of "
            f"them (validation_fraction, --validation-fraction) are {n_val}, fewer than the "
            f"horizon ({horizon}) that validation needs; give more rows, a larger validation "
            "fraction or a shorter horizon"
        )
    return train, len(train) - n_val, f"the last {fraction:g} of the rows"


def import_series(
    sources: Sequence[str] | str,
    out: str,
    what: SeriesColumns,
    read: ReadOptions | None = None,
) -> dict[str, Any]:
    """Read a raw series, split it by time and write raw forecasting windows to `out`.

    Args:
        sources: files (or one pattern / directory) of rows, one per time step; several
            files are one series (sorted by time together).
        out: the data directory (TFRecord shards + schema.json), local or remote.
        time: the time column: ISO dates / datetimes, or numbers.
        target: the column(s) to forecast (T of them).
        features: more columns the model reads but does not forecast.
        window: W, input steps (default: 2 x season, at least 2 x horizon and 8).
        horizon: H, steps forecast (default: the season, else 1).
        transform: "auto" (chosen from the training rows), "none", "diff" or
            "seasonal_diff:P", applied to the targets.
        season: the season in steps for the seasonal-naive baseline (default: P of
            seasonal_diff:P, else the one found in the training rows, if any).
        validation: a file (or pattern) of rows after the training period; None takes
            the last `validation_fraction` of the rows.
        validation_fraction: the share of rows held out when `validation` is None.
        on_bad_row: "error" stops at the first bad row; "skip" leaves it out (counted).
        progress: log a line per file read and the choices made.
        shards: training files (default: one per 20,000 windows); validation: one.

    Returns:
        The import report (also stored as `info.import`): sources, rows and windows per
        split, rows skipped, the choices made and why.

    Raises:
        UsageError: bad arguments; DataError: bad rows (naming file, line and column),
        too few rows for the window, horizon and split.
    """
    read = read or ReadOptions()
    time, target, features = what.time, what.target, what.features
    window, horizon = what.window, what.horizon
    transform, season = what.transform, what.season
    validation = read.validation if isinstance(read.validation, str) else None
    validation_fraction, on_bad_row = read.validation_fraction, read.on_bad_row
    progress, shards = read.progress, read.shards
    if not time:
        raise UsageError("time: name the time column of the series")
    if not target:
        raise UsageError("target: name the column(s) to forecast")
    targets = [target] if isinstance(target, str) else list(target)
    feats = list(features or [])
    columns = targets + feats
    clash = {time} & set(columns) or {c for c in columns if columns.count(c) > 1}
    if clash:
        raise UsageError(
            f"column {sorted(clash)[0]!r} is named twice among time, target and features"
        )
    auto = transform == "auto"
    logs, given = split_log(transform)
    name, lag, season = ("auto", 0, season) if auto else parse_transform(given, season)
    if season is not None and window is not None and season > window + lag:
        raise UsageError(
            f"season {season} is longer than the window ({window} steps + lag "
            f"{lag}): the seasonal-naive baseline needs a whole season; raise "
            "window"
        )
    files = (
        expand_sources(sources)
        if isinstance(sources, str)
        else [f for s in sources for f in expand_sources(s)]
    )
    train = read_series(files, time, columns, on_bad_row, progress)
    val = (
        read_series(expand_sources(validation), time, columns, on_bad_row, progress)
        if validation
        else None
    )
    series, split, how = _split(train, val, validation_fraction, horizon or 1)
    data, n_t = series.values, len(targets)
    head = data[:split, 0]  # the first target's training rows: what the choices read
    season, season_why = choose_season(head, season, window)
    transform_why = f"{name} (given)"
    log_why = "log (given)" if logs else "no log (given)"
    window, horizon, why = _choose(window, horizon, season)
    if auto:
        log_why = "no log (auto: log+... only when given, as --transform log+diff)"
        name, lag, transform_why = choose_transform(head, season, horizon)
    if logs:
        _check_positive(series, n_t, columns)
    if len(series) - split < horizon:
        raise DataError(
            f"{how} leaves {len(series) - split} rows for validation; a horizon of "
            f"{horizon} needs at least {horizon}"
        )
    steps = window + lag
    n_train = split - steps - horizon + 1
    if n_train < 1:
        raise DataError(
            f"the training period has {split} rows; a training window needs "
            f"{steps + horizon} (window {window} + lag {lag} + horizon {horizon})"
        )
    mean, std = _scaling(data, split, lag, n_t, columns, logs)
    smooth, smooth_why = None, None
    if name == "diff" and not auto:
        smooth_why = "the last value (the transform is given)"
    elif name == "diff":
        fitted = [choose_smoothing(data[:split, t], steps) for t in range(n_t)]
        smooth_why = "; ".join(f"{columns[t]}: {w}" for t, (_, w) in enumerate(fitted))
        if any(f != (1.0, 0.0, 1.0) for f, _ in fitted):
            smooth = {k: [f[i] for f, _ in fitted] for i, k in enumerate(("alpha", "beta", "phi"))}
    # the anchor's step, scored on every row imported: a step that changes shows first in
    # the newest rows, the validation rows (a smoothed anchor keeps the training rows')
    drift, drift_why = None, None
    if auto and (name == "seasonal_diff" or (name == "diff" and smooth is None)):
        drift, drift_why = _drift(data[:, :n_t], mean[:n_t], lag, steps, horizon, columns)
    x_tr, y_tr = cut_windows(data, n_train, steps, horizon, n_t)
    n_val = len(series) - split - horizon + 1  # the first targets start at the split
    x_va, y_va = cut_windows(data[split - steps :], n_val, steps, horizon, n_t)
    assert y_tr is not None and y_va is not None
    split_time = format_time(series.times[split], series.kind)
    rows = {"train": split, "validation": len(series) - split}
    info: dict[str, Any] = {"n_features": len(columns), "window": window, "horizon": horizon}
    info["series"] = {
        "time": time,
        "targets": targets,
        "columns": columns,
        "transform": name,
        "log": logs,
        "smoothing": smooth,
        **({"drift": drift} if drift else {}),
        "lag": lag,
        "season": season,
        "mean": mean,
        "std": std,
        "split_time": split_time,
        "level": [float(v) for v in data[:split, :n_t].mean(axis=0)],
        "train_rows": rows["train"],
        "validation_rows": rows["validation"],
    }
    forecasts: dict[str, Any] = {"last_value": last_value, "training_mean": training_mean}
    if season:
        forecasts["seasonal_naive"] = seasonal_naive
    baselines = {k: mean_abs_error(f(info, x_va), y_va) for k, f in forecasts.items()}
    on_train = {k: mean_abs_error(f(info, x_tr), y_tr) for k, f in forecasts.items()}
    best, baseline_why = choose_baseline(on_train)
    info.update(
        baseline_mae=baselines[best],
        baselines=baselines,
        baselines_train=on_train,
        baseline={
            "seasonal_naive": f"seasonal naive (the value {season} steps earlier)",
            "last_value": "last value",
            "training_mean": "the training rows' mean",
        }[best],
    )
    scaling = ", ".join(f"{c} {m:.4g}/{d:.4g}" for c, m, d in zip(columns, mean, std, strict=True))
    chosen = {
        **why,
        "split": f"by time: validation = {how}, from {split_time}",
        "season": season_why,
        "log": log_why,
        "transform": transform_why,
        **({"anchor": smooth_why} if smooth_why else {}),
        **({"drift": drift_why} if drift_why else {}),
        "baseline_mae": baseline_why,
        "scaling": f"mean/std of the transformed columns, training rows: {scaling}",
    }
    info["import"] = report = {
        "source": files,
        "validation_source": expand_sources(validation) if validation else None,
        "rows": rows,
        "windows": {"train": n_train, "validation": n_val},
        "skipped": len(train.skipped) + (len(val.skipped) if val else 0),
        "memory_bytes": 8 * len(series) * len(columns),
        "chosen": chosen,
    }
    _write(out, (x_tr, y_tr), (x_va, y_va), shards or n_train // WINDOWS_PER_SHARD, info)
    if progress:
        log.info(
            "series: %d training rows (%d windows), %d validation rows (%d windows) "
            "from %s; window %d, horizon %d, transform %s%s (lag %d)",
            split,
            n_train,
            rows["validation"],
            n_val,
            split_time,
            window,
            horizon,
            "log" if logs and name == "none" else ("log+" if logs else ""),
            "" if logs and name == "none" else name,
            lag,
        )
        log.info("series: %s", chosen["scaling"])
        skipped = train.skipped + (val.skipped if val else [])
        for problem in skipped[:20]:  # as the text import reports them
            log.warning("import: skipped %s", problem)
        if len(skipped) > 20:
            log.warning("import: skipped %d more bad rows", len(skipped) - 20)
        first = f" (from the first target, {columns[0]!r})" if n_t > 1 else ""
        log.info("series: season %s; %s; transform %s%s", season_why, log_why, transform_why, first)
        if name == "diff":
            log.info("series: the forecast's steps are summed from %s", smooth_why)
        if drift_why:
            log.info("series: the anchor's step: %s", drift_why)
        log.info(
            "series baselines on the validation windows (original units): %s; baseline_mae = %s",
            ", ".join(f"{k} MAE {v:.4g}" for k, v in baselines.items()),
            baseline_why,
        )
    return report


def _drift(
    rows: np.ndarray,
    trained: Sequence[float],
    lag: int,
    steps: int,
    horizon: int,
    columns: Sequence[str],
) -> tuple[list[str], str]:
    """Per target (the columns of `rows`; `trained`: their training rows' mean steps), the
    step the anchor adds (`choose_drift`), and why."""
    fitted = [
        choose_drift(rows[:, t], float(trained[t]), lag, steps, horizon)
        for t in range(rows.shape[1])
    ]
    return [d for d, _ in fitted], "; ".join(
        f"{columns[t]}: {w}" for t, (_, w) in enumerate(fitted)
    )
