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

The parts: the corpora and their split in `real_text_corpus`, `ours` in `real_text_ours`,
the rows, the gap, the machine and the PNG in `real_text_report`; this module runs them
(`bench_real_text`) and is each contender's child process (`main`).

Example:

    result = bench_real_text(["wordnet", "my.csv"], "bench/", tutorial_epochs=5, rows=3000)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.contender import print_result, run_contender
from benchmarks.real_text_corpus import (
    check_splittable,
    load_corpus,
    sample_rows,
    split_corpus,
    split_digest,
    suite_half,
)
from benchmarks.real_text_ours import run_ours
from benchmarks.real_text_report import corpus_rows, gap, machine, plot, versions
from benchmarks.real_text_verdict import verdict
from benchmarks.rivals import (
    FASTTEXT,
    FASTTEXT_ENV,
    TFIDF,
    read_corpus,
    run_fasttext,
    run_tfidf,
    run_tutorial,
)
from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.extras import need

__all__ = ["CONTENDERS", "bench_real_text", "parse_contenders", "plot", "read_corpus"]

CONTENDERS = ("tutorial", "tfidf-word", "tfidf-char", "fasttext", "fasttext-bigrams", "ours")
ALIASES = {"tfidf": "tfidf-word"}


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
        need("fasttext", FASTTEXT, "examples")
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
        rows_here = corpus_rows(name, stats, results)
        out_rows += rows_here
        judged = verdict(rows_here, stats["validation"])
        summary.append({"corpus": name, **stats, **gap(rows_here), "verdict": judged})
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
