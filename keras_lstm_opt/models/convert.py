"""Swap every LSTM layer of a model between keras.layers.LSTM and FastLSTM, losslessly.

Both classes hold the same variables in the same layout, so the converted model has
the original's weights and computes the same outputs. Use it to load a model.keras
written with one class and run it with the other.

Example:

    stock = convert_lstm_layers(keras.models.load_model("run/model.keras"), to="keras")
"""

from __future__ import annotations

import keras

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.models.fast_lstm import FastLSTM


def _target(to: str) -> type[keras.layers.LSTM]:
    if to not in ("fast", "keras"):
        raise UsageError(f"to: expected 'fast' or 'keras', got {to!r}")
    return FastLSTM if to == "fast" else keras.layers.LSTM


def convert_lstm_layers(model: keras.Model, to: str = "fast") -> keras.Model:
    """A clone of `model` whose LSTM layers (also inside Bidirectional) are of class `to`."""
    cls = _target(to)

    def lstm(layer: keras.layers.LSTM) -> keras.layers.LSTM:
        config = layer.get_config()
        if cls is not FastLSTM:
            config.pop("cpu_kernel", None)  # FastLSTM's own argument
        return cls.from_config(config)

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, keras.layers.Bidirectional):
            return keras.layers.Bidirectional(
                lstm(layer.forward_layer),
                merge_mode=layer.merge_mode,
                backward_layer=lstm(layer.backward_layer),
                name=layer.name,
            )
        if isinstance(layer, keras.layers.LSTM):
            return lstm(layer)
        return layer.__class__.from_config(layer.get_config())

    converted = keras.models.clone_model(model, clone_function=clone)
    converted.set_weights(model.get_weights())
    return converted
