"""What a text import chooses from pass 1's counts, and why: the split, the vocabulary
and `max_length` (`import_text` reports each with its reason).

The split. `tokens="auto"` (the default) counts with "words+chars" (see `text.py`) and
keeps it when the vocabulary holds characters of a script written without spaces (Han,
Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan); otherwise it stores
"whitespace", which splits every training text the same way except those with rare such
characters ([UNK] either way) and saves predict and the export a regex per text. A
forced `tokens="word"` on texts with long runs of such characters (one text in ten or
more holding a token of over `RUN` of them) is imported as asked, with a warning: each
run is one token, mostly [UNK].

Caps. Words and "words+chars" keep at most 20,000 tokens (the characters in everyday
Chinese or Japanese text number 3,000 to 5,000, so a mixed corpus still keeps its
frequent words), characters 1,000. `max_length` is the 95th percentile of the training
texts' lengths, capped at 500 words, 1,000 "words+chars" tokens (a CJK sentence has
1.5 to 3 characters per English word it translates, so a long text still fits: the LSTM
costs time in proportion to it) or 2,000 characters.

Pairs. Pass 2 also counts the distinct pairs of consecutive token ids in the training
rows (`DistinctPairs`, up to `PAIRS_COUNTED`): `train.auto` sizes the wide path's hashed
table by it (`info.text.pairs`).

Example:

    counts = ScriptCounts(); counts.add(uniq, n, idx, rows)   # per batch of pass 1
    vocab, why = choose_vocabulary(token_counts, "words+chars", None, False)
    split, why, warning = choose_split("auto", vocab, counts)
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from keras_lstm_opt.data.text import SPLITS, UNSPACED, UNSPACED_SCRIPTS, WORDS_CHARS

VOCAB_CAP = {"word": 20000, WORDS_CHARS: 20000, "character": 1000}
LENGTH_CAP = {"word": 500, WORDS_CHARS: 1000, "character": 2000}
MIN_COUNT = 2  # a token seen once is left to [UNK]
MAX_DISTINCT = 2_000_000  # tokens counted at once; tokens seen once are dropped beyond it
RUN = 4  # a token of more than RUN unspaced-script characters is a sentence, not a word
RUN_SHARE = 0.1  # of the training texts: warn when `tokens="word"` leaves that many such
KINDS = {"word": "words", WORDS_CHARS: "tokens", "character": "characters"}
PAIRS_COUNTED = 1 << 17  # distinct token pairs counted; past it the count stays there
_NOT_UNSPACED = "[^" + UNSPACED[1:]
_LONG_RUN = f".*{UNSPACED}{{{RUN + 1},}}.*"


def cap_kind(tokens: str) -> str:
    """The key of VOCAB_CAP / LENGTH_CAP / KINDS for an import's `tokens`."""
    split = SPLITS.get(tokens, WORDS_CHARS)  # auto counts with words+chars
    return "word" if split == "whitespace" else split


class ScriptCounts:
    """Pass 1's count of characters in scripts written without spaces, over the
    training tokens, and of texts holding a run of more than RUN of them in one token."""

    def __init__(self) -> None:
        self.chars = self.unspaced = self.texts = self.long_texts = 0
        self.example = ""

    def add(self, uniq: Any, n: Any, idx: Any, rows: Any) -> None:
        """One batch: its distinct tokens `uniq` seen `n` times, `idx` (each token's
        index in `uniq`, from tf.unique_with_counts) and the ragged tokens `rows`."""
        import tensorflow as tf

        n = tf.cast(n, tf.int64)
        length = tf.cast(tf.strings.length(uniq, unit="UTF8_CHAR"), tf.int64)
        kept = tf.strings.regex_replace(uniq, _NOT_UNSPACED, "")
        self.chars += int(tf.reduce_sum(length * n))
        self.unspaced += int(
            tf.reduce_sum(tf.cast(tf.strings.length(kept, unit="UTF8_CHAR"), tf.int64) * n)
        )
        self.texts += int(rows.nrows())
        if not int(tf.reduce_sum(tf.strings.length(kept))):
            return
        long = tf.strings.regex_full_match(uniq, _LONG_RUN)
        self.long_texts += int(
            tf.reduce_sum(
                tf.cast(
                    tf.reduce_any(rows.with_flat_values(tf.gather(long, idx)), axis=1), tf.int64
                )
            )
        )
        if not self.example and bool(tf.reduce_any(long)):
            first = uniq[int(tf.argmax(tf.cast(long, tf.int32)))].numpy()
            self.example = first.decode("utf-8", "replace")[:12]

    @property
    def share(self) -> float:
        """Of the training tokens' characters, the share in unspaced scripts."""
        return self.unspaced / max(self.chars, 1)


