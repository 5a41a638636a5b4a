"""`klo.Predictor`'s layers in NumPy: the steps that need no TensorFlow op call.

An eager TensorFlow op costs about 20 us a call whatever it computes; a NumPy op a few,
and an LSTM through the kernels' C entry points (`kernels/plan.py`) a few plus its work.
Each maker here takes a layer and gives its inference step on NumPy arrays, or None
where it cannot (an activation it does not know, the kernels not loaded, ...): the
Predictor then keeps that layer, and every one before it, on TensorFlow ops.

Example:

    step = NUMPY_STEPS["Dense"](layer)      # None: not in NumPy
    y, mask = step(x, None)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

# One layer at inference: (values, mask or None) -> (values, mask or None), as TensorFlow
# tensors or NumPy arrays.
Step = Callable[[Any, Any], tuple[Any, Any]]
PASS_THROUGH = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout")


def fused_reason(layer: Any) -> str:
    """Why an LSTM layer cannot run on the fused inference kernels ("" if it can)."""
    from keras_lstm_opt.models.fast_lstm import FastLSTM, fused_math

    if not isinstance(layer, keras.layers.LSTM):
        return f"layer {layer.name!r} is a {type(layer).__name__}, not an LSTM"
    gpu = bool(tf.config.list_logical_devices("GPU"))
    why = (
        "stateful"
        if layer.stateful
        else "return_state"
        if layer.return_state
        else "cpu_kernel is 'loop'"
        if getattr(layer, "cpu_kernel", "") == "loop"
        else "activation, recurrent_dropout or unroll off the fused kernels' math"
        if not fused_math(layer)
        else "a GPU would run cuDNN"
        if gpu and (not isinstance(layer, FastLSTM) or layer._gpu_cudnn_wanted())
        else ""
    )
    return f"layer {layer.name!r}: {why}" if why else ""


def _np_softmax(y: np.ndarray) -> np.ndarray:
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_NP_ACTIVATIONS: dict[Any, Callable[[np.ndarray], np.ndarray]] = {
    keras.activations.linear: lambda y: y,
    keras.activations.relu: lambda y: np.maximum(y, 0, dtype=np.float32),
    keras.activations.sigmoid: lambda y: (1.0 / (1.0 + np.exp(-y))).astype(np.float32),
    keras.activations.tanh: np.tanh,
    keras.activations.softmax: _np_softmax,
}


def _np_dense(layer: Any, precision: str) -> Step | None:
    act = _NP_ACTIVATIONS.get(layer.activation)
    if (
        act is None
        or getattr(layer, "lora_enabled", False)
        or getattr(layer, "quantization_mode", None)
    ):
        return None
    kernel = np.asarray(layer.kernel.numpy(), np.float32)
    bias = np.asarray(layer.bias.numpy(), np.float32) if layer.use_bias else None

    def step(x: Any, mask: Any) -> tuple[Any, Any]:
        y = x @ kernel
        return act(y if bias is None else y + bias), mask

    return step


def _np_pool(layer: Any, precision: str) -> Step | None:
    """GlobalAveragePooling1D (channels_last) or MaxMeanPooling, masked, in NumPy."""
    both = type(layer).__name__ == "MaxMeanPooling"
    if not both and (layer.data_format != "channels_last" or layer.keepdims):
        return None

    def step(x: Any, mask: Any) -> tuple[Any, None]:
        if mask is None:
            mean = x.mean(axis=1)
            return (np.concatenate([x.max(axis=1), mean], axis=-1) if both else mean), None
        w = mask.astype(x.dtype, copy=False)
        count = w.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore"):  # an all-padding row: NaN, as Keras's mean
            # summed step by step (not a matmul): extra padding adds exact zeros, so a
            # row's answer does not depend on the batch it comes in
            mean = (x * w[:, :, None]).sum(axis=1) / (np.maximum(count, 1.0) if both else count)
        if not both:
            return mean, None
        peak = x.max(axis=1, where=w[:, :, None] > 0, initial=np.finfo(x.dtype).min)
        if count.min() <= 0:  # an all-padding row: 0, as MaxMeanPooling
            peak = np.where(count > 0, peak, 0.0)
        return np.concatenate([peak, mean], axis=-1), None

    return step


def _np_lstm_run(layer: Any, precision: str) -> Callable[[Any, Any], Any] | None:
    """An LSTM on the kernels' C entry points: (x, float mask) -> outputs, or None."""
    from keras_lstm_opt.models.kernels.plan import LstmPlan, capi

    if fused_reason(layer) or capi() is None or layer.compute_dtype != "float32":
        return None
    cell = layer.cell
    plan = LstmPlan(
        np.asarray(cell.kernel),
        np.asarray(cell.recurrent_kernel),
        np.asarray(cell.bias) if cell.use_bias else None,
        precision=precision,
    )
    options = {
        "sequences": bool(layer.return_sequences),
        "reverse": bool(layer.go_backwards),
        "zero_output_for_mask": bool(layer.zero_output_for_mask),
    }
    return lambda x, mask: plan(x, mask, **options)


