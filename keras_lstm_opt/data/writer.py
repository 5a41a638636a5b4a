"""Write NumPy arrays, CSV files and text-line files as sharded TFRecords + schema.json.

Example:

    write_tfrecords("data/", {"tokens": [np.array([3, 4, 5]), np.array([7])],
                              "label": np.array([1, 0])},
                    split="train", shards=2, inputs="tokens", target="label")
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_lstm_opt.data.schema import COMPRESSIONS, DataError, read_schema, write_schema


def shard_name(split: str, index: int, shards: int, compression: str) -> str:
    return f"{split}-{index:05d}-of-{shards:05d}{COMPRESSIONS[compression]}"


def _feature_info(name: str, column: Any) -> tuple[str, list[int | None]]:
    """dtype and shape (None = variable first axis) of one column of examples."""
    if isinstance(column, np.ndarray) and column.dtype != object:
        arr = column
        shape: list[int | None] = list(arr.shape[1:])
    else:
        rows = [np.asarray(r) for r in column]
        if not rows:
            raise DataError(f"feature {name!r}: no examples")
        inner = {r.shape[1:] for r in rows}
        if len(inner) != 1:
            raise DataError(f"feature {name!r}: rows differ beyond the first axis: {inner}")
        if any(r.ndim == 0 or r.shape[0] == 0 for r in rows):
            bad = next(i for i, r in enumerate(rows) if r.ndim == 0 or r.shape[0] == 0)
            raise DataError(f"feature {name!r}, example {bad}: variable-length rows must "
                            "hold at least one element")
        arr = rows[0]
        shape = [None, *rows[0].shape[1:]]
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        return "int64", shape
    if np.issubdtype(arr.dtype, np.floating):
        return "float32", shape
    if arr.dtype.kind in "US":
        return "string", shape
    raise DataError(f"feature {name!r}: unsupported dtype {arr.dtype}")


def _to_feature(value: Any, dtype: str) -> Any:
    import tensorflow as tf

    flat = np.asarray(value).reshape(-1)
    if dtype == "int64":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=flat.astype(np.int64)))
    if dtype == "float32":
        return tf.train.Feature(float_list=tf.train.FloatList(value=flat.astype(np.float32)))
    return tf.train.Feature(bytes_list=tf.train.BytesList(
        value=[str(v).encode("utf-8") for v in flat]))


def write_tfrecords(out_dir: str, features: dict[str, Any], split: str = "train",
                    shards: int = 1, compression: str = "GZIP", inputs: str | None = None,
                    target: str | None = None, task: str = "custom",
                    info: dict[str, Any] | None = None) -> list[str]:
    """Write one split of examples as `shards` TFRecord files and update schema.json.

    Args:
        out_dir: directory (created if missing). Other splits' files are kept.
        features: name -> array `[N, ...]` or list of N variable-length arrays.
        split: file-name prefix, e.g. "train" or "validation".
        shards: number of files; examples are dealt round-robin.
        compression: "GZIP" (default), "ZLIB" or "NONE".
        inputs, target: the model's input and target feature names.
        task: recorded in the schema ("text", "forecast" or "custom").
        info: extra facts kept in the schema (vocab_size, num_classes, ...).

    Returns:
        The written file paths.
    """
    import tensorflow as tf

    if compression not in COMPRESSIONS:
        raise DataError(f"compression: expected one of {sorted(COMPRESSIONS)}, "
                        f"got {compression!r}")
    if shards < 1:
        raise DataError(f"shards: must be >= 1, got {shards}")
    names = list(features)
    counts = {n: len(features[n]) for n in names}
    if len(set(counts.values())) != 1:
        raise DataError(f"features have different numbers of examples: {counts}")
    n = counts[names[0]]
    if n < shards:
        raise DataError(f"{n} examples cannot fill {shards} shards")
    specs = {name: _feature_info(name, features[name]) for name in names}
    os.makedirs(out_dir, exist_ok=True)
    options = tf.io.TFRecordOptions(compression_type="" if compression == "NONE"
                                    else compression)
    paths = [os.path.join(out_dir, shard_name(split, i, shards, compression))
             for i in range(shards)]
    writers = [tf.io.TFRecordWriter(p + ".tmp", options) for p in paths]
    try:
        for i in range(n):
            ex = tf.train.Example(features=tf.train.Features(feature={
                name: _to_feature(features[name][i], specs[name][0]) for name in names}))
            writers[i % shards].write(ex.SerializeToString())
    finally:
        for w in writers:
            w.close()
    for p in paths:
        os.replace(p + ".tmp", p)
    _update_schema(out_dir, split, paths, n, specs, compression, inputs or names[0],
                   target or names[-1], task, info or {})
    return paths


def _update_schema(out_dir: str, split: str, paths: list[str], n: int,
                   specs: dict[str, tuple[str, list[int | None]]], compression: str,
                   inputs: str, target: str, task: str, info: dict[str, Any]) -> None:
    try:
        schema = read_schema(out_dir)
    except DataError:
        schema = {"splits": {}, "info": {}}
    feats = {k: {"dtype": d, "shape": s} for k, (d, s) in specs.items()}
    if schema.get("features", feats) != feats:
        raise DataError(f"{out_dir}: split {split!r} has features {feats}, but the schema "
                        f"already there says {schema['features']}; use another directory")
    schema.update(task=task, compression=compression, inputs=inputs, target=target,
                  features=feats)
    schema["splits"][split] = {"files": [os.path.basename(p) for p in paths], "examples": n}
    schema["info"].update(info)
    write_schema(out_dir, schema)


def write_csv(csv_path: str, out_dir: str, target_columns: Sequence[str], window: int,
              horizon: int, feature_columns: Sequence[str] | None = None,
              split: str = "train", shards: int = 1, compression: str = "GZIP",
              stride: int = 1) -> list[str]:
    """Turn a CSV time series (one row per time step) into forecasting windows.

    Each example holds `x` (`window` steps of the feature columns) and `y` (the next
    `horizon` steps of the target columns, flattened).
    """
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = feature_columns or reader.fieldnames or []
        rows = []
        for lineno, row in enumerate(reader, start=2):
            try:
                rows.append([float(row[c]) for c in cols] + [float(row[c])
                                                            for c in target_columns])
            except (KeyError, TypeError, ValueError) as exc:
                raise DataError(f"{csv_path}, line {lineno}: {exc!r}") from None
    data = np.asarray(rows, dtype=np.float32)
    nf = len(cols)
    starts = range(0, len(data) - window - horizon + 1, stride)
    if not starts:
        raise DataError(f"{csv_path}: {len(data)} rows are fewer than window + horizon")
    x = np.stack([data[s:s + window, :nf] for s in starts])
    y = np.stack([data[s + window:s + window + horizon, nf:].reshape(-1) for s in starts])
    return write_tfrecords(out_dir, {"x": x, "y": y}, split, shards, compression, "x", "y",
                           "forecast", {"n_features": nf, "window": window,
                                        "horizon": horizon})


def write_text_lines(path: str, out_dir: str, vocab_size: int = 20000, max_length: int = 200,
                     split: str = "train", shards: int = 1, compression: str = "GZIP",
                     vocabulary: list[str] | None = None) -> list[str]:
    """Turn `label<TAB>text` lines into token-id sequences (Keras TextVectorization).

    The vocabulary is learnt from the file unless given, and saved in the schema so
    other splits reuse it (pass `vocabulary=read_schema(dir)["info"]["vocabulary"]`).
    """
    import keras

    labels, texts = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            label, sep, text = line.rstrip("\n").partition("\t")
            if not sep or not label.strip().lstrip("-").isdigit():
                raise DataError(f"{path}, line {lineno}: expected '<integer label>\\t<text>'")
            labels.append(int(label))
            texts.append(text)
    vec = keras.layers.TextVectorization(max_tokens=vocab_size,
                                         output_sequence_length=None, vocabulary=vocabulary)
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
    return write_tfrecords(out_dir, {"tokens": tokens, "label": np.asarray(labels)}, split,
                           shards, compression, "tokens", "label", "text",
                           {"vocab_size": len(vocab), "num_classes": int(max(labels)) + 1,
                            "vocabulary": vocab})
