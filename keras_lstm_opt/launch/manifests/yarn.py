"""YARN (Hadoop clusters): a Skein application spec for a multi-worker run.

`yarn_spec` writes a Skein `ApplicationSpec` (YAML; submit it with `skein application
submit spec.yaml`) with one `worker` service of N instances. Each container runs
`python3 -m keras_lstm_opt.launch.manifests.yarn --workers N --port P`, which publishes
its `host:port` in the application's key-value store under `worker/<index>` (the index
from SKEIN_CONTAINER_ID, `worker_<i>`), waits for all N, and prints the TF_CONFIG; the
script exports it and execs the training command. A failed container fails the
application (the workers' collectives cannot continue without it); the application is
retried up to `max_restarts` times and training resumes from the backup.

Example:

    print(yarn_spec(["keras-lstm-opt", "train", "--run-dir", "hdfs:///runs/a"], workers=4))
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket

from keras_lstm_opt.distribute.tf_config import build_tf_config


def yarn_spec(command: list[str], workers: int, name: str = "keras-lstm-opt",
              port: int = 2222, max_restarts: int = 0, vcores: int = 1,
              memory: str = "4 GiB", queue: str = "default") -> str:
    """A Skein ApplicationSpec (YAML) running `command` on `workers` YARN containers."""
    import yaml

    script = "\n".join([
        "set -euo pipefail",
        'export TF_CONFIG="$(python3 -m keras_lstm_opt.launch.manifests.yarn '
        f'--workers {workers} --port {port})"',
        "exec " + " ".join(shlex.quote(c) for c in command),
    ])
    spec = {
        "name": name,
        "queue": queue,
        "max_attempts": 1 + max_restarts,
        "services": {"worker": {
            "instances": workers,
            "max_restarts": 0,
            "resources": {"vcores": vcores, "memory": memory},
            "script": script,
        }},
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
