#!/usr/bin/env python
"""Benchmarks, side by side in one run: JSON + a printed table + a PNG chart.

    python tools/bench.py --mode data [CONFIG] [--set KEY=VALUE ...] [--repeats 3] [--out DIR]

`--mode data` times the TFRecord input pipeline alone (no model) in several variants
(cache, parse batching, parallel reads, prefetch), cold and warm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", nargs="?", help="YAML config (default: built-in defaults)")
    p.add_argument("--mode", choices=["data"], default="data")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default="bench", help="output directory (default ./bench)")
    args = p.parse_args(argv)

    from keras_lstm_opt import ConfigError, DataError, load_config
    from keras_lstm_opt.profiling.bench_data import DEFAULT_VARIANTS, bench_pipeline
    from keras_lstm_opt.profiling.report import bar_chart, format_table, write_outputs

    try:
        cfg = load_config(args.config, args.overrides)
        print(f"pipeline benchmark, {args.repeats} interleaved repeats per variant", flush=True)
        result = bench_pipeline(cfg, DEFAULT_VARIANTS, repeats=args.repeats,
                                progress=lambda s: print(s, flush=True))
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cols = ["variant", "cold_examples_per_second", "warm_examples_per_second",
            "warm_ratio_vs_default"]
    table = format_table(result["rows"], cols)
    paths = write_outputs(result, args.out, "data")
    chart = bar_chart(result["rows"], "variant", cols[1:3], os.path.join(args.out, "data.png"),
                      f"tf.data pipeline, {result['compression']} TFRecords, "
                      f"{result['examples_per_epoch']:,} examples/epoch", "examples / s")
    print()
    print(table)
    print(f"\nthreads: {json.dumps(result['threads'])}")
    print(f"wrote {paths['json']} and {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
