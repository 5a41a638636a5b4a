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

Subwords (`subwords` > 0, as fastText): given the vocabulary at construction, every
word's character n-grams of `<word>` (`minn`..`maxn` characters, `<` and `>` mark its
ends) are hashed (FNV-1a of the UTF-8 bytes, modulo `subwords`) into a table of slot ids
`[vocab_size, width]` (-1 = none), kept as a non-trainable int32 weight: a saved
`model.keras` carries it, so loading needs only the sizes in the layer's config, never the
vocabulary. The layer then returns a second bag beside the first, `[B, 2 * dim]`: the mean
of the n-gram vectors of every token of the text (a fastText / char TF-IDF-like view:
words spelled alike share evidence). Measured on the dev corpora, two bags beat folding
each word's n-grams into its own vector (fastText's word vector), which gained nothing.

Everything is computed from the token ids inside the graph, so the exported SavedModel
(raw strings in) and `predict` need nothing more than the vocabulary they already carry.
The n-gram hash is integer arithmetic modulo `buckets`: the same on every machine.

Example:

    ids = keras.Input((None,), dtype="int64")
    bag = NgramBag(vocab_size=20000, buckets=131072, dim=32)(ids)   # [B, 32]
    words = NgramBag(len(vocab), subwords=65536, vocabulary=vocab)(ids)  # + subwords
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_lstm_opt.models.row_embedding import gather_rows

PRIME = 1_000_003  # odd, > any vocabulary: (a * PRIME + b) differs for every pair of ids
FNV_OFFSET, FNV_PRIME = 2166136261, 16777619  # 32-bit FNV-1a, as fastText hashes n-grams
MAX_WIDTH = 64  # the most n-grams kept per word (the first ones, shortest n first)
RESERVED = ("", "[UNK]")  # padding and unknown words: no subwords


def fnv1a(text: str) -> int:
    """The 32-bit FNV-1a hash of `text`'s UTF-8 bytes: the same on every machine.

    Example:

        fnv1a("<a") == 0x68F6DC6E   # True
    """
    h = FNV_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return h


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """The character n-grams of `<word>`, n = minn..maxn, shortest first.

    Example:

        char_ngrams("ab", 2, 3)   # ['<a', 'ab', 'b>', '<ab', 'ab>']
    """
    marked = f"<{word}>"
    return [marked[i : i + n] for n in range(minn, maxn + 1) for i in range(len(marked) - n + 1)]


def _word_grams(word: str, minn: int, maxn: int, width: int) -> list[str]:
    """The n-grams the subword bag reads for `word` (none for padding and [UNK])."""
    return [] if word in RESERVED else char_ngrams(word, minn, maxn)[:width]


def distinct_subwords(
    vocabulary: Sequence[str], minn: int, maxn: int, width: int = MAX_WIDTH
) -> int:
    """How many distinct character n-grams `subword_table` hashes for `vocabulary`
    (what `train.auto` sizes the subword table by).

    Example:

        distinct_subwords(["", "[UNK]", "ab", "abc"], 2, 3)   # 9: <a ab b> <ab ab> bc c> abc bc>
    """
    return len({g for word in vocabulary for g in _word_grams(word, minn, maxn, width)})


def subword_table(
    vocabulary: Sequence[str], buckets: int, minn: int, maxn: int, width: int = MAX_WIDTH
) -> np.ndarray:
    """Slot ids `[len(vocabulary), K]` (int32; -1 = none) of every word's hashed n-grams.

    K is the most n-grams a word has, at most `width`; "" and "[UNK]" have none.

    Example:

        subword_table(["", "[UNK]", "ab"], 8, 2, 3)   # rows 0, 1: all -1
    """
    slot: dict[str, int] = {}  # each distinct n-gram hashed once

    def hashed(gram: str) -> int:
        if gram not in slot:
            slot[gram] = fnv1a(gram) % buckets
        return slot[gram]

    rows = [[hashed(g) for g in _word_grams(word, minn, maxn, width)] for word in vocabulary]
    table = np.full((len(rows), max(1, max(map(len, rows), default=1))), -1, np.int32)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table


