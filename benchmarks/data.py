"""Input-pipeline benchmark: variants of the TFRecord pipeline, side by side.

Each variant changes DataConfig keys; repeats are interleaved (A B C A B C ...) so
that machine noise hits every variant alike, and ratios are taken against the first
variant. Epoch 1 is cold (reads, decompresses, parses, fills the cache); epoch 2
is warm (served from the cache where the variant has one).

Example:

    result = bench_pipeline(load_config(None), DEFAULT_VARIANTS, repeats=3)
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import Any

from keras_lstm_opt.config import ExperimentConfig
from keras_lstm_opt.data.pipeline import make_dataset, resolve_files
from keras_lstm_opt.profiling.throughput import dataset_throughput, thread_settings

DEFAULT_VARIANTS: dict[str, dict[str, Any]] = {
    "default (batch-parse, cache, prefetch)": {},
    "no cache": {"cache": "none"},
    "per-example parse, no cache": {"cache": "none", "parse_batch_size": 1},
    "sequential reads, no cache": {"cache": "none", "parallel_reads": 1},
    "no prefetch": {"prefetch": 0},
}


def bench_pipeline(
    cfg: ExperimentConfig,
    variants: dict[str, dict[str, Any]],
    repeats: int = 3,
    batch_size: int | None = None,
    progress: Any = print,
) -> dict[str, Any]:
    """Measure cold and warm examples/s of each variant; return plain rows."""
    files = resolve_files(cfg.data)
    batch = batch_size or cfg.train.batch_size
    samples: dict[str, dict[str, list[float]]] = {v: {"cold": [], "warm": []} for v in variants}
    for r in range(repeats):
        for name, changes in variants.items():
            dcfg = dataclasses.replace(cfg.data, **changes)
            ds = make_dataset(
                dcfg,
                files.schema,
                files.train,
                batch,
                training=True,
                compression=files.compression,
                seed=r,
            )
            cold = dataset_throughput(ds)["examples_per_second"]
            warm = dataset_throughput(ds)["examples_per_second"]
            samples[name]["cold"].append(cold)
            samples[name]["warm"].append(warm)
            progress(
                f"  repeat {r + 1}/{repeats}  {name:<40} cold {cold:>9,.0f}  "
                f"warm {warm:>9,.0f} examples/s"
            )
    rows: list[dict[str, Any]] = []  # JSON rows: the variant's name and its rates
    for name, s in samples.items():
        rows.append(
            {
                "variant": name,
                "cold_examples_per_second": statistics.median(s["cold"]),
                "warm_examples_per_second": statistics.median(s["warm"]),
                "cold_max": max(s["cold"]),
                "cold_min": min(s["cold"]),
            }
        )
    ref = rows[0]
    for row in rows:
        row["warm_ratio_vs_default"] = (
            row["warm_examples_per_second"] / ref["warm_examples_per_second"]
        )
    return {
        "mode": "data",
        "dataset": files.directory,
        "compression": files.compression,
        "train_files": len(files.train),
        "examples_per_epoch": files.schema["splits"]["train"]["examples"],
        "batch_size": batch,
        "repeats": repeats,
        "threads": thread_settings(),
        "rows": rows,
    }
