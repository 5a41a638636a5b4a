"""Import labelled text (CSV, TSV, JSON Lines, Parquet) as token-id shards + schema.json.

Two streaming passes, so memory does not grow with the file. Pass 1 counts tokens (with
the vectoriser's own standardize and split), text lengths, labels and the characters
of scripts written without spaces, and checks every row; from these it chooses the
split, the vocabulary and `max_length` (and says why: `text_choices.py`). Pass 2 turns
the texts into ids in batches and writes the shards as it goes.

Everything is written into `out/.tmp-import` first and moved into place at the end:
a failed import leaves no schema.json and no shards behind (an earlier import's stay).

Example:

    report = import_text(["wordnet.csv"], "data/wordnet", TextColumns("text", "label"))
    report["chosen"]["max_length"]["why"]
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from keras_lstm_opt.data import text as textlib
from keras_lstm_opt.data.import_options import ReadOptions, TextColumns
from keras_lstm_opt.data.label_check import check_classes
from keras_lstm_opt.data.pieces import choose_pieces, piece_length, unknown_share
from keras_lstm_opt.data.readers import Batch, iter_records
from keras_lstm_opt.data.row_weights import WEIGHT, WeightStats, parse_weight
from keras_lstm_opt.data.schema import DataError, read_schema, schema_path
from keras_lstm_opt.data.text_choices import (
    MAX_DISTINCT,
    MIN_COUNT,
    DistinctPairs,
    ScriptCounts,
    cap_kind,
    choose_length,
    choose_split,
    choose_vocabulary,
    length_stats,
)
from keras_lstm_opt.data.writer import ShardWriter
from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.fs import makedirs, replace
from keras_lstm_opt.io.storage import check_paths
from keras_lstm_opt.logs import ensure_visible, log
from keras_lstm_opt.progress import Progress
from keras_lstm_opt.signals_deferred import publishing

__all__ = ["import_text", "length_stats", "move_into_place", "remove_tree"]
MAX_CLASSES = 10000  # more distinct labels than this is a wrong column, not classes
TMP = ".tmp-import"
SPECS: dict[str, tuple[str, list[int | None]]] = {
    "tokens": ("int64", [None]),
    "label": ("int64", []),
}


class _Rows:
    """Rows of a batch that pass the text checks: texts, labels, places, and problems."""

    def __init__(
        self, batch: Batch, text_col: str, label_col: str, weight_col: str | None = None
    ) -> None:
        self.keep: list[int] = []
        self.texts: list[str] = []
        self.labels: list[str] = []
        self.weights: list[float] = []
        self.problems: list[str] = list(batch.skipped)
        weights = batch.columns[weight_col] if weight_col else [1.0] * len(batch)
        for i, (t, lab, w) in enumerate(
            zip(batch.columns[text_col], batch.columns[label_col], weights, strict=True)
        ):
            where = batch.where[i]
            weight = parse_weight(w)
            if weight is None:
                self.problems.append(
                    f"{where}, column {weight_col!r}: a weight is a number >= 0, got {w!r}"
                )
                continue
            if isinstance(t, (dict, list)):
                self.problems.append(
                    f"{where}, column {text_col!r}: expected text, got {type(t).__name__}"
                )
            elif t is None or not str(t).strip():
                self.problems.append(f"{where}, column {text_col!r}: empty text")
            elif isinstance(lab, (dict, list)):
                self.problems.append(
                    f"{where}, column {label_col!r}: expected a string or "
                    f"integer label, got {type(lab).__name__}"
                )
            elif lab is None or not str(lab).strip():
                self.problems.append(f"{where}, column {label_col!r}: empty label")
            else:
                self.keep.append(i)
                self.texts.append(str(t))
                self.labels.append(textlib.label_name(lab))
                self.weights.append(weight)


def _in_validation(seed: int, start: int, n: int, fraction: float) -> np.ndarray:
    """Row i (counted over all training sources) -> validation, by a hash of (seed, i)."""
    with np.errstate(over="ignore"):
        x = np.arange(start, start + n, dtype=np.uint64) + np.uint64(
            (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64
        )
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / 2.0**53 < fraction


def _kept_in_validation(seed: int, start: int, n: int, fraction: float, keep: Any) -> np.ndarray:
    """`_in_validation` for the rows `keep` of a batch of `n` (all False when `fraction` is 0)."""
    if not fraction:
        return np.zeros(len(keep), dtype=bool)
    return _in_validation(seed, start, n, fraction)[keep]


def _batches(
    paths: Sequence[str],
    cols: list[str],
    on_bad_row: str,
    batch_rows: int,
    fmt: str | None,
    meter: Progress | None = None,
    base: int = 0,
) -> Iterator[Batch]:
    """The files' batches in order; `meter` follows the bytes read of all of them (after
    `base` bytes of files before them)."""
    for path in paths:
        for batch in iter_records(path, cols, fmt, batch_rows, on_bad_row):
            yield batch
            if meter is not None:
                meter.update(base + batch.offset)
        base += _size([path])


def _meter(what: str, paths: Sequence[str], enabled: bool) -> Progress:
    """Progress over the bytes of `paths`, as `import: WHAT: 1.2 of 3.4 GB (35%), ..., ETA`."""
    total = _size(paths) if enabled else None
    return Progress(f"import: {what}", total=total, unit="bytes", enabled=enabled)


def _size(paths: Sequence[str]) -> int:
    return sum(fs.info(p)["size"] for p in paths)


def _default_shards(rows: int) -> int:
    return max(1, min(rows, 16, max(2, math.ceil(rows / 50000))))


def _spelled_lengths(
    vectorizer: Any,
    sources: Sequence[str],
    columns: TextColumns,
    how: tuple[int, str | None, int, float, bool],
) -> Counter[int]:
    """The training texts' lengths in tokens as `vectorizer` writes them (length -> texts):
    pass 1 again, over the same training rows, once the vocabulary and its pieces are known."""
    import tensorflow as tf

    batch_rows, fmt, seed, fraction, progress = how
    cols = [columns.text, columns.label, *([columns.weight] if columns.weight else [])]
    hist: Counter[int] = Counter()
    meter, ordinal = _meter("pass 1b/2 (measuring texts as written)", sources, progress), 0
    for batch in _batches(sources, cols, "skip", batch_rows, fmt, meter):
        rows = _Rows(batch, columns.text, columns.label, columns.weight)
        val = _kept_in_validation(seed, ordinal, len(batch), fraction, rows.keep)
        ordinal += len(batch)
        texts = [t for t, v in zip(rows.texts, val, strict=True) if not v]
        if texts:
            hist.update(vectorizer(tf.constant(texts)).row_lengths().numpy().tolist())
    meter.close()
    return hist


def import_text(
    sources: Sequence[str],
    out: str,
    columns: TextColumns,
    read: ReadOptions | None = None,
    *,
    fmt: str | None = None,
    batch_rows: int = 10000,
) -> dict[str, Any]:
    """Import labelled text files as shards for a text classifier.

    Args:
        sources: training files (see `readers.expand_sources`).
        out: the data directory to write (local or remote).
        text, label: the text and label columns.
        tokens: "auto" (words, and each character of a script written without
            spaces its own token where the vocabulary has such characters: see
            `text_choices.py`), "word", "character" or "words+chars".
        vocab_size, max_length: None = chosen from the data (see the report's `chosen`).
        validation: validation files; None = `validation_fraction` of the training
            rows, picked per row by a hash of (`seed`, row number).
        on_bad_row: "error" (DataError at the first bad row) or "skip" (counted).
        shards: training shards; None = by size (2 to 16).
        progress: log a progress line every few seconds.
        fmt: the files' format; None = from their suffixes.
        batch_rows: rows read and vectorised at a time.

    Returns:
        The import report, also stored as the schema's `info.import`.

    Raises:
        DataError: a bad row (file, line, column), a validation label that is not a
            training class, or no rows.
        LabelError: the label column holds one class only (a DataError, exit status 2).
    """
    read = read or ReadOptions()
    text, label, tokens = columns.text, columns.label, columns.tokens
    weight = columns.weight
    vocab_size, max_length = columns.vocab_size, columns.max_length
    validation = [read.validation] if isinstance(read.validation, str) else read.validation
    validation_fraction, seed, on_bad_row = read.validation_fraction, read.seed, read.on_bad_row
    shards, progress = read.shards, read.progress
    import tensorflow as tf

    if tokens not in textlib.TOKENS:
        raise UsageError(f"tokens: expected one of {', '.join(textlib.TOKENS)}, got {tokens!r}")
    check_paths({"out": out})
    if progress:
        ensure_visible()
    started = time.monotonic()
    cols = [text, label, *([weight] if weight else [])]
    specs = {**SPECS, **({WEIGHT: ("float32", [])} if weight else {})}
    weights = WeightStats()
    fraction = 0.0 if validation else validation_fraction
    kind = cap_kind(tokens)  # auto counts with words+chars
    standardize, standardize_why = (
        textlib.STANDARDIZE,
        ("character tokens keep Keras's: ASCII lower case, ASCII punctuation removed"),
    )
    if tokens != "character":
        standardize, standardize_why = (
            textlib.MARKS,
            (
                "punctuation marks and symbols are tokens, a capital letter starting a word is "
                f"the token {textlib.CASE_MARK} before it: a question, a quote or a name says "
                "much about a short text"
            ),
        )
    tokenize = textlib.make_tokenizer(
        textlib.WORDS_CHARS if tokens == "auto" else tokens, standardize
    )
    script = ScriptCounts()

    # Pass 1: check rows, count tokens, lengths and labels.
    counts: Counter[bytes] = Counter()
    hist: Counter[int] = Counter()
    classes: Counter[str] = Counter()  # rows per class (training and validation split)
    train_classes: Counter[str] = Counter()
    problems: list[str] = []
    skipped, n_train, n_val, ordinal, pruned, dropped = 0, 0, 0, 0, False, 0
    meter = _meter("pass 1/2 (counting tokens)", sources, progress)
    for batch in _batches(sources, cols, on_bad_row, batch_rows, fmt, meter):
        rows = _Rows(batch, text, label, weight)
        if rows.problems and on_bad_row == "error":
            raise DataError(rows.problems[0])
        skipped += len(rows.problems)
        problems.extend(rows.problems[: max(0, 20 - len(problems))])
        val = _kept_in_validation(seed, ordinal, len(batch), fraction, rows.keep)
        ordinal += len(batch)
        classes.update(rows.labels)
        train_classes.update(lab for lab, v in zip(rows.labels, val, strict=True) if not v)
        if len(classes) > MAX_CLASSES:
            raise DataError(
                f"{batch.where[-1]}, column {label!r}: over {MAX_CLASSES:,} "
                "distinct labels so far; is it the label column?"
            )
        train_texts = [t for t, v in zip(rows.texts, val, strict=True) if not v]
        n_train += len(train_texts)
        n_val += int(val.sum())
        if train_texts:
            toks = tokenize(tf.constant(train_texts))
            hist.update(toks.row_lengths().numpy().tolist())
            uniq, idx, n = tf.unique_with_counts(toks.flat_values)
            script.add(uniq, n, idx, toks)
            counts.update(dict(zip(uniq.numpy().tolist(), n.numpy().tolist(), strict=True)))
            if len(counts) > MAX_DISTINCT:
                once = sum(1 for c in counts.values() if c == 1)
                counts = Counter({t: c for t, c in counts.items() if c > 1})
                pruned, dropped = True, dropped + once
    meter.close()
    if n_train == 0:
        raise DataError(
            f"{', '.join(sources)}: no training rows"
            + (f" ({skipped} bad rows skipped)" if skipped else "")
        )
    check_classes(train_classes, classes, sources, label)
    class_names = textlib.sort_class_names(set(classes))
    index = {c: i for i, c in enumerate(class_names)}
    if validation:  # check the validation files before writing anything
        vmeter = _meter("pass 1/2 (checking the validation rows)", validation, progress)
        for batch in _batches(validation, cols, on_bad_row, batch_rows, fmt, vmeter):
            rows = _Rows(batch, text, label, weight)
            for i, lab in zip(rows.keep, rows.labels, strict=True):
                if lab not in index:
                    rows.problems.append(_unknown(batch.where[i], label, lab, class_names))
            if rows.problems and on_bad_row == "error":
                raise DataError(rows.problems[0])
            skipped += len(rows.problems)
            problems.extend(rows.problems[: max(0, 20 - len(problems))])
            n_val += sum(lab in index for lab in rows.labels)
        vmeter.close()
    for p in problems:
        log.warning("import: skipped %s", p)
    if skipped > len(problems):
        log.warning("import: skipped %d more bad rows", skipped - len(problems))

    vocab, vocab_why = choose_vocabulary(counts, kind, vocab_size, pruned)
    split, split_why, warning = choose_split(tokens, vocab, counts, script)
    unknown = unknown_share(counts, vocab, dropped)
    n_pieces, pieces_why = piece_length(columns.pieces, tokens, unknown)
    if n_pieces:
        extra, why, _ = choose_pieces(counts, vocab, n_pieces, MIN_COUNT)
        vocab, pieces_why = vocab + extra, f"{pieces_why}: {why}"
        vocab_why += f"; then the {len(extra):,} pieces"
        # the lengths as the model will see them: one more read of the training rows
        spelled = {"split": split, "standardize": standardize, "pieces": n_pieces}
        hist = _spelled_lengths(
            textlib.make_vectorizer({"vocabulary": vocab, "text": spelled}),
            sources,
            columns,
            (batch_rows, fmt, seed, fraction, progress),
        )
    counts.clear()
    length, length_why = choose_length(hist, cap_kind(split), max_length)
    if n_pieces:
        length_why += " (tokens as written, unknown words spelled)"
    chosen: dict[str, Any] = {
        "tokens": {"value": split, "why": split_why},
        "standardize": {"value": standardize, "why": standardize_why},
        "vocab_size": {"value": len(vocab), "why": vocab_why},
        "max_length": {"value": length, "why": length_why},
        "pieces": {"value": n_pieces, "why": pieces_why},
    }
    if warning:
        log.warning("import: %s", warning)
    n_shards = shards or _default_shards(n_train)
    chosen["shards"] = {
        "value": n_shards,
        "why": "given" if shards else "one per 50,000 training rows, between 2 and 16",
    }
    chosen["validation"] = {
        "why": f"the file(s) {', '.join(validation)}"
        if validation
        else f"{fraction:.0%} of the rows, per row by a hash of seed {seed} and the row number"
    }
    for key in ("tokens", "standardize", "vocab_size", "max_length", "pieces"):
        log.info("import: %s = %s: %s", key, chosen[key]["value"], chosen[key]["why"])
    log.info("import: validation split: %s", chosen["validation"]["why"])
    info: dict[str, Any] = {
        "vocab_size": len(vocab),
        "num_classes": len(class_names),
        "vocabulary": vocab,
        "class_names": class_names,
        "text": {
            "column": text,
            "label_column": label,
            "split": split,
            "standardize": standardize,
            "max_length": length,
            **({"pieces": n_pieces} if n_pieces else {}),
            **length_stats(hist, length),
        },
    }

    # Pass 2: vectorise in batches and write the shards (into out/.tmp-import).
    tmp = os.path.join(out, TMP)
    created = not fs.exists(out)
    writers: dict[str, ShardWriter] = {}
    try:  # a stop (SIGINT, SIGTERM) anywhere in here leaves the old import or the new
        remove_tree(tmp)
        makedirs(tmp)
        vectorizer = textlib.make_vectorizer(info)
        writers["train"] = ShardWriter(tmp, "train", n_shards, specs)
        if n_val:
            writers["validation"] = ShardWriter(
                tmp, "validation", max(1, min(n_val, n_shards)), specs
            )
        meter, ordinal = (
            _meter("pass 2/2 (writing shards)", [*sources, *(validation or [])], progress),
            0,
        )
        parts = [(sources, fraction)] + ([(validation, 1.0)] if validation else [])
        done, pairs = 0, DistinctPairs()
        for paths, frac in parts:
            for batch in _batches(paths, cols, "skip", batch_rows, fmt, meter, done):
                rows = _Rows(batch, text, label, weight)
                ok = [lab in index for lab in rows.labels]
                if frac == 1.0:
                    val = np.ones(len(rows.keep), dtype=bool)
                else:
                    val = _kept_in_validation(seed, ordinal, len(batch), frac, rows.keep)
                    ordinal += len(batch)
                texts = [t for t, k in zip(rows.texts, ok, strict=True) if k]
                if texts:
                    ids = textlib.ragged_token_ids(vectorizer, tf.constant(texts), length)
                    flat, splits = ids.flat_values.numpy(), ids.row_splits.numpy()
                    y = [index[lab] for lab, k in zip(rows.labels, ok, strict=True) if k]
                    row_w = [v for v, k in zip(rows.weights, ok, strict=True) if k]
                    to_val = val[np.asarray(ok, dtype=bool)]
                    pairs.add(flat, splits, ~to_val)
                    for j in range(len(texts)):
                        ex = tf.train.Example()
                        f = ex.features.feature
                        f["tokens"].int64_list.value.extend(
                            flat[splits[j] : splits[j + 1]].tolist()
                        )
                        f["label"].int64_list.value.append(y[j])
                        if weight:  # validation rows too: one schema for every shard
                            f[WEIGHT].float_list.value.append(row_w[j])
                            if not to_val[j]:
                                weights.add(row_w[j])
                        writers["validation" if to_val[j] else "train"].write_serialized(
                            ex.SerializeToString()
                        )
            done += _size(paths)
        meter.close()
        seconds = time.monotonic() - started
        report: dict[str, Any] = {
            "source": list(sources),
            "validation_source": list(validation or []),
            "rows": {
                "train": writers["train"].count,
                "validation": writers["validation"].count if n_val else 0,
            },
            "skipped": skipped,
            "skipped_examples": problems,
            "chosen": chosen,
            **({"warnings": [warning]} if warning else {}),
            "seconds": round(seconds, 2),
            "rows_per_second": round((n_train + n_val + skipped) / max(seconds, 1e-9)),
        }
        info["text"]["pairs"] = pairs.count  # train.auto sizes the wide path's table by it
        if weight:
            info["weight"] = weights.summary(weight)
            log.info("import: %s", info["weight"]["why"])
        info["import"] = report
        for w in writers.values():
            w.close("tokens", "label", "text", info)
        move_into_place(tmp, out)
    except BaseException:
        for w in writers.values():
            w.abort()
        if not created:
            remove_tree(tmp)  # nothing there once the new import is in place
        elif not fs.exists(schema_path(out)):  # a directory we made goes, unless complete
            remove_tree(out)
        raise
    log.info(
        "import: wrote %s training and %s validation examples to %s (%d skipped, "
        "%.1f s, %s rows/s)",
        f"{report['rows']['train']:,}",
        f"{report['rows']['validation']:,}",
        out,
        skipped,
        seconds,
        f"{report['rows_per_second']:,}",
    )
    return report


def _unknown(where: str, column: str, lab: str, class_names: list[str]) -> str:
    shown = ", ".join(class_names[:8]) + (", ..." if len(class_names) > 8 else "")
    return (
        f"{where}, column {column!r}: label {lab!r} is not one of the "
        f"{len(class_names)} training classes ({shown})"
    )


def remove_tree(path: str) -> None:
    fs.rmtree(path)


def move_into_place(tmp: str, out: str) -> None:
    """Replace an earlier import's shards by the new ones; schema.json moves last. A
    signal meanwhile is delivered after the move (`signals_deferred.publishing`)."""
    try:
        old = read_schema(out)
    except DataError:
        old = None
    with fs.open(schema_path(tmp), "r") as fh:
        new = json.loads(fh.read())
    keep = {f for s in new["splits"].values() for f in s["files"]}
    with publishing(out):  # a SIGINT/SIGTERM now waits: the old import or the new one
        if old is not None:
            for split in old.get("splits", {}).values():
                for name in split.get("files", []):
                    path = os.path.join(out, name)
                    if name not in keep and fs.exists(path):
                        fs.remove(path)
        for name in sorted(keep):
            replace(os.path.join(tmp, name), os.path.join(out, name))
        replace(schema_path(tmp), schema_path(out))
        remove_tree(tmp)
