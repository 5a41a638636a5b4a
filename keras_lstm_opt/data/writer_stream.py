"""ShardWriter: one split written as its examples arrive, for data larger than memory.

`write_tfrecords` takes all of a split's examples at once; an import that streams its
files (`import_text`) writes each batch as it is read instead, into files that are moved
into place and recorded in schema.json only when the split is complete (`close`), and
removed when it is not (`abort`).

Example:

    with ShardWriter("data/", "train", 4, {"tokens": ("int64", [None]),
                                           "label": ("int64", [])}) as w:
        w.write({"tokens": [[3, 4], [5]], "label": [1, 0]})
        w.close("tokens", "label", "text", {"vocab_size": 64})
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_lstm_opt.data.schema import COMPRESSIONS, DataError
from keras_lstm_opt.data.writer_schema import shard_name, update_schema
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.fs import makedirs
from keras_lstm_opt.io.storage import StorageError, check_paths, error_text, redact


class ShardWriter:
    """Write one split as examples arrive, dealt round-robin into `shards` files.

    For data that does not fit in memory: `write` takes a batch at a time; `close`
    moves the finished files into place and records them in schema.json (as
    `write_tfrecords` does); `abort` (or leaving a `with` block by an exception)
    removes the unfinished files and leaves schema.json alone.

    Example:

        with ShardWriter("data/", "train", 4, {"tokens": ("int64", [None]),
                                               "label": ("int64", [])}) as w:
            w.write({"tokens": [[3, 4], [5]], "label": [1, 0]})
            w.close("tokens", "label", "text", {"vocab_size": 64})
    """

    def __init__(
        self,
        out_dir: str,
        split: str,
        shards: int,
        specs: dict[str, tuple[str, list[int | None]]],
        compression: str = "GZIP",
    ) -> None:
        import tensorflow as tf

        check_paths({"out_dir": out_dir})
        if compression not in COMPRESSIONS:
            raise DataError(
                f"compression: expected one of {sorted(COMPRESSIONS)}, got {compression!r}"
            )
        if shards < 1:
            raise DataError(f"shards: must be >= 1, got {shards}")
        self.out_dir, self.split, self.specs, self.compression = (
            out_dir,
            split,
            specs,
            compression,
        )
        self.paths = [
            os.path.join(out_dir, shard_name(split, i, shards, compression)) for i in range(shards)
        ]
        self.count = 0
        self._done = False
        options = tf.io.TFRecordOptions(
            compression_type="" if compression == "NONE" else compression
        )
        try:
            makedirs(out_dir)
            self._tmps = fs.write_targets(self.paths)
            self._writers = [tf.io.TFRecordWriter(t, options) for t in self._tmps]
        except tf.errors.OpError as exc:
            raise StorageError(
                f"out_dir = {out_dir!r}: cannot write shards: {redact(exc.message.strip())}"
            ) from None

    def write(self, features: dict[str, Sequence[Any]]) -> None:
        """Append a batch: feature name -> one value (or list/array) per example."""
        import tensorflow as tf

        names = list(self.specs)
        n = len(features[names[0]])
        for i in range(n):
            ex = tf.train.Example()
            feat = ex.features.feature
            for name in names:
                value = features[name][i]
                flat = (
                    value.reshape(-1).tolist()
                    if isinstance(value, np.ndarray)
                    else list(value)
                    if isinstance(value, (list, tuple))
                    else [value]
                )
                kind = self.specs[name][0]
                if kind == "int64":
                    feat[name].int64_list.value.extend(flat)
                elif kind == "float32":
                    feat[name].float_list.value.extend(flat)
                else:
                    feat[name].bytes_list.value.extend(
                        v if isinstance(v, bytes) else str(v).encode("utf-8") for v in flat
                    )
            self.write_serialized(ex.SerializeToString())

    def write_serialized(self, record: bytes) -> None:
        """Append one serialized tf.train.Example."""
        self._writers[self.count % len(self._writers)].write(record)
        self.count += 1

    def _close_writers(self) -> None:
        for w in self._writers:
            w.close()

    def close(
        self, inputs: str, target: str, task: str = "custom", info: dict[str, Any] | None = None
    ) -> list[str]:
        """Finish the files, move them into place and update schema.json; return them."""
        import tensorflow as tf

        if self.count == 0:
            self.abort()
            raise DataError(f"{self.out_dir}: no {self.split} examples to write")
        self._close_writers()
        try:
            fs.publish(self._tmps, self.paths)
        except (tf.errors.OpError, OSError) as exc:
            raise StorageError(
                f"out_dir = {self.out_dir!r}: writing the shards failed: {error_text(exc)}"
            ) from None
        self._done = True
        update_schema(
            self.out_dir,
            self.split,
            self.paths,
            self.count,
            self.specs,
            self.compression,
            inputs,
            target,
            task,
            info or {},
        )
        return self.paths

    def abort(self) -> None:
        """Close and delete the unfinished files (nothing is recorded in schema.json)."""
        if self._done:
            return
        self._done = True
        self._close_writers()
        fs.discard(self._tmps)

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self.abort()
