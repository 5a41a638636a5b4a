"""Training and evaluation inputs as `model.fit` takes them, made ready for a strategy.

Three forms of training input:

* a `tf.data.Dataset` of global batches `(x, y)` or `(x, y, sample_weight)`: distributed with
  `strategy.experimental_distribute_dataset` (each step one global batch, split over the
  replicas);
* a function `input_context -> Dataset` of per-replica batches: called once per worker
  by `strategy.distribute_datasets_from_function` (the worker shards its own files);
* NumPy arrays (or lists / dicts of them) `x` with `y` and `batch_size`: sliced,
  reshuffled every epoch and batched, as `model.fit` does.

Finite inputs repeat; an epoch is `steps_per_epoch` steps (default: one pass). A resumed
run skips the batches its earlier steps consumed.

Example:

    data = training_data(strategy, x_train, y_train, batch_size=64, steps_per_epoch=None)
    iterator = iter(data.distribute(done_steps=0))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from keras_lstm_opt.errors import UsageError

DatasetFn = Callable[[tf.distribute.InputContext], tf.data.Dataset]


@dataclass
class TrainData:
    """Args:
    distribute: done_steps -> the distributed dataset, resumed after `done_steps`.
    steps_per_epoch: steps in one epoch.
    element_spec: the spec of one (x, y) batch (for building an unbuilt model).
    """

    distribute: Callable[[int], Any]
    steps_per_epoch: int
    element_spec: Any


def _repeat(ds: tf.data.Dataset) -> tf.data.Dataset:
    return ds if ds.cardinality() == tf.data.INFINITE_CARDINALITY else ds.repeat()


def _cardinality(ds: tf.data.Dataset, what: str) -> int:
    n = int(ds.cardinality())
    if n == tf.data.INFINITE_CARDINALITY:
        raise UsageError(f"{what} repeats forever: pass steps_per_epoch")
    if n == tf.data.UNKNOWN_CARDINALITY:  # e.g. after filter(): count once
        n = int(ds.reduce(np.int64(0), lambda count, _: count + 1))
    if n == 0:
        raise UsageError(f"{what} holds no batches")
    return n


def _check_pair(element_spec: Any, what: str) -> None:
    if not isinstance(element_spec, tuple) or len(element_spec) not in (2, 3):
        raise UsageError(
            f"{what} must yield (x, y) pairs or (x, y, sample_weight); it yields {element_spec}"
        )


def class_weights(class_weight: Any, what: str = "class_weight") -> tf.Tensor | None:
    """A {class id: weight} mapping (Keras's `class_weight`) as a lookup vector, or None.

    Raises UsageError for keys that are not class ids 0..K-1 or weights below 0."""
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict) or not class_weight:
        raise UsageError(f"{what}: expected a dict {{class id: weight}}, got {class_weight!r}")
    try:
        table = {int(k): float(v) for k, v in class_weight.items()}
    except (TypeError, ValueError):
        raise UsageError(f"{what}: keys are class ids (0, 1, ...), values numbers") from None
    if min(table) < 0 or any(v < 0 for v in table.values()):
        raise UsageError(f"{what}: class ids and weights must be >= 0, got {class_weight!r}")
    vector = np.ones(max(table) + 1, dtype=np.float32)
    for k, v in table.items():
        vector[k] = v
    return tf.constant(vector)


def with_class_weight(ds: tf.data.Dataset, table: tf.Tensor | None) -> tf.data.Dataset:
    """(x, y[, w]) batches -> (x, y, w * table[class of y]); y holds class ids (any
    shape whose first axis is the batch) or one-hot rows. Classes beyond the table
    weigh 1."""
    if table is None:
        return ds

    def add(*batch: Any) -> tuple[Any, Any, Any]:
        x, y = batch[0], batch[1]
        labels = y
        if y.shape.rank is not None and y.shape.rank >= 2 and (y.shape[-1] or 0) > 1:
            labels = tf.argmax(y, axis=-1, output_type=tf.int64)  # one-hot
        labels = tf.reshape(tf.cast(labels, tf.int64), [tf.shape(y)[0], -1])[:, 0]
        size = tf.cast(tf.shape(table)[0], tf.int64)
        w = tf.where(labels < size, tf.gather(table, tf.minimum(labels, size - 1)), 1.0)
        if len(batch) == 3:
            w = w * tf.cast(tf.reshape(batch[2], [-1]), tf.float32)
        return x, y, w

    return ds.map(add)


def _inputs(x: Any) -> Any:
    """A list of arrays (several model inputs) as a tuple: tf.data would stack a list."""
    return tuple(x) if isinstance(x, list) else x


def _arrays(
    x: Any, y: Any, batch_size: int | None, what: str, sample_weight: Any = None
) -> tuple[tf.data.Dataset, int]:
    x = _inputs(x)
    if y is None:
        raise UsageError(f"{what}: NumPy inputs need y (the targets)")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float32)
        if sample_weight.ndim != 1 or len(sample_weight) != len(tf.nest.flatten(y)[0]):
            raise UsageError(
                f"{what}: sample_weight must be one number per example "
                f"({len(tf.nest.flatten(y)[0])}), got shape {list(sample_weight.shape)}"
            )
        if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
            raise UsageError(f"{what}: sample_weight must be finite numbers >= 0")
    sizes = {len(a) for a in tf.nest.flatten((x, y))}
    if len(sizes) != 1:
        xs = sorted({len(a) for a in tf.nest.flatten(x)})
        ys = sorted({len(a) for a in tf.nest.flatten(y)})
        raise UsageError(
            f"{what}: x and y have different numbers of examples: x {_rows(xs)}, y {_rows(ys)}"
        )
    if not sizes.pop():
        raise UsageError(f"{what}: no examples")
    items = (x, y) if sample_weight is None else (x, y, sample_weight)
    return tf.data.Dataset.from_tensor_slices(items), batch_size or 32


def _data_sharded(ds: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def training_data(
    strategy: tf.distribute.Strategy,
    x: Any,
    y: Any = None,
    batch_size: int | None = None,
    steps_per_epoch: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    num_workers: int = 1,
    worker_index: int = 0,
    sample_weight: Any = None,
    class_weight: Any = None,
) -> TrainData:
    """The training input in any of the three forms, ready to distribute;
    `sample_weight` (NumPy inputs) and `class_weight` ({class id: weight}, any input)
    as Keras's `fit` takes them."""
    table = class_weights(class_weight)
    if sample_weight is not None and (callable(x) or isinstance(x, tf.data.Dataset)):
        raise UsageError(
            "sample_weight goes with NumPy inputs; a dataset yields (x, y, sample_weight)"
        )
    replicas = strategy.num_replicas_in_sync
    for name, value in (("batch_size", batch_size), ("steps_per_epoch", steps_per_epoch)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise UsageError(f"{name}={value!r}: expected a positive integer or None")
    if callable(x) and not isinstance(x, tf.data.Dataset):
        fn: DatasetFn = x
        if num_workers > 1 and not steps_per_epoch:  # shards may differ in size
            raise UsageError(
                "a dataset function on several workers needs steps_per_epoch "
                "(each worker sees only its own shard, so they cannot count "
                "the same number of batches)"
            )
        probe = fn(tf.distribute.InputContext(num_workers, worker_index, replicas))
        _check_pair(probe.element_spec, "the dataset function's dataset")
        per_pipeline = replicas // num_workers
        steps = (
            steps_per_epoch or _cardinality(probe, "the dataset function's dataset") // per_pipeline
        )

        def from_function(done: int) -> Any:
            def make(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
                ds = _repeat(with_class_weight(fn(ctx), table))
                return ds.skip(done * per_pipeline) if done else ds

            return strategy.distribute_datasets_from_function(make)

        spec = with_class_weight(probe, table).element_spec
        return TrainData(from_function, max(1, steps), spec)
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise UsageError("y must be None when x is a tf.data.Dataset (it yields (x, y))")
        ds = x
        _check_pair(ds.element_spec, "the training dataset")
    else:
        ds, batch_size = _arrays(x, y, batch_size, "fit", sample_weight)
        n = int(ds.cardinality())
        if shuffle:  # every worker the same order, so DATA sharding splits it exactly
            seed = seed if seed is not None or num_workers == 1 else 0
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        ds = _data_sharded(ds.batch(batch_size))
    steps = steps_per_epoch or _cardinality(ds, "the training dataset")
    ds = with_class_weight(ds, table)

    def from_dataset(done: int) -> Any:
        repeated = _repeat(ds)
        return strategy.experimental_distribute_dataset(repeated.skip(done) if done else repeated)

    return TrainData(from_dataset, steps, ds.element_spec)


def eval_dataset(
    data: Any, y: Any = None, batch_size: int | None = None, what: str = "validation_data"
) -> tf.data.Dataset:
    """A local dataset of (x, y) batches: a Dataset, (x, y) or (x, y, sample_weight)
    arrays, or x and y."""
    if isinstance(data, tf.data.Dataset):
        _check_pair(data.element_spec, what)
        return data
    weights = None
    if y is None and isinstance(data, tuple) and len(data) in (2, 3):
        data, y, weights = (*data, None)[:3]
    ds, batch_size = _arrays(data, y, batch_size, what, weights)
    return ds.batch(batch_size)


def predict_dataset(x: Any, batch_size: int | None = None) -> tf.data.Dataset:
    """A dataset of x batches (a Dataset's y, if any, is ignored later)."""
    if isinstance(x, tf.data.Dataset):
        return x
    sizes = {len(a) for a in tf.nest.flatten(x)}
    if len(sizes) != 1:
        raise UsageError(f"predict: inputs have different numbers of examples {sorted(sizes)}")
    return tf.data.Dataset.from_tensor_slices((_inputs(x),)).batch(batch_size or 32)


def steps_for(examples: int | None, batch: int) -> int:
    """Steps in one pass over `examples` (at least one)."""
    return max(1, math.ceil((examples or batch) / batch))


def _rows(sizes: list[int]) -> str:
    return f"{sizes[0]} rows" if len(sizes) == 1 else f"arrays of {sizes} rows"
