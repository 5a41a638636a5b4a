"""Int8 for any Keras model: a clone whose LSTMs run on the int8 kernels.

`klo.Predictor(model, precision="int8")` runs a chain model (embedding, LSTMs, pooling,
head, wide bag) as NumPy steps. Other models (a series model with its preprocessing, its
linear autoregression beside the LSTM and its inverse transform; a model of your own
with branches) are cloned with `keras.models.clone_model`: each LSTM, or Bidirectional
LSTM, becomes a layer that runs the int8 kernels on its input (through NumPy, eagerly),
every other layer is the model's own (sharing its weights, in float32), and the clone is
called eagerly. A recurrent layer the kernels cannot run (a GRU, an LSTM with other
activations, a stateful one, ...) is refused with its name and the reason, and so is a
model without an LSTM.

Example:

    call, names = int8_clone(model)    # names: the layers on the int8 kernels
    probabilities = call(x)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_lstm_opt.models.predictor_numpy import NUMPY_STEPS, fused_reason

_RECURRENT = (keras.layers.RNN, keras.layers.Bidirectional)


class Int8Unsupported(Exception):
    """A layer the int8 clone cannot run (the message names it and says why)."""


class _NumpyStepLayer(keras.layers.Layer):
    """A layer computed by a NumPy step (eagerly), shaped and masked as `original`."""

    def __init__(self, original: Any, step: Callable[[Any, Any], tuple[Any, Any]]) -> None:
        super().__init__(name=original.name + "_int8", dtype="float32")
        self.original, self.step = original, step
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        m = None if mask is None else np.asarray(mask, np.float32)
        out, _ = self.step(np.asarray(inputs, np.float32), m)
        return tf.convert_to_tensor(np.ascontiguousarray(out))

    def compute_output_spec(self, inputs: Any, mask: Any = None) -> Any:
        return self.original.compute_output_spec(inputs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return self.original.compute_mask(inputs, mask)


def _replace(layer: Any, names: list[str]) -> Any:
    """clone_model's clone_function: LSTMs on the int8 kernels, other layers kept."""
    if not isinstance(layer, _RECURRENT):
        return layer  # shared, with its weights
    kind = type(layer).__name__
    inner = layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
    why = fused_reason(inner) if isinstance(inner, keras.layers.LSTM) else ""
    if not isinstance(inner, keras.layers.LSTM):
        why = f"layer {layer.name!r} is a {type(inner).__name__}, not an LSTM"
    elif layer.compute_dtype != "float32":
        why = f"layer {layer.name!r} computes in {layer.compute_dtype} (a mixed-precision policy)"
    maker = NUMPY_STEPS.get(kind)
    step = None if why or maker is None else maker(layer, "int8")
    if step is None:
        raise Int8Unsupported(
            why or f"layer {layer.name!r} ({kind}): the fused kernels are not loaded here"
        )
    names.append(layer.name)
    return _NumpyStepLayer(layer, step)


def int8_clone(model: keras.Model) -> tuple[Callable[[Any], Any], list[str]]:
    """The model with its LSTMs on the int8 kernels: (NumPy -> NumPy call, their names).

    Raises:
        Int8Unsupported: a recurrent layer the kernels cannot run, or no LSTM at all.
    """
    names: list[str] = []
    try:
        clone = keras.models.clone_model(model, clone_function=lambda lay: _replace(lay, names))
    except (ValueError, TypeError) as err:  # a subclassed model, a nested one, ...
        raise Int8Unsupported(f"the model cannot be cloned layer by layer: {err}") from None
    if not names:
        raise Int8Unsupported("the model has no LSTM layer to quantise")
    order = [layer.name for layer in model.layers]
    names.sort(key=lambda n: order.index(n) if n in order else len(order))

    def call(x: Any) -> Any:
        out = clone(x, training=False)
        if isinstance(out, (list, tuple)):
            return [np.asarray(o) for o in out]
        if isinstance(out, dict):
            return {k: np.asarray(v) for k, v in out.items()}
        return np.asarray(out)

    return call, names
