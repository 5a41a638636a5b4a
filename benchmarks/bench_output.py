"""What every bench mode writes: `NAME.json` and `NAME.png` into --out, its table on stdout.

`report_chart` draws the PNG as a bar chart of some of the rows' columns (and returns the
paths, for the mode to print what else it measured); `finish` takes a mode's own plot
function and prints the paths itself. Both print the table of `cols` of the result's rows.

Example:

    return finish(result, args, "links", links.chart, ["workers", "link", "step_ms"])
"""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = ["finish", "report_chart"]


def report_chart(
    result: dict,
    args: argparse.Namespace,
    name: str,
    label: str,
    cols: list[str],
    bars: list[str],
    title: str,
    ylabel: str,
) -> dict[str, str]:
    """JSON + PNG into --out and the table on stdout; returns the paths."""
    from benchmarks.report import bar_chart, format_table, write_outputs

    paths = write_outputs(result, args.out, name)
    paths["png"] = bar_chart(
        result["rows"], label, bars, os.path.join(args.out, f"{name}.png"), title, ylabel
    )
    print()
    print(format_table(result["rows"], cols))
    return paths


def finish(result: dict, args: argparse.Namespace, name: str, plot_fn: Any, cols: list[str]) -> int:
    """`name`.json and `name`.png (by `plot_fn(result, path)`) into --out; the table."""
    from benchmarks.report import format_table, write_outputs

    paths = write_outputs(result, args.out, name)
    png = plot_fn(result, os.path.join(args.out, f"{name}.png"))
    print()
    print(format_table(result["rows"], cols))
    print(f"wrote {paths['json']} and {png}")
    return 0
