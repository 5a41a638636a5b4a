"""The real-text bench's results: a row per corpus and contender, the gap, the machine, a PNG.

`corpus_rows` turns each contender's curve into its row (best validation accuracy, macro-F1,
the wall time to its best and to the tutorial's best, the speedup over the tutorial for the
LSTMs, the fields in `EXTRAS` copied from its child's result); `gap` is ours' best minus the
best rival's, in points. `machine` and `versions` say where and with what the bench ran;
`plot` draws validation accuracy against wall time, one panel per corpus.

Example:

    rows = corpus_rows("wordnet", stats, results)   # results: {contender: child's result}
    plot({"rows": rows}, "bench/real_text.png")
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from typing import Any

from benchmarks.rivals import fasttext_threads
from benchmarks.tta import first_reach
from keras_lstm_opt.charts import save_figure

__all__ = ["STYLES", "best_point", "corpus_rows", "gap", "machine", "plot", "versions"]

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


def best_point(r: dict[str, Any]) -> dict[str, Any]:
    """A contender's point of best validation accuracy (the first such)."""
    return max(r["points"], key=lambda p: p["val_accuracy"])


def corpus_rows(name: str, stats: dict[str, Any], results: dict[str, Any]) -> list[dict[str, Any]]:
    """A row per contender of one corpus (`results`: {contender: its child's result});
    ours' row gets the gap."""
    tutorial = results.get("tutorial")
    target = best_point(tutorial)["val_accuracy"] if tutorial else None
    t_tut = first_reach(tutorial["points"], target) if tutorial and target else None
    out = []
    for c, r in results.items():
        best = best_point(r)
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
    ours_gap = gap(out)
    for row in out:
        if row["contender"] == "ours":
            row["gap_points"] = ours_gap["gap_points"]
    return out


def gap(rows: list[dict[str, Any]]) -> dict[str, Any]:
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
