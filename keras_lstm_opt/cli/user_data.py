"""The command line's way in and out for a user's own data (called by `cli`):

    keras-lstm-opt data import SRC --out DIR (--text COL --label COL |
        --time COL --target COL[,..] [--window W --horizon H --transform KIND]) ...
    keras-lstm-opt evaluate RUN_DIR [--data SRC_OR_DIR] [--out DIR]
    keras-lstm-opt predict RUN_DIR SRC [--out FILE]
    keras-lstm-opt export RUN_DIR --format saved_model|onnx --out DIR [--quantize int8]

Arguments are checked before TensorFlow starts; the work is done by
`keras_lstm_opt.import_data`, `keras_lstm_opt.serve.evaluate_run`, `predict_file` and
`export_run`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from collections.abc import Callable
from typing import Any

from keras_lstm_opt.errors import UnwritablePathError, UsageError
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.io.writable import check_writable

AddParser = Callable[[str, str], argparse.ArgumentParser]


def _columns(value: str) -> list[str]:
    names = [c.strip() for c in value.split(",") if c.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected one or more column names, e.g. a,b")
    return names


def add_import_parser(dsub: Any, verbose: argparse.ArgumentParser) -> None:
    imp = dsub.add_parser(
        "import",
        parents=[verbose],
        help="turn your own CSV/TSV/JSON Lines/Parquet file(s) into TFRecords + schema.json",
        description="Text classification (--text, --label) or forecasting (--time, "
        "--target, --window, --horizon). Text streams: it holds one batch "
        "(10,000 rows or 4 MiB) plus the token counts, so files larger than "
        "memory import; a series is held in memory. Prints what it chose "
        "(vocabulary, length, split, scaling, baselines) and why.",
    )
    imp.add_argument(
        "src", metavar="SRC", help="a file or a glob (local or s3://); format from the suffix"
    )
    imp.add_argument("--out", required=True, help="output directory (local or s3://)")
    text = imp.add_argument_group("text classification")
    text.add_argument("--text", help="the column holding the text")
    text.add_argument("--label", help="the column holding the label (strings or integers)")
    text.add_argument(
        "--tokens",
        choices=["auto", "word", "character", "words+chars"],
        default="auto",
        help="token unit: words+chars = words, and each character of a "
        "script written without spaces (Chinese, Japanese, Thai, ...) "
        "its own token; auto (default) = words+chars where the "
        "vocabulary has such characters, else word",
    )
    text.add_argument(
        "--weight",
        metavar="COLUMN",
        help="a column of per-row weights (numbers >= 0): each training row's loss is "
        "multiplied by it (and by train.class_weight); validation is not weighted",
    )
    text.add_argument(
        "--pieces",
        type=int,
        metavar="N",
        help="a word outside the vocabulary is written as its N-character pieces "
        "(default: 1, letter by letter, where 15%% or more of the training tokens are "
        "outside the vocabulary, else 0 = off: one [UNK] per such word; pieces come on "
        "top of --vocab-size)",
    )
    text.add_argument(
        "--vocab-size",
        type=int,
        help="vocabulary size (default: chosen from the data's token counts)",
    )
    text.add_argument(
        "--max-length",
        type=int,
        help="tokens kept per text (default: chosen from the length percentiles)",
    )
    series = imp.add_argument_group("forecasting")
    series.add_argument("--time", help="the column holding the time stamps (rows are sorted by it)")
    series.add_argument("--target", type=_columns, help="column(s) to forecast, a,b")
    series.add_argument(
        "--features", type=_columns, help="extra input column(s), a,b (default: the targets only)"
    )
    series.add_argument("--window", type=int, help="time steps the model reads")
    series.add_argument("--horizon", type=int, help="time steps it forecasts")
    series.add_argument(
        "--transform",
        default="auto",
        help="target transform: auto, or none, diff or seasonal_diff:P, each of these three "
        "may start with log+ (log+diff: differences of the logarithm; log alone = log+none) "
        "(default auto: chosen from the training rows, without log, the reason logged; "
        "inverted inside the model)",
    )
    series.add_argument(
        "--season",
        type=int,
        help="season length for the seasonal-naive baseline (default: the P of "
        "seasonal_diff:P, else found in the training rows' autocorrelation)",
    )
    split = imp.add_argument_group("validation split")
    split.add_argument(
        "--validation", metavar="SRC", help="a separate validation file (instead of a fraction)"
    )
    split.add_argument(
        "--validation-fraction",
        type=float,
        default=0.2,
        help="share held out (default 0.2; series: the latest rows)",
    )
    split.add_argument("--seed", type=int, default=0, help="text: split seed (default 0)")
    imp.add_argument(
        "--on-bad-row",
        choices=["error", "skip"],
        default="error",
        help="error (default): stop at the first bad row, naming file, line "
        "and column; skip: count, report and skip bad rows",
    )
    imp.add_argument("--shards", type=int, help="training shards (default: by size)")


def _precision(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--precision",
        choices=["float32", "int8"],
        default="float32",
        help="float32 (default), or int8: the LSTM kernels quantised to int8 (about 2x the "
        "speed at batch 64 on a CPU with AVX-512 VNNI; refused for a model it cannot "
        "quantise)",
    )


def add_parsers(add: AddParser) -> None:
    ev = add("evaluate", "score a finished run on its validation split or a new raw file")
    ev.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory")
    ev.add_argument(
        "--data",
        metavar="SRC_OR_DIR",
        help="a raw file (CSV/TSV/JSONL/Parquet, through the run's vectoriser "
        "or scaling) or an imported data directory (default: the run's "
        "validation split)",
    )
    ev.add_argument("--out", help="where evaluation.json and the PNGs go (default RUN_DIR)")
    for flag, what in (("--text", "texts"), ("--label", "labels")):
        ev.add_argument(
            flag,
            metavar="COLUMN",
            help=f"text runs, a raw file given with --data: the column of the {what} "
            f"(default: the import's {flag} column)",
        )
    _precision(ev)
    pr = add("predict", "labels with probabilities, or forecasts in original units")
    pr.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory")
    pr.add_argument(
        "src",
        metavar="SRC",
        help="a raw file: texts, or the series to forecast beyond its last row",
    )
    pr.add_argument("--out", help="FILE.csv or FILE.jsonl (default: JSON Lines on stdout)")
    pr.add_argument(
        "--text",
        metavar="COLUMN",
        help="text runs: the column of the texts (default: the import's --text column)",
    )
    _precision(pr)
    ex = add("export", "serving artifacts that load without keras_lstm_opt")
    ex.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory")
    ex.add_argument(
        "--format",
        choices=["saved_model", "onnx"],
        required=True,
        help="saved_model (TensorFlow Serving; raw text or windows in) or onnx "
        "(ONNX Runtime; needs the onnx extra)",
    )
    ex.add_argument("--out", required=True, help="output directory")
    ex.add_argument(
        "--quantize",
        choices=["int8"],
        help="int8 (with --format onnx): ONNX Runtime's dynamic quantisation, int8 weights "
        "per output channel",
    )


_OPTIONS = (
    "text",
    "label",
    "weight",
    "tokens",
    "pieces",
    "vocab_size",
    "max_length",
    "time",
    "target",
    "features",
    "window",
    "horizon",
    "transform",
    "season",
    "validation_fraction",
    "validation",
    "on_bad_row",
    "shards",
    "out",
)


def _as_flags(message: str) -> str:
    """import_data's argument names as the command line spells them (`label=` ->
    `--label `, `validation_fraction:` -> `--validation-fraction:`)."""
    names = "|".join(sorted(_OPTIONS, key=len, reverse=True))
    message = re.sub(
        rf"(?<![\w-])({names})=(?!')", lambda m: "--" + m.group(1).replace("_", "-") + " ", message
    )
    message = re.sub(
        rf"(?<![\w-])({names})=('[^']*')",
        lambda m: "--" + m.group(1).replace("_", "-") + " " + m.group(2),
        message,
    )
    message = re.sub(rf"^({names}):", lambda m: "--" + m.group(1).replace("_", "-") + ":", message)
    return message.replace("  ", " ")


def _check_import(args: argparse.Namespace) -> None:
    """import_data's own argument checks, before TensorFlow starts (a mistake is
    reported at once), in the command line's words."""
    from keras_lstm_opt.data.importer import check_arguments, check_out

    if args.text and args.time:
        raise UsageError(
            "data import: give --text/--label (classification) or --time/"
            "--target (forecasting), not both"
        )
    if not args.text and not args.time:
        raise UsageError(
            "data import: say what to learn: --text COL --label COL, or "
            "--time COL --target COL [--window W --horizon H]"
        )
    try:
        check_arguments(
            args.text,
            args.label,
            args.tokens,
            args.vocab_size,
            args.max_length,
            args.time,
            args.target,
            args.features,
            args.window,
            args.horizon,
            args.transform,
            args.season,
            args.validation_fraction,
            args.on_bad_row,
            args.shards,
            args.weight,
            args.pieces,
        )
        check_out(args.out)
    except UsageError as exc:
        raise UsageError("data import: " + _as_flags(str(exc))) from None
    check_writable(args.out, "the data directory (--out)")  # before the data is read


