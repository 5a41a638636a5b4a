"""Stream rows from CSV, TSV, JSON Lines and Parquet files, naming where each came from.

Files are read in batches of `batch_rows` rows, never whole, so a file larger than
memory streams through. Every row carries its place ("data.csv, line 17", or "row 17"
for Parquet), so an error about it names the file, the line and the column.

Formats by suffix: .csv, .tsv/.tab, .jsonl/.json/.ndjson (one JSON object a line),
.parquet/.pq; the text formats may be gzipped (.csv.gz, ..., or any name when the file
starts with gzip's magic bytes). With `on_bad_row="skip"` a row holding bytes that are
not UTF-8 is skipped and counted like any bad row. Paths may be remote
(s3:// needs the io extra; see `storage`).

Example:

    for path in expand_sources("data/*.csv"):
        for batch in iter_records(path, ["text", "label"]):
            for text, label, where in zip(batch.columns["text"],
                                          batch.columns["label"], batch.where):
                ...
"""

from __future__ import annotations

import csv
import glob
import gzip
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from keras_lstm_opt.errors import DataError, UsageError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.fs import open as open_file
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.io.storage import check_paths

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
BATCH_BYTES = 4 * 1024 * 1024  # a batch of long rows ends early: memory stays bounded
FIELD_LIMIT = 16 * 1024 * 1024  # the longest CSV field (characters): bounds a runaway quote
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Batch:
    """Rows read from one file: column -> values, each row's place, and rows skipped.

    `where[i]` is "file, line N" (text formats) or "file, row N" (Parquet). `skipped`
    holds one message per bad row left out (only with `on_bad_row="skip"`).
    """

    columns: dict[str, list[Any]]
    where: list[str]
    skipped: list[str] = field(default_factory=list)
    offset: int = 0  # bytes of the file (as stored: gzip compressed) read up to this batch's end

    def __len__(self) -> int:
        return len(self.where)


def detect_format(path: str, fmt: str | None = None) -> str:
    """ "csv", "tsv", "jsonl" or "parquet" from `fmt` or the file's suffix."""
    if fmt is not None:
        if fmt not in set(FORMATS.values()):
            raise UsageError(f"format {fmt!r}: expected one of {sorted(set(FORMATS.values()))}")
        return fmt
    name = path.lower().removesuffix(".gz")
    found = FORMATS.get(os.path.splitext(name)[1])
    if found is None or (found == "parquet" and path.lower().endswith(".gz")):
        raise UsageError(
            f"{path}: unknown format; name it .csv, .tsv, .jsonl or .parquet "
            "(text formats may end in .gz)"
        )
    return found


def expand_sources(src: str) -> list[str]:
    """The files `src` names: one file, a glob pattern, or a directory (its data files).

    Args:
        src: a path, local or remote (s3:// needs the io extra), possibly with * ? [ ].

    Returns:
        The files, sorted.

    Raises:
        DataError: nothing matches (the message names `src`).
        StorageError: a remote path that cannot be used here.
    """
    check_paths({"src": src})
    if is_remote(src):
        if any(c in src for c in "*?["):
            found = fs.glob(src)
        elif fs.isdir(src):
            found = [src.rstrip("/") + "/" + n for n in fs.listdir(src)]
            found = [p for p in found if _known(p)]
        else:
            found = [src] if fs.exists(src) else []
    elif any(c in src for c in "*?["):
        found = [p for p in glob.glob(src) if os.path.isfile(p)]
    elif os.path.isdir(src):
        found = [os.path.join(src, n) for n in os.listdir(src)]
        found = [p for p in found if os.path.isfile(p) and _known(p)]
    else:
        found = [src] if os.path.isfile(src) else []
    if not found:
        raise DataError(
            f"{src}: no such file"
            if not any(c in src for c in "*?[")
            else f"{src}: no file matches"
        )
    return sorted(found)


def _known(path: str) -> bool:
    try:
        detect_format(path)
    except DataError:
        return False
    return True


