"""Slurm: an sbatch script for a multi-worker run, and each task's TF_CONFIG.

* `sbatch`: a Slurm batch script, `tasks_per_node` tasks per node (one by default; several
  on multi-socket or multi-GPU nodes); each task builds its TF_CONFIG from Slurm's
  variables with TensorFlow's SlurmClusterResolver (task index = SLURM_PROCID, port = the
  base port + the task's rank on its node), by running this module:

    export TF_CONFIG="$(python -m keras_lstm_opt.launch.manifests.slurm --port 2222)"

  which reads SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_STEP_NODELIST and
  SLURM_STEP_TASKS_PER_NODE (set by `srun`).
* priorities: `partition` and `qos` are Slurm's own; a cluster that pre-empts by partition
  priority (PreemptType=preempt/partition_prio, PreemptMode=REQUEUE) sends a job SIGTERM
  when a higher-priority one needs its nodes and puts it back in the queue; the tasks save
  a backup on SIGTERM and the requeued job resumes from it.
* time limits: with `signal_seconds`, `#SBATCH --signal=TERM@S` has Slurm send the tasks
  SIGTERM about S seconds before the limit (slurmctld checks every 30 s or so and sends it
  at the first check within S + 30 s of the end: up to 60 s early); they save a backup and
  stop with 143, and the script requeues the job when restarts are left. The tasks are
  signalled directly, not through the batch shell, which would only pass it on.
* restarts (`max_restarts` > 0): `--requeue`, and when `srun` ends with a status worth
  retrying (`RETRY_EXIT`: 138, a peer was lost; 130/137/142/143, a task stopped or killed
  by a signal) the script requeues its own job (`scontrol requeue`) while
  SLURM_RESTART_COUNT is below `max_restarts`; the requeued job resumes from the last
  backup once Slurm lets it start again (it holds a requeued job for the cluster's
  `cred_expire`, 120 s by default). 1 (a bug) and 2 (a mistake) end the job. Logs are
  appended, not truncated, across requeues (`--open-mode=append`).
* elastic restart (`workers_on_restart`): a requeued run starts that many workers in its
  allocation, as the local launcher's `--workers-on-restart` does, and training resumes
  from the backup on them. The allocation itself keeps its size: Slurm (22.05 here)
  requeues a job with its original request, even after `scontrol update` shrank it
  while it ran, and given a node range (`--nodes=1-2`) starts it on the fewest nodes
  that fit, not on as many as are free.

Example:

    print(sbatch(["keras-lstm-opt", "train", "--run-dir", "/shared/run"], workers=4))
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

from keras_lstm_opt.errors import UsageError

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
    tasks_per_node: int = 1,
    partition: str | None = None,
    qos: str | None = None,
    signal_seconds: int | None = None,
    workers_on_restart: int | None = None,
) -> str:
    """A Slurm sbatch script: `workers` tasks, `tasks_per_node` on each node, TF_CONFIG
    from Slurm's variables; SIGTERM passed to the tasks; requeued up to `max_restarts`;
    a requeued run starts `workers_on_restart` workers if given (training resumes from the
    backup on any number of workers)."""
    if tasks_per_node < 1 or workers < 1:
        raise UsageError("--workers and --tasks-per-node must be >= 1")
    if workers_on_restart is not None and not 1 <= workers_on_restart <= workers:
        raise UsageError(
            f"--workers-on-restart {workers_on_restart}: give 1 to --workers ({workers})"
        )
    if signal_seconds is not None and not 0 <= signal_seconds <= 65535:
        raise UsageError(f"--signal {signal_seconds}: give 0 to 65535 seconds")
    limit = slurm_seconds(time_limit) if time_limit else None
    if limit is not None and signal_seconds is not None and signal_seconds + 30 >= limit:
        raise UsageError(  # slurmctld sends it at its first check within S + 30 s of the end
            f"--signal {signal_seconds} with --time {time_limit}: Slurm would send the signal "
            "at the job's start, before training has saved anything; give a longer --time "
            "or a smaller --signal"
        )
    nodes = -(-workers // tasks_per_node)
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --nodes={nodes}",
        f"#SBATCH --ntasks={workers}",
        f"#SBATCH --ntasks-per-node={tasks_per_node}",
    ]
    lines += [f"#SBATCH --partition={partition}"] if partition else []
    lines += [f"#SBATCH --qos={qos}"] if qos else []
    lines += [f"#SBATCH --time={time_limit}"] if time_limit else []
    # the tasks themselves (not the batch shell) get SIGTERM before the limit
    lines += [f"#SBATCH --signal=TERM@{signal_seconds}"] if signal_seconds is not None else []
    if max_restarts:
        lines += ["#SBATCH --requeue", "#SBATCH --open-mode=append"]
    cmd = " ".join(shlex.quote(c) for c in command)
    inner = (  # an assignment alone keeps the helper's exit status (`export` would not)
        f'TF_CONFIG="$({python} -m keras_lstm_opt.launch.manifests.slurm '
        f'--port {port})" && export TF_CONFIG && exec {cmd}'
    )
    lines += [
        "set -uo pipefail",
        'echo "keras-lstm-opt: job ${SLURM_JOB_ID:-?} run ${SLURM_RESTART_COUNT:-0} started at '
        '$(date -u +%FT%TZ) on ${SLURM_JOB_NODELIST:-?}" >&2',
        '(( ${SLURM_RESTART_COUNT:-0} > 0 )) && echo "keras-lstm-opt: a requeued run (after a '
        "pre-emption, a time limit or a failure); Slurm holds a requeued job for its "
        'cred_expire, 120 s by default, before it may start again" >&2',
        "# Each task builds its own TF_CONFIG (worker index = SLURM_PROCID, port = "
        f"{port} + its rank on the node).",
    ]
    srun = "srun"
    if workers_on_restart is not None:
        few = -(-workers_on_restart // tasks_per_node)
        lines += [
            f"# A requeued run starts {workers_on_restart} worker(s) in its allocation; training",
            "# resumes from the backup on any number of workers.",
            f"tasks={workers}; nodes={nodes}",
            f"(( ${{SLURM_RESTART_COUNT:-0}} > 0 )) && tasks={workers_on_restart} && nodes={few}",
            'echo "keras-lstm-opt: $tasks worker(s) on $nodes node(s)" >&2',
        ]
        srun = 'srun --ntasks="$tasks" --nodes="$nodes"'
    lines += [
        f"{srun} --kill-on-bad-exit=1 bash -c {shlex.quote(inner)}",
        "status=$?",
    ]
    if not max_restarts:
        return "\n".join([*lines, 'exit "$status"', ""])
    retry = "|".join(str(c) for c in RETRY_EXIT)
    lines += [
        "# 138: a peer was lost; 130/137/142/143: stopped or killed by a signal. Requeue (the",
        "# rerun resumes from the last backup); 1 (a bug) and 2 (a mistake) end the job.",
        "restarts=${SLURM_RESTART_COUNT:-0}",
        f'if [[ "$status" =~ ^({retry})$ ]] && (( restarts < {max_restarts} )); then',
        f'  echo "keras-lstm-opt: exit status $status: requeueing the job (restart '
        f"$((restarts + 1)) of {max_restarts}; Slurm holds a requeued job for its cred_expire, "
        f'120 s by default, before it starts again)" >&2',
        '  scontrol requeue "$SLURM_JOB_ID" && exit 0',
        "fi",
        'exit "$status"',
        "",
    ]
    return "\n".join(lines)


def slurm_seconds(value: str) -> int:
    """Seconds in a Slurm time limit: minutes, minutes:seconds, hours:minutes:seconds,
    days-hours, days-hours:minutes or days-hours:minutes:seconds (sbatch --time)."""
    days, _, rest = value.partition("-") if "-" in value else ("0", "", value)
    try:
        parts = [int(p) for p in rest.split(":")]
        d = int(days)
    except ValueError:
        raise UsageError(f"--time {value!r}: give minutes, MM:SS, HH:MM:SS or D-HH:MM:SS") from None
    if "-" in value:  # days-hours[:minutes[:seconds]]
        h, m, sec = (parts + [0, 0])[:3]
    else:
        h, m, sec = {1: (0, parts[0], 0), 2: (0, *parts), 3: tuple(parts)}.get(
            len(parts), (0, 0, -1)
        )
    if min(d, h, m, sec) < 0 or len(parts) > 3:
        raise UsageError(f"--time {value!r}: give minutes, MM:SS, HH:MM:SS or D-HH:MM:SS")
    return ((d * 24 + h) * 60 + m) * 60 + sec


def default_signal(time_limit: str | None) -> int | None:
    """The early SIGTERM for a time limit: 120 s before it, for limits of 5 minutes or
    more (a shorter job gets none unless asked)."""
    return 120 if time_limit and slurm_seconds(time_limit) >= 300 else None


def slurm_partition(
    partition: str | None, priority: str | None, mapping: str, flag: str = "partition"
) -> str | None:
    """The partition (or, with flag="qos", the QOS) to ask for: `partition`, or the one
    `mapping` (e.g. "urgent=high,preemptible=low") gives `priority`. An empty mapping
    leaves `partition` as it is."""
    if priority is None or (flag == "qos" and not mapping):
        return partition
    if partition:
        raise UsageError(f"give --priority or --{flag}, not both")
    names = dict(item.split("=", 1) for item in mapping.split(",") if "=" in item)
    option = "--priority-partitions" if flag == "partition" else "--priority-qos"
    if priority not in names:
        raise UsageError(
            f"{option} {mapping!r} names no {flag} for {priority!r}: "
            "give e.g. urgent=high,preemptible=low"
        )
    return names[priority]


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
    from keras_lstm_opt.cli.lazy import defer_keras_extras

    defer_keras_extras()  # as the command line does: TensorFlow starts without them
    try:
        print(slurm_tf_config(args.port, args.gpus_per_node))
    except (KeyError, RuntimeError) as exc:
        print(f"error: cannot build TF_CONFIG from the Slurm environment: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
