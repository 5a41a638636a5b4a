"""An Embedding whose lookup reads only the rows it needs: the table a row-sparse
optimizer updates.

`LazyAdam` (`training/sparse.py`) updates an embedding table's rows with TensorFlow's
scatter ops. A scatter puts the variable in copy-on-read mode, and from then on every
dense read of it copies the whole table: Keras's `Embedding` looks rows up with
`ops.take(variable, ids)`, a dense read and a gather, so each training step copies each
table (and the copy is what the gather reads). A gather on the variable itself
(`ResourceGather`) reads only the rows: a third of a short-text step with the wide path's
table (docs/measurements.md, real text, has the measurement). The values, gradients
(row-sparse) and saved weights are those of `keras.layers.Embedding`; a LoRA-enabled or
quantized layer, or sparse or ragged ids, take Keras's own path. A model of your own
trained with `LazyAdam` wants this layer in place of `keras.layers.Embedding`.

Example:

    x = RowEmbedding(20000, 64, mask_zero=True, name="embedding")(ids)
"""

from __future__ import annotations

from typing import Any

import keras


def gather_rows(variable: Any, ids: Any) -> Any:
    """`variable[ids]` read as rows (TensorFlow's ResourceGather, no copy of the table).

    Args:
        variable: a Keras variable (TensorFlow backend) or a tf.Variable.
        ids: int32 or int64 ids, any shape.

    Example:

        vectors = gather_rows(layer.embeddings, slots)   # [B, N, dim]
    """
    import tensorflow as tf

    return tf.gather(getattr(variable, "value", variable), ids)


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class RowEmbedding(keras.layers.Embedding):
    """`keras.layers.Embedding` with a row-wise lookup (see the module docstring).

    Args: as `keras.layers.Embedding`.
    """

    def call(self, inputs: Any) -> Any:
        import tensorflow as tf

        if (
            getattr(self, "lora_enabled", False)
            or getattr(self, "quantization_mode", None)
            or isinstance(inputs, (tf.SparseTensor, tf.RaggedTensor))
        ):
            return super().call(inputs)
        if inputs.dtype not in (tf.int32, tf.int64):
            inputs = tf.cast(inputs, tf.int32)
        return keras.ops.cast(gather_rows(self.embeddings, inputs), self.compute_dtype)
