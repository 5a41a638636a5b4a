"""predict_file: run a finished model over a raw file, streaming, into CSV or JSON Lines.

Input: a CSV, TSV, JSON Lines or Parquet file (or a glob or a folder of them, read in
name order), local or remote, read in batches so a file larger than memory streams
through.

* text runs: the text column of the import, or the one `text` names (and an id column,
  when the file has one: `id`, `key`, `uid`, `guid` or a name ending in `_id`) -> one
  row per input row: the id, the text (under its column's name), `label` (the most
  probable class) and the probability of every class. JSON Lines: `{"id": ..., "text":
  ..., "label": ..., "probabilities": {class: p}}`; CSV: columns `id, text, label,
  p_<class>...`. Every file's columns are checked before the first is predicted.
* forecast runs: the series (the time column and the columns of the import; read
  whole, 8 bytes a value, and sorted by time as `data import` does) -> the forecast
  after its last row, one row per future step: `step`, the time column (future stamps,
  when the rows are evenly spaced) and one column per target, in the series' units.

Output by `out`'s suffix: .csv, .tsv, .jsonl / .json / .ndjson; None or "-" writes JSON
Lines to stdout. A file is written whole and then moved into place, so a failed run
leaves no half file. Progress (bytes of the input, rate, ETA) shows on long inputs.

Example:

    predict_file("runs/wordnet", "new_glosses.csv", out="labels.csv")
    predict_file("runs/co2", "co2.csv")          # 12 JSON lines on stdout
"""

from __future__ import annotations

import csv
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from keras_lstm_opt.errors import StorageError, UsageError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.atomic import atomic_open
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.serve.columns import columns_of, need_columns
from keras_lstm_opt.serve.run import Run, load_run

log = logging.getLogger("keras_lstm_opt")
OUT_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
}
ID_NAMES = ("id", "key", "uid", "guid")


def output_format(out: str | None) -> str:
    """ "csv", "tsv" or "jsonl" from `out`'s suffix (None or "-": JSON Lines)."""
    if out is None or out == "-":
        return "jsonl"
    fmt = OUT_FORMATS.get(os.path.splitext(out.lower())[1])
    if fmt is None:
        raise UsageError(
            f"--out {out}: name it .csv, .tsv or .jsonl (the format comes "
            "from the suffix), or leave it out for JSON Lines on stdout"
        )
    return fmt


def predict_file(
    run_dir: str,
    src: str,
    out: str | None = None,
    batch_rows: int = 4096,
    progress: bool = True,
    precision: str = "float32",
    text: str | None = None,
) -> str:
    """Predict every row of `src` (text) or the series' future (forecast) into `out`.

    Args:
        run_dir: a finished run directory.
        src: CSV/TSV/JSON Lines/Parquet file(s): a path, glob or folder (s3:// too).
        out: FILE.csv, FILE.tsv or FILE.jsonl; None or "-" for JSON Lines on stdout.
        batch_rows: rows read and predicted together.
        progress: bytes read of the input, rate and ETA (a bar on a terminal, else a
            line every 10 s; `keras_lstm_opt.progress`).
        precision: "float32" or "int8" (see `load_run`).
        text: text runs: the column holding the texts (default: the import's text
            column, `data import --text`).

    Returns:
        The path written, or "-" for stdout.

    Raises:
        RunDirError, DataError (naming file, line and column), UsageError.

    Example:

        predict_file("runs/wordnet", "glosses.parquet", out="labels.jsonl")
    """
    from keras_lstm_opt.data.readers import expand_sources
    from keras_lstm_opt.io.storage import check_paths

    fmt = output_format(out)  # before anything slow
    check_paths({"--out": out if out != "-" else None})
    run = load_run(run_dir, precision)
    if text is not None and not (run.task == "text" and run.classifies):
        raise UsageError(f"{run_dir}: text (--text) names the texts' column of a text run")
    if run.task == "text" and run.classifies:
        rows = _text_rows(run, expand_sources(src), batch_rows, progress, text)
    elif run.task == "forecast" and run.info.get("series"):
        rows = _forecast_rows(run, src, expand_sources(src))
    else:
        raise UsageError(
            f"{run_dir}: predict reads raw text for text classification runs "
            "and raw series for forecast runs imported with `data import`; "
            "for other runs use klo.load_run(...).predict(arrays)"
        )
    return _write(rows, out, fmt)


