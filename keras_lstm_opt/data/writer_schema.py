"""A written split's shard files: their names, and their record in schema.json.

Both writers (`write_tfrecords`, all examples at once, and `ShardWriter`, as they arrive)
name a split's files alike and record them alike once the files are in place: the split's
files and example count, the features' dtypes and shapes (which every split of a directory
shares), the inputs, target, task and info. A remote directory's schema.json is checked,
written whole locally, then copied up in one go.

Example:

    shard_name("train", 0, 4, "GZIP")   # 'train-00000-of-00004.tfrecord.gz'
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from keras_lstm_opt.data.schema import (
    COMPRESSIONS,
    FORMAT,
    DataError,
    read_schema,
    schema_path,
    validate_schema,
    write_schema,
)
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.io.storage import StorageError, error_text


def shard_name(split: str, index: int, shards: int, compression: str) -> str:
    """A shard's file name, e.g. `train-00003-of-00016.tfrecord.gz` (the suffix by
    `compression`)."""
    return f"{split}-{index:05d}-of-{shards:05d}{COMPRESSIONS[compression]}"


def update_schema(
    out_dir: str,
    split: str,
    paths: list[str],
    n: int,
    specs: dict[str, tuple[str, list[int | None]]],
    compression: str,
    inputs: str,
    target: str,
    task: str,
    info: dict[str, Any],
) -> None:
    """Record a written split in `out_dir`'s schema.json: its shard files and examples,
    the features' specs (refused when they differ from a split already there), the task,
    compression, input and target names, and `info` merged in (a remote schema is written
    locally, validated, then copied up whole)."""
    try:
        schema = read_schema(out_dir)
    except DataError:
        schema = {"splits": {}, "info": {}}
    feats = {k: {"dtype": d, "shape": s} for k, (d, s) in specs.items()}
    if schema.get("features", feats) != feats:
        raise DataError(
            f"{out_dir}: split {split!r} has features {feats}, but the schema "
            f"already there says {schema['features']}; use another directory"
        )
    schema.update(
        {
            "task": task,
            "compression": compression,
            "inputs": inputs,
            "target": target,
            "features": feats,  # type: ignore[typeddict-item]
        }
    )
    schema["splits"][split] = {"files": [os.path.basename(p) for p in paths], "examples": n}
    schema["info"].update(info)
    if not is_remote(out_dir):
        write_schema(out_dir, schema)
        return
    validate_schema({"format": FORMAT, **schema}, schema_path(out_dir))
    with tempfile.TemporaryDirectory() as tmp:  # written whole, then copied up in one go
        try:
            fs.put(write_schema(tmp, schema), schema_path(out_dir))
        except Exception as exc:  # noqa: BLE001  (TensorFlow's or s3fs's error)
            raise StorageError(
                f"{schema_path(out_dir)}: cannot be written: {error_text(exc)}"
            ) from None
