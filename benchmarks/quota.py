"""Quota-aware threading, measured: jobs sharing a machine under real CPU quotas.

Creates one cgroup per job with a CPU quota (cgroup v2 `cpu.max` or v1
`cpu.cfs_quota_us`; needs write access to the cgroup file system, e.g. root), starts the
jobs at once, each inside its cgroup, and compares TensorFlow's default thread pools
(`-1`: sized from the host's cores) with keras-lstm-opt's quota-aware choice (`0`).
Modes are interleaved over the repeats; reported per job: samples/s and the threads.

Example:

    result = bench_quota(jobs=2, cpus_per_job=1.0, repeats=2)
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any


def _cgroup_dirs(n: int, cpus: float) -> list[tuple[str, str]]:
    """(directory, file to write a pid into) for n new cgroups with a CPU quota."""
    quota, period = int(cpus * 100000), 100000
    root = "/sys/fs/cgroup"
    out = []
    for i in range(n):
        if os.path.exists(os.path.join(root, "cgroup.controllers")):  # v2
            d = os.path.join(root, f"klo-bench-{os.getpid()}-{i}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "cpu.max"), "w") as fh:
                fh.write(f"{quota} {period}")
            out.append((d, os.path.join(d, "cgroup.procs")))
        else:  # v1
            d = os.path.join(root, "cpu", f"klo-bench-{os.getpid()}-{i}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "cpu.cfs_period_us"), "w") as fh:
                fh.write(str(period))
            with open(os.path.join(d, "cpu.cfs_quota_us"), "w") as fh:
                fh.write(str(quota))
            out.append((d, os.path.join(d, "tasks")))
    return out


def _join(tasks: str) -> None:
    with open(tasks, "w") as fh:
        fh.write(str(os.getpid()))


def bench_quota(
    jobs: int = 2,
    cpus_per_job: float = 1.0,
    repeats: int = 2,
    overrides: tuple[str, ...] = (),
    progress: Any = print,
) -> dict[str, Any]:
    try:
        groups = _cgroup_dirs(jobs, cpus_per_job)
    except OSError as exc:
        raise RuntimeError(
            f"cannot create cgroups with a CPU quota here ({exc}); run as "
            "root on a machine with a writable cgroup file system"
        ) from None
    exe = shutil.which("keras-lstm-opt") or os.path.join(
        os.path.dirname(sys.executable), "keras-lstm-opt"
    )
    work = tempfile.mkdtemp(prefix="klo-quota-")
    samples: dict[str, list[float]] = {"-1": [], "0": []}
    threads: dict[str, Any] = {}
    try:
        for rep in range(repeats):
            for mode in ("-1", "0"):
                procs = []
                for j, (_, tasks) in enumerate(groups):
                    run = os.path.join(work, f"{mode}-{rep}-{j}")
                    cmd = [exe, "train", "--run-dir", run, "--set", "train.verbose=silent"]
                    for o in (
                        f"distribute.intra_op_threads={mode}",
                        f"distribute.inter_op_threads={mode}",
                        f"data.threads={mode}",
                        *overrides,
                    ):
                        cmd += ["--set", o]
                    procs.append(
                        (
                            subprocess.Popen(
                                cmd,
                                preexec_fn=functools.partial(_join, tasks),
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE,
                                text=True,
                            ),
                            run,
                        )
                    )
                for proc, run in procs:
                    _, err = proc.communicate()
                    if proc.returncode:
                        raise RuntimeError(f"a job failed: {err[-1000:]}")
                    with open(os.path.join(run, "metrics.json")) as fh:
                        m = json.load(fh)
                    samples[mode].append(m["samples_per_second"])
                    threads[mode] = m["threads"]
                label = "default" if mode == "-1" else "quota-aware"
                progress(
                    f"  repeat {rep + 1}/{repeats}  threads {label:<12} "
                    f"{statistics.mean(samples[mode][-jobs:]):>8,.0f} samples/s per job"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for d, _ in groups:
            try:
                os.rmdir(d)
            except OSError:
                pass
    rows = [
        {
            "threads": "TensorFlow default" if mode == "-1" else "quota-aware",
            "intra_op": threads[mode]["intra_op"] or "default",
            "samples_per_second_per_job": statistics.median(v),
            "ratio_vs_default": statistics.median(v) / statistics.median(samples["-1"]),
        }
        for mode, v in samples.items()
    ]
    return {
        "mode": "quota",
        "jobs": jobs,
        "cpus_per_job": cpus_per_job,
        "repeats": repeats,
        "why": threads["0"]["why"],
        "rows": rows,
    }
