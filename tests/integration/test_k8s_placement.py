"""`launch --emit k8s` placement (--pack-by, --spread-by) and service-mesh mTLS (--mesh).

Every emitted object is loaded: built-in kinds into the `kubernetes` client's models and the
TFJob into the `kubeflow-training` client's, each serialized back and compared with what was
emitted (a misspelt or misplaced field would be dropped, and the comparison fails); the mesh's
custom resources, which no Python client models, are checked by structure, with their
metadata and label selectors loaded into the client's ObjectMeta and LabelSelector.
"""

import os
import re
import subprocess
import sys

import pytest
import yaml

from ..conftest import REPO, time_limit

LAUNCH = [sys.executable, os.path.join(REPO, "tools", "launch.py")]
KINDS = ["tfjob", "indexed-job"]
ZONE, HOST = "topology.kubernetes.io/zone", "kubernetes.io/hostname"
DNS_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
CUSTOM = {
    ("security.istio.io/v1", "PeerAuthentication"),
    ("policy.linkerd.io/v1beta1", "Server"),
    ("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication"),
    ("policy.linkerd.io/v1alpha1", "AuthorizationPolicy"),
}


def _emit(kind, *flags):
    return subprocess.run(
        [
            *LAUNCH,
            "--emit",
            "k8s",
            "--k8s-kind",
            kind,
            "--workers",
            "3",
            "--image",
            "reg/klo:1",
            "--name",
            "lstm",
            *flags,
            "--",
            "keras-lstm-opt",
            "train",
            "--run-dir",
            "/data/run",
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )


def _load(out):
    """{kind: object}: models for built-in kinds and the TFJob, dicts for custom resources."""
    kubernetes = pytest.importorskip("kubernetes")
    kf = pytest.importorskip("kubeflow.training.api_client")
    assert out.returncode == 0, out.stderr
    k8s = kubernetes.client.ApiClient()
    loaded = {}
    for doc in yaml.safe_load_all(out.stdout):
        kind = doc["kind"]
        assert kind not in loaded, f"two {kind} objects"
        if (doc["apiVersion"], kind) in CUSTOM:
            assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}, doc
            meta = k8s._ApiClient__deserialize(doc["metadata"], "V1ObjectMeta")
            assert DNS_NAME.fullmatch(meta.name) and len(meta.name) <= 253
            assert k8s.sanitize_for_serialization(meta) == doc["metadata"]
            loaded[kind] = doc
            continue
        client, model = (
            (kf.ApiClient(), "KubeflowOrgV1TFJob") if kind == "TFJob" else (k8s, f"V1{kind}")
        )
        assert doc["apiVersion"].endswith("v1"), doc["apiVersion"]
        obj = client._ApiClient__deserialize(doc, model)
        assert client.sanitize_for_serialization(obj) == doc, f"{kind} lost fields"
        loaded[kind] = obj
    return loaded


def _template(m):
    """The pod template (a V1PodTemplateSpec) of the TFJob's workers or the Indexed Job."""
    if "TFJob" in m:
        return m["TFJob"].spec.tf_replica_specs["Worker"].template
    return m["Job"].spec.template


def _selects(selector, template):
    """A matchLabels selector picks the job's pods (and has something to match on)."""
    labels = template.metadata.labels
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _selector(doc_selector):
    kubernetes = pytest.importorskip("kubernetes")
    client = kubernetes.client.ApiClient()
    model = client._ApiClient__deserialize(doc_selector, "V1LabelSelector")
    assert client.sanitize_for_serialization(model) == doc_selector
    return model.match_labels


@pytest.mark.parametrize("kind", KINDS)
def test_pack_by_keeps_every_worker_in_one_domain(kind):
    m = _load(_emit(kind, "--pack-by", ZONE))
    pod = _template(m)
    (term,) = pod.spec.affinity.pod_affinity.required_during_scheduling_ignored_during_execution
    assert term.topology_key == ZONE and _selects(term.label_selector.match_labels, pod)
    assert (
        pod.spec.affinity.pod_anti_affinity is None and pod.spec.topology_spread_constraints is None
    )
    assert "NetworkPolicy" in m and "PeerAuthentication" not in m and "Server" not in m


@pytest.mark.parametrize("kind", KINDS)
def test_spread_by_puts_at_most_one_worker_more_in_any_domain(kind):
    m = _load(_emit(kind, "--spread-by", HOST))
    pod = _template(m)
    (spread,) = pod.spec.topology_spread_constraints
    assert spread.topology_key == HOST and spread.max_skew == 1
    assert spread.when_unsatisfiable == "DoNotSchedule"
    assert _selects(spread.label_selector.match_labels, pod) and pod.spec.affinity is None


