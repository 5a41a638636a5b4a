"""The rows an import reads: each batch's rows checked, and each row's split.

Both passes of `import_text` (and the measuring pass between them) read the same
rows the same way: the files' batches in order with a progress meter over their bytes
(`batches`, `bytes_meter`), each batch's rows checked for a usable text, label and weight
(`Rows`: what fails is a problem naming file, line and column), and each kept row sent
to training or validation by a hash of (seed, row number) (`kept_in_validation`), so
that every pass splits the rows alike without holding them in memory. `spelled_lengths`
reads the training rows once more, for their lengths as the vectoriser writes them.

Example:

    for batch in batches(["a.csv"], ["text", "label"], "skip", 10000, None):
        rows = Rows(batch, "text", "label")
        val = kept_in_validation(0, 0, len(batch), 0.1, rows.keep)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from keras_lstm_opt.data import text as textlib
from keras_lstm_opt.data.import_options import TextColumns
from keras_lstm_opt.data.readers import Batch, iter_records
from keras_lstm_opt.data.row_weights import parse_weight
from keras_lstm_opt.io import fs
from keras_lstm_opt.progress import Progress


class Rows:
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


def in_validation(seed: int, start: int, n: int, fraction: float) -> np.ndarray:
    """Row i (counted over all training sources) -> validation, by a hash of (seed, i)."""
    with np.errstate(over="ignore"):
        x = np.arange(start, start + n, dtype=np.uint64) + np.uint64(
            (seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**64
        )
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / 2.0**53 < fraction


def kept_in_validation(seed: int, start: int, n: int, fraction: float, keep: Any) -> np.ndarray:
    """`in_validation` for the rows `keep` of a batch of `n` (all False when `fraction` is 0)."""
    if not fraction:
        return np.zeros(len(keep), dtype=bool)
    return in_validation(seed, start, n, fraction)[keep]


def batches(
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
        base += total_size([path])


def bytes_meter(what: str, paths: Sequence[str], enabled: bool) -> Progress:
    """Progress over the bytes of `paths`, as `import: WHAT: 1.2 of 3.4 GB (35%), ..., ETA`."""
    total = total_size(paths) if enabled else None
    return Progress(f"import: {what}", total=total, unit="bytes", enabled=enabled)


def total_size(paths: Sequence[str]) -> int:
    """The bytes of all `paths` (local or remote), what a progress meter counts toward."""
    return sum(fs.info(p)["size"] for p in paths)


def spelled_lengths(
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
    meter, ordinal = bytes_meter("pass 1b/2 (measuring texts as written)", sources, progress), 0
    for batch in batches(sources, cols, "skip", batch_rows, fmt, meter):
        rows = Rows(batch, columns.text, columns.label, columns.weight)
        val = kept_in_validation(seed, ordinal, len(batch), fraction, rows.keep)
        ordinal += len(batch)
        texts = [t for t, v in zip(rows.texts, val, strict=True) if not v]
        if texts:
            hist.update(vectorizer(tf.constant(texts)).row_lengths().numpy().tolist())
    meter.close()
    return hist
