"""klo.Predictor: a model's inference as eager kernel calls, equal to the model's own.

Every configs/ model runs eagerly and matches `model(x, training=False)` within 1e-5 after
a save and load; so do masked chains (Bidirectional in each merge mode, go_backwards,
keras.layers.LSTM, masked mean pooling, 3-D Dense). Models it does not cover fall back to
one function call, say why, and still match. Speed is for `benchmarks/bench.py --mode predict`.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from ..conftest import REPO
from ..integration.test_export import CONFIGS, _embedded_schema, _token_batch

TOLERANCE = 1e-5


def _close(predictor, model, x) -> float:
    got = np.asarray(predictor(x))
    want = np.asarray(model(x, training=False))
    assert got.shape == want.shape
    return float(np.abs(got - want).max())


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_model_runs_eagerly_and_matches(config, tmp_path):
    import keras

    from keras_lstm_opt import Predictor, build_model, load_config, read_schema

    cfg = load_config(os.path.join(REPO, "configs", f"{config}.yaml"))
    schema = read_schema(_embedded_schema(cfg.data.task, str(tmp_path)))
    keras.utils.set_random_seed(3)
    build_model(cfg.model, schema).save(tmp_path / "model.keras")
    model = keras.models.load_model(tmp_path / "model.keras", compile=False)
    predictor = Predictor(model)
    assert predictor.eager, predictor.plan
    rng = np.random.default_rng(0)
    if cfg.data.task == "text":  # rows of 1, 6, 23 and 64 tokens, zero-padded (masked)
        batches = [_token_batch(rng, int(schema["info"]["vocab_size"]))]
    else:
        shape = schema["features"]["x"]["shape"]
        batches = [rng.normal(size=(n, *shape)).astype(np.float32) for n in (1, 5)]
    for x in batches:
        assert _close(predictor, model, x) <= TOLERANCE


def _masked_chain(merge: str):
    import keras

    from keras_lstm_opt import FastLSTM

    ids = keras.Input((12,), dtype="int32")
    z = keras.layers.Embedding(30, 6, mask_zero=True)(ids)
    z = keras.layers.SpatialDropout1D(0.3)(z)
    z = keras.layers.Bidirectional(FastLSTM(5, return_sequences=True), merge_mode=merge)(z)
    z = keras.layers.Dropout(0.2)(z)
    z = keras.layers.LSTM(4, return_sequences=True, go_backwards=True)(z)  # stock LSTM
    z = keras.layers.Dense(3, activation="tanh")(z)  # 3-D Dense
    z = keras.layers.GlobalAveragePooling1D()(z)  # masked mean
    return keras.Model(ids, keras.layers.Dense(2, activation="softmax")(z))


@pytest.mark.parametrize("merge", ["concat", "sum", "ave", "mul"])
def test_masked_bidirectional_chains_match(merge):
    import keras

    from keras_lstm_opt import Predictor

    keras.utils.set_random_seed(5)
    model = _masked_chain(merge)
    predictor = Predictor(model)
    assert predictor.eager and "bidirectional" in predictor.plan, predictor.plan
    x = np.random.default_rng(1).integers(1, 30, size=(4, 12))
    x[1, 7:] = 0
    x[2, 1:] = 0  # one token
    assert _close(predictor, model, x) <= TOLERANCE
    assert _close(predictor, model, x[:1]) <= TOLERANCE  # batch 1 after batch 4
    many = np.random.default_rng(2).integers(0, 30, size=(40, 12))  # rows split by thread
    many[:, 0] = 1 + many[:, 0] % 29
    assert _close(predictor, model, many) <= TOLERANCE


def test_predictor_takes_new_weights_on_refresh():
    import keras

    from keras_lstm_opt import FastLSTM, Predictor

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((9, 3)), FastLSTM(4), keras.layers.Dense(1)])
    predictor = Predictor(model)
    x = np.random.default_rng(2).normal(size=(2, 9, 3)).astype(np.float32)
    before = predictor(x)
    model.set_weights([w * 1.5 for w in model.get_weights()])
    assert np.abs(predictor(x) - before).max() == 0  # a snapshot
    predictor.refresh()
    assert np.abs(predictor(x) - before).max() > 1e-3
    assert _close(predictor, model, x) <= TOLERANCE


def test_uncovered_models_fall_back_say_why_and_match():
    import keras

    from keras_lstm_opt import FastLSTM, Predictor
    from keras_lstm_opt.errors import UsageError

    keras.utils.set_random_seed(9)
    x = np.random.default_rng(3).normal(size=(3, 8, 2)).astype(np.float32)
    conv = keras.Sequential([keras.Input((8, 2)), keras.layers.Conv1D(4, 3), FastLSTM(3)])
    p = Predictor(conv)
    assert not p.eager and "Conv1D" in p.plan and _close(p, conv, x) <= TOLERANCE
    relu = keras.Sequential([keras.Input((8, 2)), FastLSTM(3, activation="relu")])
    p = Predictor(relu)
    assert not p.eager and "activation" in p.plan and _close(p, relu, x) <= TOLERANCE
    a, b = keras.Input((8, 2)), keras.Input((8, 2))
    two = keras.Model([a, b], FastLSTM(3)(keras.layers.Add()([a, b])))
    p = Predictor(two)
    assert not p.eager and "2 inputs" in p.plan
    assert np.abs(p([x, x]) - np.asarray(two([x, x]))).max() <= TOLERANCE
    with pytest.raises(UsageError, match="not built"):
        Predictor(keras.Sequential([FastLSTM(3)]))


def test_a_mask_passed_by_hand_falls_back_and_float64_inputs_run_eagerly():
    import keras

    from keras_lstm_opt import FastLSTM, Predictor

    keras.utils.set_random_seed(11)
    ids = keras.Input((6,), dtype="int32")
    z = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
    z = FastLSTM(3)(z, mask=keras.ops.not_equal(ids, 5))  # not the Embedding's own mask
    model = keras.Model(ids, keras.layers.Dense(2)(z))
    p = Predictor(model)
    x = np.array([[1, 5, 2, 5, 3, 0], [5, 5, 5, 1, 2, 3]])
    assert not p.eager and _close(p, model, x) <= TOLERANCE
    wide = keras.Sequential(
        [keras.Input((7, 3), dtype="float64"), FastLSTM(4), keras.layers.Dense(2)]
    )
    p = Predictor(wide)
    xs = np.random.default_rng(4).normal(size=(2, 7, 3))  # float64
    assert p.eager and _close(p, wide, xs) <= TOLERANCE


@pytest.mark.parametrize("batch", [1, 7, 40])
def test_lstm_plan_matches_keras_and_each_row_alone(batch):
    """The kernels' C entry points (kernels/plan.py): Keras's numbers at 1 row, at a few
    rows (one thread per chunk of units) and at 40 (rows split between threads), masked,
    reversed, every step or the last; a row's outputs do not depend on the others."""
    import keras

    from keras_lstm_opt.models.kernels.plan import LstmPlan, capi

    if capi() is None:
        pytest.skip("the fused kernels are not loaded here")
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(batch)
    x = rng.normal(size=(batch, 9, 5)).astype(np.float32)
    mask = (rng.random((batch, 9)) > 0.3).astype(np.float32)
    for sequences, backwards in ((True, False), (False, True)):
        layer = keras.layers.LSTM(20, return_sequences=sequences, go_backwards=backwards)
        want = np.asarray(layer(x, mask=mask.astype(bool)))
        kernel, recurrent, bias = layer.get_weights()
        plan = LstmPlan(kernel, recurrent, bias, threads=2)
        got = plan(x, mask, sequences=sequences, reverse=backwards)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= TOLERANCE
        alone = np.concatenate(
            [
                plan(x[i : i + 1], mask[i : i + 1], sequences=sequences, reverse=backwards)
                for i in range(batch)
            ]
        )
        assert np.array_equal(alone, got)


