"""The launcher with real processes (plain Python workers: fast), and the manifests."""

import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from ..conftest import REPO, time_limit

LAUNCH = [sys.executable, os.path.join(REPO, "tools", "launch.py")]


def _launch(*args, timeout=120):
    return subprocess.run(
        [*LAUNCH, *args], capture_output=True, text=True, timeout=time_limit(timeout)
    )


def test_workers_get_distinct_loopback_tf_configs_and_prefixed_output():
    code = (
        "import json, os; c = json.loads(os.environ['TF_CONFIG']); w = c['cluster']['worker']; "
        "print('ADDR', w[c['task']['index']], len(w))"
    )
    out = _launch("--workers", "3", "--", sys.executable, "-c", code)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if "ADDR" in ln]
    assert len(lines) == 3
    addrs = {ln.split()[3] for ln in lines}
    assert len(addrs) == 3 and all(a.startswith("127.0.0.1:") for a in addrs)
    assert {ln.split()[1].rstrip("]") for ln in lines} == {"0", "1", "2"}
    assert "all 3 worker(s) finished" in out.stderr


def test_one_failing_worker_stops_the_others_and_is_named():
    code = (
        "import json, os, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
        "print('hello from', i, flush=True)\n"
        "if i == 1:\n    print('about to fail', flush=True); sys.exit(7)\n"
        "time.sleep(300)"
    )
    start = time.monotonic()
    out = _launch("--workers", "3", "--grace-seconds", "2", "--", sys.executable, "-c", code)
    elapsed = time.monotonic() - start
    assert out.returncode == 7
    assert "worker 1 failed (exit status 7)" in out.stderr
    assert "about to fail" in out.stderr  # its last lines are shown
    assert elapsed < time_limit(30)


def test_restarts_relaunch_the_whole_group(tmp_path):
    marker = tmp_path / "attempts"
    code = (
        f"import json, os, sys; p = {str(marker)!r}\n"
        "i = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
        "if i == 0:\n    open(p, 'a').write('x')\n"
        "n = len(open(p).read()) if os.path.exists(p) else 0\n"
        "sys.exit(3 if n < 2 and i == 0 else 0)"
    )
    out = _launch("--workers", "2", "--max-restarts", "2", "--", sys.executable, "-c", code)
    assert out.returncode == 0, out.stderr
    assert marker.read_text() == "xx"
    assert "restarting the group (1 of 2 restarts)" in out.stderr
    failed = _launch(
        "--workers",
        "1",
        "--max-restarts",
        "1",
        "--",
        sys.executable,
        "-c",
        "import sys; sys.exit(4)",
    )
    assert failed.returncode == 4 and failed.stderr.count("failed (exit status 4)") == 2


def test_usage_errors():
    assert _launch("--workers", "2").returncode == 2
    assert "needs --image" in _launch("--emit", "k8s", "--workers", "2", "--", "x").stderr


def _k8s_models(docs):
    """Load every emitted object into the official client's models (validates them)."""
    kubernetes = pytest.importorskip("kubernetes")
    kf = pytest.importorskip("kubeflow.training.api_client")
    kinds = {
        "PriorityClass": "V1PriorityClass",
        "NetworkPolicy": "V1NetworkPolicy",
        "Service": "V1Service",
        "Job": "V1Job",
    }
    out = {}
    for d in docs:
        if d["kind"] == "TFJob":
            out["TFJob"] = kf.ApiClient()._ApiClient__deserialize(d, "KubeflowOrgV1TFJob")
        else:
            out[d["kind"]] = kubernetes.client.ApiClient()._ApiClient__deserialize(
                d, kinds[d["kind"]]
            )
    return out


