"""Multi-worker training over simulated links, with and without the levers that cut
traffic: step time, samples/s and accuracy per lever, link and worker count.

Each run is `keras-lstm-opt launch --workers N [--link RATE] -- keras-lstm-opt train
CONFIG --run-dir DIR --set ...`: real worker processes, the chief's metrics.json and
history.csv read afterwards. Two kinds of run:

* speed: `epochs` short epochs of `steps` steps; the step time is the last epoch's
  training seconds (history.csv `epoch_train_seconds`, validation and the first epoch's
  tracing apart) over its steps;
* accuracy: a full training run per lever on the unshaped loopback (a link changes when
  a step ends, not what it computes: the speed runs' weights digests show it), with
  time-to-accuracy at each link = the epochs it took x steps per epoch x that link's
  step time.

Levers (`LEVERS`, each a list of --set overrides on top of the config):

* `dense`: the whole embedding table all-reduced in float32, Adam on every row (the
  plain exchange, and what the text model did before lazy rows);
* `sparse`: lazy embedding rows, the touched rows gathered (the default);
* `sparse+fp16`: and float16 on the wire;
* `sparse+fp16+batch4x`: and a global batch of 256 with a learning rate of 0.006:
  4x the batch and 2x the rate (square-root scaling) against what `auto` picks for the
  real corpora (64 and 0.003), so a quarter of the exchanges per example; against a
  config's own batch of 128, 2x (override with --set).

Example:

    result = bench_links("wordnet-data", [2], ["none", "100mbit"], steps=40)
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

LEVERS: dict[str, list[str]] = {
    "dense": ["train.embedding_updates=dense", "distribute.embedding_exchange=dense"],
    "sparse": [],
    "sparse+fp16": ["distribute.gradient_compression=float16"],
    "sparse+fp16+batch4x": [
        "distribute.gradient_compression=float16",
        "train.batch_size=256",
        "train.learning_rate=0.006",
    ],
}
COMMON = ["distribute.strategy=multi_worker_mirrored", "train.verbose=epoch"]


def run_training(
    run_dir: str,
    workers: int,
    link: str,
    overrides: list[str],
    config: str | None = None,
    log_path: str | None = None,
) -> dict[str, Any]:
    """One multi-worker `train` under the launcher; the chief's metrics and history."""
    cmd = [sys.executable, "-m", "keras_lstm_opt.cli", "launch", "--workers", str(workers)]
    if link != "none":
        cmd += ["--link", link]
    cmd += [
        "--",
        sys.executable,
        "-m",
        "keras_lstm_opt.cli",
        "train",
        *([config] if config else []),
        "--run-dir",
        run_dir,
        "--overwrite",
    ]
    for item in [*COMMON, *overrides]:
        cmd += ["--set", item]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    began = time.monotonic()
    with open(log_path or os.devnull, "w", encoding="utf-8") as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        tail = open(log_path, encoding="utf-8").read()[-3000:] if log_path else ""
        raise RuntimeError(
            f"training with {workers} workers, link {link}, {overrides} "
            f"failed (exit {code}):\n{tail}"
        )
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as fh:
        metrics = json.load(fh)
    with open(os.path.join(run_dir, "history.csv"), encoding="utf-8") as fh:
        history = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]
    return {"metrics": metrics, "history": history, "wall_seconds": time.monotonic() - began}


