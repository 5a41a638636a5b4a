"""Print this Slurm task's TF_CONFIG, built by TensorFlow's SlurmClusterResolver.

    export TF_CONFIG="$(python -m keras_lstm_opt.distribute.slurm --port 2222)"

Reads SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_STEP_NODELIST and
SLURM_STEP_TASKS_PER_NODE (set by `srun`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def slurm_tf_config(port: int = 2222, gpus_per_node: int = 0) -> str:
    """TF_CONFIG JSON for the current Slurm task (worker index = its rank)."""
    import tensorflow as tf

    if gpus_per_node:
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=port, gpus_per_node=gpus_per_node)
    else:  # the resolver divides by GPUs per task; with auto_set_gpu off they are unused
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=port, gpus_per_node=64, gpus_per_task=1, auto_set_gpu=False)
    cluster = resolver.cluster_spec().as_dict()
    return json.dumps({"cluster": cluster,
                       "task": {"type": resolver.task_type, "index": resolver.task_id}})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=2222)
    p.add_argument("--gpus-per-node", type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        print(slurm_tf_config(args.port, args.gpus_per_node))
    except (KeyError, RuntimeError) as exc:
        print(f"error: cannot build TF_CONFIG from the Slurm environment: {exc}",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
