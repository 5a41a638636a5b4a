"""Raw text to token ids and labels to class ids: the one place this happens.

Import, predict, evaluate and export all go through these functions, so a text is
turned into the same ids everywhere. A data directory written by `data import` keeps
what they need in its schema's `info`: `vocabulary` (Keras TextVectorization's, with
"" = 0 for padding and "[UNK]" = 1 for unknown tokens), `text` (`split`, `standardize`,
`max_length`) and `class_names` (label id i is `class_names[i]`; integer labels are
kept as their strings, "0", "1", ...).

Standardize (`info.text.standardize`), before the split:

* "mark_case_keep_punctuation" (`MARKS`, what `data import` writes for words):
  every punctuation mark or symbol (Unicode P and S) becomes a token of its own, a word
  that starts with a capital letter gets the token "⇧" before it, then everything is
  lower-cased (Unicode). "Hello, World!" -> ⇧ hello , ⇧ world !. A question, a quote,
  a name or an exclamation says a lot about a short text; stripping them loses it.
* "lower_and_strip_punctuation" (`STANDARDIZE`, Keras's; data imported before, and
  character tokens): ASCII lower case, ASCII punctuation removed.

Splits (`info.text.split`):

* "whitespace": words between whitespace. A text in a script written without spaces
  (Chinese, Japanese, Thai, ...) is one token per sentence.
* "character": every character (code point) is a token, spaces included.
* "words+chars": words for scripts written with spaces (Latin, Cyrillic, Greek, Arabic,
  Korean Hangul, ...) and each character of a script written without spaces, with its
  combining marks, its own token: Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar and
  Tibetan (`UNSPACED_SCRIPTS`). "東京に行きました. Tokyo!" -> 東 京 に 行 き ま し た
  tokyo. Every Unicode space (U+3000 too) separates. One RE2 regex_replace before the
  whitespace split (`split_words_chars`): TensorFlow ops only, so it runs inside the
  exported SavedModel as it runs at import and predict.

Pieces (`info.text.pieces` = n, `keras_lstm_opt.data.pieces`): a word outside the
vocabulary is written as its n-character pieces ("любовью" -> "люб#", "#овь", "#ю"),
which the vocabulary holds after the words, instead of one [UNK].

Ids are truncated to `max_length`; a text with no token at all (e.g. "!!!") becomes the
single id 1, as stored in the shards.

Example:

    info = read_schema("data/")["info"]
    ids = encode_texts(info, ["A large cat.", "a small dog"])    # int64 [2, L]
    y = label_ids(info, ["noun.animal"], lambda i: f"row {i}")   # int64 [1]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from keras_lstm_opt.errors import DataError

WORDS_CHARS = "words+chars"
# `tokens` of the import -> the schema's split (`auto` is decided by the import)
SPLITS = {
    "word": "whitespace",
    "whitespace": "whitespace",
    "character": "character",
    WORDS_CHARS: WORDS_CHARS,
}
TOKENS = ("auto", "word", "character", WORDS_CHARS)
STANDARDIZE = "lower_and_strip_punctuation"
MARKS = "mark_case_keep_punctuation"
CASE_MARK = "\u21e7"  # ⇧, the token before a word that starts with a capital letter
STANDARDIZES = (STANDARDIZE, MARKS)
# what `mark_case_keep_punctuation` pads with spaces, then what it marks (RE2 syntax)
PUNCTUATION_PATTERN = r"([\p{P}\p{S}])"
CAPITAL_PATTERN = r"(^|\s)([\p{Lu}\p{Lt}])"
UNSPACED_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan")
# one character of a script written without spaces (RE2 syntax, as TensorFlow's)
UNSPACED = "[" + "".join(rf"\p{{{s}}}" for s in UNSPACED_SCRIPTS) + "]"
# what `split_words_chars` replaces by " \1 ": such a character with its combining
# marks (group 1), or a Unicode space (Zs) other than ASCII's, or the zero-width space
# Thai and Khmer texts use between words (group 1 empty)
SPLIT_PATTERN = (
    rf"({UNSPACED}\p{{M}}*)|"
    r"[\x{00A0}\x{1680}\x{2000}-\x{200B}\x{202F}\x{205F}\x{3000}]"
)
_INT = re.compile(r"[+-]?\d+")
_cache: dict[tuple[Any, ...], Any] = {}  # (split, ..., vocabulary's hash) -> encoder
_fast: dict[tuple[Any, ...], tuple[list[Any], Any]] = {}  # (id(vocabulary), ...) -> same


def mark_case_keep_punctuation(strings: Any) -> Any:
    """[B] strings -> [B] strings: the "mark_case_keep_punctuation" standardize (see the
    module docstring). TensorFlow ops only (RE2), so it runs inside a SavedModel.

    Example:

        mark_case_keep_punctuation(tf.constant(["Hi, Bob!"]))  # [b"\xe2\x87\xa7 hi ,  ..."]
    """
    import tensorflow as tf

    spaced = tf.strings.regex_replace(strings, PUNCTUATION_PATTERN, r" \1 ")
    marked = tf.strings.regex_replace(spaced, CAPITAL_PATTERN, rf"\1{CASE_MARK} \2")
    return tf.strings.lower(marked, encoding="utf-8")


def keras_standardize(standardize: str) -> Any:
    """The schema's standardize as TextVectorization's `standardize` argument.

    Raises:
        DataError: a standardize this version does not know (a newer package wrote it).
    """
    if standardize == MARKS:
        return mark_case_keep_punctuation
    if standardize in (STANDARDIZE, "lower", None):
        return standardize
    raise DataError(
        f"schema info.text.standardize: {standardize!r} is not one of "
        f"{', '.join(STANDARDIZES)}; was the data imported by a newer "
        "keras-lstm-opt?"
    )


def split_words_chars(strings: Any) -> Any:
    """[B] standardized strings -> tf.RaggedTensor [B, None] of tokens: the
    "words+chars" split (see the module docstring).

    Example:

        split_words_chars(tf.constant(["日本語 ok"]))   # [[b"日", b"本", b"語", b"ok"]]
    """
    import tensorflow as tf

    return tf.strings.split(tf.strings.regex_replace(strings, SPLIT_PATTERN, r" \1 "))


def keras_split(split: str) -> Any:
    """The schema's split as TextVectorization's `split` argument ("whitespace",
    "character" or `split_words_chars`).

    Raises:
        DataError: a split this version does not know (a newer package wrote the data).
    """
    name = SPLITS.get(split)
    if name is None:
        raise DataError(
            f"schema info.text.split: {split!r} is not one of "
            f"{', '.join(sorted(set(SPLITS.values())))}; was the data imported "
            "by a newer keras-lstm-opt?"
        )
    return split_words_chars if name == WORDS_CHARS else name


def make_vectorizer(info: dict[str, Any]) -> Any:
    """A Keras TextVectorization layer with the schema's vocabulary, split and standardize.

    Args:
        info: a schema's `info` (needs `vocabulary`; `text.split` and
            `text.standardize` default to whitespace and lower_and_strip_punctuation).

    Returns:
        A `keras.layers.TextVectorization` (with `text.pieces`: a layer that writes
        words outside the vocabulary as pieces, `data.pieces`) giving ragged int64 ids
        (usable inside a tf.function, e.g. a SavedModel's serving signature).

    Example:

        ids = make_vectorizer(info)(tf.constant(["a large cat"]))   # ragged int64
    """
    import keras

    vocabulary = info.get("vocabulary")
    if not isinstance(vocabulary, list) or len(vocabulary) < 2:
        raise DataError(
            "the schema's info has no text vocabulary; import the text with "
            "`keras-lstm-opt data import` (or keras_lstm_opt.import_data)"
        )
    text = info.get("text") or {}
    if int(text.get("pieces") or 0) > 0:
        from keras_lstm_opt.data.pieces import make_piece_vectorizer

        tokenize = make_tokenizer(
            str(text.get("split", "whitespace")), text.get("standardize", STANDARDIZE)
        )
        return make_piece_vectorizer([str(v) for v in vocabulary], int(text["pieces"]), tokenize)
    return keras.layers.TextVectorization(
        standardize=keras_standardize(text.get("standardize", STANDARDIZE)),
        split=keras_split(text.get("split", "whitespace")),
        vocabulary=[str(v) for v in vocabulary],
        ragged=True,
    )


def make_tokenizer(split: str, standardize: str = STANDARDIZE) -> Callable[[Any], Any]:
    """[B] strings -> tf.RaggedTensor of token strings, exactly as the vectoriser splits.

    Used to count tokens before a vocabulary exists.

    Args:
        split: a split ("whitespace", "character", "words+chars") or an import's
            `tokens` ("word", "character", "words+chars").
        standardize: as the vectoriser's.

    Example:

        make_tokenizer("words+chars")(tf.constant(["日本 ok"]))  # [[b"日", b"本", b"ok"]]
    """
    import keras

    layer = keras.layers.TextVectorization(
        standardize=keras_standardize(standardize), split=keras_split(split), ragged=True
    )
    preprocess = getattr(layer, "_preprocess", None)
    if preprocess is not None:  # the layer's own standardize + split
        return preprocess
    import tensorflow as tf

    name = SPLITS[split]

    def tokenize(strings: Any) -> Any:  # the same ops, for a Keras without _preprocess
        if standardize == MARKS:
            s = mark_case_keep_punctuation(strings)
        else:
            s = tf.strings.regex_replace(
                tf.strings.lower(strings), r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']', ""
            )
        if name == "character":
            return tf.strings.unicode_split(s, "UTF-8")
        return split_words_chars(s) if name == WORDS_CHARS else tf.strings.split(s)

    return tokenize


def ragged_token_ids(vectorizer: Any, strings: Any, max_length: int) -> Any:
    """[B] strings -> tf.RaggedTensor int64 [B, 1..max_length]: the ids as stored.

    Rows with no token get the single id 1 (out of vocabulary).
    """
    import tensorflow as tf

    ids = vectorizer(strings)
    if not isinstance(ids, tf.RaggedTensor):
        ids = tf.RaggedTensor.from_tensor(ids, padding=0)
    ids = tf.cast(ids[:, :max_length], tf.int64)
    lengths = ids.row_lengths()
    dense = ids.to_tensor(default_value=0)
    dense = tf.pad(dense, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(dense)[1])]])
    first = tf.where(tf.equal(lengths, 0), tf.ones_like(dense[:, 0]), dense[:, 0])
    dense = tf.concat([first[:, None], dense[:, 1:]], axis=1)
    return tf.RaggedTensor.from_tensor(dense, lengths=tf.maximum(lengths, 1))


def token_ids(vectorizer: Any, strings: Any, max_length: int) -> Any:
    """[B] strings -> int64 [B, <=max_length], zero-padded, as the stored examples.

    TensorFlow ops only, so it traces inside a tf.function (SavedModel export). A row
    with no token gets the single id 1, matching the shards.

    Args:
        vectorizer: from `make_vectorizer(info)`.
        strings: a [B] tf.string tensor (or a list of str).
        max_length: `info["text"]["max_length"]`.
    """
    return ragged_token_ids(vectorizer, strings, max_length).to_tensor(default_value=0)


def _encoder(info: dict[str, Any], max_length: int) -> Any:
    """`token_ids` for the schema's vectoriser as one tf.function ([B] strings in), made
    once per vocabulary: a call costs a graph launch (under 0.5 ms) where the same ops
    run eagerly cost several ms, which is most of a small batch's predict time."""
    import tensorflow as tf

    text = info.get("text") or {}
    vocab = info.get("vocabulary") or []
    fast = (
        id(vocab),
        len(vocab),
        text.get("split"),
        text.get("standardize"),
        text.get("pieces"),
        max_length,
    )
    hit = _fast.get(fast)
    if hit is not None and hit[0] is vocab:  # the same list object: no hashing
        return hit[1]
    key = (*fast[1:], hash(tuple(map(str, vocab))))
    if key not in _cache:
        if len(_cache) >= 4:
            _cache.pop(next(iter(_cache)))
        vectorizer = make_vectorizer(info)
        _cache[key] = tf.function(
            lambda strings: token_ids(vectorizer, strings, max_length),
            input_signature=[tf.TensorSpec([None], tf.string)],
            autograph=False,
        )
    if len(_fast) >= 8:
        _fast.pop(next(iter(_fast)))
    _fast[fast] = (vocab, _cache[key])
    return _cache[key]


def encode_texts(info: dict[str, Any], texts: Sequence[str]) -> np.ndarray:
    """Texts -> int64 [B, L] ids, zero-padded (L <= max_length), as the shards hold them.

    Example:

        encode_texts(info, ["東京の天気", "a large cat"])   # int64 [2, L]
    """
    import tensorflow as tf

    max_length = int((info.get("text") or {}).get("max_length") or 200)
    if not len(texts):
        return np.zeros((0, 1), dtype=np.int64)
    strings = tf.constant([str(t) for t in texts], dtype=tf.string)
    return np.asarray(_encoder(info, max_length)(strings).numpy(), dtype=np.int64)


def label_name(value: Any) -> str:
    """The class name of a label value: integers (7, 7.0, "07") become "7", strings are
    stripped, booleans are "true"/"false"."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    name = str(value).strip()
    return str(int(name)) if _INT.fullmatch(name) else name


def sort_class_names(names: Sequence[str] | set[str]) -> list[str]:
    """Sorted class names: numerically when every name is an integer, else as strings."""
    if names and all(_INT.fullmatch(n) for n in names):
        return sorted(names, key=int)
    return sorted(names)


def label_ids(
    info: dict[str, Any], labels: Sequence[Any], where: Callable[[int], str]
) -> np.ndarray:
    """Labels -> int64 class ids through `info["class_names"]`.

    Args:
        info: a schema's `info` with `class_names`.
        labels: label values (strings, or integers for integer classes).
        where: i -> the place of labels[i] ("val.csv, line 7, column 'label'"), for
            the error message.

    Raises:
        DataError: a label that is not one of the classes, naming `where(i)`.
    """
    names = info.get("class_names")
    if not isinstance(names, list) or not names:
        raise DataError(
            "the schema's info has no class_names; import the data with "
            "`keras-lstm-opt data import`"
        )
    index = {str(n): i for i, n in enumerate(names)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, value in enumerate(labels):
        found = index.get(label_name(value))
        if found is None:
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            raise DataError(
                f"{where(i)}: label {label_name(value)!r} is not one of the "
                f"{len(names)} training classes ({shown})"
            )
        out[i] = found
    return out
