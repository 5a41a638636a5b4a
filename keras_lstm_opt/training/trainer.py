"""`Trainer`: any Keras model, any strategy, the same loop, backups and artifacts.

Keras 3's `model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585);
`Trainer(model, ...).fit(x, ...)` takes what `model.compile` and `model.fit` take and
trains through our strategy-aware loop on one device, on mirrored devices or across
workers. Given a `run_dir` it also keeps mid-epoch backups (a rerun resumes), and the
chief writes metrics.json (with `weights_digest`), model.keras, history.csv, curves.png
and TensorBoard logs. SIGINT/SIGTERM on any worker stops every worker after the same
step with a backup saved.

Example:

    import keras, numpy as np, keras_lstm_opt as klo

    def build():
        return keras.Sequential([keras.Input((20, 3)), klo.FastLSTM(16),
                                 keras.layers.Dense(1, activation="sigmoid")])

    trainer = klo.Trainer(build, loss="binary_crossentropy", metrics=["accuracy"],
                          strategy="auto", run_dir="runs/mine")
    trainer.fit(x, y, batch_size=32, epochs=3, validation_data=(x_val, y_val))
    trainer.evaluate(x_val, y_val)     # {"loss": ..., "accuracy": ...}
    trainer.predict(x_val)             # NumPy array
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, Never, TypeAlias

import keras
import tensorflow as tf

from keras_lstm_opt.distribute.prestart import worker_cluster
from keras_lstm_opt.distribute.strategy import resolve_strategy
from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.logs import ensure_visible
from keras_lstm_opt.training.artifacts import RunArtifacts, weights_digest
from keras_lstm_opt.training.inputs import eval_dataset, predict_dataset, training_data
from keras_lstm_opt.training.options import LoopOptions
from keras_lstm_opt.training.result import FitResult
from keras_lstm_opt.training.run_dir import resolve_run_dir
from keras_lstm_opt.training.session import FitSession
from keras_lstm_opt.training.steps import (
    make_evaluator,
    predict_batches,
    resolve_loss,
    resolve_metrics,
)
from keras_lstm_opt.training.trainer_args import ARTIFACT_FIELDS, LOOP_FIELDS, _refuse_moved
from keras_lstm_opt.training.trainer_scope import (
    _clip_inside,
    _readable_weights,
    _scalable,
    give_weights,
)

log = logging.getLogger("keras_lstm_opt")

ModelSource: TypeAlias = "keras.Model | Callable[[], keras.Model]"


class Trainer:
    """Args:
    model: a keras.Model, or a zero-argument function that builds one (called in the
        strategy's scope; needed for subclassed models under several replicas). A
        built functional or Sequential model is rebuilt in the scope with its
        weights (and the trained weights are copied back at the end).
    loss: what `model.compile(loss=...)` accepts.
    metrics: what `model.compile(metrics=...)` accepts (a list).
    optimizer: a name, a keras optimizer (copied into the strategy's scope when it
        was made outside it), a zero-argument function that makes one, or None
        (Adam, as the default).
    strategy: "auto", "one_device", "mirrored", "multi_worker_mirrored" or a
        tf.distribute.Strategy. Create the Trainer before other TensorFlow work
        when the strategy is multi-worker (TensorFlow's rule).
    run_dir: where backups and artifacts go (local, relative or absolute, or
        s3://...); None = no files.
    options: a `LoopOptions` (steps_per_execution, jit_compile, global_clipnorm,
        backup_every_steps, restore_best_weights, seed, ...); None = the defaults.
    """

    def __init__(
        self,
        model: ModelSource,
        loss: Any = None,
        metrics: Sequence[Any] = (),
        optimizer: Any = "adam",
        strategy: Any = "auto",
        run_dir: str | os.PathLike[str] | None = None,
        options: LoopOptions | None = None,
        **moved: Never,
    ) -> None:
        ensure_visible()  # resume, rollback, best-weight and digest lines reach script users
        if moved:  # the keyword options of before `options=`: say where they went
            _refuse_moved("Trainer", moved, LOOP_FIELDS, "options=klo.LoopOptions")
        if options is not None and not isinstance(options, LoopOptions):
            raise UsageError(
                f"options={options!r}: pass klo.LoopOptions(...), e.g. "
                "options=klo.LoopOptions(seed=0, backup_every_steps=50)"
            )
        self.options = options if options is not None else LoopOptions()
        self.loss = resolve_loss(loss)
        self._loss_arg, self._metric_args = loss, list(metrics)
        # a multi-worker strategy restarts TensorFlow's runtime with the cluster's devices:
        # variables made before it can no longer be read, so a built model's weights are
        # read first (and the trained ones are put back into its variables at the end)
        self._snapshot = (
            model.get_weights()
            if isinstance(model, keras.Model)
            and isinstance(strategy, str)
            and worker_cluster() is not None
            else None
        )
        self.strategy, self.cluster = resolve_strategy(strategy)
        self.is_chief = self.cluster is None or self.cluster.is_chief
        # as typed (the resume advice repeats it)
        self.given_run_dir = os.fspath(run_dir) if run_dir is not None else None
        self.run_dir = resolve_run_dir(self.given_run_dir) if self.given_run_dir else None
        if self.options.seed is not None:
            keras.utils.set_random_seed(self.options.seed)
        if self.options.deterministic:
            tf.config.experimental.enable_op_determinism()
        self._user_model: keras.Model | None = None
        if (
            isinstance(strategy, str)
            and self._one_device()
            and not tf.distribute.has_strategy()
            and isinstance(model, keras.Model)
            and not self._in_scope(model.weights)
        ):
            # one device and a model built outside the strategy's scope (the call Keras
            # users write first): its own variables train where they are, under the
            # default strategy, on the same device; the optimizer's slots (which must be
            # colocated with the model's variables) are made there too
            self.strategy = tf.distribute.get_strategy()
        with self.strategy.scope():
            self.model = self._place(model)
            self._optimizer = self._make_optimizer(optimizer)
        self._prepared = False
        self.train_metrics: list[keras.metrics.Metric] = []
        self.eval_metrics: list[keras.metrics.Metric] = []
        self.metrics: dict[str, Any] = {}

    # -- model and optimizer in the strategy's scope ------------------------------------
    def _one_device(self) -> bool:
        return (
            isinstance(self.strategy, tf.distribute.OneDeviceStrategy)
            or type(self.strategy).__name__ == "_DefaultDistributionStrategy"
        )

    def _in_scope(self, variables: Sequence[Any]) -> bool:
        extended = self.strategy.extended
        return all(extended.variable_created_in_scope(getattr(v, "value", v)) for v in variables)

    def _needs_copy(self, model: keras.Model) -> bool:
        # one device by name: the user's own model object trains (see __init__); a
        # strategy object the model was not built under gets a copy, as several devices do
        return not self._in_scope(model.weights)

    def _place(self, model: ModelSource) -> keras.Model:
        if not isinstance(model, keras.Model):
            if not callable(model):
                raise UsageError(
                    f"model={model!r}: pass a keras.Model or a function that builds one"
                )
            built = model()
            if not isinstance(built, keras.Model):
                raise UsageError(
                    f"the model function returned {type(built).__name__}, not a keras.Model"
                )
            return built
        if not self._needs_copy(model):
            return model
        try:
            clone = keras.models.clone_model(model)
        except Exception as exc:  # subclassed models without get_config/from_config
            raise UsageError(
                f"model {model.name!r} was built outside the strategy's scope "
                f"and cannot be rebuilt inside it ({type(exc).__name__}: "
                f"{exc}); pass a function that builds it: Trainer(lambda: "
                f"MyModel(...), ...)"
            ) from None
        if model.built and model.weights:
            if not clone.built or not clone.weights:
                clone.build_from_config(model.get_build_config())
            weights = self._snapshot if self._snapshot is not None else _readable_weights(model)
            clone.set_weights(self._from_chief(weights))
            self._snapshot = None
        self._user_model = model
        return clone

    def _from_chief(self, values: list[Any]) -> list[Any]:
        """The chief's values on every worker (each worker's process built its own copy
        of the user's model, with its own random initial weights)."""
        if self.cluster is None:
            return values
        strategy = self.strategy

        @tf.function
        def broadcast(tensors: list[tf.Tensor]) -> Any:  # arguments, not graph constants
            def replica(mine: list[tf.Tensor]) -> list[tf.Tensor]:
                ctx = tf.distribute.get_replica_context()
                keep = tf.equal(ctx.replica_id_in_sync_group, 0)  # the chief's first replica
                return ctx.all_reduce("SUM", [tf.where(keep, t, tf.zeros_like(t)) for t in mine])

            return strategy.run(replica, args=(tensors,))

        out = broadcast([tf.convert_to_tensor(v) for v in values])
        return [t.numpy() for t in strategy.experimental_local_results(out)[0]]

    def _make_optimizer(self, optimizer: Any) -> keras.optimizers.Optimizer:
        if optimizer is None:
            optimizer = "adam"
        if callable(optimizer) and not isinstance(optimizer, keras.optimizers.Optimizer):
            optimizer = optimizer()
        if isinstance(optimizer, keras.optimizers.Optimizer):
            if self._needs_copy_optimizer(optimizer):
                optimizer = type(optimizer).from_config(optimizer.get_config())
        else:
            try:
                optimizer = keras.optimizers.get(optimizer)
            except ValueError as exc:
                raise UsageError(f"optimizer={optimizer!r}: {exc}") from None
        optimizer = _scalable(optimizer)
        policy = keras.config.dtype_policy().name
        if policy == "mixed_float16" and not isinstance(
            optimizer, keras.optimizers.LossScaleOptimizer
        ):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            _clip_inside(optimizer.inner_optimizer, self.options)
        return optimizer

    def _needs_copy_optimizer(self, optimizer: keras.optimizers.Optimizer) -> bool:
        it = getattr(optimizer, "iterations", None)
        return it is not None and not self._in_scope([it])

    def _prepare(self, x_spec: Any) -> None:
        """Build (from the spec of a batch of x) and compile once; make the metrics."""
        if self._prepared:
            return
        with self.strategy.scope():
            if not self.model.built or not self.model.weights:
                self.model(
                    tf.nest.map_structure(
                        lambda s: tf.zeros([1, *[d or 1 for d in s.shape[1:]]], s.dtype), x_spec
                    )
                )
            self.model.compile(
                optimizer=self._optimizer, loss=self._loss_arg, metrics=self._metric_args or None
            )
            self.model.optimizer.build(self.model.trainable_variables)
            self.train_metrics = resolve_metrics(self._metric_args, self._loss_arg, self.model)
        self.eval_metrics = resolve_metrics(self._metric_args, self._loss_arg, self.model)
        self._prepared = True

    # -- public API ---------------------------------------------------------------------
    def fit(
        self,
        x: Any,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        *,
        validation_data: Any = None,
        steps_per_epoch: int | None = None,
        callbacks: Sequence[keras.callbacks.Callback] | None = None,
        shuffle: bool = True,
        class_weight: dict[Any, float] | None = None,
        sample_weight: Any = None,
        overwrite: bool = False,
        artifacts: RunArtifacts | None = None,
        **moved: Never,
    ) -> FitResult:
        """Train `epochs` epochs (a resumed run continues up to `epochs`).

        Args:
            x, y, batch_size: a tf.data.Dataset of (x, y) global batches; a function
                `input_context -> Dataset` of per-replica batches; or NumPy arrays
                `x` (or a list/dict of them) with `y` and `batch_size` (default 32).
            validation_data: a Dataset of (x, y) batches or a tuple (x_val, y_val);
                evaluated on every worker at each epoch end.
            epochs: epochs to train (a resumed run continues up to this one).
            steps_per_epoch: steps per epoch (default: one pass over finite data).
            callbacks: Keras callbacks (EarlyStopping, ReduceLROnPlateau, your own).
            shuffle: reshuffle NumPy inputs every epoch.
            class_weight: {class id: weight}: each training example's loss (and
                metrics) weighs its class's weight, as in Keras's `fit` (not validation).
            sample_weight: one weight per example of NumPy `x` (a dataset yields
                `(x, y, sample_weight)` instead); times the class weight if both.
            overwrite: replace a finished run in `run_dir` (else RunDirError).
            artifacts: a `RunArtifacts`: curves.png's title and reference lines, extra
                files for the run directory, extra metrics.json entries.

        Returns:
            A `FitResult`: the dict metrics.json holds (on every worker; only the chief
            writes files), with `.history` per epoch as Keras's History has it.

        Raises:
            UsageError: inputs that cannot work (message says what to pass).
            RunDirError: `run_dir` holds a finished run and `overwrite` is false.
            TrainingError: the loss blew up beyond the guard's rollbacks.
            TrainingInterrupted: SIGINT/SIGTERM on this or another worker; the backup is
                saved and the message says how to resume.
        """
        if moved:  # title, reference, extra_files, metadata: now in RunArtifacts
            _refuse_moved("fit", moved, ARTIFACT_FIELDS, "artifacts=klo.RunArtifacts")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise UsageError(f"epochs={epochs!r}: must be an integer >= 1")
        if artifacts is not None and not isinstance(artifacts, RunArtifacts):
            raise UsageError(
                f"artifacts={artifacts!r}: pass klo.RunArtifacts(title=..., extra_files=...)"
            )
        art = artifacts or RunArtifacts()
        num_workers = self.cluster.num_workers if self.cluster else 1
        index = self.cluster.task_index if self.cluster else 0
        data = training_data(
            self.strategy,
            x,
            y,
            batch_size,
            steps_per_epoch,
            shuffle,
            self.options.seed,
            num_workers,
            min(index, num_workers - 1),
            sample_weight=sample_weight,
            class_weight=class_weight,
        )
        self._prepare(data.element_spec[0])
        val = (
            eval_dataset(validation_data, batch_size=batch_size)
            if validation_data is not None
            else None
        )
        session = FitSession(self, data, val, overwrite)  # cleans up itself if it fails
        try:
            self.metrics = session.run(
                epochs,
                list(callbacks or ()),
                art.extra_files,
                art.metadata,
                art.title,
                art.reference,
            )
        finally:
            session.close()
        if self._user_model is not None:  # the caller's model object gets the weights
            give_weights(self._user_model, self.model)
        history = getattr(self.model, "history", None)
        return FitResult(
            self.metrics,
            getattr(history, "history", None),
            getattr(history, "epoch", None),
            self._user_model or self.model,
        )

    def evaluate(
        self,
        x: Any,
        y: Any = None,
        batch_size: int | None = None,
    ) -> dict[str, float]:
        """Loss and metrics over all of `x` (a Dataset of (x, y) batches, or arrays with
        `y`), on this worker alone."""
        ds = eval_dataset(x, y, batch_size, what="evaluate")
        self._prepare(ds.element_spec[0])
        return make_evaluator(self.model, self.loss, self.eval_metrics)(ds)

    def predict(self, x: Any, batch_size: int | None = None) -> Any:
        """Model outputs for `x` (a Dataset, or arrays), as NumPy arrays."""
        ds = predict_dataset(x, batch_size)
        spec = ds.element_spec
        self._prepare(spec[0] if isinstance(spec, tuple) else spec)  # (x,) or (x, y)
        return predict_batches(self.model, ds)

    def weights_digest(self) -> str:
        """SHA-256 (16 hex digits) over the model's weights: equal on every worker."""
        return weights_digest(self.model)
