"""RowEmbedding: Keras's Embedding with a row-wise lookup, so that a table LazyAdam
updates (scatter ops: copy-on-read mode) is not copied whole at every step."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_lstm_opt.models.row_embedding import RowEmbedding
from keras_lstm_opt.models.wide import NgramBag


def _ops(fn, *args) -> set[str]:
    graph = tf.function(fn).get_concrete_function(*args).graph
    return {op.type for op in graph.get_operations()}


def test_same_values_gradient_and_mask_as_keras_embedding() -> None:
    ids = np.array([[3, 1, 0], [4, 4, 2]])
    ours = RowEmbedding(6, 4, mask_zero=True)
    keras_layer = keras.layers.Embedding(6, 4, mask_zero=True)
    ours.build((None, None))
    keras_layer.build((None, None))
    keras_layer.set_weights(ours.get_weights())
    np.testing.assert_array_equal(ours(ids), keras_layer(ids))
    np.testing.assert_array_equal(ours.compute_mask(ids), keras_layer.compute_mask(ids))
    with tf.GradientTape(persistent=True) as tape:
        a, b = tf.reduce_sum(ours(ids) ** 2), tf.reduce_sum(keras_layer(ids) ** 2)
    ga, gb = (
        tape.gradient(a, ours.trainable_variables[0]),
        tape.gradient(b, keras_layer.trainable_variables[0]),
    )
    assert isinstance(ga, tf.IndexedSlices)  # row-sparse, as Keras's
    np.testing.assert_allclose(tf.convert_to_tensor(ga), tf.convert_to_tensor(gb))
    np.testing.assert_array_equal(ours(tf.constant(ids, tf.float32)), keras_layer(ids))


def test_lookups_read_rows_not_the_table() -> None:
    """The graph gathers from the variable (ResourceGather); Keras's reads it whole."""
    ids = tf.TensorSpec([None, None], tf.int64)
    ours, keras_layer = RowEmbedding(50, 4), keras.layers.Embedding(50, 4)
    ours.build((None, None))
    keras_layer.build((None, None))
    assert "ResourceGather" in _ops(ours, ids)
    assert "ResourceGather" not in _ops(keras_layer, ids)
    bag = NgramBag(50, buckets=64, dim=4)
    bag.build((None, None))
    found = _ops(bag, ids)
    assert "ResourceGather" in found and "ReadVariableOp" not in found


def test_saves_and_loads(tmp_path) -> None:  # noqa: ANN001
    inp = keras.Input((None,), dtype="int64")
    model = keras.Model(
        inp,
        keras.layers.GlobalAveragePooling1D()(
            RowEmbedding(20, 3, mask_zero=True, name="embedding")(inp)
        ),
    )
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer("embedding")).__name__ == "RowEmbedding"
    x = np.array([[1, 2, 0]])
    np.testing.assert_allclose(loaded(x), model(x))