def _np_lstm(layer: Any, precision: str) -> Step | None:
    run = _np_lstm_run(layer, precision)
    if run is None:
        return None
    seq = layer.return_sequences
    return lambda x, mask: (run(x, mask), mask if seq else None)


_MERGE: dict[str, Callable[[Any, Any], Any]] = {
    "concat": lambda a, b: np.concatenate([a, b], axis=-1),
    "sum": lambda a, b: a + b,
    "ave": lambda a, b: (a + b) * np.float32(0.5),
    "mul": lambda a, b: a * b,
}


def _np_bidirectional(layer: Any, precision: str) -> Step | None:
    merge = _MERGE.get(str(layer.merge_mode))
    if merge is None or layer.return_state or layer.compute_dtype != "float32":
        return None
    forward = _np_lstm_run(layer.forward_layer, precision)
    backward = _np_lstm_run(layer.backward_layer, precision)
    if forward is None or backward is None:
        return None
    seq = layer.return_sequences

    def step(x: Any, mask: Any) -> tuple[Any, Any]:
        y, y_rev = forward(x, mask), backward(x, mask)
        if seq:
            y_rev = y_rev[:, ::-1]
        return merge(y, y_rev), mask if seq else None

    return step


def _np_embedding(layer: Any, precision: str) -> Step | None:
    if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
        return None
    table = np.asarray(layer.embeddings, np.float32)
    rows, mask_zero = table.shape[0], bool(layer.mask_zero)

    def step(ids: Any, mask: Any) -> tuple[Any, Any]:
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            ids = ids.astype(np.int32)
        if ids.size and (ids.min() < 0 or ids.max() >= rows):
            bad = ids[(ids < 0) | (ids >= rows)][0]
            raise ValueError(
                f"layer {layer.name!r}: input id {int(bad)} is outside the embedding's "
                f"{rows} rows (0..{rows - 1})"
            )
        out = table[ids]
        return out, (ids != 0).astype(np.float32) if mask_zero else None

    return step


# the layers that can run in NumPy (a few us per op at small batches, against ~20 us per
# eager TensorFlow op): their makers (None = not this one)
# (layer, precision) -> step; precision "int8" quantises the LSTM kernels only
NUMPY_STEPS: dict[str, Callable[[Any, str], Step | None]] = {
    "FastLSTM": _np_lstm,
    "LSTM": _np_lstm,
    "Bidirectional": _np_bidirectional,
    "Embedding": _np_embedding,
    "RowEmbedding": _np_embedding,
    "Dense": _np_dense,
    "GlobalAveragePooling1D": _np_pool,
    "MaxMeanPooling": _np_pool,
    "Concatenate": lambda layer, precision: lambda x, mask: (x, mask),
    **{kind: (lambda layer, precision: lambda x, mask: (x, mask)) for kind in PASS_THROUGH},
}
