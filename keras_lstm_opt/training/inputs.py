"""Training and evaluation inputs as `model.fit` takes them, made ready for a strategy.

Three forms of training input:

* a `tf.data.Dataset` of global batches `(x, y)`: distributed with
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
    if not isinstance(element_spec, tuple) or len(element_spec) != 2:
        raise UsageError(f"{what} must yield (x, y) pairs; it yields {element_spec}")


def _inputs(x: Any) -> Any:
    """A list of arrays (several model inputs) as a tuple: tf.data would stack a list."""
    return tuple(x) if isinstance(x, list) else x


def _arrays(x: Any, y: Any, batch_size: int | None, what: str) -> tuple[tf.data.Dataset, int]:
    x = _inputs(x)
    if y is None:
        raise UsageError(f"{what}: NumPy inputs need y (the targets)")
    sizes = {len(a) for a in tf.nest.flatten((x, y))}
    if len(sizes) != 1:
        xs = sorted({len(a) for a in tf.nest.flatten(x)})
        ys = sorted({len(a) for a in tf.nest.flatten(y)})
        raise UsageError(
            f"{what}: x and y have different numbers of examples: x {_rows(xs)}, y {_rows(ys)}"
        )
    if not sizes.pop():
        raise UsageError(f"{what}: no examples")
    return tf.data.Dataset.from_tensor_slices((x, y)), batch_size or 32


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
) -> TrainData:
    """The training input in any of the three forms, ready to distribute."""
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
                ds = _repeat(fn(ctx))
                return ds.skip(done * per_pipeline) if done else ds

            return strategy.distribute_datasets_from_function(make)

        return TrainData(from_function, max(1, steps), probe.element_spec)
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise UsageError("y must be None when x is a tf.data.Dataset (it yields (x, y))")
        ds = x
        _check_pair(ds.element_spec, "the training dataset")
    else:
        ds, batch_size = _arrays(x, y, batch_size, "fit")
        n = int(ds.cardinality())
        if shuffle:  # every worker the same order, so DATA sharding splits it exactly
            seed = seed if seed is not None or num_workers == 1 else 0
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        ds = _data_sharded(ds.batch(batch_size))
    steps = steps_per_epoch or _cardinality(ds, "the training dataset")

    def from_dataset(done: int) -> Any:
        repeated = _repeat(ds)
        return strategy.experimental_distribute_dataset(repeated.skip(done) if done else repeated)

    return TrainData(from_dataset, steps, ds.element_spec)


def eval_dataset(
    data: Any, y: Any = None, batch_size: int | None = None, what: str = "validation_data"
) -> tf.data.Dataset:
    """A local dataset of (x, y) batches: a Dataset, (x, y) arrays, or x and y."""
    if isinstance(data, tf.data.Dataset):
        _check_pair(data.element_spec, what)
        return data
    if y is None and isinstance(data, tuple) and len(data) == 2:
        data, y = data
    ds, batch_size = _arrays(data, y, batch_size, what)
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
