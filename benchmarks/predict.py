"""Inference benchmark: keras.layers.LSTM, FastLSTM, PyTorch nn.LSTM and ONNX Runtime, side by side.

Every variant runs the same LSTM stack (`bench.lstm.SHAPES`: layers, time steps, inputs,
units; the last layer returns its last output) with the same weights, forward only:

* `keras`: keras.layers.LSTM in a tf.function, `training=False`, called as one concrete
  function for any batch size (as a SavedModel signature is served);
* `fast`: keras_lstm_opt's FastLSTM served by `klo.Predictor` (its inference op, nothing
  kept for a backward pass, called eagerly: no per-call graph set-up), as `load_run`'s
  `predict` and `predictor()` serve a model from Python;
* `fast-fn`: the same FastLSTM model as a concrete function, like `keras` (what the
  per-call cost of a TensorFlow function adds to the kernel);
* `torch`: PyTorch's nn.LSTM in eval mode under `torch.no_grad()` (the `bench` extra;
  skipped with a note when torch is not installed), the Keras weights copied in;
* `onnx`: the stock Keras model exported with tf2onnx (as `keras-lstm-opt export`
  does) and run by an ONNX Runtime InferenceSession (skipped with a note without
  tf2onnx / onnxruntime);
* int8, each framework's own dynamic quantisation of the same weights: `fast-int8`
  (`Predictor(model, precision="int8")`), `torch-int8` (`quantize_dynamic` on nn.LSTM,
  qint8) and `onnx-int8` (onnxruntime.quantization's `quantize_dynamic`, int8 weights per
  channel: DynamicQuantizeLSTM). They are checked against Keras at INT8_TOLERANCE and
  report their share of the int8 peak (ONNX Runtime's MatMulInteger, 2048^3).

Before timing, each variant's output is compared with Keras's (max abs difference,
printed; 1e-4 is the bar). Threads are equal across frameworks: TensorFlow's intra-op
threads as set by the caller (benchmarks/bench.py: as `train` picks them), PyTorch's
`set_num_threads` and ONNX Runtime's `intra_op_num_threads` the same number, one
inter-op thread for all.

Two cases per shape: throughput at `batch` rows (samples/s, and GFLOP/s as a share of the
fp32 matmul ceiling measured at the start: a 2048^3 TensorFlow matmul) and latency at
batch 1 (p50 and p99 of single calls; the fastest call too: on a shared machine, what a variant
does when it has the CPUs to itself). Variants are interleaved round by round, so machine
noise hits all alike; every round starts with untimed calls and times its calls with Python's
garbage collector paused, as in `bench.lstm`.

Example:

    result = bench_predict(["small"], ["keras", "fast", "torch", "onnx"], rounds=3)
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.lstm import SHAPES, int8_peak, matmul_ceiling
from keras_lstm_opt.profiling.throughput import thread_settings

VARIANTS = ("keras", "fast", "fast-fn", "torch", "onnx", "fast-int8", "torch-int8", "onnx-int8")
INT8 = ("fast-int8", "torch-int8", "onnx-int8")
PREDICT_SHAPES = ("default", "small")  # unidirectional: nn.LSTM and ONNX's LSTM alike
TOLERANCE = 1e-4
INT8_TOLERANCE = 0.05  # int8 variants against Keras's float32 outputs (h, in (-1, 1))
Call = Callable[[np.ndarray], np.ndarray]


def lstm_flops(s: dict[str, Any], batch: int) -> float:
    """Multiply-adds x 2 of one forward pass: each layer's x w and h u, every step."""
    total, inputs = 0, s["inputs"]
    for _ in range(s["layers"]):
        total += 2 * batch * s["time"] * (inputs + s["units"]) * 4 * s["units"]
        inputs = s["units"]
    return float(total)


