"""The bench modes of training speed on one machine: `lstm`, `trainer` and `quota`.

`lstm` times training steps of keras.layers.LSTM, FastLSTM and PyTorch per shape,
`trainer` our `Trainer.fit` against Keras's `model.fit`, `quota` jobs under cgroup CPU
quotas with TensorFlow's default threads and with the quota-aware ones. Each runner takes
the parsed command line (`bench_args`), imports its benchmark module when it runs, writes
JSON, a PNG and the table, and returns the exit code (2: a bad option or a refused run).

Example:

    sys.exit(run_lstm(build_parser(None).parse_args(["--mode", "lstm", "--shapes", "small"])))
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from benchmarks.bench_output import report_chart

__all__ = ["run_lstm", "run_quota", "run_trainer"]


def run_lstm(args: argparse.Namespace) -> int:
    # PyTorch's OpenMP threads spin for a while after each step (OMP_WAIT_POLICY left at
    # its default, which suits PyTorch best); bench.lstm pauses between variants so that
    # the spinning does not land on the next variant's steps.
    from benchmarks.lstm import SHAPES, VARIANTS, bench_lstm
    from benchmarks.report import bar_chart, format_table, write_outputs

    shapes = [s for s in (args.shapes or ",".join(SHAPES)).split(",") if s]
    variants = [v for v in (args.variants or ",".join(VARIANTS)).split(",") if v]
    bad = [s for s in shapes if s not in SHAPES] + [v for v in variants if v not in VARIANTS]
    if bad:
        print(
            f"error: unknown shape or variant {bad}; shapes: {', '.join(SHAPES)}; "
            f"variants: {', '.join(VARIANTS)}",
            file=sys.stderr,
        )
        return 2
    from keras_lstm_opt.resources import configure_threads

    threads = configure_threads(args.intra_op, args.inter_op)  # what `train` would use
    print(
        f"LSTM training-step benchmark, {args.repeats} interleaved rounds x {args.steps} steps; "
        f"TensorFlow threads: intra-op {threads['intra_op']}, inter-op {threads['inter_op']}",
        flush=True,
    )
    result = bench_lstm(
        shapes,
        variants,
        rounds=args.repeats,
        steps_per_round=args.steps,
        progress=lambda s: print(s, flush=True),
    )
    cols = [
        "shape",
        "variant",
        "median_ms",
        "max_over_median",
        "p90_over_median",
        "samples_per_second",
        "gflops",
        "ceiling_share",
        "speed_vs_keras",
        "speed_vs_torch",
    ]
    paths = write_outputs(result, args.out, "lstm")
    for row in result["rows"]:
        row["label"] = f"{row['shape']}/{row['variant']}"
    chart = bar_chart(
        result["rows"],
        "label",
        ["speed_vs_keras"],
        os.path.join(args.out, "lstm.png"),
        "Training-step speed relative to keras.layers.LSTM (higher is faster)",
        "x keras.layers.LSTM",
        fmt="{:.2f}",
    )
    print()
    print(format_table(result["rows"], cols))
    print(
        f"\nfp32 matmul ceiling {result['matmul_ceiling_gflops']:.0f} GFLOP/s; "
        f"threads: {json.dumps(result['threads'])}"
    )
    print(f"wrote {paths['json']} and {chart}")
    return 0


def run_trainer(args: argparse.Namespace) -> int:
    from benchmarks.trainer import bench_trainer

    print(f"Trainer.fit vs model.fit: {args.repeats} interleaved rounds", flush=True)
    result = bench_trainer(
        rounds=args.repeats, steps=args.steps * 4, progress=lambda s: print(s, flush=True)
    )
    cols = ["variant", "median_step_ms", "p90_step_ms", "ratio_vs_keras", "steps_timed"]
    shape = result["shape"]
    paths = report_chart(
        result,
        args,
        "trainer",
        "variant",
        cols,
        cols[1:3],
        f"one user model (B{shape['batch']} T{shape['time_steps']}), one device: step time",
        "ms / step",
    )
    print(f"\nTrainer.fit / model.fit step time: {result['ratio_trainer_vs_keras']:.3f}")
    print(f"wrote {paths['json']} and {paths['png']}")
    return 0


def run_quota(args: argparse.Namespace) -> int:
    from benchmarks.quota import bench_quota

    print(
        f"{args.jobs} jobs at once, each in a cgroup with a {args.cpus_per_job:g}-CPU quota: "
        f"TensorFlow's default threads vs quota-aware, {args.repeats} repeats",
        flush=True,
    )
    try:
        result = bench_quota(
            args.jobs,
            args.cpus_per_job,
            args.repeats,
            tuple(args.overrides),
            progress=lambda s: print(s, flush=True),
        )
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cols = ["threads", "intra_op", "samples_per_second_per_job", "ratio_vs_default"]
    paths = report_chart(
        result,
        args,
        "quota",
        "threads",
        cols,
        ["samples_per_second_per_job"],
        f"{args.jobs} jobs, {args.cpus_per_job:g} CPU quota each",
        "samples / s",
    )
    print(f"\nquota-aware choice: {result['why']}")
    print(f"wrote {paths['json']} and {paths['png']}")
    return 0
