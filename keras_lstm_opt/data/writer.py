"""Write NumPy arrays, CSV files and text-line files as sharded TFRecords + schema.json.

Python lists work as the equivalent arrays (a list of lists holds variable-length rows).
The output directory may be remote (s3:// needs the io extra; see `storage`): it is
checked before anything is written. The shards' names and their record in schema.json:
`writer_schema.py`; a split written as its examples arrive: `writer_stream.ShardWriter`.

Example:

    write_tfrecords("data/", {"tokens": [np.array([3, 4, 5]), np.array([7])],
                              "label": np.array([1, 0])},
                    split="train", shards=2, inputs="tokens", target="label")
    write_tfrecords("s3://bucket/data", {"tokens": [[3, 4, 5], [7]], "label": [1, 0]})
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_lstm_opt.data.schema import COMPRESSIONS, DataError
from keras_lstm_opt.data.writer_schema import shard_name, update_schema
from keras_lstm_opt.data.writer_stream import ShardWriter
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.fs import makedirs
from keras_lstm_opt.io.fs import open as open_file
from keras_lstm_opt.io.storage import StorageError, check_paths, error_text

__all__ = ["ShardWriter", "shard_name", "write_csv", "write_text_lines", "write_tfrecords"]


def _kind(name: str, dtype: np.dtype) -> str:
    if np.issubdtype(dtype, np.integer) or dtype.kind == "b":
        return "int64"
    if np.issubdtype(dtype, np.floating):
        return "float32"
    if dtype.kind in "US":
        return "string"
    raise DataError(f"feature {name!r}: unsupported dtype {dtype}")


def _column(name: str, column: Any) -> tuple[Any, str, list[int | None]]:
    """One feature's examples as stored, their dtype and shape (None = variable axis).

    An array `[N, ...]` has a fixed shape. A list (or tuple, or object array) of N
    single values is the array `np.asarray(column)`; a list of N lists or arrays holds
    variable-length rows (their first axis may differ, the other axes may not).
    """
    if isinstance(column, np.ndarray) and column.dtype != object:
        if column.ndim == 0:
            raise DataError(f"feature {name!r}: expected one value per example, got a scalar")
        return column, _kind(name, column.dtype), list(column.shape[1:])
    rows = []
    for i, row in enumerate(column):
        try:
            rows.append(np.asarray(row))
        except ValueError as exc:  # a ragged nested list inside one example
            raise DataError(f"feature {name!r}, example {i}: {exc}") from None
    if not rows:
        raise DataError(f"feature {name!r}: no examples")
    single = [r.ndim == 0 for r in rows]
    if all(single):  # a list of scalars: exactly the array np.asarray(column)
        arr = np.stack(rows)
        return arr, _kind(name, arr.dtype), []
    if any(single):
        raise DataError(
            f"feature {name!r}, example {single.index(True)}: a single value "
            "among sequences; give every example a list (or every one a value)"
        )
    inner = {r.shape[1:] for r in rows}
    if len(inner) != 1:
        raise DataError(f"feature {name!r}: rows differ beyond the first axis: {inner}")
    empty = [r.shape[0] == 0 for r in rows]
    if any(empty):
        raise DataError(
            f"feature {name!r}, example {empty.index(True)}: variable-length "
            "rows must hold at least one element"
        )
    try:
        dtype = functools.reduce(np.promote_types, {r.dtype for r in rows})
    except TypeError as exc:  # e.g. numbers in some rows, strings in others
        raise DataError(f"feature {name!r}: rows of incompatible types ({exc})") from None
    return rows, _kind(name, dtype), [None, *rows[0].shape[1:]]


def _to_feature(value: Any, dtype: str) -> Any:
    import tensorflow as tf

    flat = np.asarray(value).reshape(-1)
    if dtype == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=flat.astype(np.int64)))
    if dtype == "float32":
        return tf.train.Feature(float_list=tf.train.FloatList(value=flat.astype(np.float32)))
    return tf.train.Feature(
        bytes_list=tf.train.BytesList(
            value=[v if isinstance(v, bytes) else str(v).encode("utf-8") for v in flat]
        )
    )


def write_tfrecords(
    out_dir: str,
    features: dict[str, Any],
    split: str = "train",
    shards: int = 1,
    compression: str = "GZIP",
    inputs: str | None = None,
    target: str | None = None,
    task: str = "custom",
    info: dict[str, Any] | None = None,
) -> list[str]:
    """Write one split of examples as `shards` TFRecord files and update schema.json.

    Args:
        out_dir: directory (created if missing), local or remote (s3:// needs the io
            extra). Other splits' files are kept.
        features: name -> array `[N, ...]`, list of N values (as `np.asarray`), or list
            of N variable-length lists/arrays.
        split: file-name prefix, e.g. "train" or "validation".
        shards: number of files; examples are dealt round-robin.
        compression: "GZIP" (default), "ZLIB" or "NONE".
        inputs, target: the model's input and target feature names.
        task: recorded in the schema ("text", "forecast" or "custom").
        info: extra facts kept in the schema (vocab_size, num_classes, ...).

    Returns:
        The written file paths.

    Raises:
        DataError: bad examples or settings (nothing is written).
        StorageError: `out_dir` is remote and unusable here (nothing is written), or
            writing to it failed; the message names the path.
    """
    import tensorflow as tf

    check_paths({"out_dir": out_dir})  # s3:// loads tensorflow-io's plugins, or fails
    if compression not in COMPRESSIONS:
        raise DataError(f"compression: expected one of {sorted(COMPRESSIONS)}, got {compression!r}")
    if shards < 1:
        raise DataError(f"shards: must be >= 1, got {shards}")
    names = list(features)
    counts = {n: len(features[n]) for n in names}
    if len(set(counts.values())) != 1:
        raise DataError(f"features have different numbers of examples: {counts}")
    n = counts[names[0]]
    if n < shards:
        raise DataError(f"{n} examples cannot fill {shards} shards")
    columns = {name: _column(name, features[name]) for name in names}
    specs = {name: (dtype, shape) for name, (_, dtype, shape) in columns.items()}
    options = tf.io.TFRecordOptions(compression_type="" if compression == "NONE" else compression)
    paths = [
        os.path.join(out_dir, shard_name(split, i, shards, compression)) for i in range(shards)
    ]
    tmps = fs.write_targets(paths)
    try:
        makedirs(out_dir)
        writers = [tf.io.TFRecordWriter(t, options) for t in tmps]
        try:
            for i in range(n):
                ex = tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            name: _to_feature(col[i], dtype)
                            for name, (col, dtype, _) in columns.items()
                        }
                    )
                )
                writers[i % shards].write(ex.SerializeToString())
        finally:
            for w in writers:
                w.close()
        fs.publish(tmps, paths)
    except (tf.errors.OpError, OSError) as exc:
        fs.discard(tmps)
        raise StorageError(
            f"out_dir = {out_dir!r}: writing the shards failed: {error_text(exc)}"
        ) from None
    update_schema(
        out_dir,
        split,
        paths,
        n,
        specs,
        compression,
        inputs or names[0],
        target or names[-1],
        task,
        info or {},
    )
    return paths


def _open_input(path: str, newline: str | None = None) -> Any:
    if not fs.exists(path):
        raise DataError(f"{path}: no such file")
    return open_file(path, "r", newline)


def write_csv(
    csv_path: str,
    out_dir: str,
    target_columns: Sequence[str],
    window: int,
    horizon: int,
    feature_columns: Sequence[str] | None = None,
    split: str = "train",
    shards: int = 1,
    compression: str = "GZIP",
    stride: int = 1,
) -> list[str]:
    """Turn a CSV time series (one row per time step) into forecasting windows.

    Each example holds `x` (`window` steps of the feature columns) and `y` (the next
    `horizon` steps of the target columns, flattened). Either path may be remote.
    """
    check_paths({"csv_path": csv_path, "out_dir": out_dir})
    with _open_input(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        cols = feature_columns or reader.fieldnames or []
        rows = []
        for lineno, row in enumerate(reader, start=2):
            try:
                rows.append([float(row[c]) for c in cols] + [float(row[c]) for c in target_columns])
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{csv_path}, line {lineno}: {exc!r}") from None
    data = np.asarray(rows, dtype=np.float32)
    nf = len(cols)
    starts = range(0, len(data) - window - horizon + 1, stride)
    if not starts:
        raise DataError(f"{csv_path}: {len(data)} rows are fewer than window + horizon")
    x = np.stack([data[s : s + window, :nf] for s in starts])
    y = np.stack([data[s + window : s + window + horizon, nf:].reshape(-1) for s in starts])
    return write_tfrecords(
        out_dir,
        {"x": x, "y": y},
        split,
        shards,
        compression,
        "x",
        "y",
        "forecast",
        {"n_features": nf, "window": window, "horizon": horizon},
    )


def write_text_lines(
    path: str,
    out_dir: str,
    vocab_size: int = 20000,
    max_length: int = 200,
    split: str = "train",
    shards: int = 1,
    compression: str = "GZIP",
    vocabulary: list[str] | None = None,
) -> list[str]:
    """Turn `label<TAB>text` lines into token-id sequences (Keras TextVectorization).

    The vocabulary is learnt from the file unless given, and saved in the schema so
    other splits reuse it (pass `vocabulary=read_schema(dir)["info"]["vocabulary"]`).
    Either path may be remote.
    """
    import keras

    check_paths({"path": path, "out_dir": out_dir})
    labels, texts = [], []
    with _open_input(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            label, sep, text = line.rstrip("\n").partition("\t")
            if not sep or not label.strip().lstrip("-").isdigit():
                raise DataError(f"{path}, line {lineno}: expected '<integer label>\\t<text>'")
            labels.append(int(label))
            texts.append(text)
    vec = keras.layers.TextVectorization(
        max_tokens=vocab_size, output_sequence_length=None, vocabulary=vocabulary
    )
    if vocabulary is None:
        vec.adapt(texts)
    ids = vec(texts).numpy()
    tokens = []
    for i, row in enumerate(ids):
        row = row[row > 0][:max_length]
        tokens.append(row if row.size else np.array([1]))  # 1 = out-of-vocabulary
        if not row.size:
            print(f"{path}: example {i} has no known token; kept as a single OOV token")
    vocab = vec.get_vocabulary()
    return write_tfrecords(
        out_dir,
        {"tokens": tokens, "label": np.asarray(labels)},
        split,
        shards,
        compression,
        "tokens",
        "label",
        "text",
        {"vocab_size": len(vocab), "num_classes": int(max(labels)) + 1, "vocabulary": vocab},
    )