def iter_records(
    path: str,
    columns: Sequence[str],
    fmt: str | None = None,
    batch_rows: int = 10000,
    on_bad_row: str = "error",
    batch_bytes: int = BATCH_BYTES,
) -> Iterator[Batch]:
    """Stream `columns` of the file at `path` in batches of at most `batch_rows` rows.

    Args:
        path: one file (see `expand_sources` for patterns).
        columns: the columns to read; each row must have them all.
        fmt: "csv", "tsv", "jsonl" or "parquet"; None = from the suffix.
        batch_rows: rows per batch (memory is bounded by this, not the file's size).
        on_bad_row: "error" raises DataError at the first bad row (a missing column,
            an unparsable line); "skip" leaves it out and lists it in `Batch.skipped`.
        batch_bytes: text formats: a batch also ends after this many bytes of input, so
            long rows do not make large batches.

    Yields:
        `Batch`es. Values are as the format gives them: strings for CSV/TSV, JSON
        values for JSON Lines, Python values for Parquet (None for null).

    Raises:
        DataError: naming the file, the line (or row) and the column.
    """
    if on_bad_row not in ("error", "skip"):
        raise UsageError(f"on_bad_row: expected 'error' or 'skip', got {on_bad_row!r}")
    if batch_rows < 1:
        raise UsageError(f"batch_rows: must be >= 1, got {batch_rows}")
    kind = detect_format(path, fmt)
    if kind == "parquet":
        yield from _parquet(path, list(columns), batch_rows)
        return
    reader = _jsonl if kind == "jsonl" else _delimited
    with open_lines(path, skip_bad=on_bad_row == "skip") as lines:
        batch, start = Batch({c: [] for c in columns}, []), 0
        for where, values, problem in reader(path, lines, list(columns), kind):
            if problem is not None:
                if on_bad_row == "error":
                    raise DataError(problem)
                batch.skipped.append(problem)
                continue
            for c, v in zip(columns, values, strict=True):
                batch.columns[c].append(v)
            batch.where.append(where)
            if len(batch.where) >= batch_rows or lines.bytes - start >= batch_bytes:
                batch.offset = lines.position()
                yield batch
                batch = Batch({c: [] for c in columns}, [])
                start = lines.bytes
        if batch.where or batch.skipped:
            batch.offset = lines.position()
            yield batch


Row = tuple[str, list[Any], str | None]  # (where, values, problem or None)


class _Lines:
    """A file's lines as text, decoded one by one so a bad byte names its line."""

    def __init__(self, path: str, skip_bad: bool = False) -> None:
        self.path = path
        raw: IO[bytes] = open_file(path, "rb")
        self._raw = raw
        self.gzip = path.lower().endswith(".gz") or _gzip_magic(raw)
        self._fh: Any = gzip.GzipFile(fileobj=raw) if self.gzip else raw
        self.lineno = 0
        self.bytes = 0
        # skip_bad: an undecodable line is decoded with U+FFFD and its problem kept here
        # (line number -> message) for the reader to skip the row that holds it
        self.skip_bad = skip_bad
        self.bad: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        try:
            for raw in self._fh:
                self.lineno += 1
                self.bytes += len(raw)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    problem = (
                        f"{self.path}, line {self.lineno}: not UTF-8 text (byte "
                        f"{raw[exc.start]:#04x} at character {exc.start + 1})"
                    )
                    if not self.skip_bad:
                        raise DataError(problem) from None
                    self.bad[self.lineno] = problem
                    text = raw.decode("utf-8", "replace")
                if self.lineno == 1:
                    text = text.removeprefix("\ufeff")
                yield text
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            what = "gzip data " if self.gzip else ""
            raise DataError(
                f"{self.path}, line {self.lineno + 1}: {what}cannot be read ({exc})"
            ) from None

    def position(self) -> int:
        """Bytes of the stored file read so far (compressed bytes for gzip)."""
        try:
            return int(self._raw.tell())
        except (OSError, ValueError):
            return self.bytes

    def undecodable(self, first: int, last: int) -> str | None:
        """The problem of the first undecodable line in `first..last` (forgetting those
        up to `last`), or None: the row on those lines is to be skipped."""
        found = None
        for n in [n for n in self.bad if n <= last]:
            problem = self.bad.pop(n)
            if n >= first and found is None:
                found = problem
        return found

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()
        self._raw.close()


def _gzip_magic(raw: IO[bytes]) -> bool:
    """Whether the file starts with gzip's magic bytes (1f 8b), whatever its name."""
    try:
        head = raw.read(2)
        raw.seek(0)
    except (OSError, ValueError):  # not seekable: go by the name
        return False
    return head == GZIP_MAGIC