def keras_model(s: dict[str, Any], fast: bool) -> Any:
    """The shape's LSTM stack as a Keras model (FastLSTM or keras.layers.LSTM)."""
    import keras

    from keras_lstm_opt.models.fast_lstm import FastLSTM

    cls = FastLSTM if fast else keras.layers.LSTM
    inp = keras.Input((s["time"], s["inputs"]))
    z = inp
    for i in range(s["layers"]):
        z = cls(s["units"], return_sequences=i < s["layers"] - 1)(z)
    return keras.Model(inp, z)


def _keras_call(model: Any, s: dict[str, Any]) -> Call:
    """A concrete function, as a SavedModel signature serves it (no retracing checks)."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, s["time"], s["inputs"]], tf.float32)
    fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    return lambda x: fn(tf.constant(x)).numpy()


def _predictor_call(model: Any, precision: str = "float32") -> Call:
    from keras_lstm_opt.models.predictor import Predictor

    predictor = Predictor(model, precision=precision)
    if not predictor.eager:
        raise RuntimeError(f"bench predict: FastLSTM is not served eagerly: {predictor.plan}")
    return predictor


def _torch_call(s: dict[str, Any], stock: Any, threads: int, int8: bool = False) -> Call | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    net = torch.nn.LSTM(s["inputs"], s["units"], num_layers=s["layers"], batch_first=True)
    layers = [w for w in stock.layers if w.weights]
    with torch.no_grad():
        for i, layer in enumerate(layers):  # Keras: kernel [I, 4H], gates i, f, c, o as torch's
            kernel, recurrent, bias = (np.asarray(w) for w in layer.get_weights())
            getattr(net, f"weight_ih_l{i}").copy_(torch.from_numpy(kernel.T.copy()))
            getattr(net, f"weight_hh_l{i}").copy_(torch.from_numpy(recurrent.T.copy()))
            getattr(net, f"bias_ih_l{i}").copy_(torch.from_numpy(bias))
            getattr(net, f"bias_hh_l{i}").zero_()
    net.eval()
    if int8:  # PyTorch's dynamic quantisation: int8 weights, activations quantised per call
        import warnings

        quantize: Any = torch.ao.quantization.quantize_dynamic  # untyped in torch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
            # it swaps child modules only: the LSTM goes in a container, and comes out
            net = quantize(torch.nn.Sequential(net), {torch.nn.LSTM}, dtype=torch.qint8)[0]

    def call(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(x))[0][:, -1].numpy()

    return call


def _onnx_call(s: dict[str, Any], stock: Any, threads: int, int8: bool = False) -> Call | None:
    try:
        import onnxruntime as ort
        import tf2onnx
    except ImportError:
        return None
    import tensorflow as tf

    from keras_lstm_opt.serve.onnx_export import newest_opset

    spec = [tf.TensorSpec([None, s["time"], s["inputs"]], tf.float32, name="x")]
    fn = tf.function(lambda x: stock(x, training=False), input_signature=spec)
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=spec, opset=newest_opset())
    model = proto.SerializeToString()
    if int8:  # ONNX Runtime's dynamic quantisation, as `export --quantize int8` does it
        import tempfile

        from keras_lstm_opt.serve.onnx_quantize import quantize_onnx

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.onnx")
            with open(path, "wb") as fh:
                fh.write(model)
            quantize_onnx(path)
            with open(path, "rb") as fh:
                model = fh.read()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {name: x})[0]


def _variants(
    s: dict[str, Any], variants: list[str], threads: int, progress: Callable[[str], Any]
) -> tuple[dict[str, Call], dict[str, float]]:
    """Each available variant's call and its max abs difference from Keras's output."""
    import keras

    keras.utils.set_random_seed(0)
    stock = keras_model(s, fast=False)
    fast = keras_model(s, fast=True)
    fast.set_weights(stock.get_weights())
    makers: dict[str, Callable[[], Call | None]] = {
        "keras": lambda: _keras_call(stock, s),
        "fast": lambda: _predictor_call(fast),
        "fast-fn": lambda: _keras_call(fast, s),
        "torch": lambda: _torch_call(s, stock, threads),
        "onnx": lambda: _onnx_call(s, stock, threads),
        "fast-int8": lambda: _predictor_call(fast, "int8"),
        "torch-int8": lambda: _torch_call(s, stock, threads, int8=True),
        "onnx-int8": lambda: _onnx_call(s, stock, threads, int8=True),
    }
    notes = {
        "torch": "torch not installed, skipped (pip install torch==2.13.0: the bench extra)",
        "onnx": "tf2onnx/onnxruntime not installed, skipped (the onnx extra)",
    }
    notes["torch-int8"], notes["onnx-int8"] = notes["torch"], notes["onnx"]
    x = np.random.default_rng(0).random((3, s["time"], s["inputs"]), dtype=np.float32)
    reference = _keras_call(stock, s)(x)
    calls, diffs = {}, {}
    for v in variants:
        call = makers[v]()
        if call is None:
            progress(f"  {v}: {notes[v]}")
            continue
        diffs[v] = float(np.abs(call(x) - reference).max())
        bar = INT8_TOLERANCE if v in INT8 else TOLERANCE
        ok = "ok" if diffs[v] <= bar else f"MISMATCH (over {bar:g})"
        progress(f"  {v}: max |output - keras| = {diffs[v]:.2e} {ok}")
        calls[v] = call
    return calls, diffs


def _time(
    calls: dict[str, Call],
    x: np.ndarray,
    rounds: int,
    per_round: int,
    warmup: int,
    settle: float,
    warm_seconds: float,
    on_round: Callable[[int, dict[str, list[float]]], None],
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {v: [] for v in calls}
    for r in range(rounds):
        for v, call in calls.items():
            time.sleep(settle)  # let the previous variant's spinning threads go idle
            gc.collect()
            start, n = time.perf_counter(), 0
            while n < warmup or time.perf_counter() - start < warm_seconds:
                call(x)
                n += 1
            gc.disable()
            try:
                for _ in range(per_round):
                    t = time.perf_counter()
                    call(x)
                    times[v].append(time.perf_counter() - t)
            finally:
                gc.enable()
        on_round(r, times)
    return times


def bench_predict(
    shapes: list[str],
    variants: list[str],
    rounds: int = 3,
    batch: int = 64,
    calls_per_round: int = 10,
    latency_calls_per_round: int = 50,
    warmup: int = 3,
    settle: float = 0.3,
    warm_seconds: float = 0.3,
    threads: int | None = None,
    progress: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Throughput at `batch` and batch-1 latency per shape and variant, with ratios.

    Args:
        shapes: names in `bench.lstm.SHAPES` (unidirectional ones).
        variants: some of VARIANTS.
        rounds: interleaved rounds; each times `calls_per_round` calls at `batch` and
            `latency_calls_per_round` calls at batch 1 per variant.
        threads: intra-op threads for every framework (default: TensorFlow's setting).
    """
    import tensorflow as tf

    threads = threads or tf.config.threading.get_intra_op_parallelism_threads() or 1
    ceiling = matmul_ceiling()
    progress(f"fp32 matmul ceiling: {ceiling:.0f} GFLOP/s")
    peak8 = int8_peak(threads) if any(v in INT8 for v in variants) else None
    if peak8:
        progress(f"int8 matmul peak (ONNX Runtime's MatMulInteger): {peak8:.0f} GOP/s")
    rows, sanity = [], {}
    for name in shapes:
        s = SHAPES[name]
        progress(
            f"{name}: {s['layers']} layer(s), T={s['time']}, I={s['inputs']}, "
            f"H={s['units']}; checking outputs against Keras"
        )
        calls, sanity[name] = _variants(s, variants, threads, progress)
        rng = np.random.default_rng(1)
        for b, per_round in ((batch, calls_per_round), (1, latency_calls_per_round)):
            x = rng.random((b, s["time"], s["inputs"]), dtype=np.float32)

            def report(
                r: int, times: dict[str, list[float]], tag: str = f"{name} batch {b}"
            ) -> None:
                progress(
                    f"  {tag}: round {r + 1}/{rounds} "
                    + "  ".join(
                        f"{v} {1000 * statistics.median(ts):.2f} ms" for v, ts in times.items()
                    )
                )

            times = _time(calls, x, rounds, per_round, warmup, settle, warm_seconds, report)
            case = [
                {
                    "shape": name,
                    "batch": b,
                    "variant": v,
                    "label": f"{name}/b{b}/{v}",
                    "p50_ms": 1000 * statistics.median(ts),
                    "min_ms": 1000 * min(ts),
                    "p99_ms": 1000 * float(np.percentile(ts, 99)),
                    "samples_per_second": b / statistics.median(ts),
                    "gflops": lstm_flops(s, b) / statistics.median(ts) / 1e9,
                    "ceiling_share": lstm_flops(s, b) / statistics.median(ts) / 1e9 / ceiling,
                    **(
                        {"int8_peak_share": lstm_flops(s, b) / statistics.median(ts) / 1e9 / peak8}
                        if v in INT8 and peak8
                        else {}
                    ),
                    "calls": len(ts),
                    "matches_keras": sanity[name][v]
                    <= (INT8_TOLERANCE if v in INT8 else TOLERANCE),
                    "call_ms": [round(1000 * t, 3) for t in ts],
                    **{k: s[k] for k in ("time", "inputs", "units", "layers")},
                }
                for v, ts in times.items()
            ]
            by = {row["variant"]: row for row in case}
            for row in case:
                for ref in ("keras", "fast", "torch", "onnx"):
                    if ref in by:
                        row[f"speed_vs_{ref}"] = by[ref]["p50_ms"] / row["p50_ms"]
            rows += case
    return {
        "mode": "predict",
        "matmul_ceiling_gflops": ceiling,
        "int8_peak_gops": peak8,
        "threads": {**thread_settings(), "every_framework": threads},
        "rounds": rounds,
        "batch": batch,
        "tolerance": TOLERANCE,
        "max_abs_diff_vs_keras": sanity,
        "rows": rows,
    }


