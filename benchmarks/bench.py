#!/usr/bin/env python
"""Benchmarks, side by side in one run: JSON + a printed table + a PNG chart.

    python benchmarks/bench.py --mode data [CONFIG] [--set KEY=VALUE ...] [--repeats 3]
    python benchmarks/bench.py --mode lstm [--shapes default,small] [--variants keras,fast,torch]
    python benchmarks/bench.py --mode predict [--shapes small] [--variants keras,fast,torch,onnx]

From a clone of the repository (benchmarks/ is not in the wheel); the same as
`python -m benchmarks.bench ...` from the clone's root.

`--mode data` times the TFRecord input pipeline alone (no model) in several variants
(cache, parse batching, parallel reads, prefetch), cold and warm.
`--mode storage` writes GZIP, ZLIB and uncompressed TFRecords and tf.data snapshots
(none, SNAPPY, GZIP) of an embedded dataset: size, write MB/s, examples/s cold and cached.
`--mode redis` compares a real redis-server on 127.0.0.1 holding parsed batches with
tf.data's memory cache and a file snapshot, for 1 and 3 concurrent readers.
`--mode quota` runs jobs at once under real cgroup CPU quotas (needs root): TensorFlow's
default thread pools vs the quota-aware ones.
`--mode lstm` times LSTM training steps of keras.layers.LSTM, keras_lstm_opt.FastLSTM
and PyTorch nn.LSTM (if installed: pip install ".[bench]") on several shapes.
`--mode predict` times inference (forward only) of the same LSTM stacks in keras.layers.LSTM,
FastLSTM, PyTorch nn.LSTM (eval, no_grad) and ONNX Runtime on the tf2onnx export, with the
same weights and threads: throughput at --batch (64) and batch-1 latency (p50, p99).
`--mode trainer` times training steps of one user model (two inputs, FastLSTM, attention
pooling) under Keras's own model.fit and under keras_lstm_opt.Trainer.fit, one device:
the overhead of our strategy-aware loop, as a ratio.
`--mode time-to-accuracy` trains the embedded text task as a Keras tutorial would and
with keras-lstm-opt's defaults, and compares the wall time to a target accuracy.
`--mode real-text` trains ours and its rivals (a Keras tutorial LSTM, TF-IDF on word and on
character n-grams + logistic regression, fastText with its defaults and with word bigrams) on
text,label CSV files or suite corpora (--corpus; --rows, --contenders). `--mode scale` imports,
trains and evaluates perturbed WordNet glosses at each of --rows (e.g. 250000,1000000): wall
time and peak RSS per stage.
`--mode allreduce` times all-reduces of real worker groups (`launch --link`) per message
size, worker count, implementation and pack size, against the ring bound of each link.
`--mode links` trains with `launch --link` per lever (dense, sparse, float16 wire, bigger
batches): step time, samples/s, accuracy, time to target and the planner's prediction.
`--mode serve` loads `keras-lstm-opt serve` with concurrent HTTP clients, dynamic batching
against `--max-batch 1` (requests/s, p50/p99 latency, rows per model call).
`--mode series` forecasts the series suite (--series, --half) with ours and its rivals (naive,
seasonal naive, ETS, AutoARIMA) from the same rolling origins: MASE, sMAPE, a PNG.
`--mode remote` reads the same shards locally and from s3:// (--url, on the endpoint the
environment names, e.g. `python -m tests.ceph_cluster`), staged cold, staged warm and streamed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if __package__ in (None, ""):  # run as a script from a clone: the clone's root is the import root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchmarks  # noqa: E402,F401  (children find benchmarks/ too)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="bench.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("config", nargs="?", help="YAML config (default: built-in defaults)")
    p.add_argument(
        "--mode",
        choices=[
            "data",
            "storage",
            "redis",
            "quota",
            "lstm",
            "time-to-accuracy",
            "trainer",
            "predict",
            "real-text",
            "scale",
            "allreduce",
            "links",
            "remote",
            "serve",
            "series",
        ],
        default="data",
    )
    p.add_argument("--jobs", type=int, default=2, help="--mode quota: jobs sharing the machine")
    p.add_argument("--cpus-per-job", type=float, default=1.0, help="--mode quota: CPU quota")
    p.add_argument(
        "--task",
        choices=["text", "forecast"],
        default="text",
        help="--mode storage: embedded dataset",
    )
    p.add_argument("--examples", type=int, default=24000, help="--mode storage and redis")
    p.add_argument("--readers", default="1,3", help="--mode redis: concurrent readers")
    p.add_argument(
        "--tutorial-epochs", type=int, default=4, help="--mode time-to-accuracy and real-text"
    )
    p.add_argument(
        "--corpus",
        action="append",
        default=[],
        metavar="CSV|NAME",
        help="--mode real-text: a text,label CSV or a suite corpus (wordnet, "
        "fortunes, ...: python -m benchmarks.corpora --list); "
        "repeat for several",
    )
    p.add_argument(
        "--fasttext-epochs",
        type=int,
        default=None,
        help="--mode real-text: fastText's curve trains at 1..N epochs (default: "
        "its own default, 5)",
    )
    p.add_argument(
        "--contenders",
        default=None,
        help="--mode real-text: comma-separated (default all: tutorial,tfidf-word,"
        "tfidf-char,fasttext,fasttext-bigrams,ours)",
    )
    p.add_argument(
        "--rows",
        default=None,
        help="--mode scale: corpus sizes, comma-separated (default 250000,1000000);"
        " real-text: a stratified sample of N rows per corpus",
    )
    p.add_argument("--epochs", type=int, default=1, help="--mode scale: training epochs")
    p.add_argument("--workers", default="2,4", help="--mode allreduce and links: worker counts")
    p.add_argument(
        "--links",
        default=None,
        help="--mode allreduce (default none,10gbit,1gbit,100mbit) and links "
        "(default none,1gbit,100mbit): simulated links, none = unshaped",
    )
    p.add_argument(
        "--data", help="--mode links: an imported text data directory (default: the config's data)"
    )
    p.add_argument(
        "--levers",
        default=None,
        help="--mode links: dense,sparse,sparse+fp16,sparse+fp16+batch4x (default all)",
    )
    p.add_argument(
        "--speed-steps",
        type=int,
        default=40,
        help="--mode links: steps per epoch of the speed runs",
    )
    p.add_argument(
        "--sizes",
        default=None,
        help="--mode allreduce: message sizes in bytes (default 4 KiB to 16 MiB)",
    )
    p.add_argument(
        "--shapes",
        default=None,
        help="--mode lstm (default,small,bidirectional,long) and predict "
        "(default,small): comma-separated shapes",
    )
    p.add_argument(
        "--variants",
        default=None,
        help="--mode lstm (keras,fast,torch) and predict (keras,fast,fast-fn,torch,onnx, "
        "fast-int8,torch-int8,onnx-int8)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=10,
        help="--mode lstm: steps per round; predict: batch calls per round "
        "(5x as many batch-1 calls)",
    )
    p.add_argument("--batch", type=int, default=64, help="--mode predict: throughput batch")
    p.add_argument(
        "--intra-op",
        type=int,
        default=0,
        help="--mode lstm: TensorFlow intra-op threads (default: as `train` picks)",
    )
    p.add_argument(
        "--inter-op",
        type=int,
        default=0,
        help="--mode lstm: TensorFlow inter-op threads (default: as `train` picks)",
    )
    p.add_argument(
        "--url",
        default="s3://klo/bench-remote",
        help="--mode remote: an s3:// prefix on the endpoint the environment names",
    )
    p.add_argument(
        "--run-dir",
        help="--mode serve: a finished run to serve (default: train the default config "
        "for 1 epoch into OUT/serve-run)",
    )
    p.add_argument(
        "--max-batches", default="1,64", help="--mode serve: servers' --max-batch values"
    )
    p.add_argument("--clients", type=int, default=64, help="--mode serve: concurrent clients")
    p.add_argument(
        "--series",
        help="--mode series: suite series, comma-separated (default: the --half)",
    )
    p.add_argument(
        "--half", default="dev", help="--mode series: dev, held-out or all (default dev)"
    )
    p.add_argument(
        "--origins",
        type=int,
        default=20,
        help="--mode series: at most this many rolling origins per series (fewer where its "
        "test period is short)",
    )
    p.add_argument(
        "--methods",
        help="--mode series: naive,snaive,ets,arima,ours (default all)",
    )
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default="bench", help="output directory (default ./bench)")
    args = p.parse_args(argv)
    if args.mode == "lstm":
        return _lstm(args)
    if args.mode == "predict":
        return _predict(args)
    if args.mode == "trainer":
        return _trainer(args)
    if args.mode == "time-to-accuracy":
        return _tta(args)
    if args.mode == "storage":
        return _storage(args)
    if args.mode == "redis":
        return _redis(args)
    if args.mode == "quota":
        return _quota(args)
    if args.mode == "real-text":
        return _real_text(args)
    if args.mode == "scale":
        return _scale(args)
    if args.mode == "allreduce":
        return _allreduce(args)
    if args.mode == "links":
        return _links(args)
    if args.mode == "remote":
        return _remote(args)
    if args.mode == "serve":
        return _serve(args)
    if args.mode == "series":
        from benchmarks.series import run_series

        return run_series(args)

    from benchmarks.data import DEFAULT_VARIANTS, bench_pipeline
    from benchmarks.report import bar_chart, format_table, write_outputs
    from keras_lstm_opt import load_config
    from keras_lstm_opt.errors import ConfigError, DataError

    try:
        cfg = load_config(args.config, args.overrides)
        print(f"pipeline benchmark, {args.repeats} interleaved repeats per variant", flush=True)
        result = bench_pipeline(
            cfg, DEFAULT_VARIANTS, repeats=args.repeats, progress=lambda s: print(s, flush=True)
        )
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cols = [
        "variant",
        "cold_examples_per_second",
        "warm_examples_per_second",
        "warm_ratio_vs_default",
    ]
    table = format_table(result["rows"], cols)
    paths = write_outputs(result, args.out, "data")
    chart = bar_chart(
        result["rows"],
        "variant",
        cols[1:3],
        os.path.join(args.out, "data.png"),
        f"tf.data pipeline, {result['compression']} TFRecords, "
        f"{result['examples_per_epoch']:,} examples/epoch",
        "examples / s",
    )
    print()
    print(table)
    print(f"\nthreads: {json.dumps(result['threads'])}")
    print(f"wrote {paths['json']} and {chart}")
    return 0


def _report(
    result: dict,
    args: argparse.Namespace,
    name: str,
    label: str,
    cols: list[str],
    bars: list[str],
    title: str,
    ylabel: str,
) -> dict[str, str]:
    """JSON + PNG into --out and the table on stdout; returns the paths."""
    from benchmarks.report import bar_chart, format_table, write_outputs

    paths = write_outputs(result, args.out, name)
    paths["png"] = bar_chart(
        result["rows"], label, bars, os.path.join(args.out, f"{name}.png"), title, ylabel
    )
    print()
    print(format_table(result["rows"], cols))
    return paths


def _finish(
    result: dict, args: argparse.Namespace, name: str, plot_fn: Any, cols: list[str]
) -> int:
    """`name`.json and `name`.png (by `plot_fn(result, path)`) into --out; the table."""
    from benchmarks.report import format_table, write_outputs

    paths = write_outputs(result, args.out, name)
    png = plot_fn(result, os.path.join(args.out, f"{name}.png"))
    print()
    print(format_table(result["rows"], cols))
    print(f"wrote {paths['json']} and {png}")
    return 0


def _trainer(args: argparse.Namespace) -> int:
    from benchmarks.trainer import bench_trainer

    print(f"Trainer.fit vs model.fit: {args.repeats} interleaved rounds", flush=True)
    result = bench_trainer(
        rounds=args.repeats, steps=args.steps * 4, progress=lambda s: print(s, flush=True)
    )
    cols = ["variant", "median_step_ms", "p90_step_ms", "ratio_vs_keras", "steps_timed"]
    shape = result["shape"]
    paths = _report(
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


def _storage(args: argparse.Namespace) -> int:
    from benchmarks.storage import bench_storage

    print(
        f"storage benchmark: {args.examples:,} {args.task} examples, {args.repeats} "
        "interleaved read repeats",
        flush=True,
    )
    result = bench_storage(
        args.task,
        args.examples,
        os.path.join(args.out, "storage-work"),
        args.repeats,
        progress=lambda s: print(s, flush=True),
    )
    cols = [
        "variant",
        "size_mib",
        "write_mib_per_second",
        "records_mib_per_second",
        "cold_examples_per_second",
        "memory_cache_examples_per_second",
        "file_cache_examples_per_second",
    ]
    paths = _report(
        result,
        args,
        "storage",
        "variant",
        cols,
        cols[4:],
        f"{args.task}: {args.examples:,} examples, read cold / from memory cache / "
        "from file cache or snapshot",
        "examples / s",
    )
    print(f"\nthreads: {json.dumps(result['threads'])}")
    print(f"wrote {paths['json']} and {paths['png']}")
    return 0


def _redis(args: argparse.Namespace) -> int:
    from benchmarks.redis_cache import bench_redis

    readers = tuple(int(r) for r in args.readers.split(","))
    print(
        f"redis vs memory cache vs snapshot: {args.examples:,} text examples, {readers} "
        f"concurrent readers, {args.repeats} repeats",
        flush=True,
    )
    try:
        result = bench_redis(
            args.examples, readers, args.repeats, progress=lambda s: print(s, flush=True)
        )
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for row in result["rows"]:
        row["case"] = f"{row['variant']}, {row['readers']} reader(s)"
    cols = [
        "case",
        "per_reader_examples_per_second",
        "total_examples_per_second",
        "reader_rss_growth_mib",
        "shared_store_mib",
        "memory_for_all_readers_mib",
    ]
    paths = _report(
        result,
        args,
        "redis",
        "case",
        cols,
        cols[1:3],
        f"dataset cache backends, {args.examples:,} examples",
        "examples / s",
    )
    print(
        f"\nredis used_memory {result['redis_used_memory_mib']:.1f} MiB, snapshot "
        f"{result['snapshot_mib']:.1f} MiB on disk"
    )
    print(f"wrote {paths['json']} and {paths['png']}")
    return 0


def _quota(args: argparse.Namespace) -> int:
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
    paths = _report(
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


def _tta(args: argparse.Namespace) -> int:
    from benchmarks.report import write_outputs
    from benchmarks.tta import plot, time_to_accuracy

    os.makedirs(args.out, exist_ok=True)
    r = time_to_accuracy(args.tutorial_epochs, args.out, overrides=args.overrides)
    paths = write_outputs(r, args.out, "time_to_accuracy")
    chart = plot(r, os.path.join(args.out, "time_to_accuracy.png"))

    def fmt(v: float | None) -> str:
        return f"{v:.1f} s" if v is not None else "not reached"

    print(
        f"\ntarget val_accuracy {r['target_val_accuracy']:.4f} "
        f"({r['share_of_best']:.0%} of the known best)"
    )
    print(f"{'run':<10} {'to target':>12} {'final val_accuracy':>20}")
    for key in ("tutorial", "ours"):
        print(
            f"{key:<10} {fmt(r[key]['seconds_to_target']):>12} "
            f"{r[key]['final_val_accuracy']:>20.4f}"
        )
    if r["speedup_to_target"]:
        print(f"ours reaches the target {r['speedup_to_target']:.1f}x sooner")
    print(f"wrote {paths['json']} and {chart}")
    return 0


def _real_text(args: argparse.Namespace) -> int:
    from benchmarks import real_text
    from benchmarks.report import format_table, write_outputs
    from keras_lstm_opt.errors import KloError

    if not args.corpus:
        print(
            "error: --corpus: give text,label CSV files or suite corpora (wordnet, fortunes, "
            "...: python -m benchmarks.corpora --list)",
            file=sys.stderr,
        )
        return 2
    try:
        rows = int(args.rows) if args.rows else None
    except ValueError:
        rows = 0
    if rows is not None and rows < 10:
        print(f"error: --rows {args.rows!r}: one integer, at least 10", file=sys.stderr)
        return 2
    try:
        contenders = (
            real_text.parse_contenders(args.contenders) if args.contenders else real_text.CONTENDERS
        )
        print(
            f"real-text benchmark: {', '.join(contenders)} (tutorial {args.tutorial_epochs} "
            "epochs), each in a fresh process",
            flush=True,
        )
        r = real_text.bench_real_text(
            args.corpus,
            args.out,
            args.tutorial_epochs,
            args.overrides,
            contenders,
            rows=rows,
            fasttext_epochs=args.fasttext_epochs,
            progress=lambda s: print(s, flush=True),
        )
    except KloError as exc:  # bad data, an unknown corpus or contender, a missing package
        print(f"error: {exc}", file=sys.stderr)
        return 2
    paths = write_outputs(r, args.out, "real_text")
    png = real_text.plot(r, os.path.join(args.out, "real_text.png"))
    cols = [
        "corpus",
        "rows",
        "classes",
        "median_words",
        "contender",
        "best_val_accuracy",
        "macro_f1",
        "best_at_seconds",
        "seconds_to_tutorial_best",
        "speedup_vs_tutorial",
        "gap_points",
        "int8_drop_points",
    ]
    print()
    for row in r["rows"]:  # ours: the int8 Predictor's accuracy drop from float32's
        row["int8_drop_points"] = (row.get("int8") or {}).get("drop_points")
    shown = [{k: "-" if row.get(k) is None else row[k] for k in cols} for row in r["rows"]]
    for row in shown:  # points: one decimal and a sign, whatever its size
        for key in ("gap_points", "int8_drop_points"):
            row[key] = row[key] if row[key] == "-" else f"{row[key]:+.1f}"
    print(format_table(shown, cols))
    for corpus in r["corpora"]:  # issue 30's two lines, and why a miss is one
        judged = corpus.get("verdict") or {}
        for line in ("accuracy", "speed"):
            if judged.get(line) not in (None, "met"):
                print(f"{corpus['corpus']}: {line} missed: {judged[line]}")
    m, v = r["machine"], r["versions"]
    print(
        f"{m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {r['date']}; "
        + ", ".join(f"{k} {v[k]}" for k in v)
    )
    print(f"wrote {paths['json']} and {png}")
    return 0


def _scale(args: argparse.Namespace) -> int:
    from benchmarks.report import format_table, write_outputs
    from benchmarks.scale import bench_scale, plot, table_rows

    args.rows = args.rows or "250000,1000000"
    try:
        sizes = [int(n) for n in args.rows.split(",")]
    except ValueError:
        print(f"error: --rows {args.rows!r}: comma-separated integers", file=sys.stderr)
        return 2
    if not sizes or min(sizes) < 100:
        print("error: --rows: each size at least 100", file=sys.stderr)
        return 2
    print(
        f"scale benchmark: {', '.join(f'{n:,}' for n in sizes)} rows of perturbed WordNet "
        f"glosses; import, train ({args.epochs} epoch(s)) and evaluate, each a child "
        "process",
        flush=True,
    )
    r = bench_scale(
        sizes, args.out, args.epochs, args.overrides, progress=lambda s: print(s, flush=True)
    )
    paths = write_outputs(r, args.out, "scale")
    chart = plot(r, os.path.join(args.out, "scale.png"))
    rows = table_rows(r)
    print()
    print(format_table(rows, list(rows[0])))
    print(f"wrote {paths['json']} and {chart}")
    return 0


def _allreduce(args: argparse.Namespace) -> int:
    from benchmarks.allreduce import bench_allreduce, chart
    from keras_lstm_opt.errors import UsageError
    from keras_lstm_opt.launch.netns import parse_rate

    try:
        workers = [int(n) for n in args.workers.split(",")]
        sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else None
        links = (args.links or "none,10gbit,1gbit,100mbit").split(",")
        for link in links:
            if link != "none":
                parse_rate(link)
    except ValueError:
        print("error: --workers and --sizes: comma-separated integers", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"error: --links: {exc}", file=sys.stderr)
        return 2
    print(
        f"all-reduce benchmark: {args.workers} workers over {args.links}; each group real "
        "worker processes started by `keras-lstm-opt launch`",
        flush=True,
    )
    r = bench_allreduce(workers, links, sizes, progress=lambda s: print(s, flush=True))
    return _finish(
        r,
        args,
        "allreduce",
        chart,
        [
            "workers",
            "link",
            "implementation",
            "bytes_per_pack",
            "size",
            "ms",
            "bus_gbit_s",
            "ring_bound_ms",
            "of_bound",
        ],
    )


def _remote(args: argparse.Namespace) -> int:
    from benchmarks.remote import bench_remote, chart
    from keras_lstm_opt.errors import StorageError
    from keras_lstm_opt.io.storage import check_paths

    try:
        check_paths({"--url": args.url})
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"remote reads: {args.examples:,} text examples, local vs {args.url} staged and "
        f"streamed, {args.repeats} interleaved rounds",
        flush=True,
    )
    r = bench_remote(
        args.url,
        args.examples,
        os.path.join(args.out, "remote-work"),
        args.repeats,
        progress=lambda s: print(s, flush=True),
    )
    return _finish(
        r,
        args,
        "remote",
        chart,
        ["variant", "examples", "median_seconds", "examples_per_s", "mb_per_s", "vs_local"],
    )


def _links(args: argparse.Namespace) -> int:
    from benchmarks.links import bench_links, chart
    from keras_lstm_opt.errors import UsageError
    from keras_lstm_opt.launch.netns import parse_rate

    try:
        workers = [int(n) for n in args.workers.split(",")]
        links = (args.links or "none,1gbit,100mbit").split(",")
        for link in links:
            if link != "none":
                parse_rate(link)
    except (ValueError, UsageError) as exc:
        print(f"error: --workers/--links: {exc}", file=sys.stderr)
        return 2
    if "none" not in links:
        links.insert(0, "none")  # the planner predicts from the unshaped runs
    print(
        f"training over simulated links: {workers} workers, links {links}; an accuracy "
        "run per lever (unshaped), then speed runs",
        flush=True,
    )
    r = bench_links(
        args.data,
        workers,
        links,
        args.levers.split(",") if args.levers else None,
        args.speed_steps,
        config=args.config,
        out_dir=os.path.join(args.out, "links-runs"),
        extra=args.overrides,
        progress=lambda s: print(s, flush=True),
    )
    return _finish(
        r,
        args,
        "links",
        chart,
        [
            "workers",
            "link",
            "lever",
            "step_ms",
            "samples_per_s",
            "vs_dense",
            "best_val_accuracy",
            "minutes_to_target",
            "predicted_step_ms",
            "prediction_error",
        ],
    )


def _lstm(args: argparse.Namespace) -> int:
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


def _predict(args: argparse.Namespace) -> int:
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


def _serve(args: argparse.Namespace) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
