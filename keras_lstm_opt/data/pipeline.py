"""The tf.data input pipeline for sharded TFRecords.

Stages, each configurable through `DataConfig`:

    list files -> shuffle files -> parallel interleaved reads -> batch-then-parse
    (vectorised) -> cache (memory or file) -> shuffle examples -> truncate ->
    pad or bucket by length -> prefetch

Example:

    files = resolve_files(cfg.data)
    ds = make_dataset(cfg.data, files.schema, files.train, batch_size=128, training=True)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keras_lstm_opt.data.cache import fingerprinted_cache
from keras_lstm_opt.data.checks import checked_batch
from keras_lstm_opt.data.embedded import ensure_embedded
from keras_lstm_opt.data.schema import (
    DataError,
    Schema,
    is_variable_length,
    parse_spec,
    read_schema,
)
from keras_lstm_opt.data.service import distribute
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.staging import record_dataset, stage_files
from keras_lstm_opt.io.storage import check_paths, data_paths
from keras_lstm_opt.resources import available_cpus

if TYPE_CHECKING:  # for the type checker only: any object with these fields will do
    from keras_lstm_opt.config import DataConfig

AUTOTUNE = -1
log = logging.getLogger("keras_lstm_opt")


@dataclass
class DataFiles:
    """The shards of a run: where they are and what they hold."""

    directory: str
    schema: Schema
    train: list[str]
    validation: list[str]
    compression: str


def resolve_files(cfg: DataConfig) -> DataFiles:
    """Find the train/validation shards and the schema for a data config.

    `data.path` is a directory (with `train-*` and `validation-*` shards and a
    schema.json) or a glob of shards (schema.json beside them); null means the
    embedded dataset of `data.task`, generated once into the cache directory.
    """
    check_paths(data_paths(cfg))  # remote paths need the io extra
    path = cfg.path or ensure_embedded(cfg.task, cfg.examples, cfg.seed)
    if fs.isdir(path):
        directory = path
        train = fs.glob(os.path.join(path, "train-*"))
        validation = fs.glob(os.path.join(path, "validation-*"))
    else:
        directory = os.path.dirname(path)
        train = fs.glob(path)
        validation = fs.glob(cfg.validation_path) if cfg.validation_path else []
    if not train:
        raise DataError(
            f"data.path: no TFRecord shards found at {path!r} (a directory "
            "needs files named train-*)"
        )
    schema = read_schema(directory)
    compression = schema["compression"] if cfg.compression == "auto" else cfg.compression
    return DataFiles(directory, schema, train, validation, compression)


def _shape_batch(
    schema: Schema, max_length: int, weighted: bool = False
) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """Map a parsed batch of flat features to (inputs, target) with the schema's shapes
    (vectorised: runs once per parse batch, not once per example); `weighted`: (inputs,
    target, weight), the rows' weights of `data import --weight`."""
    import tensorflow as tf

    x_name, y_name = schema["inputs"], schema["target"]
    w_name = (schema.get("info", {}).get("weight") or {}).get("feature")

    def reshape(name: str, value: Any) -> Any:
        shape = schema["features"][name]["shape"]
        if shape and shape[0] is None:  # ragged [batch, (time), ...]
            if len(shape) > 1:
                inner = 1
                for d in shape[1:]:
                    inner *= d
                value = tf.RaggedTensor.from_row_lengths(
                    tf.reshape(value.flat_values, [-1, *shape[1:]]), value.row_lengths() // inner
                )
            return value[:, :max_length] if max_length else value
        return tf.reshape(value, [-1, *shape])

    def fn(ex: dict[str, Any]) -> tuple[Any, ...]:
        if weighted and w_name:
            w = tf.reshape(ex[w_name], [-1])
            return reshape(x_name, ex[x_name]), reshape(y_name, ex[y_name]), w
        return reshape(x_name, ex[x_name]), reshape(y_name, ex[y_name])

    return fn


def _reader(cfg: DataConfig, files: list[str], comp: str) -> Callable[[Any], Any] | None:
    """The streaming reader when shards are remote and `data.remote_read` is 'stream'."""
    if getattr(cfg, "remote_read", "stage") != "stream" or all(fs.native(f) for f in files):
        return None
    import tensorflow as tf

    return tf.autograph.experimental.do_not_convert(lambda f: record_dataset(f, comp))


