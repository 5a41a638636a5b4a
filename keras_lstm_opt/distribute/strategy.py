"""tf.distribute strategy by name.

* `one_device`: the first GPU if there is one, else the CPU.
* `mirrored`: every local GPU (or the CPU when there is none), synchronous all-reduce.
* `auto`: mirrored when the host has several GPUs, else one_device.

Example:

    strategy = get_strategy(cfg.distribute)
    with strategy.scope():
        model = build_model(...)
"""

from __future__ import annotations

from typing import Any

from keras_lstm_opt.config import DistributeConfig


def get_strategy(cfg: DistributeConfig) -> Any:
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    name = cfg.strategy
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one_device"
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    raise ValueError(f"distribute.strategy: unknown strategy {cfg.strategy!r}")
