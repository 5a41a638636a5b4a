"""The launcher with real processes (plain Python workers: fast), and the manifests."""

import json
import os
import subprocess
import sys
import time

import yaml

from .conftest import REPO

LAUNCH = [sys.executable, os.path.join(REPO, "tools", "launch.py")]


def _launch(*args, timeout=120):
    return subprocess.run([*LAUNCH, *args], capture_output=True, text=True, timeout=timeout)


def test_workers_get_distinct_loopback_tf_configs_and_prefixed_output():
    code = ("import json, os; c = json.loads(os.environ['TF_CONFIG']); w = c['cluster']['worker']; "
            "print('ADDR', w[c['task']['index']], len(w))")
    out = _launch("--workers", "3", "--", sys.executable, "-c", code)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if "ADDR" in ln]
    assert len(lines) == 3
    addrs = {ln.split()[3] for ln in lines}
    assert len(addrs) == 3 and all(a.startswith("127.0.0.1:") for a in addrs)
    assert {ln.split()[1].rstrip("]") for ln in lines} == {"0", "1", "2"}
    assert "all 3 worker(s) finished" in out.stderr


def test_one_failing_worker_stops_the_others_and_is_named():
    code = ("import json, os, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
            "print('hello from', i, flush=True)\n"
            "if i == 1:\n    print('about to fail', flush=True); sys.exit(7)\n"
            "time.sleep(300)")
    start = time.monotonic()
    out = _launch("--workers", "3", "--grace-seconds", "2", "--", sys.executable, "-c", code)
    elapsed = time.monotonic() - start
    assert out.returncode == 7
    assert "worker 1 failed (exit status 7)" in out.stderr
    assert "about to fail" in out.stderr  # its last lines are shown
    assert elapsed < 30


def test_restarts_relaunch_the_whole_group(tmp_path):
    marker = tmp_path / "attempts"
    code = (f"import json, os, sys; p = {str(marker)!r}\n"
            "i = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
            "if i == 0:\n    open(p, 'a').write('x')\n"
            "n = len(open(p).read()) if os.path.exists(p) else 0\n"
            "sys.exit(3 if n < 2 and i == 0 else 0)")
    out = _launch("--workers", "2", "--max-restarts", "2", "--", sys.executable, "-c", code)
    assert out.returncode == 0, out.stderr
    assert marker.read_text() == "xx"
    assert "restarting the group (1 of 2 restarts)" in out.stderr
    failed = _launch("--workers", "1", "--max-restarts", "1", "--", sys.executable, "-c",
                     "import sys; sys.exit(4)")
    assert failed.returncode == 4 and failed.stderr.count("failed (exit status 4)") == 2


def test_usage_errors():
    assert _launch("--workers", "2").returncode == 2
    assert "needs --image" in _launch("--emit", "k8s", "--workers", "2", "--", "x").stderr


def test_emit_k8s_tfjob():
    out = _launch("--emit", "k8s", "--workers", "4", "--image", "reg/klo:1", "--cpu", "2",
                  "--memory", "4Gi", "--max-restarts", "2", "--", "keras-lstm-opt", "train",
                  "--run-dir", "/data/run one")
    assert out.returncode == 0, out.stderr
    job = yaml.safe_load(out.stdout)
    assert job["apiVersion"] == "kubeflow.org/v1" and job["kind"] == "TFJob"
    worker = job["spec"]["tfReplicaSpecs"]["Worker"]
    assert worker["replicas"] == 4 and worker["restartPolicy"] == "OnFailure"
    container = worker["template"]["spec"]["containers"][0]
    assert container["name"] == "tensorflow" and container["image"] == "reg/klo:1"
    assert container["command"] == ["keras-lstm-opt", "train", "--run-dir", "/data/run one"]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}
    assert job["spec"]["runPolicy"]["backoffLimit"] == 2


def test_emit_slurm_script_parses_and_builds_tf_config(tmp_path):
    path = tmp_path / "job.sbatch"
    out = _launch("--emit", "slurm", "--workers", "3", "--port", "4567", "--out", str(path),
                  "--", "keras-lstm-opt", "train", "--run-dir", "/shared/run")
    assert out.returncode == 0 and out.stdout == ""
    script = path.read_text()
    assert "#SBATCH --nodes=3" in script and "#SBATCH --ntasks-per-node=1" in script
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    assert "keras_lstm_opt.distribute.slurm --port 4567" in script
    assert "exec keras-lstm-opt train --run-dir /shared/run" in script
    # The TF_CONFIG step, as srun's environment would drive it on task 2 of 3.
    env = {**os.environ, "SLURM_PROCID": "2", "SLURM_STEP_NUM_TASKS": "3",
           "SLURM_STEP_NODELIST": "node[01-03]", "SLURM_STEP_TASKS_PER_NODE": "1(x3)"}
    tf_config = subprocess.run([sys.executable, "-m", "keras_lstm_opt.distribute.slurm",
                                "--port", "4567"], env=env, capture_output=True, text=True,
                               timeout=120)
    assert tf_config.returncode == 0, tf_config.stderr
    cfg = json.loads(tf_config.stdout)
    assert cfg["cluster"]["worker"] == ["node01:4567", "node02:4567", "node03:4567"]
    assert cfg["task"] == {"type": "worker", "index": 2}
