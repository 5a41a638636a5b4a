"""Measured bottleneck analysis: is a training job input-bound or compute-bound?

Three timings of the same job, each after `profile.warmup_steps` steps:

1. the input pipeline alone (batches pulled, nothing trained),
2. the model alone on batches already in memory (same shapes, no pipeline),
3. the two together, as training runs.

In phase 3 each batch is fetched, timed, then trained on, so the wait for input is
measured directly, less what fetching a batch already in memory costs in the same loop
(`fetch_ms_per_step`: the eager call itself, paid with any pipeline):
`input_bound_percent = 100 x wait / step`, the share of a training step spent waiting
for the next batch (what xprof calls infeed). The rest of the gap
between phases 3 and 2 is contention: the pipeline's threads taking CPU from the step
while it keeps up (`contention_percent`). The verdict: input-bound at 50% or more,
compute-bound at 20% or less, balanced in between. Phase 2 also measures the step's
memory: TensorFlow's CPU allocator peak over the step plus the weights and optimizer
state (`measured_training_mib`).

Example:

    m = measure(load_config(None))
    m["input_bound_percent"], m["verdict"]
"""

from __future__ import annotations

import math
import time
from typing import Any

from keras_lstm_opt.config import ExperimentConfig


def _kernel_status() -> str:
    from keras_lstm_opt.models.kernels import kernel_status

    return kernel_status()


def verdict(input_bound_percent: float) -> str:
    if input_bound_percent >= 50:
        return "input-bound"
    if input_bound_percent <= 20:
        return "compute-bound"
    return "balanced"


