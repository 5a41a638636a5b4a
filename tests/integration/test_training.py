import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_lstm_opt.config import TrainConfig, load_config
from keras_lstm_opt.data.schema import DataError
from keras_lstm_opt.data.writer import write_tfrecords
from keras_lstm_opt.experiment import fit
from keras_lstm_opt.training.optim import make_optimizer, make_schedule

from ..conftest import REPO, time_limit

TINY = [
    "model.units=8",
    "train.epochs=2",
    "train.batch_size=64",
    "train.verbose=silent",
    "data.deterministic=true",
    "data.cache=none",
]
REQUIRED = {
    "train_seconds",
    "samples_per_second",
    "num_replicas",
    "epochs_completed",
    "weights_digest",
}


def _cli(*args, timeout=300, **kw):
    return subprocess.run(
        [sys.executable, "-m", "keras_lstm_opt.cli", *args],
        capture_output=True,
        text=True,
        timeout=time_limit(timeout),
        **kw,
    )


def test_schedules_and_optimizers():
    cos = make_schedule(
        TrainConfig(schedule="cosine", warmup_steps=10, learning_rate=0.1, decay_steps=0),
        total_steps=110,
    )
    assert float(cos(0)) == pytest.approx(0.0)
    assert float(cos(10)) == pytest.approx(0.1)
    assert float(cos(110)) == pytest.approx(0.0, abs=1e-6)
    exp = make_schedule(
        TrainConfig(schedule="exponential", decay_steps=100, decay_rate=0.5, learning_rate=0.2),
        total_steps=1000,
    )
    assert float(exp(100)) == pytest.approx(0.1)
    assert make_schedule(TrainConfig(learning_rate=0.3), 10) == 0.3
    opt = make_optimizer(TrainConfig(optimizer="adamw", weight_decay=0.01), 10)
    assert isinstance(opt, keras.optimizers.AdamW) and opt.weight_decay == 0.01
    sgd = make_optimizer(
        TrainConfig(optimizer="sgd", momentum=0.5, global_clipnorm=None, clipvalue=0.5), 10
    )
    assert sgd.momentum == 0.5 and sgd.clipvalue == 0.5
    rms = make_optimizer(TrainConfig(optimizer="rmsprop"), 10, precision="mixed_float16")
    assert isinstance(rms, keras.optimizers.LossScaleOptimizer)


def test_fit_writes_every_artifact_and_cli_gives_the_same_result(text_dir, tmp_path):
    run = str(tmp_path / "api")
    overrides = [*TINY, f"data.path={text_dir}"]
    metrics = fit(None, run_dir=run, overrides=overrides)
    assert REQUIRED <= set(metrics) and "val_accuracy" in metrics
    assert metrics["epochs_completed"] == 2 and metrics["num_replicas"] == 1
    assert metrics["known_best_accuracy"] == 0.95
    on_disk = json.load(open(os.path.join(run, "metrics.json")))
    assert on_disk["weights_digest"] == metrics["weights_digest"]
    assert load_config(os.path.join(run, "config.yaml")) == load_config(None, overrides)
    for name in (
        "model.keras",
        "curves.png",
        "history.csv",
        "checkpoints/best.weights.h5",
        "checkpoints/latest.weights.h5",
    ):
        assert os.path.getsize(os.path.join(run, name)) > 0, name
    assert not os.path.exists(os.path.join(run, "backup"))  # removed on success
    model = keras.models.load_model(os.path.join(run, "model.keras"))
    assert model.count_params() == metrics["params"]

    # TensorBoard's own reader sees the scalars we logged.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(os.path.join(run, "tensorboard", "validation")).Reload()
    assert "epoch_accuracy" in acc.Tags()["tensors"] + acc.Tags()["scalars"]

    cli_run = str(tmp_path / "cli")
    args = ["train", "--run-dir", cli_run]
    for o in overrides:
        args += ["--set", o]
    out = _cli(*args)
    assert out.returncode == 0, out.stderr[-2000:]
    cli = json.load(open(os.path.join(cli_run, "metrics.json")))
    assert cli["weights_digest"] == metrics["weights_digest"]
    assert cli["val_accuracy"] == pytest.approx(metrics["val_accuracy"])
    assert f"run directory: {cli_run}" in out.stdout


