"""The strategy-aware training loop: `strategy.run` inside `tf.function`, Keras 3 layers
and optimizer, Keras callbacks driven by hand.

Keras 3's `model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585),
so every strategy trains through this loop: one code path, the same callbacks, metrics
and artifacts on one device, on mirrored devices and across workers.

* The global batch is the configured one; each replica computes its share and the loss
  is averaged over the global batch (`tf.nn.compute_average_loss`).
* Gradient clipping applies to the gradient summed over replicas, and embedding
  gradients are made dense, so a run on N replicas takes the same steps as a run on
  one device (measured: weights equal to 1e-7 after an epoch on 2 logical CPUs).
* Train metrics are summed over replicas each step; validation runs on every worker
  over the whole validation set (identical weights give identical results).
* `Backup` saves model, optimizer and step every `train.backup_every_steps`; a restarted
  run resumes at that step and skips the batches already consumed.

Example:

    history, guard = run_loop(model, strategy, dataset_fn, val_ds, head, cfg.train, steps,
                              cbs, backup, verbose=1)
"""

from __future__ import annotations

import signal
import time
from typing import Any

import keras
import tensorflow as tf

from keras_lstm_opt.config import TrainConfig
from keras_lstm_opt.errors import TrainingInterrupted
from keras_lstm_opt.models.heads import Head
from keras_lstm_opt.training.backup import Backup
from keras_lstm_opt.training.guard import BlowUpGuard, StopSignals
from keras_lstm_opt.training.optim import current_learning_rate


def _loss_and_metric(head: Head) -> Any:
    """fn(y, pred) -> (per-example loss [b], per-example metric value [b])."""
    loss_fn = keras.losses.get(head.loss)

    def fn(y: Any, pred: Any) -> tuple[Any, Any]:
        if head.kind == "binary":
            yf = tf.cast(tf.reshape(y, [-1, 1]), pred.dtype)
            hit = tf.cast(tf.equal(tf.cast(pred > 0.5, pred.dtype), yf), tf.float32)
            return loss_fn(yf, pred), tf.reshape(hit, [-1])
        if head.kind == "multiclass":
            hit = tf.equal(tf.argmax(pred, axis=-1), tf.cast(tf.reshape(y, [-1]), tf.int64))
            return loss_fn(y, pred), tf.cast(hit, tf.float32)
        y = tf.reshape(tf.cast(y, pred.dtype), tf.shape(pred))
        return loss_fn(y, pred), tf.reduce_mean(tf.abs(pred - y), axis=-1)

    return fn


def _dense(grad: Any) -> Any:
    """Sparse (embedding) gradients become dense: Keras's Adam squares each row of an
    IndexedSlices separately, so rows repeated per token occurrence or per replica would
    change the update. Dense rows make one device and N replicas compute the same step."""
    return tf.convert_to_tensor(grad) if isinstance(grad, tf.IndexedSlices) else grad


def _clip(grads: list[Any], cfg: TrainConfig) -> list[Any]:
    if cfg.global_clipnorm:
        grads, _ = tf.clip_by_global_norm(grads, cfg.global_clipnorm)
    elif cfg.clipnorm:
        grads = [tf.clip_by_norm(g, cfg.clipnorm) for g in grads]
    elif cfg.clipvalue:
        grads = [tf.clip_by_value(g, -cfg.clipvalue, cfg.clipvalue) for g in grads]
    return grads


