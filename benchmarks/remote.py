"""Remote-read benchmark: the same GZIP shards from local disk, from s3:// staged and streamed.

Writes the embedded text dataset's shards locally, uploads them to `url` (an s3://
prefix on the endpoint the environment names, e.g. the test Ceph cluster's gateway:
`python -m tests.ceph_cluster`), then times full passes of the input pipeline
(read, parse, batch; no cache) for:
- local: TFRecordDataset on the local files;
- staged, cold: the stage directory emptied first, so the pass includes the download;
- staged, warm: the staged copies reused (ETags unchanged), as a second run sees them;
- streamed: records read straight from the objects into tf.data.
Rounds are interleaved (A B C D A B C D ...), medians reported.

Example:

    result = bench_remote("s3://klo/bench", examples=24000, workdir="/tmp/bench-remote")
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import time
from collections.abc import Callable
from typing import Any

from keras_lstm_opt.config import DataConfig
from keras_lstm_opt.data.embedded import write_embedded
from keras_lstm_opt.data.pipeline import make_dataset, resolve_files
from keras_lstm_opt.io import fs

VARIANTS = ("local", "staged-cold", "staged-warm", "streamed")


def _pass(cfg: DataConfig, stage: str | None, cold: bool) -> tuple[float, int]:
    if cold and stage:
        shutil.rmtree(stage, ignore_errors=True)
    began = time.perf_counter()
    files = resolve_files(cfg)
    ds = make_dataset(cfg, files.schema, files.train, 256, training=False)
    n = sum(int(y.shape[0]) for _, y in ds)
    return time.perf_counter() - began, n


def bench_remote(
    url: str, examples: int, workdir: str, rounds: int = 3, progress: Callable[[str], None] = print
) -> dict[str, Any]:
    """Examples/s of one pass over the train split, per variant (see the module doc)."""
    local = write_embedded("text", os.path.join(workdir, "local"), examples, seed=7)
    url = url.rstrip("/")
    for name in fs.listdir(local):
        fs.put(os.path.join(local, name), f"{url}/{name}")
    size = sum(
        os.path.getsize(os.path.join(local, n)) for n in os.listdir(local) if n.startswith("train-")
    )
    stage = os.path.join(workdir, "stage")
    base = DataConfig(cache="none", shuffle_files=False, validate=False)
    cfgs = {
        "local": (dataclasses.replace(base, path=local), None),
        "staged-cold": (dataclasses.replace(base, path=url, stage_dir=stage), stage),
        "staged-warm": (dataclasses.replace(base, path=url, stage_dir=stage), None),
        "streamed": (dataclasses.replace(base, path=url, remote_read="stream"), None),
    }
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    counts: dict[str, int] = {}
    _pass(cfgs["local"][0], None, False)  # warm up TensorFlow and the page cache
    for r in range(rounds):
        for v in VARIANTS:
            cfg, stage_dir = cfgs[v]
            seconds, n = _pass(cfg, stage_dir, v == "staged-cold")
            times[v].append(seconds)
            counts[v] = n
            progress(f"round {r + 1}/{rounds} {v}: {n} examples in {seconds:.2f} s")
    local_s = statistics.median(times["local"])
    rows = [
        {
            "variant": v,
            "examples": counts[v],
            "median_seconds": round(statistics.median(times[v]), 3),
            "examples_per_s": round(counts[v] / statistics.median(times[v])),
            "mb_per_s": round(size / 1e6 / statistics.median(times[v]), 1),
            "vs_local": round(local_s / statistics.median(times[v]), 2),
        }
        for v in VARIANTS
    ]
    return {
        "url": url,
        "endpoint": fs.s3_endpoint(),
        "examples": examples,
        "train_bytes": size,
        "rounds": rounds,
        "rows": rows,
        "note": "one pass of read+parse+batch (no cache); medians of interleaved rounds",
    }


def chart(result: dict[str, Any], path: str) -> str:
    """Bar chart of examples/s per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_lstm_opt.charts import save_figure

    rows = result["rows"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.bar(
        [r["variant"] for r in rows],
        [r["examples_per_s"] for r in rows],
        color=["#4c72b0", "#dd8452", "#55a868", "#c44e52"],
    )
    for i, r in enumerate(rows):
        ax.text(
            i,
            r["examples_per_s"],
            f"{r['examples_per_s']:,}\n{r['vs_local']}x",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylabel("examples / s (one pass)")
    ax.set_title(
        f"{result['examples']:,} text examples: local vs s3:// ({result['endpoint']})", fontsize=9
    )
    ax.margins(y=0.25)
    return save_figure(fig, path)
