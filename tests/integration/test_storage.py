"""Remote storage against a real Ceph cluster (mon + OSD + radosgw on 127.0.0.1, started by
the `ceph` fixture): in the main environment s3:// goes through s3fs on current TensorFlow;
in the io environment (.ci/run sets KLO_S3_CLIENT=tensorflow there) the same tests go
through TensorFlow's own file system from tensorflow-io.

`data make` and `data import` write shards to the bucket in a fresh process; a run whose
data, backups and run directory are all in the bucket completes, can be listed, loaded and
evaluated from it, and resumes from its backup there after SIGKILL; staging downloads once,
reuses while ETags match, resumes a cut download, stays in its size bound; streaming reads
the same records; bad endpoints, buckets and credentials fail at once, writing nothing;
no secret reaches a log or config.yaml."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from keras_lstm_opt.io import fs
from keras_lstm_opt.io.storage import StorageError, check_paths, load_plugins, redact

from ..ceph_cluster import ceph  # noqa: F401  (the fixture)
from ..conftest import console_script, time_limit

TF_S3 = os.environ.get("KLO_S3_CLIENT") == "tensorflow"
io_only = pytest.mark.skipif(
    not TF_S3 or load_plugins() is not None,
    reason="TensorFlow's own s3:// (the io environment, KLO_S3_CLIENT=tensorflow) only",
)
pytestmark = pytest.mark.storage


def _s3():
    """The test's own view of the bucket (s3fs, whatever client the code under test uses)."""
    return fs.s3()


def _keys(prefix: str) -> list[str]:
    base = f"klo/{prefix}"
    return sorted(p[len(base) :] for p in _s3().find(base))


def _read(key: str) -> bytes:
    return bytes(_s3().cat_file(f"klo/{key}"))


@pytest.fixture()
def stage(tmp_path, monkeypatch):
    d = tmp_path / "stage"
    monkeypatch.setenv("KLO_STAGE_DIR", str(d))
    return d


