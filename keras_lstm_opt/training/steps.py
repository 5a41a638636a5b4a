"""Compiled step functions: the replicated train step, evaluation and prediction.

* The global batch is what the dataset yields; each replica computes its share and the
  loss is averaged over the global batch (`tf.nn.compute_average_loss`).
* The step sums the gradients over replicas itself, in one all-reduce (exchange.py:
  optional half-width wire, row-sparse embedding rows), and the optimizer applies the
  sum as given. Gradient clipping applies to that sum, and embedding gradients have
  each row once (summed; `sparse.unique_rows`), kept row-sparse for an optimizer that
  updates rows lazily (`LazyAdam`), dense for any other: a run on N
  replicas takes the same steps as a run on one device (weights equal to 1e-6 after an
  epoch on 2 logical CPUs: a test). Keras's own Adam squares each row of an
  IndexedSlices separately, so repeated rows would change its update.
* Every step also sums a stop flag over all replicas of all workers (the same all-reduce
  that sums the loss, so it costs nothing): a signal seen by any one worker stops every
  worker after the same step (coordinated pre-emption).

Example:

    loss = resolve_loss("sparse_categorical_crossentropy")
    metrics = resolve_metrics(["accuracy"], "sparse_categorical_crossentropy", model)
    step = TrainStep(model, strategy, loss, metrics, LoopOptions())
    sums = step(iterator, tf.constant(4), tf.constant(0.0))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_lstm_opt.distribute.watchdog import CollectiveWatchdog
from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.training.exchange import (
    all_reduce_gradients,
    already_summed,
    reduce_once,
)
from keras_lstm_opt.training.options import LoopOptions
from keras_lstm_opt.training.sparse import sparse_or_dense

# What a call of the step returns, summed over its steps and every replica ("largest": the
# most examples in one of its steps, summed over the replicas: the global batch size)
SUMS = ("loss_sum", "count", "reg", "stop_count", "stop_signal", "backup_due", "largest")
StepOutput = tuple[dict[str, tf.Tensor], dict[str, tf.Tensor]]


class PerExampleLoss(keras.losses.Loss):
    """A loss function (y_true, y_pred) -> values as a Loss without reduction; y_true
    gains or loses a trailing axis of 1 to match y_pred, as Keras's own wrapper does."""

    def __init__(self, fn: Callable[[Any, Any], Any], name: str = "loss") -> None:
        super().__init__(name=name, reduction="none")
        self.fn = fn

    def call(self, y_true: Any, y_pred: Any) -> Any:
        t_rank, p_rank = len(y_true.shape), len(y_pred.shape)
        if t_rank == p_rank - 1 and y_pred.shape[-1] == 1:
            y_true = tf.expand_dims(y_true, -1)
        elif t_rank == p_rank + 1 and y_true.shape[-1] == 1:
            y_true = tf.squeeze(y_true, -1)
        return self.fn(y_true, y_pred)


def resolve_loss(loss: Any) -> keras.losses.Loss:
    """What `model.compile(loss=...)` accepts, as a Loss returning per-example values."""
    if loss is None:
        raise UsageError(
            "loss is required: a name ('mse'), a keras.losses.Loss or a "
            "function (y_true, y_pred) -> per-example loss"
        )
    try:
        obj = keras.losses.get(loss)
    except ValueError as exc:
        raise UsageError(f"loss={loss!r}: {exc}") from None
    if isinstance(obj, keras.losses.Loss):
        config = {**obj.get_config(), "reduction": "none"}
        return type(obj).from_config(config)
    if callable(obj):
        name = loss if isinstance(loss, str) else getattr(obj, "__name__", "loss")
        return PerExampleLoss(obj, name=str(name))
    raise UsageError(f"loss={loss!r} is neither a loss name, a Loss nor a function")


def _accuracy(loss: Any, model: keras.Model, name: str) -> keras.metrics.Metric:
    kind = str(loss if isinstance(loss, str) else getattr(loss, "name", ""))
    units = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if "sparse_categorical" in kind:
        return keras.metrics.SparseCategoricalAccuracy(name=name)
    if "binary" in kind or units == 1:
        return keras.metrics.BinaryAccuracy(name=name)
    return keras.metrics.CategoricalAccuracy(name=name)


