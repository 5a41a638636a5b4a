"""Importer benchmark: peak memory and throughput of `import_data` on a large text file.

Writes a CSV of real text (WordNet 3.0 noun glosses, `glosses_per_row` glosses of one
lexicographer file per row, labelled by that file, e.g. "noun.animal"), then imports it
in a child process and reads the child's peak resident memory from the kernel
(`os.wait4`'s ru_maxrss). A second child that only imports TensorFlow and Keras gives
the floor. The import passes when its peak stays under `limit_gib` while the file is
larger than that limit: it streams, never holding the file.

Example:

    python -m benchmarks.importer --rows 1500000 --out /tmp/imp --limit-gib 1.0
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sys
import time
from collections import defaultdict
from typing import Any

from benchmarks.contender import measure
from benchmarks.corpora import wordnet_rows
from keras_lstm_opt.errors import UsageError

GIB = 1024**3
_CHILD = """
import json, sys
from keras_lstm_opt.data.importer import import_data
report = import_data(sys.argv[1], sys.argv[2], text="text", label="label",
                     tokens=sys.argv[4])
with open(sys.argv[3], "w") as fh:
    json.dump(report, fh)
"""


def write_corpus(path: str, rows: int, glosses_per_row: int = 8, seed: int = 0) -> int:
    """Write `rows` CSV rows (`text,label`) of WordNet glosses; return the file's bytes."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for gloss, label in wordnet_rows():
        by_label[label].append(gloss)
    labels = sorted(by_label)
    weights = [len(by_label[lab]) for lab in labels]
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        done = 0
        while done < rows:
            n = min(10000, rows - done)
            chunk = []
            for label in rng.choices(labels, weights, k=n):
                pool = by_label[label]
                chunk.append((" ".join(rng.choice(pool) for _ in range(glosses_per_row)), label))
            writer.writerows(chunk)
            done += n
    return os.path.getsize(path)


def bench_importer(
    rows: int,
    out: str,
    limit_gib: float = 1.0,
    glosses_per_row: int = 8,
    tokens: str = "word",
    reuse: bool = False,
    progress: Any = print,
) -> dict[str, Any]:
    """Write the corpus (unless `reuse` and present), import it, measure; return plain facts."""
    os.makedirs(out, exist_ok=True)
    src = os.path.join(out, "bench.csv")
    data_dir = os.path.join(out, "data")
    report_path = os.path.join(out, "import_report.json")
    if reuse and os.path.exists(src):
        size = os.path.getsize(src)
        progress(f"reusing {src} ({size / GIB:.2f} GiB)")
    else:
        t = time.monotonic()
        size = write_corpus(src, rows, glosses_per_row)
        progress(
            f"wrote {src}: {rows:,} rows, {size / GIB:.2f} GiB in {time.monotonic() - t:.0f} s"
        )
    floor, _ = measure(["-c", "import tensorflow, keras"])
    progress(f"TensorFlow + Keras alone: peak RSS {floor / 2**20:,.0f} MiB")
    shutil.rmtree(data_dir, ignore_errors=True)
    peak, seconds = measure(["-c", _CHILD, src, data_dir, report_path, tokens])
    with open(report_path, encoding="utf-8") as fh:
        report = json.load(fh)
    n = report["rows"]["train"] + report["rows"]["validation"] + report["skipped"]
    limit = int(limit_gib * GIB)
    return {
        "mode": "importer",
        "rows": n,
        "glosses_per_row": glosses_per_row,
        "tokens": tokens,
        "file_bytes": size,
        "limit_bytes": limit,
        "file_larger_than_limit": size > limit,
        "tf_keras_floor_rss_bytes": floor,
        "import_peak_rss_bytes": peak,
        "under_limit": peak < limit,
        "process_seconds": round(seconds, 1),
        "import_seconds": report["seconds"],
        "rows_per_second": round(n / report["seconds"]),
        "mib_per_second": round(size / 2**20 / report["seconds"], 2),
        "chosen": {k: v["value"] for k, v in report["chosen"].items() if "value" in v},
        "train_rows": report["rows"]["train"],
        "validation_rows": report["rows"]["validation"],
    }


def table(result: dict[str, Any]) -> str:
    mib = 2**20
    rows = [
        (
            "file",
            f"{result['file_bytes'] / mib:,.0f} MiB, {result['rows']:,} rows "
            f"({result['glosses_per_row']} glosses each)",
        ),
        ("memory limit", f"{result['limit_bytes'] / mib:,.0f} MiB"),
        ("TF + Keras floor", f"{result['tf_keras_floor_rss_bytes'] / mib:,.0f} MiB"),
        (
            "import peak RSS",
            f"{result['import_peak_rss_bytes'] / mib:,.0f} MiB "
            f"({'under' if result['under_limit'] else 'OVER'} the limit)",
        ),
        ("import time", f"{result['import_seconds']:,.1f} s (two passes)"),
        ("throughput", f"{result['rows_per_second']:,} rows/s, {result['mib_per_second']} MiB/s"),
        ("chosen", ", ".join(f"{k} {v}" for k, v in result["chosen"].items())),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.importer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--rows", type=int, required=True, help="CSV rows to write")
    p.add_argument("--out", required=True, help="working directory (CSV, data, JSON)")
    p.add_argument(
        "--limit-gib",
        type=float,
        default=1.0,
        help="the memory the importer is allowed (default 1.0 GiB)",
    )
    p.add_argument(
        "--glosses-per-row",
        type=int,
        default=8,
        help="WordNet glosses joined into one text (default 8)",
    )
    p.add_argument("--tokens", choices=["word", "character"], default="word")
    p.add_argument("--reuse", action="store_true", help="reuse OUT/bench.csv if present")
    p.add_argument("--keep", action="store_true", help="keep the CSV and the shards")
    args = p.parse_args(argv)
    if args.rows < 1 or args.glosses_per_row < 1:
        raise UsageError("--rows and --glosses-per-row: must be >= 1")
    result = bench_importer(
        args.rows, args.out, args.limit_gib, args.glosses_per_row, args.tokens, args.reuse
    )
    with open(os.path.join(args.out, "bench_importer.json"), "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    print(table(result))
    print(json.dumps(result))
    if not args.keep:
        os.remove(os.path.join(args.out, "bench.csv"))
        shutil.rmtree(os.path.join(args.out, "data"), ignore_errors=True)
    return 0 if result["under_limit"] else 1


if __name__ == "__main__":
    sys.exit(main())
