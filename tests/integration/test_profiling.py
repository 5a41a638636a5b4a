"""profile: measured verdicts on a slow and a fast pipeline, the planner, the report files,
xprof's view of the captured steps, and TensorBoard serving what we wrote."""

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request

import pytest

from keras_lstm_opt.profiling.analysis import verdict
from keras_lstm_opt.profiling.profile_report import profile, xprof_available

from ..conftest import time_limit, wait_for

pytestmark = pytest.mark.slow
FAST = ["profile.steps=12", "profile.warmup_steps=3", "model.units=16"]


def test_verdict_thresholds():
    assert verdict(75) == "input-bound" and verdict(3) == "compute-bound"
    assert verdict(30) == "balanced"


@pytest.fixture(scope="module")
def reports(text_dir, tmp_path_factory):
    base = tmp_path_factory.mktemp("prof")
    # slow: stock keras.layers.LSTM (a tf.while_loop) behind a 200 ms pipeline; fast:
    # FastLSTM's fused kernels. (At 80 ms the slow case read 46 to 65% input-bound on the
    # AMD EPYC machine, where the 16-unit model's step is 30 to 36 ms: too near 50%.)
    slow = profile(
        None,
        str(base / "slow"),
        [*FAST, f"data.path={text_dir}", "data.debug_delay_ms=200", "model.lstm=keras"],
    )
    fast = profile(None, str(base / "fast"), [*FAST, f"data.path={text_dir}"])
    return base, slow, fast


def test_slow_pipeline_is_input_bound_and_default_is_not(reports):
    base, slow, fast = reports
    print(
        json.dumps(
            {
                "slow": slow["input_bound_percent"],
                "fast": fast["input_bound_percent"],
                "xprof_slow": (slow.get("xprof") or {}).get("input_bound_percent"),
                "xprof_fast": (fast.get("xprof") or {}).get("input_bound_percent"),
            }
        )
    )
    assert slow["input_bound_percent"] > 50 and slow["verdict"] == "input-bound"
    # The wait for input is timed per step. Left over for the default pipeline is mostly
    # the eager fetch's own cost (~0.5 ms of this 16-unit model's ~12 ms step, more on a
    # busy machine); the 64-unit default job reads 1.6 to 3% (README).
    assert fast["verdict"] == "compute-bound"
    assert fast["input_bound_percent"] < slow["input_bound_percent"] - 40
    assert fast["contention_percent"] >= 0 and slow["input_wait_ms_per_step"] > 20
    assert any(
        "debug_delay_ms" in r["advice"] and "200 ms" in r["because"]
        for r in slow["recommendations"]
    )
    assert all(r["because"] for r in fast["recommendations"])
    for name in ("slow", "fast"):
        on_disk = json.loads((base / name / "report.json").read_text())
        assert on_disk["verdict"] == (slow if name == "slow" else fast)["verdict"]
        assert (base / name / "report.png").read_bytes()[:4] == b"\x89PNG"
        assert "Verdict:" in (base / name / "report.md").read_text()


def test_planner_figures(reports):
    _, _, fast = reports
    plan = fast["plan"]
    assert plan["params"] == fast["params"] and plan["gflops_per_step"] > 0
    expected = 3 * 8 * 128 * plan["time_steps"] * 16 * (32 + 16) / 1e9
    assert plan["gflops_per_step"] == pytest.approx(expected)
    assert plan["largest_batch_for_memory"] > 128
    assert plan["estimated_epoch_seconds"] > 0
    # The memory estimate against TensorFlow's allocator peak over real steps.
    print(
        json.dumps(
            {
                "estimate_mib": plan["estimated_training_mib"],
                "measured_mib": plan["measured_training_mib"],
            }
        )
    )
    # Within 0.7 to 1.3 on the Intel machine (oneDNN's allocator); on the AMD EPYC one
    # (BFC allocator, oneDNN off) the allocator's peak is about twice the estimate for this
    # 16-unit model (5.6 vs 11.2 MiB, Nov 2026), and on an AMD EPYC without AVX-512 about
    # 2.6 times (0.39, Dec 7, 2026): the band covers the three machines seen.
    assert plan["measured_training_mib"] is not None
    assert 0.33 <= plan["estimate_over_measured"] <= 1.3


