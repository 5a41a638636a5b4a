"""`import_data`: your own CSV/TSV/JSON Lines/Parquet file(s) as shards + schema.json.

One entry point for both tasks. Text classification needs `text` and `label` columns;
forecasting needs `time`, `target`, `window` and `horizon`. Every argument is checked
before a file is read, with a message that says what to give instead. Then
`import_text` (two streaming passes: count, then vectorise and write) or
`series.import_series` does the work; both return a report (rows written, rows
skipped, and what was chosen and why), also kept in the schema's `info.import`.

Example:

    report = import_data("wordnet.csv", "data/wordnet", text="text", label="label")
    report = import_data("co2.csv", "data/co2", time="date", target="co2",
                         window=24, horizon=6)
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Sequence
from typing import Any

from keras_lstm_opt.data.import_options import ReadOptions, SeriesColumns, TextColumns
from keras_lstm_opt.data.pieces import MAX_PIECE
from keras_lstm_opt.data.readers import expand_sources
from keras_lstm_opt.data.text import TOKENS
from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.io.writable import check_writable

log = logging.getLogger("keras_lstm_opt")

_TRANSFORM = re.compile(r"auto|log|(log\+)?(none|diff|seasonal_diff(:[1-9]\d*)?)")


def _positive(name: str, value: int | None, least: int = 1) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or value < least
    ):
        raise UsageError(f"{name}: expected an integer >= {least}, got {value!r}")


def check_arguments(
    text: str | None,
    label: str | None,
    tokens: str,
    vocab_size: int | None,
    max_length: int | None,
    time: str | None,
    target: str | Sequence[str] | None,
    features: Sequence[str] | None,
    window: int | None,
    horizon: int | None,
    transform: str,
    season: int | None,
    validation_fraction: float,
    on_bad_row: str,
    shards: int | None,
    weight: str | None = None,
    pieces: int | None = None,
) -> None:
    if weight and not text:
        raise UsageError(
            f"weight={weight!r}: per-row weights go with text classification "
            "(a text column and a label column)"
        )
    if weight and weight in (text, label):
        raise UsageError(
            f"weight={weight!r} names the {'text' if weight == text else 'label'} column; "
            "the weight is a column of numbers >= 0, one per row"
        )
    if text and time:
        raise UsageError(
            "give text= and label= (text classification) or time=, target=, "
            "window= and horizon= (forecasting), not both"
        )
    if not text and not time:
        raise UsageError(
            "say what to import: text=COLUMN and label=COLUMN for text "
            "classification, or time=COLUMN, target=COLUMN, window=N and "
            "horizon=N for forecasting"
        )
    if text:
        if not label:
            raise UsageError(
                f"text={text!r}: text classification also needs label=COLUMN, "
                "the column holding each row's class (strings or integers)"
            )
        if text == label:
            raise UsageError(
                f"text and label both name the column {text!r}; the label is "
                "the column holding each row's class"
            )
        if target or features or window is not None or horizon is not None:
            raise UsageError(
                "target, features, window and horizon are for forecasting "
                "(time=...); text classification takes text= and label="
            )
        if tokens not in TOKENS:
            raise UsageError(f"tokens: expected one of {', '.join(TOKENS)}, got {tokens!r}")
        _positive("vocab_size", vocab_size, 3)
        _positive("max_length", max_length)
        _positive("pieces", pieces, 0)
        if pieces is not None and pieces > MAX_PIECE:
            raise UsageError(
                f"pieces: expected at most {MAX_PIECE} characters a piece, got {pieces}"
            )
        if pieces and tokens == "character":
            raise UsageError(
                f"pieces={pieces}: pieces are parts of words; character tokens have none "
                "(give pieces=0 or leave it out)"
            )
    else:
        if target is None or target == []:
            raise UsageError(
                f"time={time!r}: forecasting also needs target= (the column(s) to forecast)"
            )
        given = [
            name
            for name, value in (
                ("label", label),
                ("vocab_size", vocab_size),
                ("max_length", max_length),
                ("pieces", pieces),
            )
            if value not in (None, "")
        ]
        if given:
            raise UsageError(
                f"{', '.join(f'{name}=' for name in given)} "
                f"{'is' if len(given) == 1 else 'are'} for text classification (text=...); "
                "forecasting takes time=COLUMN, target=COLUMN and optionally window=N, "
                "horizon=N"
            )
        _positive("window", window)
        _positive("horizon", horizon)
        _positive("season", season, 2)
        if not isinstance(transform, str) or not _TRANSFORM.fullmatch(transform):
            raise UsageError(
                f"transform: expected auto, or none, diff or seasonal_diff:P, each of these "
                f"three with an optional log+ before it (e.g. seasonal_diff:12, log+diff), or "
                f"log; got {transform!r}"
            )
        if transform in ("seasonal_diff", "log+seasonal_diff") and season is None:
            raise UsageError(
                f"transform={transform!r} needs the season length: "
                f"{transform}:P (e.g. {transform}:12) or season=P"
            )
    if not isinstance(validation_fraction, (int, float)) or not 0.0 <= validation_fraction < 1.0:
        raise UsageError(
            f"validation_fraction: expected a number in [0, 1), got {validation_fraction!r}"
        )
    if on_bad_row not in ("error", "skip"):
        raise UsageError(
            f"on_bad_row: expected 'error' (stop at the first bad row) or "
            f"'skip' (count and skip them), got {on_bad_row!r}"
        )
    _positive("shards", shards)


def import_data(
    src: str,
    out: str,
    *,
    text: str | None = None,
    label: str | None = None,
    tokens: str = "auto",
    vocab_size: int | None = None,
    max_length: int | None = None,
    weight: str | None = None,
    pieces: int | None = None,
    time: str | None = None,
    target: str | Sequence[str] | None = None,
    features: Sequence[str] | None = None,
    window: int | None = None,
    horizon: int | None = None,
    transform: str = "auto",
    season: int | None = None,
    validation: str | None = None,
    validation_fraction: float = 0.2,
    seed: int = 0,
    on_bad_row: str = "error",
    shards: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Import a file (or glob) of your own as a data directory the trainer reads.

    Args:
        src: one file, a glob or a directory, local or s3://; CSV, TSV, JSON Lines or
            Parquet by suffix (text formats may be .gz).
        out: the data directory to write (shards + schema.json); an earlier import
            there is replaced only when this one succeeds.
        text, label: text classification: the text column and the label column
            (string or integer labels; class ids follow the sorted class names).
        tokens: "auto" (the default: words, and each character of a script written
            without spaces, such as Chinese or Japanese, its own token where the data
            has them), "word", "character" or "words+chars".
        vocab_size, max_length: None = chosen from the data (the report says why).
        weight: text classification: a column of per-row weights (numbers >= 0), each
            training row's loss multiplied by it (validation is not weighted).
        pieces: text classification: a word outside the vocabulary is written as its
            pieces of this many characters (`keras_lstm_opt.data.pieces`); None = chosen
            from the data (1, letter by letter, where 15% or more of the training tokens
            are outside the vocabulary), 0 = off (one [UNK] per such word, as before).
        time, target, features, window, horizon, transform, season: forecasting (see
            `keras_lstm_opt.data.series.import_series`).
        validation: a separate validation file or glob; None = `validation_fraction`
            of the rows (text: picked per row with `seed`; series: the latest rows).
        on_bad_row: "error" stops at the first bad row with a DataError naming file,
            line and column; "skip" counts, reports and skips bad rows.
        shards: training shards; None = by size.
        progress: log progress lines (rows, rows/s) to standard error.

    Returns:
        The import report (`rows`, `skipped`, `chosen`, ...), as in `info.import`.

    Raises:
        UsageError: arguments that cannot work together (says what to give).
        DataError: no file matches, or a bad row (file, line, column).
    """
    check_arguments(
        text,
        label,
        tokens,
        vocab_size,
        max_length,
        time,
        target,
        features,
        window,
        horizon,
        transform,
        season,
        validation_fraction,
        on_bad_row,
        shards,
        weight,
        pieces,
    )
    if not out:
        raise UsageError("out: give the data directory to write")
    check_out(out)
    check_writable(out, "the data directory (out)")  # before a byte is read
    sources = expand_sources(src)
    validation_sources = expand_sources(validation) if validation else None
    created = not is_remote(out) and not os.path.exists(out)
    try:
        if text:
            from keras_lstm_opt.data.import_text import import_text

            return _warn_without_validation(
                import_text(
                    sources,
                    out,
                    TextColumns(text, str(label), tokens, vocab_size, max_length, weight, pieces),
                    ReadOptions(
                        validation_sources,
                        validation_fraction,
                        seed,
                        on_bad_row,
                        shards,
                        progress,
                    ),
                ),
                out,
            )
        from keras_lstm_opt.data.series import import_series

        report: dict[str, Any] = import_series(
            sources,
            out,
            SeriesColumns(time, target, features, window, horizon, transform, season),
            ReadOptions(validation, validation_fraction, seed, on_bad_row, shards, progress),
        )
        return _warn_without_validation(report, out)
    except BaseException:  # a failed or interrupted import: a directory it made goes too
        from keras_lstm_opt.data.import_staging import TMP

        if created and os.path.isdir(out) and not set(os.listdir(out)) - {TMP}:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _warn_without_validation(report: dict[str, Any], out: str) -> dict[str, Any]:
    if not report.get("windows", report.get("rows", {})).get("validation"):
        log.warning(
            "import: %s has no validation examples: training will monitor its "
            "training loss, and `evaluate` needs --data; give a larger "
            "validation fraction or a validation file",
            out,
        )
    return report


def check_out(out: str) -> None:
    """Refuse to write into a local directory that holds other things than an import."""
    from keras_lstm_opt.data.import_staging import TMP

    if is_remote(out) or not os.path.isdir(out):
        return
    entries = set(os.listdir(out)) - {TMP}
    if entries and "schema.json" not in entries:
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise UsageError(
            f"out: {out} is not empty ({shown}) and holds no earlier import; "
            "give a new or empty directory"
        )
