"""The issue's headline acceptance: the default job and the forecasting example, as users
run them (console script, no arguments). Slow (minutes) but each runs once."""

import json
import os
import subprocess

import pytest

from ..conftest import REPO, console_script, time_limit

pytestmark = pytest.mark.slow


def _console(*args, cwd):
    return subprocess.run(
        [console_script(), *args], cwd=cwd, capture_output=True, text=True, timeout=time_limit(600)
    )


def test_default_job_reaches_90_percent_of_the_known_best(tmp_path):
    out = _console("train", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = os.listdir(tmp_path / "runs")
    assert len(runs) == 1
    metrics = json.loads((tmp_path / "runs" / runs[0] / "metrics.json").read_text())
    print(
        json.dumps(
            {
                k: metrics[k]
                for k in (
                    "val_accuracy",
                    "known_best_accuracy",
                    "train_seconds",
                    "samples_per_second",
                )
            }
        )
    )
    assert metrics["val_accuracy"] >= 0.9 * metrics["known_best_accuracy"]
    assert metrics["train_seconds"] < time_limit(300)


@pytest.mark.heavy
def test_forecast_example_beats_the_seasonal_naive_by_20_percent(tmp_path):
    out = _console(
        "train",
        os.path.join(REPO, "configs", "forecast.yaml"),
        "--run-dir",
        str(tmp_path / "run"),
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    print(
        json.dumps(
            {k: metrics[k] for k in ("val_mae", "baseline_mae", "improvement_over_baseline")}
        )
    )
    assert metrics["val_mae"] <= 0.8 * metrics["baseline_mae"]
