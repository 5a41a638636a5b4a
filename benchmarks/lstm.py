"""LSTM training-step benchmark: keras.layers.LSTM, FastLSTM and PyTorch nn.LSTM, side by side.

Each variant trains the same stack (forward, MSE loss on the last output, backward,
SGD update) on the same random batch. Variants are interleaved round by round, so
machine noise hits all of them alike; ratios are taken within one run. Each round
starts with untimed steps (at least `warmup` and `warm_seconds`: after any idle gap,
a pause or even a garbage collection, the first steps of every variant run up to 2x
slower while threads and CPUs wake up) and times its steps back to back with Python's
garbage collector paused, for every variant alike. The fp32 matmul ceiling
(TensorFlow, 2048^3) is measured in the same run.

FLOPs per training step: 3 x 8 x B x T x H x (I + H) per layer and direction.

Example:

    result = bench_lstm(["small"], ["keras", "fast", "torch"], rounds=3, steps_per_round=5)
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from keras_lstm_opt.profiling.throughput import thread_settings

SHAPES: dict[str, dict[str, Any]] = {
    "default": {
        "batch": 64,
        "time": 100,
        "inputs": 128,
        "units": 256,
        "layers": 2,
        "bidirectional": False,
    },
    "small": {
        "batch": 32,
        "time": 50,
        "inputs": 32,
        "units": 64,
        "layers": 1,
        "bidirectional": False,
    },
    "bidirectional": {
        "batch": 64,
        "time": 100,
        "inputs": 128,
        "units": 256,
        "layers": 2,
        "bidirectional": True,
    },
    "long": {
        "batch": 32,
        "time": 500,
        "inputs": 64,
        "units": 128,
        "layers": 1,
        "bidirectional": False,
    },
}
VARIANTS = ("keras", "fast", "torch")


def step_flops(s: dict[str, Any]) -> float:
    dirs = 2 if s["bidirectional"] else 1
    total, width = 0.0, s["inputs"]
    for _ in range(s["layers"]):
        total += dirs * 3 * 8 * s["batch"] * s["time"] * s["units"] * (width + s["units"])
        width = s["units"] * dirs
    return total


def _data(s: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    out = s["units"] * (2 if s["bidirectional"] else 1)
    return (
        rng.random((s["batch"], s["time"], s["inputs"]), dtype=np.float32),
        rng.random((s["batch"], out), dtype=np.float32),
    )


def keras_step(s: dict[str, Any], fast: bool) -> Callable[[], None]:
    import keras
    import tensorflow as tf

    from keras_lstm_opt.models.fast_lstm import FastLSTM

    cls = FastLSTM if fast else keras.layers.LSTM
    inp = keras.Input((s["time"], s["inputs"]))
    z = inp
    for i in range(s["layers"]):
        layer = cls(s["units"], return_sequences=i < s["layers"] - 1)
        z = keras.layers.Bidirectional(layer)(z) if s["bidirectional"] else layer(z)
    model = keras.Model(inp, z)
    opt = keras.optimizers.SGD(0.01)
    variables = model.trainable_variables

    @tf.function
    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    x, y = (tf.constant(a) for a in _data(s))
    return lambda: step(x, y).numpy()


def torch_step(s: dict[str, Any]) -> Callable[[], None] | None:
    try:
        import torch
    except ImportError:
        return None
    model = torch.nn.LSTM(
        s["inputs"],
        s["units"],
        num_layers=s["layers"],
        batch_first=True,
        bidirectional=s["bidirectional"],
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = (torch.from_numpy(a) for a in _data(s))

    def step() -> None:
        opt.zero_grad()
        out, _ = model(x)
        loss = ((out[:, -1] - y) ** 2).mean()
        loss.backward()
        opt.step()

    return step


def matmul_ceiling(n: int = 2048, repeats: int = 5) -> float:
    """Median fp32 GFLOP/s of an n x n x n TensorFlow matmul."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    tf.matmul(a, b).numpy()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        tf.matmul(a, b).numpy()
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


def int8_peak(threads: int, n: int = 2048, repeats: int = 5) -> float | None:
    """Median GOP/s of an n x n x n u8 x s8 -> s32 product by ONNX Runtime's MatMulInteger
    (MLAS: VNNI where the CPU has it), or None without onnxruntime."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "int8_peak",
        [
            helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]),
            helper.make_tensor_value_info("b", TensorProto.INT8, [n, n]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {
        "a": rng.integers(0, 256, (n, n), dtype=np.uint8),
        "b": rng.integers(-127, 128, (n, n), dtype=np.int8),
    }
    sess.run(None, feeds)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t)
    return 2 * n**3 / statistics.median(times) / 1e9


def bench_lstm(
    shapes: list[str],
    variants: list[str],
    rounds: int = 3,
    steps_per_round: int = 10,
    warmup: int = 3,
    settle: float = 0.3,
    warm_seconds: float = 0.3,
    progress: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Median/max step time, samples/s, GFLOP/s and ratios per shape and variant."""
    ceiling = matmul_ceiling()
    progress(f"fp32 matmul ceiling: {ceiling:.0f} GFLOP/s")
    rows = []
    for name in shapes:
        s = SHAPES[name]
        fns: dict[str, Callable[[], None]] = {}
        for v in variants:
            fn = torch_step(s) if v == "torch" else keras_step(s, fast=v == "fast")
            if fn is None:
                progress(f"  {v}: not installed, skipped (pip install torch==2.13.0)")
                continue
            for _ in range(warmup):
                fn()
            fns[v] = fn
        times: dict[str, list[float]] = {v: [] for v in fns}
        for r in range(rounds):
            for v, fn in fns.items():
                time.sleep(settle)  # let the previous variant's spinning threads go idle
                gc.collect()  # before the warm-up: any idle gap, even this, slows the next steps
                # Untimed: after an idle gap, every variant's first steps run up to 2x slower
                # (threads and vCPUs waking up) for ~20 to 70 ms, whatever the step's length.
                start, n = time.perf_counter(), 0
                while n < warmup or time.perf_counter() - start < warm_seconds:
                    fn()
                    n += 1
                gc.disable()  # no collector pauses inside timed steps (any variant)
                try:
                    for _ in range(steps_per_round):
                        t = time.perf_counter()
                        fn()
                        times[v].append(time.perf_counter() - t)
                finally:
                    gc.enable()
            progress(
                f"  {name}: round {r + 1}/{rounds} "
                + "  ".join(f"{v} {1000 * statistics.median(ts):.1f} ms" for v, ts in times.items())
            )
        flops = step_flops(s)
        for v, ts in times.items():
            med = statistics.median(ts)
            rows.append(
                {
                    "shape": name,
                    "variant": v,
                    "median_ms": 1000 * med,
                    "max_ms": 1000 * max(ts),
                    "max_over_median": max(ts) / med,
                    "p90_over_median": float(np.percentile(ts, 90)) / med,
                    "step_ms": [round(1000 * t, 3) for t in ts],
                    "samples_per_second": s["batch"] / med,
                    "gflops": flops / med / 1e9,
                    "ceiling_share": flops / med / 1e9 / ceiling,
                    "steps": len(ts),
                    **s,
                }
            )
        by = {row["variant"]: row for row in rows if row["shape"] == name}
        for row in by.values():
            for ref in ("keras", "torch"):
                if ref in by:
                    row[f"speed_vs_{ref}"] = by[ref]["median_ms"] / row["median_ms"]
    return {
        "mode": "lstm",
        "matmul_ceiling_gflops": ceiling,
        "threads": thread_settings(),
        "rounds": rounds,
        "steps_per_round": steps_per_round,
        "rows": rows,
    }