def test_emit_k8s_tfjob_with_resources_priority_and_network_policy():
    out = _launch(
        "--emit",
        "k8s",
        "--workers",
        "4",
        "--image",
        "reg/klo:1",
        "--cpu",
        "2",
        "--memory",
        "4Gi",
        "--gpus",
        "1",
        "--priority",
        "urgent",
        "--max-restarts",
        "2",
        "--port",
        "2300",
        "--",
        "keras-lstm-opt",
        "train",
        "--run-dir",
        "/data/run one",
    )
    assert out.returncode == 0, out.stderr
    m = _k8s_models(list(yaml.safe_load_all(out.stdout)))
    assert set(m) == {"PriorityClass", "NetworkPolicy", "TFJob"}
    job = m["TFJob"]
    assert job.api_version == "kubeflow.org/v1" and job.spec.run_policy.backoff_limit == 2
    worker = job.spec.tf_replica_specs["Worker"]
    # ExitCode: 138 (peer lost), 137, 143 restart the pod; 1 (a bug) and 2 fail the job
    assert worker.replicas == 4 and worker.restart_policy == "ExitCode"
    pod = worker.template.spec
    container = pod.containers[0]
    assert container.name == "tensorflow" and container.image == "reg/klo:1"
    assert container.command == ["keras-lstm-opt", "train", "--run-dir", "/data/run one"]
    assert container.resources.limits == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}
    assert container.resources.requests == container.resources.limits
    assert pod.priority_class_name == m["PriorityClass"].metadata.name
    assert m["PriorityClass"].preemption_policy == "PreemptLowerPriority"
    assert m["PriorityClass"].value > 0
    policy = m["NetworkPolicy"].spec
    labels = worker.template.metadata.labels
    assert all(labels[k] == v for k, v in policy.pod_selector.match_labels.items())
    assert policy.policy_types == ["Ingress"]
    (rule,) = policy.ingress
    assert (
        rule.ports[0].port == 2300
        and rule._from[0].pod_selector.match_labels == policy.pod_selector.match_labels
    )  # only the job's own pods, only the worker port


def test_emit_k8s_indexed_job_builds_tf_config_from_the_pod_index():
    out = _launch(
        "--emit",
        "k8s",
        "--k8s-kind",
        "indexed-job",
        "--workers",
        "3",
        "--image",
        "reg/klo:1",
        "--priority",
        "preemptible",
        "--name",
        "lstm",
        "--",
        "keras-lstm-opt",
        "train",
        "--run-dir",
        "/data/run",
    )
    assert out.returncode == 0, out.stderr
    m = _k8s_models(list(yaml.safe_load_all(out.stdout)))
    assert set(m) == {"PriorityClass", "NetworkPolicy", "Service", "Job"}
    svc, job = m["Service"], m["Job"]
    assert svc.spec.cluster_ip == "None" and svc.spec.ports[0].port == 2222
    assert job.spec.completion_mode == "Indexed" and job.spec.completions == 3
    assert job.spec.parallelism == 3 and job.spec.template.spec.subdomain == svc.metadata.name
    assert svc.spec.selector.items() <= job.spec.template.metadata.labels.items()
    assert m["PriorityClass"].preemption_policy == "Never" and m["PriorityClass"].value < 0
    script = job.spec.template.spec.containers[0].command[2]
    assert script.endswith("exec keras-lstm-opt train --run-dir /data/run")
    # the command the pod runs to get its TF_CONFIG, with the index Kubernetes sets
    tf_cmd = script.split('"$(')[1].split(')"')[0].split()
    got = subprocess.run(
        [sys.executable, *tf_cmd[1:]],
        capture_output=True,
        text=True,
        env={**os.environ, "JOB_COMPLETION_INDEX": "2"},
        timeout=time_limit(60),
    )
    assert got.returncode == 0, got.stderr
    from keras_lstm_opt.distribute.tf_config import parse_tf_config

    info = parse_tf_config(got.stdout, check_port=False)
    assert info.task_index == 2 and info.address == "lstm-2.lstm-workers:2222"
    assert info.num_workers == 3


