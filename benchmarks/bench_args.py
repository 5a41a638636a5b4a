"""The command line of `python benchmarks/bench.py`: every mode's options, one parser.

The modes share one flat parser (each option's help says which modes read it), so that
`--help` lists them all in one place and a command line from the docs stays valid; each
mode's runner reads the options it needs from the namespace. The description is bench.py's
docstring, passed in by `bench.main`.

Example:

    args = build_parser("benchmarks").parse_args(["--mode", "lstm", "--shapes", "small"])
"""

from __future__ import annotations

import argparse

__all__ = ["MODES", "build_parser"]

MODES = (
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
)


def build_parser(description: str | None) -> argparse.ArgumentParser:
    """The parser of every mode's options; `description`: the text `--help` shows first."""
    p = argparse.ArgumentParser(
        prog="bench.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", nargs="?", help="YAML config (default: built-in defaults)")
    p.add_argument(
        "--mode",
        choices=list(MODES),
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
    return p
