"""CPU-quota-aware threading, read from fake cgroup files (v2 and v1) and applied."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from keras_lstm_opt.resources import available_cpus, cgroup_cpu_quota, choose_threads

from ..conftest import console_script, time_limit

AFFINITY = len(os.sched_getaffinity(0))


def _v2(tmp_path, text: str):
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "cpu.max").write_text(text)
    proc = tmp_path / "cgroup"
    proc.write_text("0::/job\n")
    return str(tmp_path), str(proc)


def test_cgroup_v2_quota_limits_threads(tmp_path):
    root, proc = _v2(tmp_path, "100000 100000\n")
    assert cgroup_cpu_quota(root, proc)[0] == 1.0
    cpus, why = available_cpus(root, proc)
    assert cpus == 1 and "cpu.max 100000/100000 = 1.00 CPUs" in why


def test_fractional_quota_rounds_up_and_never_exceeds_affinity(tmp_path):
    root, proc = _v2(tmp_path, "50000 100000")
    assert available_cpus(root, proc)[0] == 1
    (tmp_path / "job" / "cpu.max").write_text(f"{(AFFINITY + 3) * 100000} 100000")
    assert available_cpus(root, proc)[0] == AFFINITY
    (tmp_path / "job" / "cpu.max").write_text("max 100000")
    assert cgroup_cpu_quota(root, proc)[0] is None and available_cpus(root, proc)[0] == AFFINITY


def test_cgroup_v1_quota(tmp_path):
    base = tmp_path / "cpu,cpuacct" / "docker" / "abc"
    base.mkdir(parents=True)
    (base / "cpu.cfs_quota_us").write_text("100000")
    (base / "cpu.cfs_period_us").write_text("100000")
    proc = tmp_path / "cgroup"
    proc.write_text("4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n")
    quota, why = cgroup_cpu_quota(str(tmp_path), str(proc))
    assert quota == 1.0 and "v1" in why
    (base / "cpu.cfs_quota_us").write_text("-1")
    assert cgroup_cpu_quota(str(tmp_path), str(proc))[0] is None


def test_config_overrides_win(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_LSTM_OPT_CGROUP_ROOT", _v2(tmp_path, "100000 100000")[0])
    t = choose_threads(intra=3, inter=-1, data=0)
    assert (t["intra_op"], t["inter_op"]) == (3, 0)  # 0 = TensorFlow's default


def test_inter_op_threads_follow_the_lstm_implementation(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_LSTM_OPT_CGROUP_ROOT", str(tmp_path))  # no quota files: affinity
    if choose_threads()["cpus"] < 2:
        pytest.skip("needs 2 CPUs")
    assert choose_threads()["inter_op"] == 1  # FastLSTM: its kernels use the intra-op pool
    assert choose_threads(fused_lstm=False)["inter_op"] == 2  # stock LSTM: directions overlap
    assert choose_threads(inter=3)["inter_op"] == 3


def test_train_under_a_one_cpu_quota_logs_and_applies_one_thread(text_dir, tmp_path):
    (tmp_path / "cg").mkdir()
    (tmp_path / "cg" / "cpu.max").write_text("100000 100000\n")
    run = tmp_path / "run"
    out = subprocess.run(
        [
            console_script(),
            "train",
            "--run-dir",
            str(run),
            "--set",
            f"data.path={text_dir}",
            "--set",
            "train.epochs=1",
            "--set",
            "model.units=4",
            "--set",
            "train.verbose=silent",
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
        env={**os.environ, "KERAS_LSTM_OPT_CGROUP_ROOT": str(tmp_path / "cg")},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "threads: intra-op 1, inter-op 1, tf.data 1 (cgroup v2 cpu.max" in out.stderr
    threads = json.loads((run / "metrics.json").read_text())["threads"]
    assert threads["intra_op"] == 1 and "note" not in threads
    # TensorFlow's BFC allocator, chosen before TensorFlow allocated anything
    assert threads["cpu_allocator"] == "bfc" and "; CPU allocator bfc" in out.stderr


def test_the_cpu_allocator_is_bfc_unless_the_environment_says_otherwise(monkeypatch):
    from keras_lstm_opt.resources import ALLOCATOR_ENV, ALLOCATOR_LIMIT_ENV, configure_threads

    for name in (ALLOCATOR_ENV, ALLOCATOR_LIMIT_ENV):  # unset here, restored afterwards
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    assert configure_threads()["cpu_allocator"] == "bfc"
    assert os.environ[ALLOCATOR_ENV] == "true"  # read by TensorFlow at its first allocation
    host_mib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    assert int(os.environ[ALLOCATOR_LIMIT_ENV]) == host_mib  # not TensorFlow's 64 GiB cap
    monkeypatch.setenv(ALLOCATOR_ENV, "false")  # the user's choice stands
    assert configure_threads()["cpu_allocator"] == "default"
    assert os.environ[ALLOCATOR_ENV] == "false"
