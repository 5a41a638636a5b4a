"""Search-space validation, and real searches: resumed after a kill, and with 2 tuners."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from keras_lstm_opt.config import ConfigError, config_from_dict, load_config

from ..conftest import REPO, time_limit

SPACE_CASES = [
    ({"model.units": {"choice": []}}, "tune.space.model.units: empty choice"),
    ({"model.layers": {"int": [3, 1]}}, "tune.space.model.layers: min > max (3 > 1)"),
    (
        {"train.learning_rate": {"float": [0.0, 0.1], "log": True}},
        "tune.space.train.learning_rate: a log range must be above zero",
    ),
    ({"train.learning_rate": {"float": [-0.1, 0.1], "log": True}}, "a log range must be above"),
    (
        {"model.layrs": {"int": [1, 2]}},
        "tune.space.model.layrs: unknown field (did you mean 'model.layers'?)",
    ),
    ({"data.path": {"fixed": "/x"}}, "tune.space.data.path: unknown field"),
    ({"model.units": {"int": [1, 2], "choice": [3]}}, "expected exactly one of"),
    ({"model.units": [32, 64]}, "expected exactly one of"),
    ({"model.units": {"int": [1.5, 2]}}, "int: expected [min, max] of ints"),
    ({"model.units": {"int": [8, 16], "logg": True}}, "unknown option(s) ['logg']"),
    ({"model.dropout": {"float": [0.1, 2.0]}}, "value 2.0: must be <= 0.95"),
    ({"train.optimizer": {"choice": ["adam", "lion"]}}, "value 'lion': expected one of"),
]


@pytest.mark.parametrize("space, message", SPACE_CASES)
def test_each_malformed_search_space_has_its_message(space, message):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"tune": {"space": space}}, "t.yaml")
    assert message in str(info.value)


def test_tuning_example_and_objective_check():
    cfg = load_config(os.path.join(REPO, "configs", "tuning.yaml"))
    assert "model.units" in cfg.tune.space
    with pytest.raises(ConfigError, match="tune.objective: 'val_mae' is not a metric"):
        config_from_dict({"tune": {"objective": "val_mae"}})


SMALL = [
    "tune.epochs=1",
    "train.verbose=silent",
    "model.units=8",
    "model.wide=false",  # the search's mechanics, not the n-gram bags (their tables take seconds)
    "tune.space={model.units: {choice: [4, 8, 12]}, "
    "train.learning_rate: {float: [0.001, 0.01], log: true}}",
]


def _tune_cmd(text_dir, run, *extra):
    cmd = [
        sys.executable,
        "-m",
        "keras_lstm_opt.cli",
        "tune",
        "--run-dir",
        str(run),
        "--set",
        f"data.path={text_dir}",
    ]
    for item in [*SMALL, *extra]:
        cmd += ["--set", item]
    return cmd


def _trials(run):
    out = {}
    for name in os.listdir(run / "trials"):
        path = run / "trials" / name / "trial.json"
        if path.exists():
            rec = json.loads(path.read_text())
            out[rec["trial_id"]] = (rec, path.stat().st_mtime)
    return out


@pytest.mark.slow
def test_killed_search_continues_without_rerunning_trials(text_dir, tmp_path):
    run = tmp_path / "search"
    cmd = _tune_cmd(text_dir, run, "tune.max_trials=4")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + time_limit(240)
    while time.time() < deadline and proc.poll() is None:
        if (run / "trials").exists() and len(_trials(run)) >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=time_limit(30))
    before = _trials(run)
    assert 2 <= len(before) < 4, "the first search finished before the kill"
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=time_limit(600))
    assert out.returncode == 0, out.stderr[-2000:]
    after = _trials(run)
    assert set(before) <= set(after) and len(after) == 4
    for trial_id, (_, mtime) in before.items():
        assert after[trial_id][1] == mtime  # completed trials were not rerun
    rows = (run / "leaderboard.csv").read_text().splitlines()
    assert len(rows) == 5 and rows[0].startswith("rank,trial_id,model.units")
    assert (run / "leaderboard.png").read_bytes()[:4] == b"\x89PNG"
    best = load_config(str(run / "best.yaml"))
    best_row = rows[1].split(",")
    assert best.model.units == int(best_row[2]) and best.tune.space  # full, resolved config
    trained = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_lstm_opt.cli",
            "train",
            str(run / "best.yaml"),
            "--run-dir",
            str(tmp_path / "best"),
            "--set",
            "train.epochs=1",
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert trained.returncode == 0, trained.stderr[-2000:]


def test_sigterm_stops_the_search_not_only_its_trial(text_dir, tmp_path):
    run = tmp_path / "search"
    cmd = _tune_cmd(
        text_dir,
        run,
        "tune.max_trials=4",
        "tune.epochs=30",  # long trials
        "train.early_stopping_patience=0",
        "train.batch_size=16",
        "train.backup_every_steps=3",
    )
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + time_limit(240)
    while time.time() < deadline and not list((run / "trials").glob("*/backup/*")):
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # trial 0 is training: its first backup is written
    signalled = time.time()
    _, err = proc.communicate(timeout=time_limit(60))
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert time.time() - signalled < time_limit(20)
    assert "search stopped by SIGTERM" in err and "to continue it" in err
    assert len(os.listdir(run / "trials")) == 1  # no further trial started
    assert "Traceback" not in err


@pytest.mark.slow
def test_two_tuner_workers_split_the_trials(text_dir, tmp_path):
    run = tmp_path / "search"
    out = subprocess.run(
        [*_tune_cmd(text_dir, run, "tune.max_trials=4"), "--tuners", "2"],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    trials = _trials(run)
    assert sorted(trials) == ["0", "1", "2", "3"]  # every trial once, no duplicates
    owners = {rec["tuner_id"] for rec, _ in trials.values()}
    assert owners == {"tuner0", "tuner1"}
    assert "[chief]" in out.stdout and "search directory" in out.stdout
    assert len((run / "leaderboard.csv").read_text().splitlines()) == 5


def test_chief_failure_stops_the_workers(tmp_path):
    from keras_lstm_opt.tuning.launch import launch_tuners

    code = (
        "import os, sys, time\n"
        "if os.environ['KERASTUNER_TUNER_ID'] == 'chief':\n"
        "    print('oracle broke', flush=True); sys.exit(5)\n"
        "time.sleep(300)"
    )
    start = time.monotonic()
    rc = launch_tuners([sys.executable, "-c", code], 2, grace_seconds=2)
    assert rc == 5 and time.monotonic() - start < time_limit(30)


def test_wall_clock_budget_stops_new_trials_and_cuts_the_running_one(text_dir, tmp_path):
    from keras_lstm_opt.tuning.search import tune

    rows = tune(
        None,
        str(tmp_path / "s"),
        [
            f"data.path={text_dir}",
            *SMALL,
            "tune.epochs=4",
            "tune.max_trials=5",
            "tune.max_minutes=0.005",
        ],
    )
    assert len(rows) == 1  # the first trial outlasts the 0.3 s budget; no second one starts
    (trial,) = os.listdir(tmp_path / "s" / "trials")
    metrics = json.loads((tmp_path / "s" / "trials" / trial / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 1  # of 4: stopped at its first epoch end


def test_tune_budget_flag_searches_until_spent(text_dir, tmp_path):
    from keras_lstm_opt.cli.app import _duration

    assert [_duration(t) for t in ("90s", "10m", "1.5h", "2")] == [1.5, 10, 90, 2]
    for bad in ("0m", "ten", "-1h", "5d"):
        with pytest.raises(Exception, match="a positive duration"):
            _duration(bad)
    run = tmp_path / "budget"
    start = time.monotonic()
    out = subprocess.run(
        [*_tune_cmd(text_dir, run), "--budget", "20s"],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    trials = os.listdir(run / "trials")
    # any-time: without tune.max_trials it keeps starting trials until the 20 s are spent
    # (the default of 8 would otherwise bound it), then stops; the leaderboard has them all
    assert len(trials) >= 2, out.stderr[-2000:]
    assert "tune.max_minutes reached" in out.stderr
    assert time.monotonic() - start < 20 + time_limit(
        60
    )  # start-up, one trial's last epoch, results
    assert (run / "best.yaml").exists() and len(trials) == len(
        (run / "leaderboard.csv").read_text().splitlines()
    ) - 1


def test_hyperband_and_bayesian_searches_run(text_dir, tmp_path):
    from keras_lstm_opt.tuning.search import tune

    rows = tune(
        None,
        str(tmp_path / "b"),
        [f"data.path={text_dir}", *SMALL, "tune.tuner=bayesian", "tune.max_trials=2"],
    )
    assert len(rows) == 2
    rows = tune(
        None,
        str(tmp_path / "h"),
        [f"data.path={text_dir}", *SMALL, "tune.tuner=hyperband", "tune.epochs=2"],
    )
    assert len(rows) >= 2


def test_best_yaml_trains_what_won_including_what_auto_decided(tmp_path):
    from keras_lstm_opt.tuning.search import write_results

    cfg = config_from_dict(
        {"tune": {"space": {"model.units": {"choice": [16, 32]}}, "objective": "val_accuracy"}}
    )
    auto = {
        "model.pooling": {"value": "mean", "was": "last", "why": "long texts"},
        "train.batch_size": {"value": 16, "was": 128, "why": "864 examples"},
        "data.bucket_boundaries": {"value": [3, 7], "was": [], "why": "deciles"},
        "data.batching": {"value": "bucket", "was": "pad", "why": "lengths"},
    }
    for trial_id, units, acc in (("0", 16, 0.8), ("1", 32, 0.6)):
        (tmp_path / "trials" / f"{trial_id}-0").mkdir(parents=True)
        (tmp_path / "trials" / f"{trial_id}-0" / "trial.json").write_text(
            json.dumps(
                {
                    "trial_id": trial_id,
                    "values": {"model.units": units},
                    "val_accuracy": acc,
                    "train_seconds": 1.0,
                    "params": 10,
                    "auto": auto if trial_id == "0" else {},
                }
            )
        )
    write_results(cfg, str(tmp_path))
    best = load_config(str(tmp_path / "best.yaml"))  # names every key: auto keeps them all
    assert best.model.units == 16 and best.model.pooling == "mean"
    assert (best.train.batch_size, best.data.batching) == (16, "bucket")
    assert list(best.data.bucket_boundaries) == [3, 7]
    assert best.train.epochs == cfg.train.epochs and best.train.resume == cfg.train.resume
    assert "auto" not in (tmp_path / "leaderboard.csv").read_text()