def resolve_metrics(
    metrics: Iterable[Any], loss: Any, model: keras.Model
) -> list[keras.metrics.Metric]:
    """Fresh metric objects, created in the current (strategy) scope: names resolve as
    in `model.compile` ("accuracy" by the loss), given Metric objects are copied."""
    out: list[keras.metrics.Metric] = []
    for m in metrics:
        if m in ("accuracy", "acc"):
            out.append(_accuracy(loss, model, m))  # named as given, as Keras logs it
        elif isinstance(m, keras.metrics.Metric):
            out.append(type(m).from_config(m.get_config()))
        else:
            try:
                obj = keras.metrics.get(m)
            except ValueError as exc:
                raise UsageError(f"metric {m!r}: {exc}") from None
            if isinstance(obj, keras.metrics.Metric):  # logged under the name given
                out.append(
                    type(obj).from_config({**obj.get_config(), "name": m})
                    if isinstance(m, str) and obj.name != m
                    else obj
                )
            else:
                name = m if isinstance(m, str) else getattr(obj, "__name__", "metric")
                out.append(keras.metrics.MeanMetricWrapper(obj, name=name))
    return out


def per_example(loss: keras.losses.Loss, y: Any, pred: Any) -> tf.Tensor:
    """Loss per example, shape [batch] (values per time step or output are averaged)."""
    values = loss(y, pred)
    rank = values.shape.rank
    return tf.reduce_mean(values, axis=list(range(1, rank))) if rank and rank > 1 else values


def unpack(batch: Any) -> tuple[Any, Any, Any]:
    """(x, y, sample_weight or None) of an (x, y) or (x, y, sample_weight) batch."""
    if isinstance(batch, (tuple, list)) and len(batch) == 3:
        return batch[0], batch[1], batch[2]
    x, y = batch
    return x, y, None


def weighted(values: tf.Tensor, w: Any) -> tf.Tensor:
    """Per-example losses times their weights (as they are without weights): Keras's
    sum_over_batch_size, sum(w * loss) / batch size."""
    if w is None:
        return values
    w = tf.cast(tf.reshape(w, [-1]), values.dtype)
    return values * w


def _clip(grads: list[Any], opts: LoopOptions) -> list[Any]:
    if opts.global_clipnorm:
        grads, _ = tf.clip_by_global_norm(grads, opts.global_clipnorm)
    elif opts.clipnorm:
        grads = [tf.clip_by_norm(g, opts.clipnorm) for g in grads]
    elif opts.clipvalue:
        grads = [tf.clip_by_value(g, -opts.clipvalue, opts.clipvalue) for g in grads]
    return grads