def _steps_per_epoch(metrics: dict[str, Any]) -> int:
    return int(metrics["steps_completed"] // max(metrics["epochs_completed"], 1))


def bench_links(
    data: str | None,
    workers: list[int],
    links: list[str],
    levers: list[str] | None = None,
    steps: int = 40,
    speed_epochs: int = 2,
    config: str | None = None,
    out_dir: str = "bench/links",
    extra: list[str] | None = None,
    fast_bps: float = 2e9,
    progress: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Speed runs for every lever x link x worker count, accuracy runs unshaped (see the
    module docstring). `data`: an imported data directory (None: the config's data).
    `fast_bps`: the unshaped loopback's all-reduce bus bandwidth, for the planner's
    predictions (`--mode allreduce` measures it: about 2 Gbit/s for 4 MiB on 2 workers)."""
    levers = levers or list(LEVERS)
    unknown = sorted(set(levers) - set(LEVERS))
    if unknown:
        raise ValueError(f"levers {unknown}: known are {', '.join(LEVERS)}")
    base = [*([f"data.path={data}"] if data else []), *(extra or [])]
    rows: list[dict[str, Any]] = []
    accuracy: dict[tuple[str, int], dict[str, Any]] = {}
    for n in workers:
        for lever in levers:
            name = f"{lever}-w{n}-full"
            progress(f"accuracy run: {lever}, {n} workers, unshaped")
            r = run_training(
                os.path.join(out_dir, name),
                n,
                "none",
                [*base, *LEVERS[lever]],
                config,
                os.path.join(out_dir, f"{name}.log"),
            )
            m = r["metrics"]
            best = max(h.get("val_accuracy", 0.0) for h in r["history"])
            accuracy[(lever, n)] = {
                "best_val_accuracy": best,
                "history": r["history"],
                "steps_per_epoch": _steps_per_epoch(m),
                "global_batch_size": m["global_batch_size"],
            }
            progress(f"  best val_accuracy {best:.4f} in {m['epochs_completed']} epochs")
    for link in links:
        for n in workers:
            for lever in levers:
                name = f"{lever}-w{n}-{link}"
                progress(f"speed run: {lever}, {n} workers, link {link}")
                r = run_training(
                    os.path.join(out_dir, name),
                    n,
                    link,
                    [
                        *base,
                        *LEVERS[lever],
                        f"train.epochs={speed_epochs}",
                        f"train.steps_per_epoch={steps}",
                        "train.early_stopping_patience=0",
                    ],
                    config,
                    os.path.join(out_dir, f"{name}.log"),
                )
                last = r["history"][-1]
                step_s = last["epoch_train_seconds"] / steps
                acc = accuracy[(lever, n)]
                batch = acc["global_batch_size"]
                rows.append(
                    {
                        "workers": n,
                        "link": link,
                        "lever": lever,
                        "step_ms": step_s * 1e3,
                        "samples_per_s": batch / step_s,
                        "best_val_accuracy": acc["best_val_accuracy"],
                        "sent_bytes": sent_per_step(os.path.join(out_dir, name), r["metrics"], n),
                        "digest": r["metrics"]["weights_digest"],
                    }
                )
                progress(f"  {step_s * 1e3:.1f} ms a step, {batch / step_s:,.0f} samples/s")
    _time_to_accuracy(rows, accuracy)
    _predict(rows, fast_bps)
    return {
        "fast_bps": fast_bps,
        "rows": rows,
        "levers": {k: LEVERS[k] for k in levers},
        "steps": steps,
        "data": data,
        "accuracy": {f"{k[0]}-w{k[1]}": v for k, v in accuracy.items()},
    }


def sent_per_step(run_dir: str, metrics: dict[str, Any], workers: int) -> float:
    """The planner's bytes per worker and step for a finished run: its trainable
    parameters, its embedding table exchanged whole or as the rows a worker's share of
    the batch touches (counted in the training data: `touched_rows`)."""
    from keras_lstm_opt.config import load_config
    from keras_lstm_opt.data.pipeline import resolve_files
    from keras_lstm_opt.distribute.planner import exchange_bytes

    cfg = load_config(os.path.join(run_dir, "config.yaml"))
    files = resolve_files(cfg.data)
    vocab = int(files.schema.get("info", {}).get("vocab_size", 0))
    width = cfg.model.embedding_dim
    params = int(metrics["params"]) * 4
    wire = cfg.distribute.gradient_compression
    exchange = cfg.distribute.embedding_exchange
    sparse = exchange == "sparse" or (
        exchange == "auto"
        and cfg.train.embedding_updates == "lazy"
        and cfg.train.optimizer in ("adam", "adamw")
    )
    if not sparse or not vocab:
        return exchange_bytes(params, workers=workers, compression=wire)
    rows = touched_rows(files, metrics["global_batch_size"] // workers)
    return exchange_bytes(params - vocab * width * 4, rows, width, workers, wire)


def touched_rows(files: Any, batch: int, batches: int = 40) -> float:
    """Distinct token ids (embedding rows) in a batch of `batch` training texts of
    `files` (`resolve_files`), on average over the first `batches` batches, padding's
    row 0 included."""
    import numpy as np
    import tensorflow as tf

    from keras_lstm_opt.data.schema import parse_spec

    feature = files.schema["inputs"]
    spec = {feature: parse_spec(files.schema)[feature]}
    ds = tf.data.TFRecordDataset(files.train, compression_type=files.compression or None)
    counts = []
    for records in ds.batch(batch).take(batches):
        ids = tf.io.parse_example(records, spec)[feature]
        counts.append(len(np.union1d(ids.flat_values.numpy(), [0])))
    return float(np.mean(counts)) if counts else 0.0


def _predict(rows: list[dict[str, Any]], fast_bps: float) -> None:
    """Each shaped row: the planner's step time from the unshaped run of the same lever
    and worker count, and its error against the measured one."""
    from keras_lstm_opt.distribute.planner import predict_step_seconds
    from keras_lstm_opt.launch.netns import parse_rate

    for row in rows:
        base = next(
            (
                r
                for r in rows
                if r["link"] == "none"
                and r["lever"] == row["lever"]
                and r["workers"] == row["workers"]
            ),
            None,
        )
        if row["link"] == "none" or base is None:
            continue
        pred = (
            predict_step_seconds(
                base["step_ms"] / 1e3, row["sent_bytes"], parse_rate(row["link"]), fast_bps
            )
            * 1e3
        )
        row["predicted_step_ms"] = pred
        row["prediction_error"] = pred / row["step_ms"] - 1


def _time_to_accuracy(
    rows: list[dict[str, Any]], accuracy: dict[tuple[str, int], dict[str, Any]]
) -> None:
    """Each row: the minutes to the target (0.5 points under what the plain `dense`
    exchange reached, else under the best lever's best, per worker count) at its link's
    step time, and samples/s against `dense` there."""
    for row in rows:
        n = row["workers"]
        plain = accuracy.get(("dense", n))
        target = (
            plain["best_val_accuracy"]
            if plain
            else max(v["best_val_accuracy"] for (lv, w), v in accuracy.items() if w == n)
        )
        target -= 0.005
        acc = accuracy[(row["lever"], n)]
        epoch = next(
            (i + 1 for i, h in enumerate(acc["history"]) if h.get("val_accuracy", 0.0) >= target),
            None,
        )
        row["target_accuracy"] = round(target, 4)
        row["minutes_to_target"] = (
            epoch * acc["steps_per_epoch"] * row["step_ms"] / 6e4 if epoch else None
        )
        dense = next(
            (
                r
                for r in rows
                if r["lever"] == "dense" and r["workers"] == n and r["link"] == row["link"]
            ),
            None,
        )
        row["vs_dense"] = row["samples_per_s"] / dense["samples_per_s"] if dense else None


def chart(result: dict[str, Any], path: str) -> str:
    """Samples/s per lever, grouped by link (one panel per worker count)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_lstm_opt.charts import save_figure

    workers = sorted({r["workers"] for r in result["rows"]})
    fig, axes = plt.subplots(1, len(workers), figsize=(7 * len(workers), 4.5), squeeze=False)
    for ax, n in zip(axes[0], workers, strict=True):
        rows = [r for r in result["rows"] if r["workers"] == n]
        links = list(dict.fromkeys(r["link"] for r in rows))
        levers = list(dict.fromkeys(r["lever"] for r in rows))
        width = 0.8 / len(levers)
        for i, lever in enumerate(levers):
            vals = [
                next(
                    (r["samples_per_s"] for r in rows if r["link"] == link and r["lever"] == lever),
                    0,
                )
                for link in links
            ]
            ax.bar([j + i * width for j in range(len(links))], vals, width, label=lever)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(links))], links)
        ax.set_yscale("log")
        ax.set_ylabel("samples / s (log)")
        ax.set_title(f"{n} workers: training throughput per link and lever")
    return save_figure(fig, path, axes[0])
