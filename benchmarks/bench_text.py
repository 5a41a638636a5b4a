"""The bench modes of end-to-end text training: `time-to-accuracy`, `real-text`, `scale`.

`time-to-accuracy` trains the embedded text task as a Keras tutorial would and with our
defaults; `real-text` runs ours and its rivals on CSV files or suite corpora
(`benchmarks.real_text`) and prints, under the table, why ours missed a line where it did;
`scale` imports, trains and evaluates growing corpora (wall time, peak RSS). Each runner
takes the parsed command line (`bench_args`), imports its benchmark module when it runs,
writes JSON, a PNG and the table, and returns the exit code (2: a bad option or input).

Example:

    args = ["--mode", "real-text", "--corpus", "wordnet"]
    sys.exit(run_real_text(build_parser(None).parse_args(args)))
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["run_real_text", "run_scale", "run_tta"]


def run_tta(args: argparse.Namespace) -> int:
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


def run_real_text(args: argparse.Namespace) -> int:
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


def run_scale(args: argparse.Namespace) -> int:
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
