"""Read a raw time series: rows from CSV, TSV, JSON Lines or Parquet (through `readers`),
times parsed (ISO dates / datetimes, or numbers), numbers checked, sorted by time.

Every bad value is a DataError naming its file, line and column; duplicate times name
both lines. The series is held in memory (8 bytes x rows x columns).

Example:

    series = read_series(["co2.csv"], time="date", columns=["co2"])
    series.values.shape   # (526, 1)
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keras_lstm_opt.data.readers import iter_records
from keras_lstm_opt.errors import DataError
from keras_lstm_opt.io import fs
from keras_lstm_opt.progress import Progress

log = logging.getLogger("keras_lstm_opt")

EPOCH = dt.datetime(1970, 1, 1)
MICROSECOND = dt.timedelta(microseconds=1)


@dataclass
class Series:
    """A series read into memory, sorted by time.

    `times`: int64 microseconds since 1970 (`kind` "datetime") or float64 (`kind`
    "number"); `values`: float64 `[rows, C]` in `columns` order; `where[i]`: row i's
    place ("data.csv, line 17"); `skipped`: one message per bad row left out.
    """

    time: str
    columns: list[str]
    kind: str
    times: np.ndarray
    values: np.ndarray
    where: list[str]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.where)

    def table(self) -> dict[str, np.ndarray]:
        """Column name -> values (the form `series_windows` takes)."""
        return {c: self.values[:, i] for i, c in enumerate(self.columns)}

    def concat(self, later: Series) -> Series:
        return Series(
            self.time,
            self.columns,
            self.kind,
            np.concatenate([self.times, later.times]),
            np.concatenate([self.values, later.values]),
            self.where + later.where,
            self.skipped + later.skipped,
        )


def _parse_time(value: Any) -> tuple[str, float | int]:
    """("number", float) or ("datetime", microseconds since 1970); ValueError if neither."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("empty time")
        try:
            return _parse_time(float(text))
        except ValueError:
            pass
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            try:  # "1958-03", "1958": what NumPy reads and Python does not
                value = np.datetime64(text, "us").astype(dt.datetime)
            except ValueError:
                raise ValueError(f"{text!r} is neither an ISO date/datetime nor a number") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return "number", float(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return "datetime", (value - EPOCH) // MICROSECOND
    raise ValueError(f"{value!r} is neither a date/datetime nor a number")


def format_time(t: Any, kind: str) -> str:
    """A time as `read_series` holds it, written back: ISO for datetimes."""
    if kind == "number":
        return str(int(t)) if float(t).is_integer() else repr(float(t))
    stamp = EPOCH + int(t) * MICROSECOND
    return stamp.date().isoformat() if stamp.time() == dt.time() else stamp.isoformat()


def _parse_number(value: Any) -> float:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("empty value")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ValueError("empty value" if value is None else f"{value!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def read_series(
    files: Sequence[str],
    time: str,
    columns: Sequence[str],
    on_bad_row: str = "error",
    progress: bool = False,
) -> Series:
    """Read `time` and `columns` of every row of `files` into memory, sorted by time.

    Args:
        files: data files (CSV, TSV, JSON Lines, Parquet; see `readers`).
        time: the time column: ISO dates / datetimes or numbers (one kind throughout).
        columns: numeric columns, read as float64.
        on_bad_row: "error": DataError at the first bad row; "skip": leave it out.
        progress: log a line per file.

    Raises:
        DataError: naming file, line and column: a missing column, an unparsable time
            or number, two rows with the same time (both named), no rows at all.
    """
    columns = list(columns)
    times: list[float | int] = []
    rows: list[list[float]] = []
    where: list[str] = []
    skipped: list[str] = []
    kind, first = "", ""
    sizes = [fs.info(p)["size"] for p in files] if progress else [0] * len(files)
    meter = Progress("import: reading the series", sum(sizes), "bytes", enabled=progress)
    for path, base in zip(files, np.cumsum([0, *sizes[:-1]]), strict=True):
        before = len(where)
        for batch in iter_records(path, [time, *columns], on_bad_row=on_bad_row):
            meter.update(int(base) + batch.offset)
            skipped.extend(batch.skipped)
            for i, place in enumerate(batch.where):
                col = time
                try:
                    k, t = _parse_time(batch.columns[time][i])
                    if kind and k != kind:
                        raise ValueError(f"a {k}, but the times before ({first}) are {kind}s")
                    values = []
                    for col in columns:
                        values.append(_parse_number(batch.columns[col][i]))
                except ValueError as exc:
                    problem = f"{place}, column {col!r}: {exc}"
                    if on_bad_row == "error":
                        raise DataError(problem) from None
                    skipped.append(problem)
                    continue
                kind, first = kind or k, first or place
                times.append(t)
                rows.append(values)
                where.append(place)
        if progress:
            log.info("series: read %d rows from %s", len(where) - before, path)
    meter.close()
    if not where:
        raise DataError(f"{', '.join(files)}: no rows")
    stamps = np.asarray(times, np.int64 if kind == "datetime" else np.float64)
    order = np.argsort(stamps, kind="stable")
    if np.any(order != np.arange(len(order))):
        moved = int(np.count_nonzero(order != np.arange(len(order))))
        log.info(
            "series: sorted by %s (%d of %d rows were out of order; the first such is %s)",
            time,
            moved,
            len(order),
            where[int(np.argmax(order != np.arange(len(order))))],
        )
    stamps = stamps[order]
    same = np.flatnonzero(stamps[1:] == stamps[:-1])
    if same.size:
        a, b = where[order[same[0]]], where[order[same[0] + 1]]
        raise DataError(
            f"{b}, column {time!r}: the time {format_time(stamps[same[0]], kind)} "
            f"repeats {a}; give each time step one row"
        )
    series = Series(
        time,
        columns,
        kind,
        stamps,
        np.asarray(rows, np.float64).reshape(len(where), len(columns))[order],
        [where[i] for i in order],
        skipped,
    )
    _warn_gaps(series)
    return series


def _warn_gaps(series: Series) -> None:
    steps = np.diff(series.times.astype(np.float64))
    if not steps.size:
        return
    gaps = np.flatnonzero(steps > 1.5 * np.median(steps))
    if gaps.size:
        log.warning(
            "series: %d gaps longer than 1.5 x the usual time step (the first after "
            "%s); windows treat the rows as consecutive steps",
            gaps.size,
            series.where[gaps[0]],
        )
