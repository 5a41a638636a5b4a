"""The gradient exchange between replicas: one all-reduce per step, with less traffic.

The train step sums the replicas' gradients itself, once, and the optimizer then
applies them without summing again (`reduce_once`). Two levers cut what crosses the
network, both equal in result to the plain exchange up to the wire's precision:

* `compression`: "float16" puts gradients on the wire at half width and casts the sum
  back (the model, the optimizer and its slots stay float32). A sum over 65,504
  overflows (it is taken before clipping): the blow-up guard then rolls back. bfloat16
  would keep float32's range, but TensorFlow's collective all-reduce kernel
  (CollectiveReduceV2) takes float16, float32, float64, int32 and int64 only.
* Row-sparse embedding gradients (`tf.IndexedSlices`, kept by the caller) are all-gathered
  as the touched rows and their indices instead of all-reducing the whole table:
  TensorFlow's collectives gather IndexedSlices (sizes first, then padded rows), and
  `sparse.unique_rows` sums repeated rows afterwards. Cheaper while the rows all
  replicas touch in a step are fewer than the table's rows.

Example:

    ctx = tf.distribute.get_replica_context()
    grads = all_reduce_gradients(ctx, grads, compression="float16")
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import keras
import tensorflow as tf

from keras_lstm_opt.training.sparse import unique_rows

Compression = Literal["none", "float16"]
WIRE = {"float16": tf.float16}


def _to_wire(grad: Any, wire: tf.DType | None) -> Any:
    if wire is None or grad is None or not grad.dtype.is_floating or grad.dtype == wire:
        return grad
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(tf.cast(grad.values, wire), grad.indices, grad.dense_shape)
    return tf.cast(grad, wire)


def _from_wire(grad: Any, dtype: tf.DType) -> Any:
    if grad is None or grad.dtype == dtype:
        return grad
    if isinstance(grad, tf.IndexedSlices):
        return tf.IndexedSlices(tf.cast(grad.values, dtype), grad.indices, grad.dense_shape)
    return tf.cast(grad, dtype)


def all_reduce_gradients(
    ctx: Any, grads: list[Any], compression: Compression = "none"
) -> list[Any]:
    """Sum `grads` over every replica in one collective call (None stays None); row-sparse
    gradients come back row-sparse with each row once. `compression` as above."""
    if compression not in ("none", *WIRE):
        raise ValueError(f"compression={compression!r}: use none or float16")
    wire = WIRE.get(compression)
    present = [i for i, g in enumerate(grads) if g is not None]
    if not present:
        return list(grads)
    sent = [_to_wire(grads[i], wire) for i in present]
    summed = ctx.all_reduce("SUM", sent)
    out = list(grads)
    for i, g in zip(present, summed, strict=True):
        g = _from_wire(g, grads[i].dtype)
        out[i] = unique_rows(g) if isinstance(g, tf.IndexedSlices) else g
    return out


_summed = [0]  # replica steps applying gradients they summed (replicas may be threads)
_lock = threading.Lock()


@contextmanager
def already_summed() -> Iterator[None]:
    """Inside: optimizers prepared by `reduce_once` apply gradients as given."""
    with _lock:
        _summed[0] += 1
    try:
        yield
    finally:
        with _lock:
            _summed[0] -= 1


def reduce_once(optimizer: keras.optimizers.Optimizer) -> None:
    """Let `optimizer` apply gradients as given inside `already_summed()`: Keras's
    TensorFlow optimizer otherwise all-reduces them again (`_all_reduce_sum_gradients`,
    keras/src/backend/tensorflow/optimizer.py), which doubled the traffic of a step that
    had already summed them to clip. Outside that block (the optimizer reused by Keras's
    own `model.fit`, say) it sums as Keras does."""
    for opt in {
        id(o): o for o in (optimizer, getattr(optimizer, "inner_optimizer", None)) if o is not None
    }.values():
        keras_sum = getattr(opt, "_all_reduce_sum_gradients", None)
        if keras_sum is None:
            raise TypeError(
                f"{type(opt).__name__}: not Keras's TensorFlow optimizer; its "
                "gradients cannot be summed by the train step"
            )
        if getattr(keras_sum, "klo_reduce_once", False):
            continue

        def maybe_sum(grads_and_vars: Any, keras_sum: Any = keras_sum) -> Any:
            return list(grads_and_vars) if _summed[0] else keras_sum(grads_and_vars)

        maybe_sum.klo_reduce_once = True  # type: ignore[attr-defined]
        opt._all_reduce_sum_gradients = maybe_sum
