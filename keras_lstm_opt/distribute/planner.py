"""Plan a multi-worker run on a given link: predicted step time = compute + exchange.

Plain functions on plain numbers, so they serve the benchmark, the profiler and a
user's own sizing alike:

* `exchange_bytes`: what one worker sends per step: a ring all-reduce of the dense
  gradients (2 (N - 1) / N of their bytes) plus, for row-sparse embedding gradients, an
  all-gather of each worker's touched rows (N - 1 times its own rows and indices);
  half of the values' bytes on a float16 wire;
* `predict_step_seconds`: compute seconds (a step with the exchange on a fast link)
  plus the extra time the exchange takes at the link's rate, divided by the efficiency
  the all-reduce benchmark measured (`benchmarks/bench.py --mode allreduce`: `of_bound`);
* `recommend`: the worker count and levers that finish an epoch soonest.

Example:

    sent = exchange_bytes(dense_bytes=140_000, sparse_rows=400, row_width=64, workers=2)
    step = predict_step_seconds(0.012, sent, link_bps=1e8, fast_bps=2e9)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def exchange_bytes(
    dense_bytes: float,
    sparse_rows: float = 0.0,
    row_width: int = 0,
    workers: int = 2,
    compression: str = "none",
    table_bytes: float = 0.0,
) -> float:
    """Bytes one worker sends per step.

    Args:
        dense_bytes: float32 bytes of the gradients exchanged whole (all but the
            embedding table when it goes row-sparse; include the table otherwise, or
            give it as `table_bytes`).
        sparse_rows: embedding rows this worker's share of a batch touches (0: none).
        row_width: values per row (the embedding size).
        workers: N.
        compression: "none" or "float16" (values at 2 bytes; indices stay 8).
        table_bytes: float32 bytes of an embedding table exchanged dense.
    """
    if workers < 2:
        return 0.0
    half = 0.5 if compression == "float16" else 1.0
    ring = 2 * (workers - 1) / workers * (dense_bytes + table_bytes) * half
    gather = (workers - 1) * sparse_rows * (row_width * 4 * half + 8)
    return ring + gather


def predict_step_seconds(
    compute_seconds: float,
    sent_bytes: float,
    link_bps: float,
    fast_bps: float = float("inf"),
    efficiency: float = 1.0,
) -> float:
    """Step time on a link of `link_bps` bits/s, from `compute_seconds` measured where the
    exchange ran at `fast_bps` (e.g. the loopback's measured bus bandwidth): the
    exchange's time at the link's rate (over `efficiency`, the measured fraction of the
    ring bound) replaces its time on the fast link, where the link is the slower."""
    slow = sent_bytes * 8 / (link_bps * efficiency)
    fast = sent_bytes * 8 / fast_bps
    return compute_seconds + max(0.0, slow - fast)


@dataclass(frozen=True)
class Option:
    """One way to run: `workers`, a lever's name, its compute seconds per step (measured
    or scaled), its bytes sent per step and its global batch."""

    workers: int
    lever: str
    compute_seconds: float
    sent_bytes: float
    global_batch: int


def recommend(
    options: Iterable[Option],
    link_bps: float,
    examples: int,
    fast_bps: float = float("inf"),
    efficiency: float = 1.0,
) -> list[dict[str, float | int | str]]:
    """Every option's predicted step time and epoch time on the link, soonest first."""
    rows: list[dict[str, float | int | str]] = []
    for o in options:
        step = predict_step_seconds(o.compute_seconds, o.sent_bytes, link_bps, fast_bps, efficiency)
        rows.append(
            {
                "workers": o.workers,
                "lever": o.lever,
                "step_seconds": step,
                "samples_per_second": o.global_batch / step,
                "epoch_seconds": examples / o.global_batch * step,
            }
        )
    return sorted(rows, key=lambda r: float(r["epoch_seconds"]))
