"""models/shrink.py and SeriesInverse's shrink weight: the anchor at 0, the network at 1."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.models.series import SeriesInverse, SeriesPreprocess
from keras_lstm_opt.models.shrink import (
    CREDIBLE_WINDOWS,
    PRIOR_WINDOWS,
    fit_shrink,
    shrink_weight,
)

W, H = 6, 3
ARGS = {"targets": [0], "transform": "diff", "lag": 1, "mean": [0.5], "std": [2.0]}


def _model(shrink: bool = True, seed: int = 0) -> keras.Model:
    raw = keras.Input((W + 1, 1))
    x = keras.layers.Flatten()(SeriesPreprocess(**ARGS)(raw))
    dense = keras.layers.Dense(H, kernel_initializer=keras.initializers.RandomNormal(seed=seed))
    out = SeriesInverse(**ARGS, horizon=H, shrink=shrink, name="series_inverse")([dense(x), raw])
    return keras.Model(raw, out)


def _windows(n: int = 40) -> np.ndarray:
    walk = np.random.default_rng(1).normal(size=n + W + 1).cumsum() + 50
    return np.stack([walk[i : i + W + 1] for i in range(n)])[:, :, None].astype("float32")


def test_a_weight_of_zero_forecasts_the_anchor_and_one_the_network():
    x = _windows()
    plain, shrunk = _model(shrink=False), _model()
    shrunk.set_weights(plain.get_weights() + [np.ones(1, "float32")])
    np.testing.assert_allclose(shrunk(x), plain(x), atol=1e-5)  # built at 1: unchanged
    layer = shrunk.get_layer("series_inverse")
    layer.shrink_weight.assign([0.0])
    # the anchor: the last value plus the training rows' mean step (0.5) per step ahead
    anchor = x[:, -1, :] + 0.5 * np.arange(1, H + 1)
    np.testing.assert_allclose(shrunk(x), anchor, atol=1e-4)
    layer.shrink_weight.assign([0.25])
    np.testing.assert_allclose(
        shrunk(x), anchor + 0.25 * (np.asarray(plain(x)) - anchor), atol=1e-4
    )
    assert layer.get_config()["shrink"] is True
    assert "shrink" not in plain.get_layer("series_inverse").get_config()
    with pytest.raises(UsageError, match="shrink must be True or False"):
        SeriesInverse(**ARGS, horizon=H, shrink="yes")


def test_the_weight_is_saved_with_the_model(tmp_path):
    model = _model()
    model.get_layer("series_inverse").shrink_weight.assign([0.3])
    model.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras")
    assert float(back.get_layer("series_inverse").shrink_weight.numpy()[0]) == pytest.approx(0.3)
    x = _windows(5)
    np.testing.assert_allclose(back(x), model(x), atol=1e-5)


@pytest.mark.parametrize("share, fitted", [(0.5, 0.5), (0.0, 0.0), (1.0, 1.0), (-1.0, 0.0)])
def test_fit_shrink_weighs_the_validation_fit_against_the_windows_credibility(share, fitted):
    model, x = _model(), _windows()
    layer = model.get_layer("series_inverse")
    full = np.asarray(model(x))
    layer.shrink_weight.assign([0.0])
    anchor = np.asarray(model(x))
    layer.shrink_weight.assign([0.7])  # whatever it was: fit_shrink starts from 1 and 0
    truth = anchor + share * (full - anchor)  # the network's departure, share of it right
    val = tf.data.Dataset.from_tensor_slices((x, truth)).batch(16)
    result = fit_shrink(model, val, train_windows=100, val_rows=30, horizon=H)
    z = 100 / (100 + CREDIBLE_WINDOWS)
    n_v = 30 / H
    want = (n_v * fitted + PRIOR_WINDOWS * z) / (n_v + PRIOR_WINDOWS)
    assert result is not None and result["fitted"] == [pytest.approx(fitted, abs=1e-3)]
    assert result["weights"] == [pytest.approx(want, abs=1e-3)]
    assert result["credibility"] == pytest.approx(z, abs=1e-4)
    assert float(layer.shrink_weight.numpy()[0]) == pytest.approx(want, abs=1e-3)
    np.testing.assert_allclose(model(x), anchor + want * (full - anchor), rtol=1e-4, atol=1e-3)


def test_more_windows_earn_the_network_more_weight_and_nothing_without_the_weight():
    assert shrink_weight(0, 0, 1.0) == 0.0  # no windows: the anchor
    weights = [shrink_weight(n, 0, 1.0) for n in (30, 300, 3000, 30000)]
    assert weights == sorted(weights) and weights[1] == pytest.approx(0.5) and weights[-1] > 0.99
    # many independent validation windows outweigh the credibility prior
    assert shrink_weight(30000, 1000, 0.0) < 0.02
    val = tf.data.Dataset.from_tensor_slices((_windows(4), np.zeros((4, H)))).batch(2)
    assert fit_shrink(_model(shrink=False), val, 100, 30, H) is None
    assert fit_shrink(_model(), None, 100, 30, H) is None


def test_a_log_model_is_fitted_on_the_logarithms_it_scales():
    args = {**ARGS, "log": True, "mean": [0.01], "std": [0.05]}
    raw = keras.Input((W + 1, 1))
    x = keras.layers.Flatten()(SeriesPreprocess(**args)(raw))
    dense = keras.layers.Dense(H, kernel_initializer=keras.initializers.RandomNormal(seed=3))
    inverse = SeriesInverse(**args, horizon=H, shrink=True, name="series_inverse")
    model = keras.Model(raw, inverse([dense(x), raw]))
    x = np.abs(_windows()) + 1.0
    full = np.asarray(model(x), np.float64)
    inverse.shrink_weight.assign([0.0])
    anchor = np.asarray(model(x), np.float64)
    truth = anchor * (full / anchor) ** 0.6  # 0.6 of the logarithm's departure is right
    val = tf.data.Dataset.from_tensor_slices((x, truth)).batch(16)
    result = fit_shrink(model, val, train_windows=10**6, val_rows=10**6, horizon=H)
    assert result is not None and result["fitted"] == [pytest.approx(0.6, abs=1e-3)]


def test_forecasts_that_are_not_finite_leave_the_credibility_alone(caplog):
    model, x = _model(), _windows(8)
    truth = np.full((8, H), np.nan)
    val = tf.data.Dataset.from_tensor_slices((x, truth)).batch(4)
    result = fit_shrink(model, val, train_windows=300, val_rows=30, horizon=H)
    assert result is not None and result["weights"] == [0.5]  # Z = 300 / (300 + 300)
    assert "not all finite" in caplog.text


def test_a_window_drift_moves_the_anchors_step_to_the_windows_own():
    rise = np.array([[[0.0], [2.0], [4.0], [6.0]]], "float32")  # a step of 2 per row
    zero = np.zeros((1, 3), "float32")  # the network adds the training rows' mean step, 1
    args = {"targets": [0], "transform": "diff", "lag": 1, "mean": [1.0], "std": [1.0]}
    layer = SeriesInverse(**args, horizon=3, shrink=True, drift=["window"])
    np.testing.assert_allclose(layer([zero, rise]), [[7.0, 8.0, 9.0]])  # at 1: the network's
    layer.shrink_weight.assign([0.0])
    np.testing.assert_allclose(layer([zero, rise]), [[8.0, 10.0, 12.0]])  # the window's step
    layer.shrink_weight.assign([0.5])
    np.testing.assert_allclose(layer([zero, rise]), [[7.5, 9.0, 10.5]])
    plain = SeriesInverse(**args, horizon=3, shrink=True, drift=["training"])
    plain([zero, rise])
    plain.shrink_weight.assign([0.0])
    np.testing.assert_allclose(plain([zero, rise]), [[7.0, 8.0, 9.0]])
    assert "drift" not in plain.get_config()  # as models saved before drift: loads unchanged
    # a seasonal difference: each season's change is the window's mean change over 4 rows
    season = SeriesInverse(
        [0], "seasonal_diff", 4, horizon=6, mean=[1.0], std=[1.0], shrink=True, drift=["window"]
    )
    year = np.array([[[0.0], [5.0], [1.0], [6.0], [3.0], [8.0], [4.0], [9.0]]], "float32")
    season([np.zeros((1, 6), "float32"), year])
    season.shrink_weight.assign([0.0])
    np.testing.assert_allclose(
        season([np.zeros((1, 6), "float32"), year]), [[6.0, 11.0, 7.0, 12.0, 9.0, 14.0]]
    )
    restored = SeriesInverse.from_config(season.get_config())
    assert restored.drift == ["window"]


@pytest.mark.parametrize(
    "drift", ["window", ["window", "window"], ["sideways"]], ids=["a string", "two", "unknown"]
)
def test_a_drift_that_is_not_one_name_per_target_is_refused(drift):
    with pytest.raises(UsageError, match="drift must list 'training' or 'window' per target"):
        SeriesInverse(**ARGS, horizon=H, shrink=True, drift=drift)


def test_each_target_takes_its_own_step_and_a_log_model_its_logs_step():
    # two targets: the first's anchor adds the window's step, the second's the training mean
    rise = np.array([[[0.0, 0.0], [2.0, 4.0], [4.0, 8.0], [6.0, 12.0]]], "float32")
    two = SeriesInverse(
        [0, 1],
        "diff",
        1,
        horizon=2,
        mean=[1.0, 1.0],
        std=[1.0, 1.0],
        shrink=True,
        drift=["window", "training"],
    )
    two([np.zeros((1, 4), "float32"), rise])
    two.shrink_weight.assign([0.0, 0.0])
    np.testing.assert_allclose(two([np.zeros((1, 4), "float32"), rise]), [[8, 13, 10, 14]])
    # a log model: the window's step is that of the logarithms (a growth rate)
    grow = np.exp(np.log(2.0) * np.arange(4, dtype="float32"))[None, :, None]  # 1, 2, 4, 8
    logged = SeriesInverse(
        [0], "diff", 1, horizon=2, mean=[0.0], std=[1.0], log=True, shrink=True, drift=["window"]
    )
    logged([np.zeros((1, 2), "float32"), grow])
    logged.shrink_weight.assign([0.0])
    np.testing.assert_allclose(logged([np.zeros((1, 2), "float32"), grow]), [[16, 32]], rtol=1e-5)


def test_a_window_step_beside_a_trended_smoothing_is_refused():
    holt = {"alpha": [0.5], "beta": [0.3], "phi": [0.9]}
    with pytest.raises(UsageError, match="drift 'window' for a target whose smoothing has a trend"):
        SeriesInverse(**ARGS, horizon=H, shrink=True, smoothing=holt, drift=["window"])
    level = {"alpha": [0.5], "beta": [0.0], "phi": [1.0]}
    assert SeriesInverse(**ARGS, horizon=H, shrink=True, smoothing=level, drift=["window"]).drift
