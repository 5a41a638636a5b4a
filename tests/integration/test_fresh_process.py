"""Tested as users work: the CLI in a fresh process, relative paths, then each later step
(resume, load, predict) in another fresh process that reads what the earlier one wrote.

Each test names the finding of issue 14 it guards.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import REPO, console_script, random_seed, time_limit

# Small runs of the default job on the embedded data (sizes chosen here, not hidden).
SMALL = [
    "--set",
    "data.examples=3000",
    "--set",
    "train.epochs=3",
    "--set",
    "data.deterministic=true",
    "--set",
    "train.early_stopping_patience=0",
    "--set",
    "train.backup_every_steps=5",
    "--set",
    "train.verbose=epoch",
]
NATIVE_LOG = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+\s|WARNING: All log messages before "
    r"absl|.*cuInit)",
    re.M,
)


def _env(quiet: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    if quiet:  # as a user starts it: TF_CPP_MIN_LOG_LEVEL unset (conftest sets it)
        env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return env


def _cli(
    args: list[str],
    cwd: str,
    quiet: bool = False,
    timeout: int = 600,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [console_script(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=time_limit(timeout),
        env=_env(quiet),
    )


def _metrics(cwd: str, run_dir: str) -> dict:
    with open(os.path.join(cwd, run_dir, "metrics.json"), encoding="utf-8") as fh:
        return json.load(fh)


@pytest.mark.slow
@pytest.mark.faults
def test_sigint_at_a_random_step_then_the_printed_command_resumes_to_the_same_weights(tmp_path):
    """Finding 1: a relative --run-dir lost the run on resume (backup/runs/.../backup)."""
    from ..conftest import FAULTS

    cwd = str(tmp_path)
    full = _cli(["train", *SMALL, "--run-dir", "runs/full"], cwd)
    assert full.returncode == 0, full.stderr[-3000:]
    reference = _metrics(cwd, "runs/full")["weights_digest"]

    seed = random_seed()  # KLO_TEST_SEED: the same seed, the same moment
    delay = random.Random(seed).uniform(0.2, 2.0)
    print(f"SIGINT {delay:.2f} s after epoch 1 began (KLO_TEST_SEED={seed})")
    proc = subprocess.Popen(
        [console_script(), "train", *SMALL, "--run-dir", "runs/a"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Epoch 1/"):
            break
    time.sleep(delay)  # the case under test: a stop at a random step
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=time_limit(300))
    FAULTS["kills"] += 1
    assert proc.returncode == 128 + signal.SIGINT, (delay, seed, err[-3000:])
    stopped = re.search(
        r"stopped: by SIGINT at step (\d+); the backup is saved; resume "
        r"with:\n  (.+)",
        err,
    )
    assert stopped, err[-3000:]
    step, command = int(stopped.group(1)), stopped.group(2)
    assert command.endswith("--run-dir runs/a")
    assert not os.path.exists(os.path.join(cwd, "runs/a/metrics.json"))

    # the printed command, again in a fresh process, from the same directory
    again = subprocess.run(
        shlex.split(command),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=time_limit(600),
        env=_env(),
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "unreadable" not in again.stderr
    m = _metrics(cwd, "runs/a")
    assert m["resumed_from_step"] == step, (delay, seed, step, m["resumed_from"])
    assert m["resumed_from"] == os.path.join(cwd, "runs", "a", "backup", f"ckpt-{step}")
    assert m["weights_digest"] == reference, f"SIGINT after {delay:.2f} s, step {step}, seed {seed}"
    FAULTS["resumed"] += 1
    FAULTS["steps_lost"].append(0)


@pytest.mark.slow
def test_without_run_dir_the_stop_message_names_the_directory_it_used(tmp_path):
    """Finding 1: with no --run-dir, "rerun the same command" could not resume."""
    cwd = str(tmp_path)
    proc = subprocess.Popen(
        [console_script(), "train", *SMALL],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Epoch 1/"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=time_limit(300))
    assert proc.returncode == 130, err[-3000:]
    command = re.search(r"resume with:\n  (.+)", err).group(1)
    run_dir = shlex.split(command)[-1]
    assert re.fullmatch(r"runs/\d{8}-\d{6}", run_dir), command
    assert os.path.isdir(os.path.join(cwd, run_dir, "backup"))


@pytest.mark.slow
def test_a_finished_run_is_refused_then_overwritten_without_mixing_events(tmp_path):
    """Finding 7: rerunning into a finished --run-dir silently overwrote it."""
    cwd = str(tmp_path)
    args = [
        "train",
        "--set",
        "data.examples=1000",
        "--set",
        "train.epochs=1",
        "--run-dir",
        "runs/x",
    ]
    first = _cli(args, cwd)
    assert first.returncode == 0, first.stderr[-3000:]
    metrics = os.path.join(cwd, "runs/x/metrics.json")
    events = os.path.join(cwd, "runs/x/tensorboard")
    before = (os.stat(metrics).st_mtime_ns, sorted(_walk(events)))

    refused = _cli(args, cwd)
    assert refused.returncode == 2
    assert "holds a finished run" in refused.stderr and "--overwrite" in refused.stderr
    assert (os.stat(metrics).st_mtime_ns, sorted(_walk(events))) == before  # untouched

    over = _cli([*args, "--overwrite"], cwd)
    assert over.returncode == 0, over.stderr[-3000:]
    after = sorted(_walk(events))
    assert after and not set(after) & set(before[1])  # only the new run's event files


def _walk(root: str) -> list[str]:
    return [
        os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files
    ]


TRAIN_EVERY_CONFIG = r"""
import json, os, sys
import numpy as np
import keras_lstm_opt as klo

