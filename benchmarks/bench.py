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
import os
import sys
from collections.abc import Callable

if __package__ in (None, ""):  # run as a script from a clone: the clone's root is the import root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchmarks  # noqa: E402,F401  (children find benchmarks/ too)

if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:  # as the CLI: TensorFlow's C++ start-up lines
    # hidden, here and in the children that import keras_lstm_opt first (each a fresh process)
    os.environ["KERAS_LSTM_OPT_QUIET"] = "1"
    from keras_lstm_opt.tf_quiet import quiet  # noqa: E402

    quiet()

# The options are in bench_args; each group of modes' runners in a module of its own (each
# imports its benchmark module only when its mode runs, so `--help` stays light).
from benchmarks import (  # noqa: E402
    bench_inference,
    bench_input,
    bench_network,
    bench_text,
    bench_training,
)
from benchmarks.bench_args import build_parser  # noqa: E402

RUNNERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "data": bench_input.run_data,
    "storage": bench_input.run_storage,
    "redis": bench_input.run_redis,
    "quota": bench_training.run_quota,
    "lstm": bench_training.run_lstm,
    "time-to-accuracy": bench_text.run_tta,
    "trainer": bench_training.run_trainer,
    "predict": bench_inference.run_predict,
    "real-text": bench_text.run_real_text,
    "scale": bench_text.run_scale,
    "allreduce": bench_network.run_allreduce,
    "links": bench_network.run_links,
    "remote": bench_input.run_remote,
    "serve": bench_inference.run_serve,
}  # --mode series: benchmarks.series, imported when it runs (NumPy, the series suite)


def main(argv: list[str] | None = None) -> int:
    args = build_parser(__doc__).parse_args(argv)
    if args.mode == "series":
        from benchmarks.series import run_series

        return run_series(args)
    return RUNNERS[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
