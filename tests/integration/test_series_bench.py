"""`bench.py --mode series` on two short suite series: every rival and ours, same origins."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from ..conftest import REPO, time_limit

pytest.importorskip("pmdarima", reason="the AutoARIMA rival (the examples extra)")
BENCH = [sys.executable, os.path.join(REPO, "benchmarks", "bench.py"), "--mode", "series"]


@pytest.mark.heavy
def test_series_mode_scores_every_method_on_the_same_origins(tmp_path):
    from benchmarks.series import split
    from benchmarks.series_rivals import mase_scale
    from benchmarks.series_suite import series

    out = subprocess.run(
        [
            *BENCH,
            "--series",
            "nile,austres",
            "--origins",
            "3",
            "--set",
            "train.epochs=1",
            "--out",
            str(tmp_path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=time_limit(900),
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    result = json.loads((tmp_path / "series.json").read_text())
    assert [r["series"] for r in result["rows"]] == ["nile", "austres"]
    assert result["versions"]["pmdarima"] and result["versions"]["statsmodels"]
    for row in result["rows"]:
        s = series(row["series"])
        _, y = s.load()
        n_train, origins = split(len(y), s.horizon, 3)
        assert (row["train_rows"], row["origins"]) == (n_train, len(origins))
        methods = row["methods"]
        assert set(methods) == {"naive", "snaive", "ets", "arima", "ours"}
        for m in methods.values():
            assert len(m["mase_per_step"]) == s.horizon and m["mase"] > 0 and m["smape"] > 0
        # the naive rival's MASE, by hand: the last value against each origin's horizon
        err = np.mean([np.abs(y[o : o + s.horizon] - y[o - 1]) for o in origins])
        assert methods["naive"]["mase"] == pytest.approx(err / mase_scale(y[:n_train], s.m))
        assert methods["ets"]["model"].startswith("ETS(") and "ARIMA" in methods["arima"]["model"]
        # every origin's forecasts are kept, and score to the reported MASE (a combination of
        # methods can be scored from series.json alone)
        assert row["origin_rows"] == [int(o) for o in origins]
        truth = np.stack([y[o : o + s.horizon] for o in origins])
        for name, m in methods.items():
            f = np.asarray(row["forecasts"][name])
            assert f.shape == truth.shape
            mase = np.mean(np.abs(f - truth)) / row["mase_scale"]
            assert m["mase"] == pytest.approx(mase, rel=1e-3), name
        # ours: imported without --season/--transform; the import's choices are kept
        assert methods["ours"]["model"]["transform"] in ("none", "diff", "seasonal_diff")
    assert "mean MASE" in out.stdout and "ours vs best rival" in out.stdout
    assert (tmp_path / "series.png").read_bytes()[:4] == b"\x89PNG"


def test_each_rounds_held_out_half_is_fixed_and_the_spent_ones_are_dev():
    from benchmarks.series_suite import (
        ROUND1_HELD_OUT,
        ROUND2_HELD_OUT,
        ROUND3_HELD_OUT,
        ROUND4_HELD_OUT,
        ROUND5_HELD_OUT,
        ROUND6_HELD_OUT,
        ROUND7_HELD_OUT,
        ROUND8_HELD_OUT,
        ROUND9_HELD_OUT,
        SUITE,
        select,
    )

    held = [s.name for s in select(None, "held-out")]
    assert held == [
        "austourists", "saudioil", "payems", "phillyfed", "xrx", "baa", "stockprices",
        "inventories",
    ]  # fmt: skip
    dev = {s.name for s in select(None, "dev")}
    spent = {*ROUND1_HELD_OUT, *ROUND2_HELD_OUT, *ROUND3_HELD_OUT, *ROUND4_HELD_OUT}
    spent |= {*ROUND5_HELD_OUT, *ROUND6_HELD_OUT, *ROUND7_HELD_OUT, *ROUND8_HELD_OUT}
    spent |= set(ROUND9_HELD_OUT)
    assert spent <= dev and len(spent) == 71
    assert set(ROUND4_HELD_OUT) == {
        "elecequip", "front", "ftse", "realcons", "cpi", "derate", "beaver", "lrm"
    }  # fmt: skip
    assert set(ROUND5_HELD_OUT) == {
        "cac", "rear", "petrolprice", "m1", "infl", "beaver2", "airtemp", "bjsaleslead"
    }  # fmt: skip
    assert set(ROUND6_HELD_OUT) == {
        "smi", "vankilled", "realdpi", "realgovt", "realint", "ibo", "dp", "lh"
    }  # fmt: skip
    assert set(ROUND7_HELD_OUT) == {
        "sunspotmonth", "driverskilled", "pop", "lry", "lpy", "fertility", "airwind", "faithful"
    }  # fmt: skip
    assert set(ROUND8_HELD_OUT) == {
        "fertility-afg", "presidents", "ide", "sp500", "solar", "goog", "eeg", "eruptions"
    }  # fmt: skip
    assert set(ROUND9_HELD_OUT) == {
        "vicelec", "housingstarts", "cons-de", "ishort-de", "caputil", "wpi", "inv-de", "ibm"
    }  # fmt: skip
    assert len(SUITE) == len({s.name for s in SUITE}) == 86


def test_no_two_series_of_the_suite_are_the_same_data():
    """A series new to the suite must be new data, not another name for a spent one (round
    7's first split held out statsmodels' interest_inflation R, which derate already was), and
    long enough for the bench's split at its horizon."""
    import hashlib
    import shutil

    from benchmarks.series import split
    from benchmarks.series_suite import SUITE

    if shutil.which("Rscript") is None:  # in CI (which installs it) this skip fails
        pytest.skip("31 series of the suite come with R: apt-get install r-base-core")
    seen: dict[str, str] = {}
    for s in SUITE:
        _, values = s.load()
        split(len(values), s.horizon, 3)  # a UsageError if too few rows for the horizon
        key = hashlib.sha256(np.round(values, 6).tobytes()).hexdigest()
        assert key not in seen, f"{s.name} loads the same values as {seen[key]}"
        seen[key] = s.name


