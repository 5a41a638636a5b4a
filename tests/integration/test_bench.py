import json
import os
import shutil
import subprocess
import sys

import pytest

from ..conftest import REPO, time_limit
from .test_first_calls import NATIVE_LOG, _env


def test_bench_data_mode_prints_table_and_writes_json_and_png(text_dir, tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "data",
            "--repeats",
            "1",
            "--set",
            f"data.path={text_dir}",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
        env=_env(),  # TF_CPP_MIN_LOG_LEVEL unset, as a user starts it
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert not NATIVE_LOG.search(out.stderr), out.stderr[:2000]  # TensorFlow's start-up lines
    result = json.loads((tmp_path / "data.json").read_text())
    names = [r["variant"] for r in result["rows"]]
    assert names[0].startswith("default") and len(names) == 5
    assert all(r["cold_examples_per_second"] > 0 for r in result["rows"])
    assert result["rows"][0]["warm_ratio_vs_default"] == 1.0
    assert result["examples_per_epoch"] == 800 and result["threads"]["cpu_count"]
    assert "warm_ratio_vs_default" in out.stdout and "per-example parse" in out.stdout
    assert (tmp_path / "data.png").read_bytes()[:4] == b"\x89PNG"


def test_bench_reports_config_errors(tmp_path):
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "bench.py"), "--set", "data.path=/nope"],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 2 and "data.path: no such directory" in out.stderr


def test_bench_lstm_mode_compares_variants_in_one_run(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "lstm",
            "--shapes",
            "small",
            "--variants",
            "keras,fast",
            "--repeats",
            "1",
            "--steps",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "lstm.json").read_text())
    rows = {r["variant"]: r for r in result["rows"]}
    assert set(rows) == {"keras", "fast"} and result["matmul_ceiling_gflops"] > 0
    small = rows["fast"]
    assert small["gflops"] == pytest.approx(3 * 8 * 32 * 50 * 64 * 96 / small["median_ms"] / 1e6)
    assert rows["keras"]["speed_vs_keras"] == 1.0 and "speed_vs_torch" not in small
    assert len(small["step_ms"]) == 2 and small["max_over_median"] >= small["p90_over_median"]
    assert result["threads"]["tf_inter_op"] == 1  # what `train` picks for FastLSTM
    assert "speed_vs_keras" in out.stdout and (tmp_path / "lstm.png").exists()
    bad = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "lstm",
            "--shapes",
            "huge",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "unknown shape" in bad.stderr


@pytest.mark.heavy
def test_bench_predict_mode_times_throughput_and_latency(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "predict",
            "--shapes",
            "small",
            "--variants",
            "keras,fast,fast-fn,fast-int8",
            "--repeats",
            "1",
            "--steps",
            "2",
            "--batch",
            "4",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "predict.json").read_text())
    rows = {(r["batch"], r["variant"]): r for r in result["rows"]}
    assert set(rows) == {(b, v) for b in (4, 1) for v in ("keras", "fast", "fast-fn", "fast-int8")}
    assert [len(rows[b, "fast"]["call_ms"]) for b in (4, 1)] == [2, 10]
    assert rows[1, "fast"]["p99_ms"] >= rows[1, "fast"]["p50_ms"] > 0
    assert rows[4, "keras"]["speed_vs_keras"] == 1.0 and rows[4, "fast"]["matches_keras"]
    assert (
        max(d for v, d in result["max_abs_diff_vs_keras"]["small"].items() if v != "fast-int8")
        <= 1e-4
    )
    fast = rows[4, "fast"]  # small: T 50, I 32, H 64; 2 x 4 rows x 50 x (32 + 64) x 256
    assert fast["gflops"] == pytest.approx(2 * 4 * 50 * 96 * 256 / fast["p50_ms"] / 1e6)
    assert fast["ceiling_share"] == pytest.approx(fast["gflops"] / result["matmul_ceiling_gflops"])
    assert "speed_vs_keras" in out.stdout and (tmp_path / "predict.png").exists()
    assert "ceiling_share" in out.stdout and "fp32 matmul ceiling" in out.stdout
    int8 = rows[4, "fast-int8"]  # int8: also its share of the int8 peak, and near Keras
    assert int8["int8_peak_share"] == pytest.approx(int8["gflops"] / result["int8_peak_gops"])
    assert "int8_peak_share" not in fast and int8["matches_keras"]
    assert 0 < result["max_abs_diff_vs_keras"]["small"]["fast-int8"] <= 0.05
    bad = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "predict",
            "--shapes",
            "long",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "unknown shape" in bad.stderr


