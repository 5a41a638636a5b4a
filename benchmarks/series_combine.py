"""Score combinations of the series bench's methods from its series.json, without refitting.

M4's lesson is that the mean of a few methods' forecasts often beats each of them. The
series bench (`bench.py --mode series`) keeps every rolling origin's forecasts; this scores
the mean of chosen methods on the same origins, with the same MASE (M4's definition, the
scale the bench used), so that a combination can be judged before any default changes.

Example:

    python -m benchmarks.series_combine bench/series.json ours+ets ets+arima
    # series       ours    ets  ours+ets ...
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np


def truth_of(row: dict[str, Any]) -> np.ndarray:
    """The true values at each origin's horizon (`[origins, H]`), as series.json keeps them."""
    return np.asarray(row["truth"], np.float64)


def mase_of(row: dict[str, Any], members: list[str], truth: np.ndarray) -> float:
    """MASE of the mean of `members`' forecasts over all of `row`'s origins and steps."""
    f = np.mean([np.asarray(row["forecasts"][m], np.float64) for m in members], axis=0)
    return float(np.mean(np.abs(f - truth)) / row["mase_scale"])


def score(rows: list[dict[str, Any]], combos: list[str]) -> dict[str, dict[str, float]]:
    """{series: {method or combination: MASE}} for the bench's methods and each combination
    ("a+b": the mean of a's and b's forecasts)."""
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        truth = truth_of(row)
        names = list(row["forecasts"]) + combos
        out[row["series"]] = {n: mase_of(row, n.split("+"), truth) for n in names}
    return out


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.series_combine")
    parser.add_argument("results", help="a series.json written by bench.py --mode series")
    parser.add_argument("combos", nargs="+", help="methods joined by +, e.g. ours+ets")
    args = parser.parse_args(argv)
    with open(args.results, encoding="utf-8") as fh:
        rows = json.load(fh)["rows"]
    if not rows or not {"forecasts", "truth"} <= set(rows[0]):
        return _fail(f"{args.results}: no per-origin forecasts and truth (an older bench run)")
    known = set(rows[0]["forecasts"])
    for combo in args.combos:
        bad = [m for m in combo.split("+") if m not in known]
        if bad:
            methods = ", ".join(sorted(known))
            return _fail(f"{combo}: {bad[0]!r} is not in {args.results} ({methods})")
    scores = score(rows, args.combos)
    names = list(next(iter(scores.values())))
    print(f"{'series':14} " + " ".join(f"{n:>10}" for n in names))
    for name, s in scores.items():
        print(f"{name:14} " + " ".join(f"{s[n]:10.3f}" for n in names))
    means = " ".join(f"{np.mean([s[n] for s in scores.values()]):10.3f}" for n in names)
    print(f"{'mean MASE':14} {means}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
