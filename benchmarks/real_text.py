"""Real-text benchmark: keras-lstm-opt's one command against what a user would otherwise use.

A corpus is a CSV with `text,label` columns (string labels) or a suite corpus's name
(`benchmarks.suite`: wordnet, fortunes, kjv, ..., built from Debian packages);
`rows` keeps a stratified sample of it. The rows are split once (stratified,
`validation_fraction`, `seed`) into train.csv and validation.csv, and every contender
trains on that split, each in a fresh process (TensorFlow's start-up is not timed,
everything after it is; each child reports the SHA-256 of the split it read):

* the rivals (`rivals`): `tutorial` (a Keras tutorial LSTM), `tfidf-word` and
  `tfidf-char` (TF-IDF on word 1-2 grams or character 1-5 grams + logistic regression),
  `fasttext` and `fasttext-bigrams` (the fastText library, its defaults, and with
  `wordNgrams=2`);
* `ours`: `import_data` + `fit` with the defaults, as `keras-lstm-opt data import` and
  `train` would run; the model saved is the one judged. Epoch times count from the
  process's start (import, pipeline and model build included; `train_started_at` in
  metrics.json), as the tutorial's count from its vectorisation.

Reported per corpus and contender: best validation accuracy, macro-F1 (of the epoch with
the best accuracy; ours: the saved model's), the wall time to its best, the wall time to
the tutorial's best and, for the LSTMs, the speedup over the tutorial; on ours' row the
gap, ours' best minus the best rival's, in points; per corpus, whether ours met the two
lines (accuracy within half a point of the best rival, 2x the tutorial's speed) and, where
not, why (`benchmarks.real_text_verdict`). The JSON also holds the package
versions and the machine; a PNG plots accuracy against wall time per corpus.

Example:

    result = bench_real_text(["wordnet", "my.csv"], "bench/", tutorial_epochs=5, rows=3000)
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.contender import print_result, run_contender
from benchmarks.real_text_verdict import verdict
from benchmarks.rivals import (
    FASTTEXT,
    FASTTEXT_ENV,
    TFIDF,
    fasttext_threads,
    read_corpus,
    run_fasttext,
    run_tfidf,
    run_tutorial,
)
from benchmarks.tta import first_reach
from keras_lstm_opt.charts import save_figure
from keras_lstm_opt.errors import DataError, UsageError
from keras_lstm_opt.extras import need

__all__ = ["CONTENDERS", "bench_real_text", "parse_contenders", "plot", "read_corpus"]

CONTENDERS = ("tutorial", "tfidf-word", "tfidf-char", "fasttext", "fasttext-bigrams", "ours")
ALIASES = {"tfidf": "tfidf-word"}
LSTMS = ("tutorial", "ours")
PACKAGES = ("tensorflow", "keras", "scikit-learn", "fasttext-numpy2", "numpy")
EXTRAS = (
    "int8",
    "chosen",
    "auto",
    "import_seconds",
    "setup_seconds",
    "saved_model",
    "threads",
    "word_ngrams",
    "curve",
    "features",
    "malloc_perturb",
    "split_sha256",
)  # copied from a child's result


def parse_contenders(spec: str) -> tuple[str, ...]:
    """Contender names from "a,b,c" (in the bench's order; `tfidf` = `tfidf-word`).

    Raises:
        UsageError: an unknown name, or none.
    """
    names = {ALIASES.get(n.strip(), n.strip()) for n in spec.split(",") if n.strip()}
    unknown = sorted(names - set(CONTENDERS))
    if unknown or not names:
        raise UsageError(
            f"--contenders: unknown {', '.join(unknown) or '(none given)'}; "
            f"choose from {','.join(CONTENDERS)}"
        )
    return tuple(c for c in CONTENDERS if c in names)


def corpus_builders() -> dict[str, Callable[[], list[tuple[str, str]]]]:
    """Suite corpora by name (`benchmarks.suite`): each builder returns
    (text, label) rows."""
    from benchmarks.suite import SUITE

    return {c.name: c.rows for c in SUITE}


def suite_half(name: str) -> str | None:
    """ "dev" or "held-out" for a suite corpus; None for anything else (a CSV)."""
    from benchmarks.suite import SUITE

    return next((c.half for c in SUITE if c.name == name), None)


def load_corpus(source: str) -> tuple[str, list[tuple[str, str]]]:
    """(name, rows) of a CSV path (name: its file name) or of a suite corpus name.

    Raises:
        UsageError: neither an existing file nor a suite name.
        DataError: a bad CSV, or a suite corpus whose package is not installed.
    """
    if os.path.isfile(source):
        return os.path.splitext(os.path.basename(source))[0], read_corpus(source)
    builders = corpus_builders()
    if source not in builders:
        raise UsageError(
            f"--corpus {source}: no such file and no suite corpus of that name "
            f"(suite: {', '.join(builders)})"
        )
    return source, list(builders[source]())


def sample_rows(rows: list[tuple[str, str]], n: int, seed: int = 0) -> list[tuple[str, str]]:
    """A stratified sample of `n` rows: each label's share kept (largest remainders)."""
    if n >= len(rows):
        return list(rows)
    by_label: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    quota = {k: n * len(v) / len(rows) for k, v in by_label.items()}
    take = {k: int(q) for k, q in quota.items()}
    for k in sorted(quota, key=lambda k: (take[k] - quota[k], k))[: n - sum(take.values())]:
        take[k] += 1
    rng, out = random.Random(seed), []
    for label in sorted(by_label):
        out += rng.sample(by_label[label], take[label])
    rng.shuffle(out)
    return out


def check_splittable(source: str, rows: list[tuple[str, str]], fraction: float) -> None:
    """Refuse rows that `split_corpus` cannot split into two non-empty halves of at least
    two classes (every class keeps a training row).

    Raises:
        DataError: fewer than two classes, or no row left for validation.
    """
    counts = Counter(label for _, label in rows)
    if len(counts) < 2:
        raise DataError(
            f"{source}: {len(rows)} rows in {len(counts)} class(es); a classifier needs at "
            "least 2 labels"
        )
    if sum(min(round(n * fraction), n - 1) for n in counts.values()) < 1:
        raise DataError(
            f"{source}: {len(rows)} rows in {len(counts)} classes leave no validation row "
            f"({fraction:.0%} of each class, each keeping a training row); give at least "
            f"{int(np.ceil(0.5 / fraction))} rows of one class"
        )


def split_corpus(
    rows: list[tuple[str, str]], out_dir: str, validation_fraction: float = 0.2, seed: int = 0
) -> dict[str, Any]:
    """Write train.csv and validation.csv (stratified by label; each class keeps a
    training row); return the corpus stats."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    rng, train, val = random.Random(seed), [], []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        n = min(round(len(group) * validation_fraction), len(group) - 1)
        val += group[:n]
        train += group[n:]
    rng.shuffle(train)
    rng.shuffle(val)
    os.makedirs(out_dir, exist_ok=True)
    for name, part in (("train", train), ("validation", val)):
        with open(os.path.join(out_dir, f"{name}.csv"), "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            writer.writerows(part)
    counts = Counter(label for _, label in rows)
    return {
        "rows": len(rows),
        "train": len(train),
        "validation": len(val),
        "classes": len(counts),
        "majority_share": max(counts.values()) / len(rows),
        "median_words": statistics.median(len(t.split()) for t, _ in rows),
        "p90_words": float(np.percentile([len(t.split()) for t, _ in rows], 90)),
        "split_sha256": split_digest(out_dir),
    }


def split_digest(work: str) -> str:
    """SHA-256 of train.csv followed by validation.csv in `work`."""
    digest = hashlib.sha256()
    for name in ("train.csv", "validation.csv"):
        with open(os.path.join(work, name), "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()


def run_ours(work: str, overrides: list[str]) -> dict[str, Any]:
    from keras_lstm_opt.config import load_config
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit, threads_for
    from keras_lstm_opt.serve.run import load_run

    start, start_at = time.perf_counter(), time.time()
    options: dict[str, Any] = {  # `--set import.pieces=0`: an import option, not the config's
        k[len("import.") :]: int(v) if v.lstrip("-").isdigit() else v
        for k, _, v in (o.partition("=") for o in overrides if o.startswith("import."))
    }
    overrides = [o for o in overrides if not o.startswith("import.")]
    threads_for(load_config(None, overrides))  # as `train` would, before the import's TF ops
    data, run = os.path.join(work, "ours-data"), os.path.join(work, "ours-run")
    report = import_data(
        os.path.join(work, "train.csv"),
        data,
        text="text",
        label="label",
        validation=os.path.join(work, "validation.csv"),
        progress=False,
        **options,
    )
    fit_start = time.perf_counter()
    metrics = fit(
        None, run, [f"data.path={data}", "train.verbose=epoch", *overrides], overwrite=True
    )
    fit_seconds = time.perf_counter() - fit_start
    with open(os.path.join(run, "history.csv"), encoding="utf-8") as fh:
        history = list(csv.DictReader(fh))
    offset = metrics["train_started_at"] - start_at  # import, pipeline and model build
    points = [
        {
            "epoch": int(r["epoch"]) + 1,
            "wall_seconds": offset + float(r["wall_seconds"]),
            "val_accuracy": float(r["val_accuracy"]),
        }
        for r in history
    ]
    evaluation = load_run(run).evaluate()
    int8 = load_run(run, "int8").evaluate(out=os.path.join(work, "ours-int8-evaluation"))
    return {
        "points": points,
        "import_seconds": fit_start - start,
        "setup_seconds": offset,  # import, pipeline and model build: before the first step
        "fit_seconds": fit_seconds,
        "saved_model": {"val_accuracy": evaluation["accuracy"], "macro_f1": evaluation["macro_f1"]},
        "int8": {  # the same saved model through Predictor(precision="int8")
            "val_accuracy": int8["accuracy"],
            "macro_f1": int8["macro_f1"],
            "drop_points": 100 * (evaluation["accuracy"] - int8["accuracy"]),
        },
        "chosen": report.get("chosen"),
        "auto": metrics.get("auto"),
        "best_epoch": metrics.get("best_epoch"),
    }


def machine() -> dict[str, Any]:
    """The CPU model (/proc/cpuinfo), its cores, those this process may use, the OS."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), model
            )
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "cores_usable": fasttext_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str | None]:
    """Installed versions of the packages the contenders use (None: not installed)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _child(contender: str, work: str, epochs: int, overrides: list[str]) -> dict[str, Any]:
    return run_contender(
        "benchmarks.real_text",
        [contender, work, str(epochs), *overrides],
        tutorial=contender == "tutorial",
        env=FASTTEXT_ENV if contender.startswith("fasttext") else None,
    )


def bench_real_text(
    corpora: list[str],
    out_dir: str,
    tutorial_epochs: int = 5,
    overrides: list[str] | None = None,
    contenders: tuple[str, ...] = CONTENDERS,
    validation_fraction: float = 0.2,
    seed: int = 0,
    progress: Callable[[str], Any] = print,
    rows: int | None = None,
    fasttext_epochs: int | None = None,
) -> dict[str, Any]:
    """Train the contenders on each corpus; see the module docstring.

    Args:
        corpora: CSV paths (text,label) or suite corpus names.
        out_dir: the split and every contender's files go to out_dir/real-text/NAME/.
        tutorial_epochs: the tutorial's epochs.
        overrides: `--set KEY=VALUE` for ours (`import.NAME=VALUE`: an argument of
            `import_data`, e.g. `import.pieces=0`).
        contenders: names from CONTENDERS (see `parse_contenders`).
        rows: keep a stratified sample of this many rows per corpus.
        fasttext_epochs: fastText's curve goes to this many epochs (default: the
            library's default, 5).

    Raises:
        MissingPackageError: scikit-learn or fastText missing for a contender asked for.
        UsageError, DataError: a corpus that cannot be read.
    """
    contenders = tuple(ALIASES.get(c, c) for c in contenders)
    if any(c.startswith("tfidf") for c in contenders):  # before any corpus is split
        need("sklearn", TFIDF, "examples")
    if any(c.startswith("fasttext") for c in contenders):
        need("fasttext", FASTTEXT, "bench")
    sources = [(*load_corpus(c), c) for c in corpora]
    names = [name for name, _, _ in sources]
    if len(set(names)) < len(names):
        raise UsageError(f"--corpus: two corpora named alike ({', '.join(names)})")
    out_rows, summary = [], []
    for name, data, source in sources:
        picked = sample_rows(data, rows, seed) if rows else data
        check_splittable(source, picked, validation_fraction)
        work = os.path.join(out_dir, "real-text", name)
        stats = split_corpus(picked, work, validation_fraction, seed)
        stats["sampled_from"] = len(data)
        stats["half"] = None if os.path.isfile(source) else suite_half(name)
        progress(
            f"{name}: {stats['rows']} rows (of {len(data)}), {stats['classes']} "
            f"classes, median {stats['median_words']:g} words; train {stats['train']}, "
            f"validation {stats['validation']}"
        )
        results = {}
        for c in contenders:
            began = time.perf_counter()
            epochs = (fasttext_epochs or 0) if c.startswith("fasttext") else tutorial_epochs
            results[c] = _child(c, work, epochs, list(overrides or []))
            if results[c]["split_sha256"] != stats["split_sha256"]:
                raise RuntimeError(f"{name}: {c} read another split than {work}'s")
            best = max(results[c]["points"], key=lambda p: p["val_accuracy"])
            progress(
                f"  {c}: best val_accuracy {best['val_accuracy']:.4f} at "
                f"{best['wall_seconds']:.1f} s (its process: {time.perf_counter() - began:.0f} s "
                "in all, TensorFlow's start-up and the evaluations after training included)"
            )
        corpus_rows = _rows(name, stats, results)
        out_rows += corpus_rows
        judged = verdict(corpus_rows, stats["validation"])
        summary.append({"corpus": name, **stats, **_gap(corpus_rows), "verdict": judged})
    return {
        "mode": "real-text",
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "versions": versions(),
        "tutorial_epochs": tutorial_epochs,
        "fasttext_epochs": fasttext_epochs,
        "seed": seed,
        "validation_fraction": validation_fraction,
        "sample_rows": rows,
        "contenders": list(contenders),
        "overrides": list(overrides or []),
        "corpora": summary,
        "rows": out_rows,
    }


def _best(r: dict[str, Any]) -> dict[str, Any]:
    return max(r["points"], key=lambda p: p["val_accuracy"])


def _rows(name: str, stats: dict[str, Any], results: dict[str, Any]) -> list[dict[str, Any]]:
    tutorial = results.get("tutorial")
    target = _best(tutorial)["val_accuracy"] if tutorial else None
    t_tut = first_reach(tutorial["points"], target) if tutorial and target else None
    out = []
    for c, r in results.items():
        best = _best(r)
        f1 = r["saved_model"]["macro_f1"] if "saved_model" in r else best["macro_f1"]
        reach = first_reach(r["points"], target) if target is not None else None
        out.append(
            {
                "corpus": name,
                **{k: stats[k] for k in ("rows", "classes", "median_words")},
                "contender": c,
                "best_val_accuracy": best["val_accuracy"],
                "macro_f1": f1,
                "best_epoch": best["epoch"],
                "best_at_seconds": best["wall_seconds"],
                "tutorial_best": target,
                "seconds_to_tutorial_best": reach,
                "speedup_vs_tutorial": (t_tut / reach) if t_tut and reach and c in LSTMS else None,
                "gap_points": None,
                "points": r["points"],
                **{k: r[k] for k in EXTRAS if k in r},
            }
        )
        if "best_epoch" in r:  # ours: the epoch its run saved
            out[-1]["saved_epoch"] = r["best_epoch"]
    gap = _gap(out)
    for row in out:
        if row["contender"] == "ours":
            row["gap_points"] = gap["gap_points"]
    return out


def _gap(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Ours' best minus the best rival's, in points (None without ours or a rival)."""
    ours = [r for r in rows if r["contender"] == "ours"]
    rivals = [r for r in rows if r["contender"] != "ours"]
    if not ours or not rivals:
        return {"best_rival": None, "gap_points": None}
    top = max(rivals, key=lambda r: r["best_val_accuracy"])
    return {
        "best_rival": top["contender"],
        "gap_points": 100 * (ours[0]["best_val_accuracy"] - top["best_val_accuracy"]),
    }


