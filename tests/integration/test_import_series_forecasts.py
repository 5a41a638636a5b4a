"""What a series import chooses (season, level, drift) and how the models trained on it forecast."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_lstm_opt.data.import_options import ReadOptions, SeriesColumns
from keras_lstm_opt.data.series import import_series, read_series
from keras_lstm_opt.data.series_windows import series_windows
from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.smoothing import damped_steps, holt_weights

from ..conftest import time_limit
from .test_import_series import _csv

CONFIGS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "keras_lstm_opt",
    "configs",
)


@pytest.fixture(scope="module")
def co2(tmp_path_factory):
    from benchmarks.corpora import write_co2

    root = tmp_path_factory.mktemp("co2")
    src = str(root / "co2.csv")
    write_co2(src)
    out = str(root / "data")
    report = import_series(
        [src],
        out,
        SeriesColumns(
            time="date", target="co2", window=24, horizon=12, transform="seasonal_diff:12"
        ),
        ReadOptions(progress=False),
    )
    return src, out, report


def test_a_noisy_level_is_forecast_from_its_smoothed_level(tmp_path):
    from keras_lstm_opt.config import ModelConfig
    from keras_lstm_opt.models.factory import build_model
    from keras_lstm_opt.models.series import SeriesInverse

    rng = np.random.default_rng(4)
    # a noisy level that climbs 0.05 a step: the mean step is 40x the check's tolerance
    values = np.cumsum(0.1 * rng.normal(size=300) + 0.05) + rng.normal(size=300) + 50
    rows = [f"{i},{float(v)!r},0" for i, v in enumerate(values)]
    out = str(tmp_path / "d")
    report = import_series(
        [_csv(tmp_path / "s.csv", rows, "t,y,f")],
        out,
        SeriesColumns(time="t", target="y", horizon=4),
        ReadOptions(progress=False),
    )
    schema = json.load(open(os.path.join(out, "schema.json")))
    s, w = schema["info"]["series"], schema["info"]["window"]
    (alpha,), (beta,) = s["smoothing"]["alpha"], s["smoothing"]["beta"]
    assert s["transform"] == "diff" and 0 < alpha <= 0.3 and beta == 0 and s["mean"][0] > 0.04
    assert report["chosen"]["anchor"].startswith(f"y: a smoothed level (alpha {alpha:g})")
    layer = build_model(ModelConfig(units=4), schema).get_layer("series_inverse")
    assert layer.smoothing == s["smoothing"]
    # a predicted mean step: the smoothed level plus the mean step per step (Theta)
    x, _ = series_windows(schema["info"], {"y": values, "f": np.zeros(300)}, False)
    still = np.zeros((len(x), 4), "float32")
    level = x[:, :, 0] @ holt_weights(alpha, 0.0, 1.0, w + 1)[0]
    expected = level[:, None] + s["mean"][0] * np.arange(1, 5)
    np.testing.assert_allclose(layer([still, x]), expected, rtol=0, atol=1e-3)
    # with a trend: the level plus the damped trend, the mean step taken off
    args = {k: s[k] for k in ("transform", "lag", "mean", "std")}
    holt = {"alpha": [0.5], "beta": [0.3], "phi": [0.9]}
    trended = SeriesInverse(targets=[0], horizon=4, smoothing=holt, **args)([still, x])
    level_w, trend_w = holt_weights(0.5, 0.3, 0.9, w + 1)
    expected = (x[:, :, 0] @ level_w)[:, None] + np.outer(
        x[:, :, 0] @ trend_w, damped_steps(0.9, 4)
    )
    np.testing.assert_allclose(trended, expected, rtol=0, atol=1e-3)
    with pytest.raises(UsageError, match="smoothing needs transform 'diff'"):
        SeriesInverse([0], "none", 0, 4, [0.0, 0.0], [1.0, 1.0], smoothing=holt)
    # a transform given by the user keeps the last value, and says so
    report = import_series(
        [_csv(tmp_path / "s.csv", rows, "t,y,f")],
        str(tmp_path / "given"),
        SeriesColumns(time="t", target="y", horizon=4, transform="diff"),
        ReadOptions(progress=False),
    )
    given = json.load(open(os.path.join(tmp_path, "given", "schema.json")))["info"]["series"]
    assert given["smoothing"] is None and "given" in report["chosen"]["anchor"]


def test_co2_model_saves_and_loads_in_a_fresh_process(co2, tmp_path):
    import keras

    from keras_lstm_opt.config import ModelConfig
    from keras_lstm_opt.models.factory import build_model

    src, out, report = co2
    schema = json.load(open(os.path.join(out, "schema.json")))
    info = schema["info"]
    assert report["rows"] == {"train": 421, "validation": 105}
    assert info["baselines"]["seasonal_naive"] == pytest.approx(1.71, abs=0.01)
    model = build_model(ModelConfig(units=16), schema)
    raw = series_windows(info, read_series([src], "date", ["co2"]).table(), targets=False)[0]
    raw = raw[-8:]
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.save(tmp_path / "x.npy", raw)
    code = (
        "import sys, numpy as np, keras, keras_lstm_opt\n"
        "m = keras.models.load_model(sys.argv[1])\n"
        "np.save(sys.argv[3], m.predict(np.load(sys.argv[2]), verbose=0))\n"
    )
    got = subprocess.run(
        [sys.executable, "-c", code, path, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert got.returncode == 0, got.stderr[-3000:]
    want = model.predict(raw, verbose=0)
    assert want.shape == (8, 12) and abs(want.mean() - raw[..., 0].mean()) < 20  # ppm
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), want, atol=1e-5)
    assert isinstance(keras.models.load_model(path).layers[-1], type(model.layers[-1]))


def test_co2_training_beats_the_seasonal_naive_forecast(co2, tmp_path):
    from keras_lstm_opt.experiment import fit

    _, out, _ = co2
    metrics = fit(
        os.path.join(CONFIGS, "forecast.yaml"),
        str(tmp_path / "run"),
        [
            f"data.path={out}",
            "train.warmup_steps=0",
            "train.batch_size=32",
            "train.epochs=8",
            "train.early_stopping_patience=0",
        ],
    )
    print(f"CO2 val_mae {metrics['val_mae']:.3f} ppm, seasonal naive {metrics['baseline_mae']:.3f}")
    assert metrics["val_mae"] < 0.75 * metrics["baseline_mae"]


def test_a_model_that_loses_to_a_baseline_is_told_so(tmp_path, caplog):
    """A season repeating exactly: seasonal naive is all but perfect, and one epoch of a
    tiny model is not; train and evaluate say so in one line, metrics.json names it."""
    import logging

    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.run import evaluate_run

    caplog.set_level(logging.WARNING, logger="keras_lstm_opt")
    values = 10 * np.sin(np.arange(600) * 2 * np.pi / 12) + 50
    src = _csv(tmp_path / "s.csv", [f"{i},{v:.4f}" for i, v in enumerate(values)], "t,y")
    out = str(tmp_path / "d")
    import_series(
        src,
        out,
        SeriesColumns(time="t", target="y", window=24, horizon=3, season=12, transform="none"),
        ReadOptions(progress=False),
    )
    run = str(tmp_path / "run")
    metrics = fit(None, run, ["model.lstm=keras", "model.units=4", "train.epochs=1",
                              f"data.path={out}", "train.verbose=silent"])  # fmt: skip
    assert metrics["best_baseline"] == "seasonal_naive" and not metrics["beats_best_baseline"]
    assert metrics["best_baseline_mae"] < 1e-3 < metrics["val_mae"]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("verdict: ")]
    assert lines == [
        "verdict: the model does not beat the seasonal naive baseline on the validation "
        f"windows: val_mae {metrics['val_mae']:.4g} against {metrics['best_baseline_mae']:.4g}; "
        "forecast with the seasonal naive instead, or try another --season, --transform or "
        "window at import"
    ]
    caplog.clear()
    result = evaluate_run(run)
    assert result["best_baseline"] == "seasonal_naive" and not result["beats_best_baseline"]
    assert any(r.getMessage().startswith("verdict: ") for r in caplog.records)


def test_the_verdict_holds_a_model_to_the_training_mean_too():
    """White noise: the rows' mean is the forecast to beat; the verdict names it."""
    from keras_lstm_opt.experiment import _quality, baseline_verdict

    info = {"baseline_mae": 1.1, "baselines": {"last_value": 1.1, "training_mean": 0.8}}
    metrics = {"val_mae": 0.9, **_quality({"info": info}, {"val_mae": 0.9})}
    assert metrics["best_baseline"] == "training_mean" and not metrics["beats_best_baseline"]
    assert metrics["improvement_over_baseline"] > 0  # better than the import's own pick
    assert baseline_verdict(metrics) == (
        "the model does not beat the training mean baseline on the validation windows: "
        "val_mae 0.9 against 0.8; forecast with the training mean instead, or try another "
        "--season, --transform or window at import"
    )


