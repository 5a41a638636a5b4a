"""Future time stamps for a forecast: the steps after a series' last rows, when its times
are evenly spaced (numbers, a fixed time step, or a fixed number of months).

Example:

    future_times(["2001-11-01", "2001-12-01"], 2)   # ['2002-01-01', '2002-02-01']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np


def _stamp(value: Any) -> float | dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(value.strip()).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def _add_months(t: dt.datetime, months: int) -> dt.datetime:
    m = t.month - 1 + months
    return t.replace(year=t.year + m // 12, month=m % 12 + 1)


def future_times(recent: Sequence[Any], steps: int) -> list[Any] | None:
    """The next `steps` time stamps after `recent` (oldest first) when they are evenly
    spaced: numbers, or dates/datetimes (ISO strings too) a fixed time or a fixed number
    of months apart (as strings, dates written without a time); else None."""
    stamps = [_stamp(v) for v in recent]
    if len(stamps) < 2 or any(s is None for s in stamps):
        return None
    if all(isinstance(s, float) for s in stamps):
        nums = [float(s) for s in stamps]  # type: ignore[arg-type]
        d = np.diff(nums)
        if not np.allclose(d, d[0]) or d[0] <= 0:
            return None
        whole = all(float(v).is_integer() for v in nums + [d[0]])
        return [
            int(nums[-1] + d[0] * k) if whole else nums[-1] + d[0] * k for k in range(1, steps + 1)
        ]
    if not all(isinstance(s, dt.datetime) for s in stamps):
        return None
    times: list[dt.datetime] = stamps  # type: ignore[assignment]
    deltas = {b - a for a, b in zip(times, times[1:], strict=False)}
    if len(deltas) == 1 and min(deltas) > dt.timedelta(0):
        step = deltas.pop()
        nxt = [times[-1] + step * k for k in range(1, steps + 1)]
    else:
        months = {
            (b.year - a.year) * 12 + b.month - a.month
            for a, b in zip(times, times[1:], strict=False)
        }
        if (
            len(months) != 1
            or min(months) <= 0
            or len({t.day for t in times}) != 1
            or len({t.time() for t in times}) != 1
            or times[-1].day > 28
        ):
            return None
        step_m = months.pop()
        nxt = [_add_months(times[-1], step_m * k) for k in range(1, steps + 1)]
    dates = all(t.time() == dt.time(0) for t in times)
    return [t.date().isoformat() if dates else t.isoformat() for t in nxt]
