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

The eager steps are in predictor_eager.py, the check that a model is a chain (and which
layers are its wide path) in predictor_chain.py; this module puts them together.

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
from keras_lstm_opt.models.predictor_chain import _chain, _no_numpy_step
from keras_lstm_opt.models.predictor_eager import Unsupported, _step
from keras_lstm_opt.models.predictor_numpy import NUMPY_STEPS, PASS_THROUGH, Step

raw = tf.raw_ops

_LAST = tf.constant(-1)


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