def _scripts(vocab: list[str], counts: Counter[bytes]) -> str:
    """The unspaced scripts of the vocabulary, most seen first: "Han 71%, Hiragana 29%"."""
    import tensorflow as tf

    tokens = [t for t in vocab[2:] if t]
    if not tokens:
        return ""
    seen = tf.constant([counts.get(t.encode("utf-8"), 0) for t in tokens], tf.int64)
    strings = tf.constant(tokens)
    found = {
        s: int(
            tf.reduce_sum(
                tf.where(tf.strings.regex_full_match(strings, rf"\p{{{s}}}\p{{M}}*"), seen, 0)
            )
        )
        for s in UNSPACED_SCRIPTS
    }
    total = max(sum(found.values()), 1)
    return ", ".join(
        f"{s} {c / total:.0%}" for s, c in sorted(found.items(), key=lambda kv: -kv[1]) if c
    )


def choose_split(
    tokens: str, vocab: list[str], counts: Counter[bytes], script: ScriptCounts
) -> tuple[str, str, str | None]:
    """The schema's split for the import's `tokens`, why, and a warning (or None).

    Args:
        tokens: the import's `tokens` ("auto", "word", "character", "words+chars").
        vocab: the chosen vocabulary (counted with `cap_kind(tokens)`'s split).
        counts: the training token counts (for the scripts named in the reason).
        script: pass 1's `ScriptCounts`.
    """
    share = f"{script.share:.1%} of the training characters are in scripts written without spaces"
    if tokens == "character":
        return "character", "given (--tokens character)", None
    if tokens == "word":
        long = script.long_texts / max(script.texts, 1)
        warning = None
        if script.long_texts and long >= RUN_SHARE:
            warning = (
                f"{long:.0%} of the training texts hold a run of over {RUN} "
                f"characters of a script written without spaces (e.g. "
                f"{script.example!r}...), and with --tokens word each run is one "
                f"token, mostly [UNK]; import with --tokens {WORDS_CHARS} (or "
                "auto, the default) to make each such character a token"
            )
        return "whitespace", f"given (--tokens word); {share}", warning
    import tensorflow as tf

    strings = tf.constant([t for t in vocab[2:] if t] or [""])
    unspaced = int(
        tf.reduce_sum(
            tf.cast(tf.strings.regex_full_match(strings, rf"{UNSPACED}\p{{M}}*"), tf.int32)
        )
    )
    if tokens == WORDS_CHARS:
        return WORDS_CHARS, f"given (--tokens {WORDS_CHARS}); {share}", None
    if unspaced:
        return (
            WORDS_CHARS,
            (
                f"auto: {share} ({_scripts(vocab, counts)}; {unspaced:,} such characters are "
                "in the vocabulary): words where a script has spaces, and each character of "
                "one without its own token"
            ),
            None,
        )
    return (
        "whitespace",
        (
            f"auto: {share}"
            + (" and none is in the vocabulary" if script.unspaced else "")
            + ": words split on whitespace (the same tokens as words+chars here, without "
            "its regex at predict time)"
        ),
        None,
    )


