"""The bench modes of inference: `predict` (one process) and `serve` (over HTTP).

`predict` times forward passes of the same LSTM stacks in Keras, FastLSTM, PyTorch and
ONNX Runtime (batch throughput, batch-1 latency); `serve` loads `keras-lstm-opt serve`
with concurrent clients, dynamic batching against `--max-batch 1`. Each runner takes the
parsed command line (`bench_args`), imports its benchmark module when it runs and writes
JSON, a PNG and the table; `serve` exits 1 when a request failed.

Example:

    sys.exit(run_predict(build_parser(None).parse_args(["--mode", "predict"])))
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["run_predict", "run_serve"]


def run_predict(args: argparse.Namespace) -> int:
    from benchmarks.predict import PREDICT_SHAPES, VARIANTS, bench_predict
    from benchmarks.predict import plot as plot_predict

    shapes = [s for s in (args.shapes or ",".join(PREDICT_SHAPES)).split(",") if s]
    variants = [v for v in (args.variants or ",".join(VARIANTS)).split(",") if v]
    bad = [s for s in shapes if s not in PREDICT_SHAPES] + [
        v for v in variants if v not in VARIANTS
    ]
    if bad:
        print(
            f"error: unknown shape or variant {bad}; shapes: {', '.join(PREDICT_SHAPES)}; "
            f"variants: {', '.join(VARIANTS)}",
            file=sys.stderr,
        )
        return 2
    from keras_lstm_opt.resources import configure_threads

    threads = configure_threads(args.intra_op, args.inter_op)  # what `train` would use
    print(
        f"LSTM inference benchmark, {args.repeats} interleaved rounds: batch {args.batch} "
        f"({args.steps} calls per round) and batch 1 ({5 * args.steps} calls); "
        f"threads: {threads['intra_op']} intra-op in every framework, 1 inter-op",
        flush=True,
    )
    result = bench_predict(
        shapes,
        variants,
        rounds=args.repeats,
        batch=args.batch,
        calls_per_round=args.steps,
        latency_calls_per_round=5 * args.steps,
        threads=threads["intra_op"],
        progress=lambda s: print(s, flush=True),
    )
    cols = [
        "shape",
        "batch",
        "variant",
        "p50_ms",
        "p99_ms",
        "min_ms",
        "samples_per_second",
        "ceiling_share",
        "int8_peak_share",
        "speed_vs_keras",
        "speed_vs_fast",
        "speed_vs_torch",
        "speed_vs_onnx",
    ]
    from benchmarks.report import format_table, write_outputs

    paths = write_outputs(result, args.out, "predict")
    paths["png"] = plot_predict(result, os.path.join(args.out, "predict.png"))
    print()
    print(format_table(result["rows"], cols))
    print(
        f"\nfp32 matmul ceiling {result['matmul_ceiling_gflops']:.0f} GFLOP/s; "
        f"threads: {json.dumps(result['threads'])}"
    )
    print(f"max |output - keras|: {json.dumps(result['max_abs_diff_vs_keras'])}")
    print(f"wrote {paths['json']} and {paths['png']}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from benchmarks.report import bar_chart, format_table, write_outputs
    from benchmarks.serve import bench_serve

    run_dir = args.run_dir
    if not run_dir:
        from keras_lstm_opt.experiment import fit

        run_dir = os.path.join(args.out, "serve-run")
        if not os.path.exists(os.path.join(run_dir, "metrics.json")):
            print(f"training the default config for 1 epoch into {run_dir}", flush=True)
            fit(args.config, run_dir=run_dir, overrides=["train.epochs=1", *args.overrides])
    batches = sorted({int(b) for b in args.max_batches.split(",") if b})
    print(
        f"serving benchmark: {args.clients} clients x 50 requests of one instance, "
        f"{args.repeats} interleaved rounds, --max-batch {batches}",
        flush=True,
    )
    result = bench_serve(run_dir, batches, clients=args.clients, rounds=args.repeats)
    cols = ["max_batch", "requests_per_second", "p50_ms", "p99_ms", "rows_per_call"]
    cols += ["throughput_ratio", "failures"]
    print(format_table(result["servers"], cols))
    paths = write_outputs(result, args.out, "serve")
    paths["png"] = bar_chart(
        [{**r, "max_batch": f"--max-batch {r['max_batch']}"} for r in result["servers"]],
        "max_batch",
        ["requests_per_second"],
        os.path.join(args.out, "serve.png"),
        f"keras-lstm-opt serve, {args.clients} concurrent clients",
        "requests/s",
    )
    print(json.dumps(paths))
    return 0 if all(r["failures"] == 0 for r in result["servers"]) else 1