def _timed(fn: Any, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def measure(cfg: ExperimentConfig, trace_dir: str | None = None) -> dict[str, Any]:
    """Time pipeline, model and both for `cfg`; optionally trace phase 3 for TensorBoard."""
    import tensorflow as tf

    from keras_lstm_opt.data.pipeline import make_dataset, resolve_files
    from keras_lstm_opt.experiment import build_compiled
    from keras_lstm_opt.models.cudnn import cudnn_report
    from keras_lstm_opt.models.heads import head_for
    from keras_lstm_opt.training.options import LoopOptions
    from keras_lstm_opt.training.steps import TrainStep, resolve_loss, resolve_metrics

    # threads: configured by the caller before TensorFlow initialises (profile_report)
    files = resolve_files(cfg.data)
    batch, p = cfg.train.batch_size, cfg.profile
    strategy = tf.distribute.OneDeviceStrategy(
        "/cpu:0" if not tf.config.list_physical_devices("GPU") else "/gpu:0"
    )
    head = head_for(files.schema)
    with strategy.scope():
        model = build_compiled(cfg, files.schema, 10_000)
        metrics = resolve_metrics([head.metric], head.loss, model)
    train_steps = TrainStep(
        model, strategy, resolve_loss(head.loss), metrics, LoopOptions.pick(cfg.train)
    )
    stop = tf.constant(0.0)
    ds = make_dataset(
        cfg.data,
        files.schema,
        files.train,
        batch,
        training=True,
        compression=files.compression,
        seed=cfg.train.seed,
        repeat=True,
    )

    # 1. pipeline alone
    it = iter(ds)
    for _ in range(p.warmup_steps):
        next(it)
    pipeline_s = _timed(lambda: next(it), p.steps)

    # 2. the model alone, on batches held in memory (as many as are timed, so that the
    # padded lengths match those of phase 3)
    held = ds.take(p.steps).cache().repeat()
    held_it = iter(strategy.experimental_distribute_dataset(held))
    one = tf.constant(1)
    with strategy.scope():
        model.optimizer.build(model.trainable_variables)
    try:  # the allocator keeps statistics: BFC (profile sets it) or oneDNN's default
        tf.config.experimental.reset_memory_stats("CPU:0")
        before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    except ValueError:  # e.g. AMD EPYC: TensorFlow leaves oneDNN off, no allocator stats
        before = None
    for _ in range(p.steps):  # fills the cache, traces the step
        train_steps(held_it, one, stop)[0]["count"].numpy()
    model_s = _timed(lambda: train_steps(held_it, one, stop)[0]["count"].numpy(), p.steps)
    step_peak = (
        None if before is None else tf.config.experimental.get_memory_info("CPU:0")["peak"] - before
    )
    state = sum(int(v.numpy().nbytes) for v in [*model.weights, *model.optimizer.variables])

    # 3. the model fed by the pipeline, as in training, each batch's wait timed. The
    # iterator starts only now: batches prefetched during phase 2 would hide the pipeline.
    plain_it, batch_step = iter(ds), train_steps.batch_step(ds.element_spec)

    def fetch_and_step(it: Any) -> float:
        start = time.perf_counter()
        batch = next(it)
        waited = time.perf_counter() - start
        batch_step(*batch)["count"].numpy()
        return waited

    for _ in range(p.warmup_steps):
        fetch_and_step(plain_it)
    start = time.perf_counter()
    fetched = sum(fetch_and_step(plain_it) for _ in range(p.steps)) / p.steps
    both_s = (time.perf_counter() - start) / p.steps
    # 3b. the same loop on batches held in memory: what taking a batch that is already
    # there costs (the eager call after a step; 0.5 to 0.8 ms on a 2-core VM, where a
    # thread that waited on the step wakes slowly). Only the rest waits on the pipeline.
    ready_it = iter(held.prefetch(tf.data.AUTOTUNE))  # through a prefetch buffer, as ds
    for _ in range(p.warmup_steps):
        fetch_and_step(ready_it)
    fetch_s = sum(fetch_and_step(ready_it) for _ in range(p.steps)) / p.steps
    waited = max(0.0, fetched - fetch_s)

    # 4. the same steps again under the profiler (tracing slows them, so untimed)
    if trace_dir:
        real_it = iter(strategy.experimental_distribute_dataset(ds))
        for _ in range(p.warmup_steps):
            train_steps(real_it, one, stop)[0]["count"].numpy()
        tf.profiler.experimental.start(trace_dir)
        for step in range(p.steps):
            with tf.profiler.experimental.Trace("train", step_num=step, _r=1):
                train_steps(real_it, one, stop)[0]["count"].numpy()
        tf.profiler.experimental.stop()

    percent = 100.0 * waited / both_s if both_s > 0 else 0.0
    contention = max(0.0, both_s - fetched - model_s)
    return {
        "batch_size": batch,
        "pipeline_ms_per_batch": 1000 * pipeline_s,
        "model_ms_per_step": 1000 * model_s,
        "step_ms": 1000 * both_s,
        "input_wait_ms_per_step": 1000 * waited,
        "fetch_ms_per_step": 1000 * fetch_s,
        "contention_ms_per_step": 1000 * contention,
        "contention_percent": 100.0 * contention / both_s if both_s > 0 else 0.0,
        "measured_step_peak_mib": None if step_peak is None else step_peak / 2**20,
        "measured_state_mib": state / 2**20,
        "measured_training_mib": None if step_peak is None else (step_peak + state) / 2**20,
        "pipeline_examples_per_second": batch / pipeline_s if pipeline_s else math.inf,
        "model_examples_per_second": batch / model_s if model_s else math.inf,
        "training_examples_per_second": batch / both_s if both_s else math.inf,
        "input_bound_percent": percent,
        "verdict": verdict(percent),
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
        "cudnn": [v.to_dict() for v in cudnn_report(model)],
        "kernels": _kernel_status(),
        "params": model.count_params(),
        "model": model,
        "files": files,
    }


def recommendations(cfg: ExperimentConfig, m: dict[str, Any]) -> list[dict[str, str]]:
    """Advice, each with the measurement that triggered it."""
    d, out = cfg.data, []
    wait, step = m["input_wait_ms_per_step"], m["step_ms"]

    def add(advice: str, because: str) -> None:
        out.append({"advice": advice, "because": because})

    if (
        cfg.model.lstm == "fast"
        and m["device"] == "CPU"
        and not m.get("kernels", "").startswith("loaded")
    ):
        add(
            "let FastLSTM compile its fused kernels (install g++, then "
            "`keras-lstm-opt build-kernels`); it runs its slower TensorFlow loop now",
            f"kernels: {m.get('kernels')}",
        )
    if m["verdict"] != "compute-bound":
        before, pct = len(out), m["input_bound_percent"]
        share = f"input wait {wait:.1f} ms of a {step:.1f} ms step ({pct:.0f}%)"
        if d.debug_delay_ms:
            add(
                "remove the Python map (data.debug_delay_ms) or rewrite it in TensorFlow ops",
                f"{share}; the map sleeps {d.debug_delay_ms:.0f} ms per batch",
            )
        if d.cache == "none":
            add("cache the parsed records (data.cache: memory, or a file path)", share)
        if d.parallel_reads == 1:
            add("read shards in parallel (data.parallel_reads: -1)", share)
        if d.prefetch == 0:
            add("prefetch batches (data.prefetch: -1)", share)
        if d.parse_batch_size < 32:
            add("parse records in batches (data.parse_batch_size: 256)", share)
        if len(out) == before:
            add("write more, larger shards and raise data.parallel_reads", share)
    else:
        model_share = f"the model takes {m['model_ms_per_step']:.1f} of {step:.1f} ms per step"
        if cfg.model.lstm == "keras" and m["device"] == "CPU":
            add("use the fused CPU LSTM (model.lstm: fast)", model_share)

        misses = [v for v in m["cudnn"] if not v["eligible"]]
        if misses:
            add(
                "make the LSTM layers cuDNN-eligible for GPUs: "
                + "; ".join(f"{v['layer']}: {', '.join(v['reasons'])}" for v in misses[:3]),
                f"{len(misses)} of {len(m['cudnn'])} LSTM layers would miss cuDNN",
            )
        if m["device"] == "CPU":
            add(
                "on CPU the step is bound by the LSTM recurrence: a larger batch raises "
                "samples/s; more cores or a GPU shorten the step",
                model_share,
            )
    return out
