"""The user's optimizer and weights across the strategy's scope, for `Trainer`.

Helpers of `Trainer`'s placement of the model and optimizer: the optimizer's schedule
made scalable (the blow-up guard lowers the rate after a rollback), clipping moved into
the inner optimizer under loss scaling, and a model's weights read from, or given back
to, variables that a multi-worker strategy's restart of TensorFlow's runtime left behind.

Example:

    optimizer = _scalable(keras.optimizers.Adam(schedule))   # its schedule scaled
    give_weights(user_model, trainer.model)                  # the trained weights back
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.training.options import LoopOptions
from keras_lstm_opt.training.schedules import ScaledSchedule


def _scalable(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The optimizer with its learning-rate schedule (if any) wrapped in ScaledSchedule,
    so that the blow-up guard can lower the rate after a rollback."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    config = optimizer.get_config()
    if not isinstance(config.get("learning_rate"), dict):
        return optimizer  # a constant rate: scaled in place
    schedule = keras.optimizers.schedules.deserialize(config["learning_rate"])
    if isinstance(schedule, ScaledSchedule):
        return optimizer
    return type(optimizer).from_config({**config, "learning_rate": ScaledSchedule(schedule)})


def _clip_inside(inner: keras.optimizers.Optimizer, opts: LoopOptions) -> None:
    """Under loss scaling the loop cannot clip (the gradients are scaled): the inner
    optimizer clips the unscaled gradient instead, as asked."""
    if inner.global_clipnorm or inner.clipnorm or inner.clipvalue:
        return
    for name in ("global_clipnorm", "clipnorm", "clipvalue"):
        if getattr(opts, name):
            setattr(inner, name, getattr(opts, name))
            return


def _readable_weights(model: keras.Model) -> list[Any]:
    try:
        return list(model.get_weights())
    except (tf.errors.InternalError, tf.errors.NotFoundError) as exc:
        raise UsageError(
            f"model {model.name!r} was built before the multi-worker strategy was created, "
            "and TensorFlow restarted its runtime for the cluster since, so its variables "
            "cannot be read; pass strategy='multi_worker_mirrored' (or 'auto') instead of "
            "the strategy object, and the Trainer reads them first, or build the model "
            f"after creating the strategy ({type(exc).__name__})"
        ) from None


def give_weights(target: keras.Model, source: keras.Model) -> None:
    """`target` gets `source`'s weights. A model built before a multi-worker strategy
    started has variables in TensorFlow's earlier runtime, which cannot be read or
    assigned any more: each of its variables is given a new one holding the value."""
    values = source.get_weights()
    try:
        target.set_weights(values)
        return
    except (tf.errors.InternalError, tf.errors.NotFoundError, tf.errors.InvalidArgumentError):
        pass
    for var, value in zip(target.weights, values, strict=True):
        inner = getattr(var, "_value", None)
        if not isinstance(inner, tf.Variable):
            raise UsageError(
                f"cannot give the trained weights back to model {target.name!r}; use trainer.model"
            ) from None
        var._value = tf.Variable(
            value, dtype=inner.dtype, trainable=inner.trainable, name=inner.name.split(":")[0]
        )
    for name in ("train_function", "test_function", "predict_function"):
        if getattr(target, name, None) is not None:  # traced on the earlier variables
            setattr(target, name, None)
