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
  workers is unencrypted);
* placement (`pack_by`, `spread_by`: node label keys): a required pod affinity that keeps
  every worker in one topology domain (one zone: fewer hops), and/or a topology spread
  that puts at most one worker more in any domain than in another (one per host: a NIC
  each);
* mutual TLS through a service mesh (`mesh`): TensorFlow's gRPC has no TLS, so the
  pods join Istio or Linkerd and the mesh's own resources make mTLS on the worker port
  mandatory (see `_mesh`);
* restarts (`max_restarts` > 0) on the statuses worth retrying: the TFJob's
  `restartPolicy: ExitCode` restarts a worker that exits 128 or more (138: a peer was
  lost, 137/143: killed or evicted; the training operator's rule, and 138 is the status
  its older releases list as the user-defined retryable one) and fails the job on 1 (a
  bug) or 2 (a mistake in the config or command); the Indexed Job's `podFailurePolicy`
  fails the job on 1 and 2 and counts every other failure against `backoffLimit`.
  Recreated pods under ExitCode do not count against the TFJob's backoffLimit in the
  operator's releases so far (kubeflow/training-operator#2045).

Example:

    docs = k8s_manifests(["keras-lstm-opt", "train", "--run-dir", "/data/run"], 4,
                         "registry/klo:0.1", kind="indexed-job", priority="preemptible")
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from typing import Any

from keras_lstm_opt.distribute.tf_config import build_tf_config
from keras_lstm_opt.errors import UsageError

PRIORITIES = {
    "urgent": {
        "value": 100000,
        "preemptionPolicy": "PreemptLowerPriority",
        "description": "keras-lstm-opt: urgent training, may pre-empt lower work",
    },
    "preemptible": {
        "value": -100,
        "preemptionPolicy": "Never",
        "description": "keras-lstm-opt: pre-emptible training, never pre-empts",
    },
}


# a bug (1) or a mistake in the config or command (2): restarting cannot help
PERMANENT_EXIT = (1, 2)
MESHES = ("istio", "linkerd")
# A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63
# characters (Kubernetes' own rule, apimachinery validation.IsQualifiedName).
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _label_key(flag: str, key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if _LABEL_NAME.fullmatch(name) and (
        not slash or (len(prefix) <= 253 and _DNS_SUBDOMAIN.fullmatch(prefix))
    ):
        return
    raise UsageError(
        f"{flag}: {key!r} is not a Kubernetes label key (a node label such as "
        "topology.kubernetes.io/zone or kubernetes.io/hostname)"
    )


def _placement(
    selector: dict[str, str], pack_by: str | None, spread_by: str | None
) -> dict[str, Any]:
    """Pod-spec fields keeping the job's pods in one `pack_by` domain, spread over
    `spread_by` domains. Pod affinity that selects the pod itself schedules the first
    worker anywhere (the scheduler's rule for a term no running pod satisfies yet); the
    rest follow it. Both together (zone and host): one worker per host of one zone."""
    for flag, key in (("--pack-by", pack_by), ("--spread-by", spread_by)):
        if key is not None:
            _label_key(flag, key)
    if pack_by and spread_by and pack_by == spread_by:
        raise UsageError(
            f"--pack-by and --spread-by: both name {pack_by!r}; packing into "
            "one domain and spreading over its values contradict each other "
            "(pack by a wider label than you spread by, e.g. zone and host)"
        )
    spec: dict[str, Any] = {}
    if pack_by:
        spec["affinity"] = {
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": dict(selector)}, "topologyKey": pack_by}
                ]
            }
        }
    if spread_by:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": spread_by,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": dict(selector)},
            }
        ]
    return spec