out = {}
for name in klo.config.bundled_configs():
    sets = ["data.examples=600", "train.epochs=1", "train.steps_per_epoch=2"]
    if name == "multiworker":  # the same model; no TF_CONFIG in a single process
        sets.append("distribute.strategy=one_device")
    klo.fit(name, run_dir=f"runs/{name}", overrides=sets)
    model = __import__("keras").models.load_model(f"runs/{name}/model.keras")  # same process
    rng = np.random.default_rng(0)
    shape = model.inputs[0].shape
    x = (rng.integers(1, 60, size=(4, shape[1] or 20)) if len(shape) == 2
         else rng.normal(size=(4, shape[1] or 30, shape[2])).astype("float32"))
    np.save(f"runs/{name}/x.npy", x)
    np.save(f"runs/{name}/y.npy", model.predict(x, verbose=0))
    out[name] = True
print(json.dumps(out))
"""

LOAD_IN_A_FRESH_PROCESS = r"""
import json, sys
import numpy as np
import keras_lstm_opt  # registers our Keras objects; keras is imported after it
import keras

done = {}
for name in sys.argv[1:]:
    model = keras.models.load_model(f"runs/{name}/model.keras")
    x = np.load(f"runs/{name}/x.npy")
    y = model.predict(x, verbose=0)
    done[name] = float(np.max(np.abs(y - np.load(f"runs/{name}/y.npy"))))
    done[name + ":layers"] = sorted({type(l).__name__ for l in model.layers})
