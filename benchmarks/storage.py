"""Storage benchmark: TFRecord compression and cache formats, side by side.

For one embedded dataset (generated once, in memory), writes the training split as
GZIP, ZLIB and uncompressed TFRecords and reports for each: size on disk, write MB/s
(of the files, and of the uncompressed records they hold), and pipeline examples/s
read cold (no cache), warm from the memory cache and warm from a file cache. Then,
over the GZIP records, tf.data snapshots with no compression, SNAPPY and GZIP: size on
disk, the first pass (read + parse + write the snapshot) and warm reads from the
snapshot. Reads are repeated, interleaved across variants (A B C A B C), and the
median is reported.

Example:

    result = bench_storage("text", examples=24000, workdir="/tmp/bench-storage")
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import time
from typing import Any

from keras_lstm_opt.config import DataConfig
from keras_lstm_opt.data.embedded import TEXT, make_forecast, make_text
from keras_lstm_opt.data.pipeline import make_dataset, resolve_files
from keras_lstm_opt.data.writer import write_tfrecords
from keras_lstm_opt.profiling.throughput import dataset_throughput, thread_settings

MIB = 2**20


def _size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def _rate(cfg: DataConfig, batch: int, passes: int = 1) -> float:
    """examples/s of the last of `passes` full passes over the training split."""
    files = resolve_files(cfg)
    ds = make_dataset(
        cfg, files.schema, files.train, batch, training=True, compression=files.compression
    )
    for _ in range(passes - 1):
        dataset_throughput(ds)
    return dataset_throughput(ds)["examples_per_second"]


def bench_storage(
    task: str = "text",
    examples: int = 24000,
    workdir: str = "bench-storage",
    repeats: int = 3,
    batch: int = 128,
    shards: int = 4,
    progress: Any = print,
) -> dict[str, Any]:
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    data = make_text(examples, 1234) if task == "text" else make_forecast(examples, 1234)
    io = ("tokens", "label") if task == "text" else ("x", "y")
    info = (
        {"vocab_size": TEXT["vocab_size"], "num_classes": TEXT["num_classes"]}
        if task == "text"
        else {"n_features": 3}
    )
    rows: list[dict[str, Any]] = []
    dirs = {}
    small = {k: v[:8] for k, v in data.items()}  # warms TensorFlow up, untimed
    write_tfrecords(os.path.join(workdir, "warm-up"), small, "train", 1, "GZIP", *io, task, info)
    for comp in ("NONE", "GZIP", "ZLIB"):
        d = dirs[comp] = os.path.join(workdir, f"records-{comp.lower()}")
        start = time.perf_counter()
        write_tfrecords(d, data, "train", shards, comp, *io, task, info)
        seconds = time.perf_counter() - start
        size = sum(_size(os.path.join(d, f)) for f in os.listdir(d) if f.startswith("train-"))
        raw = rows[0]["size_mib"] if rows else size / MIB
        rows.append(
            {
                "variant": f"TFRecord {comp}",
                "format": "tfrecord",
                "compression": comp,
                "size_mib": size / MIB,
                "write_mib_per_second": size / MIB / seconds,
                "records_mib_per_second": raw / seconds,
            }
        )
        progress(f"  wrote {comp:<5} TFRecords: {size / MIB:7.2f} MiB in {seconds:5.2f} s")
    plain = DataConfig(path=dirs["NONE"], cache="none")
    samples: dict[str, list[float]] = {}
    for r in range(repeats):
        for row in rows:
            d = dirs[row["compression"]]
            cache_file = os.path.join(workdir, f"filecache-{r}", row["compression"].lower())
            os.makedirs(os.path.dirname(cache_file), exist_ok=True)
            base = dataclasses.replace(plain, path=d)
            for key, cfg, passes in (
                ("cold_examples_per_second", base, 1),
                ("memory_cache_examples_per_second", dataclasses.replace(base, cache="memory"), 2),
                ("file_cache_examples_per_second", dataclasses.replace(base, cache=cache_file), 2),
            ):
                samples.setdefault(row["variant"] + key, []).append(_rate(cfg, batch, passes))
            progress(
                f"  repeat {r + 1}/{repeats}  {row['variant']:<16} cold "
                f"{samples[row['variant'] + 'cold_examples_per_second'][-1]:>9,.0f} "
                "examples/s"
            )
        for sc in ("NONE", "SNAPPY", "GZIP"):
            snap = os.path.join(workdir, f"snapshot-{sc.lower()}-{r}", "s")
            cfg = DataConfig(path=dirs["GZIP"], cache=f"snapshot:{snap}", snapshot_compression=sc)
            files = resolve_files(cfg)
            ds = make_dataset(
                cfg, files.schema, files.train, batch, training=True, compression=files.compression
            )
            first = dataset_throughput(ds)["examples_per_second"]
            warm = dataset_throughput(ds)["examples_per_second"]
            name = f"snapshot {sc}"
            samples.setdefault(name + "first", []).append(first)
            samples.setdefault(name + "warm", []).append(warm)
            samples.setdefault(name + "size", []).append(_size(os.path.dirname(snap)))
            progress(
                f"  repeat {r + 1}/{repeats}  {name:<16} first pass {first:>9,.0f}  "
                f"warm {warm:>9,.0f} examples/s"
            )
    for row in rows:
        for key in (
            "cold_examples_per_second",
            "memory_cache_examples_per_second",
            "file_cache_examples_per_second",
        ):
            row[key] = statistics.median(samples[row["variant"] + key])
    for sc in ("NONE", "SNAPPY", "GZIP"):
        name = f"snapshot {sc}"
        rows.append(
            {
                "variant": name,
                "format": "snapshot",
                "compression": sc,
                "size_mib": statistics.median(samples[name + "size"]) / MIB,
                "write_mib_per_second": None,
                "records_mib_per_second": None,
                "cold_examples_per_second": statistics.median(samples[name + "first"]),
                "memory_cache_examples_per_second": None,
                "file_cache_examples_per_second": statistics.median(samples[name + "warm"]),
            }
        )
    ref = rows[0]["cold_examples_per_second"]
    for row in rows:
        row["cold_ratio_vs_none"] = row["cold_examples_per_second"] / ref
    shutil.rmtree(workdir, ignore_errors=True)
    return {
        "mode": "storage",
        "task": task,
        "examples": examples,
        "shards": shards,
        "batch_size": batch,
        "repeats": repeats,
        "threads": thread_settings(),
        "notes": {
            "cold": "one pass, no cache (snapshots: the pass that writes them)",
            "memory_cache": "second pass, data.cache: memory",
            "file_cache": "second pass from the file cache (snapshots: from the snapshot)",
        },
        "rows": rows,
    }
