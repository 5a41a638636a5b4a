"""Int8 inference (`Predictor(model, precision="int8")`, kernels/lstm_int8.cc).

The kernels compute exactly the scheme they state (per-column int8 kernels, a scale per
input row, h at 1/127; int32 sums), checked against that scheme written in NumPy within
1e-5; against float32 the outputs (h, in (-1, 1)) stay within INT8_TOLERANCE on random
weights, and every configs/ model's int8 predictions stay within it of its float32 ones.
Models int8 cannot serve are refused with the layer and the reason. Speed and accuracy
on real data: `benchmarks/bench.py --mode predict` and `--mode int8-accuracy`.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from ..conftest import REPO
from ..integration.test_export import CONFIGS, _embedded_schema, _token_batch

INT8_TOLERANCE = 0.05  # absolute, on LSTM outputs and on each head's outputs below


def _kernels():
    from keras_lstm_opt.models.kernels.plan import capi

    if capi() is None:
        pytest.skip("the fused kernels are not loaded here")


def _int8_scheme(x, w, u, b, mask):
    """The int8 scheme in NumPy: every step's h, [B, T, H]."""

    def columns(k):
        scale = np.abs(k).max(axis=0) / 127
        scale[scale == 0] = 1
        return np.rint(k / scale).astype(np.int32), scale.astype(np.float32)

    def rows(a, scale=None):
        if scale is None:
            scale = np.abs(a).max(axis=-1, keepdims=True) / 127
            scale[scale == 0] = 1
        return np.rint(a / scale).astype(np.int32), np.float32(scale)

    wq, ws = columns(w)
    uq, us = columns(u)
    batch, steps, _ = x.shape
    h = np.zeros((batch, u.shape[0]), np.float32)
    c, out = np.zeros_like(h), []
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(steps):
        xq, xs = rows(x[:, t])
        hq, hs = rows(np.clip(h, -1, 1), np.float32(1 / 127))
        z = (xq @ wq) * xs * ws + b + (hq @ uq) * hs * us
        i, f, g, o = np.split(z, 4, axis=1)
        c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        keep = mask[:, t : t + 1] > 0
        c = np.where(keep, c_new, c)
        h = np.where(keep, sigmoid(o) * np.tanh(c_new), h)
        out.append(h)
    return np.stack(out, 1)


@pytest.mark.parametrize("shape", [(1, 20, 8, 16), (7, 15, 20, 33), (40, 12, 16, 20)])
def test_int8_kernels_compute_their_scheme_and_stay_near_float32(shape):
    from keras_lstm_opt.models.kernels.plan import LstmPlan

    _kernels()
    batch, steps, inputs, units = shape
    rng = np.random.default_rng(units)
    w = (rng.normal(size=(inputs, 4 * units)) / np.sqrt(inputs)).astype(np.float32)
    u = (rng.normal(size=(units, 4 * units)) / np.sqrt(units)).astype(np.float32)
    b = (rng.normal(size=4 * units) * 0.1).astype(np.float32)
    x = rng.normal(size=(batch, steps, inputs)).astype(np.float32)
    mask = np.ones((batch, steps), np.float32)
    mask[0, steps // 2 :] = 0  # a padded row
    int8 = LstmPlan(w, u, b, threads=2, precision="int8")(x, mask, sequences=True)
    assert np.abs(int8 - _int8_scheme(x, w, u, b, mask)).max() <= 1e-5
    float32 = LstmPlan(w, u, b, threads=2)(x, mask, sequences=True)
    assert 0 < np.abs(int8 - float32).max() <= INT8_TOLERANCE  # quantised, and near


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_model_runs_in_int8_near_float32(config, tmp_path):
    import keras

    from keras_lstm_opt import Predictor, build_model, load_config, read_schema

    _kernels()
    cfg = load_config(os.path.join(REPO, "configs", f"{config}.yaml"))
    schema = read_schema(_embedded_schema(cfg.data.task, str(tmp_path)))
    keras.utils.set_random_seed(3)
    model = build_model(cfg.model, schema)
    int8, float32 = Predictor(model, precision="int8"), Predictor(model)
    assert "int8" in int8.plan and "all in NumPy" in int8.plan, int8.plan
    rng = np.random.default_rng(0)
    if cfg.data.task == "text":
        x = _token_batch(rng, int(schema["info"]["vocab_size"]))
    else:
        x = rng.normal(size=(5, *schema["features"]["x"]["shape"])).astype(np.float32)
    got, want = int8(x), float32(x)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= INT8_TOLERANCE * max(1.0, float(np.abs(want).max()))


def test_int8_refuses_what_it_cannot_quantise_and_says_why():
    import keras

    from keras_lstm_opt import FastLSTM, Predictor
    from keras_lstm_opt.errors import UsageError

    _kernels()
    relu = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(4, activation="relu")])
    with pytest.raises(UsageError, match=r"cannot quantise this model: .*lstm.* activation"):
        Predictor(relu, precision="int8")
    gru = keras.Sequential([keras.Input((6, 3)), keras.layers.GRU(4), keras.layers.Dense(2)])
    with pytest.raises(UsageError, match=r"GRU"):
        Predictor(gru, precision="int8")
    assert not Predictor(gru).eager  # float32 still serves it, as one function
    fine = keras.Sequential([keras.Input((6, 3)), FastLSTM(4)])
    with pytest.raises(UsageError, match=r"precision: expected one of float32, int8, got 'int4'"):
        Predictor(fine, precision="int4")
    half = keras.Sequential([keras.Input((6, 3)), keras.layers.LSTM(4, dtype="mixed_float16")])
    with pytest.raises(UsageError, match=r"computes in float16 \(a mixed-precision policy\)"):
        Predictor(half, precision="int8")
    no_lstm = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])  # a chain, no LSTM
    with pytest.raises(UsageError, match="has no LSTM layer to quantise"):
        Predictor(no_lstm, precision="int8")
    with pytest.raises(UsageError, match="expected a Keras model, got str"):
        Predictor("model.keras")
    with pytest.raises(
        UsageError, match=r"the input has shape \(6, 3\); the model takes \[batch, 6, 3\]"
    ):
        Predictor(fine)(np.zeros((6, 3), np.float32))


def test_models_off_the_chain_run_as_an_int8_clone():
    """A model with branches (here: an LSTM beside a linear path on the same window, added,
    as a series model's) runs as a clone whose LSTMs are on the int8 kernels; the float32
    layers are the model's own. A model without an LSTM is refused."""
    import keras

    from keras_lstm_opt import FastLSTM, Predictor
    from keras_lstm_opt.errors import UsageError

    _kernels()
    keras.utils.set_random_seed(4)
    window = keras.Input((24, 2))
    first = FastLSTM(16, return_sequences=True, name="first")(window)
    deep = keras.layers.Dense(3)(FastLSTM(16, name="second")(first))
    linear = keras.layers.Dense(3)(keras.layers.Flatten()(window))
    model = keras.Model(window, keras.layers.Add()([deep, linear]))
    predictor = Predictor(model, precision="int8")
    assert predictor.plan.startswith("int8 clone: first, second on"), predictor.plan
    x = np.random.default_rng(5).normal(size=(7, 24, 2)).astype(np.float32)
    got, want = predictor(x), np.asarray(model(x, training=False))
    assert got.shape == want.shape
    assert 0 < np.abs(got - want).max() <= INT8_TOLERANCE * max(1.0, float(np.abs(want).max()))
    plain = keras.Model(window, linear)
    with pytest.raises(UsageError, match="has no LSTM layer to quantise"):
        Predictor(plain, precision="int8")