@pytest.mark.heavy
def test_time_to_accuracy_mode_compares_tutorial_and_defaults(text_dir, tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "time-to-accuracy",
            "--tutorial-epochs",
            "1",
            "--set",
            f"data.path={text_dir}",
            "--set",
            "train.epochs=2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads((tmp_path / "time_to_accuracy.json").read_text())
    assert r["target_val_accuracy"] == pytest.approx(0.9 * 0.95)
    assert len(r["tutorial"]["points"]) == 1 and len(r["ours"]["points"]) == 2
    walls = [p["wall_seconds"] for p in r["ours"]["points"]]
    assert 0 < walls[0] < walls[1]
    # each in its own process: the tutorial with TensorFlow's allocator, ours with train's
    assert (r["tutorial"]["cpu_allocator"], r["ours"]["cpu_allocator"]) == ("default", "bfc")
    assert "to target" in out.stdout and (tmp_path / "time_to_accuracy.png").exists()


@pytest.mark.heavy
def test_storage_mode_measures_compression_and_cache_formats(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "storage",
            "--examples",
            "1200",
            "--repeats",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = {r["variant"]: r for r in json.loads((tmp_path / "storage.json").read_text())["rows"]}
    assert set(rows) == {
        "TFRecord GZIP",
        "TFRecord ZLIB",
        "TFRecord NONE",
        "snapshot NONE",
        "snapshot SNAPPY",
        "snapshot GZIP",
    }
    assert rows["TFRecord GZIP"]["size_mib"] < 0.8 * rows["TFRecord NONE"]["size_mib"]
    assert rows["snapshot GZIP"]["size_mib"] < rows["snapshot NONE"]["size_mib"]
    for r in rows.values():
        assert r["cold_examples_per_second"] > 0 and r["file_cache_examples_per_second"] > 0
    assert "records_mib_per_second" in out.stdout
    assert (tmp_path / "storage.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "storage-work").exists()


@pytest.mark.heavy
@pytest.mark.skipif(
    not shutil.which("redis-server"),
    reason="needs redis-server (Debian package; .ci/run installs it)",
)
def test_redis_mode_compares_cache_backends_with_a_real_server(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "redis",
            "--examples",
            "1200",
            "--repeats",
            "1",
            "--readers",
            "2",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "redis.json").read_text())
    rows = {r["variant"]: r for r in result["rows"]}
    assert set(rows) == {"memory cache", "memory cache, batches", "file snapshot", "redis"}
    assert all(r["readers"] == 2 and r["per_reader_examples_per_second"] > 0 for r in rows.values())
    assert rows["redis"]["shared_store_mib"] == result["redis_used_memory_mib"] > 0
    assert (tmp_path / "redis.png").read_bytes()[:4] == b"\x89PNG"


def _cgroup_writable() -> bool:
    root = "/sys/fs/cgroup"
    target = root if os.path.exists(f"{root}/cgroup.controllers") else f"{root}/cpu"
    return os.access(target, os.W_OK)


@pytest.mark.heavy
@pytest.mark.skipif(not _cgroup_writable(), reason="needs a writable cgroup file system")
def test_quota_mode_runs_jobs_under_real_cpu_quotas(text_dir, tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "benchmarks", "bench.py"),
            "--mode",
            "quota",
            "--repeats",
            "1",
            "--set",
            f"data.path={text_dir}",
            "--set",
            "train.epochs=1",
            "--set",
            "model.units=8",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "quota.json").read_text())
    rows = {r["threads"]: r for r in result["rows"]}
    assert (
        rows["quota-aware"]["intra_op"] == 1 and rows["TensorFlow default"]["intra_op"] == "default"
    )
    assert "1.00 CPUs" in result["why"] and (tmp_path / "quota.png").exists()
