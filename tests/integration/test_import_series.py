"""Importing a raw series: the split by time, the transforms and their exact inverse in the
model, the scaling fitted on training rows only, the baselines, and bad rows named by file,
line and column (what the import chooses, and the models of the real CO2 record and others
trained on it: test_import_series_forecasts.py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from keras_lstm_opt.data.import_options import ReadOptions, SeriesColumns
from keras_lstm_opt.data.series import import_series, parse_transform, read_series, split_log
from keras_lstm_opt.data.series_windows import (
    last_value,
    seasonal_naive,
    series_windows,
    training_mean,
)
from keras_lstm_opt.errors import DataError, UsageError


def _csv(path, rows, header="date,y,f"):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header + "\n" + "".join(r + "\n" for r in rows))
    return str(path)


def _read_split(out, split):
    import tensorflow as tf

    schema = json.load(open(os.path.join(out, "schema.json")))
    files = [os.path.join(out, f) for f in schema["splits"][split]["files"]]
    spec = {
        "x": tf.io.FixedLenFeature(schema["features"]["x"]["shape"], tf.float32),
        "y": tf.io.FixedLenFeature(schema["features"]["y"]["shape"], tf.float32),
    }
    xs, ys = [], []
    for rec in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        ex = tf.io.parse_single_example(rec, spec)
        xs.append(ex["x"].numpy())
        ys.append(ex["y"].numpy())
    return schema, np.stack(xs), np.stack(ys)


@pytest.mark.parametrize(
    "transform,horizon",
    [
        ("none", 5),
        ("diff", 5),
        ("seasonal_diff:4", 3),
        ("seasonal_diff:4", 11),
        ("log", 5),
        ("log+diff", 5),
        ("log+seasonal_diff:4", 11),
    ],
)
def test_the_model_layers_invert_the_transform_exactly(transform, horizon):
    from keras_lstm_opt.models.series import SeriesInverse, SeriesPreprocess

    logs, given = split_log(transform)
    name, lag, _ = parse_transform(given)
    rng = np.random.default_rng(0)
    series = rng.normal(size=(80, 3)).cumsum(axis=0).astype("float32") + 100
    args = {
        "targets": [0, 1],
        "transform": name,
        "lag": lag,
        "mean": [0.3, -0.2, 1.0],
        "std": [1.5, 0.5, 2.0],
        "log": logs,
    }
    n, w = 20, 6
    long = np.stack([series[i : i + w + lag + horizon] for i in range(n)])
    raw, future = long[:, : w + lag], long[:, w + lag :, :2]
    # the scaled, transformed future as the head would predict it perfectly
    scaled = np.asarray(SeriesPreprocess(**args)(long))[:, -horizon:, :2]
    assert np.asarray(SeriesPreprocess(**args)(raw)).shape == (n, w, 3)
    back = np.asarray(SeriesInverse(**args, horizon=horizon)([scaled.reshape(n, -1), raw]))
    np.testing.assert_allclose(back, future.reshape(n, -1), atol=2e-4)
    if logs:  # the targets' logarithms in, the feature column as it is
        pre = np.asarray(SeriesPreprocess(**{**args, "transform": "none", "lag": 0})(raw))
        np.testing.assert_allclose(pre[..., 0] * 1.5 + 0.3, np.log(raw[..., 0]), rtol=1e-5)
        np.testing.assert_allclose(pre[..., 2] * 2.0 + 1.0, raw[..., 2], rtol=1e-5)
    with pytest.raises(UsageError, match="lag must be"):
        SeriesPreprocess(**{**args, "lag": lag + 1 if name != "seasonal_diff" else 0})


def test_a_log_import_scales_the_logs_and_its_model_forecasts_in_original_units(tmp_path):
    values = np.exp(0.05 * np.arange(60) + 0.1 * np.sin(np.arange(60)))
    rows = [f"{2000 + i // 12}-{i % 12 + 1:02d}-01,{float(v)!r},0" for i, v in enumerate(values)]
    src = _csv(tmp_path / "s.csv", rows)
    out = str(tmp_path / "d")
    import_series(
        [src],
        out,
        SeriesColumns(time="date", target="y", window=4, horizon=2, transform="log+diff"),
        ReadOptions(progress=False),
    )
    schema = json.load(open(os.path.join(out, "schema.json")))
    s = schema["info"]["series"]
    assert (s["transform"], s["log"], s["lag"]) == ("diff", True, 1)
    growth = np.diff(np.log(values[: s["train_rows"]]))  # what the model learns from
    assert s["mean"][0] == pytest.approx(growth.mean()) and s["std"][0] == pytest.approx(
        growth.std()
    )
    from keras_lstm_opt.models.series import SeriesInverse

    args = {k: s[k] for k in ("transform", "lag", "mean", "std", "log")}
    x, _ = series_windows(schema["info"], {"y": values[:10], "f": np.zeros(10)}, False)
    zero = np.zeros((len(x), 2), "float32")  # the mean growth of the training rows, on
    forecast = np.asarray(SeriesInverse(targets=[0], horizon=2, **args)([zero, x]))
    expected = values[9] * np.exp(growth.mean() * np.array([1, 2]))
    np.testing.assert_allclose(forecast[-1], expected, rtol=1e-4)
    # auto never takes the log (it forecast worse on the suite's dev half): it says so
    report = import_series(
        [src], str(tmp_path / "auto"), SeriesColumns(time="date", target="y", horizon=2)
    )
    assert report["chosen"]["log"].startswith("no log (auto")
    auto = json.load(open(os.path.join(tmp_path, "auto", "schema.json")))["info"]["series"]
    assert auto["log"] is False
    # a value at or below 0 cannot be logged: named by file and line, nothing written
    bad = _csv(tmp_path / "b.csv", [*rows[:30], "2002-07-01,0,0", *rows[31:]])
    with pytest.raises(DataError, match=r"b\.csv, line 32, column 'y': 0 is not above 0"):
        import_series(
            [bad],
            str(tmp_path / "b"),
            SeriesColumns(time="date", target="y", window=4, horizon=2, transform="log"),
            ReadOptions(progress=False),
        )
    assert not os.path.exists(tmp_path / "b")
    # a log model's windows: a value at or below 0 is named, not clamped
    table = {"y": np.r_[values[:9], -1.0], "f": np.zeros(10)}
    with pytest.raises(DataError, match=r"row 10, column 'y': -1 is not above 0, and the model"):
        series_windows(schema["info"], table, False)


def test_split_by_time_windows_and_scaling(tmp_path):
    # y = the row index (so a window's values say which rows it read); f = noise
    rng = np.random.default_rng(1)
    f = rng.normal(size=50)
    rows = [f"{2000 + i // 12}-{i % 12 + 1:02d}-01,{i * i},{f[i]}" for i in range(50)]
    src = _csv(tmp_path / "s.csv", rows[::-1])  # out of order: sorted by time
    out = str(tmp_path / "d")
    report = import_series(
        [src],
        out,
        SeriesColumns(
            time="date", target="y", features=["f"], window=4, horizon=3, transform="diff"
        ),
        ReadOptions(validation_fraction=0.2, progress=False),
    )
    schema, x, y = _read_split(out, "train")
    info = schema["info"]
    s = info["series"]
    split = s["train_rows"]
    assert (split, s["validation_rows"], s["split_time"]) == (40, 10, "2003-05-01")
    assert report["windows"] == {"train": 40 - 5 - 3 + 1, "validation": 10 - 3 + 1}
    idx_x, idx_y = np.sqrt(x[..., 0]), np.sqrt(y)
    assert idx_x.max() < split and idx_y.max() < split  # training: inputs and targets
    np.testing.assert_allclose(
        x[:, :, 1], np.stack([f[i : i + 5] for i in range(len(x))]), rtol=1e-6
    )
    _, xv, yv = _read_split(out, "validation")
    iv, jv = np.sqrt(xv[..., 0]), np.sqrt(yv)
    assert jv.min() == split and jv.max() == 49  # targets in the validation period
    assert (iv.max(axis=1) < jv.min(axis=1)).all()  # inputs before their targets
    assert iv[0, -1] == split - 1
    # scaling: of the transformed columns, on training rows [lag, split) only
    d = np.diff(np.arange(split) ** 2.0)
    np.testing.assert_allclose(s["mean"], [d.mean(), f[1:split].mean()])
    np.testing.assert_allclose(s["std"], [d.std(), f[1:split].std()])
    # series_windows rebuilds the validation windows from the raw table
    xs, ys = series_windows(info, {"y": np.arange(50.0) ** 2, "f": f}, targets=True)
    np.testing.assert_allclose(xs[-len(xv) :], xv, rtol=1e-6)
    np.testing.assert_allclose(ys[-len(yv) :], yv, rtol=1e-6)
    assert series_windows(info, np.zeros((9, 2)), targets=False)[0].shape == (5, 5, 2)
    # a second import into the same directory replaces the first one whole
    import_series(
        [src],
        out,
        SeriesColumns(time="date", target="y", window=3, horizon=2, transform="none"),
        ReadOptions(shards=2, progress=False),
    )
    schema = json.load(open(os.path.join(out, "schema.json")))
    assert (schema["info"]["window"], schema["info"]["series"]["lag"]) == (3, 0)
    assert sorted(os.listdir(out)) == sorted(
        [
            "schema.json",
            *schema["splits"]["train"]["files"],
            *schema["splits"]["validation"]["files"],
        ]
    )


def test_baselines_match_a_hand_computation(tmp_path):
    values = np.round(np.random.default_rng(2).normal(size=40) * 10, 3)
    src = _csv(tmp_path / "s.csv", [f"{i},{v}" for i, v in enumerate(values)], "t,y")
    out = str(tmp_path / "d")
    import_series(
        src,
        out,
        SeriesColumns(time="t", target="y", window=5, horizon=6, transform="none", season=4),
        ReadOptions(validation_fraction=0.25, progress=False),
    )
    info = json.load(open(os.path.join(out, "schema.json")))["info"]

    level = values[:30].mean()  # the training rows' mean

    def hand(first_targets):
        sn, lv, mean = [], [], []
        for t0 in first_targets:  # the first target of each window
            for h in range(6):
                k = h % 4  # two seasons ahead repeats the last observed season
                sn.append(abs(values[t0 - 4 + k] - values[t0 + h]))
                lv.append(abs(values[t0 - 1] - values[t0 + h]))
                mean.append(abs(level - values[t0 + h]))
        return {
            "seasonal_naive": np.mean(sn),
            "last_value": np.mean(lv),
            "training_mean": np.mean(mean),
        }

    on_val, on_train = hand(range(30, 40 - 6 + 1)), hand(range(5, 30 - 6 + 1))
    assert set(info["baselines"]) == set(info["baselines_train"]) == set(on_val)
    for name in on_val:
        assert info["baselines"][name] == pytest.approx(on_val[name], rel=1e-6)
        assert info["baselines_train"][name] == pytest.approx(on_train[name], rel=1e-6)
    # the baseline: the lower MAE on the training windows, reported on validation's
    best = min(on_train, key=on_train.get)
    assert info["baseline_mae"] == pytest.approx(on_val[best], rel=1e-6)
    x = np.arange(10.0).reshape(1, 5, 2)
    assert last_value(info, x[..., :1]).tolist() == [[8.0] * 6]
    assert seasonal_naive(info, x[..., :1]).tolist() == [[2.0, 4.0, 6.0, 8.0, 2.0, 4.0]]
    assert training_mean(info, x[..., :1]) == pytest.approx(np.full((1, 6), level))


@pytest.mark.parametrize(
    "rows,match",
    [
        (["2001-01-01,1,2", "2001-02-01,x,3"], r"s\.csv, line 3, column 'y': 'x' is not a number"),
        (["2001-01-01,1,2", "2001-02-01,,3"], r"s\.csv, line 3, column 'y': empty value"),
        (["2001-01-01,1,2", "Feb 2001,2,3"], r"s\.csv, line 3, column 'date': 'Feb 2001' is nei"),
        (
            ["2001-01-01,1,2", "2001-02-01,2,3", "2001-01-01,3,4"],
            r"s\.csv, line 4, column 'date': the time 2001-01-01 repeats .*s\.csv, line 2",
        ),
        (["2001-01-01,1,2", "5,2,3"], r"line 3, column 'date': a number, but the times before"),
    ],
)
def test_bad_rows_name_file_line_and_column(tmp_path, rows, match):
    src = _csv(tmp_path / "s.csv", rows)
    with pytest.raises(DataError, match=match):
        read_series([src], "date", ["y", "f"])


def test_missing_columns_skipped_rows_and_a_validation_file(tmp_path):
    src = _csv(tmp_path / "s.csv", ["2001-01-01,1,2"])
    with pytest.raises(DataError, match=r"s\.csv, line 1, column 'g': missing"):
        read_series([src], "date", ["y", "g"])
    jl = tmp_path / "s.jsonl"
    jl.write_text('{"date": "2001-01-01", "y": 1}\n{"date": "2001-02-01"}\n')
    with pytest.raises(DataError, match=r"s\.jsonl, line 2, column 'y': missing"):
        read_series([str(jl)], "date", ["y"])
    src = _csv(tmp_path / "s.csv", ["2001-01-01,1,2", "2001-02-01,oops,3", "2001-03-01,3,4"])
    got = read_series([src], "date", ["y"], on_bad_row="skip")
    assert got.values[:, 0].tolist() == [1.0, 3.0] and len(got.skipped) == 1
    early = _csv(tmp_path / "v.csv", ["2000-12-01,1,2"])
    with pytest.raises(
        DataError,
        match=r"v\.csv, line 2, column 'date': the validation "
        r"period must come after .* not after 2001-03-01",
    ):
        import_series(
            src,
            str(tmp_path / "o"),
            SeriesColumns(time="date", target="y", window=1, horizon=1),
            ReadOptions(validation=early, on_bad_row="skip", progress=False),
        )
    for bad in ("seasonal_diff:0", "seasonal", "diff:3"):
        with pytest.raises(UsageError, match="transform"):
            parse_transform(bad)


def test_skipped_rows_are_reported_as_the_text_import_reports_them(tmp_path, caplog):
    rows = [f"2001-01-{d:02d},{d},1" for d in range(1, 31)]
    rows[9] = "2001-01-10,oops,1"
    src = _csv(tmp_path / "s.csv", rows)
    with caplog.at_level("WARNING", logger="keras_lstm_opt"):
        report = import_series(
            src,
            str(tmp_path / "o"),
            SeriesColumns(time="date", target="y", window=4, horizon=2, transform="none"),
            ReadOptions(on_bad_row="skip", progress=True),
        )
    assert report["skipped"] == 1
    skipped = [r.getMessage() for r in caplog.records if "import: skipped" in r.getMessage()]
    assert len(skipped) == 1 and "s.csv, line 11, column 'y'" in skipped[0], skipped


def test_too_few_rows_for_validation_name_the_file_and_both_spellings(tmp_path):
    src = _csv(tmp_path / "tiny.csv", ["2001-01-01,1,2", "2001-01-02,2,3"])
    with pytest.raises(DataError) as info:
        import_series(
            src,
            str(tmp_path / "o"),
            SeriesColumns(time="date", target="y", horizon=7),
            ReadOptions(progress=False),
        )
    message = str(info.value)
    assert message.startswith(f"{src}: the series has 2 rows; the last 0.2 of them")
    assert "(validation_fraction, --validation-fraction) are 0, fewer than the horizon (7)" in (
        message
    )
    assert not os.path.exists(tmp_path / "o" / "schema.json")
