"""The columns of a raw file that `predict` and `evaluate --data` read, checked up front.

A text run reads its texts (and, to evaluate, its labels) from the columns named at the
import (`data import --text/--label`). A file whose columns are named otherwise gets one
line naming the file, the column the run reads, the columns it has, and the option that
names another (`--text COLUMN`, `--label COLUMN`), before anything is predicted.

Example:

    columns_of("new.csv")                              # ["sentence", "y"]
    need_columns("new.csv", {"body": "--text"})        # DataError: no column 'body' ...
    need_columns("new.csv", {"sentence": "--text"})    # fine
"""

from __future__ import annotations

import csv
import json

from keras_lstm_opt.errors import DataError
from keras_lstm_opt.extras import need


def columns_of(path: str) -> list[str]:
    """The column names of a data file (the CSV/TSV header, the first JSON object's
    keys, the Parquet schema)."""
    from keras_lstm_opt.data.readers import detect_format, open_lines

    kind = detect_format(path)
    if kind == "parquet":
        pq = need("pyarrow.parquet", "Parquet input", extra="parquet")
        pa = need("pyarrow", "Parquet input", extra="parquet")

        from keras_lstm_opt.io.fs import open as open_file

        try:
            with open_file(path, "rb") as fh:
                return [str(n) for n in pq.ParquetFile(fh).schema_arrow.names]
        except (OSError, ValueError, pa.ArrowException):
            return []  # not Parquet after all, or cut short: iter_records names what is wrong
    with open_lines(path) as lines:
        for line in lines:
            if not line.strip():
                continue
            if kind == "jsonl":
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    return []  # iter_records names the line
                return [str(k) for k in obj] if isinstance(obj, dict) else []
            return [
                h.strip()
                for h in next(csv.reader([line], delimiter="\t" if kind == "tsv" else ","), [])
            ]
    return []


def need_columns(path: str, columns: dict[str, str], have: list[str] | None = None) -> None:
    """Raise a DataError naming `path` unless it has every column of `columns`.

    Args:
        path: the file (its name is in the message).
        columns: {column the run reads: the option that names another, e.g. "--text"}.
        have: the file's columns, if read already (else `columns_of(path)`; an empty list,
            a header that cannot be read, leaves the message to the reader).

    Example:

        need_columns("new.csv", {"body": "--text"}, ["sentence", "y"])
        # DataError: new.csv: no column 'body' (columns: sentence, y); the run reads ...
    """
    if not columns:
        return
    have = columns_of(path) if have is None else have
    for name, option in columns.items():
        if have and name not in have:
            raise DataError(
                f"{path}: no column {name!r} (columns: {', '.join(have)}); the run reads "
                f"{name!r}, as imported: name yours with {option} COLUMN ({option[2:]}= "
                "from Python)"
            )