def make_dataset(
    cfg: DataConfig,
    schema: Schema,
    files: list[str],
    batch_size: int,
    training: bool,
    compression: str | None = None,
    seed: int = 0,
    repeat: bool = False,
    input_context: Any = None,
    num_examples: int | None = None,
) -> Any:
    """Build the batched `(inputs, target)` dataset for a list of shards.

    Args:
        cfg: the data section of the experiment config.
        schema: the shards' schema (from `resolve_files` or `read_schema`).
        files: shard paths.
        batch_size: examples per batch (per replica when `input_context` is given).
        training: shuffle files and examples (validation keeps the order).
        compression: "GZIP", "ZLIB" or "NONE"; default from the schema.
        seed: shuffling seed.
        repeat: repeat forever (for a fixed steps_per_epoch).
        input_context: a `tf.distribute.InputContext`: shard files by worker (FILE policy)
            when there are at least as many files as workers, else records (DATA).
        num_examples: examples in `files`, if known; lets Keras know the epoch length.
    """
    import tensorflow as tf

    if not files:
        raise DataError("no files to read")
    comp = compression or schema["compression"]
    comp = "" if comp == "NONE" else comp
    x_name = schema["inputs"]
    pipelines = input_context.num_input_pipelines if input_context is not None else 1
    by_file = pipelines > 1 and len(files) >= pipelines
    if by_file:  # FILE policy: each worker reads (and stages) its own shards
        files = files[input_context.input_pipeline_id :: pipelines]
    read = _reader(cfg, files, comp)
    if read is None:  # shards TensorFlow cannot open itself, staged: local copies
        files = stage_files(
            files, getattr(cfg, "stage_dir", None), int(getattr(cfg, "stage_max_gib", 20.0) * 2**30)
        )
    ds = tf.data.Dataset.from_tensor_slices(files)
    if pipelines > 1 and not by_file:
        log.warning(
            "%d shard file(s) for %d workers: every worker reads all files and keeps "
            "1/%d of the records (DATA policy); write at least %d shards to read less",
            len(files),
            pipelines,
            pipelines,
            pipelines,
        )
    if training and cfg.shuffle_files:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    cycle = AUTOTUNE if cfg.parallel_reads == AUTOTUNE else max(1, cfg.parallel_reads)
    ds = ds.interleave(
        read or (lambda f: tf.data.TFRecordDataset(f, compression_type=comp)),
        cycle_length=None if cycle == AUTOTUNE else cycle,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=cfg.deterministic or not training,
    )
    if pipelines > 1 and not by_file:
        ds = ds.shard(pipelines, input_context.input_pipeline_id)
    spec = parse_spec(schema)
    shape = _shape_batch(schema, cfg.max_length, weighted=training)

    # no tensor-dependent Python control flow: AutoGraph's conversion would cost about
    # 0.5 s per dataset built (train, validation, evaluate) and change nothing
    @tf.autograph.experimental.do_not_convert
    def parse(serialized: Any) -> Any:
        ex = tf.io.parse_example(serialized, spec)
        if cfg.validate:
            ex = checked_batch(ex, schema, cfg.max_length, cfg.too_long)
        return shape(ex)

    ds = ds.batch(cfg.parse_batch_size).map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    if cfg.cache == "memory":
        ds = ds.cache()
    elif cfg.cache != "none":
        part = [input_context.input_pipeline_id, pipelines] if input_context else [0, 1]
        snapshot = cfg.cache.startswith("snapshot:")
        name = fingerprinted_cache(
            cfg.cache.removeprefix("snapshot:"),
            "train" if training else "validation",
            files,
            schema,
            {
                "max_length": cfg.max_length,
                "too_long": cfg.too_long,
                "parse_batch_size": cfg.parse_batch_size,
                "compression": comp,
                "part": part,
                "by_file": by_file,
            },
            snapshot,
        )
        if snapshot:
            c = cfg.snapshot_compression
            ds = ds.snapshot(name, compression=None if c == "NONE" else c)
        else:
            ds = ds.cache(name)
    ds = ds.unbatch()
    if training and cfg.shuffle_buffer:
        ds = ds.shuffle(cfg.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if is_variable_length(schema, x_name):
        if cfg.batching == "bucket":
            bounds = list(cfg.bucket_boundaries)
            ds = ds.map(lambda x, *r: (tf.identity(x), *r), num_parallel_calls=tf.data.AUTOTUNE)
            ds = ds.bucket_by_sequence_length(
                lambda x, *r: tf.shape(x)[0],
                bounds,
                [batch_size] * (len(bounds) + 1),
                pad_to_bucket_boundary=False,
            )
        else:  # batch as ragged, then pad the whole batch at once (on the right, with 0)
            ds = ds.ragged_batch(batch_size).map(
                lambda x, *r: (x.to_tensor(), *r), num_parallel_calls=tf.data.AUTOTUNE
            )
    else:
        ds = ds.batch(batch_size)
    if cfg.service.dispatcher and training:  # workers read and batch; prefetch stays here
        ds = distribute(
            ds, cfg.service.dispatcher, cfg.service.processing_mode, cfg.service.job_name
        )
    if cfg.debug_delay_ms:
        delay = cfg.debug_delay_ms / 1000.0

        def _sleep(x: Any) -> Any:
            import time

            time.sleep(delay)
            return x

        def _delayed(x: Any, *rest: Any) -> tuple[Any, ...]:
            out = tf.py_function(_sleep, [x], x.dtype)
            out.set_shape(x.shape)
            return (out, *rest)

        ds = ds.map(_delayed, num_parallel_calls=1)
    if num_examples and not repeat and cfg.batching == "pad" and input_context is None:
        ds = ds.apply(tf.data.experimental.assert_cardinality(-(-num_examples // batch_size)))
    if cfg.prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE if cfg.prefetch == AUTOTUNE else cfg.prefetch)
    options = tf.data.Options()
    options.deterministic = cfg.deterministic or not training
    if cfg.threads >= 0:  # sized to the CPU quota, not the host's cores
        options.threading.private_threadpool_size = cfg.threads or available_cpus()[0]
    return ds.with_options(options)
