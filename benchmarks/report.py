"""Benchmark outputs: JSON, a readable table, and a PNG bar chart, from plain rows.

The table is the package's own (`keras_lstm_opt.logs.format_table`, also the tuning
leaderboard's).

Example:

    write_outputs(rows, "bench/", "pipeline", value="examples_per_second")
"""

from __future__ import annotations

import json
import os
from typing import Any

from keras_lstm_opt.charts import save_figure
from keras_lstm_opt.logs import format_table  # noqa: F401  (part of this module's API)


def bar_chart(
    rows: list[dict[str, Any]],
    label: str,
    values: list[str],
    path: str,
    title: str,
    ylabel: str,
    fmt: str = "{:,.0f}",
) -> str:
    """Grouped bars: one group per row, one bar per value column."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(rows))
    width = 0.8 / len(values)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(rows)), 4))
    for i, v in enumerate(values):
        heights = [float(r.get(v) or 0.0) for r in rows]
        bars = ax.bar(x + (i - (len(values) - 1) / 2) * width, heights, width, label=v)
        ax.bar_label(bars, fmt=fmt, fontsize=7)
    ax.set_xticks(x, [str(r[label]) for r in rows], rotation=15, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)


def write_outputs(result: dict[str, Any], out_dir: str, name: str) -> dict[str, str]:
    """Write `name`.json next to the table and chart that the caller made."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    return {"json": path}
