"""The forecasting choices made from the training rows: season, transform, baseline."""

import warnings

import numpy as np
import pytest

from keras_lstm_opt.data.series_auto import (
    choose_baseline,
    choose_drift,
    choose_season,
    choose_smoothing,
    choose_transform,
    kpss,
    mean_error,
    seasonal_strength,
)
from keras_lstm_opt.smoothing import damped_steps, holt_weights

RNG = np.random.default_rng(7)
T = np.arange(480)


def _ar1(phi: float) -> np.ndarray:
    e, x = np.random.default_rng(3).normal(size=len(T)), np.zeros(len(T))
    for t in range(1, len(T)):
        x[t] = phi * x[t - 1] + e[t]
    return x


def test_kpss_equals_statsmodels_and_tells_a_random_walk_from_noise() -> None:
    stattools = pytest.importorskip("statsmodels.tsa.stattools")
    rng = np.random.default_rng(0)
    walk, noise = np.cumsum(rng.normal(size=400)), rng.normal(size=400)
    for x in (walk, noise):  # R's tseries::kpss lag, trunc(4 (n/100)^0.25) = 5
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its p-value table's range
            expected = stattools.kpss(x, "c", nlags=5)[0]
        assert kpss(x) == pytest.approx(expected, rel=1e-9)
    assert kpss(walk) > 0.463 > kpss(noise)


def test_seasonal_strength_is_high_for_a_season_and_low_for_noise() -> None:
    season = 10 * np.sin(2 * np.pi * T / 12) + RNG.normal(size=len(T))
    assert seasonal_strength(season, 12) > 0.9
    assert seasonal_strength(RNG.normal(size=480), 12) < 0.2
    assert seasonal_strength(season[:20], 12) == 0.0  # under two seasons: no figure


@pytest.mark.parametrize(
    "values, season, horizon, expected",
    [
        (10 * np.sin(2 * np.pi * T / 12) + 0.05 * T + RNG.normal(size=480), 12, 1, "seasonal_diff"),
        (np.cumsum(RNG.normal(size=480)), None, 1, "diff"),
        (0.2 * T + RNG.normal(size=480), None, 1, "diff"),  # a trend
        (RNG.normal(size=480), None, 1, "none"),
        # a weak season over a stationary AR(1): the last value beats seasonal naive, and
        # over 8 steps the mean beats the last value (0.7^h < 1/2 from h = 2)
        (_ar1(0.7) + 0.3 * np.sin(2 * np.pi * T / 11), 11, 8, "none"),
        # one step ahead the last value beats the mean: stationary, yet diff
        (_ar1(0.7), None, 1, "diff"),
    ],
)
def test_the_transform_follows_the_data(values, season, horizon, expected) -> None:
    name, lag, why = choose_transform(values, season, horizon)
    assert name == expected and lag == {"none": 0, "diff": 1}.get(name, season)
    assert why.startswith(f"{name}{':' + str(season) if name == 'seasonal_diff' else ''} (")
    if season is None and expected == "diff" and "stationary," in why:
        assert "the last value forecasts the training rows better than their mean so far" in why


def test_the_mean_is_scored_as_a_forecast_from_the_rows_before_each_origin() -> None:
    # origins 1, 2, 3: the means 1, 1.5, 2 forecast 2, 3, 4
    assert mean_error(np.array([1.0, 2.0, 3.0, 4.0]), 1) == pytest.approx((1 + 1.5 + 2) / 3)
    # two steps ahead as well: (1 + 1.5 + 2 + 2 + 2.5) / 5
    assert mean_error(np.array([1.0, 2.0, 3.0, 4.0]), 2) == pytest.approx(9 / 5)
    # 31 rows of a persistent AR(1): the mean of all of them (future rows included) would
    # beat the last value, the mean of the rows before each origin does not: diff
    e, x = np.random.default_rng(4).normal(size=31), np.zeros(31)
    for t in range(1, 31):
        x[t] = 0.8 * x[t - 1] + e[t]
    in_sample = float(np.mean(np.abs(x[1:] - x.mean())))
    last = float(np.mean(np.abs(np.diff(x))))
    assert in_sample < last < mean_error(x, 1)
    name, lag, why = choose_transform(x, None, 1)
    assert (name, lag) == ("diff", 1) and "better than their mean so far" in why


def test_a_given_season_is_kept_and_one_longer_than_the_window_is_not_applied() -> None:
    x = 10 * np.sin(2 * np.pi * T / 24) + RNG.normal(size=480)
    assert choose_season(x, 5) == (5, "5 (given)")
    assert choose_season(x, None)[0] == 24
    season, why = choose_season(x, None, longest=12)
    assert season is None and why.startswith("24 found (") and "longer than the window (12)" in why
    assert choose_season(RNG.normal(size=480), None)[0] is None


def test_the_baseline_is_the_lower_training_mae() -> None:
    assert choose_baseline({"last_value": 2.0, "seasonal_naive": 1.5})[0] == "seasonal_naive"
    best, why = choose_baseline({"last_value": 1.0, "seasonal_naive": 1.5})
    assert best == "last_value" and "last_value 1, seasonal_naive 1.5" in why


