"""How every PNG the package writes ends (curves, benchmarks, reports, evaluations).

Example:

    fig, ax = plt.subplots()
    ax.plot(xs, ys, label="ours")
    save_figure(fig, "chart.png", legend_axes=[ax])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def save_figure(fig: Any, path: str, legend_axes: Iterable[Any] = ()) -> str:
    """Grid and legend on `legend_axes`, tight layout, write `path` at 100 dpi, close
    the figure; return `path`."""
    import matplotlib.pyplot as plt

    for ax in legend_axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
