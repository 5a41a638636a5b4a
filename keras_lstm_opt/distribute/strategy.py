"""tf.distribute strategy by name, with communication options.

* `one_device`: the first GPU if there is one, else the CPU.
* `mirrored`: every local GPU; without GPUs, `distribute.cpu_devices` logical CPU devices
  (so synchronous data parallelism can be tested on a laptop).
* `multi_worker_mirrored`: one process per worker, cluster from TF_CONFIG (validated
  first), collectives over gRPC with the configured implementation, pack size and timeout;
  the cluster forms with a deadline, progress lines and prompt stops on signals
  (`formation.form_cluster`, `startup_timeout_seconds`).
* `auto`: multi-worker when TF_CONFIG names several tasks, mirrored on several GPUs or
  `cpu_devices > 1`, else one device.

Call `get_strategy` before any other TensorFlow work in the process: logical devices
and the collective runtime can only be configured at start-up.

Example:

    strategy, cluster = get_strategy(cfg.distribute)
    with strategy.scope():
        model = build_model(...)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from keras_lstm_opt.distribute.formation import form_cluster
from keras_lstm_opt.distribute.tf_config import ClusterInfo, cluster_from_env, parse_tf_config
from keras_lstm_opt.errors import StrategyError


class StrategySettings(Protocol):
    """What `get_strategy` reads (a config's `distribute:` section has these fields)."""

    @property
    def strategy(self) -> str: ...
    @property
    def cpu_devices(self) -> int: ...
    @property
    def implementation(self) -> str: ...
    @property
    def bytes_per_pack(self) -> int: ...
    @property
    def timeout_seconds(self) -> float: ...
    @property
    def startup_timeout_seconds(self) -> float: ...


@dataclass(frozen=True)
class Settings:
    """`StrategySettings` with defaults, for a strategy chosen by name."""

    strategy: str = "auto"
    cpu_devices: int = 1
    implementation: str = "auto"
    bytes_per_pack: int = 0
    timeout_seconds: float = 600.0
    startup_timeout_seconds: float = 300.0


NAMES = ("auto", "one_device", "mirrored", "multi_worker_mirrored")


def _configure_cpu_devices(n: int) -> None:
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current and len(current) == n:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        )
    except RuntimeError:
        raise StrategyError(
            f"distribute.cpu_devices={n}: TensorFlow was already started in "
            "this process; choose the strategy before other TF work (a new "
            "process, or the CLI)"
        ) from None


def communication_options(cfg: StrategySettings, gpus: int) -> Any:
    import tensorflow as tf

    impl = tf.distribute.experimental.CommunicationImplementation
    if cfg.implementation == "nccl" and not gpus:
        raise StrategyError(
            "distribute.implementation: nccl needs GPUs and none was found; use auto or ring"
        )
    return tf.distribute.experimental.CommunicationOptions(
        bytes_per_pack=cfg.bytes_per_pack,
        # no per-collective timeout: TensorFlow starts a sleeping thread for each one
        # (tensorflow#62466); distribute/watchdog.py guards each step with one thread
        timeout_seconds=None,
        implementation={"auto": impl.AUTO, "ring": impl.RING, "nccl": impl.NCCL}[
            cfg.implementation
        ],
    )


def resolve_strategy(strategy: Any = "auto") -> tuple[Any, ClusterInfo | None]:
    """A strategy by name (as `get_strategy`) or a tf.distribute.Strategy as given;
    returns (strategy, cluster), the cluster from TF_CONFIG for a multi-worker one."""
    import tensorflow as tf

    if isinstance(strategy, str):
        if strategy not in NAMES:
            raise StrategyError(
                f"strategy={strategy!r}: use one of {', '.join(NAMES)} or a tf.distribute.Strategy"
            )
        return get_strategy(Settings(strategy=strategy))
    if not isinstance(strategy, tf.distribute.Strategy):
        raise StrategyError(
            f"strategy={strategy!r}: use a name ({', '.join(NAMES)}) or a tf.distribute.Strategy"
        )
    multi = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    return strategy, cluster_from_env(check_port=False) if multi else None  # it listens


def get_strategy(cfg: StrategySettings) -> tuple[Any, ClusterInfo | None]:
    """Return (strategy, cluster); cluster is None outside multi-worker runs."""
    import os

    import tensorflow as tf

    name = cfg.strategy
    cluster = None
    if name == "multi_worker_mirrored":
        cluster = parse_tf_config(os.environ.get("TF_CONFIG"))
    elif name == "auto":
        cluster = cluster_from_env()
        name = "multi_worker_mirrored" if cluster else "mirrored" if cfg.cpu_devices > 1 else ""
    if name in ("mirrored", "") and cfg.cpu_devices > 1:
        _configure_cpu_devices(cfg.cpu_devices)
    gpus = tf.config.list_physical_devices("GPU")
    if name == "":
        name = "mirrored" if len(gpus) > 1 else "one_device"
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0"), None
    options = communication_options(cfg, len(gpus))
    if name == "mirrored":
        if gpus:
            devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        else:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        if cfg.implementation == "nccl":
            return tf.distribute.MirroredStrategy(devices, tf.distribute.NcclAllReduce()), None
        return tf.distribute.MirroredStrategy(
            devices, cross_device_ops=tf.distribute.ReductionToOneDevice() if not gpus else None
        ), None
    assert cluster is not None  # multi_worker_mirrored: parsed above
    return form_cluster(
        cluster, lambda: _multi_worker(options), cfg.startup_timeout_seconds
    ), cluster


def _multi_worker(options: Any) -> Any:
    import tensorflow as tf

    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (RuntimeError, ValueError) as exc:
        if "startup" not in str(exc) and "initialized" not in str(exc):
            raise
        raise StrategyError(
            "multi_worker_mirrored: TensorFlow was already started in this "
            "process (a model or tensor was created first); create the Trainer "
            "or strategy first and pass the model as a function that builds "
            f"it ({exc})"
        ) from None