def test_lstm_plan_refuses_wrong_shapes_and_the_predictor_names_a_bad_id():
    import keras

    from keras_lstm_opt import FastLSTM, Predictor
    from keras_lstm_opt.models.kernels.plan import LstmPlan, capi

    if capi() is None:
        pytest.skip("the fused kernels are not loaded here")
    with pytest.raises(ValueError, match=r"not \[I, 4H\] and \[H, 4H\]"):
        LstmPlan(np.zeros((3, 8)), np.zeros((2, 4)), None)
    plan = LstmPlan(np.zeros((3, 8)), np.zeros((2, 8)), None)
    with pytest.raises(ValueError, match=r"not \[B, T, 3\]"):
        plan(np.zeros((2, 5, 4)))
    model = keras.Sequential(
        [keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 3), FastLSTM(2)]
    )
    predictor = Predictor(model)
    assert "all in NumPy" in predictor.plan, predictor.plan
    with pytest.raises(ValueError, match="input id 12 is outside the embedding's 10 rows"):
        predictor(np.array([[1, 2, 12, 0]]))


def test_threads_calling_one_predictor_at_once_get_their_own_answers():
    """The kernels' thread pool serves one call at a time; a call that finds it busy runs
    every piece of its work on its own thread (rows split or units claimed)."""
    import threading

    import keras

    from keras_lstm_opt import FastLSTM, Predictor

    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((30, 8)), FastLSTM(64, return_sequences=True), FastLSTM(48)]
    )
    predictor = Predictor(model)
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(b, 30, 8)).astype(np.float32) for b in (1, 5, 40)]
    want = [np.asarray(model(x, training=False)) for x in xs]
    worst: list[float] = []

    def work(k: int) -> None:
        for i in range(60):
            j = (i + k) % len(xs)
            worst.append(float(np.abs(predictor(xs[j]) - want[j]).max()))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(worst) == 180 and max(worst) <= TOLERANCE
