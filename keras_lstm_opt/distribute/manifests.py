"""Cluster manifests from a launcher command line: Slurm sbatch (Kubernetes: k8s.py).

* `sbatch`: a Slurm batch script; each task builds its TF_CONFIG from Slurm's variables
  with TensorFlow's SlurmClusterResolver (`python -m keras_lstm_opt.distribute.slurm`).

Example:

    print(sbatch(["keras-lstm-opt", "train", "--run-dir", "/shared/run"], workers=4))
"""

from __future__ import annotations

import shlex


def sbatch(command: list[str], workers: int, name: str = "keras-lstm-opt", port: int = 2222,
           max_restarts: int = 0, time_limit: str | None = None,
           python: str = "python3") -> str:
    """A Slurm sbatch script: one task per node, TF_CONFIG from Slurm's variables."""
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --nodes={workers}",
        "#SBATCH --ntasks-per-node=1",
    ]
    if time_limit:
        lines.append(f"#SBATCH --time={time_limit}")
    if max_restarts:
        lines.append("#SBATCH --requeue")
    cmd = " ".join(shlex.quote(c) for c in command)
    inner = (f'export TF_CONFIG="$({python} -m keras_lstm_opt.distribute.slurm --port {port})"'
             f" && exec {cmd}")
    lines += [
        "set -euo pipefail",
        "# Each task builds its own TF_CONFIG (worker index = SLURM_PROCID).",
        f"srun --kill-on-bad-exit=1 bash -c {shlex.quote(inner)}",
        "",
    ]
    return "\n".join(lines)