def test_every_origins_forecasts_are_kept_and_score_to_the_reported_mase():
    """series.json keeps each origin's forecasts, so that a combination of methods can be
    scored later without refitting (the rivals without fitting: no training here)."""
    from benchmarks.series import bench_one, split
    from benchmarks.series_suite import series

    s = series("nile")
    _, y = s.load()
    row = bench_one(s, 4, [], ("naive", "snaive"))
    _, origins = split(len(y), s.horizon, 4)
    assert row["origin_rows"] == [int(o) for o in origins]
    truth = np.stack([y[o : o + s.horizon] for o in origins])
    naive = np.asarray(row["forecasts"]["naive"])
    assert naive.shape == truth.shape
    assert (naive == y[origins - 1][:, None]).all()  # the last value, at every step
    for name, m in row["methods"].items():
        f = np.asarray(row["forecasts"][name])
        mase = np.mean(np.abs(f - truth)) / row["mase_scale"]
        assert m["mase"] == pytest.approx(mase, rel=1e-9), name


def test_series_mode_names_an_unknown_series(tmp_path):
    out = subprocess.run(
        [*BENCH, "--series", "nile,nope", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 2
    from benchmarks.series_suite import SUITE

    names = ", ".join(s.name for s in SUITE)
    assert out.stderr.strip().splitlines() == [f"error: series 'nope': not in the suite ({names})"]


def test_a_series_from_r_without_r_is_one_line_naming_the_package(tmp_path):
    bin_dir = tmp_path / "bin"  # python on PATH, and nothing else (/usr/bin has Rscript)
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    out_dir = tmp_path / "out"
    env = {**os.environ, "PATH": str(bin_dir)}
    out = subprocess.run(
        [*BENCH, "--series", "nile,nottem", "--out", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
        env=env,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip().splitlines() == [
        "error: series nottem: this series comes with R's datasets package: install R "
        "(Debian: apt-get install r-base-core) so that Rscript is on PATH"
    ]
    assert not out_dir.exists() or not os.listdir(out_dir)  # nothing ran, nothing half-written


def test_combinations_score_from_series_json_alone(tmp_path, capsys):
    """benchmarks/series_combine.py: the mean of two methods' kept forecasts, scored with
    the bench's MASE; an unknown member or an older file is one line, exit 2."""
    from benchmarks.series import bench_one
    from benchmarks.series_combine import main, score
    from benchmarks.series_suite import series

    s = series("lakehuron")
    _, y = s.load()
    row = bench_one(s, 3, [], ("naive", "snaive"))
    truth = np.stack([y[o : o + s.horizon] for o in row["origin_rows"]])
    naive = np.asarray(row["forecasts"]["naive"])
    drift = naive + np.arange(1, s.horizon + 1)  # a second member unlike the first
    row["forecasts"]["drift"] = drift.tolist()
    mean = (naive + drift) / 2
    expected = np.mean(np.abs(mean - truth)) / row["mase_scale"]
    scores = score([row], ["naive+drift"])["lakehuron"]
    assert scores["naive+drift"] == pytest.approx(expected, rel=1e-12)
    assert scores["naive"] == pytest.approx(row["methods"]["naive"]["mase"], rel=1e-12)
    path = tmp_path / "series.json"
    path.write_text(json.dumps({"rows": [row]}))
    assert main([str(path), "naive+drift"]) == 0
    assert f"{expected:10.3f}" in capsys.readouterr().out.splitlines()[1]
    assert main([str(path), "naive+ets"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: naive+ets: 'ets' is not in {path} (drift, naive, snaive)"
    )
    del row["forecasts"]
    path.write_text(json.dumps({"rows": [row]}))
    assert main([str(path), "naive+snaive"]) == 2
    assert "no per-origin forecasts" in capsys.readouterr().err
