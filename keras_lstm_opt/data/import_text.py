"""Import labelled text (CSV, TSV, JSON Lines, Parquet) as token-id shards + schema.json.

Two streaming passes, so memory does not grow with the file. Pass 1 counts tokens (with
the vectoriser's own standardize and split), text lengths, labels and the characters
of scripts written without spaces, and checks every row; from these it chooses the
split, the vocabulary and `max_length` (and says why: `text_choices.py`). Pass 2 turns
the texts into ids in batches and writes the shards as it goes.

Everything is written into `out/.tmp-import` first and moved into place at the end:
a failed import leaves no schema.json and no shards behind (an earlier import's stay;
`import_staging.py`). Every pass reads and splits the rows alike (`import_rows.py`).

Example:

    report = import_text(["wordnet.csv"], "data/wordnet", TextColumns("text", "label"))
    report["chosen"]["max_length"]["why"]
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_lstm_opt.data import text as textlib
from keras_lstm_opt.data.import_options import ReadOptions, TextColumns
from keras_lstm_opt.data.import_rows import (
    Rows,
    batches,
    bytes_meter,
    kept_in_validation,
    spelled_lengths,
    total_size,
)
from keras_lstm_opt.data.import_staging import TMP, move_into_place, remove_tree
from keras_lstm_opt.data.label_check import check_classes
from keras_lstm_opt.data.pieces import choose_pieces, piece_length, unknown_share
from keras_lstm_opt.data.row_weights import WEIGHT, WeightStats
from keras_lstm_opt.data.schema import DataError, schema_path
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
from keras_lstm_opt.io.fs import makedirs
from keras_lstm_opt.io.storage import check_paths
from keras_lstm_opt.logs import ensure_visible, log

__all__ = ["import_text", "length_stats", "move_into_place", "remove_tree"]
MAX_CLASSES = 10000  # more distinct labels than this is a wrong column, not classes
SPECS: dict[str, tuple[str, list[int | None]]] = {
    "tokens": ("int64", [None]),
    "label": ("int64", []),
}


def _default_shards(rows: int) -> int:
    return max(1, min(rows, 16, max(2, math.ceil(rows / 50000))))


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
    meter = bytes_meter("pass 1/2 (counting tokens)", sources, progress)
    for batch in batches(sources, cols, on_bad_row, batch_rows, fmt, meter):
        rows = Rows(batch, text, label, weight)
        if rows.problems and on_bad_row == "error":
            raise DataError(rows.problems[0])
        skipped += len(rows.problems)
        problems.extend(rows.problems[: max(0, 20 - len(problems))])
        val = kept_in_validation(seed, ordinal, len(batch), fraction, rows.keep)
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
        vmeter = bytes_meter("pass 1/2 (checking the validation rows)", validation, progress)
        for batch in batches(validation, cols, on_bad_row, batch_rows, fmt, vmeter):
            rows = Rows(batch, text, label, weight)
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
        hist = spelled_lengths(
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
            bytes_meter("pass 2/2 (writing shards)", [*sources, *(validation or [])], progress),
            0,
        )
        parts = [(sources, fraction)] + ([(validation, 1.0)] if validation else [])
        done, pairs = 0, DistinctPairs()
        for paths, frac in parts:
            for batch in batches(paths, cols, "skip", batch_rows, fmt, meter, done):
                rows = Rows(batch, text, label, weight)
                ok = [lab in index for lab in rows.labels]
                if frac == 1.0:
                    val = np.ones(len(rows.keep), dtype=bool)
                else:
                    val = kept_in_validation(seed, ordinal, len(batch), frac, rows.keep)
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
            done += total_size(paths)
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