class TrainStep:
    """The compiled train step: `step(iterator, n, stop_signal, backup_due)` runs `n`
    steps and returns the sums in `SUMS` (over the steps and every replica of every
    worker: a flag one worker raises reaches all of them) and
    the metrics' results so far; `step.batch_step(spec)` runs one step on a batch already
    fetched (the profiler times the wait for data apart from the step).

    Args:
        model: a compiled model (its optimizer applies the gradients).
        strategy: the strategy whose scope holds the model.
        loss: from `resolve_loss` (per-example values).
        metrics: from `resolve_metrics`, created in the strategy's scope.
        opts: clipping, steps_per_execution, jit_compile.
    """

    def __init__(
        self,
        model: keras.Model,
        strategy: tf.distribute.Strategy,
        loss: keras.losses.Loss,
        metrics: Sequence[keras.metrics.Metric],
        opts: LoopOptions,
    ) -> None:
        self.model, self.strategy, self.loss, self.opts = model, strategy, loss, opts
        self.metrics = list(metrics)
        self.optimizer = model.optimizer
        self.scaled = isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)
        inner = getattr(self.optimizer, "inner_optimizer", self.optimizer)
        self.sparse = bool(getattr(inner, "sparse_rows", False)) and not self.scaled
        self.clip = (
            bool(opts.global_clipnorm or opts.clipnorm or opts.clipvalue) and not self.scaled
        )
        self.replicas = strategy.num_replicas_in_sync
        # row-sparse embedding gradients on the wire: for a lazy optimizer, or when asked
        self.sparse_wire = opts.embedding_exchange == "sparse" or (
            opts.embedding_exchange == "auto" and self.sparse
        )
        if self.sparse and not self.sparse_wire:
            raise UsageError(
                "embedding_exchange=dense with an optimizer that updates "
                "embedding rows lazily would update every row; use "
                "embedding_exchange=sparse or auto, or dense embedding updates "
                "(train.embedding_updates: dense)"
            )
        if self.replicas > 1:
            reduce_once(self.optimizer)  # the step sums the gradients, once
        multi = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        self.watchdog = CollectiveWatchdog(opts.collective_timeout_seconds, enabled=multi)
        # autograph=False, as Keras's own trainer (do_not_convert): the steps have no
        # tensor-dependent Python control flow, and converting them cost 1.3 s of the
        # first epoch (AMD EPYC). A model's own layers are called, not converted, as there.
        self._gradients = (
            tf.function(self._grads, jit_compile=True, reduce_retracing=True, autograph=False)
            if opts.jit_compile
            else self._grads
        )  # XLA: forward and backward only
        self._single = tf.function(self._single_step, autograph=False)
        self._many = tf.function(self._many_steps, autograph=False)

    def _grads(self, x: Any, y: Any, w: Any = None) -> tuple[list[Any], tf.Tensor, Any, tf.Tensor]:
        model, optimizer = self.model, self.optimizer
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            values = weighted(per_example(self.loss, y, pred), w)
            total = tf.nn.compute_average_loss(values)
            reg = tf.add_n(model.losses) if model.losses else tf.constant(0.0)
            total += tf.nn.scale_regularization_loss(reg)
            target = optimizer.scale_loss(total) if self.scaled else total
        return tape.gradient(target, model.trainable_variables), values, pred, reg

    def _replica_step(
        self, x: Any, y: Any, w: Any, stop: tf.Tensor, due: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        grads, values, pred, reg = self._gradients(x, y, w)
        grads = [sparse_or_dense(g, self.sparse_wire) for g in grads]  # outside XLA
        if self.replicas > 1:  # one all-reduce; the optimizer does not sum again
            grads = all_reduce_gradients(
                tf.distribute.get_replica_context(), grads, self.opts.gradient_compression
            )
            if not self.sparse:
                grads = [sparse_or_dense(g, False) for g in grads]
        if self.clip:  # the summed gradient, as one device would clip it
            grads = _clip(grads, self.opts)
        with already_summed():  # summed above (or one replica): applied as they are
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        for m in self.metrics:
            m.update_state(y, pred, sample_weight=w)
        n = tf.cast(tf.size(values), tf.float32)
        return {
            "loss_sum": tf.reduce_sum(tf.cast(values, tf.float32)),
            "count": n,
            "reg": tf.cast(reg, tf.float32) * n,
            "stop_count": tf.cast(stop > 0, tf.float32),
            "stop_signal": tf.identity(stop),
            "backup_due": tf.identity(due),
            "largest": n,
        }

    def _on_batch(self, batch: Any, stop: tf.Tensor, due: tf.Tensor) -> dict[str, tf.Tensor]:
        x, y, w = unpack(batch)
        out = self.strategy.run(self._replica_step, args=(x, y, w, stop, due))
        return {k: self.strategy.reduce("SUM", v, axis=None) for k, v in out.items()}

    def _results(self) -> dict[str, tf.Tensor]:  # read in the graph: one all-reduce each
        return {m.name: tf.cast(m.result(), tf.float32) for m in self.metrics}

    def _single_step(self, iterator: Any, stop: tf.Tensor, due: tf.Tensor) -> StepOutput:
        return self._on_batch(next(iterator), stop, due), self._results()

    def _many_steps(
        self, iterator: Any, n: tf.Tensor, stop: tf.Tensor, due: tf.Tensor
    ) -> StepOutput:
        def body(i: tf.Tensor, total: dict[str, tf.Tensor]) -> tuple[Any, Any]:
            out = self._on_batch(next(iterator), stop, due)
            return i + 1, {
                k: tf.maximum(total[k], out[k]) if k == "largest" else total[k] + out[k]
                for k in total
            }

        _, total = tf.while_loop(
            lambda i, _: i < n, body, (tf.constant(0, n.dtype), {k: tf.constant(0.0) for k in SUMS})
        )
        return total, self._results()

    def __call__(
        self, iterator: Iterator[Any], n: tf.Tensor, stop: tf.Tensor, due: tf.Tensor | None = None
    ) -> StepOutput:
        # One step per call has no loop around it, which keeps xprof's step detection
        # working; steps_per_execution > 1 runs a tf.range loop inside one call.
        with self.watchdog.guard():  # a lost worker fails the step, not the process
            due = tf.constant(0.0) if due is None else due
            if int(n) == 1:
                return self._single(iterator, stop, due)
            return self._many(iterator, n, stop, due)

    def batch_step(self, element_spec: Any) -> Callable[..., dict[str, tf.Tensor]]:
        """step(x, y[, sample_weight]) on a batch already fetched, traced once for
        `element_spec`."""
        fn = tf.function(
            lambda *batch: self._on_batch(batch, tf.constant(0.0), tf.constant(0.0)),
            input_signature=list(element_spec),
            autograph=False,
        )
        return fn


Evaluator = Callable[[tf.data.Dataset], dict[str, float]]


def make_evaluator(
    model: keras.Model, loss: keras.losses.Loss, metrics: Sequence[keras.metrics.Metric]
) -> Evaluator:
    """fn(dataset) -> {"loss": ..., metric names: ...} over a whole dataset of (x, y)
    or (x, y, sample_weight) batches, on this worker alone (no collectives), traced
    once. `metrics` must be plain (created outside any strategy scope)."""

    def batch_sums(x: Any, y: Any, w: Any = None) -> tuple[tf.Tensor, tf.Tensor]:
        pred = model(x, training=False)
        for m in metrics:
            m.update_state(y, pred, sample_weight=w)
        values = weighted(per_example(loss, y, pred), w)
        return tf.reduce_sum(values), tf.size(values)

    loose = tf.function(batch_sums, reduce_retracing=True, autograph=False)
    traced: dict[str, Callable[..., tuple[tf.Tensor, tf.Tensor]]] = {}

    def step_for(dataset: tf.data.Dataset) -> Callable[..., tuple[tf.Tensor, tf.Tensor]]:
        """Traced once for the dataset's batch spec: batches of several lengths (bucketed
        text) otherwise traced it twice, the second time with the lengths left open."""
        spec = dataset.element_spec
        if not isinstance(spec, tuple) or len(spec) not in (2, 3):
            return loose
        key = repr(spec)
        if key not in traced:
            traced[key] = tf.function(
                lambda *batch: batch_sums(*unpack(batch)),
                input_signature=list(spec),
                autograph=False,
            )
        return traced[key]

    def evaluate(dataset: tf.data.Dataset) -> dict[str, float]:
        for m in metrics:
            m.reset_state()
        total = count = 0.0
        step = step_for(dataset)
        for batch in dataset:
            a, c = step(*batch) if step is not loose else step(*unpack(batch))
            total, count = total + float(a), count + int(c)
        reg = float(sum(float(v) for v in model.losses)) if model.losses else 0.0
        out = {"loss": total / max(count, 1) + reg}
        out.update({m.name: float(m.result()) for m in metrics})
        return out

    return evaluate


def predict_batches(model: keras.Model, dataset: tf.data.Dataset) -> Any:
    """Model outputs over every batch of `dataset` (x, or (x, y) whose y is ignored),
    concatenated: a NumPy array, or a list/dict of them for several outputs."""

    @tf.function(reduce_retracing=True, autograph=False)
    def step(x: Any) -> Any:
        return model(x, training=False)

    parts = [tf.nest.map_structure(lambda t: t.numpy(), step(_x_of(b))) for b in dataset]
    if not parts:
        raise UsageError("predict: the input holds no batches")
    return tf.nest.map_structure(lambda *a: np.concatenate(a, axis=0), *parts)


def _x_of(batch: Any) -> Any:
    """Keras's convention: a tuple is (x,), (x, y) or (x, y, sample_weight); a list or
    dict is one (multi-input) x."""
    return batch[0] if isinstance(batch, tuple) else batch
