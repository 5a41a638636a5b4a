"""The transform of a series' targets: its name parsed, its log checked, its scaling fitted.

`import_series` reads the transform as given (`none`, `diff`, `seasonal_diff:P`, each
optionally after `log+`), checks that a log has only values above 0 to take, and fits
the mean and std of the transformed columns on the training rows; the model applies
them and their inverse itself (`keras_lstm_opt.models.series`).

Example:

    split_log("log+seasonal_diff:12")       # (True, "seasonal_diff:12")
    parse_transform("seasonal_diff:12")     # ("seasonal_diff", 12, 12)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from keras_lstm_opt.data.series_read import Series
from keras_lstm_opt.data.series_windows import not_positive
from keras_lstm_opt.errors import DataError, UsageError

log = logging.getLogger("keras_lstm_opt")

TRANSFORMS = ("none", "diff", "seasonal_diff")


def split_log(transform: str) -> tuple[bool, str]:
    """`"log+diff"` -> (True, "diff"); `"log"` -> (True, "none"); else (False, as given).

    Example:

        split_log("log+seasonal_diff:12")   # (True, "seasonal_diff:12")
    """
    text = str(transform)
    if text == "log":
        return True, "none"
    if text.startswith("log+"):
        return True, text[len("log+") :]
    return False, text


def parse_transform(transform: str, season: int | None = None) -> tuple[str, int, int | None]:
    """`"none"`, `"diff"` or `"seasonal_diff:P"` -> (name, lag, season).

    `"seasonal_diff"` without `:P` takes P from `season`. The season returned is the
    one the seasonal-naive baseline uses: P, or `season` for the other transforms.

    Example:

        parse_transform("seasonal_diff:12")   # ("seasonal_diff", 12, 12)
    """
    if season is not None and (
        isinstance(season, bool) or not isinstance(season, int) or season < 1
    ):
        raise UsageError(f"season: must be an integer >= 1, got {season!r}")
    name, sep, period = str(transform).partition(":")
    if name not in TRANSFORMS or (sep and name != "seasonal_diff"):
        raise UsageError(
            f"transform: expected 'none', 'diff' or 'seasonal_diff:P' (P = the "
            f"season in steps, e.g. seasonal_diff:12), got {transform!r}"
        )
    if name == "none":
        return name, 0, season
    if name == "diff":
        return name, 1, season
    if not sep:
        if season is None:
            raise UsageError(
                "transform: 'seasonal_diff' needs its season: write "
                "seasonal_diff:P (e.g. seasonal_diff:12) or give season"
            )
        return name, season, season
    if not period.strip().isdigit() or int(period) < 1:
        raise UsageError(f"transform: the season in {transform!r} must be an integer >= 1")
    p = int(period)
    if season is not None and season != p:
        raise UsageError(f"transform {transform!r} and season {season} disagree; give one")
    return name, p, p


def _scaling(
    data: np.ndarray, split: int, lag: int, n_t: int, columns: Sequence[str], logs: bool = False
) -> tuple[list[float], list[float]]:
    """Mean and std of the transformed columns over the training rows [lag, split)."""
    rows = data[:split]
    if logs:
        rows = rows.copy()
        rows[:, :n_t] = np.log(rows[:, :n_t])
    if lag:
        rows = rows.copy()
        rows[lag:, :n_t] = rows[lag:, :n_t] - rows[:-lag, :n_t]
        rows = rows[lag:]
    mean, std = rows.mean(axis=0), rows.std(axis=0)
    for c in np.flatnonzero(~(std > 1e-12)):
        log.warning(
            "column %r is constant over the training period (after the transform): scaled by 1",
            columns[int(c)],
        )
        std[c] = 1.0
    return [float(m) for m in mean], [float(s) for s in std]


def _check_positive(series: Series, n_t: int, columns: Sequence[str]) -> None:
    """A DataError naming the first target value at or below 0 (a log needs > 0)."""
    bad = not_positive(series.values, n_t)
    if bad is not None:
        row, col = bad
        raise DataError(
            f"{series.where[row]}, column {columns[col]!r}: {series.values[row, col]:g} is not "
            "above 0, and a log transform needs every value above 0; import without log "
            "(--transform none, diff or seasonal_diff:P)"
        )