def make_train_step(model: Any, strategy: Any, head: Head, cfg: TrainConfig) -> Any:
    """A tf.function running `n` steps from a distributed iterator; returns summed stats."""
    optimizer = model.optimizer
    fn = _loss_and_metric(head)
    variables = model.trainable_variables
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    clip = bool(cfg.global_clipnorm or cfg.clipnorm or cfg.clipvalue) and not scaled

    def gradients(x: Any, y: Any) -> tuple[list[Any], Any, Any, Any]:
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            per_example, metric = fn(y, pred)
            loss = tf.nn.compute_average_loss(per_example)
            reg = tf.add_n(model.losses) if model.losses else tf.constant(0.0)
            loss += tf.nn.scale_regularization_loss(reg)
            target = optimizer.scale_loss(loss) if scaled else loss
        grads = [_dense(g) for g in tape.gradient(target, variables)]
        return grads, per_example, metric, reg

    if cfg.jit_compile:  # XLA: forward and backward; collectives and the update stay outside
        gradients = tf.function(gradients, jit_compile=True, reduce_retracing=True)

    def replica_step(x: Any, y: Any) -> dict[str, Any]:
        grads, per_example, metric, reg = gradients(x, y)
        if clip:
            replicas = tf.distribute.get_replica_context().num_replicas_in_sync
            if replicas > 1:  # clip the summed gradient, then hand each replica its share
                grads = tf.distribute.get_replica_context().all_reduce("SUM", grads)
            grads = [g / replicas for g in _clip(grads, cfg)]
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        n = tf.cast(tf.size(per_example), tf.float32)
        return {"loss_sum": tf.reduce_sum(per_example), "metric_sum": tf.reduce_sum(metric),
                "count": n, "reg": reg * n}

    def one_step(iterator: Any) -> dict[str, Any]:
        out = strategy.run(replica_step, args=next(iterator))
        return {k: strategy.reduce("SUM", v, axis=None) for k, v in out.items()}

    @tf.function
    def many_steps(iterator: Any, n: Any) -> dict[str, Any]:
        total = {k: tf.constant(0.0) for k in ("loss_sum", "metric_sum", "count", "reg")}
        for _ in tf.range(n):
            out = one_step(iterator)
            total = {k: total[k] + out[k] for k in total}
        return total

    single = tf.function(one_step)

    def on_batch(x: Any, y: Any) -> dict[str, Any]:
        out = strategy.run(replica_step, args=(x, y))
        return {k: strategy.reduce("SUM", v, axis=None) for k, v in out.items()}

    def train_steps(iterator: Any, n: Any) -> dict[str, Any]:
        # One step per call has no loop around it, which keeps xprof's step detection
        # working; steps_per_execution > 1 runs a tf.range loop inside one call.
        return single(iterator) if int(n) == 1 else many_steps(iterator, n)

    def batch_step(element_spec: Any) -> Any:
        """One step on a batch already fetched (profiling), traced once for `element_spec`."""
        return tf.function(on_batch, input_signature=list(element_spec))

    train_steps.batch_step = batch_step
    return train_steps


def make_evaluator(model: Any, head: Head) -> Any:
    """fn(dataset) -> {"loss": ..., metric: ...} over a whole dataset, traced once."""
    fn = _loss_and_metric(head)

    @tf.function(reduce_retracing=True)
    def step(x: Any, y: Any) -> tuple[Any, Any, Any]:
        per_example, metric = fn(y, model(x, training=False))
        return tf.reduce_sum(per_example), tf.reduce_sum(metric), tf.size(per_example)

    def evaluate(dataset: Any) -> dict[str, float]:
        loss = metric = count = 0.0
        for x, y in dataset:
            a, b, c = step(x, y)
            loss, metric, count = loss + float(a), metric + float(b), count + int(c)
        reg = float(sum(float(v) for v in model.losses)) if model.losses else 0.0
        count = max(count, 1)
        return {"loss": loss / count + reg, head.metric: metric / count}

    return evaluate