STYLES = {
    "tutorial": ("o-", "C0"),
    "tfidf-word": ("s", "C1"),
    "tfidf-char": ("D", "C2"),
    "fasttext": ("^--", "C4"),
    "fasttext-bigrams": ("v--", "C5"),
    "ours": ("o-", "C3"),
}


def plot(result: dict[str, Any], path: str) -> str:
    """Validation accuracy against wall time, one panel per corpus; write `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpora = list(dict.fromkeys(r["corpus"] for r in result["rows"]))
    fig, axes = plt.subplots(1, len(corpora), figsize=(5.5 * len(corpora), 4.2), squeeze=False)
    for ax, corpus in zip(axes[0], corpora, strict=True):
        for r in (r for r in result["rows"] if r["corpus"] == corpus):
            pts = r["points"]
            style, color = STYLES.get(r["contender"], ("o-", None))
            if len(pts) == 1:
                style = style[0]
            ax.plot(
                [p["wall_seconds"] for p in pts],
                [p["val_accuracy"] for p in pts],
                style,
                color=color,
                label=r["contender"],
            )
        ax.set_title(f"{corpus} ({r['rows']} rows, {r['classes']} classes)")
        ax.set_xscale("log")
        ax.set_xlabel("wall time (s, log)")
        ax.set_ylabel("validation accuracy")
    return save_figure(fig, path, legend_axes=axes[0])


def main(argv: list[str]) -> int:
    """The child process: `real_text CONTENDER WORK EPOCHS [OVERRIDES...]` (EPOCHS: the
    tutorial's, or fastText's last, 0 = its default; ours reads its own config)."""
    contender, work, epochs, overrides = argv[0], argv[1], int(argv[2]), argv[3:]
    if contender == "tutorial":
        result = run_tutorial(work, epochs)
    elif contender in ("tfidf-word", "tfidf-char"):
        result = run_tfidf(work, contender.split("-")[1])
    elif contender in ("fasttext", "fasttext-bigrams"):
        result = run_fasttext(
            work, contender, 2 if contender == "fasttext-bigrams" else None, epochs or None
        )  # 0: the library's default
    elif contender == "ours":
        result = run_ours(work, overrides)
    else:
        raise SystemExit(f"real_text: unknown contender {contender!r}")
    print_result({**result, "split_sha256": split_digest(work)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
