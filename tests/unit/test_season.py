"""keras_lstm_opt.data.season: the season found from the autocorrelation, on synthetic
series with known periods (and none), with trend and noise."""

from __future__ import annotations

import numpy as np
import pytest

from keras_lstm_opt.data.season import find_season

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("period", [7, 12, 24])
@pytest.mark.parametrize("trend", [0.0, 0.05])
def test_a_known_period_is_found_through_trend_and_noise(period: int, trend: float) -> None:
    t = np.arange(40 * period)
    x = 10 * np.sin(2 * np.pi * t / period) + trend * t + RNG.normal(size=len(t))
    found = find_season(x)
    assert found is not None and found.period == period, found
    assert 0.2 < found.acf <= 1.0


def test_a_season_that_is_not_a_sine_and_two_seasons() -> None:
    week = np.tile([5.0, 5, 5, 5, 5, 1, 1], 60) + RNG.normal(scale=0.3, size=420)
    assert find_season(week).period == 7
    t = np.arange(24 * 7 * 8)  # hourly: a daily and a weekly cycle; the day is the shorter
    x = 5 * np.sin(2 * np.pi * t / 24) + 3 * np.sin(2 * np.pi * t / 168) + RNG.normal(size=len(t))
    assert find_season(x).period == 24


@pytest.mark.parametrize(
    "x",
    [
        RNG.normal(size=500),  # white noise
        np.cumsum(RNG.normal(size=500)),  # a random walk
        0.3 * np.arange(500.0),  # a straight line
        np.ones(50),  # constant
        np.arange(5.0),  # too short
    ],
)
def test_nothing_repeats_no_season(x: np.ndarray) -> None:
    assert find_season(x) is None


def test_a_half_year_inside_the_year_is_a_harmonic_not_the_season() -> None:
    elec_equip = pytest.importorskip("statsmodels.datasets.elec_equip")
    orders = elec_equip.load().data.iloc[:165, 0].to_numpy(float)  # the suite's training rows
    # monthly orders: the lag-6 correlation (0.63) is near the year's (0.78), but 18 months
    # (0.39) fall far below 12 and 24: the half year is a harmonic of the season, 12
    assert find_season(orders).period == 12
    rng = np.random.default_rng(6)
    t = np.arange(12 * 20)
    half = 4 * np.sin(2 * np.pi * t / 6) + rng.normal(size=len(t))  # a true 6-month season
    assert find_season(half).period == 6


def test_max_period_bounds_the_search() -> None:
    t = np.arange(600)
    x = np.sin(2 * np.pi * t / 50) + RNG.normal(scale=0.1, size=600)
    assert find_season(x).period == 50
    assert find_season(x, max_period=20) is None
