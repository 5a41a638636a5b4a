"""What an import reads: the columns of a task, and how the rows are read and split.

`klo.import_data(src, out, text=..., label=...)` takes keyword arguments, as a user
writes them; it checks them and hands these records to the importers
(`import_text.import_text`, `series.import_series`).

Example:

    import_text(["wordnet.csv"], "data/wordnet", TextColumns(text="text", label="label"),
                ReadOptions(validation_fraction=0.1, on_bad_row="skip"))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TextColumns:
    """Args:
    text / label: the text column and the label column.
    tokens: "auto", "word", "character" or "words+chars".
    vocab_size / max_length: None = chosen from the data (the report says why).
    weight: a column of per-row weights (numbers >= 0): each training row's loss weighs
        it (`train` multiplies it by train.class_weight); validation is not weighted.
    pieces: a word outside the vocabulary becomes its pieces of this many characters
        (`keras_lstm_opt.data.pieces`); None = chosen from the data (1 where 15% or more
        of the training tokens are outside the vocabulary, else 0), 0 = off.
    """

    text: str
    label: str
    tokens: str = "auto"
    vocab_size: int | None = None
    max_length: int | None = None
    weight: str | None = None  # a column of per-row weights (numbers >= 0), for training
    pieces: int | None = None  # None: chosen from the data; 0: words outside it -> [UNK]


@dataclass(frozen=True)
class SeriesColumns:
    """Args:
    time: the time column (None = row order). target: the column(s) to forecast.
    features: more input columns. window / horizon: input and forecast length.
    transform: "auto" (chosen from the data), "none", "diff" or "seasonal_diff"
    (with `season`), each optionally after "log+" ("log+diff"), or "log".
    """

    time: str | None
    target: str | Sequence[str] | None
    features: Sequence[str] | None = None
    window: int | None = None
    horizon: int | None = None
    transform: str = "auto"
    season: int | None = None


@dataclass(frozen=True)
class ReadOptions:
    """Args:
    validation: a separate validation source (text: the expanded file list).
    validation_fraction: held out when there is no `validation`.
    seed: the text split's seed. on_bad_row: "error" or "skip".
    shards: training shards (None = by size). progress: log progress lines.
    """

    validation: str | Sequence[str] | None = None
    validation_fraction: float = 0.2
    seed: int = 0
    on_bad_row: str = "error"
    shards: int | None = None
    progress: bool = True
