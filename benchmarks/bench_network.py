"""The bench modes over simulated links: `allreduce` and `links` (`launch --link`).

`allreduce` times all-reduces of real worker groups per message size, worker count,
implementation and pack size against each link's ring bound; `links` trains per lever
(dense, sparse, float16 wire, bigger batches) and compares with the planner's prediction.
Each runner checks `--workers` and `--links` first (exit 2, one line), then imports its
benchmark module and writes JSON, a PNG and the table (`bench_output.finish`).

Example:

    sys.exit(run_allreduce(build_parser(None).parse_args(["--mode", "allreduce"])))
"""

from __future__ import annotations

import argparse
import os
import sys

from benchmarks.bench_output import finish

__all__ = ["run_allreduce", "run_links"]


def run_allreduce(args: argparse.Namespace) -> int:
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
    return finish(
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


def run_links(args: argparse.Namespace) -> int:
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
    return finish(
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