def data_import(args: argparse.Namespace, start_tensorflow: Callable[[], None]) -> int:
    _check_import(args)
    start_tensorflow()
    from keras_lstm_opt.data.importer import import_data

    report = import_data(
        args.src,
        args.out,
        text=args.text,
        label=args.label,
        tokens=args.tokens,
        vocab_size=args.vocab_size,
        max_length=args.max_length,
        weight=args.weight,
        pieces=args.pieces,
        time=args.time,
        target=args.target,
        features=args.features,
        window=args.window,
        horizon=args.horizon,
        transform=args.transform,
        season=args.season,
        validation=args.validation,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        on_bad_row=args.on_bad_row,
        shards=args.shards,
    )
    rows = report.get("rows", {})
    print(
        f"wrote {args.out} ({', '.join(f'{k}: {v}' for k, v in rows.items())}); "
        f"train with: keras-lstm-opt train {'forecast ' if args.time else ''}--set "
        f"{shlex.quote('data.path=' + args.out)}"
    )
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """The output of evaluate, predict or export can be written: checked before
    TensorFlow loads (UnwritablePathError, exit 2, naming the path)."""
    if args.command == "predict":
        if args.out and args.out != "-":
            check_writable(args.out, "the predictions file (--out)", file=True)
    elif args.command == "export":
        if not is_remote(args.out):  # a remote --out is refused by export_run itself
            check_writable(args.out, "the export directory (--out)")
        if args.format == "onnx":
            _installed(("tf2onnx", "onnxruntime"), "export --format onnx", "onnx")
        elif args.quantize:
            raise UsageError("export: --quantize int8 needs --format onnx")
    elif (args.text or args.label) and not args.data:
        raise UsageError(
            "evaluate: --text and --label name the columns of a raw file given with --data"
        )
    elif args.out:
        check_writable(args.out, "the evaluation directory (--out)")
    elif os.path.isdir(args.run_dir):  # evaluation.json goes into the run directory
        try:
            check_writable(args.run_dir, "evaluation.json into the run directory")
        except UnwritablePathError as exc:
            raise UnwritablePathError(f"{exc}; give --out DIR to write it elsewhere") from None