def open_lines(path: str, skip_bad: bool = False) -> _Lines:
    """The file's lines as text (gzip by name or by its first bytes); `skip_bad`: see
    `_Lines`."""
    if is_remote(path):
        if not fs.exists(path):
            raise DataError(f"{path}: no such file")
    elif not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    return _Lines(path, skip_bad)


def _delimited(path: str, lines: _Lines, columns: list[str], kind: str) -> Iterator[Row]:
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    reader = csv.reader(iter(lines), delimiter="\t" if kind == "tsv" else ",", strict=True)
    name = "TSV" if kind == "tsv" else "CSV"
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: empty file (expected a header line naming the columns)") from None
    except csv.Error as exc:
        raise DataError(f"{path}, line 1: unparsable {name} header ({exc})") from None
    if lines.bad:  # column names cannot be guessed from bytes that are not UTF-8
        raise DataError(lines.bad[min(lines.bad)])
    header = [h.strip() for h in header]
    have = ", ".join(header)
    for c in columns:
        if c not in header:
            raise DataError(
                f"{path}, line 1, column {c!r}: missing from the header (columns: {have})"
            )
    index = [header.index(c) for c in columns]
    width = len(header)
    last = reader.line_num
    while True:
        start = last + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = reader.line_num
            yield f"{path}, line {start}", [], f"{path}, line {start}: unparsable {name} ({exc})"
            continue
        last = reader.line_num
        where = f"{path}, line {start}"
        undecodable = lines.undecodable(start, last) if lines.bad else None
        if undecodable is not None:
            yield where, [], undecodable
            continue
        if not row:  # a blank line
            continue
        if len(row) < width:
            missing = (
                columns[[i >= len(row) for i in index].index(True)]
                if any(i >= len(row) for i in index)
                else None
            )
            if missing is not None:
                yield (
                    where,
                    [],
                    (
                        f"{where}, column {missing!r}: missing (the row has "
                        f"{len(row)} of the header's {width} fields)"
                    ),
                )
                continue
        if len(row) > width:
            sep = "a tab" if kind == "tsv" else "','"
            yield (
                where,
                [],
                (
                    f"{where}: unparsable {name}: {len(row)} fields, the header "
                    f"has {width} (quote fields that contain {sep})"
                ),
            )
            continue
        yield where, [row[i] for i in index], None


def _jsonl(path: str, lines: _Lines, columns: list[str], kind: str) -> Iterator[Row]:
    for text in lines:
        where = f"{path}, line {lines.lineno}"
        undecodable = lines.undecodable(lines.lineno, lines.lineno) if lines.bad else None
        if undecodable is not None:
            yield where, [], undecodable
            continue
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield where, [], (f"{where}: not valid JSON: {exc.msg} (character {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield where, [], f"{where}: expected a JSON object, got {type(obj).__name__}"
            continue
        missing = [c for c in columns if c not in obj]
        if missing:
            yield (
                where,
                [],
                (
                    f"{where}, column {missing[0]!r}: missing (keys: "
                    f"{', '.join(map(str, obj)) or 'none'})"
                ),
            )
            continue
        yield where, [obj[c] for c in columns], None


def _parquet(path: str, columns: list[str], batch_rows: int) -> Iterator[Batch]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # one line: what to pip install
        from keras_lstm_opt.extras import missing

        raise missing("pyarrow", f"{path}: Parquet input", "parquet", exc) from None

    if not is_remote(path) and not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    source: Any = open_file(path, "rb") if is_remote(path) else path
    try:
        try:
            pf = pq.ParquetFile(source)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
        names = pf.schema_arrow.names
        for c in columns:
            if c not in names:
                raise DataError(f"{path}, column {c!r}: missing (columns: {', '.join(names)})")
        row, rows = 0, max(pf.metadata.num_rows, 1)
        size = fs.info(path)["size"]
        try:
            for rb in pf.iter_batches(batch_size=batch_rows, columns=columns):
                values = {c: rb.column(c).to_pylist() for c in columns}
                where = [f"{path}, row {row + i + 1}" for i in range(rb.num_rows)]
                row += rb.num_rows
                yield Batch(values, where, offset=size * row // rows)  # by rows, of the size
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}, after row {row}: cannot be read ({exc})") from None
    finally:
        if not isinstance(source, str):
            source.close()
