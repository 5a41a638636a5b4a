"""FastLSTM against keras.layers.LSTM: same outputs and gradients (1e-5), same weights.

Outputs and gradients are compared to 1e-5 of each array's largest entry: a gradient
summed over a batch reaches ~20, and float32 sums taken in another order (another
CPU's vector width) differ there by ~1e-5 in absolute terms.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_lstm_opt import FastLSTM, convert_lstm_layers
from keras_lstm_opt.config import ModelConfig
from keras_lstm_opt.models.cudnn import cudnn_report
from keras_lstm_opt.models.factory import build_model
from keras_lstm_opt.models.kernels import find_compiler

from .test_models import _text_schema

needs_compiler = pytest.mark.skipif(
    find_compiler() is None, reason="needs a C++ compiler (g++) for the fused kernels"
)
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 7, 5)).astype("float32")
MASK = np.array([[1] * 7, [1] * 5 + [0] * 2, [1] * 3 + [0] * 4, [1, 0, 1, 1, 0, 1, 0]], bool)
STATES = [RNG.normal(size=(4, 6)).astype("float32") for _ in range(2)]


def _outputs_and_grads(layer, mask=None, initial_state=None):
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        kwargs = {} if mask is None else {"mask": tf.constant(mask)}
        if initial_state is not None:
            kwargs["initial_state"] = [tf.constant(s) for s in initial_state]
        out = layer(x, **kwargs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        weights = [tf.cast(tf.range(tf.size(o)), o.dtype) for o in outs]  # position-sensitive
        loss = sum(
            tf.reduce_sum(o * tf.reshape(w, tf.shape(o)) / 10.0) + tf.reduce_sum(o**2)
            for o, w in zip(outs, weights, strict=True)
        )
    grads = tape.gradient(loss, [x, *layer.trainable_variables])
    return [o.numpy() for o in outs], [g.numpy() for g in grads]


def _assert_close(actual, desired):
    scale = max(1.0, float(np.max(np.abs(desired))))
    np.testing.assert_allclose(actual, desired, atol=1e-5 * scale, rtol=1e-5)


def _pair(wrapper=None, cpu_kernel="auto", **kw):
    ref, fast = keras.layers.LSTM(6, **kw), FastLSTM(6, cpu_kernel=cpu_kernel, **kw)
    if wrapper:
        ref, fast = wrapper(ref), wrapper(fast)
    ref.build((None, 7, 5))
    fast.build((None, 7, 5))
    fast.set_weights(ref.get_weights())
    return ref, fast


CASES = [
    ({}, None, False),
    ({"return_sequences": True}, None, False),
    ({"return_state": True, "return_sequences": True}, None, False),
    ({"return_sequences": True}, MASK, False),
    ({}, MASK, False),
    ({"return_sequences": True, "go_backwards": True}, MASK, False),
    ({"go_backwards": True, "return_state": True}, None, False),
    ({"return_sequences": True, "zero_output_for_mask": True}, MASK, False),
    ({"use_bias": False, "return_sequences": True}, None, False),
    ({"return_sequences": True, "return_state": True}, MASK, True),
    # padding first in processing order with an initial state: Keras outputs zeros there
    ({"return_sequences": True, "go_backwards": True}, MASK, True),
    ({"unit_forget_bias": False}, None, True),
]


@pytest.mark.parametrize("cpu_kernel", [pytest.param("fused", marks=needs_compiler), "loop"])
@pytest.mark.parametrize("kwargs, mask, with_state", CASES)
def test_outputs_and_gradients_match_keras(kwargs, mask, with_state, cpu_kernel):
    ref, fast = _pair(cpu_kernel=cpu_kernel, **kwargs)
    assert fast.fast_path_supported()
    state = STATES if with_state else None
    out_r, grad_r = _outputs_and_grads(ref, mask, state)
    out_f, grad_f = _outputs_and_grads(fast, mask, state)
    for a, b in zip(out_r + grad_r, out_f + grad_f, strict=True):
        _assert_close(b, a)


@pytest.mark.parametrize("cpu_kernel", [pytest.param("fused", marks=needs_compiler), "loop"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_inside_bidirectional_with_mask(merge_mode, cpu_kernel):
    def wrap(layer):
        return keras.layers.Bidirectional(layer, merge_mode=merge_mode)

    ref, fast = _pair(wrap, cpu_kernel=cpu_kernel, return_sequences=True)
    out_r, grad_r = _outputs_and_grads(ref, MASK)
    out_f, grad_f = _outputs_and_grads(fast, MASK)
    for a, b in zip(out_r + grad_r, out_f + grad_f, strict=True):
        _assert_close(b, a)


def test_unsupported_configurations_fall_back_to_keras():
    ref, fast = _pair(activation="relu", recurrent_dropout=0.0)
    assert not fast.fast_path_supported()
    np.testing.assert_allclose(ref(X), fast(X), atol=1e-6)
    assert not FastLSTM(4, recurrent_dropout=0.1).fast_path_supported()
    assert not FastLSTM(4, unroll=True).fast_path_supported()


def test_weights_move_both_ways_and_keras_files_round_trip(tmp_path):
    ref, fast = _pair(return_sequences=True)
    assert [w.shape for w in ref.weights] == [w.shape for w in fast.weights]
    model = build_model(ModelConfig(units=6, layers=2, bidirectional=True), _text_schema())
    tokens = np.array([[3, 4, 5, 0], [6, 7, 8, 9]])
    model.save(tmp_path / "fast.keras")
    loaded = keras.models.load_model(tmp_path / "fast.keras")
    assert isinstance(loaded.get_layer("bidirectional_0").forward_layer, FastLSTM)
    np.testing.assert_allclose(loaded(tokens), model(tokens), atol=1e-6)
    stock = convert_lstm_layers(loaded, to="keras")
    assert type(stock.get_layer("bidirectional_1").backward_layer) is keras.layers.LSTM
    np.testing.assert_allclose(stock(tokens), model(tokens), atol=1e-5)
    stock.save(tmp_path / "stock.keras")
    back = convert_lstm_layers(keras.models.load_model(tmp_path / "stock.keras"), to="fast")
    assert isinstance(back.get_layer("bidirectional_0").backward_layer, FastLSTM)
    np.testing.assert_allclose(back(tokens), model(tokens), atol=1e-5)
    with pytest.raises(ValueError, match="expected 'fast' or 'keras'"):
        convert_lstm_layers(model, to="torch")


def test_training_with_input_dropout_runs_and_is_cudnn_reported():
    model = build_model(ModelConfig(units=8, input_dropout=0.2, layers=2), _text_schema())
    assert all(
        isinstance(layer, FastLSTM)
        for layer in (model.get_layer("lstm_0"), model.get_layer("lstm_1"))
    )
    assert [v.eligible for v in cudnn_report(model)] == [True, True]
    model.compile("adam", "sparse_categorical_crossentropy")
    hist = model.fit(np.array([[3, 4, 5, 0], [6, 7, 0, 0]]), np.array([1, 2]), epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    stock = build_model(ModelConfig(units=8, lstm="keras"), _text_schema())
    assert type(stock.get_layer("lstm_0")) is keras.layers.LSTM


# Inference (training false, no tape): the forward-only op (or the loop without its
# gradient stacks). 1 and 3 rows project x w first (130 units: two chunks, a partial block
# of 2), 11 rows do x_t w + h u per step; every Keras option on the way.
INFERENCE = [
    (1, 130, {"return_sequences": True, "return_state": True, "go_backwards": True}, True),
    (3, 6, {"return_sequences": True, "zero_output_for_mask": True, "use_bias": False}, False),
    (11, 20, {"go_backwards": True, "return_state": True}, True),
]


def _ops_in(fn, *args):
    return {op.type for op in fn.get_concrete_function(*args).graph.get_operations()}


@pytest.mark.parametrize("cpu_kernel", [pytest.param("fused", marks=needs_compiler), "loop"])
@pytest.mark.parametrize("batch, units, kwargs, with_state", INFERENCE)
def test_inference_runs_forward_only_and_matches_keras(
    batch, units, kwargs, with_state, cpu_kernel
):
    ref, fast = keras.layers.LSTM(units, **kwargs), FastLSTM(units, cpu_kernel=cpu_kernel, **kwargs)
    for layer in (ref, fast):
        layer.build((None, 9, 5))
    fast.set_weights([0.5 * RNG.normal(size=w.shape).astype("float32") for w in ref.get_weights()])
    ref.set_weights(fast.get_weights())
    x = tf.constant(RNG.normal(size=(batch, 9, 5)).astype("float32"))
    mask = tf.constant(np.arange(9)[None, :] < RNG.integers(1, 10, size=(batch, 1)))
    state = [tf.constant(RNG.normal(size=(batch, units)).astype("float32")) for _ in range(2)]
    call = {"mask": mask, **({"initial_state": state} if with_state else {})}
    for a, b in zip(tf.nest.flatten(ref(x, **call)), tf.nest.flatten(fast(x, **call)), strict=True):
        _assert_close(b, a)
    if cpu_kernel == "fused":  # predict's path: the inference op, nothing for a backward pass
        ops = _ops_in(tf.function(lambda: fast(x, **call, training=False)))
        assert "KloLstmInfer" in ops and "KloLstmForward" not in ops


@needs_compiler
def test_a_gradient_through_the_inference_op_is_exact():
    """tf.gradients on a graph traced without a tape, and a tape around such a graph,
    differentiate the inference op: its registered gradient reruns the training ops."""
    ref, fast = _pair(return_sequences=True)
    x, mask = tf.constant(X), tf.constant(MASK)

    @tf.function
    def symbolic(layer):
        out = layer(x, mask=mask)
        return tf.gradients(tf.reduce_sum(out**2), [x, *layer.trainable_variables])

    forward = tf.function(lambda: fast(x, mask=mask)[:, -3:])
    assert "KloLstmInfer" in _ops_in(symbolic, fast) and "KloLstmInfer" in _ops_in(forward)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(forward() ** 2)
    around = tape.gradient(loss, [x, *fast.trainable_variables])
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(ref(x, mask=mask)[:, -3:] ** 2)
    expected = tape.gradient(loss, [x, *ref.trainable_variables])
    for a, b in zip(expected, around, strict=True):
        _assert_close(b, a)
    for a, b in zip(symbolic(ref), symbolic(fast), strict=True):
        _assert_close(b, a)