@keras.saving.register_keras_serializable(package="keras_lstm_opt")
class NgramBag(keras.layers.Layer):
    """Token ids `[B, T]` (0 = padding) -> the mean of their n-gram embeddings `[B, dim]`
    (with subwords: and the mean of their character n-grams' embeddings, `[B, 2 * dim]`).

    Args:
        vocab_size: ids are in [0, vocab_size); id 0 is padding and counts for nothing.
        buckets: hashed n-gram slots (n >= 2); more slots, fewer collisions, more weights.
        dim: the width of each embedding.
        ngrams: the longest n-gram (1 = the token ids alone).
        subwords: hashed character n-gram slots (0 = no subwords).
        minn: the shortest character n-gram (with the `<`, `>` end marks).
        maxn: the longest character n-gram.
        vocabulary: the words of ids 0..vocab_size-1, to compute the subword table from;
            not kept in the config (the table is a weight).
        subword_width: the subword table's width (set from `vocabulary`; a saved layer's
            config carries it so that loading builds the same weight).
        **kwargs: those of `keras.layers.Layer` (name, dtype, ...).

    Example:

        bag = NgramBag(100, buckets=1024, dim=8, ngrams=2)
        bag(np.array([[5, 7, 9, 0]])).shape   # (1, 8)
    """

    def __init__(
        self,
        vocab_size: int,
        buckets: int = 131072,
        dim: int = 32,
        ngrams: int = 2,
        subwords: int = 0,
        minn: int = 2,
        maxn: int = 5,
        vocabulary: Sequence[str] | None = None,
        subword_width: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if vocab_size < 2 or buckets < 1 or dim < 1 or ngrams < 1 or subwords < 0:
            raise ValueError(
                f"NgramBag: vocab_size >= 2, buckets, dim and ngrams >= 1, "
                f"subwords >= 0; got {vocab_size}, {buckets}, {dim}, {ngrams}, "
                f"{subwords}"
            )
        if subwords and not 1 <= minn <= maxn:
            raise ValueError(f"NgramBag: subwords need 1 <= minn <= maxn; got {minn}, {maxn}")
        self.vocab_size, self.buckets = int(vocab_size), int(buckets)
        self.dim, self.ngrams = int(dim), int(ngrams)
        self.subwords, self.minn, self.maxn = int(subwords), int(minn), int(maxn)
        self._subword_values: np.ndarray | None = None
        if self.subwords and vocabulary is not None:
            if len(vocabulary) != self.vocab_size:
                raise ValueError(
                    f"NgramBag: {len(vocabulary)} words for vocab_size {self.vocab_size}"
                )
            self._subword_values = subword_table(vocabulary, self.subwords, minn, maxn)
            subword_width = self._subword_values.shape[1]
        elif self.subwords and subword_width < 1:
            raise ValueError("NgramBag: subwords need the vocabulary (or, loading, subword_width)")
        self.subword_width = int(subword_width) if self.subwords else 0
        self.table = keras.layers.Embedding(
            self.vocab_size + self.buckets + self.subwords,
            self.dim,
            embeddings_initializer="uniform",
            dtype=self.dtype_policy,
            name="table",
        )

    def build(self, input_shape: Any) -> None:
        self.table.build((None, None))
        if self.subwords:
            self.subword_ids = self.add_weight(
                shape=(self.vocab_size, self.subword_width),
                dtype="int32",
                initializer=keras.initializers.Constant(-1),
                trainable=False,
                name="subword_ids",
            )
            if self._subword_values is not None:
                self.subword_ids.assign(self._subword_values)
                self._subword_values = None

    def slots(self, ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(slot ids [B, N], weights [B, N]): each token and hashed n-gram, 1.0 where real."""
        ids = tf.cast(ids, tf.int64)
        real = tf.cast(ids > 0, tf.float32)
        slots, weights = [ids], [real]
        h, w = ids, real
        for n in range(2, self.ngrams + 1):
            h = tf.math.floormod(h[:, :-1] * PRIME + ids[:, n - 1 :], self.buckets)
            w = w[:, :-1] * real[:, n - 1 :]
            slots.append(self.vocab_size + h)
            weights.append(w)
        return tf.concat(slots, axis=1), tf.concat(weights, axis=1)

    def bag(
        self, ids: tf.Tensor, gather: Callable[[tf.Tensor], tf.Tensor], subword_ids: Any = None
    ) -> tf.Tensor:
        """The bag vectors `[B, dim]` (`[B, 2 * dim]` with subwords) of `ids`, reading
        embeddings through `gather` (slot ids -> vectors) and the subword table
        `subword_ids` (the layer's weight, or a snapshot of it: the predictor's eager
        step computes the same math)."""
        slots, weights = self.slots(ids)
        vectors = gather(slots)
        weights = tf.cast(weights, vectors.dtype)[:, :, None]
        bag = tf.reduce_sum(vectors * weights, axis=1)
        bag /= tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
        if not self.subwords:
            return bag
        sums, count = self._subword_sums(ids, gather, subword_ids)
        real = weights[:, : tf.shape(ids)[1]]  # the tokens' weights: 0 for padding
        grams = tf.reduce_sum(sums * real, axis=1)
        grams /= tf.maximum(tf.reduce_sum(count * real, axis=1), 1.0)
        return tf.concat([bag, grams], axis=1)

    def _subword_sums(
        self, ids: tf.Tensor, gather: Callable[[tf.Tensor], tf.Tensor], subword_ids: Any
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Per token: the sum of its n-grams' vectors `[B, T, dim]` and their count
        `[B, T, 1]`, gathered once per distinct id of the batch."""
        ids = tf.cast(ids, tf.int64)
        unique, where = tf.unique(tf.reshape(ids, [-1]))
        sub = tf.gather(subword_ids, unique)  # [U, K], -1 = none
        real = tf.where(sub >= 0)  # [M, 2]: (word, n-gram) of each real n-gram
        offset = self.vocab_size + self.buckets
        vectors = gather(offset + tf.cast(tf.gather_nd(sub, real), tf.int64))  # [M, dim]
        n = tf.shape(unique, out_type=tf.int64)[0]
        sums = tf.math.unsorted_segment_sum(vectors, real[:, 0], n)  # [U, dim]
        count = tf.cast(tf.reduce_sum(tf.cast(sub >= 0, tf.int32), axis=1), vectors.dtype)
        shape = tf.shape(ids)
        return (
            tf.reshape(tf.gather(sums, where), tf.concat([shape, [self.dim]], axis=0)),
            tf.reshape(tf.gather(count, where), tf.concat([shape, [1]], axis=0)),
        )

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        def rows(slots: tf.Tensor) -> tf.Tensor:  # no copy of the table (row_embedding.py)
            return keras.ops.cast(
                gather_rows(self.table.embeddings, slots), self.table.compute_dtype
            )

        return self.bag(inputs, rows, getattr(self, "subword_ids", None))

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, int]:
        return (input_shape[0], self.dim * (2 if self.subwords else 1))

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            vocab_size=self.vocab_size, buckets=self.buckets, dim=self.dim, ngrams=self.ngrams
        )
        if self.subwords:
            config.update(
                subwords=self.subwords,
                minn=self.minn,
                maxn=self.maxn,
                subword_width=self.subword_width,
            )
        return config
