"""Word pieces: a word outside the vocabulary becomes its pieces, not one [UNK].

A word seen fewer than twice in the training rows is not in the vocabulary, so every
word the model meets later that it never saw (a name, a code, a rare form) is the same
[UNK]. Character n-grams (TF-IDF's `char_wb`, fastText's subwords) read such words by
their letters. With pieces (`info.text.pieces` = n), a word the vocabulary lacks is
written as its consecutive n-character pieces, the first marked at its end and the
others at their start: n = 1, "Moldova" -> "m#", "#o", "#l", ...; n = 3, "любовью" ->
"люб#", "#овь", "#ю". The vocabulary holds the words seen twice and, after them, the
pieces seen twice (counted over the pieces of every training word longer than n). A piece
holds "#" next to a letter, and the import's standardize makes "#" a token of its own,
so a piece is never a word.

`data import` spells such words letter by letter (n = `SPELL`) where at least
`SPELL_SHARE` of the training tokens are outside the vocabulary: there the unseen words
are much of what a text says. On the development half of the corpus suite (round 2,
docs/measurements.md) ISO names (29% outside) went from 0.696 to 0.772 and passed TF-IDF
on character n-grams (0.762); on the other sixteen (0.7 to 8.3% outside) spelling
changed -1.8 to +2.1 points, and 3-character pieces lost 2.4 and 2.7 points on Russian
fortunes (two runs).

The rewrite is three RE2 replacements and a table lookup, TensorFlow ops only, so the
exported SavedModel does it as the import and predict do. Without pieces (older data
directories, `--pieces 0`, character tokens) nothing changes.

Example:

    pieces_of("любовью", 3)               # ["люб#", "#овь", "#ю"]
    layer = make_vectorizer(info)         # data.text's, for info.text.pieces == 1
    layer(tf.constant(["Moldova"]))       # ragged int64 ids
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

MARK = "#"
SPELL = 1  # the piece length `data import` picks: a word outside the vocabulary, spelled
SPELL_SHARE = 0.15  # ... where at least this share of the training tokens is outside it
MAX_PIECE = 32  # characters a piece at most (`--pieces`)
PIECES_CAP = 20_000  # pieces kept at most (most frequent first), beside the words


def unknown_share(counts: Counter[bytes], words: list[str], dropped: int = 0) -> float:
    """The share of the training tokens (`counts`, and `dropped` tokens seen once that
    counting left out) that the vocabulary `words` lacks.

    Example:
        unknown_share(Counter({b"a": 3, b"b": 1}), ["", "[UNK]", "a"])   # 0.25
    """
    kept = set(words)
    total = sum(counts.values()) + dropped
    missing = dropped + sum(
        c for t, c in counts.items() if t.decode("utf-8", "replace") not in kept
    )
    return missing / total if total else 0.0


def piece_length(given: int | None, tokens: str, unknown: float) -> tuple[int, str]:
    """The piece length `data import` uses (0: none) and why.

    Args:
        given: `--pieces` (None: choose).
        tokens: the import's `--tokens`.
        unknown: the share of the training tokens outside the vocabulary (`unknown_share`).

    Example:
        piece_length(None, "auto", 0.29)   # (1, "auto: 29.0% of the training tokens ...")
    """
    share = f"{unknown:.1%} of the training tokens are outside the vocabulary"
    if given is not None:
        return given, f"given (--pieces {given}); {share}"
    if tokens == "character":
        return 0, "character tokens: every character is in the vocabulary already"
    if unknown >= SPELL_SHARE:
        return SPELL, (
            f"auto: {share} (at least {SPELL_SHARE:.0%}): their spelling is much of what "
            "the texts say (names, codes, rare forms), so each is written letter by letter"
        )
    return 0, f"auto: {share} (under {SPELL_SHARE:.0%}): each is [UNK]"


def pieces_of(word: str, n: int) -> list[str]:
    """`word`'s pieces of `n` characters (code points), as `piece_strings` writes them.

    Example:
        pieces_of("cats", 3)   # ["cat#", "#s"]
    """
    chunks = [word[i : i + n] for i in range(0, len(word), n)] or [""]
    return [chunks[0] + MARK] + [MARK + c for c in chunks[1:]]


def piece_strings(words: Any, n: int) -> Any:
    """[N] tf.string words -> [N] strings of their pieces joined by spaces (TF ops).

    Example:
        piece_strings(tf.constant(["cats"]), 3)   # [b"cat# #s"]
    """
    import tensorflow as tf

    spaced = tf.strings.regex_replace(words, f"(.{{{n}}})", rf"\1 {MARK}")
    spaced = tf.strings.regex_replace(spaced, f" {MARK}$", "")
    return tf.strings.regex_replace(spaced, r"^(\S+)", rf"\1{MARK}")


def choose_pieces(
    counts: Counter[bytes], words: list[str], n: int, min_count: int
) -> tuple[list[str], str, float]:
    """The pieces to add to the vocabulary `words` and why: the pieces of every training
    word longer than `n` characters, weighted by the word's count, kept if seen
    `min_count` times (at most `PIECES_CAP`); and how many times more tokens the training
    rows hold once their unknown words are written as pieces (for the report).

    Args:
        counts: training token counts (UTF-8 bytes -> count).
        words: the chosen word vocabulary ("" and "[UNK]" first).
        n: the piece length.
        min_count: a piece seen fewer times is left to [UNK].
    """
    piece_counts: Counter[str] = Counter()
    kept = set(words)
    unknown = written = 0
    for token, count in counts.items():
        word = token.decode("utf-8", "replace")
        if word not in kept:
            unknown += count
            written += count * -(-len(word) // n)
        if len(word) <= n:  # pieces come from longer words; a short one is a piece itself
            continue
        for piece in pieces_of(word, n):
            piece_counts[piece] += count
    frequent = sorted(
        ((p, c) for p, c in piece_counts.items() if c >= min_count), key=lambda pc: (-pc[1], pc[0])
    )
    chosen = [p for p, _ in frequent[:PIECES_CAP]]
    total = sum(counts.values()) or 1
    expansion = (total - unknown + written) / total
    why = (
        f"{n}-character pieces ({expansion:.2f}x the tokens); {len(chosen):,} pieces seen at "
        f"least {min_count} times kept"
    )
    return chosen, why, expansion


def make_piece_vectorizer(vocabulary: list[str], n: int, tokenize: Callable[[Any], Any]) -> Any:
    """A Keras layer: [B] strings -> ragged int64 ids, words outside `vocabulary` written
    as their `n`-character pieces (see the module docstring).

    Args:
        vocabulary: "" and "[UNK]" first, then the words, then the pieces.
        n: the piece length.
        tokenize: [B] strings -> ragged token strings (the import's standardize and split,
            `text.make_tokenizer`).
    """
    import keras
    import tensorflow as tf

    class PieceVectorizer(keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__(trainable=False)
            self.lookup = keras.layers.StringLookup(
                vocabulary=vocabulary[2:], mask_token="", oov_token="[UNK]"
            )

        def call(self, strings: Any) -> Any:
            tokens = tokenize(tf.convert_to_tensor(strings, tf.string))
            if not isinstance(tokens, tf.RaggedTensor):
                tokens = tf.RaggedTensor.from_tensor(tokens, padding="")
            flat = tokens.flat_values
            unknown = tf.equal(self.lookup(flat), 1)
            written = tf.where(unknown, piece_strings(flat, n), flat)
            joined = tf.strings.reduce_join(tokens.with_flat_values(written), axis=1, separator=" ")
            return self.lookup(tf.strings.split(joined))

    return PieceVectorizer()