def test_bad_config_exits_nonzero_naming_every_problem_and_writes_nothing(tmp_path):
    bad = os.path.join(REPO, "tests", "data", "bad.yaml")
    run = tmp_path / "run"
    out = _cli("train", bad, "--run-dir", str(run), timeout=60)
    assert out.returncode == 2
    for key in (
        "model.unts",
        "model.layers",
        "model.units",
        "data.path",
        "train.reduce_lr_on_plateau",
    ):
        assert f"{bad}: {key}:" in out.stderr
    assert out.stderr.count("error:") == 1  # one message
    assert not run.exists()


def test_corrupt_shard_fails_naming_the_file_and_leaves_no_metrics(text_dir, tmp_path):
    data = str(tmp_path / "data")
    shutil.copytree(text_dir, data)
    victim = sorted(glob.glob(os.path.join(data, "train-*")))[2]
    raw = open(victim, "rb").read()
    open(victim, "wb").write(raw[: len(raw) * 2 // 3])
    run = tmp_path / "run"
    args = ["train", "--run-dir", str(run), "--set", f"data.path={data}"]
    for o in TINY:
        args += ["--set", o]
    out = _cli(*args)
    assert out.returncode == 1
    assert os.path.basename(victim) in out.stderr and "record" in out.stderr
    assert "DataLossError" not in out.stderr.splitlines()[-1].split(":")[0]
    assert not (run / "metrics.json").exists()


def test_nan_features_stop_training_with_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 10, 2)).astype("float32")
    x[17, 3, 1] = np.nan
    y = rng.normal(size=(200, 3)).astype("float32")
    data = str(tmp_path / "nan")
    write_tfrecords(data, {"x": x, "y": y}, "train", 2, inputs="x", target="y", task="forecast")
    run = str(tmp_path / "run")
    with pytest.raises(
        DataError,
        match=r"train-00001-of-00002.*record 8 .*NaN or Inf in "
        "feature 'x'",
    ):
        fit(
            None,
            run,
            [
                *TINY,
                f"data.path={data}",
                "data.task=forecast",
                "train.monitor=loss",
                "train.global_clipnorm=null",
                "data.shuffle_buffer=0",
            ],
        )
    assert not os.path.exists(os.path.join(run, "metrics.json"))


def _backup_step(run) -> int:
    index = run / "backup" / "checkpoint"
    if not index.exists():
        return 0
    text = index.read_text()
    return int(text.split('model_checkpoint_path: "ckpt-')[1].split('"')[0]) if text else 0


def test_killed_run_resumes_mid_epoch_from_its_backup(text_dir, tmp_path):
    run = tmp_path / "run"
    args = [
        "train",
        "--run-dir",
        str(run),
        "--set",
        f"data.path={text_dir}",
        "--set",
        "train.epochs=30",
        "--set",
        "train.early_stopping_patience=0",
        "--set",
        "model.units=8",
        "--set",
        "train.verbose=epoch",
        "--set",
        "train.backup_every_steps=5",
        "--set",
        "train.batch_size=32",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "keras_lstm_opt.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + time_limit(180)
    while time.time() < deadline and proc.poll() is None and _backup_step(run) < 40:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=time_limit(30))
    assert not (run / "metrics.json").exists(), "the first run finished before the kill"
    saved = _backup_step(run)
    out = _cli(*args)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"at step {saved}" in out.stderr  # the log names the step it resumed from
    metrics = json.loads((run / "metrics.json").read_text())
    steps_per_epoch = 25  # 800 training examples / batch 32
    assert metrics["resumed_from_step"] == saved >= 40
    assert metrics["steps_completed"] == 30 * steps_per_epoch
    assert metrics["epochs_completed"] == 30
    assert not (run / "backup").exists()


def test_jit_compile_and_steps_per_execution_reach_the_loop(text_dir, tmp_path):
    base = [*TINY, f"data.path={text_dir}", "train.epochs=1"]
    plain = fit(None, str(tmp_path / "plain"), base)
    xla = fit(
        None,
        str(tmp_path / "xla"),
        [*base, "train.jit_compile=true", "train.steps_per_execution=4"],
    )
    assert xla["steps_completed"] == plain["steps_completed"] == 13  # 800 / 64, rounded up
    # Same data order and seed: XLA and chunked execution change rounding, not the result.
    assert xla["val_loss"] == pytest.approx(plain["val_loss"], rel=1e-3)