@pytest.mark.parametrize("kind", KINDS)
def test_pack_by_zone_and_spread_by_host_together(kind):
    pod = _template(_load(_emit(kind, "--pack-by", ZONE, "--spread-by", HOST)))
    (term,) = pod.spec.affinity.pod_affinity.required_during_scheduling_ignored_during_execution
    (spread,) = pod.spec.topology_spread_constraints
    assert (term.topology_key, spread.topology_key) == (ZONE, HOST)


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_label_to_pack_and_spread_by_is_refused(kind):
    out = _emit(kind, "--pack-by", ZONE, "--spread-by", ZONE)
    assert out.returncode == 2 and out.stdout == ""
    assert "--pack-by and --spread-by: both name 'topology.kubernetes.io/zone'" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "kind,flag,label",
    [("tfjob", "--pack-by", "Zone.Example/rack"), ("indexed-job", "--spread-by", "zone/")],
)
def test_a_bad_label_key_is_refused_naming_the_flag(kind, flag, label):
    out = _emit(kind, flag, label)
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    assert f"error: {flag}: {label!r} is not a Kubernetes label key" in out.stderr


def test_label_keys_follow_kubernetes_rules():
    from keras_lstm_opt.errors import UsageError
    from keras_lstm_opt.launch.manifests.k8s import k8s_manifests

    def emit(label):
        return k8s_manifests(["x"], 2, "img", pack_by=label)

    for good in (
        ZONE,
        HOST,
        "node.kubernetes.io/instance-type",
        "rack",
        "example.com/rack_1",
        "a" * 63,
        f"{'b' * 253}/zone",
    ):
        emit(good)
    for bad in (
        "",
        "/zone",
        "zone/",
        "-zone",
        "zone_",
        "a" * 64,
        "a/b/c",
        "Example.com/zone",
        "example..com/zone",
        f"{'b' * 254}/zone",
        "zone name",
        "zone=a",
    ):
        with pytest.raises(UsageError, match="--pack-by: .* is not a Kubernetes label key"):
            emit(bad)


@pytest.mark.parametrize("kind", KINDS)
def test_mesh_istio_requires_mutual_tls_on_the_worker_port(kind):
    m = _load(_emit(kind, "--mesh", "istio", "--port", "2300", "--pack-by", ZONE))
    pod = _template(m)
    assert pod.metadata.labels["sidecar.istio.io/inject"] == "true"
    assert pod.metadata.annotations == {"sidecar.istio.io/nativeSidecar": "true"}
    assert pod.spec.containers[0].ports[0].container_port == 2300
    peer = m["PeerAuthentication"]
    assert peer["metadata"]["name"] == "lstm-mtls"
    spec = peer["spec"]
    assert set(spec) == {"selector", "mtls", "portLevelMtls"}
    assert _selects(_selector(spec["selector"]), pod)
    assert spec["mtls"] == {"mode": "STRICT"}
    assert spec["portLevelMtls"] == {"2300": {"mode": "STRICT"}}
    # the NetworkPolicy stays: who may connect, where the mesh says how
    assert m["NetworkPolicy"].spec.ingress[0].ports[0].port == 2300
    assert "ServiceAccount" not in m and pod.spec.service_account_name is None
    assert pod.spec.affinity.pod_affinity is not None


@pytest.mark.parametrize("kind", KINDS)
def test_mesh_linkerd_admits_only_the_jobs_own_identity(kind):
    m = _load(_emit(kind, "--mesh", "linkerd", "--spread-by", HOST))
    pod = _template(m)
    annotations = pod.metadata.annotations
    assert annotations["linkerd.io/inject"] == "enabled"
    assert annotations["config.beta.linkerd.io/proxy-enable-native-sidecar"] == "true"
    assert "sidecar.istio.io/inject" not in pod.metadata.labels
    account = m["ServiceAccount"].metadata.name
    assert pod.spec.service_account_name == account
    server, authn, policy = m["Server"], m["MeshTLSAuthentication"], m["AuthorizationPolicy"]
    assert _selects(_selector(server["spec"]["podSelector"]), pod)
    assert server["spec"]["port"] in [p.container_port for p in pod.spec.containers[0].ports]
    assert server["spec"]["proxyProtocol"] == "gRPC"
    assert authn["spec"] == {"identityRefs": [{"kind": "ServiceAccount", "name": account}]}
    ref = {"group": "policy.linkerd.io"}
    assert policy["spec"] == {
        "targetRef": {**ref, "kind": "Server", "name": server["metadata"]["name"]},
        "requiredAuthenticationRefs": [
            {**ref, "kind": "MeshTLSAuthentication", "name": authn["metadata"]["name"]}
        ],
    }
    assert m["NetworkPolicy"].spec.ingress[0].ports[0].port == 2222
    assert pod.spec.topology_spread_constraints[0].topology_key == HOST


def test_without_the_new_flags_the_manifests_are_as_before():
    m = _load(_emit("indexed-job"))
    pod = _template(m)
    assert set(m) == {"NetworkPolicy", "Service", "Job"}
    assert pod.metadata.annotations is None and pod.spec.affinity is None
    assert pod.spec.topology_spread_constraints is None
    assert pod.spec.service_account_name is None
    assert _emit("tfjob", "--mesh", "consul").returncode == 2
