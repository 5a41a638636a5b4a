"""The label column of a text import, checked before anything is written.

One class cannot train a classifier (and `train` would fail later with a message about
`num_classes` that does not match the user's labels): the import refuses it, naming the
class, the column and the files. Classes a model can hardly learn are imported with one
warning line each kind: classes with fewer than `FEW_ROWS` training rows, and classes
the largest one outnumbers `IMBALANCE` times or more (a model then tends to predict the
large class).

Example:

    check_classes(Counter({"pos": 100, "neg": 3}), {"pos": 120, "neg": 4}, ["a.csv"], "label")
    # import: 1 class has fewer than 5 training rows: 'neg' 3
    # import: the classes are imbalanced: 'pos' has 100 training rows, at least 20x ...
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from keras_lstm_opt.errors import LabelError
from keras_lstm_opt.logs import log

FEW_ROWS = 5  # a class with fewer training rows than this is hardly learnt
IMBALANCE = 20  # the largest class this many times the smallest: warned
SHOWN = 10  # classes listed in one warning line


def _listed(items: list[tuple[str, int]]) -> str:
    shown = ", ".join(f"{name!r} {count:,}" for name, count in items[:SHOWN])
    more = len(items) - SHOWN
    return shown + (f" and {more:,} more" if more > 0 else "")


def check_classes(
    train: Counter[str], rows: Counter[str], sources: Sequence[str], label: str
) -> None:
    """Refuse fewer than two classes (LabelError, exit status 2); warn about classes with
    few training rows and about imbalance.

    Args:
        train: training rows per class (0 for a class seen only in validation rows).
        rows: rows per class over the training files (training and validation split).
        sources: the training files, named in the messages.
        label: the label column.
    """
    files = ", ".join(sources)
    if len(rows) < 2:
        ((only, n),) = rows.items()
        raise LabelError(
            f"{files}, column {label!r}: every row has the label {only!r} "
            f"({n:,} rows); a classifier needs at least two classes: is "
            f"{label!r} the label column?"
        )
    counts = [(name, train.get(name, 0)) for name in rows]
    few = sorted((kv for kv in counts if kv[1] < FEW_ROWS), key=lambda kv: (kv[1], kv[0]))
    if few:
        log.warning(
            "import: %s of %s classes ha%s fewer than %d training rows (hard to "
            "learn; more rows or fewer classes help): %s",
            f"{len(few):,}",
            f"{len(counts):,}",
            "s" if len(few) == 1 else "ve",
            FEW_ROWS,
            _listed(few),
        )
    present = [kv for kv in counts if kv[1] > 0]
    if len(present) < 2:
        return
    largest = max(present, key=lambda kv: (kv[1], kv[0]))
    small = sorted(
        (kv for kv in present if largest[1] >= IMBALANCE * kv[1]), key=lambda kv: (kv[1], kv[0])
    )
    if small:
        log.warning(
            "import: the classes are imbalanced: %r has %s training rows, at least "
            "%dx as many as %s (a model tends to predict the large class; compare "
            "the per-class recall in evaluate's report)",
            largest[0],
            f"{largest[1]:,}",
            IMBALANCE,
            _listed(small),
        )