def test_network_plan_ranks_workers_and_levers_per_link(reports, tmp_path):
    base, _, fast = reports
    net = fast["plan"]["network"]
    assert list(net["links"]) == ["10gbit", "1gbit", "100mbit"]
    assert net["embedding_rows"] == 64 and net["embedding_width"] == 32  # the embedded task
    for p in net["links"].values():
        opts = p["options"]
        assert p["best"] == opts[0] and {o["workers"] for o in opts} == {1, 2, 4, 8}
        assert [o["epoch_seconds"] for o in opts] == sorted(o["epoch_seconds"] for o in opts)
        one = next(o for o in opts if o["workers"] == 1)  # nothing to exchange on one
        assert one["step_seconds"] == pytest.approx(fast["step_ms"] / 1e3)
    # a slower link never makes the same option faster
    slow = {(o["workers"], o["lever"]): o for o in net["links"]["100mbit"]["options"]}
    quick = {(o["workers"], o["lever"]): o for o in net["links"]["10gbit"]["options"]}
    assert all(slow[k]["step_seconds"] >= quick[k]["step_seconds"] for k in slow)
    assert "## Network plan" in (base / "fast" / "report.md").read_text()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_lstm_opt.cli",
            "profile",
            "--set",
            "profile.links=[1gbps]",
            "--run-dir",
            str(tmp_path / "p"),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert bad.returncode == 2 and "profile.links[0]" in bad.stderr


@pytest.mark.skipif(not xprof_available(), reason="needs the profile extra (xprof)")
def test_xprof_counts_the_captured_steps_and_agrees(reports):
    # Stock LSTM: a tf.while_loop, whose steps xprof sees only in the folded copy.
    # FastLSTM: one op per layer and direction, no loop: xprof reads the capture as is.
    _, slow, fast = reports
    assert slow["xprof"]["loop_iterations_folded"] and slow["xprof"]["run"].endswith("_steps")
    assert not fast["xprof"]["loop_iterations_folded"]
    assert not fast["xprof"]["run"].endswith("_steps")
    for r in (slow, fast):
        assert r["xprof"]["steps"] >= fast_steps() - 2  # the first may fall outside the trace
        assert os.path.exists(r["xprof"]["xplane"])
    # xprof's accounting of host time differs from ours by machine (input-bound on the
    # Intel machine, 21 to 38% "balanced" on the AMD EPYC one): it must still see the slow
    # pipeline as the more input-bound one, and the fused default as not input-bound.
    assert slow["xprof"]["input_bound_percent"] > fast["xprof"]["input_bound_percent"] + 10
    assert slow["xprof"]["verdict"] in ("input-bound", "balanced")
    assert fast["xprof"]["verdict"] != "input-bound"


def fast_steps() -> int:
    return int(next(o for o in FAST if o.startswith("profile.steps=")).split("=")[1])


@pytest.mark.heavy
@pytest.mark.skipif(not xprof_available(), reason="needs the profile extra (xprof)")
def test_xprof_counts_steps_without_while_loops_and_agrees(forecast_dir, tmp_path):
    # Fixed-length windows, stock LSTM unrolled: no while_loop in the step.
    loop_free = [
        *FAST,
        f"data.path={forecast_dir}",
        "data.task=forecast",
        "train.monitor=val_loss",
        "model.lstm=keras",
        "model.unroll=true",
    ]
    fast = profile(None, str(tmp_path / "fast"), loop_free)
    # 200 ms a batch, as the first test: with 60 ms, CI's two busy cores once made the
    # model's step slow enough that the wait was 23% of it ("balanced", not input-bound)
    slow = profile(None, str(tmp_path / "slow"), [*loop_free, "data.debug_delay_ms=200"])
    print(
        json.dumps(
            {
                "fast": [fast["input_bound_percent"], fast["xprof"]],
                "slow": [slow["input_bound_percent"], slow["xprof"]],
            }
        )
    )
    assert fast["xprof"]["steps"] > 0 and slow["xprof"]["steps"] > 0
    assert fast["xprof"]["verdict"] == fast["verdict"] == "compute-bound"
    assert slow["xprof"]["verdict"] == slow["verdict"] == "input-bound"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=time_limit(5)) as resp:
        body = resp.read()
        if resp.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return json.loads(body.decode())


