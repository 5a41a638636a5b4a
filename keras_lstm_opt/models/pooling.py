"""Masked pooling over time: the mean and the max of every real step's output, side by side.

The mean keeps what the whole text says; the max keeps the one strong signal a short
phrase gives anywhere in a long text (a keyword the mean dilutes). Keras's
`GlobalMaxPooling1D` ignores the mask, so padded steps could win the max; this layer
takes the max over real steps only.

Example:

    x = keras.layers.LSTM(64, return_sequences=True)(embedded)   # masked [B, T, 64]
    pooled = MaxMeanPooling()(x)                                  # [B, 128]
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class MaxMeanPooling(keras.layers.Layer):
    """`[B, T, C]` with a `[B, T]` mask -> `[B, 2C]`: masked max, then masked mean.

    A row with no real step gives zeros.

    Args:
        **kwargs: those of `keras.layers.Layer` (name, dtype, ...).

    Example:

        MaxMeanPooling()(np.ones((2, 5, 3), "float32")).shape   # (2, 6)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
        if mask is None:
            mask = tf.ones(tf.shape(inputs)[:2], dtype=tf.bool)
        real = tf.cast(mask, inputs.dtype)[:, :, None]
        count = tf.reduce_sum(real, axis=1)
        mean = tf.reduce_sum(inputs * real, axis=1) / tf.maximum(count, 1.0)
        lowest = tf.cast(inputs.dtype.min, inputs.dtype)
        peak = tf.reduce_max(tf.where(real > 0, inputs, lowest), axis=1)
        peak = tf.where(count > 0, peak, tf.zeros_like(peak))
        return tf.concat([peak, mean], axis=-1)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, int]:
        return (input_shape[0], 2 * input_shape[-1])

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None
