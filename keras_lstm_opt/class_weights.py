"""`train.class_weight` as the training loop takes it: {class id: weight}.

- `none`: no weights.
- `balanced`: each class weighs rows / (classes x its rows), as scikit-learn's
  `compute_class_weight("balanced")`; the rows are counted in the training shards (one
  pass over their labels, logged with its time). A class with no training rows keeps 1.
- a mapping {label: weight}: labels as the data names them (the imported label strings,
  `schema.json` info.class_names) or class ids; classes not named weigh 1.

Example:

    ids = class_weight_ids(cfg.train.class_weight, schema, count=lambda: counts)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from keras_lstm_opt.errors import ConfigError, Problem

log = logging.getLogger("keras_lstm_opt")


def class_weight_ids(
    setting: Any, schema: Mapping[str, Any], count: Callable[[], np.ndarray]
) -> dict[int, float] | None:
    """{class id: weight} for `setting` (see the module); `count()` gives the training
    rows per class id (called for `balanced` only)."""
    if setting in (None, "none"):
        return None
    info = schema.get("info", {})
    names = [str(n) for n in info.get("class_names") or []]
    classes = int(info.get("num_classes") or len(names) or 2)
    if setting == "balanced":
        began = time.perf_counter()
        counts = np.asarray(count(), dtype=np.float64)[:classes]
        total = counts.sum()
        weights = {i: float(total / (classes * c)) if c else 1.0 for i, c in enumerate(counts)}
        shown = ", ".join(
            f"{(names or [str(i) for i in range(classes)])[i]} {w:.3g}"
            for i, w in list(weights.items())[:8]
        )
        log.info(
            "class_weight balanced from %d training rows (counted in %.1f s): %s%s",
            int(total),
            time.perf_counter() - began,
            shown,
            " ..." if classes > 8 else "",
        )
        return weights
    out: dict[int, float] = {}
    for label, weight in dict(setting).items():
        key = str(label)
        if key in names:
            out[names.index(key)] = float(weight)
        elif key.isdigit() and int(key) < classes:
            out[int(key)] = float(weight)
        else:
            known = ", ".join(names[:20]) or f"0 to {classes - 1}"
            raise ConfigError(
                [Problem("train.class_weight", f"no class {label!r} in the data; classes: {known}")]
            )
    return out
