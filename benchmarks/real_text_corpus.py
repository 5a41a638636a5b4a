"""The real-text bench's corpora: read one (CSV or suite name), sample it, split it once.

Every contender trains on the same split: `load_corpus` reads a `text,label` CSV or builds
a suite corpus (`benchmarks.suite`), `sample_rows` keeps a stratified sample of it,
`check_splittable` refuses rows that cannot make two non-empty halves (one line, before any
file is written) and `split_corpus` writes train.csv and validation.csv (stratified,
`validation_fraction`, `seed`). Each contender's child reports `split_digest` of the split
it read, so the bench can check that all of them read the same one.

Example:

    name, rows = load_corpus("wordnet")
    stats = split_corpus(sample_rows(rows, 3000), "bench/real-text/wordnet")
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import statistics
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.rivals import read_corpus
from keras_lstm_opt.errors import DataError, UsageError

__all__ = [
    "check_splittable",
    "corpus_builders",
    "load_corpus",
    "sample_rows",
    "split_corpus",
    "split_digest",
    "suite_half",
]


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
        DataError: a bad CSV.
        MissingPackageError: a suite corpus whose package is not installed.
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