def plot(result: dict[str, Any], path: str) -> str:
    """One panel per shape and batch: each variant's p50 latency (ms, lower is better),
    int8 variants hatched, the ratio to ONNX Runtime's float32 above each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_lstm_opt.charts import save_figure

    cases = list(dict.fromkeys((r["shape"], r["batch"]) for r in result["rows"]))
    fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 3.6), squeeze=False)
    for ax, (shape, batch) in zip(axes[0], cases, strict=True):
        rows = [r for r in result["rows"] if (r["shape"], r["batch"]) == (shape, batch)]
        names = [r["variant"] for r in rows]
        values = [r["p50_ms"] for r in rows]
        colors = [
            "C3"
            if n.startswith("fast")
            else "C0"
            if "torch" in n
            else "C2"
            if "onnx" in n
            else "C7"
            for n in names
        ]
        bars = ax.bar(range(len(rows)), values, color=colors)
        for bar, r in zip(bars, rows, strict=True):
            if r["variant"] in INT8:
                bar.set_hatch("//")
            if "speed_vs_onnx" in r:
                ax.annotate(
                    f"{r['speed_vs_onnx']:.2f}x",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
        ax.set_xticks(range(len(rows)), names, rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{shape}, batch {batch}", fontsize=9)
        ax.set_ylabel("p50 ms per call (lower is better)", fontsize=7)
    fig.suptitle(
        "LSTM inference, p50 per call; above each bar: speed relative to ONNX Runtime float32 "
        "(hatched: int8)",
        fontsize=9,
    )
    return save_figure(fig, path)