def choose_vocabulary(
    counts: Counter[bytes], kind: str, vocab_size: int | None, pruned: bool
) -> tuple[list[str], str]:
    """The vocabulary ("" and "[UNK]" first, then by count) and why.

    Args:
        counts: training token counts (UTF-8 bytes -> count).
        kind: `cap_kind(tokens)`.
        vocab_size: given, or None to keep tokens seen MIN_COUNT times (up to the cap).
        pruned: tokens seen once were dropped while counting (over MAX_DISTINCT).
    """
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(counts.values()) or 1
    what = KINDS[kind]
    if vocab_size is not None:
        kept = ordered[: max(vocab_size - 2, 0)]
        why = f"given; {len(counts):,} distinct {what} seen in the training rows"
    else:
        cap = VOCAB_CAP[kind]
        frequent = [kv for kv in ordered if kv[1] >= MIN_COUNT]
        if frequent:
            kept = frequent[: cap - 2]
            why = (
                f"{len(frequent):,} of {len(counts):,} distinct {what} in the training "
                f"rows were seen at least {MIN_COUNT} times"
                + (
                    f"; kept the {cap - 2:,} most frequent (cap {cap:,})"
                    if len(frequent) > cap - 2
                    else ""
                )
                + "; the rest map to [UNK]"
            )
        else:
            kept = ordered[: cap - 2]
            why = (
                f"no {what[:-1]} was seen {MIN_COUNT} times; kept all {len(kept):,} seen "
                "(a tiny data set)"
            )
    covered = sum(c for _, c in kept) / total
    why += f"; +2 for padding and [UNK]; covers {covered:.1%} of training {what}"
    if pruned:
        why += (
            f" (over {MAX_DISTINCT:,} distinct {what}: those seen once were dropped while counting)"
        )
    return ["", "[UNK]"] + [t.decode("utf-8", "replace") for t, _ in kept], why


def percentile(hist: Counter[int], q: float) -> int:
    """The q-quantile (0..1) of a length histogram (length -> texts)."""
    total, seen = sum(hist.values()), 0
    for length in sorted(hist):
        seen += hist[length]
        if seen >= q * total:
            return length
    return 0


def choose_length(hist: Counter[int], kind: str, max_length: int | None) -> tuple[int, str]:
    """`max_length` (given, or the 95th percentile capped by LENGTH_CAP[kind]) and why."""
    n = sum(hist.values())
    p95, longest, median = percentile(hist, 0.95), max(hist), percentile(hist, 0.5)
    if max_length is not None:
        length, why = max_length, "given"
    else:
        cap = LENGTH_CAP[kind]
        length = max(1, min(p95, cap))
        why = (
            f"the 95th percentile of training text lengths ({KINDS[kind]}; median "
            f"{median}, longest {longest})" + (f", capped at {cap}" if p95 > cap else "")
        )
    cut = sum(c for k, c in hist.items() if k > length) / max(n, 1)
    return length, why + f"; {cut:.1%} of training texts are truncated"


def length_stats(hist: Counter[int], length: int) -> dict[str, Any]:
    """Deciles (10th to 90th percentile) and mean of the training texts' lengths as the
    model sees them (cut at `length`): what `train.auto` buckets batches by."""
    capped: Counter[int] = Counter()
    for k, c in hist.items():
        capped[min(k, length)] += c
    n = max(sum(capped.values()), 1)
    return {
        "length_deciles": [percentile(capped, q / 10) for q in range(1, 10)],
        "length_mean": round(sum(k * c for k, c in capped.items()) / n, 2),
    }


class DistinctPairs:
    """The distinct pairs of consecutive token ids in the training rows, counted up to
    `PAIRS_COUNTED` (what the wide path's hashed table needs to know; beyond it the
    table is as large as it gets).

    Example:

        pairs = DistinctPairs()
        pairs.add(np.array([5, 6, 5, 6]), np.array([0, 2, 4]), np.array([True, True]))
        pairs.count   # 1: (5, 6) twice, and no pair across the rows' boundary
    """

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def add(self, flat: np.ndarray, splits: np.ndarray, training: np.ndarray) -> None:
        """Count the pairs of a batch: token ids `flat` in rows at `splits` (row j is
        flat[splits[j]:splits[j + 1]]), of which the rows where `training` is True."""
        if len(self._seen) >= PAIRS_COUNTED or len(flat) < 2:
            return
        row = np.repeat(np.arange(len(splits) - 1), np.diff(splits))
        inside = (row[:-1] == row[1:]) & np.asarray(training, dtype=bool)[row[:-1]]
        ids = np.asarray(flat, dtype=np.int64)
        self._seen.update(np.unique((ids[:-1][inside] << 32) | ids[1:][inside]).tolist())

    @property
    def count(self) -> int:
        """Distinct pairs seen so far (at most `PAIRS_COUNTED`)."""
        return min(len(self._seen), PAIRS_COUNTED)