def _installed(modules: tuple[str, ...], what: str, extra: str) -> None:
    """A missing extra is named before TensorFlow loads (tf2onnx would load it): found,
    not imported; one that is there but does not import is reported when it is used."""
    import importlib.util

    from keras_lstm_opt.extras import missing

    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError) as exc:
            raise missing(
                module, what, extra, exc if isinstance(exc, ImportError) else ImportError(str(exc))
            ) from None
        if not found:
            raise missing(
                module, what, extra, ModuleNotFoundError(f"No module named {module!r}", name=module)
            )


def run(args: argparse.Namespace, start_tensorflow: Callable[[], None]) -> int:
    """evaluate, predict or export."""
    _check_outputs(args)
    start_tensorflow()
    if args.command == "evaluate":
        from keras_lstm_opt.serve.run import evaluate_run

        result = evaluate_run(
            args.run_dir,
            data=args.data,
            out=args.out,
            precision=args.precision,
            text=args.text,
            label=args.label,
        )
        print(json.dumps(result.get("summary", result), indent=2, sort_keys=True))
        return 0
    if args.command == "predict":
        from keras_lstm_opt.serve.predict import predict_file

        written = predict_file(
            args.run_dir, args.src, out=args.out, precision=args.precision, text=args.text
        )
        if args.out:
            print(f"wrote {written}", file=sys.stderr)
        return 0
    from keras_lstm_opt.serve.export import export_run

    print(f"exported {export_run(args.run_dir, args.format, args.out, quantize=args.quantize)}")
    return 0
