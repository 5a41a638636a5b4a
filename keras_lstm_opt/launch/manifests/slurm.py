"""Slurm: an sbatch script for a multi-worker run, and each task's TF_CONFIG.

* `sbatch`: a Slurm batch script, one task per node; each task builds its TF_CONFIG
  from Slurm's variables with TensorFlow's SlurmClusterResolver, by running this module:

    export TF_CONFIG="$(python -m keras_lstm_opt.launch.manifests.slurm --port 2222)"

  which reads SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_STEP_NODELIST and
  SLURM_STEP_TASKS_PER_NODE (set by `srun`).
* restarts (`max_restarts` > 0): `--requeue`, and when `srun` ends with a status worth
  retrying (`RETRY_EXIT`: 138, a peer was lost; 130/137/142/143, a task stopped or killed
  by a signal) the script requeues its own job (`scontrol requeue`) while
  SLURM_RESTART_COUNT is below `max_restarts`; the requeued job resumes from the last
  backup. 1 (a bug) and 2 (a mistake) end the job. Logs are appended, not truncated,
  across requeues (`--open-mode=append`).

Example:

    print(sbatch(["keras-lstm-opt", "train", "--run-dir", "/shared/run"], workers=4))
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

# 138: a peer was lost (keras_lstm_opt.errors.PEER_LOST_EXIT); 128 + SIGINT, SIGKILL,
# SIGTERM: a task stopped or killed from outside (pre-emption, the OOM killer).
RETRY_EXIT = (130, 137, 138, 142, 143)


def sbatch(
    command: list[str],
    workers: int,
    name: str = "keras-lstm-opt",
    port: int = 2222,
    max_restarts: int = 0,
    time_limit: str | None = None,
    python: str = "python3",
) -> str:
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
        lines += ["#SBATCH --requeue", "#SBATCH --open-mode=append"]
    cmd = " ".join(shlex.quote(c) for c in command)
    inner = (
        f'export TF_CONFIG="$({python} -m keras_lstm_opt.launch.manifests.slurm '
        f'--port {port})" && exec {cmd}'
    )
    srun = f"srun --kill-on-bad-exit=1 bash -c {shlex.quote(inner)}"
    comment = "# Each task builds its own TF_CONFIG (worker index = SLURM_PROCID)."
    if not max_restarts:
        return "\n".join([*lines, "set -euo pipefail", comment, srun, ""])
    retry = "|".join(str(c) for c in RETRY_EXIT)
    lines += [
        "set -uo pipefail",
        comment,
        srun,
        "status=$?",
        "# 138: a peer was lost; 130/137/142/143: stopped or killed by a signal. Requeue (the",
        "# rerun resumes from the last backup); 1 (a bug) and 2 (a mistake) end the job.",
        "restarts=${SLURM_RESTART_COUNT:-0}",
        f'if [[ "$status" =~ ^({retry})$ ]] && (( restarts < {max_restarts} )); then',
        f'  echo "keras-lstm-opt: exit status $status: requeueing the job (restart '
        f'$((restarts + 1)) of {max_restarts})" >&2',
        '  scontrol requeue "$SLURM_JOB_ID" && exit 0',
        "fi",
        'exit "$status"',
        "",
    ]
    return "\n".join(lines)


def slurm_tf_config(port: int = 2222, gpus_per_node: int = 0) -> str:
    """TF_CONFIG JSON for the current Slurm task (worker index = its rank)."""
    import tensorflow as tf

    if gpus_per_node:
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=port, gpus_per_node=gpus_per_node
        )
    else:  # the resolver divides by GPUs per task; with auto_set_gpu off they are unused
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=port, gpus_per_node=64, gpus_per_task=1, auto_set_gpu=False
        )
    cluster = resolver.cluster_spec().as_dict()
    return json.dumps(
        {"cluster": cluster, "task": {"type": resolver.task_type, "index": resolver.task_id}}
    )


def main(argv: list[str] | None = None) -> int:
    """Print this Slurm task's TF_CONFIG (run by every task of the sbatch script)."""
    p = argparse.ArgumentParser(
        prog="python -m keras_lstm_opt.launch.manifests.slurm",
        description="Print this Slurm task's TF_CONFIG, built by "
        "TensorFlow's SlurmClusterResolver.",
    )
    p.add_argument("--port", type=int, default=2222)
    p.add_argument("--gpus-per-node", type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        print(slurm_tf_config(args.port, args.gpus_per_node))
    except (KeyError, RuntimeError) as exc:
        print(f"error: cannot build TF_CONFIG from the Slurm environment: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
