"""The faults suite (`pytest -m faults`): bad inputs each end in one clear error that
names the file, key or record, and write nothing; a NaN blow-up is rolled back; SIGTERM
stops a run with a resumable backup. Counts feed the summary line (conftest.py)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from ..conftest import FAULTS, console_script, time_limit

pytestmark = [pytest.mark.faults]
TINY = [
    "model.units=4",
    "train.epochs=1",
    "train.batch_size=64",
    "train.verbose=silent",
    "data.cache=none",
]


def _records(path: str) -> list[bytes]:
    import tensorflow as tf

    return [r.numpy() for r in tf.data.TFRecordDataset(path, compression_type="GZIP")]


def _write(path: str, records: list[bytes]) -> None:
    import tensorflow as tf

    with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type="GZIP")) as w:
        for r in records:
            w.write(r)


def _example(**features) -> bytes:
    import tensorflow as tf

    def feat(v):
        v = np.asarray(v).ravel()
        if v.dtype.kind == "f":
            return tf.train.Feature(float_list=tf.train.FloatList(value=v))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=v))

    return tf.train.Example(
        features=tf.train.Features(feature={k: feat(v) for k, v in features.items()})
    ).SerializeToString()


def _replace_record(directory: str, index: int, fn) -> str:
    import tensorflow as tf

    shard = sorted(glob.glob(os.path.join(directory, "train-*")))[1]
    recs = _records(shard)
    ex = tf.train.Example.FromString(recs[index])
    recs[index] = fn(ex)
    _write(shard, recs)
    return os.path.basename(shard)


def _text_feature(ex, name):
    f = ex.features.feature[name]
    return list(f.int64_list.value) or list(f.float_list.value)


# Each case: (dataset to copy or None, how to break it, overrides, env, error type name,
# regex the message must match). A case returns the shard name it damaged, if any.
def _truncate(d):
    shard = sorted(glob.glob(os.path.join(d, "train-*")))[1]
    data = open(shard, "rb").read()
    open(shard, "wb").write(data[: len(data) // 2])
    return os.path.basename(shard)


def _garbage(d):
    shard = sorted(glob.glob(os.path.join(d, "train-*")))[1]
    recs = _records(shard)
    recs[3] = b"\x00\x01 not an Example \xff"
    _write(shard, recs)
    return os.path.basename(shard)


def _text(**change):
    def fn(d):
        return _replace_record(
            d,
            3,
            lambda ex: _example(
                **{
                    "tokens": _text_feature(ex, "tokens"),
                    "label": _text_feature(ex, "label"),
                    **change,
                }
            ),
        )

    return fn


def _forecast(**change):
    def fn(d):
        def mutate(ex):
            x = np.asarray(_text_feature(ex, "x"), "float32")
            y = np.asarray(_text_feature(ex, "y"), "float32")
            values = {"x": x, "y": y}
            for k, how in change.items():
                values[k] = how(values[k])
            return _example(**values)

        return _replace_record(d, 3, mutate)

    return fn


def _empty(d):
    for shard in glob.glob(os.path.join(d, "train-*")):
        _write(shard, [])


def _schema(edit):
    def fn(d):
        path = os.path.join(d, "schema.json")
        text = open(path).read()
        if edit == "delete":
            os.remove(path)
        elif edit == "json":
            open(path, "w").write(text[: len(text) // 2])
        else:
            s = json.loads(text)
            s["features"]["words"] = s["features"].pop("tokens")
            s["inputs"] = "words"
            open(path, "w").write(json.dumps(s))

    return fn


def _nan(v):
    v = v.copy()
    v[5] = np.nan
    return v


def _inf(v):
    v = v.copy()
    v[0] = np.inf
    return v


REC3 = r"record 3 "
CASES = {
    "truncated GZIP shard": ("text", _truncate, [], None, "DataError", r"train-00001.*record"),
    "record that is not an Example": ("text", _garbage, [], None, "DataError", REC3),
    "wrong feature type": (
        "text",
        _text(tokens=np.array([1.5, 2.5], "float32")),
        [],
        None,
        "DataError",
        REC3,
    ),
    "wrong feature length": ("forecast", _forecast(x=lambda v: v[:7]), [], None, "DataError", REC3),
    "label out of range": (
        "text",
        _text(label=[9]),
        [],
        None,
        "DataError",
        REC3 + r".*outside \[0, 4\)",
    ),
    "token id out of vocabulary": (
        "text",
        _text(tokens=[1, 2, 999]),
        [],
        None,
        "DataError",
        REC3 + r".*token id",
    ),
    "NaN feature": ("forecast", _forecast(x=_nan), [], None, "DataError", REC3 + ".*NaN"),
    "Inf target": ("forecast", _forecast(y=_inf), [], None, "DataError", REC3 + ".*Inf"),
    "sequence over max_length": (
        "text",
        None,
        ["data.max_length=8", "data.too_long=error"],
        None,
        "DataError",
        r"record 0 .*longer than",
    ),
    "empty dataset": ("text", _empty, [], None, "DataError", r"no examples"),
    "schema that does not match the records": (
        "text",
        _schema("rename"),
        [],
        None,
        "DataError",
        r"record 0 .*empty sequence in .words",
    ),
    "schema.json not valid JSON": (
        "text",
        _schema("json"),
        [],
        None,
        "DataError",
        r"schema.json: not valid JSON",
    ),
    "schema.json missing": (
        "text",
        _schema("delete"),
        [],
        None,
        "DataError",
        r"schema.json not found",
    ),
    "unknown config key": (
        None,
        None,
        ["model.unts=3"],
        None,
        "ConfigError",
        r"model.unts: unknown key.*units",
    ),
    "wrong config type": (
        None,
        None,
        ["model.layers=two"],
        None,
        "ConfigError",
        r"model.layers: expected an integer",
    ),
    "config value out of range": (
        None,
        None,
        ["train.learning_rate=-1"],
        None,
        "ConfigError",
        r"train.learning_rate",
    ),
    "missing data path": (
        None,
        None,
        ["data.path=/nonexistent/data"],
        None,
        "ConfigError",
        r"data.path: no such directory",
    ),
    "TF_CONFIG not JSON": (
        None,
        None,
        ["distribute.strategy=multi_worker_mirrored"],
        "{cluster:",
        "TFConfigError",
        r"TF_CONFIG is not valid JSON",
    ),
    "TF_CONFIG index out of range": (
        None,
        None,
        ["distribute.strategy=multi_worker_mirrored"],
        json.dumps(
            {
                "cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
                "task": {"type": "worker", "index": 5},
            }
        ),
        "TFConfigError",
        r"task.index: 5 is out of range",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_clear_error_and_writes_nothing(
    case, text_dir, forecast_dir, tmp_path, monkeypatch
):
    from keras_lstm_opt.experiment import fit

    task, damage, overrides, tf_config, kind, pattern = CASES[case]
    args = list(TINY)
    if task:
        data = tmp_path / "data"
        shutil.copytree(text_dir if task == "text" else forecast_dir, data)
        shard = damage(str(data)) if damage else None
        args += [f"data.path={data}", f"data.task={task}"]
        if task == "forecast":
            args.append("train.monitor=val_loss")
        if shard:
            pattern = rf"{shard}.*" + pattern.split("train-00001.*")[-1]
    if tf_config:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    run = tmp_path / "run"
    run.mkdir()
    (run / "keep.txt").write_text("written before")
    FAULTS["bad_inputs"] += 1
    began = time.monotonic()
    with pytest.raises(Exception) as err:
        fit(None, str(run), [*args, *overrides])
    FAULTS["fault_to_exit_seconds"].setdefault("bad input", []).append(time.monotonic() - began)
    FAULTS["data_lost"] += int((run / "keep.txt").read_text() != "written before")
    assert type(err.value).__name__ == kind, repr(err.value)
    import re

    assert re.search(pattern, str(err.value), re.S), str(err.value)
    assert (run / "keep.txt").read_text() == "written before"
    assert not (run / "metrics.json").exists()
    FAULTS["clear_errors"] += 1


def test_nan_blow_up_rolls_back_and_ends_in_the_clean_band(text_dir, tmp_path, monkeypatch):
    from keras_lstm_opt.experiment import fit

    common = [
        "model.units=16",
        "train.epochs=10",
        "train.verbose=silent",
        f"data.path={text_dir}",
        "train.backup_every_steps=5",
    ]
    clean = fit(None, str(tmp_path / "clean"), common)
    FAULTS["bad_inputs"] += 1
    monkeypatch.setenv("KLO_TEST_NAN_AT_STEP", "60")  # the loop's test hook
    hit = fit(None, str(tmp_path / "nan"), common)
    print(
        {
            "clean": clean["val_accuracy"],
            "rolled_back": hit["val_accuracy"],
            "rollbacks": hit["rollbacks"],
        }
    )
    assert len(hit["rollbacks"]) == 1
    rb = hit["rollbacks"][0]
    assert rb["restored_step"] == 60 and rb["at_step"] == 61 and rb["loss"] == "nan"
    assert rb["learning_rate"] == pytest.approx(0.0015, rel=1e-3)  # 0.003 x 0.5
    assert abs(hit["val_accuracy"] - clean["val_accuracy"]) <= 0.1
    FAULTS["clear_errors"] += 1


def test_blow_up_without_rollbacks_left_stops_with_the_reason(text_dir, tmp_path, monkeypatch):
    from keras_lstm_opt.errors import TrainingError
    from keras_lstm_opt.experiment import fit

    FAULTS["bad_inputs"] += 1
    monkeypatch.setenv("KLO_TEST_NAN_AT_STEP", "3")  # the loop's test hook
    with pytest.raises(TrainingError, match=r"loss nan at step 4 after 0 rollback"):
        fit(None, str(tmp_path / "run"), [*TINY, f"data.path={text_dir}", "train.nan_rollbacks=0"])
    assert not (tmp_path / "run" / "metrics.json").exists()
    FAULTS["clear_errors"] += 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_with_a_backup_and_the_rerun_resumes(sig, text_dir, tmp_path):
    run = tmp_path / "run"
    cmd = [
        console_script(),
        "train",
        "--run-dir",
        str(run),
        "--set",
        f"data.path={text_dir}",
        "--set",
        "train.epochs=30",
        "--set",
        "train.verbose=epoch",
        "--set",
        "model.units=8",
        "--set",
        "train.backup_every_steps=3",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + time_limit(120)
    while not (run / "backup" / "checkpoint").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.2)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=time_limit(60))
    took = time.monotonic() - sent
    FAULTS["kills"] += 1
    FAULTS["fault_to_exit_seconds"].setdefault(signal.Signals(sig).name, []).append(took)
    assert proc.returncode == 128 + sig, err[-2000:]
    line = next(ln for ln in err.splitlines() if ln.startswith("stopped:"))
    step = int(line.split(" at step ")[1].split(";")[0])
    FAULTS["data_lost"] += int(not (run / "backup" / "checkpoint").exists())
    assert (run / "backup" / "checkpoint").exists() and not (run / "metrics.json").exists()
    rerun = [c if c != "train.epochs=30" else "train.epochs=2" for c in cmd]
    again = subprocess.run(rerun, capture_output=True, text=True, timeout=time_limit(300))
    assert again.returncode == 0, again.stderr[-2000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == step
    FAULTS["resumed"] += 1
