"""Measure how fast a tf.data pipeline delivers examples, on its own (no model).

Example:

    rate = dataset_throughput(ds)  # {"examples": 19200, "seconds": 0.9, ...}
"""

from __future__ import annotations

import time
from typing import Any


def _batch_size(element: Any) -> int:
    first = element[0] if isinstance(element, tuple) else element
    while isinstance(first, (tuple, list, dict)):
        first = next(iter(first.values())) if isinstance(first, dict) else first[0]
    return int(first.shape[0])


def dataset_throughput(ds: Any, max_batches: int | None = None) -> dict[str, float]:
    """Iterate `ds` once (or `max_batches` batches) and time it."""
    examples = batches = 0
    start = time.perf_counter()
    for element in ds if max_batches is None else ds.take(max_batches):
        examples += _batch_size(element)
        batches += 1
    seconds = time.perf_counter() - start
    return {
        "examples": examples,
        "batches": batches,
        "seconds": seconds,
        "examples_per_second": examples / seconds if seconds else 0.0,
    }


def thread_settings() -> dict[str, Any]:
    """CPU count, TensorFlow's (and PyTorch's, if loaded) thread settings, versions."""
    import os
    import platform
    import sys

    import tensorflow as tf

    out: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
    }
    torch = sys.modules.get("torch")  # reported when a benchmark loaded it
    if torch is not None:
        out["torch_threads"] = torch.get_num_threads()
        out["torch"] = torch.__version__
    out["tensorflow"] = tf.__version__
    return out
