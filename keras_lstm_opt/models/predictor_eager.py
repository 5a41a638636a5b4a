"""`klo.Predictor`'s eager steps: each layer of a chain model as a few raw TensorFlow ops.

An eager call of a Keras layer goes through Keras's layer machinery, and a tf.function has a
fixed cost per call (a graph executor set up each time); for a small LSTM at batch 1 either
costs more than the computation. A step here is the layer's inference as a short list of
eager raw TensorFlow ops (cheaper per call than the `tf.matmul`-style wrappers) on a snapshot
of its weights, taken when the step is made: the LSTMs on FastLSTM's fused inference op, the
embedding a gather, the wide path's NgramBag in NumPy (a NumPy op costs a few us, an eager
TensorFlow op ~20 us). A layer without a step, or one whose step cannot be made (a LoRA or
quantized layer, another dtype, an LSTM off the fused kernels), raises `Unsupported` with
the reason; `Predictor` then runs the model as one concrete function instead.

Example:

    step = _step(layer)           # None: the input layer
    y, mask = step(x, None)       # tensors in, tensors out
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_lstm_opt.models.predictor_numpy import PASS_THROUGH, Step, fused_reason
from keras_lstm_opt.models.wide import PRIME

raw = tf.raw_ops


class Unsupported(Exception):
    """A model or layer the eager plan does not cover (the message says which and why)."""


def _snapshot(v: Any) -> tf.Tensor:
    """A Keras or TensorFlow variable's current value, as a constant tensor."""
    return tf.constant(np.asarray(v), tf.float32)


def _const(value: Any, dtype: Any = tf.int32) -> tf.Tensor:
    return tf.constant(value, dtype)


def _activation(fn: Any) -> Callable[[tf.Tensor], tf.Tensor]:
    """The raw op for a Keras activation (the Keras function itself otherwise)."""
    known: dict[Any, Callable[[tf.Tensor], tf.Tensor]] = {
        keras.activations.linear: lambda y: y,
        keras.activations.relu: lambda y: raw.Relu(features=y),
        keras.activations.sigmoid: lambda y: raw.Sigmoid(x=y),
        keras.activations.tanh: lambda y: raw.Tanh(x=y),
        keras.activations.softmax: lambda y: raw.Softmax(logits=y),
    }
    return known.get(fn, fn)


def _lstm_step(layer: Any) -> Callable[[tf.Tensor, tf.Tensor | None], tf.Tensor]:
    """An LSTM's inference op (FastLSTM's fused kernels): (x, float mask) -> outputs."""
    from keras_lstm_opt.models.fused import fused_ops

    why = fused_reason(layer)
    ops = None if why else fused_ops(tf.float32, required=False)
    if ops is None:
        raise Unsupported(why or f"layer {layer.name!r}: the fused kernels are not loaded")
    cell, zeros, empty = layer.cell, {}, tf.zeros([0], tf.float32)
    w, u = _snapshot(cell.kernel), _snapshot(cell.recurrent_kernel)
    b = _snapshot(cell.bias) if cell.use_bias else empty
    attrs = {
        "zero_output_for_mask": bool(layer.zero_output_for_mask),
        "reverse": bool(layer.go_backwards),
        "sequences": bool(layer.return_sequences),
    }

    def run(x: tf.Tensor, mask: tf.Tensor | None) -> tf.Tensor:
        batch = int(x.shape[0])
        if batch not in zeros:
            zeros[batch] = tf.zeros([batch, cell.units], tf.float32)
        h0 = zeros[batch]
        ys, last, _, _ = ops.klo_lstm_infer(  # as fused_lstm_inference, without its casts
            x, w, b, u, h0, h0, empty if mask is None else mask, **attrs
        )
        return ys if layer.return_sequences else last

    return run


def _rnn(layer: Any) -> Step:
    run = _lstm_step(layer)
    seq = layer.return_sequences
    return lambda x, mask: (run(x, mask), mask if seq else None)