def _id_column(columns: list[str], skip: set[str]) -> str | None:
    for c in columns:
        if c not in skip and (c.lower() in ID_NAMES or c.lower().endswith("_id")):
            return c
    return None


def _text_rows(
    run: Run, paths: list[str], batch_rows: int, progress: bool, column: str | None = None
) -> Iterator[dict[str, Any]]:
    from keras_lstm_opt.data.readers import iter_records
    from keras_lstm_opt.io import fs
    from keras_lstm_opt.progress import Progress

    text = column or (run.info.get("text") or {}).get("column", "text")
    names = run.class_names or []
    headers = {p: columns_of(p) for p in paths}  # each file's columns, checked up front
    for path in paths:
        need_columns(path, {} if column else {text: "--text"}, headers[path])
    sizes = [fs.info(p)["size"] for p in paths] if progress else [0] * len(paths)
    meter = Progress("predict", total=sum(sizes), unit="bytes", enabled=progress)
    base = 0
    finished = False
    try:
        for path, size in zip(paths, sizes, strict=True):
            ident = _id_column(headers[path], {text})
            wanted = [ident, text] if ident else [text]
            for batch in iter_records(path, wanted, batch_rows=batch_rows):
                probs = run.probabilities(batch.columns[text], batch_rows)
                for i, p in enumerate(probs):
                    row: dict[str, Any] = {ident: batch.columns[ident][i]} if ident else {}
                    row[text] = batch.columns[text][i]
                    row["label"] = names[int(p.argmax())]
                    row["probabilities"] = {n: float(v) for n, v in zip(names, p, strict=True)}
                    yield row
                meter.update(base + batch.offset)
            base += size
        finished = True
    finally:
        meter.close(finished)  # a bar on a terminal ends also when a row fails


def _forecast_rows(run: Run, src: str, paths: list[str]) -> Iterator[dict[str, Any]]:
    """The forecast after the last row of the series (read whole and sorted by time, as
    `data import` reads it)."""
    from keras_lstm_opt.data.series import format_time, read_series

    time_col = str((run.info.get("series") or {}).get("time"))
    series = read_series(paths, time_col, run.columns)
    table: dict[str, Any] = series.table()
    table[time_col] = [format_time(t, series.kind) for t in series.times[-8:]]
    forecast = run.forecast_table(table, what=src, where=series.where)
    keys = list(forecast)
    for i in range(len(forecast["step"])):
        yield {k: forecast[k][i] for k in keys}


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    probs = row.pop("probabilities", None)
    if probs:
        row.update({f"p_{k}": v for k, v in probs.items()})
    return row


def _emit(rows: Iterator[dict[str, Any]], fh: IO[str], fmt: str) -> int:
    n = 0
    writer: Any = None
    for row in rows:
        if fmt == "jsonl":
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        else:
            row = _flat(row)
            if writer is None:
                writer = csv.DictWriter(
                    fh, fieldnames=list(row), delimiter="\t" if fmt == "tsv" else ","
                )
                writer.writeheader()
            writer.writerow(row)
        n += 1
    return n


def _write(rows: Iterator[dict[str, Any]], out: str | None, fmt: str) -> str:
    if out is None or out == "-":
        _emit(rows, sys.stdout, fmt)
        sys.stdout.flush()
        return "-"
    if is_remote(out):
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, "predictions")
            with open(local, "w", encoding="utf-8", newline="") as fh:
                n = _emit(rows, fh, fmt)
            try:
                fs.put(local, out)
            except Exception as exc:  # noqa: BLE001  (the file system's own error)
                from keras_lstm_opt.io.storage import redact

                raise StorageError(
                    f"--out {out}: cannot be written: {redact(str(exc))[:300]}"
                ) from None
    else:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with atomic_open(out, newline="") as fh:
            n = _emit(rows, fh, fmt)
    log.info("wrote %d prediction rows to %s", n, out)
    return out
