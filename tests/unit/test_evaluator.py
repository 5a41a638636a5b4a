"""The validation pass: traced once for batches of several lengths (bucketed text), and
the same sums as Keras's `evaluate`."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_lstm_opt.training.steps import make_evaluator


class Counted(keras.Model):
    """A model whose Python `call` counts how often TensorFlow traced it."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = keras.layers.Embedding(50, 4)
        self.head = keras.layers.Dense(3, activation="softmax")
        self.traces = 0

    def call(self, x, training=False):  # noqa: ANN001, ANN201
        self.traces += 1
        return self.head(keras.ops.mean(self.embed(x), axis=1))


def _batches(lengths: list[int], weights: bool = False) -> tf.data.Dataset:
    rng = np.random.default_rng(0)
    parts = []
    for n in lengths:  # one batch per length, as bucketed validation batches are
        x = rng.integers(1, 50, size=(8, n)).astype("int64")
        y = rng.integers(0, 3, size=(8,)).astype("int64")
        parts.append((x, y, np.full(8, 2.0, "float32")) if weights else (x, y))
    first = tf.data.Dataset.from_tensors(parts[0])
    for p in parts[1:]:
        first = first.concatenate(tf.data.Dataset.from_tensors(p))
    return first


@pytest.mark.parametrize("weights", [False, True])
def test_batches_of_several_lengths_trace_the_pass_once(weights):
    model = Counted()
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    data = _batches([5, 9, 13, 7], weights)
    model.predict(next(iter(data))[0], verbose=0)  # built
    model.traces = 0
    evaluate = make_evaluator(
        model,
        keras.losses.SparseCategoricalCrossentropy(reduction=None),
        [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    first, again = evaluate(data), evaluate(data)
    assert model.traces == 1 and first == again
    want = model.evaluate(data, verbose=0, return_dict=True)
    assert first["accuracy"] == pytest.approx(want["accuracy"])
    assert first["loss"] == pytest.approx(want["loss"], rel=1e-5)
