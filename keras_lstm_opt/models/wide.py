"""The wide path: a fastText-style bag of token n-grams beside the LSTM.

On short texts and small corpora a linear model over word n-grams (TF-IDF + logistic
regression, fastText) is hard to beat: it sees which words and word pairs occur, at
any distance from the end, after one pass. An LSTM learns the same evidence slowly and
forgets some of it. `NgramBag` gives the model that evidence directly: every token id
and every hashed n-gram of consecutive ids (2..`ngrams`) looks up a `dim`-wide vector,
and the masked mean of them is the text's bag vector, which the head reads beside the
LSTM's pooled output (a linear head on both = the sum of two linear heads, as in Wide &
Deep). For text split into characters (unspaced scripts) the n-grams are character
n-grams.

Everything is computed from the token ids inside the graph, so the exported SavedModel
(raw strings in) and `predict` need nothing more than the vocabulary they already carry.
The n-gram hash is integer arithmetic modulo `buckets`: the same on every machine.

Example:

    ids = keras.Input((None,), dtype="int64")
    bag = NgramBag(vocab_size=20000, buckets=131072, dim=32)(ids)   # [B, 32]
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

PRIME = 1_000_003  # odd, > any vocabulary: (a * PRIME + b) differs for every pair of ids


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class NgramBag(keras.layers.Layer):
    """Token ids `[B, T]` (0 = padding) -> the mean of their n-gram embeddings `[B, dim]`.

    Args:
        vocab_size: ids are in [0, vocab_size); id 0 is padding and counts for nothing.
        buckets: hashed n-gram slots (n >= 2); more slots, fewer collisions, more weights.
        dim: the width of each embedding.
        ngrams: the longest n-gram (1 = the token ids alone).
        **kwargs: those of `keras.layers.Layer` (name, dtype, ...).

    Example:

        bag = NgramBag(100, buckets=1024, dim=8, ngrams=2)
        bag(np.array([[5, 7, 9, 0]])).shape   # (1, 8)
    """

    def __init__(self, vocab_size: int, buckets: int = 131072, dim: int = 32,
                 ngrams: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if vocab_size < 2 or buckets < 1 or dim < 1 or ngrams < 1:
            raise ValueError(f"NgramBag: vocab_size >= 2, buckets, dim and ngrams >= 1; got "
                             f"{vocab_size}, {buckets}, {dim}, {ngrams}")
        self.vocab_size, self.buckets = int(vocab_size), int(buckets)
        self.dim, self.ngrams = int(dim), int(ngrams)
        self.table = keras.layers.Embedding(self.vocab_size + self.buckets, self.dim,
                                            embeddings_initializer="uniform",
                                            dtype=self.dtype_policy, name="table")

    def build(self, input_shape: Any) -> None:
        self.table.build((None, None))

    def slots(self, ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(slot ids [B, N], weights [B, N]): each token and hashed n-gram, 1.0 where real."""
        ids = tf.cast(ids, tf.int64)
        real = tf.cast(ids > 0, tf.float32)
        slots, weights = [ids], [real]
        h, w = ids, real
        for n in range(2, self.ngrams + 1):
            h = tf.math.floormod(h[:, :-1] * PRIME + ids[:, n - 1:], self.buckets)
            w = w[:, :-1] * real[:, n - 1:]
            slots.append(self.vocab_size + h)
            weights.append(w)
        return tf.concat(slots, axis=1), tf.concat(weights, axis=1)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        slots, weights = self.slots(inputs)
        vectors = self.table(slots)
        weights = tf.cast(weights, vectors.dtype)[:, :, None]
        total = tf.reduce_sum(vectors * weights, axis=1)
        return total / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, int]:
        return (input_shape[0], self.dim)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(vocab_size=self.vocab_size, buckets=self.buckets, dim=self.dim,
                      ngrams=self.ngrams)
        return config
