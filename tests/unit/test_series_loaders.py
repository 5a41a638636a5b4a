"""The series suite's gap filling (benchmarks/series_loaders.py): R's NAs in presidents
and airquality's Solar.R become values between their neighbours; one at an end is refused."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.series_loaders import filled
from keras_lstm_opt.errors import DataError


def test_gaps_inside_are_filled_on_the_line_between_their_neighbours() -> None:
    values = np.array([1.0, np.nan, np.nan, 4.0, 5.0, np.nan, 9.0])
    assert filled(values, "x").tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 9.0]
    whole = np.array([2.0, 3.0])
    assert filled(whole, "x").tolist() == [2.0, 3.0]


@pytest.mark.parametrize("values", [[np.nan, 1.0, 2.0], [1.0, 2.0, np.nan], []])
def test_a_gap_at_either_end_or_no_values_is_refused_naming_the_series(values) -> None:
    with pytest.raises(DataError, match="R presidents: a missing value first or last"):
        filled(np.array(values, np.float64), "R presidents")
