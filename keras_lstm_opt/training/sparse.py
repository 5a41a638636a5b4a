"""Row-sparse (lazy) updates for embedding tables.

An Embedding's gradient is a `tf.IndexedSlices`: one row per token occurrence in the
batch. Keras's Adam turns it into a dense matrix and updates every row of the table
(and its two moment slots) at every step; on a 2-core CPU with a 30,000-word, 64-wide
table that is most of a text model's step. The lazy variant updates only the rows the
batch touches, as TF Addons' LazyAdam and PyTorch's SparseAdam do: a row's moments
decay only when its token occurs, and the table's other rows stay as they were.

`unique_rows` first sums repeated rows, so the update, the gradient's norm (clipping)
and a sum over replicas are those of the dense gradient restricted to its non-zero
rows: one device and N replicas take the same step. The scatter updates put a table in
TensorFlow's copy-on-read mode: look it up with `RowEmbedding` (`models/row_embedding.py`),
not `keras.layers.Embedding`, or every step copies the whole table.

Example:

    opt = LazyAdam(learning_rate=3e-3)   # dense variables: exactly keras.optimizers.Adam
    grads = [unique_rows(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]
    opt.apply_gradients(zip(grads, model.trainable_variables))
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def unique_rows(grad: tf.IndexedSlices) -> tf.IndexedSlices:
    """`grad` with each row index once (repeated rows summed): the same dense value."""
    rows, where = tf.unique(tf.cast(grad.indices, tf.int64))
    values = tf.math.unsorted_segment_sum(grad.values, where, tf.size(rows))
    return tf.IndexedSlices(values, rows, grad.dense_shape)


def sparse_or_dense(grad: Any, sparse: bool) -> Any:
    """Keep an IndexedSlices gradient row-sparse (repeated rows summed) where the
    optimizer updates rows lazily; otherwise make it dense."""
    if not isinstance(grad, tf.IndexedSlices):
        return grad
    return unique_rows(grad) if sparse else tf.convert_to_tensor(grad)


class _LazyRows:
    """Adam's update restricted to the rows of a row-sparse gradient."""

    sparse_rows = True  # the training loop keeps embedding gradients row-sparse

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        if not isinstance(gradient, tf.IndexedSlices):
            super().update_step(gradient, variable, learning_rate)  # type: ignore[misc]
            return
        opt: Any = self
        dtype = variable.dtype
        gradient = unique_rows(gradient)
        rows, grad = gradient.indices, tf.cast(gradient.values, dtype)
        lr = tf.cast(learning_rate, dtype)
        step = tf.cast(opt.iterations + 1, dtype)
        b1, b2 = tf.cast(opt.beta_1, dtype), tf.cast(opt.beta_2, dtype)
        alpha = lr * tf.sqrt(1 - tf.pow(b2, step)) / (1 - tf.pow(b1, step))
        index = opt._get_variable_index(variable)
        m, v = opt._momentums[index], opt._velocities[index]
        m_rows = tf.gather(m.value, rows)
        v_rows = tf.gather(v.value, rows)
        m_rows += (grad - m_rows) * (1 - opt.beta_1)  # Python floats, as Keras's Adam
        v_rows += (tf.square(grad) - v_rows) * (1 - opt.beta_2)
        shape = gradient.dense_shape
        opt.assign(m, tf.IndexedSlices(m_rows, rows, shape))
        opt.assign(v, tf.IndexedSlices(v_rows, rows, shape))
        if opt.amsgrad:
            v_hat = opt._velocity_hats[index]
            v_rows = tf.maximum(tf.gather(v_hat.value, rows), v_rows)
            opt.assign(v_hat, tf.IndexedSlices(v_rows, rows, shape))
        step_rows = m_rows * alpha / (tf.sqrt(v_rows) + opt.epsilon)
        opt.assign_sub(variable, tf.IndexedSlices(step_rows, rows, shape))


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class LazyAdam(_LazyRows, keras.optimizers.Adam):
    """Adam that updates only the embedding rows a batch touches (dense variables:
    exactly Adam). Args as `keras.optimizers.Adam`.

    Example:

        model.compile(optimizer=LazyAdam(3e-3), loss="sparse_categorical_crossentropy")
    """


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class LazyAdamW(_LazyRows, keras.optimizers.AdamW):
    """AdamW with lazy embedding rows (weight decay itself stays dense). Args as
    `keras.optimizers.AdamW`."""