def test_tensorboard_serves_our_scalars_and_profiles(reports, text_dir, tmp_path):
    from keras_lstm_opt.experiment import fit

    base, _, _ = reports
    run = tmp_path / "run"
    fit(
        None,
        str(run),
        ["model.units=8", "train.epochs=2", "train.verbose=silent", f"data.path={text_dir}"],
    )
    logdir = tmp_path / "logs"
    logdir.mkdir()
    os.symlink(run / "tensorboard", logdir / "train_run")
    # copied, not linked: the profile plugin's directory walk does not follow links
    shutil.copytree(base / "slow" / "tensorboard", logdir / "profile_run")
    port = _free_port()
    tb = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tensorboard.main",
            "--logdir",
            str(logdir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def scalar_tags() -> dict | None:
        try:
            tags = _get(f"http://127.0.0.1:{port}/data/plugin/scalars/tags")
        except OSError:  # not listening yet
            return None
        return tags if "train_run/validation" in tags else None

    try:
        tags = wait_for(
            scalar_tags,
            time_limit(90),
            "TensorBoard to serve the run's validation scalars",
            procs=[tb],
            interval=1,
        )
        assert "epoch_accuracy" in tags["train_run/validation"], tags
        assert "epoch_loss" in tags["train_run/train"]
        scalars = _get(
            f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?"
            "run=train_run/validation&tag=epoch_accuracy"
        )
        assert [row[1] for row in scalars] == [0, 1]  # one point per epoch
        metrics = json.loads((run / "metrics.json").read_text())
        assert scalars[-1][2] == pytest.approx(metrics["val_accuracy"], abs=0.05)
        if xprof_available():
            plugins = _get(f"http://127.0.0.1:{port}/data/plugins_listing")
            assert "profile" in plugins
            runs = wait_for(  # the plugin scans the log directory in the background
                lambda: _get(f"http://127.0.0.1:{port}/data/plugin/profile/runs"),
                time_limit(30),
                "the profile plugin to list a run",
                procs=[tb],
                interval=1,
            )
            assert any(r.startswith("profile_run") and r.endswith("_steps") for r in runs), runs
    finally:
        tb.terminate()
        tb.wait(timeout=time_limit(30))


@pytest.mark.parametrize("lstm", ["fast", "keras"])
def test_train_profile_window_writes_a_profile_xprof_can_read(text_dir, tmp_path, lstm):
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.profiling.profile_report import xprof_input_bound

    run = tmp_path / "run"
    fit(
        None,
        str(run),
        [
            "model.units=8",
            "train.epochs=1",
            "train.verbose=silent",
            f"data.path={text_dir}",
            "profile.start_step=2",
            "profile.num_steps=4",
            f"model.lstm={lstm}",
        ],
    )
    planes = sorted((run / "tensorboard" / "plugins" / "profile").glob("*/*.xplane.pb"))
    # keras: the capture and its copy with the LSTM loop's iterations folded into steps;
    # fast (fused kernels, no loop): the capture alone
    folded = lstm == "keras"
    assert [p.parent.name.endswith("_steps") for p in planes] == [False, True][: 1 + folded]
    assert planes[0].stat().st_size > 0
    if xprof_available():
        analysis = xprof_input_bound(str(run / "tensorboard"))
        assert analysis["loop_iterations_folded"] == folded and analysis["steps"] >= 3
