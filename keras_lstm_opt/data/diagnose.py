"""Turn a bare tf.data read/parse failure into an error naming the shard and record.

TensorFlow reports a corrupt GZIP shard as `DataLossError` without the file name, and
a record that is not a valid Example as `InvalidArgumentError`. `find_bad_record`
reads the shards one by one to say which file and which record is at fault.

Example:

    problem = find_bad_record(files, "GZIP", parse_spec(schema))
    # "train-00002-of-00004.tfrecord.gz, record 1187: corrupted record ..."
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keras_lstm_opt.data.schema import Schema


def find_bad_record(
    files: list[str],
    compression: str,
    spec: dict[str, Any] | None = None,
    schema: Schema | None = None,
    max_length: int = 0,
    too_long: str = "truncate",
) -> str | None:
    """Scan `files` in order; describe the first unreadable, unparsable or (with `schema`)
    invalid record (see checks.py), or None."""
    import tensorflow as tf

    from keras_lstm_opt.data.checks import checked_batch
    from keras_lstm_opt.errors import DataError
    from keras_lstm_opt.io import fs
    from keras_lstm_opt.io.staging import record_dataset

    comp = "" if compression == "NONE" else compression
    for path in files:
        good = 0  # records read (and parsed) before the failure; the bad one is `good`
        try:
            records = (
                tf.data.TFRecordDataset(path, compression_type=comp)
                if fs.native(path)
                else record_dataset(path, comp)
            )
            for record in records.batch(1):
                if spec is not None:
                    ex = tf.io.parse_example(record, spec)
                    if schema is not None:
                        checked_batch(ex, schema, max_length, too_long)
                good += 1
        except (tf.errors.OpError, UnicodeDecodeError, DataError) as exc:
            # TF's parse error quotes the raw record; with non-UTF-8 bytes that message
            # itself fails to decode, so UnicodeDecodeError stands for a parse failure.
            first = (getattr(exc, "message", "") or str(exc)).strip().splitlines()[0]
            first = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:.*$", "", first)[:300]
            return (
                f"{path}, record {good} (0-based; {good} records before it are fine): "
                f"{type(exc).__name__}: {first}"
            )
    return None
