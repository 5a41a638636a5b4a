"""One series of the series suite (`Series`): its registry entry and how its data is read.

A `Series` names its half, its frequency, the domain's season (for the seasonal-naive rival
only), M4's MASE period and horizon, and the loader that reads its data from the package that
bundles it (benchmarks/series_loaders.py); `load` checks what the loader gives. The entries
themselves are in `series_suite_rounds_1_5` and `series_suite_rounds_6_10`; `series_suite`
joins them into `SUITE`.

Example:

    from benchmarks.series_suite import series
    times, values = series("nile").load()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.series_loaders import Loaded
from keras_lstm_opt.errors import KloError

__all__ = ["Series"]


@dataclass(frozen=True)
class Series:
    """One series: name, half, frequency, domain season, M4's MASE period and horizon."""

    name: str
    half: str
    freq: str
    season: int
    m: int
    horizon: int
    about: str
    loader: Callable[[], Loaded]

    def load(self) -> Loaded:
        """(times as ISO dates / datetimes / numbers, values), oldest first."""
        try:
            times, values = self.loader()
        except KloError as e:
            raise type(e)(f"series {self.name}: {e}") from None
        if len(times) != len(values) or not np.all(np.isfinite(values)):
            raise RuntimeError(f"series {self.name}: bad data from its package")
        return times, values
