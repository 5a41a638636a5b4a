"""File caches of parsed records, reused across runs only while they are still true.

`data.cache: <path>` keeps the parsed batches in TensorFlow's file cache,
`data.cache: snapshot:<dir>` in a tf.data snapshot (compressed by
`data.snapshot_compression`). The cache's name carries a fingerprint of what shaped
its records: every shard's path, size and modification time (so rewriting one record
in one shard changes it), the schema,
`data.max_length`, `data.parse_batch_size`, the compression, and which part of the
files this worker reads. A run finds one of three things and logs it:

* hit: a complete cache with the same fingerprint; its records are read, not parsed;
* built: none yet; this run writes it (complete only once a full pass has been read);
* invalidated: caches under the same prefix with another fingerprint; they are deleted
  before this run builds its own, so stale records are never served.

Example:

    name = fingerprinted_cache("/tmp/cache/text", "train", files, schema, cfg, "GZIP")
    ds = ds.cache(name)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any

from keras_lstm_opt.data.schema import Schema
from keras_lstm_opt.errors import StorageError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.io.storage import check_paths

log = logging.getLogger("keras_lstm_opt")


def _stat(path: str) -> tuple[int, int]:
    if is_remote(path):
        i = fs.info(path)
        return int(i["size"]), int((i["mtime"] or 0) * 1e9)
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def fingerprint(files: list[str], schema: Schema, settings: dict[str, Any]) -> str:
    """A short hash of the shards (path, size, mtime) and the record-shaping settings."""
    h = hashlib.sha256()
    for f in sorted(files):
        size, mtime = _stat(f)
        h.update(f"{f}\0{size}\0{mtime}\n".encode())
    h.update(json.dumps(schema, sort_keys=True).encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _glob(pattern: str) -> list[str]:
    import tensorflow as tf

    return tf.io.gfile.glob(pattern)


def _finalized(metadata_path: str) -> bool:
    import tensorflow as tf
    from tensorflow.core.protobuf import snapshot_pb2

    record = snapshot_pb2.SnapshotMetadataRecord()
    with tf.io.gfile.GFile(metadata_path, "rb") as fh:
        record.ParseFromString(fh.read())
    return bool(record.finalized)


def remote_cache_problem(prefix: str) -> str | None:
    """Why `prefix` cannot hold a tf.data cache here (s3:// through s3fs), or None."""
    if fs.native(prefix):
        return None
    return (
        f"{prefix!r}: tf.data writes its caches through TensorFlow's own file system, "
        "which has no s3:// without tensorflow-io; use a local path (s3:// shards are "
        "staged or streamed locally: data.remote_read), or KLO_S3_CLIENT=tensorflow "
        "with the io extra"
    )


def fingerprinted_cache(
    prefix: str,
    split: str,
    files: list[str],
    schema: Schema,
    settings: dict[str, Any],
    snapshot: bool = False,
) -> str:
    """The cache file name for these records; deletes stale caches; logs what it found.

    A remote `prefix` loads tensorflow-io's file systems first, or raises StorageError
    naming it (before any cache is read, deleted or written).
    """
    import tensorflow as tf

    check_paths({"data.cache": prefix})
    problem = remote_cache_problem(prefix)
    if problem:
        raise StorageError(f"data.cache = {problem}")
    key = fingerprint(files, schema, settings)
    base = f"{prefix}.{split}"
    name = f"{base}-{key}"
    parent = os.path.dirname(name)
    if parent and "://" not in parent:
        os.makedirs(parent, exist_ok=True)
    keys = {f[len(base) + 1 : len(base) + 17] for f in _glob(f"{base}-*")}
    stale = sorted(k for k in keys if k != key)
    for old in stale:
        for f in _glob(f"{base}-{old}*"):
            if tf.io.gfile.isdir(f):
                tf.io.gfile.rmtree(f)
            else:
                tf.io.gfile.remove(f)
    if snapshot:  # a tf.data snapshot directory; TensorFlow finalises it when complete
        complete = any(_finalized(m) for m in _glob(name + "/*/snapshot.metadata"))
    else:
        complete = tf.io.gfile.exists(name + ".index") and not _glob(name + "*.lockfile")
    if complete:
        log.info("data cache hit: %s", name)
    elif stale:
        log.info(
            "data cache invalidated: %d stale cache(s) under %s removed (data or "
            "settings changed); building %s",
            len(stale),
            base,
            name,
        )
    else:
        log.info("data cache built: %s (written during the first full pass)", name)
    return name
