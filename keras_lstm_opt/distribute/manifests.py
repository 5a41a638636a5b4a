"""Cluster manifests from a launcher command line: Kubeflow TFJob and Slurm sbatch.

* `tfjob`: a Kubeflow Training Operator TFJob; the operator injects TF_CONFIG into each
  worker pod.
* `sbatch`: a Slurm batch script; each task builds its TF_CONFIG from Slurm's variables
  with TensorFlow's SlurmClusterResolver (`python -m keras_lstm_opt.distribute.slurm`).

Example:

    print(tfjob(["keras-lstm-opt", "train", "--run-dir", "/data/run"], workers=4,
                image="registry/klo:0.1"))
"""

from __future__ import annotations

import shlex

import yaml


def tfjob(command: list[str], workers: int, image: str, name: str = "keras-lstm-opt",
          port: int = 2222, max_restarts: int = 0, cpu: str | None = None,
          memory: str | None = None) -> str:
    """A Kubeflow TFJob manifest (YAML) running `command` on `workers` worker pods."""
    container: dict = {"name": "tensorflow", "image": image, "command": list(command),
                       "ports": [{"name": "tfjob-port", "containerPort": port}]}
    if cpu or memory:
        req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
        container["resources"] = {"requests": req, "limits": dict(req)}
    manifest = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": name},
        "spec": {
            "runPolicy": {"cleanPodPolicy": "None", "backoffLimit": max_restarts},
            "tfReplicaSpecs": {
                "Worker": {
                    "replicas": workers,
                    "restartPolicy": "OnFailure" if max_restarts else "Never",
                    "template": {"spec": {"containers": [container]}},
                },
            },
        },
    }
    return yaml.safe_dump(manifest, sort_keys=False)


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