def test_a_bundled_config_is_known_by_name_and_through_the_clones_link() -> None:
    """train.auto may change a bundled config's keys for a series, not the user's --set."""
    import os

    from keras_lstm_opt.config import BUNDLED_DIR, bundled_keys, load_config

    link = os.path.join(os.path.dirname(BUNDLED_DIR), "..", "configs", "forecast.yaml")
    paths = ["forecast", os.path.join(BUNDLED_DIR, "forecast.yaml")]
    paths += [link] if os.path.exists(link) else []  # a clone's configs/ link
    for path in paths:
        keys = bundled_keys(load_config(path, ["train.epochs=3"]))
        assert "train.batch_size" in keys and "train.epochs" not in keys
    assert bundled_keys(load_config(None)) == frozenset()


def test_a_season_hidden_by_growth_is_found_in_the_differences() -> None:
    t = np.arange(120, dtype=np.float64)
    grown = np.exp(t / 30) * (1 + 0.2 * np.sin(2 * np.pi * t / 4))  # earnings-like growth
    from keras_lstm_opt.data.season import find_season

    assert find_season(grown) is None  # the curved trend swamps the detrended rows
    season, why = choose_season(grown, None)
    assert season == 4 and why.endswith("first differences of the training rows)"), why
    for x in (np.cumsum(RNG.normal(size=300)), RNG.normal(size=300)):  # nothing to find
        assert choose_season(x, None)[0] is None


def _holt(y, alpha, beta, phi):
    """Holt's recursion run on the values themselves: (level, trend)."""
    level, trend = np.mean(y), (y[-1] - y[0]) / (len(y) - 1) if beta else 0.0
    for v in y:
        previous = level
        level = alpha * v + (1 - alpha) * (level + phi * trend)
        trend = beta * (level - previous) + (1 - beta) * phi * trend
    return level, trend


def test_the_smoothing_weights_are_holts_recursion_and_fit_the_rows() -> None:
    y = RNG.normal(size=13).cumsum()
    for alpha, beta, phi in ((0.05, 0.0, 1.0), (0.3, 0.0, 1.0), (1.0, 0.0, 1.0), (0.5, 0.3, 0.9)):
        level_w, trend_w = holt_weights(alpha, beta, phi, 13)
        assert (level_w @ y, trend_w @ y) == pytest.approx(_holt(y, alpha, beta, phi))
    assert damped_steps(0.5, 3) == pytest.approx([0.5, 0.75, 0.875])
    walk = np.cumsum(np.random.default_rng(1).normal(size=400))
    plain, why = choose_smoothing(walk, 13)  # a walk: the last value, no smoothing 5% better
    assert plain == (1.0, 0.0, 1.0) and why.endswith("no smoothing does 5% better)")
    local = np.cumsum(0.1 * RNG.normal(size=400)) + RNG.normal(size=400)  # a noisy level
    (alpha, beta, _), why = choose_smoothing(local, 13)
    assert alpha <= 0.3 and beta == 0.0 and why.startswith(f"a smoothed level (alpha {alpha:g})")
    x = np.zeros(400)  # steps that persist (momentum): a damped trend forecasts them
    for t, e in enumerate(RNG.normal(size=399), 1):
        x[t] = 0.9 * x[t - 1] + e
    (_, beta, _), why = choose_smoothing(np.cumsum(x), 13)
    assert beta > 0 and why.startswith("a level and a damped trend")
    assert choose_smoothing(walk[:10], 13) == (
        (1.0, 0.0, 1.0),
        "the last value (too few training rows to fit a smoothing)",
    )


def _trained(values: np.ndarray, lag: int, split: int) -> float:
    """The training rows' mean step over `lag` rows, as the import scales by it."""
    return float(np.mean(values[lag:split] - values[: split - lag]))


def test_the_windows_step_is_chosen_where_the_step_grows_and_not_for_a_steady_drift() -> None:
    t = np.arange(200.0)
    growing = 0.01 * t * t + RNG.normal(0, 0.1, len(t))
    chosen, why = choose_drift(growing, _trained(growing, 1, 160), 1, 17, 8)
    assert chosen == "window" and why.startswith("the window's mean step (MAE")
    steady = np.cumsum(0.3 + RNG.normal(size=300))
    chosen, why = choose_drift(steady, _trained(steady, 1, 240), 1, 17, 8)
    assert chosen == "training" and "the training rows' mean step (MAE" in why
    # a season whose year-on-year change grows: the window's mean change over 12 rows
    seasonal = np.sin(2 * np.pi * t / 12) + 0.002 * t * t
    assert choose_drift(seasonal, _trained(seasonal, 12, 160), 12, 36, 18)[0] == "window"
    level = np.sin(2 * np.pi * t / 12) + 0.05 * t
    assert choose_drift(level, _trained(level, 12, 160), 12, 36, 18)[0] == "training"
    assert choose_drift(np.arange(5.0), 1.0, 1, 17, 8)[0] == "training"  # too few rows
    # scored against the step the model adds: a training mean far from every step loses
    assert choose_drift(steady, 5.0, 1, 17, 8)[0] == "window"