def test_a_model_that_beats_a_baseline_is_told_the_margin_is_optimistic():
    from keras_lstm_opt.experiment import _quality, baseline_margin, baseline_verdict

    info = {"baseline_mae": 1.3, "baselines": {"last_value": 1.326, "training_mean": 4.0}}
    metrics = {"val_mae": 1.208, **_quality({"info": info}, {"val_mae": 1.208})}
    assert metrics["beats_best_baseline"] and baseline_verdict(metrics) is None
    assert baseline_margin(metrics) == (  # last weights, no shrink: nothing chosen on them
        "the model beats the last value baseline on the validation windows: val_mae 1.208 "
        "against 1.326"
    )
    metrics.update(weights="best", shrink={"weights": [0.5]})
    assert baseline_margin(metrics) == (
        "the model beats the last value baseline on the validation windows: val_mae 1.208 "
        "against 1.326; the same windows chose its epoch and how much of the network it "
        "keeps, so the margin is optimistic: evaluate it on rows it has not seen (evaluate "
        "RUN --data FILE) before trusting it"
    )
    worse = {"val_mae": 2.0, **_quality({"info": info}, {"val_mae": 2.0})}
    assert baseline_margin(worse) is None and baseline_verdict(worse)


def test_the_import_applies_the_season_it_finds_and_says_why(tmp_path, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    t = np.arange(480)
    values = 10 * np.sin(2 * np.pi * t / 24) + 0.02 * t + np.random.default_rng(1).normal(size=480)
    src = _csv(tmp_path / "s.csv", [f"{i},{v:.4f}" for i, v in zip(t, values, strict=True)], "t,y")
    out = str(tmp_path / "d")
    import_series(src, out, SeriesColumns(time="t", target="y", window=48, horizon=4),
                  ReadOptions())  # fmt: skip
    info = json.load(open(os.path.join(out, "schema.json")))["info"]
    assert info["series"]["season"] == 24 and "seasonal_naive" in info["baselines"]
    # a strong season: differenced at its lag; the reasons logged and in the report
    assert (info["series"]["transform"], info["series"]["lag"]) == ("seasonal_diff", 24)
    chosen = info["import"]["chosen"]
    assert chosen["season"].startswith("24 (found: autocorrelation 0.")
    assert chosen["transform"].startswith("seasonal_diff:24 (seasonal strength 0.")
    assert chosen["baseline_mae"].startswith("seasonal_naive (lower MAE on the training")
    assert any(
        r.getMessage().startswith("series: season 24 (found: autocorrelation")
        for r in caplog.records
    )


def test_sunspots_with_the_defaults_beats_the_cycle_a_season_ago(tmp_path):
    """Issue 34's case: yearly sunspots, no --season, --window or --transform. The import
    finds the 11-year cycle; the model beats the value 11 years earlier on validation."""
    pytest.importorskip("statsmodels.datasets", reason="the sunspots record (examples extra)")
    from benchmarks.series_suite import series, write_csv

    src = str(tmp_path / "sunspots.csv")
    write_csv(series("sunspots"), src)
    cli = [sys.executable, "-m", "keras_lstm_opt.cli"]
    data, run = str(tmp_path / "d"), str(tmp_path / "run")
    for args in (
        ["data", "import", src, "--out", data, "--time", "time", "--target", "value",
         "--horizon", "3"],
        ["train", "forecast", "--set", f"data.path={data}", "--run-dir", run,
         "--set", "train.verbose=silent"],
    ):  # fmt: skip
        out = subprocess.run([*cli, *args], capture_output=True, text=True,
                             timeout=time_limit(600))  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
    info = json.load(open(os.path.join(data, "schema.json")))["info"]
    assert info["series"]["season"] == 11 and info["window"] == 22
    metrics = json.load(open(os.path.join(run, "metrics.json")))
    assert metrics["best_baseline"] == "seasonal_naive"
    assert metrics["beats_best_baseline"], (metrics["val_mae"], metrics["best_baseline_mae"])
    assert "does not beat" not in out.stderr  # no warning; the margin, said to be optimistic
    assert "verdict: the model beats the seasonal naive baseline on the validation" in out.stderr
    assert "so the margin is optimistic" in out.stderr
    # shrunk toward its anchor (train.auto), said in the log and kept in metrics.json
    (w,) = metrics["shrink"]["weights"]
    assert 0.0 <= w <= 1.0 and metrics["auto"]["model.shrink"]["value"] is True
    assert "series: the forecast keeps " in out.stderr


def test_a_season_whose_yearly_change_grows_is_anchored_on_the_windows_step(tmp_path):
    import keras

    from keras_lstm_opt.config import ModelConfig
    from keras_lstm_opt.models.factory import build_model

    rng, t = np.random.default_rng(5), np.arange(240)
    season = 10 * np.array([0, 3, 1, -2])[t % 4]
    cases = {  # the year-on-year change grows by 0.016 a quarter / stays 1.2
        "growing": season + 0.002 * t * t + rng.normal(0, 0.5, len(t)) + 100,
        "steady": season + 0.3 * t + rng.normal(0, 0.5, len(t)) + 100,
    }
    for name, values in cases.items():
        rows = [f"{i},{float(v)!r}" for i, v in enumerate(values)]
        out = str(tmp_path / name)
        report = import_series(
            [_csv(tmp_path / f"{name}.csv", rows, "t,y")],
            out,
            SeriesColumns(time="t", target="y", horizon=8),
            ReadOptions(progress=False),
        )
        schema = json.load(open(os.path.join(out, "schema.json")))
        chosen, drift = report["chosen"]["drift"], schema["info"]["series"]["drift"]
        assert schema["info"]["series"]["transform"] == "seasonal_diff"
        if name == "steady":
            assert drift == ["training"] and chosen.startswith("y: the training rows' mean step")
            continue
        assert drift == ["window"] and chosen.startswith("y: the window's mean step (MAE")
        model = build_model(ModelConfig(units=4, shrink=True), schema)
        assert model.get_layer("series_inverse").drift == ["window"]
        model.get_layer("series_inverse").shrink_weight.assign([0.4])
        x, _ = series_windows(schema["info"], {"y": values}, False)
        model.save(str(tmp_path / "m.keras"))
        loaded = keras.models.load_model(str(tmp_path / "m.keras"))
        np.testing.assert_allclose(loaded(x[-3:]), model(x[-3:]), rtol=1e-6)
    # a transform given by the user has no step to choose
    given = import_series(
        [str(tmp_path / "growing.csv")],
        str(tmp_path / "given"),
        SeriesColumns(time="t", target="y", horizon=8, transform="seasonal_diff:4"),
        ReadOptions(progress=False),
    )
    assert "drift" not in given["chosen"]
