"""Serve a model from Python at low latency: its forward pass as a few eager kernel calls.

Calling a tf.function (or a SavedModel signature, or `model.predict_on_batch`) has a
fixed cost per call whatever it computes (a graph executor is set up for every call), and
`model(x)` in eager mode a larger one in Keras's layer machinery. For a small LSTM at
batch 1 either is more than the whole computation (figures: docs/measurements.md,
design measurements). `Predictor` runs a chain model made of the layers below as a short
list of eager raw TensorFlow ops (cheaper per call than the `tf.matmul`-style wrappers)
on a snapshot of the model's weights, taken when it is made (`refresh()` takes a new one
after further training: reading variables at every call would cost as much again):

* `InputLayer`; `Embedding` (a gather; `mask_zero` makes the mask);
* `FastLSTM` on its fused CPU path, or a `keras.layers.LSTM` whose cell it can compute
  (tanh and sigmoid activations: the same math, run by FastLSTM's inference op), alone or
  in `Bidirectional` (merge mode concat, sum, ave or mul), masked or not, returning
  sequences or the last output;
* `Dense` (2-D or 3-D inputs, any activation), `GlobalAveragePooling1D` (masked mean),
  `MaxMeanPooling` (masked max and mean);
* the wide path: an `NgramBag` reading the model's input, joined to the chain by a
  `Concatenate` (`[chain output, bag]`), as `build_model` makes it for `model.wide`
  (with subwords too: each word's character n-gram vectors summed once, when loaded);
* `Dropout`, `SpatialDropout1D`, `GaussianNoise`, `GaussianDropout`, `AlphaDropout`
  (nothing at inference).

All in float32. Any other model (a branch, a layer not listed, a mixed-precision policy,
an LSTM off the fused kernels: a GPU, the loop kernel, a stateful layer, other
activations) runs as one concrete function instead (several inputs or outputs: as
`predict_on_batch`), and `plan` says why. Either way the outputs are the model's own at
inference (`training=False`).

Where every layer has a NumPy step (predictor_numpy.py: the LSTMs through the kernels' C
entry points, kernels/plan.py, with their kernels packed once; the rest in NumPy), the
call makes no TensorFlow tensor at all: a one-layer 64-unit LSTM over 50 steps answers
one row in about 50 us, against 90 us through the eager op (measurements:
docs/measurements.md, "FastLSTM"). The plan then ends "(all in NumPy and the kernels' C
calls)".

Example:

    predictor = Predictor(model)
    print(predictor.plan)             # "eager: embedding, fast_lstm, dense" or the reason
    probabilities = predictor(x)      # NumPy in, NumPy out; any batch size
    model.fit(...); predictor.refresh()   # after further training
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.models.predictor_numpy import NUMPY_STEPS, PASS_THROUGH, Step, fused_reason
from keras_lstm_opt.models.wide import PRIME

raw = tf.raw_ops

_LAST = tf.constant(-1)


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


def _embedding_mask(mask: Any, previous: Any, ids: Any) -> bool:
    """Whether a layer's input mask is the one an Embedding(mask_zero) made from `ids`
    (the same tensor, or, in a loaded model, `not_equal(ids, 0)`)."""
    if ids is None:
        return False
    if mask is getattr(previous, "_keras_mask", None):
        return True
    history = getattr(mask, "_keras_history", None)
    if history is None or type(history.operation).__name__ != "NotEqual":
        return False
    args = history.operation._inbound_nodes[history.node_index].arguments
    return (
        len(args.args) == 2
        and args.args[0] is ids
        and isinstance(args.args[1], int)
        and args.args[1] == 0
        and not args.kwargs
    )


def _chain(model: keras.Model) -> list[tuple[Any, str]]:
    """The model's layers in order with their roles, if it is one input -> one output,
    layer after layer ("main"), plus wide-path bags of the input ("side") joined to the
    chain by a Concatenate ("join")."""
    if not isinstance(model, keras.Model) or type(model).__name__ not in (
        "Functional",
        "Sequential",
    ):
        raise Unsupported(f"a {type(model).__name__} model (not Functional or Sequential)")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise Unsupported(f"{len(model.inputs)} inputs and {len(model.outputs)} outputs")
    layers = [lay for lay in model.layers if type(lay).__name__ != "InputLayer"]
    previous, ids, sides = model.inputs[0], None, []  # bags not yet joined, in order
    out = []
    for layer in layers:
        kind = type(layer).__name__
        try:
            inbound = layer.input
        except (AttributeError, ValueError) as err:  # a layer used more than once
            raise Unsupported(f"layer {layer.name!r}: {err}") from err
        if kind == "NgramBag" and inbound is model.inputs[0]:
            sides.append(id(layer.output))
            out.append((layer, "side"))
            continue
        if kind == "Concatenate":
            if not (
                isinstance(inbound, (list, tuple))
                and len(inbound) >= 2
                and inbound[0] is previous
                and layer.axis in (-1, 1)
                and [id(t) for t in inbound[1:]] == sides
            ):
                raise Unsupported(f"layer {layer.name!r} joins more than the chain and a wide path")
            previous, sides = layer.output, []
            out.append((layer, "join"))
            continue
        if isinstance(layer, keras.layers.Embedding) and layer.mask_zero:
            ids = previous  # the ids its mask (ids != 0) comes from
        if isinstance(inbound, (list, tuple)):  # [values, mask] where a mask flows
            ok = len(inbound) == 2 and _embedding_mask(inbound[1], previous, ids)
            inbound = inbound[0] if ok else None  # not a mask passed in by hand
        if inbound is not previous:
            raise Unsupported(f"layer {layer.name!r} does not read the previous layer's output")
        previous = layer.output
        out.append((layer, "main"))
    if previous is not model.outputs[0]:
        raise Unsupported("the output is not the last layer's")
    return out


def _no_numpy_step(layer: Any) -> str:
    """Why a layer of an eager chain has no NumPy step (the reason int8 is refused)."""
    from keras_lstm_opt.models.kernels import kernel_status

    name = f"layer {layer.name!r} ({type(layer).__name__})"
    if isinstance(layer, keras.layers.Bidirectional):
        inner = fused_reason(layer.forward_layer) or fused_reason(layer.backward_layer)
        return f"{name}: {inner or f'merge_mode {layer.merge_mode!r}'}"
    if isinstance(layer, keras.layers.LSTM):
        return (
            fused_reason(layer) or f"{name}: the fused kernels are not loaded ({kernel_status()})"
        )
    return f"{name} has no step outside TensorFlow"


class Predictor:
    """A model's inference as a NumPy -> NumPy function (see the module docstring).

    Args:
        model: a built Keras model.

    Attributes:
        plan: "eager: <layers>" when the eager steps run, else "function: <reason>".
        eager: whether the eager steps run.
    """

    def __init__(self, model: keras.Model, precision: str = "float32") -> None:
        if not isinstance(model, keras.Model):
            raise UsageError(f"Predictor: expected a Keras model, got {type(model).__name__}")
        if not model.built:
            raise UsageError(
                "Predictor: the model is not built; call it on an input or build it first"
            )
        if precision not in ("float32", "int8"):
            raise UsageError(f"precision: expected one of float32, int8, got {precision!r}")
        self.model, self.precision = model, precision
        self.input_dtype = tf.as_dtype(
            keras.backend.standardize_dtype(model.inputs[0].dtype)
            if getattr(model, "inputs", None)
            else "float32"
        )
        self._steps: list[tuple[str, Step]] = []
        self._tail = 0
        self._function: Any = None
        self._keras_call: Callable[[Any], Any] | None = None
        self.refresh()

    def refresh(self) -> None:
        """Take the model's current weights (after training it further or `set_weights`)."""
        model = self.model
        try:
            layers = _chain(model)
            for layer, _ in layers:  # as _step checks, also for the layers NumPy computes
                if type(layer).__name__ not in PASS_THROUGH and layer.compute_dtype != "float32":
                    raise Unsupported(f"layer {layer.name!r} computes in {layer.compute_dtype}")
            numpy_steps: dict[int, Step] = {}  # from the end: the layers NumPy computes
            self._tail = len(layers)  # steps from here on take and give NumPy
            while self._tail:  # wide-path bags (sides) compute in NumPy anyway
                layer, role = layers[self._tail - 1]
                if role != "side":
                    maker = NUMPY_STEPS.get(type(layer).__name__)
                    step = maker(layer, self.precision) if maker is not None else None
                    if step is None:
                        break
                    numpy_steps[self._tail - 1] = step
                self._tail -= 1
            steps = [  # TensorFlow steps only for the layers before the NumPy ones
                (role, numpy_steps[i] if i in numpy_steps else _step(layer))
                for i, (layer, role) in enumerate(layers)
            ]
            self._steps = [(role, step) for role, step in steps if step is not None]
            self.plan = "eager: " + ", ".join(layer.name for layer, _ in layers)
            if self.precision == "int8" and not any(
                isinstance(layer, (keras.layers.LSTM, keras.layers.Bidirectional))
                for layer, _ in layers
            ):
                raise UsageError(
                    "Predictor(precision='int8') cannot quantise this model: it has no LSTM "
                    "layer to quantise (float32, the default, serves it)"
                )
            if self._tail == 0:
                self.plan += " (all in NumPy and the kernels' C calls)"
            elif self.precision == "int8":
                raise Unsupported(_no_numpy_step(layers[self._tail - 1][0]))
            if self.precision == "int8":
                self.plan = self.plan.replace("eager: ", "eager, int8 LSTM kernels: ", 1)
            self.eager = True
            self._function = self._keras_call = None
            return
        except Unsupported as why:
            self.eager = False
            if self.precision == "int8":  # a clone with its LSTMs on the int8 kernels
                from keras_lstm_opt.models.predictor_graph import Int8Unsupported, int8_clone

                try:
                    self._keras_call, names = int8_clone(model)
                except Int8Unsupported as err:
                    raise UsageError(
                        f"Predictor(precision='int8') cannot quantise this model: {err} "
                        "(float32, the default, serves it)"
                    ) from None
                self.plan = (
                    f"int8 clone: {', '.join(names)} on the int8 kernels, called eagerly "
                    f"(not a chain: {why})"
                )
                return
            self.plan = f"function: {why}"
        if self._function is not None or self._keras_call is not None:
            return  # a function reads the variables itself
        ins, outs = (getattr(model, k, None) or [] for k in ("inputs", "outputs"))
        if len(ins) == 1 and len(outs) == 1:
            spec = tf.TensorSpec([None, *model.inputs[0].shape[1:]], self.input_dtype)
            self._function = tf.function(lambda x: model(x, training=False)).get_concrete_function(
                spec
            )
        else:  # several inputs or outputs: Keras's own batch call
            self._keras_call = model.predict_on_batch

    def __call__(self, x: Any) -> Any:
        """The model's outputs for the batch `x` (NumPy or a tensor), as NumPy (a list or
        dict of arrays for a model with several outputs)."""
        if self._keras_call is not None:
            return self._keras_call(x)
        if self.eager and self._tail == 0:  # every step in NumPy: no tensor at all
            return self._numpy_call(x)
        t = x if isinstance(x, tf.Tensor) else tf.constant(x)
        # the eager steps compute in float32 (as the layers do, whatever the Input's dtype)
        want = tf.float32 if self.eager and self.input_dtype.is_floating else self.input_dtype
        if t.dtype != want:
            t = raw.Cast(x=t, DstT=want)
        if self._function is not None:
            return np.asarray(self._function(t))
        mask, sides, given = None, [], t
        ids = x if isinstance(x, np.ndarray) else None
        for i, (role, step) in enumerate(self._steps):
            if i == self._tail:  # the rest in NumPy
                t = t.numpy()
                mask = None if mask is None else mask.numpy()
            if role == "side":  # the wide path reads the input ids (as NumPy)
                if ids is None:
                    ids = given.numpy()
                sides.append(step(ids, None)[0])
            elif role == "join":
                if i >= self._tail:
                    t = np.concatenate([t, *sides], axis=-1)
                else:
                    t = raw.ConcatV2(values=[t, *map(tf.constant, sides)], axis=_LAST)
                mask, sides = None, []
            else:
                t, mask = step(t, mask)
        return t if isinstance(t, np.ndarray) else t.numpy()

    def _numpy_call(self, x: Any) -> Any:
        a = x.numpy() if isinstance(x, tf.Tensor) else np.asarray(x)
        want = self.model.inputs[0].shape
        if a.ndim != len(want):
            shape = ", ".join("batch" if d is None else str(d) for d in want)
            raise UsageError(f"Predictor: the input has shape {a.shape}; the model takes [{shape}]")
        if self.input_dtype.is_floating:  # the steps compute in float32, as the layers do
            a = a.astype(np.float32, copy=False)
        elif a.dtype.kind not in "iu":
            a = a.astype(self.input_dtype.as_numpy_dtype)
        t, mask, sides = a, None, []
        for role, step in self._steps:
            if role == "side":  # the wide path reads the input ids
                sides.append(step(a, None)[0])
            elif role == "join":
                t, mask, sides = np.concatenate([t, *sides], axis=-1), None, []
            else:
                t, mask = step(t, mask)
        return t

    def __repr__(self) -> str:
        return f"Predictor({self.model.name!r}, {self.plan})"
