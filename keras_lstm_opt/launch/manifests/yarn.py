"""YARN (Hadoop clusters): a Skein application spec for a multi-worker run.

`yarn_spec` writes a Skein `ApplicationSpec` (YAML; submit it with `skein application
submit spec.yaml`) with one `worker` service of N instances. Each container runs
`python3 -m keras_lstm_opt.launch.manifests.yarn --workers N --port P`, which publishes
its `host:port` in the application's key-value store under `worker/<index>` (the index
from SKEIN_CONTAINER_ID, `worker_<i>`), waits for all N, and prints the TF_CONFIG; the
script exports it and runs the training command.

Restarts: Skein restarts a failed container as a new container with a new id (so a new
index, which the group cannot take in), and `max_attempts` only retries a failed
application master at start-up. So each container runs the command again itself, with
the same TF_CONFIG (fixed ports: the rerun starts at once), up to `max_restarts` times
when it exits with a status worth retrying (`slurm.RETRY_EXIT`: 138, a peer was lost;
130/137/143, stopped or killed by a signal): when one worker's process dies, the others
exit 138 and every container starts its worker again, resuming from the last backup.
A SIGTERM to the container (YARN stopping it) ends the loop. A lost container or node
still fails the application (the service has no restarts).

Example:

    print(yarn_spec(["keras-lstm-opt", "train", "--run-dir", "hdfs:///runs/a"], workers=4))
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket

from keras_lstm_opt.distribute.tf_config import build_tf_config
from keras_lstm_opt.launch.manifests.slurm import RETRY_EXIT


def yarn_spec(
    command: list[str],
    workers: int,
    name: str = "keras-lstm-opt",
    port: int = 2222,
    max_restarts: int = 0,
    vcores: int = 1,
    memory: str = "4 GiB",
    queue: str = "default",
) -> str:
    """A Skein ApplicationSpec (YAML) running `command` on `workers` YARN containers."""
    import yaml

    cmd = " ".join(shlex.quote(c) for c in command)
    head = [
        "set -euo pipefail",
        'export TF_CONFIG="$(python3 -m keras_lstm_opt.launch.manifests.yarn '
        f'--workers {workers} --port {port})"',
    ]
    if not max_restarts:
        script = "\n".join([*head, f"exec {cmd}"])
    else:
        retry = "|".join(str(c) for c in RETRY_EXIT)
        script = "\n".join(
            [
                *head,
                "set +e",
                "stopping=",
                "trap 'stopping=1' TERM INT",
                f"for attempt in $(seq 0 {max_restarts}); do",
                f"  {cmd}",
                "  status=$?",
                f'  if [[ -z "$stopping" && "$status" =~ ^({retry})$ ]] && '
                f"(( attempt < {max_restarts} )); then",
                '    echo "keras-lstm-opt: exit status $status: running the worker again '
                f'(restart $((attempt + 1)) of {max_restarts})" >&2',
                "    continue",
                "  fi",
                '  exit "$status"',
                "done",
            ]
        )
    spec = {
        "name": name,
        "queue": queue,
        "max_attempts": 1 + max_restarts,
        "services": {
            "worker": {
                "instances": workers,
                "max_restarts": 0,
                "resources": {"vcores": vcores, "memory": memory},
                "script": script,
            }
        },
    }
    return yaml.safe_dump(spec, sort_keys=False)


def tf_config_from_addresses(addresses: dict[int, str], index: int) -> str:
    """TF_CONFIG for worker `index` given every worker's published address."""
    ordered = [addresses[i] for i in range(len(addresses))]
    return build_tf_config(ordered, index)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - needs a YARN cluster
    """Inside a Skein container: publish this worker's address, print TF_CONFIG."""
    import skein

    p = argparse.ArgumentParser(prog="python -m keras_lstm_opt.launch.manifests.yarn")
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--port", type=int, default=2222)
    args = p.parse_args(argv)
    index = int(os.environ["SKEIN_CONTAINER_ID"].rsplit("_", 1)[1])
    app = skein.ApplicationClient.from_current()
    app.kv[f"worker/{index}"] = f"{socket.getfqdn()}:{args.port}"
    addresses = {i: app.kv.wait(f"worker/{i}") for i in range(args.workers)}
    print(tf_config_from_addresses(addresses, index))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
