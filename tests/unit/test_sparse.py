"""LazyAdam: embedding rows updated where a batch touches them, against Keras's Adam on
the same gradients; the training loop's row-sparse gradients; saving and loading."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")


def _slices(rows, values, shape=(6, 3)):
    return tf.IndexedSlices(
        tf.constant(values, tf.float32), tf.constant(rows, tf.int64), tf.constant(shape, tf.int64)
    )


def _pair(opt_lazy, opt_dense):
    import keras

    init = np.arange(18, dtype="float32").reshape(6, 3) / 10
    a, b = keras.Variable(init), keras.Variable(init)
    opt_lazy.build([a])
    opt_dense.build([b])
    return a, b


def test_unique_rows_sums_repeats_to_the_dense_value():
    from keras_lstm_opt.training.sparse import unique_rows

    g = _slices([4, 1, 4, 4], [[1, 2, 3], [1, 1, 1], [10, 0, 0], [0, 0, 1]])
    u = unique_rows(g)
    assert sorted(u.indices.numpy().tolist()) == [1, 4]
    np.testing.assert_allclose(tf.convert_to_tensor(u).numpy(), tf.convert_to_tensor(g).numpy())


def test_lazy_adam_matches_adam_on_touched_rows_and_leaves_the_others():
    import keras

    from keras_lstm_opt import LazyAdam

    lazy, dense = LazyAdam(0.1), keras.optimizers.Adam(0.1)
    a, b = _pair(lazy, dense)
    g1 = _slices([0, 2, 2], [[1, 2, 3], [1, 0, 0], [0, 1, 0]])
    lazy.apply_gradients([(g1, a)])
    dense.apply_gradients([(tf.convert_to_tensor(g1), b)])
    # first step: Adam's untouched rows have zero moments and move by nothing either
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-7)
    before = a.numpy().copy()
    g2 = _slices([2], [[0.5, -0.5, 1]])
    lazy.apply_gradients([(g2, a)])
    dense.apply_gradients([(tf.convert_to_tensor(g2), b)])
    # row 0 keeps its place under lazy updates; Adam moves it by its decaying momentum
    np.testing.assert_array_equal(a.numpy()[0], before[0])
    assert np.abs(b.numpy()[0] - before[0]).max() > 1e-3
    # row 2, touched at both steps, gets exactly Adam's update; rows never touched stay
    np.testing.assert_allclose(a.numpy()[2], b.numpy()[2], atol=1e-6)
    np.testing.assert_array_equal(a.numpy()[[1, 3, 4, 5]], before[[1, 3, 4, 5]])


def test_lazy_adam_on_dense_variables_is_adam_and_round_trips_its_config():
    import keras

    from keras_lstm_opt import LazyAdam

    lazy, dense = LazyAdam(0.05, amsgrad=True), keras.optimizers.Adam(0.05, amsgrad=True)
    a, b = _pair(lazy, dense)
    for step in range(3):
        g = tf.constant(np.full((6, 3), step - 1.0, "float32"))
        lazy.apply_gradients([(g, a)])
        dense.apply_gradients([(g, b)])
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-7)
    copy = keras.optimizers.deserialize(keras.optimizers.serialize(lazy))
    assert type(copy) is LazyAdam and copy.get_config() == lazy.get_config()


def test_the_loop_keeps_embedding_gradients_sparse_for_lazy_adam_only():
    import keras

    import keras_lstm_opt as klo
    from keras_lstm_opt.training.steps import TrainStep, resolve_loss, resolve_metrics

    def model(opt):
        m = keras.Sequential(
            [
                keras.Input((5,), dtype="int32"),
                keras.layers.Embedding(50, 4),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(2, activation="softmax"),
            ]
        )
        m.compile(optimizer=opt)
        return m

    loss = resolve_loss("sparse_categorical_crossentropy")
    strategy = tf.distribute.get_strategy()
    for opt, sparse in ((klo.LazyAdam(), True), (keras.optimizers.Adam(), False)):
        m = model(opt)
        step = TrainStep(
            m, strategy, loss, resolve_metrics([], loss, m), klo.LoopOptions(global_clipnorm=1.0)
        )
        assert step.sparse is sparse
        x = np.array([[1, 2, 3, 0, 0]] * 4, "int32")
        before = m.layers[0].embeddings.numpy().copy()
        step.batch_step((tf.TensorSpec([None, 5], tf.int32), tf.TensorSpec([None], tf.int64)))(
            tf.constant(x), tf.constant([0, 1, 0, 1], tf.int64)
        )
        moved = np.abs(m.layers[0].embeddings.numpy() - before).max(axis=1) > 0
        # lazy: only the rows of tokens 0-3 move; Adam's first step moves no other row either
        assert moved[:4].all() and not moved[4:].any()