@pytest.fixture(scope="module")
def s3_text(ceph) -> str:  # noqa: F811
    """The embedded text data, written to the bucket by `data make` in a fresh process."""
    proc = subprocess.run(
        [
            console_script(),
            "data",
            "make",
            "--task",
            "text",
            "--examples",
            "2000",
            "--seed",
            "7",
            "--out",
            "s3://klo/text",
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return "s3://klo/text"


def _train(run_dir: str, data: str, *extra: str, **kw):
    return subprocess.Popen(
        [
            console_script(),
            "train",
            "--run-dir",
            run_dir,
            "--set",
            f"data.path={data}",
            "--set",
            "model.units=16",
            "--set",
            "train.verbose=epoch",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def test_hdfs_without_tensorflow_io_fails_fast_and_writes_nothing(tmp_path):
    if load_plugins() is None:
        pytest.skip("tensorflow-io works here")
    run = tmp_path / "run"
    proc = subprocess.run(
        [
            console_script(),
            "train",
            "--run-dir",
            str(run),
            "--set",
            "data.path=hdfs://nn:8020/text",
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1 and "hdfs://nn:8020/text" in errors[0]
    assert "keras-lstm-opt[io]" in errors[0] and not run.exists()


def test_bad_endpoint_bucket_or_credentials_fail_at_once_naming_the_key(
    ceph,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    if TF_S3:
        pytest.skip("s3fs's checks")
    with pytest.raises(
        StorageError,
        match=r"data.path = 's3://nope/x': the bucket 'nope' "
        r"does not exist at http://127\.0\.0\.1",
    ):
        check_paths({"data.path": "s3://nope/x"})
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
    fs._FS.clear()
    with pytest.raises(StorageError) as err:
        check_paths({"run_dir": "s3://klo/runs/x"})
    assert "run_dir = 's3://klo/runs/x'" in str(err.value)
    assert "(SignatureDoesNotMatch)" in str(err.value), str(err.value)
    assert "wrong-secret-value" not in str(err.value)
    monkeypatch.undo()
    fs._FS.clear()
    # the CLI: a dead endpoint is one error line, exit 1, nothing written
    run = tmp_path / "run"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    began = time.time()
    proc = subprocess.run(
        [console_script(), "train", "--run-dir", str(run), "--set", "data.path=s3://klo/text"],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
        env=env,
    )
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1, proc.stderr[-2000:]
    assert "data.path = 's3://klo/text' cannot be reached at http://127.0.0.1:9" in errors[0]
    assert "Traceback" not in proc.stderr and not run.exists()
    assert time.time() - began < time_limit(120)


def test_credentials_in_paths_are_refused_and_redacted(monkeypatch):
    with pytest.raises(StorageError, match="credentials inside a path"):
        check_paths({"data.path": "s3://AKIAXX:topsecret@bucket/text"})
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    text = redact("failed with s3cr3t-value at s3://id:pw@bucket/x")
    assert "s3cr3t-value" not in text and "pw@" not in text


def test_data_make_and_import_write_to_s3_and_training_reads_it(ceph, tmp_path, stage):  # noqa: F811
    """`data make --out s3://...` in a fresh process, as a user would run it; the shards
    and schema.json land in the bucket; `data import` of a CSV in the bucket too."""
    proc = subprocess.run(
        [
            console_script(),
            "data",
            "make",
            "--task",
            "text",
            "--examples",
            "400",
            "--out",
            "s3://klo/made",
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert (
        "wrote s3://klo/made (train: 320 examples in 4 shard(s), validation: 80 "
        "examples in 1 shard(s))" in proc.stdout
    ), proc.stdout
    keys = _keys("made/")
    shards = [f"train-{i:05d}-of-00004.tfrecord.gz" for i in range(4)]
    assert keys == sorted(["schema.json", *shards, "validation-00000-of-00001.tfrecord.gz"])
    assert not [n for n in os.listdir(tmp_path) if n != "stage"]  # no ./s3:/ written
    schema = json.loads(_read("made/schema.json"))
    assert schema["splits"]["train"] == {"files": shards, "examples": 320}
    assert schema["features"]["tokens"] == {"dtype": "int64", "shape": [None]}
    rows = "".join(
        f"{'good fine great' if i % 2 else 'bad awful poor'} item {i},{'pos' if i % 2 else 'neg'}\n"
        for i in range(200)
    )
    _s3().pipe_file("klo/raw/reviews.csv", ("text,label\n" + rows).encode())
    proc = subprocess.run(
        [
            console_script(),
            "data",
            "import",
            "s3://klo/raw/reviews.csv",
            "--out",
            "s3://klo/imported",
            "--text",
            "text",
            "--label",
            "label",
            "--validation-fraction",
            "0.2",
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    imported = json.loads(_read("imported/schema.json"))
    assert imported["info"]["class_names"] == ["neg", "pos"]
    assert not [k for k in _keys("imported/") if "tmp" in k], _keys("imported/")
    run = tmp_path / "run"
    train = _train(str(run), "s3://klo/made", "--set", "train.epochs=1")
    out, _ = train.communicate(timeout=time_limit(600))
    assert train.returncode == 0, out[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"] == "s3://klo/made" and metrics["epochs_completed"] == 1
    # the Python writer, in this process, with plain lists
    from keras_lstm_opt import read_schema, write_tfrecords

    write_tfrecords("s3://klo/lists", {"tokens": [[1, 2, 3], [4]], "label": [0, 1]})
    assert read_schema("s3://klo/lists")["splits"]["train"]["examples"] == 2


def test_run_on_s3_completes_lists_loads_and_evaluates(ceph, s3_text, tmp_path, stage):  # noqa: F811
    proc = _train("s3://klo/runs/full", s3_text, "--set", "train.epochs=4")
    out, _ = proc.communicate(timeout=time_limit(600))
    assert proc.returncode == 0, out[-3000:]
    for secret in (ceph.secret_key, ceph.access_key):
        assert secret not in out
    keys = _keys("runs/full/")
    for name in (
        "metrics.json",
        "config.yaml",
        "model.keras",
        "curves.png",
        "history.csv",
        "checkpoints/best.weights.h5",
    ):
        assert name in keys, keys
    assert any(k.startswith("tensorboard/") for k in keys)
    assert not any(k.startswith("backup/") for k in keys)  # removed once the run finished
    metrics = json.loads(_read("runs/full/metrics.json"))
    print({"val_accuracy": metrics["val_accuracy"]})
    # 0.4 of the known best (0.95, the label noise's ceiling), 0.38, above the validation
    # split's majority class (0.29): 4 epochs of 16 units on 1,600 rows reach 0.46 here
    best = json.loads(_read("text/schema.json"))["info"]["known_best_accuracy"]
    assert metrics["val_accuracy"] > 0.4 * best and metrics["epochs_completed"] == 4
    config = _read("runs/full/config.yaml")
    assert ceph.secret_key.encode() not in config and ceph.access_key.encode() not in config
    assert len(_read("runs/full/history.csv").decode().splitlines()) == 5
    # a fresh process loads and evaluates the run from the bucket
    ev = subprocess.run(
        [console_script(), "evaluate", "s3://klo/runs/full"],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert ev.returncode == 0, ev.stderr[-3000:]
    evaluation = json.loads(_read("runs/full/evaluation.json"))
    assert abs(evaluation["accuracy"] - metrics["val_accuracy"]) < 1e-6
    if not TF_S3:  # staged once into KLO_STAGE_DIR, not re-downloaded by evaluate
        assert "staged" in out and list(stage.rglob("train-00000-of-00004.tfrecord.gz"))


def test_resume_from_s3_backup_after_kill(ceph, s3_text, stage):  # noqa: F811
    run, extra = (
        "s3://klo/runs/killed",
        ("--set", "train.epochs=3", "--set", "train.backup_every_steps=5"),
    )
    proc = _train(run, s3_text, *extra, start_new_session=True)
    deadline = time.time() + time_limit(300)
    while "backup/checkpoint" not in _keys("runs/killed/"):
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()[-3000:]
        time.sleep(0.2)
    killed_at = time.time()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=time_limit(60))
    keys = _keys("runs/killed/")
    assert "metrics.json" not in keys
    index = _read("runs/killed/backup/checkpoint").decode()
    newest = index.split('"')[1]
    assert f"backup/{newest}.index" in keys, (index, keys)  # data before the index
    began = time.time()
    again = _train(run, s3_text, *extra)
    out, _ = again.communicate(timeout=time_limit(600))
    assert again.returncode == 0, out[-3000:]
    metrics = json.loads(_read("runs/killed/metrics.json"))
    print(
        json.dumps(
            {
                "resumed_from_step": metrics["resumed_from_step"],
                "resume_seconds": round(metrics["resume_seconds"], 3),
                "rerun_wall_seconds": round(time.time() - began, 1),
                "kill_to_rerun_end_seconds": round(time.time() - killed_at, 1),
            }
        )
    )
    assert metrics["resumed_from_step"] == int(newest.split("-")[1])
    assert f"resuming from the backup {run}/backup/{newest}" in out, out[-3000:]
    assert metrics["epochs_completed"] == 3
    assert len(_read("runs/killed/history.csv").decode().splitlines()) == 4


def test_staging_reuses_resumes_checks_and_stays_bounded(ceph, s3_text, tmp_path, caplog):  # noqa: F811
    if TF_S3:
        pytest.skip("TensorFlow reads s3:// itself: nothing is staged")
    import logging

    from keras_lstm_opt.io.staging import stage_files

    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    urls = fs.glob(s3_text + "/train-*")
    d = str(tmp_path / "st")
    with pytest.MonkeyPatch.context() as mp:  # a progress line at every block
        mp.setenv("KLO_PROGRESS_SECONDS", "0")
        local = stage_files(urls, d)
    assert "4 downloaded" in caplog.text
    from keras_lstm_opt.progress import amount

    total = sum(fs.info(u)["size"] for u in urls)
    done, of = amount(total, "bytes").rsplit(" ", 1)[0], amount(total, "bytes")
    assert f"staging 4 shard(s): {done} of {of} (100%)" in caplog.text
    assert f"staging {urls[0]}: " in caplog.text  # each shard's own lines too
    assert [open(p, "rb").read() for p in local] == [_read(u[9:]) for u in urls]
    caplog.clear()
    assert stage_files(urls, d) == local and "0 downloaded" in caplog.text  # ETags match
    # a changed object is fetched again; the others are reused
    original = _read(urls[0][9:])
    _s3().pipe_file(urls[0][5:], b"changed")
    caplog.clear()
    stage_files(urls[:1], d)
    assert "1 downloaded (7 bytes)" in caplog.text and open(local[0], "rb").read() == b"changed"
    _s3().pipe_file(urls[0][5:], original)  # as it was, for the tests after this one
    # a cut download continues where it stopped (range read)
    os.remove(local[2])
    os.remove(local[2] + ".meta")
    full = _read(urls[2][9:])
    info = fs.info(urls[2])
    with open(local[2] + ".part", "wb") as fh:
        fh.write(full[: len(full) // 2])
    with open(local[2] + ".part.meta", "w") as fh:
        json.dump({"size": info["size"], "etag": info["etag"]}, fh)
    caplog.clear()
    stage_files(urls[2:3], d)
    assert f"1 downloaded ({len(full) - len(full) // 2} bytes)" in caplog.text
    assert open(local[2], "rb").read() == full
    # the bound: too small for the shards is one clear error
    with pytest.raises(StorageError, match="more than data.stage_max_gib"):
        stage_files(urls, d, max_bytes=10)
    # shards a live process uses stay; the others go, least recently used first
    from keras_lstm_opt.io import staging as remote_read

    for pin in remote_read._PINS.values():  # as if the runs that staged them had ended
        pin.close()
    remote_read._PINS.clear()
    stage_files(urls[:1], d)  # in use by this process from now on
    sizes = sorted(os.path.getsize(p) for p in local[1:])
    caplog.clear()
    stage_files(urls[3:], d, max_bytes=sizes[-1] + 1)
    assert "2 old one(s) removed" in caplog.text
    assert [os.path.exists(p) for p in local] == [True, False, False, True]


def test_streamed_reads_the_same_records_as_staged(ceph, s3_text, tmp_path):  # noqa: F811
    if TF_S3:
        pytest.skip("s3fs's reader")
    import dataclasses

    import numpy as np

    from keras_lstm_opt.config import DataConfig
    from keras_lstm_opt.data.pipeline import make_dataset, resolve_files

    got = {}
    for how in ("stage", "stream"):
        cfg = DataConfig(
            path=s3_text,
            remote_read=how,
            stage_dir=str(tmp_path / "st"),
            shuffle_files=False,
            cache="none",
        )
        files = resolve_files(dataclasses.replace(cfg))
        ds = make_dataset(cfg, files.schema, files.train, 64, training=False)
        got[how] = np.concatenate([y.numpy() for _, y in ds])
    assert len(got["stage"]) == 1600 and np.array_equal(got["stage"], got["stream"])
    with pytest.raises(Exception, match="data.cache"):
        from keras_lstm_opt.config import load_config

        load_config(None, [f"data.path={s3_text}", "data.cache=s3://klo/cache/x"])


@io_only
def test_file_cache_and_snapshot_on_s3_are_fingerprinted(ceph, s3_text, caplog):  # noqa: F811
    import logging

    from keras_lstm_opt.config import DataConfig
    from keras_lstm_opt.data.pipeline import make_dataset, resolve_files

    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    for cache in ("s3://klo/cache/text", "snapshot:s3://klo/snap/text"):
        cfg = DataConfig(path=s3_text, cache=cache)
        files = resolve_files(cfg)
        counts = []
        for _ in range(2):
            ds = make_dataset(cfg, files.schema, files.train, 64, training=False)
            counts.append(sum(int(y.shape[0]) for _, y in ds))
        assert counts[0] == counts[1] == files.schema["splits"]["train"]["examples"]
        assert "data cache built" in caplog.text and "data cache hit" in caplog.text, cache
        caplog.clear()
    assert any(k.startswith("cache/text.validation-") for k in _keys(""))


def test_temporary_directories_of_killed_runs_are_swept(tmp_path, monkeypatch):
    """A SIGKILLed run cannot remove its staging and backup copies; the next start does,
    only for processes that are gone."""
    import tempfile

    from keras_lstm_opt.io import tempdirs

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = tmp_path / f"klo-stage-{dead.pid}-abc"
    live = tmp_path / f"klo-backup-{os.getpid()}-abc"
    fresh = tmp_path / f"klo-worker-{dead.pid}-new"
    for d in (gone, live, fresh):
        (d / "checkpoints").mkdir(parents=True)
    old = time.time() - 3600
    for d in (gone, live):
        os.utime(d, (old, old))
    assert tempdirs.sweep() == 1
    assert not gone.exists() and live.exists() and fresh.exists()
    assert os.path.basename(tempdirs.make("stage")).startswith(f"klo-stage-{os.getpid()}-")
