"""Redis as a dataset cache, measured against tf.data's memory cache and a snapshot.

The practice: keep a hot dataset's parsed batches in an in-memory store (Redis,
Memcached) that several jobs (e.g. parallel tuning trials) read. Here a real
redis-server runs on 127.0.0.1 holding the serialized parsed batches of the embedded
dataset; each reader process times one full pass, alone and with 3 readers at once:

* `memory cache`: `data.cache: memory`, second pass (each reader parses once and keeps
  its own copy of the parsed records, re-batched and reshuffled every epoch);
* `memory cache, batches`: `.cache()` after batching, second pass (the same fixed
  batches that Redis holds: no reshuffling across epochs);
* `file snapshot`: a tf.data snapshot written once beforehand, read by every reader;
* `redis`: batches fetched with pipelined GETs and decoded with `tf.io.parse_tensor`.

Reported: examples/s per reader and together, and memory (each reader's RSS growth;
Redis's `used_memory`; the snapshot's size on disk).

Example:

    result = bench_redis(examples=24000, readers=(1, 3))
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from typing import Any

MIB = 2**20


def start_redis(port: int) -> subprocess.Popen:
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("redis-server not found (Debian: apt-get install redis-server)")
    proc = subprocess.Popen(
        [
            exe,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client, deadline = redis.Redis("127.0.0.1", port), time.time() + 30
    while True:
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            if time.time() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.1)


def _dataset(path: str, cache: str) -> Any:
    from keras_lstm_opt.config import DataConfig
    from keras_lstm_opt.data.pipeline import make_dataset, resolve_files

    cfg = DataConfig(path=path, cache=cache, shuffle_buffer=0)
    files = resolve_files(cfg)
    return make_dataset(
        cfg, files.schema, files.train, 128, training=False, compression=files.compression
    )


def _rss_mib() -> float:
    """Resident memory now (ru_maxrss would carry the spawning parent's peak)."""
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def load_redis(path: str, port: int) -> int:
    """Store every parsed batch of `path` as b<i> = (x, y) serialized; return batches."""
    import redis
    import tensorflow as tf

    client, n = redis.Redis("127.0.0.1", port), 0
    pipe = client.pipeline()
    for x, y in _dataset(path, "none"):
        pipe.set(f"b{n}:x", tf.io.serialize_tensor(x).numpy())
        pipe.set(f"b{n}:y", tf.io.serialize_tensor(y).numpy())
        n += 1
    pipe.set("batches", n)
    pipe.execute()
    return n


def _redis_dataset(port: int) -> Any:
    import redis
    import tensorflow as tf

    client = redis.Redis("127.0.0.1", port)
    stored = client.get("batches")
    if stored is None:
        raise RuntimeError(f"redis on port {port} holds no 'batches' key; run load_redis first")
    n = int(stored)

    def gen() -> Any:
        for start in range(0, n, 8):  # 8 batches per round trip
            keys = [k for i in range(start, min(n, start + 8)) for k in (f"b{i}:x", f"b{i}:y")]
            values = client.mget(keys)
            for j in range(0, len(values), 2):
                yield values[j], values[j + 1]

    sig = (tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.string))
    ds = tf.data.Dataset.from_generator(gen, output_signature=sig)
    return ds.map(
        lambda x, y: (tf.io.parse_tensor(x, tf.int64), tf.io.parse_tensor(y, tf.int64)),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)


def _reader(variant: str, path: str, arg: str, start: Any, out: Any) -> None:
    """One reader process: build the variant, wait for the start, time one full pass."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from keras_lstm_opt.profiling.throughput import dataset_throughput

    tf.constant(0)  # TensorFlow's own memory is not the cache's
    base = _rss_mib()
    if variant in ("memory cache", "memory cache, batches"):
        ds = (
            _dataset(path, "memory")
            if variant == "memory cache"
            else _dataset(path, "none").cache()
        )
        dataset_throughput(ds)  # first pass fills this reader's cache
    elif variant == "file snapshot":
        ds = _dataset(path, f"snapshot:{arg}")
    else:
        ds = _redis_dataset(int(arg))
    start.wait()
    r = dataset_throughput(ds)
    out.put(
        {
            "examples_per_second": r["examples_per_second"],
            "examples": r["examples"],
            "rss_growth_mib": max(0.0, _rss_mib() - base),
        }
    )


def bench_redis(
    examples: int = 24000,
    readers: tuple[int, ...] = (1, 3),
    repeats: int = 2,
    progress: Any = print,
) -> dict[str, Any]:
    import redis

    from keras_lstm_opt.data.embedded import write_embedded
    from keras_lstm_opt.profiling.throughput import dataset_throughput, thread_settings

    work = tempfile.mkdtemp(prefix="klo-redis-")
    from keras_lstm_opt.launch.launcher import free_ports

    port = free_ports(1, "127.0.0.1")[0]
    server = start_redis(port)
    ctx = mp.get_context("spawn")
    try:
        data = write_embedded("text", os.path.join(work, "data"), examples, seed=3)
        batches = load_redis(data, port)
        redis_mib = redis.Redis("127.0.0.1", port).info("memory")["used_memory"] / MIB
        snap = os.path.join(work, "snap", "text")
        dataset_throughput(_dataset(data, f"snapshot:{snap}"))  # written once
        snap_mib = (
            sum(
                os.path.getsize(os.path.join(r, f))
                for r, _, fs in os.walk(os.path.dirname(snap))
                for f in fs
            )
            / MIB
        )
        args = {
            "memory cache": "",
            "memory cache, batches": "",
            "file snapshot": snap,
            "redis": str(port),
        }
        samples: dict[tuple[str, int], list[dict[str, float]]] = {}
        for rep in range(repeats):
            for n in readers:
                for variant, arg in args.items():
                    start, out = ctx.Event(), ctx.Queue()
                    procs = [
                        ctx.Process(target=_reader, args=(variant, data, arg, start, out))
                        for _ in range(n)
                    ]
                    for p in procs:
                        p.start()
                    time.sleep(0.5)
                    start.set()
                    got = [out.get(timeout=600) for _ in procs]
                    for p in procs:
                        p.join(timeout=60)
                    samples.setdefault((variant, n), []).append(
                        {
                            "per_reader": statistics.mean(g["examples_per_second"] for g in got),
                            "rss": statistics.mean(g["rss_growth_mib"] for g in got),
                        }
                    )
                    progress(
                        f"  repeat {rep + 1}/{repeats}  {n} reader(s)  {variant:<14} "
                        f"{samples[(variant, n)][-1]['per_reader']:>9,.0f} examples/s "
                        "per reader"
                    )
        rows = []
        for (variant, n), s in samples.items():
            per = statistics.median(x["per_reader"] for x in s)
            rss = statistics.median(x["rss"] for x in s)
            shared = {"redis": redis_mib, "file snapshot": snap_mib}.get(variant, 0.0)
            rows.append(
                {
                    "variant": variant,
                    "readers": n,
                    "per_reader_examples_per_second": per,
                    "total_examples_per_second": per * n,
                    "reader_rss_growth_mib": rss,
                    "shared_store_mib": shared,
                    "memory_for_all_readers_mib": rss * n
                    + (redis_mib if variant == "redis" else 0.0),
                }
            )
        return {
            "mode": "redis",
            "examples": examples,
            "batches": batches,
            "repeats": repeats,
            "threads": thread_settings(),
            "redis_used_memory_mib": redis_mib,
            "snapshot_mib": snap_mib,
            "rows": rows,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
