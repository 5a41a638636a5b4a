"""CPU-quota-aware threading: size TensorFlow's thread pools to the CPUs a job may use.

TensorFlow sizes its intra-op pool (and tf.data's) from the host's cores (or the CPU
affinity), not from a container's CPU quota: four jobs limited to 4 CPUs each on a
64-core host each start 64 threads and are throttled by the kernel. At start-up
`configure_threads` reads

* the CPU affinity (`os.sched_getaffinity`),
* the cgroup CPU quota: v2 `cpu.max` ("QUOTA PERIOD" or "max"), v1
  `cpu.cfs_quota_us` / `cpu.cfs_period_us`, for this process's cgroup (from
  /proc/self/cgroup; the cgroup root is /sys/fs/cgroup or `$KERAS_LSTM_OPT_CGROUP_ROOT`),

takes the smaller (a quota of 1.5 CPUs gives 2 threads), and sets TensorFlow's intra-op
threads, inter-op threads and tf.data's private pool, unless
`distribute.intra_op_threads` / `inter_op_threads` / `data.threads` say otherwise
(0 = this automatic choice, -1 = TensorFlow's own default). It logs what it chose and why.

CPU allocator: TensorFlow's BFC allocator (`TF_CPU_ALLOCATOR_USE_BFC=true`) unless the
environment says otherwise. It keeps freed blocks for reuse; the default CPU allocator
hands every tensor to malloc, which for a training step's large, short-lived buffers
means fresh pages (mmap, page faults, munmap) each step, and epochs take longer
(measured: docs/measurements.md, design measurements). Like the thread counts, it
applies only if TensorFlow has allocated nothing yet. The
BFC allocator refuses to grow past `TF_CPU_BFC_MEM_LIMIT_IN_MB` (64 GiB unless set); we
set it to the host's memory where unset, so that a big host's job is not cut at 64 GiB.

Inter-op threads: 1 with FastLSTM (the default model), whose fused kernels already
spread each layer over every intra-op thread; a second inter-op thread only adds
hand-offs between threads. With stock keras.layers.LSTM, 2 (1 on one CPU): its
Bidirectional directions then run side by side (both measured: docs/measurements.md,
design measurements).

Example:

    cpus, why = available_cpus()   # (1, "cgroup v2 cpu.max 100000/100000 = 1.00 CPUs")
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any

log = logging.getLogger("keras_lstm_opt")
ENV_ROOT = "KERAS_LSTM_OPT_CGROUP_ROOT"
ALLOCATOR_ENV = "TF_CPU_ALLOCATOR_USE_BFC"
ALLOCATOR_LIMIT_ENV = "TF_CPU_BFC_MEM_LIMIT_IN_MB"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _cgroup_paths(proc_cgroup: str) -> dict[str, str]:
    """controller ('' for v2) -> this process's cgroup path."""
    out: dict[str, str] = {}
    for line in (_read(proc_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for ctrl in parts[1].split(",") if parts[1] else [""]:
                out[ctrl] = parts[2]
    return out


def cgroup_cpu_quota(
    root: str | None = None,
    proc_cgroup: str = "/proc/self/cgroup",
) -> tuple[float | None, str]:
    """CPUs allowed by the cgroup quota (None = no quota) and where that was read."""
    root = root or os.environ.get(ENV_ROOT) or "/sys/fs/cgroup"
    paths = _cgroup_paths(proc_cgroup)
    v2 = paths.get("", "/")
    for base in (os.path.join(root, v2.lstrip("/")), root):  # leaf, then the mount's root
        text = _read(os.path.join(base, "cpu.max"))
        if text:
            quota_s, _, period_s = text.partition(" ")
            if quota_s == "max":
                return None, f"cgroup v2 {os.path.join(base, 'cpu.max')}: max (no quota)"
            q, p = int(quota_s), int(period_s or 100000)
            return q / p, f"cgroup v2 cpu.max {q}/{p} = {q / p:.2f} CPUs"
    v1 = paths.get("cpu", "/")
    for ctrl in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for base in (os.path.join(root, ctrl, v1.lstrip("/")), os.path.join(root, ctrl)):
            quota_us = _read(os.path.join(base, "cpu.cfs_quota_us"))
            if quota_us is None:
                continue
            period = int(_read(os.path.join(base, "cpu.cfs_period_us")) or 100000)
            if int(quota_us) <= 0:
                return None, f"cgroup v1 {base}: cfs_quota_us {quota_us} (no quota)"
            return int(quota_us) / period, (
                f"cgroup v1 cpu.cfs_quota_us {quota_us}/{period} = "
                f"{int(quota_us) / period:.2f} CPUs"
            )
    return None, "no cgroup CPU controller found"


def available_cpus(
    root: str | None = None,
    proc_cgroup: str = "/proc/self/cgroup",
) -> tuple[int, str]:
    """Whole CPUs this process may use: min(affinity, ceil(quota)), and why."""
    affinity = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    quota, where = cgroup_cpu_quota(root, proc_cgroup)
    if quota is not None and math.ceil(quota) < affinity:
        return max(1, math.ceil(quota)), f"{where} (affinity allows {affinity})"
    return affinity, f"CPU affinity: {affinity} CPUs; {where}"


def cpu_allocator() -> str:
    """ "bfc" or "default": the CPU allocator this process's environment asks TensorFlow for."""
    return (
        "bfc" if os.environ.get(ALLOCATOR_ENV, "").strip().lower() in ("1", "true") else "default"
    )


def choose_threads(
    intra: int = 0, inter: int = 0, data: int = 0, root: str | None = None, fused_lstm: bool = True
) -> dict[str, Any]:
    """The thread counts to use (0 = from available_cpus, -1 = TensorFlow's default)."""
    cpus, why = available_cpus(root)
    pick = {
        "intra_op": intra or cpus,
        "inter_op": inter or (2 if cpus > 1 and not fused_lstm else 1),
        "tf_data": data or cpus,
    }
    return {**{k: (0 if v < 0 else v) for k, v in pick.items()}, "cpus": cpus, "why": why}


def configure_threads(
    intra: int = 0, inter: int = 0, data: int = 0, fused_lstm: bool = True
) -> dict[str, Any]:
    """Apply `choose_threads` to TensorFlow (before it runs any op); log and return it."""
    import tensorflow as tf

    chosen = choose_threads(intra, inter, data, fused_lstm=fused_lstm)
    os.environ.setdefault(ALLOCATOR_ENV, "true")
    chosen["cpu_allocator"] = cpu_allocator()
    if chosen["cpu_allocator"] == "bfc":
        host_mib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
        os.environ.setdefault(ALLOCATOR_LIMIT_ENV, str(host_mib))
    try:
        tf.config.threading.set_intra_op_parallelism_threads(chosen["intra_op"])
        tf.config.threading.set_inter_op_parallelism_threads(chosen["inter_op"])
    except RuntimeError as exc:  # TensorFlow already initialised in this process
        chosen["note"] = f"not applied: {exc}"
    log.info(
        "threads: intra-op %s, inter-op %s, tf.data %s (%s); CPU allocator %s%s",
        chosen["intra_op"] or "default",
        chosen["inter_op"] or "default",
        chosen["tf_data"] or "default",
        chosen["why"],
        chosen["cpu_allocator"],
        f"; {chosen['note']}" if "note" in chosen else "",
    )
    return chosen