def _bidirectional(layer: Any) -> Step:
    forward, backward = _lstm_step(layer.forward_layer), _lstm_step(layer.backward_layer)
    last, time, half = _const(-1), _const([1]), _const(0.5, tf.float32)
    merge = {
        "concat": lambda a, b: raw.ConcatV2(values=[a, b], axis=last),
        "sum": lambda a, b: raw.AddV2(x=a, y=b),
        "ave": lambda a, b: raw.Mul(x=raw.AddV2(x=a, y=b), y=half),
        "mul": lambda a, b: raw.Mul(x=a, y=b),
    }.get(layer.merge_mode)
    if merge is None or layer.return_state:
        raise Unsupported(
            f"layer {layer.name!r}: Bidirectional with merge_mode="
            f"{layer.merge_mode!r}{', return_state' if layer.return_state else ''}"
        )
    seq = layer.return_sequences

    def step(x: tf.Tensor, mask: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor | None]:
        y, y_rev = forward(x, mask), backward(x, mask)
        if seq:
            y_rev = raw.ReverseV2(tensor=y_rev, axis=time)
        return merge(y, y_rev), mask if seq else None

    return step


def _embedding(layer: Any) -> Step:
    if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
        raise Unsupported(f"layer {layer.name!r}: a LoRA or quantized Embedding")
    table, axis, zero = _snapshot(layer.embeddings), _const(0), {}

    def step(ids: tf.Tensor, mask: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor | None]:
        if ids.dtype not in (tf.int32, tf.int64):
            ids = raw.Cast(x=ids, DstT=tf.int32)
        out = raw.GatherV2(params=table, indices=ids, axis=axis)
        if not layer.mask_zero:
            return out, None
        if ids.dtype not in zero:
            zero[ids.dtype] = _const(0, ids.dtype)
        return out, raw.Cast(x=raw.NotEqual(x=ids, y=zero[ids.dtype]), DstT=tf.float32)

    return step


def _dense(layer: Any) -> Step:
    if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
        raise Unsupported(f"layer {layer.name!r}: a LoRA or quantized Dense")
    act, kernel = _activation(layer.activation), _snapshot(layer.kernel)
    bias = _snapshot(layer.bias) if layer.use_bias else None

    def step(x: tf.Tensor, mask: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor | None]:
        y = raw.MatMul(a=x, b=kernel) if x.shape.rank == 2 else tf.tensordot(x, kernel, 1)
        if bias is not None:
            y = raw.BiasAdd(value=y, bias=bias)
        return act(y), mask

    return step


def _mean_pool(layer: Any) -> Step:
    if layer.data_format != "channels_last":
        raise Unsupported(f"layer {layer.name!r}: data_format {layer.data_format!r}")
    keep, time, feature = bool(layer.keepdims), _const(1), _const(2)

    def step(x: tf.Tensor, mask: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor | None]:
        if mask is None:
            return raw.Mean(input=x, axis=time, keep_dims=keep), None
        m = raw.ExpandDims(input=mask, axis=feature)  # 1.0 where a step counts
        total = raw.Sum(input=raw.Mul(x=x, y=m), axis=time, keep_dims=keep)
        return raw.RealDiv(x=total, y=raw.Sum(input=m, axis=time, keep_dims=keep)), None

    return step


def _max_mean_pool(layer: Any) -> Step:
    time, feature, last = _const(1), _const(2), _const(-1)
    one, far = tf.constant(1.0), tf.constant(1e30)  # padded steps drop by 1e30 for the max

    def step(x: tf.Tensor, mask: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor | None]:
        if mask is None:
            peak, mean = raw.Max(input=x, axis=time), raw.Mean(input=x, axis=time)
            return raw.ConcatV2(values=[peak, mean], axis=last), None
        m = raw.ExpandDims(input=mask, axis=feature)  # 1.0 where a step counts
        count = raw.Sum(input=m, axis=time)
        mean = raw.RealDiv(
            x=raw.Sum(input=raw.Mul(x=x, y=m), axis=time), y=raw.Maximum(x=count, y=one)
        )
        shifted = raw.AddV2(x=x, y=raw.Mul(x=raw.Sub(x=m, y=one), y=far))
        peak = raw.Mul(x=raw.Max(input=shifted, axis=time), y=raw.Minimum(x=count, y=one))
        return raw.ConcatV2(values=[peak, mean], axis=last), None

    return step


