"""TF_CONFIG: build it, parse it, and validate it before any collective starts.

MultiWorkerMirroredStrategy reads the cluster from the TF_CONFIG environment
variable. A mistake there usually shows up as a hang or an opaque gRPC error minutes
later; `validate_tf_config` turns each one into a clear error naming the field.

Example:

    env = build_tf_config(["127.0.0.1:20001", "127.0.0.1:20002"], index=1)
    info = parse_tf_config(env)      # ClusterInfo(num_workers=2, task_index=1, ...)
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from typing import Any

from keras_lstm_opt.distribute.ports import listener_of, port_in_use  # noqa: F401 (API)
from keras_lstm_opt.errors import TFConfigError

SUPPORTED_JOBS = ("chief", "worker")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}


@dataclass(frozen=True)
class ClusterInfo:
    cluster: dict[str, list[str]]
    task_type: str
    task_index: int

    @property
    def num_workers(self) -> int:
        return sum(len(self.cluster.get(j, [])) for j in SUPPORTED_JOBS)

    @property
    def is_chief(self) -> bool:
        """The chief job's task, or worker 0 when there is no chief job."""
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0

    @property
    def address(self) -> str:
        return self.cluster[self.task_type][self.task_index]


def build_tf_config(
    workers: list[str], index: int, chief: str | None = None, task_type: str = "worker"
) -> str:
    """TF_CONFIG JSON for one task of a cluster of `workers` (and an optional chief)."""
    cluster: dict[str, list[str]] = {"worker": list(workers)}
    if chief:
        cluster["chief"] = [chief]
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


def _split(addr: Any, where: str) -> tuple[str, int]:
    if not isinstance(addr, str) or ":" not in addr:
        raise TFConfigError(f"TF_CONFIG {where}: expected 'host:port', got {addr!r}")
    host, _, port = addr.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise TFConfigError(f"TF_CONFIG {where}: port must be 1..65535, got {port!r}")
    return host.strip("[]"), int(port)


def _is_local(host: str) -> bool:
    if host in LOCAL_HOSTS or host.startswith("127."):
        return True
    return host in {socket.gethostname(), socket.getfqdn()}


def parse_tf_config(text: str | None, check_port: bool = True) -> ClusterInfo:
    """Parse and validate TF_CONFIG text; raise TFConfigError naming the bad field."""
    if text is None or not text.strip():
        raise TFConfigError(
            "TF_CONFIG is not set; multi-worker training needs it (start the "
            "workers with tools/launch.py, or set it as in docs/reference.md)"
        )
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TFConfigError(f"TF_CONFIG is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise TFConfigError("TF_CONFIG: expected a JSON object with 'cluster' and 'task'")
    cluster, task = raw.get("cluster"), raw.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise TFConfigError(
            'TF_CONFIG cluster: missing or empty; expected {"worker": ["host:port", ...]}'
        )
    for job in cluster:
        if job not in SUPPORTED_JOBS:
            raise TFConfigError(
                f"TF_CONFIG cluster.{job}: MultiWorkerMirroredStrategy uses "
                f"only {' and '.join(SUPPORTED_JOBS)} jobs; remove '{job}'"
            )
        if not isinstance(cluster[job], list) or not cluster[job]:
            raise TFConfigError(
                f"TF_CONFIG cluster.{job}: expected a non-empty list of 'host:port'"
            )
    if len(cluster.get("chief", [])) > 1:
        raise TFConfigError(
            f"TF_CONFIG cluster.chief: at most one chief, got {len(cluster['chief'])}"
        )
    seen: dict[tuple[str, int], str] = {}
    for job, addrs in cluster.items():
        for i, addr in enumerate(addrs):
            key = _split(addr, f"cluster.{job}[{i}]")
            if key in seen:
                raise TFConfigError(
                    f"TF_CONFIG cluster.{job}[{i}]: address {addr} is already used by {seen[key]}"
                )
            seen[key] = f"cluster.{job}[{i}]"
    if not isinstance(task, dict):
        raise TFConfigError('TF_CONFIG task: missing; expected {"type": "worker", "index": 0}')
    ttype, index = task.get("type"), task.get("index")
    if not isinstance(ttype, str) or ttype not in cluster:
        raise TFConfigError(
            f"TF_CONFIG task.type: {ttype!r} is not a job of the cluster ({', '.join(cluster)})"
        )
    if (
        not isinstance(index, int)
        or isinstance(index, bool)
        or not 0 <= index < len(cluster[ttype])
    ):
        raise TFConfigError(
            f"TF_CONFIG task.index: {index!r} is out of range for job "
            f"'{ttype}' with {len(cluster[ttype])} task(s)"
        )
    info = ClusterInfo({k: list(v) for k, v in cluster.items()}, ttype, index)
    host, port = _split(info.address, f"cluster.{ttype}[{index}]")
    if check_port and _is_local(host) and port_in_use(host, port):
        raise TFConfigError(
            f"TF_CONFIG cluster.{ttype}[{index}]: port {port} on {host} is "
            f"already in use: {listener_of(port)}; stop it or pick a free "
            "port (connections of an earlier run that linger in TIME_WAIT "
            "do not count)"
        )
    return info


def cluster_from_env(check_port: bool = True) -> ClusterInfo | None:
    """The validated cluster of this process, or None when TF_CONFIG names one task only."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    info = parse_tf_config(text, check_port)
    return info if info.num_workers > 1 else None
