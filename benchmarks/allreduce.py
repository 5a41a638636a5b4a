"""All-reduce over simulated links: time and bus bandwidth per message size, against the
ring bound.

`bench_allreduce` starts, for each worker count and link, one group of real workers with
`keras-lstm-opt launch --workers N [--link RATE]` (each its own process, a
MultiWorkerMirroredStrategy over gRPC on the private loopback). Each worker all-reduces
float32 messages of every size, split into 8 tensors as a model's gradients are, for
each collective implementation and `bytes_per_pack`, a few times after a warm-up, and
the chief reports the median time. Every worker runs the same number of repetitions
(collectives must match), chosen from the ring bound.

* ring bound: 2 (N - 1) / N x size / rate, the time a ring all-reduce needs when each
  worker's outgoing link carries its share at the full rate (`--link` shapes each
  worker's outgoing traffic, as a host's network card would);
* bus bandwidth (NCCL's convention): size / time x 2 (N - 1) / N, comparable with the
  link rate; `of_bound` = ring bound / measured time.

Example:

    result = bench_allreduce([2, 4], ["none", "1gbit"], [1 << 16, 1 << 22])
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from benchmarks.contender import PREFIX, print_result

SIZES = [4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20]
LINKS = ["none", "10gbit", "1gbit", "100mbit"]
UNSHAPED_BPS = 20e9  # loopback, for choosing repetitions only
PARTS = 8


def ring_bound_seconds(size: int, workers: int, rate_bps: float) -> float:
    """Seconds a ring all-reduce of `size` bytes needs on links of `rate_bps`."""
    return 2 * (workers - 1) / workers * size * 8 / rate_bps


def repetitions(size: int, workers: int, rate_bps: float, seconds: float = 1.0) -> int:
    """Timed repetitions for about `seconds` at the ring bound: 3 to 30."""
    return max(3, min(30, math.ceil(seconds / ring_bound_seconds(size, workers, rate_bps))))


def _worker(spec: dict[str, Any]) -> None:
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    workers = strategy.num_replicas_in_sync
    impls = tf.distribute.experimental.CommunicationImplementation
    rows = []
    for impl in spec["implementations"]:
        for pack in spec["packs"]:
            options = tf.distribute.experimental.CommunicationOptions(
                bytes_per_pack=pack, implementation=getattr(impls, impl.upper())
            )
            for size in spec["sizes"]:
                n = size // 4 // PARTS
                parts = [tf.fill([n], 1.0) for _ in range(PARTS)]

                @tf.function(autograph=False)
                def step(parts: list[tf.Tensor] = parts, options: Any = options) -> Any:
                    def replica(values: list[tf.Tensor]) -> Any:
                        ctx = tf.distribute.get_replica_context()
                        # identity: a tensor placed on this replica's device (an input
                        # has none, and the reduction needs one as its destination)
                        return ctx.all_reduce(
                            "SUM", [tf.identity(v) for v in values], options=options
                        )

                    return strategy.run(replica, args=(parts,))

                out = step()  # warm-up: traces and forms the collective group
                assert float(out[0][0]) == workers, out[0][0]
                reps = repetitions(size, workers, spec["rate_bps"])
                times = []
                for _ in range(reps):
                    began = time.perf_counter()
                    float(step()[-1][-1])
                    times.append(time.perf_counter() - began)
                rows.append(
                    {
                        "implementation": impl,
                        "bytes_per_pack": pack,
                        "size": size,
                        "repetitions": reps,
                        "seconds": float(np.median(times)),
                    }
                )
                if spec["task"] == 0:
                    print(
                        f"  {workers} workers, {spec['link']}, {impl}, pack {pack}, "
                        f"{size:,} B: {rows[-1]['seconds'] * 1e3:.2f} ms",
                        flush=True,
                    )
    if spec["task"] == 0:
        print_result(rows)


def _run_group(workers: int, link: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    from keras_lstm_opt.launch.netns import parse_rate

    rate = UNSHAPED_BPS if link == "none" else parse_rate(link)
    cmd = [sys.executable, "-m", "keras_lstm_opt.cli", "launch", "--workers", str(workers)]
    if link != "none":
        cmd += ["--link", link]
    child = {**spec, "link": link, "rate_bps": rate}
    cmd += [
        "--",
        sys.executable,
        "-m",
        "benchmarks.allreduce",
        "worker",
        json.dumps(child),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    result: Any = None
    tail: list[str] = []
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-40:]
        if "[worker 0]   " in line or "shaped to" in line:
            print(line.rstrip().replace("[worker 0] ", ""), flush=True)
        if PREFIX in line:
            result = json.loads(line.split(PREFIX, 1)[1])
    if proc.wait() != 0 or result is None:
        raise RuntimeError(
            f"allreduce group ({workers} workers, link {link}) failed "
            f"(exit {proc.returncode}):\n" + "\n".join(tail)
        )
    return list(result)


def bench_allreduce(
    workers: list[int],
    links: list[str],
    sizes: list[int] | None = None,
    implementations: tuple[str, ...] = ("ring", "auto"),
    packs: tuple[int, ...] = (0, 4 << 20),
    progress: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Time all-reduces for each worker count and link (see the module docstring)."""
    from keras_lstm_opt.launch.netns import parse_rate

    sizes = sizes or SIZES
    rows = []
    for link in links:
        for n in workers:
            progress(f"{n} workers, link {link}")
            spec = {"sizes": sizes, "implementations": list(implementations), "packs": list(packs)}
            for row in _run_group(n, link, spec):
                rate = None if link == "none" else parse_rate(link)
                algbw = row["size"] * 8 / row["seconds"]
                bound = ring_bound_seconds(row["size"], n, rate) if rate else None
                rows.append(
                    {
                        "workers": n,
                        "link": link,
                        **row,
                        "ms": row["seconds"] * 1e3,
                        "bus_gbit_s": algbw * 2 * (n - 1) / n / 1e9,
                        "ring_bound_ms": bound * 1e3 if bound else None,
                        "of_bound": bound / row["seconds"] if bound else None,
                    }
                )
    return {
        "rows": rows,
        "sizes": sizes,
        "workers": workers,
        "links": links,
        "message_parts": PARTS,
    }


def chart(result: dict[str, Any], path: str) -> str:
    """Bus bandwidth against message size, one line per link and worker count (ring,
    one pack), with each shaped link's rate dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_lstm_opt.charts import save_figure

    fig, ax = plt.subplots(figsize=(8, 5))
    for link in result["links"]:
        for n in result["workers"]:
            rows = [
                r
                for r in result["rows"]
                if r["link"] == link
                and r["workers"] == n
                and r["implementation"] == "ring"
                and r["bytes_per_pack"] == 0
            ]
            if rows:
                (line,) = ax.plot(
                    [r["size"] for r in rows],
                    [r["bus_gbit_s"] for r in rows],
                    marker="o",
                    label=f"{link}, {n} workers",
                )
                if link != "none":
                    from keras_lstm_opt.launch.netns import parse_rate

                    ax.axhline(parse_rate(link) / 1e9, ls="--", lw=0.8, color=line.get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel("bus bandwidth (Gbit/s); dashed: link rate")
    ax.set_title("All-reduce over simulated links (ring, one pack)")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["worker"]:
        spec = json.loads(argv[1])
        spec["task"] = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
        _worker(spec)
        return
    raise SystemExit(
        "usage: python -m benchmarks.allreduce worker SPEC "
        "(benchmarks/bench.py --mode allreduce runs the benchmark)"
    )


if __name__ == "__main__":
    main()