def run_loop(model: Any, strategy: Any, dataset_fn: Any, val_ds: Any, head: Head,
             cfg: TrainConfig, steps_per_epoch: int, callbacks: list[Any], backup: Backup,
             verbose: int, evaluate: Any = None) -> tuple[dict[str, list[float]], BlowUpGuard]:
    """Train `cfg.epochs` epochs of `steps_per_epoch` steps; return the Keras history dict
    and the blow-up guard (its rollbacks, and why it stopped training if it did).

    `dataset_fn(input_context, done_steps)` builds each worker's repeated dataset of
    per-replica batches, skipping the batches of the `done_steps` a resumed run finished.
    """
    start = backup.restore() or 0
    guard = BlowUpGuard(backup, model.optimizer, cfg)
    injected = False
    evaluate = evaluate or make_evaluator(model, head)
    dist = strategy.distribute_datasets_from_function(lambda ctx: dataset_fn(ctx, start))
    iterator = iter(dist)
    train_steps = make_train_step(model, strategy, head, cfg)
    cb = keras.callbacks.CallbackList(callbacks, add_history=True, add_progbar=verbose > 0,
                                      model=model, verbose=verbose, epochs=cfg.epochs,
                                      steps=steps_per_epoch)
    model.stop_training = False
    started = time.perf_counter()
    cb.on_train_begin()
    global_step = start
    chunk = cfg.steps_per_execution
    stop = StopSignals()
    with stop:
        for epoch in range(start // steps_per_epoch, cfg.epochs):
            cb.on_epoch_begin(epoch)
            global_step = _epoch(model, epoch, global_step, steps_per_epoch, chunk, cfg, cb,
                                 train_steps, iterator, backup, guard, stop, head, val_ds,
                                 evaluate, started, injected)
            injected = injected or bool(cfg.debug_nan_at_step and
                                        global_step >= cfg.debug_nan_at_step)
            if model.stop_training:
                break
    cb.on_train_end()
    history = model.history.history if model.history else {}
    return {k: [float(v) for v in vals] for k, vals in history.items()}, guard


def _epoch(model: Any, epoch: int, global_step: int, steps_per_epoch: int, chunk: int,
           cfg: TrainConfig, cb: Any, train_steps: Any, iterator: Any, backup: Backup,
           guard: BlowUpGuard, stop: StopSignals, head: Head, val_ds: Any, evaluate: Any,
           started: float, injected: bool) -> int:
    """One epoch from `global_step`; returns the global step reached."""
    sums = dict.fromkeys(("loss_sum", "metric_sum", "count", "reg"), 0.0)
    step = global_step - epoch * steps_per_epoch
    logs: dict[str, float] = {}
    while step < steps_per_epoch and not model.stop_training:
        n = min(chunk, steps_per_epoch - step)
        cb.on_train_batch_begin(step)
        out = train_steps(iterator, tf.constant(n))
        values = tf.stack([out[k] for k in sums]).numpy()  # one device-to-host copy
        chunk_loss = float((values[0] + values[3]) / max(values[2], 1.0))
        restored = guard.check(chunk_loss, global_step + n)
        if restored is not None:  # rolled back: redo the steps from the backup
            sums = dict.fromkeys(sums, 0.0)
            global_step = max(restored, epoch * steps_per_epoch)
            step = global_step - epoch * steps_per_epoch
            continue
        if guard.exhausted:
            model.stop_training = True
            break
        for k, v in zip(sums, values, strict=True):
            sums[k] += float(v)
        count = max(sums["count"], 1.0)
        logs = {"loss": (sums["loss_sum"] + sums["reg"]) / count,
                head.metric: sums["metric_sum"] / count}
        step += n
        global_step += n
        cb.on_train_batch_end(step - 1, logs)
        if cfg.backup_every_steps and global_step % cfg.backup_every_steps < n:
            backup.save(global_step)
        if cfg.debug_nan_at_step and not injected and global_step >= cfg.debug_nan_at_step:
            injected = True  # fault injection: the weights blow up
            model.trainable_variables[0].assign(model.trainable_variables[0] * float("nan"))
        if stop.signum is not None:
            backup.save(global_step)
            name = signal.Signals(stop.signum).name
            raise TrainingInterrupted(f"stopped by {name} at step {global_step}",
                                      stop.signum)
    if guard.exhausted:
        return global_step
    if val_ds is not None and not model.stop_training:
        logs.update({f"val_{k}": v for k, v in evaluate(val_ds).items()})
    logs["learning_rate"] = current_learning_rate(model.optimizer)
    logs["wall_seconds"] = time.perf_counter() - started
    cb.on_epoch_end(epoch, logs)
    backup.save(global_step)
    return global_step