def test_emit_slurm_script_parses_and_builds_tf_config(tmp_path):
    path = tmp_path / "job.sbatch"
    out = _launch(
        "--emit",
        "slurm",
        "--workers",
        "3",
        "--port",
        "4567",
        "--out",
        str(path),
        "--",
        "keras-lstm-opt",
        "train",
        "--run-dir",
        "/shared/run",
    )
    assert out.returncode == 0 and out.stdout == ""
    script = path.read_text()
    assert "#SBATCH --nodes=3" in script and "#SBATCH --ntasks-per-node=1" in script
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    assert "keras_lstm_opt.launch.manifests.slurm --port 4567" in script
    assert "exec keras-lstm-opt train --run-dir /shared/run" in script
    # The TF_CONFIG step, as srun's environment would drive it on task 2 of 3.
    env = {
        **os.environ,
        "SLURM_PROCID": "2",
        "SLURM_STEP_NUM_TASKS": "3",
        "SLURM_STEP_NODELIST": "node[01-03]",
        "SLURM_STEP_TASKS_PER_NODE": "1(x3)",
    }
    tf_config = subprocess.run(
        [sys.executable, "-m", "keras_lstm_opt.launch.manifests.slurm", "--port", "4567"],
        env=env,
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert tf_config.returncode == 0, tf_config.stderr
    cfg = json.loads(tf_config.stdout)
    assert cfg["cluster"]["worker"] == ["node01:4567", "node02:4567", "node03:4567"]
    assert cfg["task"] == {"type": "worker", "index": 2}


@pytest.mark.parametrize(
    "args,message",
    [
        (("--priority", "urgent", "--partition", "gpu"), "give --priority or --partition"),
        (("--priority", "urgent", "--priority-partitions", "low=x"), "names no partition"),
        (("--tasks-per-node", "0"), "--tasks-per-node must be >= 1"),
        (
            ("--priority", "urgent", "--priority-qos", "low=x"),
            "--priority-qos 'low=x' names no qos",
        ),
        (
            ("--priority", "urgent", "--priority-qos", "urgent=a", "--qos", "b"),
            "--priority or --qos",
        ),
        (("--signal", "70000"), "give 0 to 65535 seconds"),
        (("--time", "2", "--signal", "120"), "a longer --time or a smaller --signal"),
        (("--time", "1:2:3:4"), "give minutes, MM:SS, HH:MM:SS or D-HH:MM:SS"),
        (("--workers-on-restart", "0"), "--workers-on-restart 0: give 1 to --workers (2)"),
    ],
)
def test_emit_slurm_bad_options_get_one_line_and_exit_2(args, message):
    out = _launch("--emit", "slurm", "--workers", "2", *args, "--", "keras-lstm-opt", "train")
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_emit_slurm_tasks_per_node_and_time_defaults():
    out = _launch(
        "--emit",
        "slurm",
        "--workers",
        "5",
        "--tasks-per-node",
        "2",
        "--time",
        "1-0",
        "--qos",
        "long",
        "--",
        "keras-lstm-opt",
        "train",
    )
    assert out.returncode == 0, out.stderr
    for line in (
        "--nodes=3",
        "--ntasks=5",
        "--ntasks-per-node=2",
        "--qos=long",
        "--time=1-0",
        "--signal=TERM@120",
    ):
        assert f"#SBATCH {line}\n" in out.stdout, line
    qos = _launch(
        "--emit", "slurm", "--workers", "2", "--priority", "urgent", "--priority-partitions", "",
        "--priority-qos", "urgent=top,preemptible=scavenger", "--", "keras-lstm-opt", "train",
    )  # fmt: skip
    assert qos.returncode == 0, qos.stderr
    assert "#SBATCH --qos=top\n" in qos.stdout and "--partition" not in qos.stdout
    short = _launch(
        "--emit", "slurm", "--workers", "2", "--time", "4", "--", "keras-lstm-opt", "train"
    )
    assert short.returncode == 0 and "--signal" not in short.stdout  # no default under 5 min


def test_emit_yarn_skein_spec_parses_and_builds_tf_config():
    skein = pytest.importorskip("skein")
    out = _launch(
        "--emit",
        "yarn",
        "--workers",
        "3",
        "--cpu",
        "2",
        "--memory",
        "6 GiB",
        "--max-restarts",
        "1",
        "--",
        "keras-lstm-opt",
        "train",
        "--run-dir",
        "hdfs:///runs/a",
    )
    assert out.returncode == 0, out.stderr
    spec = skein.ApplicationSpec.from_yaml(out.stdout)
    worker = spec.services["worker"]
    assert worker.instances == 3 and worker.resources.vcores == 2
    assert worker.resources.memory == 6 * 1024 and spec.max_attempts == 2
    assert "keras_lstm_opt.launch.manifests.yarn --workers 3 --port 2222" in worker.script
    assert "\n  keras-lstm-opt train --run-dir hdfs:///runs/a\n" in worker.script  # in a loop
    from keras_lstm_opt.distribute.tf_config import parse_tf_config
    from keras_lstm_opt.launch.manifests.yarn import tf_config_from_addresses

    addrs = {2: "node-c:2222", 0: "node-a:2222", 1: "node-b:2222"}
    info = parse_tf_config(tf_config_from_addresses(addrs, 1), check_port=False)
    assert info.address == "node-b:2222" and info.num_workers == 3


def test_emit_k8s_indexed_job_fails_at_once_on_a_bug_and_retries_the_rest():
    out = _launch(
        "--emit",
        "k8s",
        "--k8s-kind",
        "indexed-job",
        "--workers",
        "2",
        "--image",
        "reg/klo:1",
        "--max-restarts",
        "3",
        "--",
        "keras-lstm-opt",
        "train",
    )
    assert out.returncode == 0, out.stderr
    job = _k8s_models(list(yaml.safe_load_all(out.stdout)))["Job"]
    assert job.spec.backoff_limit == 3
    (rule,) = job.spec.pod_failure_policy.rules
    assert rule.action == "FailJob" and rule.on_exit_codes.values == [1, 2]
    assert rule.on_exit_codes.operator == "In"
    assert rule.on_exit_codes.container_name == job.spec.template.spec.containers[0].name


def _shim(bin_dir, name, body):
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


def test_yarn_container_runs_its_worker_again_after_a_lost_peer(tmp_path):
    """The Skein service script, run by bash: a worker that exits 138 runs again with the
    same TF_CONFIG, one that exits 1 does not. `python3 -m ...yarn` (which needs a YARN
    application's key-value store) is a stand-in that prints a TF_CONFIG."""
    skein = pytest.importorskip("skein")
    marker = tmp_path / "attempts"
    code = (
        f"import os, sys; p = {str(marker)!r}; open(p, 'a').write(os.environ['TF_CONFIG']"
        " + '\\n'); sys.exit(138 if len(open(p).read().splitlines()) == 1 else 0)"
    )
    out = _launch(
        "--emit", "yarn", "--workers", "2", "--max-restarts", "2", "--", sys.executable, "-c", code
    )
    assert out.returncode == 0, out.stderr
    script = skein.ApplicationSpec.from_yaml(out.stdout).services["worker"].script
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _shim(bin_dir, "python3", "echo '{\"cluster\": {}}'")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    run = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=time_limit(60), env=env
    )
    assert run.returncode == 0, run.stderr
    assert marker.read_text().splitlines() == ['{"cluster": {}}'] * 2  # same TF_CONFIG
    assert "exit status 138: running the worker again (restart 1 of 2)" in run.stderr
    failing = (
        skein.ApplicationSpec.from_yaml(
            _launch("--emit", "yarn", "--workers", "2", "--max-restarts", "2", "--", "false").stdout
        )
        .services["worker"]
        .script
    )
    bad = subprocess.run(
        ["bash", "-c", failing], capture_output=True, text=True, timeout=time_limit(60), env=env
    )
    assert bad.returncode == 1 and "running the worker again" not in bad.stderr


def test_emit_slurm_workers_on_restart_runs_fewer_tasks_on_a_requeued_run():
    """The task count the script gives srun on each run (the rest of it runs under a real
    Slurm in test_slurm.py)."""
    out = _launch(
        "--emit", "slurm", "--workers", "4", "--tasks-per-node", "2", "--workers-on-restart",
        "3", "--max-restarts", "1", "--", "keras-lstm-opt", "train",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "#SBATCH --nodes=2\n" in out.stdout and "#SBATCH --ntasks=4\n" in out.stdout
    assert 'srun --ntasks="$tasks" --nodes="$nodes"' in out.stdout
    body = "tasks=" + out.stdout.split("\ntasks=", 1)[1].split("\nsrun")[0]
    for restarts, tasks, nodes in ((0, 4, 2), (1, 3, 2)):
        shell = f"SLURM_RESTART_COUNT={restarts}\n{body}\n" + 'echo "n=$tasks/$nodes"'
        got = subprocess.run(["bash", "-c", shell], capture_output=True, text=True)
        assert f"n={tasks}/{nodes}" in got.stdout, (restarts, got.stdout, got.stderr)
