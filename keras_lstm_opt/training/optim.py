"""Optimisers and learning-rate schedules from a `TrainConfig`.

Example:

    opt = make_optimizer(cfg.train, total_steps=1500)
"""

from __future__ import annotations

import logging
from typing import Any, Protocol


class OptimizerSettings(Protocol):
    """What `make_optimizer` reads (a config's `train:` section has these fields)."""

    @property
    def optimizer(self) -> str: ...
    @property
    def learning_rate(self) -> float: ...
    @property
    def weight_decay(self) -> float: ...
    @property
    def momentum(self) -> float: ...
    @property
    def schedule(self) -> str: ...
    @property
    def warmup_steps(self) -> int: ...
    @property
    def decay_steps(self) -> int: ...
    @property
    def decay_rate(self) -> float: ...
    @property
    def clipnorm(self) -> float | None: ...
    @property
    def global_clipnorm(self) -> float | None: ...
    @property
    def clipvalue(self) -> float | None: ...
    @property
    def embedding_updates(self) -> str: ...


def scaled(schedule: Any) -> Any:
    from keras_lstm_opt.training.schedules import ScaledSchedule

    return ScaledSchedule(schedule)


def scale_learning_rate(optimizer: Any, factor: float) -> float:
    """Multiply the learning rate by `factor` from now on; return the new current rate."""
    import keras

    opt = getattr(optimizer, "inner_optimizer", optimizer)
    lr = opt._learning_rate
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        if not hasattr(lr, "scale"):
            raise ValueError("this learning-rate schedule cannot be scaled")
        lr.scale.assign(lr.scale * factor)
    else:
        opt.learning_rate = float(keras.ops.convert_to_numpy(opt.learning_rate)) * factor
    return current_learning_rate(opt)


def make_schedule(cfg: OptimizerSettings, total_steps: int) -> Any:
    """A float (constant) or a Keras LearningRateSchedule.

    `decay_steps: 0` means the whole run (`total_steps`, minus warm-up for cosine).
    Warm-up takes at most a tenth of the run: a config written for a large dataset
    would otherwise spend a small one's whole run below its learning rate.
    """
    import keras

    if cfg.schedule == "constant":
        return cfg.learning_rate
    warmup = min(cfg.warmup_steps, total_steps // 10)
    if warmup < cfg.warmup_steps:
        logging.getLogger("keras_lstm_opt").info(
            "warm-up: %d steps instead of warmup_steps = %d (at most a tenth of the run's "
            "%d steps)",
            warmup,
            cfg.warmup_steps,
            total_steps,
        )
    decay = cfg.decay_steps or max(1, total_steps - warmup)
    if cfg.schedule == "exponential":
        return scaled(
            keras.optimizers.schedules.ExponentialDecay(cfg.learning_rate, decay, cfg.decay_rate)
        )
    if warmup:
        return scaled(
            keras.optimizers.schedules.CosineDecay(
                0.0, decay, warmup_target=cfg.learning_rate, warmup_steps=warmup
            )
        )
    return scaled(keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay))


def make_optimizer(
    cfg: OptimizerSettings, total_steps: int, precision: str = "float32", clip: bool = True
) -> Any:
    """Adam, AdamW, RMSprop or SGD with the configured schedule and clipping.

    Adam and AdamW update embedding rows lazily (`LazyAdam`: only the rows a batch
    touches) unless `embedding_updates` is "dense".

    With `precision: mixed_float16` the optimizer is wrapped in a LossScaleOptimizer.
    `clip=False` leaves clipping to the caller (the training loop clips the gradient
    summed over replicas; Keras's optimizer would clip each replica's share).
    """
    import keras

    from keras_lstm_opt.training.sparse import LazyAdam, LazyAdamW

    common: dict[str, Any] = {"learning_rate": make_schedule(cfg, total_steps)}
    for key in ("clipnorm", "global_clipnorm", "clipvalue"):
        if clip and getattr(cfg, key):
            common[key] = getattr(cfg, key)
    if cfg.weight_decay:
        common["weight_decay"] = cfg.weight_decay
    lazy = getattr(cfg, "embedding_updates", "dense") == "lazy"
    if cfg.optimizer == "adam":
        opt = (LazyAdam if lazy else keras.optimizers.Adam)(**common)
    elif cfg.optimizer == "adamw":
        opt = (LazyAdamW if lazy else keras.optimizers.AdamW)(**{"weight_decay": 0.0, **common})
    elif cfg.optimizer == "rmsprop":
        opt = keras.optimizers.RMSprop(momentum=cfg.momentum, **common)
    else:
        opt = keras.optimizers.SGD(momentum=cfg.momentum, **common)
    if precision == "mixed_float16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def current_learning_rate(optimizer: Any) -> float:
    """The learning rate the optimizer applies at its current step."""
    lr = getattr(optimizer, "inner_optimizer", optimizer).learning_rate
    return float(lr.numpy() if hasattr(lr, "numpy") else lr)
