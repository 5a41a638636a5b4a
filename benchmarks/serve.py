"""HTTP serving benchmark: `keras-lstm-opt serve` with dynamic batching against
`--max-batch 1` (every request its own model call), side by side.

For each `--max-batch` value, a server is started on a free port of 127.0.0.1 (a
subprocess), warmed up, and loaded by `clients` concurrent clients (aiohttp, in this
process), each sending `requests` requests of one instance and waiting for each answer.
Reported per server: requests/s, the clients' p50 and p99 latency, model calls and rows
per call (from the server's own /metrics), and the throughput ratio to `--max-batch 1`.
Rounds alternate the servers so that machine noise hits both alike. Instances: raw
texts for a run imported from text, token-id rows otherwise (the embedded data).

Example:

    result = bench_serve("runs/default", batches=[1, 64], clients=64, requests=50)
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np


def _instances(run_dir: str, n: int, seed: int = 0) -> list[Any]:
    with open(f"{run_dir}/schema.json", encoding="utf-8") as fh:
        info = json.load(fh).get("info", {})
    rng = np.random.default_rng(seed)
    vocabulary = info.get("vocabulary")
    if vocabulary:
        words = [str(w) for w in vocabulary[2:2000]]
        return [" ".join(rng.choice(words, int(rng.integers(5, 30)))) for _ in range(n)]
    size = int(info.get("vocab_size", 64))
    return [rng.integers(1, size, int(rng.integers(10, 40))).tolist() for _ in range(n)]


class _Server:
    def __init__(self, run_dir: str, max_batch: int, max_wait_ms: float) -> None:
        from keras_lstm_opt.launch.launcher import free_ports

        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "keras_lstm_opt.cli", "serve", run_dir, "--port", str(self.port)]
            + ["--max-batch", str(max_batch), "--max-wait-ms", str(max_wait_ms)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        banner = self.proc.stdout.readline() if self.proc.stdout else ""
        if not banner.startswith("serving "):
            self.proc.kill()
            raise RuntimeError(f"serve did not start: {banner}{self.proc.communicate()[1][-2000:]}")

    def metrics(self) -> dict[str, float]:
        import urllib.request

        with urllib.request.urlopen(self.url + "/metrics", timeout=30) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith(("klo_batch_rows_count", "klo_batch_rows_sum")):
                key, value = line.split()
                out[key] = float(value)
        return out

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=60)
        return self.proc.returncode


async def _load(url: str, instances: list[Any], clients: int, requests: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    failures = 0

    async def client(index: int, http: aiohttp.ClientSession) -> None:
        nonlocal failures
        for k in range(requests):
            row = instances[(index * requests + k) % len(instances)]
            began = time.perf_counter()
            async with http.post(url + "/v1/predict", json={"instances": [row]}) as answer:
                await answer.read()
                failures += answer.status != 200
            latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        seconds = time.perf_counter() - began
    return {
        "requests_per_second": len(latencies) / seconds,
        "p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "p99_ms": 1000 * float(np.percentile(latencies, 99)),
        "failures": failures,
    }


def bench_serve(
    run_dir: str,
    batches: list[int],
    clients: int = 64,
    requests: int = 50,
    rounds: int = 3,
    max_wait_ms: float = 5.0,
    progress: Any = print,
) -> dict[str, Any]:
    """Requests/s and latency of a server per `--max-batch` value (see the module)."""
    instances = _instances(run_dir, 500)
    servers = {b: _Server(run_dir, b, max_wait_ms) for b in batches}
    runs: dict[int, list[dict[str, Any]]] = {b: [] for b in batches}
    try:
        for srv in servers.values():  # warm-up: connections, first calls
            asyncio.run(_load(srv.url, instances, 8, 10))
        for r in range(rounds):
            for b, srv in servers.items():
                before = srv.metrics()
                one = asyncio.run(_load(srv.url, instances, clients, requests))
                after = srv.metrics()
                calls = after["klo_batch_rows_count"] - before["klo_batch_rows_count"]
                rows = after["klo_batch_rows_sum"] - before["klo_batch_rows_sum"]
                one.update(model_calls=calls, rows_per_call=rows / max(calls, 1))
                runs[b].append(one)
                progress(
                    f"round {r + 1}/{rounds} max_batch {b}: {one['requests_per_second']:.0f} "
                    f"requests/s, p50 {one['p50_ms']:.1f} ms, p99 {one['p99_ms']:.1f} ms, "
                    f"{one['rows_per_call']:.1f} rows per model call"
                )
    finally:
        codes = {b: srv.stop() for b, srv in servers.items()}
    rows_out = []
    base = statistics.median(r["requests_per_second"] for r in runs[min(batches)])
    for b in batches:
        med = {k: statistics.median(r[k] for r in runs[b]) for k in runs[b][0]}
        med.update(max_batch=b, throughput_ratio=med["requests_per_second"] / base)
        rows_out.append(med)
    return {
        "run_dir": run_dir,
        "clients": clients,
        "requests_per_client": requests,
        "rounds": rounds,
        "max_wait_ms": max_wait_ms,
        "servers": rows_out,
        "exit_codes": codes,
    }
