"""load_run, evaluate and predict on small real runs: WordNet noun glosses (26 string
classes) and the Mauna Loa CO2 record, imported as a user would, trained one epoch.

Each run is built once per module (a few seconds each) and shared by the tests.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from keras_lstm_opt.errors import DataError, RunDirError, UsageError

from ..conftest import TINY_RUN as TINY
from ..conftest import time_limit

GLOSSES = [
    "a small domesticated carnivorous mammal with soft fur",
    "a period of time equal to one sixtieth of an hour",
    "!!!",
]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from benchmarks.corpora import write_wordnet
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit

    root = tmp_path_factory.mktemp("serve_text")
    src = str(root / "wordnet.csv")
    write_wordnet(src, rows=600, seed=1)
    import_data(src, str(root / "data"), text="text", label="label", progress=False)
    metrics = fit(None, run_dir=str(root / "run"), overrides=[*TINY, f"data.path={root / 'data'}"])
    # load_run in a fresh process, from a relative path, as a user's script would
    code = (
        "import json, keras_lstm_opt as klo; r = klo.load_run('run'); "
        f"print(json.dumps([r.task, r.predict({GLOSSES!r})]))"
    )
    fresh = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=str(root),
        text=True,
        stdout=subprocess.PIPE,
        stderr=open(root / "fresh.log", "w"),
    )
    yield {
        "root": str(root),
        "run": str(root / "run"),
        "src": src,
        "metrics": metrics,
        "fresh": fresh,
    }
    if fresh.poll() is None:
        fresh.kill()
        fresh.communicate()


def test_predict_takes_lists_arrays_series_frames_and_token_ids(text_run):
    import pandas as pd

    from keras_lstm_opt.data.text import encode_texts
    from keras_lstm_opt.serve.run import load_run

    run = load_run(text_run["run"])
    want = run.probabilities(GLOSSES)
    assert want.shape == (3, len(run.class_names))
    for given in (
        np.array(GLOSSES),
        pd.Series(GLOSSES),
        pd.DataFrame({"text": GLOSSES, "other": [1, 2, 3]}),
        [list(r[r > 0]) for r in encode_texts(run.info, GLOSSES)],
    ):
        got = run.predict(given)
        np.testing.assert_allclose(
            [[g["probabilities"][n] for n in run.class_names] for g in got], want, atol=1e-6
        )
    with pytest.raises(UsageError, match="no column 'text'"):
        run.predict(pd.DataFrame({"gloss": GLOSSES}))


def test_unfinished_missing_and_own_model_runs(tmp_path):
    import keras

    from keras_lstm_opt.serve.predict import predict_file
    from keras_lstm_opt.serve.run import evaluate_run, load_run

    own = tmp_path / "own"  # what klo.Trainer writes for a model of your own: no schema
    own.mkdir()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.save(own / "model.keras")
    (own / "metrics.json").write_text('{"val_loss": 1.0}')
    run = load_run(str(own))
    assert run.schema is None and run.task is None and run.class_names is None
    x = np.ones((3, 4), np.float32)
    np.testing.assert_allclose(run.predict(x), model.predict_on_batch(x), rtol=1e-6)
    with pytest.raises(UsageError, match="no schema.json"):
        evaluate_run(str(own))
    with pytest.raises(UsageError, match="load_run"):
        predict_file(str(own), str(tmp_path / "x.csv"))

    (tmp_path / "config.yaml").write_text("train: {epochs: 1}\n")
    with pytest.raises(RunDirError, match="not finished; resume it"):
        load_run(str(tmp_path))
    with pytest.raises(RunDirError, match="no such run directory"):
        load_run(str(tmp_path / "nope"))


def test_evaluate_on_the_validation_split_agrees_with_metrics_json(text_run):
    from keras_lstm_opt.serve.run import evaluate_run

    result = evaluate_run(text_run["run"])
    assert result["accuracy"] == pytest.approx(text_run["metrics"]["val_accuracy"], abs=1e-4)
    on_disk = json.load(open(os.path.join(text_run["run"], "evaluation.json")))
    assert on_disk["accuracy"] == result["accuracy"] and on_disk["split"] == "validation"
    names = on_disk["class_names"]
    assert set(on_disk["per_class"]) == set(names)
    cm = np.asarray(on_disk["confusion_matrix"])
    assert cm.shape == (len(names), len(names)) and cm.sum() == on_disk["examples"]
    assert sum(c["support"] for c in on_disk["per_class"].values()) == on_disk["examples"]
    # accuracy and macro-F1 again from the confusion matrix (F1 = 2 tp / (support +
    # predicted); the mean over the classes that occur in either, as scikit-learn)
    tp, support, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    seen = (support + predicted) > 0
    f1 = 2 * tp[seen] / (support + predicted)[seen]
    assert on_disk["accuracy"] == pytest.approx(tp.sum() / cm.sum())
    assert on_disk["macro_f1"] == pytest.approx(f1.mean())
    assert os.path.getsize(os.path.join(text_run["run"], "confusion_matrix.png")) > 1000


def test_evaluate_on_a_raw_csv_and_an_unknown_label(text_run, tmp_path):
    from keras_lstm_opt.serve.run import evaluate_run

    rows = list(csv.reader(open(text_run["src"], encoding="utf-8")))
    good = tmp_path / "new.csv"
    with open(good, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([rows[0], *rows[-40:]])
    result = evaluate_run(text_run["run"], data=str(good), out=str(tmp_path / "eval"))
    assert result["examples"] == 40 and result["split"] == "file"
    assert os.path.exists(tmp_path / "eval" / "evaluation.json")
    bad = tmp_path / "bad.csv"
    with open(bad, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([rows[0], *rows[1:3], ["a horse with a horn", "noun.unicorn"]])
    with pytest.raises(
        DataError,
        match=r"bad\.csv, line 4, column 'label': label "
        r"'noun.unicorn' is not one of the 2\d training",
    ):
        evaluate_run(text_run["run"], data=str(bad), out=str(tmp_path / "eval2"))


def test_predict_file_writes_csv_and_json_lines(text_run, tmp_path, capsys):
    from keras_lstm_opt.serve.predict import predict_file
    from keras_lstm_opt.serve.run import load_run

    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(json.dumps({"doc_id": i, "text": t, "x": 0}) + "\n" for i, t in enumerate(GLOSSES))
    )
    run = load_run(text_run["run"])
    want = run.predict(GLOSSES)
    out = predict_file(text_run["run"], str(src), out=str(tmp_path / "out.csv"))
    got = list(csv.DictReader(open(out, encoding="utf-8")))
    assert list(got[0])[:3] == ["doc_id", "text", "label"]
    assert [r["label"] for r in got] == [w["label"] for w in want]
    assert float(got[0][f"p_{run.class_names[0]}"]) == pytest.approx(
        want[0]["probabilities"][run.class_names[0]], abs=1e-6
    )
    out = predict_file(text_run["run"], str(src), out=str(tmp_path / "out.jsonl"))
    lines = [json.loads(line) for line in open(out, encoding="utf-8")]
    assert [r["doc_id"] for r in lines] == [0, 1, 2]
    assert [r["label"] for r in lines] == [w["label"] for w in want]
    assert predict_file(text_run["run"], str(src)) == "-"
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == lines
    with pytest.raises(UsageError, match=r"out\.txt: name it \.csv"):
        predict_file(text_run["run"], str(src), out=str(tmp_path / "out.txt"))


def test_predict_and_evaluate_show_their_progress(text_run, tmp_path, caplog, monkeypatch):
    import logging

    from keras_lstm_opt.serve.predict import predict_file
    from keras_lstm_opt.serve.run import evaluate_run

    monkeypatch.setenv("KLO_PROGRESS_SECONDS", "0")  # a line per batch, not per 10 s
    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    rows = list(csv.reader(open(text_run["src"], encoding="utf-8")))
    src = tmp_path / "many.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([rows[0], *rows[1:] * 4])
    predict_file(text_run["run"], str(src), out=str(tmp_path / "p.csv"), batch_rows=500)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("predict: ")]
    assert len(lines) >= 3 and "(100%)" in lines[-2] and ", ETA " in lines[0], lines
    caplog.clear()
    evaluate_run(text_run["run"], out=str(tmp_path / "eval"))  # the validation shards: rows
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("evaluate: ")]
    examples = json.load(open(os.path.join(text_run["root"], "data", "schema.json")))["splits"]
    total = examples["validation"]["examples"]
    assert lines and lines[-2].startswith(f"evaluate: {total:,} of {total:,} rows (100%)"), lines


def test_metrics_and_time_stamps_by_hand():
    from keras_lstm_opt.serve.evaluate_metrics import classification_metrics
    from keras_lstm_opt.serve.times import future_times

    p1 = np.array([0.9, 0.2, 0.7, 0.4])  # a binary head: P(class "yes")
    m = classification_metrics(np.array([1, 0, 0, 0]), np.stack([1 - p1, p1], 1), ["no", "yes"])
    assert m["accuracy"] == 0.75 and m["confusion_matrix"] == [[2, 1], [0, 1]]
    assert m["per_class"]["yes"] == {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert future_times(["2001-10-01", "2001-11-01", "2001-12-01"], 2) == [
        "2002-01-01",
        "2002-02-01",
    ]
    assert future_times(["2001-12-30T23:00:00", "2001-12-31T00:00:00"], 1) == [
        "2001-12-31T01:00:00"
    ]
    assert future_times([1998, 1999, 2000], 2) == [2001, 2002]
    assert future_times(["2001-01-01", "2001-01-02", "2001-01-04"], 1) is None
    assert future_times(["a", "b"], 1) is None


@pytest.fixture(scope="module")
def co2_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from benchmarks.corpora import write_co2
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit

    root = tmp_path_factory.mktemp("serve_co2")
    src = str(root / "co2.csv")
    write_co2(src)
    import_data(
        src,
        str(root / "data"),
        time="date",
        target="co2",
        window=24,
        horizon=12,
        transform="seasonal_diff:12",
        progress=False,
    )
    metrics = fit(None, run_dir=str(root / "run"), overrides=[*TINY, f"data.path={root / 'data'}"])
    return {"root": str(root), "run": str(root / "run"), "src": src, "metrics": metrics}


def test_forecast_from_raw_rows_and_windows_in_ppm(co2_run):
    import pandas as pd

    from keras_lstm_opt.data.series_windows import series_windows
    from keras_lstm_opt.serve.run import load_run

    run = load_run(co2_run["run"])
    assert run.task == "forecast" and run.targets == ["co2"] and run.window == 36
    rows = pd.read_csv(co2_run["src"])
    forecast = run.predict(rows)
    assert list(forecast.columns) == ["step", "date", "co2"] and len(forecast) == 12
    assert rows["date"].iloc[-1] == "2001-12-01" and forecast["date"].iloc[0] == "2002-01-01"
    last_year = rows["co2"].to_numpy()[-12:]
    assert np.all(np.abs(forecast["co2"].to_numpy() - last_year) < 10.0)  # ppm, not scaled
    x, _ = series_windows(run.info, {"co2": rows["co2"].to_numpy()}, targets=False)
    windows = run.predict(x[-3:])
    assert windows.shape == (3, 12, 1)
    np.testing.assert_allclose(windows[-1, :, 0], forecast["co2"], rtol=1e-6)
    np.testing.assert_allclose(
        run.predict(rows[["co2"]].to_numpy())[:, 0], forecast["co2"], rtol=1e-6
    )
    with pytest.raises(DataError, match="row 500, column 'co2': missing"):
        run.predict(rows.assign(co2=rows["co2"].where(rows.index != 499)))


def test_evaluate_forecast_against_baselines(co2_run, tmp_path):
    from keras_lstm_opt.serve.run import evaluate_run

    result = evaluate_run(co2_run["run"])
    assert result["mae"] == pytest.approx(co2_run["metrics"]["val_mae"], abs=1e-4)
    recorded = json.load(open(os.path.join(co2_run["run"], "schema.json")))["info"]["baselines"]
    for name in ("seasonal_naive", "last_value"):  # the same windows as at import
        assert result["baselines"][name]["mae"] == pytest.approx(recorded[name], abs=1e-4)
    assert [s["step"] for s in result["per_step"]] == list(range(1, 13))
    assert result["rmse"] >= result["mae"] > 0
    assert os.path.getsize(os.path.join(co2_run["run"], "forecast.png")) > 1000
    whole = evaluate_run(co2_run["run"], data=co2_run["src"], out=str(tmp_path))
    assert whole["examples"] == 526 - 36 - 12 + 1 and whole["split"] == "file"


def test_evaluate_refuses_data_imported_again_since_the_run(tmp_path):
    """A data directory imported again (another horizon) is named, not a reshape error."""
    from benchmarks.corpora import write_co2
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.errors import DataError
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.run import evaluate_run

    src, data, run = (str(tmp_path / p) for p in ("co2.csv", "data", "run"))
    write_co2(src)
    opts = {"time": "date", "target": "co2", "window": 24, "progress": False}
    import_data(src, data, horizon=12, **opts)
    fit(None, run_dir=run, overrides=[*TINY, f"data.path={data}"])
    import_data(src, data, horizon=6, **opts)
    with pytest.raises(DataError) as err:
        evaluate_run(run)
    assert str(err.value).startswith(f"{data}: its schema's info.") and (
        "imported again or separately since the run trained?" in str(err.value)
    )
    assert evaluate_run(run, data=src, out=str(tmp_path / "raw"))["split"] == "file"


def test_a_run_trained_on_a_relative_data_path_evaluates_from_anywhere(tmp_path, monkeypatch):
    """`train --set data.path=data` in one directory, `evaluate RUN` from another: the
    run keeps where its data is (metrics.json `data`, absolute), no --data needed."""
    from benchmarks.corpora import write_co2
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.run import evaluate_run

    (tmp_path / "work").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    write_co2("co2.csv")
    import_data("co2.csv", "data", time="date", target="co2", window=24, horizon=6, progress=False)
    metrics = fit(None, run_dir="run", overrides=[*TINY, "data.path=data"])
    assert metrics["data"] == str(tmp_path / "work" / "data")
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = evaluate_run(str(tmp_path / "work" / "run"), out="eval")
    assert result["split"] == "validation" and (tmp_path / "elsewhere" / "eval").is_dir()


def test_predict_file_forecasts_after_the_last_row(co2_run, tmp_path):
    import pandas as pd

    from keras_lstm_opt.serve.predict import predict_file
    from keras_lstm_opt.serve.run import load_run

    out = predict_file(co2_run["run"], co2_run["src"], out=str(tmp_path / "f.csv"))
    got = list(csv.DictReader(open(out, encoding="utf-8")))
    want = load_run(co2_run["run"]).predict(pd.read_csv(co2_run["src"]))
    assert [r["date"] for r in got] == list(want["date"])
    np.testing.assert_allclose([float(r["co2"]) for r in got], want["co2"], rtol=1e-6)


def test_load_run_in_a_fresh_process_from_a_relative_path(text_run):
    """Started by the fixture (it loads TensorFlow while the other tests run), checked
    last."""
    from keras_lstm_opt.serve.run import load_run

    stdout, _ = text_run["fresh"].communicate(timeout=time_limit(120))
    log = open(os.path.join(text_run["root"], "fresh.log")).read()
    assert text_run["fresh"].returncode == 0, log[-2000:]
    task, preds = json.loads(stdout.strip().splitlines()[-1])
    run = load_run(text_run["run"])
    assert task == run.task == "text" and len(run.class_names) > 10
    assert all(name.startswith("noun.") for name in run.class_names)
    here = run.predict(GLOSSES)
    for theirs, mine in zip(preds, here, strict=True):
        assert theirs["label"] == mine["label"] and theirs["label"] in run.class_names
        assert sum(mine["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        for name, p in mine["probabilities"].items():
            assert theirs["probabilities"][name] == pytest.approx(p, abs=1e-6)


def test_train_auto_chose_for_imported_text_and_kept_what_was_set(text_run):
    import yaml

    auto = text_run["metrics"]["auto"]
    assert (
        auto["model.pooling"]
        == {"value": "max_mean", "was": "last", "why": auto["model.pooling"]["why"]}
        and "tokens" in auto["model.pooling"]["why"]
    )
    assert auto["train.monitor"]["value"] == "val_accuracy"
    assert "train.batch_size" not in auto  # TINY sets it (to 32, auto's own pick too)
    assert text_run["metrics"]["monitor"] == "val_accuracy"
    with open(os.path.join(text_run["run"], "config.yaml")) as fh:
        saved = yaml.safe_load(fh)
    assert saved["model"]["pooling"] == "max_mean" and saved["model"]["input_dropout"] == 0.2