def _mesh(
    mesh: str, name: str, selector: dict[str, str], labels: dict[str, str], port: int
) -> tuple[dict[str, str], dict[str, str], dict[str, Any], list[dict[str, Any]]]:
    """(pod labels, pod annotations, pod-spec fields, objects) that put the job's pods in
    `mesh` with mutual TLS required on the worker port.

    Why this carries TensorFlow's traffic: the mesh's init container (or CNI plugin)
    redirects every TCP connection in and out of the pod through its proxy, and the
    workers reach each other by the pods' DNS names in TF_CONFIG (the operator's per-pod
    Services, or the Indexed Job's headless Service): ordinary in-cluster destinations,
    so each worker-to-worker gRPC connection leaves one proxy and enters the other as
    mTLS, with no change to TensorFlow. Not carried: a pod with hostNetwork, and traffic
    to endpoints outside the mesh (s3://: TLS only when the endpoint is https). The proxy
    runs as a native sidecar (an init container that keeps running; Kubernetes 1.29+), or
    it would outlive the worker and the Job would never finish.
    """
    if mesh == "istio":
        # Istio 1.22+ serves security.istio.io/v1. STRICT: the sidecar refuses plain text;
        # the port-level entry names the worker port, so it stays STRICT even if someone
        # relaxes the workload-wide mode (say PERMISSIVE for a metrics scraper).
        peer = {
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": {"name": f"{name}-mtls", "labels": labels},
            "spec": {
                "selector": {"matchLabels": dict(selector)},
                "mtls": {"mode": "STRICT"},
                "portLevelMtls": {str(port): {"mode": "STRICT"}},
            },
        }
        return (
            {"sidecar.istio.io/inject": "true"},
            {"sidecar.istio.io/nativeSidecar": "true"},
            {},
            [peer],
        )
    # Linkerd: meshed pods always talk mTLS to each other; a Server on the worker port
    # denies every connection that no AuthorizationPolicy allows, and the policy allows
    # only clients whose mesh identity is the job's own ServiceAccount (identities in
    # Linkerd are ServiceAccounts), so a plain-text or foreign client is refused.
    account = f"{name}-workers"
    policy = "policy.linkerd.io"
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": account, "labels": labels},
        },
        {
            "apiVersion": f"{policy}/v1beta1",
            "kind": "Server",
            "metadata": {"name": f"{name}-workers", "labels": labels},
            "spec": {
                "podSelector": {"matchLabels": dict(selector)},
                "port": port,
                "proxyProtocol": "gRPC",
            },
        },
        {
            "apiVersion": f"{policy}/v1alpha1",
            "kind": "MeshTLSAuthentication",
            "metadata": {"name": f"{name}-workers", "labels": labels},
            "spec": {"identityRefs": [{"kind": "ServiceAccount", "name": account}]},
        },
        {
            "apiVersion": f"{policy}/v1alpha1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": f"{name}-workers", "labels": labels},
            "spec": {
                "targetRef": {"group": policy, "kind": "Server", "name": f"{name}-workers"},
                "requiredAuthenticationRefs": [
                    {"group": policy, "kind": "MeshTLSAuthentication", "name": f"{name}-workers"}
                ],
            },
        },
    ]
    # The native-sidecar annotation: current Linkerd reads the beta name, older releases
    # (2.15 on) the alpha one.
    native = {
        f"config.{v}.linkerd.io/proxy-enable-native-sidecar": "true" for v in ("beta", "alpha")
    }
    return {}, {"linkerd.io/inject": "enabled", **native}, {"serviceAccountName": account}, docs


def _resources(cpu: str | None, memory: str | None, gpus: int) -> dict[str, Any]:
    req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    if gpus:
        req["nvidia.com/gpu"] = str(gpus)
    return {"requests": dict(req), "limits": dict(req)} if req else {}


def to_yaml(docs: list[dict[str, Any]]) -> str:
    import yaml

    return yaml.safe_dump_all(docs, sort_keys=False)


