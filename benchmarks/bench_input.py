"""The bench modes of the input side: `data`, `storage`, `redis` and `remote`.

Each runner takes the parsed command line (`bench_args`), prints what it runs, runs the
benchmark module (`benchmarks.data`, `storage`, `redis_cache`, `remote`: imported when
the mode runs, so that `--help` loads none of them) and writes JSON, a PNG and the table;
it returns the process's exit code (2: a bad option or a refused input).

Example:

    sys.exit(run_storage(build_parser(None).parse_args(["--mode", "storage"])))
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from benchmarks.bench_output import finish, report_chart

__all__ = ["run_data", "run_redis", "run_remote", "run_storage"]


def run_data(args: argparse.Namespace) -> int:
    """`--mode data` (the default): the TFRecord input pipeline's variants, cold and warm."""
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


def run_storage(args: argparse.Namespace) -> int:
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
    paths = report_chart(
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


def run_redis(args: argparse.Namespace) -> int:
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
    paths = report_chart(
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


def run_remote(args: argparse.Namespace) -> int:
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
    return finish(
        r,
        args,
        "remote",
        chart,
        ["variant", "examples", "median_seconds", "examples_per_s", "mb_per_s", "vs_local"],
    )