print(json.dumps(done))
"""


@pytest.mark.slow
def test_model_keras_of_every_bundled_config_loads_and_predicts_in_a_fresh_process(tmp_path):
    """Finding 2: load_model failed on FastLSTM, then on ScaledSchedule (cosine configs)."""
    from keras_lstm_opt.config import bundled_configs

    cwd = str(tmp_path)
    names = bundled_configs()
    assert {"default", "text", "forecast", "multiworker", "tuning"} <= set(names)
    train = subprocess.run(
        [sys.executable, "-c", TRAIN_EVERY_CONFIG],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=time_limit(900),
        env=_env(),
    )
    assert train.returncode == 0, train.stderr[-4000:]
    load = subprocess.run(
        [sys.executable, "-c", LOAD_IN_A_FRESH_PROCESS, *names],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=time_limit(600),
        env=_env(),
    )
    assert load.returncode == 0, load.stderr[-4000:]
    got = json.loads(load.stdout.strip().splitlines()[-1])
    for name in names:
        assert got[name] < 1e-5, (name, got[name])
    assert "FastLSTM" in got["default:layers"]


@pytest.mark.parametrize("order", ["klo-first", "keras-first", "tensorflow-first"])
def test_importing_the_package_registers_every_custom_object(order):
    """Finding 2: the classes registered only when klo.FastLSTM was touched."""
    imports = {
        "klo-first": "import keras_lstm_opt; import keras",
        "keras-first": "import keras; import keras_lstm_opt",
        "tensorflow-first": "import tensorflow; import keras_lstm_opt; import keras",
    }
    code = (
        imports[order] + "\nfrom keras_lstm_opt.registry import CUSTOM_OBJECT_MODULES\n"
        "names = ['keras_lstm_opt>FastLSTM', 'keras_lstm_opt>ScaledSchedule', "
        "'keras_lstm_opt>RowEmbedding']\n"
        "print([keras.saving.get_registered_object(n) is not None for n in names])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
        env=_env(),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[True, True, True]"


def test_a_config_mistake_is_reported_before_tensorflow_loads(tmp_path):
    """Finding 6: a typo took about 7 s to report (TensorFlow was imported first)."""
    code = (
        "import sys, time\nfrom keras_lstm_opt.cli.app import main\nt = time.perf_counter()\n"
        "code = main(['train', '--set', 'model.unts=3'])\n"
        "print(code, 'tensorflow' in sys.modules, round(time.perf_counter() - t, 3))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=time_limit(120),
        env=_env(quiet=True),
    )
    code, tf_loaded, seconds = out.stdout.split()
    assert (code, tf_loaded) == ("2", "False"), out.stderr
    assert "model.unts: unknown key (did you mean 'units'?)" in out.stderr
    print(f"config mistake reported in {seconds} s (in-process, after imports)")
    start = time.perf_counter()
    cli = _cli(["train", "--set", "model.unts=3"], str(tmp_path), quiet=True)
    print(f"whole command: {time.perf_counter() - start:.2f} s wall")
    assert cli.returncode == 2 and "did you mean 'units'" in cli.stderr
    assert not os.path.exists(os.path.join(str(tmp_path), "runs"))


@pytest.mark.slow
def test_a_default_train_run_prints_no_tensorflow_native_log_lines(tmp_path):
    """Finding 6: start-up noise, including a cuInit error line on a CPU machine."""
    args = ["train", "--set", "data.examples=600", "--set", "train.epochs=1", "--run-dir", "runs/q"]
    quiet = _cli(args, str(tmp_path), quiet=True)
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert not NATIVE_LOG.search(quiet.stdout + quiet.stderr), quiet.stderr[:3000]
    assert "val_accuracy" in quiet.stdout
    loud = _cli([*args[:-1], "runs/v", "--verbose"], str(tmp_path), quiet=True)
    assert loud.returncode == 0
    assert NATIVE_LOG.search(loud.stderr), "--verbose should keep TensorFlow's own logs"


def test_installed_entry_points_version_config_show_launch_help(tmp_path):
    """Finding 5 and 10: no launcher or configs for pip users, no --version, no help."""
    from keras_lstm_opt import __version__
    from keras_lstm_opt.config import BUNDLED_DIR

    cwd = str(tmp_path)  # outside the repository, as a pip user
    assert _cli(["--version"], cwd).stdout.strip() == f"keras-lstm-opt {__version__}"
    shown = _cli(["config", "show", "text"], cwd)
    with open(os.path.join(BUNDLED_DIR, "text.yaml"), encoding="utf-8") as fh:
        assert shown.returncode == 0 and shown.stdout == fh.read()
    unknown = _cli(["config", "show", "nope"], cwd)
    assert unknown.returncode == 2 and "bundled configs: default" in unknown.stderr
    launch = _cli(["launch", "--help"], cwd)
    assert launch.returncode == 0 and "--max-restarts" in launch.stdout
    make = _cli(["data", "make", "--help"], cwd)
    assert make.returncode == 0 and "examples in all" in make.stdout
    emitted = _cli(
        [
            "launch",
            "--emit",
            "slurm",
            "--workers",
            "2",
            "--",
            "keras-lstm-opt",
            "train",
            "multiworker",
            "--run-dir",
            "/shared/run",
        ],
        cwd,
    )
    assert emitted.returncode == 0 and "#SBATCH" in emitted.stdout


@pytest.mark.slow
def test_the_wheel_ships_configs_kernel_source_and_the_entry_point(tmp_path):
    """Finding 5: what `pip install keras-lstm-opt` gets, read from the built wheel."""
    import zipfile

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), REPO],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(f for f in os.listdir(tmp_path) if f.endswith(".whl"))
    with zipfile.ZipFile(os.path.join(tmp_path, wheel)) as zf:
        names = set(zf.namelist())
        entry = next(n for n in names if n.endswith("entry_points.txt"))
        points = zf.read(entry).decode()
    for name in ("default", "text", "forecast", "multiworker", "tuning"):
        assert f"keras_lstm_opt/configs/{name}.yaml" in names
    assert "keras_lstm_opt/models/kernels/lstm_kernels.cc" in names
    assert "keras_lstm_opt/cli/launch.py" in names
    assert "keras-lstm-opt = keras_lstm_opt.cli:main" in points


def test_dir_lists_the_lazy_api_and_the_cudnn_report_prints_a_table():
    """Finding 10: dir(klo) hid the lazily loaded API; the report printed dataclasses."""
    import keras_lstm_opt as klo
    from keras_lstm_opt.config import load_config

    assert {"fit", "FastLSTM", "cudnn_report", "write_tfrecords", "build_model"} <= set(dir(klo))
    cfg = load_config(None, ["model.layers=2"])
    model = klo.build_model(
        cfg.model,
        {
            "task": "text",
            "inputs": "tokens",
            "target": "label",
            "features": {
                "tokens": {"dtype": "int64", "shape": [None]},
                "label": {"dtype": "int64", "shape": []},
            },
            "info": {"vocab_size": 64, "num_classes": 4},
        },
    )
    text = str(klo.cudnn_report(model))
    assert text.splitlines()[0].split() == ["layer", "cuDNN", "reasons"]
    assert "lstm_0" in text and "lstm_1" in text and "CudnnVerdict(" not in text


def test_every_option_of_every_command_has_help_text():
    """Finding 10: `data make` options had no help."""
    import argparse

    from keras_lstm_opt.cli.app import _parser
    from keras_lstm_opt.cli.launch import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(_parser(), "keras-lstm-opt")
    walk(build_parser("keras-lstm-opt launch"), "keras-lstm-opt launch")
    assert not missing, missing
