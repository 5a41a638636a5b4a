"""Scale benchmark: text classification from a CSV to a trained model at 1,000,000 rows.

No real labelled corpus of that size is available offline here, so the input is a real
one repeated with perturbations: WordNet 3.0's noun glosses (Debian `wordnet-base`,
82,115 glosses in 26 lexicographer classes), each row one gloss with every word dropped
at a 10% chance and one pair of neighbouring words swapped. A fifth of the glosses
(every fifth, by position) feed only validation.csv, so no gloss is on both sides.

Each stage runs as a child process whose peak resident memory the kernel reports
(`os.wait4`'s ru_maxrss) and whose wall time is measured: `data import` (streamed, two
passes), `train` (the defaults with `train.epochs`), `evaluate`. Given two or more
sizes, the peaks show what grows with the corpus: the training process holds both
parsed splits in memory (`data.cache: memory`, 8 bytes per token plus 16 per example),
and nothing else should grow.

Example:

    python benchmarks/bench.py --mode scale --rows 250000,1000000 --out /tmp/scale
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

from benchmarks.contender import measure
from benchmarks.corpora import wordnet_rows
from keras_lstm_opt.charts import save_figure

MIB = 2**20
STAGES = ("import", "train", "evaluate")


def perturbed(glosses: list[tuple[str, str]], rows: int, seed: int) -> Iterator[tuple[str, str]]:
    """`rows` (text, label) rows drawn from `glosses`, each perturbed: words dropped at
    10% (one kept at least), one neighbouring pair swapped."""
    rng = random.Random(seed)
    for _ in range(rows):
        text, label = glosses[rng.randrange(len(glosses))]
        words = [w for w in text.split() if rng.random() >= 0.1] or text.split()[:1]
        if len(words) > 2:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        yield " ".join(words), label


def write_corpus(out_dir: str, rows: int, seed: int = 0) -> dict[str, int]:
    """train.csv and validation.csv (a fifth of the rows, from held-out glosses)."""
    glosses = wordnet_rows()
    held = [g for i, g in enumerate(glosses) if i % 5 == 4]
    kept = [g for i, g in enumerate(glosses) if i % 5 != 4]
    counts = {}
    for name, pool, n in (("train", kept, rows - rows // 5), ("validation", held, rows // 5)):
        with open(os.path.join(out_dir, f"{name}.csv"), "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            writer.writerows(perturbed(pool, n, seed + len(name)))
        counts[name] = n
    return counts


def bench_size(
    rows: int, out: str, epochs: int, overrides: list[str], progress: Callable[[str], Any] = print
) -> dict[str, Any]:
    """Write, import, train and evaluate one size; return per-stage facts."""
    work = os.path.join(out, f"rows-{rows}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    t = time.monotonic()
    counts = write_corpus(work, rows)
    size = sum(os.path.getsize(os.path.join(work, f"{n}.csv")) for n in counts)
    result: dict[str, Any] = {
        "rows": rows,
        **{f"{k}_rows": v for k, v in counts.items()},
        "csv_bytes": size,
        "write_seconds": time.monotonic() - t,
    }
    progress(
        f"{rows:,} rows: wrote {size / MIB:,.0f} MiB of CSV in {result['write_seconds']:.0f} s"
    )
    data, run = os.path.join(work, "data"), os.path.join(work, "run")
    cli = ["-m", "keras_lstm_opt.cli"]
    commands = {
        "import": [
            *cli,
            "data",
            "import",
            os.path.join(work, "train.csv"),
            "--out",
            data,
            "--text",
            "text",
            "--label",
            "label",
            "--validation",
            os.path.join(work, "validation.csv"),
        ],
        "train": [
            *cli,
            "train",
            "--run-dir",
            run,
            "--set",
            f"data.path={data}",
            "--set",
            f"train.epochs={epochs}",
            "--set",
            "train.verbose=epoch",
            *[a for o in overrides for a in ("--set", o)],
        ],
        "evaluate": [*cli, "evaluate", run],
    }
    for stage in STAGES:
        peak, seconds = measure(commands[stage], os.path.join(work, f"{stage}.log"))
        result[stage] = {"peak_rss_bytes": peak, "seconds": round(seconds, 1)}
        progress(f"  {stage}: {seconds:,.0f} s, peak RSS {peak / MIB:,.0f} MiB")
    with open(os.path.join(data, "schema.json"), encoding="utf-8") as fh:
        text = json.load(fh)["info"]["text"]
    with open(os.path.join(run, "metrics.json"), encoding="utf-8") as fh:
        metrics = json.load(fh)
    # what `data.cache: memory` holds in the training process: both splits parsed, each
    # example its int64 ids, a label and a ragged row boundary
    cache = (counts["train"] + counts["validation"]) * (float(text.get("length_mean", 0)) + 2) * 8
    result.update(
        {
            "mean_tokens": text.get("length_mean"),
            "cache_bytes_estimate": cache,
            "train_rss_less_cache_bytes": result["train"]["peak_rss_bytes"] - cache,
            "val_accuracy": metrics.get("val_accuracy"),
            "samples_per_second": metrics.get("samples_per_second"),
            "epochs": epochs,
            "auto": {k: v["value"] for k, v in metrics.get("auto", {}).items()},
        }
    )
    return result


def bench_scale(
    sizes: list[int],
    out: str,
    epochs: int = 1,
    overrides: list[str] | None = None,
    keep: bool = False,
    progress: Callable[[str], Any] = print,
) -> dict[str, Any]:
    os.makedirs(out, exist_ok=True)
    results = []
    for rows in sizes:
        results.append(bench_size(rows, out, epochs, list(overrides or []), progress))
        if not keep:
            work = os.path.join(out, f"rows-{rows}")
            for name in ("train.csv", "validation.csv", "data"):
                path = os.path.join(work, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    return {"mode": "scale", "corpus": "WordNet 3.0 noun glosses, perturbed", "sizes": results}


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in result["sizes"]:
        row: dict[str, Any] = {"rows": r["rows"], "csv_mib": round(r["csv_bytes"] / MIB)}
        for stage in STAGES:
            row[f"{stage}_s"] = r[stage]["seconds"]
            row[f"{stage}_peak_mib"] = round(r[stage]["peak_rss_bytes"] / MIB)
        row["cache_mib"] = round(r["cache_bytes_estimate"] / MIB)
        row["train_less_cache_mib"] = round(r["train_rss_less_cache_bytes"] / MIB)
        row["val_accuracy"] = round(r["val_accuracy"] or 0.0, 4)
        out.append(row)
    return out


def plot(result: dict[str, Any], path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = result["sizes"]
    labels = [f"{r['rows']:,}" for r in sizes]
    fig, (mem, sec) = plt.subplots(1, 2, figsize=(10, 4))
    width = 0.8 / len(STAGES)
    for i, stage in enumerate(STAGES):
        xs = [j + i * width for j in range(len(sizes))]
        mem.bar(xs, [r[stage]["peak_rss_bytes"] / MIB for r in sizes], width, label=stage)
        sec.bar(xs, [r[stage]["seconds"] for r in sizes], width, label=stage)
    for ax, title in ((mem, "peak RSS (MiB)"), (sec, "wall time (s)")):
        ax.set_xticks([j + width for j in range(len(sizes))], labels)
        ax.set_xlabel("rows")
        ax.set_title(title)
    mem.plot(
        [j + width for j in range(len(sizes))],
        [r["cache_bytes_estimate"] / MIB for r in sizes],
        "k--",
        label="data cache (est.)",
    )
    save_figure(fig, path, legend_axes=[mem])
    return path