def _per_word(table: np.ndarray, vocab: int, subword_ids: np.ndarray | None, offset: int) -> Any:
    """Per vocabulary id, the rows a NumPy bag gathers in one go: the token's own vector
    and, with subwords, the sum of its character n-grams' vectors and their count
    `[V, dim (+ dim + 1)]`. The table is fixed at inference, so each word's n-gram sum
    is computed once, here."""
    own = table[:vocab]
    if subword_ids is None:
        return own
    valid = subword_ids >= 0  # [V, K], -1 = none
    count = valid.sum(axis=1).astype(np.float32)
    sums = np.zeros((len(subword_ids), table.shape[1]), np.float32)
    has = count > 0
    if has.any():
        vectors = table[offset + subword_ids[valid]]  # row by row, in each word's order
        starts = np.concatenate([[0], np.cumsum(count, dtype=np.int64)[:-1]])
        sums[has] = np.add.reduceat(vectors, starts[has], axis=0)
    return np.concatenate([own, sums, count[:, None]], axis=1)


def _ngram_bag(layer: Any) -> Step:
    # NumPy: at small batches a NumPy op costs a few us, an eager TensorFlow op ~20 us;
    # the hashing is NgramBag.slots' integer arithmetic, exactly. The token vectors and
    # the subword bag come from one gather of `_per_word`'s rows (each n-gram order from
    # one more).
    weights_np = np.asarray(layer.table.embeddings.numpy(), dtype=np.float32)
    ngrams, buckets, vocab = int(layer.ngrams), int(layer.buckets), int(layer.vocab_size)
    dim, subwords = int(layer.dim), bool(layer.subwords)
    words = _per_word(
        weights_np, vocab, np.asarray(layer.subword_ids) if subwords else None, vocab + buckets
    )

    def step(ids: Any, mask: Any) -> tuple[tf.Tensor, None]:
        ids = np.asarray(ids).astype(np.int64, copy=False)
        steps = ids.shape[1]
        real = (ids != 0).astype(np.float32)
        # einsum's loops add the steps in order: extra padding adds exact zeros, so a row
        # gets the same answer in any batch (a BLAS matmul's blocking depends on the length)
        summed = np.einsum("bt,btk->bk", real, words[ids])  # [B, dim (+ dim + 1)]
        total, n = summed[:, :dim], real.sum(axis=1, keepdims=True)
        h, w = ids, real
        for k in range(2, ngrams + 1):
            width = steps - k + 1
            if width < 1:
                break
            h = (h[:, :width] * PRIME + ids[:, k - 1 : k - 1 + width]) % buckets
            w = w[:, :width] * real[:, k - 1 : k - 1 + width]
            total = total + np.einsum("bt,btk->bk", w, weights_np[h + vocab])
            n = n + w.sum(axis=1, keepdims=True)
        bag = total / np.maximum(n, 1.0)
        if subwords:
            grams = summed[:, dim : 2 * dim] / np.maximum(summed[:, 2 * dim :], 1.0)
            bag = np.concatenate([bag, grams], axis=1)
        return bag.astype(np.float32, copy=False), None

    return step


def _step(layer: Any) -> Step | None:
    """The layer's eager step (None: the input layer, nothing to do)."""
    kind = type(layer).__name__
    if kind == "InputLayer":
        return None
    if kind in PASS_THROUGH:
        return lambda x, mask: (x, mask)
    makers: dict[str, Callable[[Any], Step]] = {
        "FastLSTM": _rnn,
        "LSTM": _rnn,
        "Bidirectional": _bidirectional,
        "Embedding": _embedding,
        "RowEmbedding": _embedding,
        "Dense": _dense,
        "GlobalAveragePooling1D": _mean_pool,
        "MaxMeanPooling": _max_mean_pool,
        "NgramBag": _ngram_bag,
        "Concatenate": lambda layer: lambda x, mask: (x, mask),
    }  # joined in __call__
    if kind not in makers:
        raise Unsupported(f"layer {layer.name!r} ({kind}) has no eager step")
    if layer.compute_dtype != "float32":
        raise Unsupported(f"layer {layer.name!r} computes in {layer.compute_dtype}")
    return makers[kind](layer)
