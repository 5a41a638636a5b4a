"""Per-row weights of imported text (`data import --weight COLUMN`): parsing and summary.

Keras's `fit` takes `sample_weight`; a data directory carries it as a float feature,
"weight", beside the tokens and the label, and schema.json's `info.weight` names the
column it came from and sums it up. The pipeline yields `(x, y, weight)` for training
and leaves validation unweighted, as Keras weighs only what `sample_weight` is given for.

Example:

    parse_weight("2.5")   # 2.5;  parse_weight("-1") is None (a problem the import names)
"""

from __future__ import annotations

import math
from typing import Any

WEIGHT = "weight"  # the feature of per-row weights (info.weight names its column)


class WeightStats:
    """The training rows' weights, summed up for schema.json's info.weight."""

    def __init__(self) -> None:
        self.n, self.total, self.zero = 0, 0.0, 0
        self.low, self.high = math.inf, 0.0

    def add(self, w: float) -> None:
        self.n += 1
        self.total += w
        self.zero += w == 0
        self.low, self.high = min(self.low, w), max(self.high, w)

    def summary(self, column: str) -> dict[str, Any]:
        mean = self.total / max(self.n, 1)
        return {
            "column": column,
            "feature": WEIGHT,
            "min": self.low if self.n else 0.0,
            "mean": mean,
            "max": self.high,
            "zero_rows": self.zero,
            "why": (
                f"weights from column {column!r}: training rows weigh {self.low:g} to "
                f"{self.high:g} (mean {mean:.3g}; {self.zero:,} weigh 0); each row's loss "
                "is multiplied by its weight in training (validation is not weighted)"
            ),
        }


def parse_weight(value: Any) -> float | None:
    """A row's weight as a float, or None when it is not a finite number >= 0."""
    if isinstance(value, bool):
        return None
    try:
        w = float(value)
    except (TypeError, ValueError):
        return None
    return w if math.isfinite(w) and w >= 0 else None