def k8s_manifests(
    command: list[str],
    workers: int,
    image: str,
    name: str = "keras-lstm-opt",
    port: int = 2222,
    max_restarts: int = 0,
    cpu: str | None = None,
    memory: str | None = None,
    gpus: int = 0,
    priority: str | None = None,
    kind: str = "tfjob",
    pack_by: str | None = None,
    spread_by: str | None = None,
    mesh: str | None = None,
) -> list[dict[str, Any]]:
    """Manifests for `command` on `workers` pods (see the module docstring)."""
    if kind not in ("tfjob", "indexed-job"):
        raise UsageError(f"kind: expected 'tfjob' or 'indexed-job', got {kind!r}")
    if priority is not None and priority not in PRIORITIES:
        raise UsageError(f"priority: expected one of {sorted(PRIORITIES)}, got {priority!r}")
    if mesh not in (None, "none", *MESHES):
        raise UsageError(f"--mesh: expected one of {list(MESHES)} or none, got {mesh!r}")
    labels = {"app.kubernetes.io/name": "keras-lstm-opt", "keras-lstm-opt/job": name}
    selector = {"keras-lstm-opt/job": name}
    docs: list[dict[str, Any]] = []
    pod_spec: dict[str, Any] = _placement(selector, pack_by, spread_by)
    template_meta: dict[str, Any] = {"labels": dict(labels)}
    if mesh in MESHES:
        pod_labels, annotations, mesh_spec, mesh_docs = _mesh(mesh, name, selector, labels, port)
        template_meta["labels"].update(pod_labels)
        template_meta["annotations"] = annotations
        pod_spec.update(mesh_spec)
        docs += mesh_docs
    if priority:
        pclass = f"keras-lstm-opt-{priority}"
        docs.append(
            {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": pclass},
                "globalDefault": False,
                **PRIORITIES[priority],
            }
        )
        pod_spec["priorityClassName"] = pclass
    docs.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"{name}-workers", "labels": labels},
            "spec": {
                "podSelector": {"matchLabels": {"keras-lstm-opt/job": name}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"keras-lstm-opt/job": name}}}],
                        "ports": [{"protocol": "TCP", "port": port}],
                    }
                ],
            },
        }
    )
    container: dict[str, Any] = {
        "name": "tensorflow",
        "image": image,
        "ports": [{"name": "tfjob-port", "containerPort": port}],
    }
    res = _resources(cpu, memory, gpus)
    if res:
        container["resources"] = res
    if kind == "tfjob":
        container["command"] = list(command)
        docs.append(
            {
                "apiVersion": "kubeflow.org/v1",
                "kind": "TFJob",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "runPolicy": {"cleanPodPolicy": "None", "backoffLimit": max_restarts},
                    "tfReplicaSpecs": {
                        "Worker": {
                            "replicas": workers,
                            "restartPolicy": "ExitCode" if max_restarts else "Never",
                            "template": {
                                "metadata": template_meta,
                                "spec": {**pod_spec, "containers": [container]},
                            },
                        }
                    },
                },
            }
        )
        return docs
    service = f"{name}-workers"
    tf_config = (
        f"python3 -m keras_lstm_opt.launch.manifests.k8s --workers {workers} "
        f"--job {name} --service {service} --port {port}"
    )
    container["command"] = [
        "bash",
        "-c",
        f'export TF_CONFIG="$({tf_config})" && exec ' + " ".join(shlex.quote(c) for c in command),
    ]
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service, "labels": labels},
            "spec": {
                "clusterIP": "None",
                "selector": {"keras-lstm-opt/job": name},
                "ports": [{"name": "grpc", "port": port, "targetPort": port}],
            },
        }
    )
    failure_policy = (
        {
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {
                            "containerName": "tensorflow",
                            "operator": "In",
                            "values": list(PERMANENT_EXIT),
                        },
                    }
                ]
            }
        }
        if max_restarts
        else {}
    )
    docs.append(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "completionMode": "Indexed",
                "completions": workers,
                "parallelism": workers,
                "backoffLimit": max_restarts,
                **failure_policy,
                "template": {
                    "metadata": template_meta,
                    "spec": {
                        **pod_spec,
                        "subdomain": service,
                        "restartPolicy": "Never",
                        "containers": [container],
                    },
                },
            },
        }
    )
    return docs


def indexed_job_tf_config(workers: int, job: str, service: str, port: int, index: int) -> str:
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
