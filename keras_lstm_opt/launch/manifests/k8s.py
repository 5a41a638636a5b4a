"""Kubernetes manifests for a multi-worker run: TFJob or Indexed Job, plus policy.

`k8s_manifests` returns a list of objects (write them as one multi-document YAML):

* a Kubeflow TFJob (the operator injects TF_CONFIG), or, for clusters without the
  operator, a plain `batch/v1` Indexed Job with a headless Service: each pod builds its
  TF_CONFIG from its completion index and the pods' stable DNS names
  (`python -m keras_lstm_opt.launch.manifests.k8s --workers N ...`);
* resource requests and limits (CPU, memory, `nvidia.com/gpu`);
* a PriorityClass: `urgent` (may pre-empt lower priorities) or `preemptible` (runs
  below default work and never pre-empts);
* a NetworkPolicy: only the job's own pods may reach the worker port (gRPC between
  workers is unencrypted).

Example:

    docs = k8s_manifests(["keras-lstm-opt", "train", "--run-dir", "/data/run"], 4,
                         "registry/klo:0.1", kind="indexed-job", priority="preemptible")
"""

from __future__ import annotations

import argparse
import os
import shlex
from typing import Any

from keras_lstm_opt.distribute.tf_config import build_tf_config
from keras_lstm_opt.errors import UsageError

PRIORITIES = {
    "urgent": {"value": 100000, "preemptionPolicy": "PreemptLowerPriority",
               "description": "keras-lstm-opt: urgent training, may pre-empt lower work"},
    "preemptible": {"value": -100, "preemptionPolicy": "Never",
                    "description": "keras-lstm-opt: pre-emptible training, never pre-empts"},
}


def _resources(cpu: str | None, memory: str | None, gpus: int) -> dict[str, Any]:
    req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if gpus:
        req["nvidia.com/gpu"] = str(gpus)
    return {"requests": dict(req), "limits": dict(req)} if req else {}


def to_yaml(docs: list[dict[str, Any]]) -> str:
    import yaml

    return yaml.safe_dump_all(docs, sort_keys=False)


def k8s_manifests(command: list[str], workers: int, image: str, name: str = "keras-lstm-opt",
                  port: int = 2222, max_restarts: int = 0, cpu: str | None = None,
                  memory: str | None = None, gpus: int = 0, priority: str | None = None,
                  kind: str = "tfjob") -> list[dict[str, Any]]:
    """Manifests for `command` on `workers` pods (see the module docstring)."""
    if kind not in ("tfjob", "indexed-job"):
        raise UsageError(f"kind: expected 'tfjob' or 'indexed-job', got {kind!r}")
    if priority is not None and priority not in PRIORITIES:
        raise UsageError(f"priority: expected one of {sorted(PRIORITIES)}, got {priority!r}")
    labels = {"app.kubernetes.io/name": "keras-lstm-opt", "keras-lstm-opt/job": name}
    docs: list[dict[str, Any]] = []
    pod_spec: dict[str, Any] = {}
    if priority:
        pclass = f"keras-lstm-opt-{priority}"
        docs.append({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                     "metadata": {"name": pclass}, "globalDefault": False,
                     **PRIORITIES[priority]})
        pod_spec["priorityClassName"] = pclass
    docs.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": f"{name}-workers", "labels": labels},
        "spec": {"podSelector": {"matchLabels": {"keras-lstm-opt/job": name}},
                 "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {
                     "keras-lstm-opt/job": name}}}],
                     "ports": [{"protocol": "TCP", "port": port}]}]}})
    container: dict[str, Any] = {"name": "tensorflow", "image": image,
                                 "ports": [{"name": "tfjob-port", "containerPort": port}]}
    res = _resources(cpu, memory, gpus)
    if res:
        container["resources"] = res
    if kind == "tfjob":
        container["command"] = list(command)
        docs.append({
            "apiVersion": "kubeflow.org/v1", "kind": "TFJob",
            "metadata": {"name": name, "labels": labels},
            "spec": {"runPolicy": {"cleanPodPolicy": "None", "backoffLimit": max_restarts},
                     "tfReplicaSpecs": {"Worker": {
                         "replicas": workers,
                         "restartPolicy": "OnFailure" if max_restarts else "Never",
                         "template": {"metadata": {"labels": labels},
                                      "spec": {**pod_spec, "containers": [container]}}}}}})
        return docs
    service = f"{name}-workers"
    tf_config = (f"python3 -m keras_lstm_opt.launch.manifests.k8s --workers {workers} "
                 f"--job {name} --service {service} --port {port}")
    container["command"] = ["bash", "-c", f'export TF_CONFIG="$({tf_config})" && exec '
                            + " ".join(shlex.quote(c) for c in command)]
    docs.append({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": service, "labels": labels},
                 "spec": {"clusterIP": "None", "selector": {"keras-lstm-opt/job": name},
                          "ports": [{"name": "grpc", "port": port, "targetPort": port}]}})
    docs.append({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": labels},
        "spec": {"completionMode": "Indexed", "completions": workers, "parallelism": workers,
                 "backoffLimit": max_restarts,
                 "template": {"metadata": {"labels": labels},
                              "spec": {**pod_spec, "subdomain": service,
                                       "restartPolicy": "Never",
                                       "containers": [container]}}}})
    return docs


def indexed_job_tf_config(workers: int, job: str, service: str, port: int,
                          index: int) -> str:
    """TF_CONFIG of pod `index` of an Indexed Job: peers by their stable DNS names."""
    addrs = [f"{job}-{i}.{service}:{port}" for i in range(workers)]
    return build_tf_config(addrs, index)


def main(argv: list[str] | None = None) -> int:
    """Print this pod's TF_CONFIG (reads JOB_COMPLETION_INDEX, set by Kubernetes)."""
    p = argparse.ArgumentParser(prog="python -m keras_lstm_opt.launch.manifests.k8s")
    p.add_argument("--workers", type=int, required=True)
    p.add_argument("--job", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--port", type=int, default=2222)
    args = p.parse_args(argv)
    index = int(os.environ["JOB_COMPLETION_INDEX"])
    print(indexed_job_tf_config(args.workers, args.job, args.service, args.port, index))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

