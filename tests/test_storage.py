"""Remote storage: s3:// fails fast where tensorflow-io cannot load (the main
environment), for reading and for writing; in the io environment (TensorFlow 2.16 +
tensorflow-io), `data make` writes a dataset to a real S3-compatible server (moto's
server mode on 127.0.0.1) that training then reads, and a run whose data, backups and run
directory are all on it completes, exits 0, can be listed and loaded from the bucket, and
resumes from its s3:// backup after a kill."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from keras_lstm_opt.data.storage import StorageError, check_paths, load_plugins, redact

from .conftest import console_script

IO_READY = load_plugins() is None
io_env = pytest.mark.skipif(not IO_READY, reason="needs the io extra (TensorFlow 2.16 + "
                            "tensorflow-io): the second CI environment runs these")
pytestmark = pytest.mark.storage


@pytest.mark.skipif(IO_READY, reason="tensorflow-io works here")
def test_remote_path_fails_fast_and_writes_nothing(tmp_path):
    from keras_lstm_opt.experiment import fit

    run = tmp_path / "run"
    with pytest.raises(StorageError) as err:
        fit(None, str(run), ["data.path=s3://bucket/text"])
    msg = str(err.value)
    assert "data.path = 's3://bucket/text'" in msg and "keras-lstm-opt[io]" in msg
    assert not run.exists()
    # the CLI: one error line, non-zero, nothing written
    proc = subprocess.run([console_script(), "train", "--run-dir", str(run),
                           "--set", "data.path=hdfs://nn:8020/text"],
                          capture_output=True, text=True, timeout=300)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1 and "hdfs://nn:8020/text" in errors[0]
    assert not run.exists()


@pytest.mark.skipif(IO_READY, reason="tensorflow-io works here")
def test_writing_to_s3_fails_fast_and_writes_nothing(tmp_path, monkeypatch):
    """Issue 14, finding 3: every writer checks its output like the read path does."""
    import numpy as np

    from keras_lstm_opt import write_tfrecords
    from keras_lstm_opt.data.cache import fingerprinted_cache
    from keras_lstm_opt.data.embedded import write_embedded
    from keras_lstm_opt.data.writer import write_csv, write_text_lines

    monkeypatch.chdir(tmp_path)  # a plain os.makedirs("s3://...") would land here
    src = tmp_path / "src"
    src.mkdir()
    (src / "s.csv").write_text("a,t\n1,2\n2,3\n3,4\n")
    (src / "l.txt").write_text("1\tthe cat\n0\ta dog\n")
    out = "s3://bucket/data"
    writes = {
        "write_tfrecords": lambda: write_tfrecords(out, {"tokens": [[1, 2], [3]],
                                                         "label": np.array([0, 1])}),
        "write_embedded": lambda: write_embedded("text", out, 400),
        "write_csv": lambda: write_csv(str(src / "s.csv"), out, ["t"], 1, 1, ["a"]),
        "write_text_lines": lambda: write_text_lines(str(src / "l.txt"), out),
        "fingerprinted_cache": lambda: fingerprinted_cache(out, "train", [], {}, {}),
    }
    for name, write in writes.items():
        with pytest.raises(StorageError) as err:
            write()
        msg = str(err.value)
        assert f"{out!r}" in msg and 'pip install "keras-lstm-opt[io]"' in msg, (name, msg)
    assert sorted(os.listdir(tmp_path)) == ["src"]
    # the CLI: one error line naming the path, exit 1, nothing written
    proc = subprocess.run([console_script(), "data", "make", "--task", "text", "--examples",
                           "400", "--out", out], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1, proc.stderr[-3000:]
    assert f"{out!r}" in errors[0] and "keras-lstm-opt[io]" in errors[0]
    assert "Traceback" not in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["src"]


def test_credentials_in_paths_are_refused_and_redacted(monkeypatch):
    with pytest.raises(StorageError, match="credentials inside a path"):
        check_paths({"data.path": "s3://AKIAXX:topsecret@bucket/text"})
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    text = redact("failed with s3cr3t-value at s3://id:pw@bucket/x")
    assert "s3cr3t-value" not in text and "pw@" not in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server on 127.0.0.1, with the environment tensorflow-io and boto3 read."""
    boto3 = pytest.importorskip("boto3")
    endpoint, server = os.environ.get("KLO_S3_ENDPOINT"), None  # .ci/run starts one
    if not endpoint:
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                   "-p", str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    env = {"AWS_ACCESS_KEY_ID": "klo-test-id", "AWS_SECRET_ACCESS_KEY": "klo-test-secret",
           "AWS_REGION": "us-east-1", "S3_ENDPOINT": endpoint,
           "S3_USE_HTTPS": "0", "S3_VERIFY_SSL": "0"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    client = boto3.client("s3", endpoint_url=env["S3_ENDPOINT"], region_name="us-east-1")
    deadline = time.time() + 60
    while True:
        try:
            client.create_bucket(Bucket="klo")
            break
        except Exception as exc:  # noqa: BLE001  (server still starting)
            if "BucketAlreadyOwnedByYou" in str(exc):
                break
            if time.time() > deadline or (server and server.poll() is not None):
                raise
            time.sleep(0.5)
    yield client
    if server:
        server.terminate()
        server.wait(timeout=30)
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _keys(client, prefix: str) -> list[str]:
    out = client.list_objects_v2(Bucket="klo", Prefix=prefix).get("Contents", [])
    return [o["Key"][len(prefix):] for o in out]


@pytest.fixture(scope="module")
def s3_text(s3_server, tmp_path_factory) -> str:
    from keras_lstm_opt.data.embedded import write_embedded

    local = write_embedded("text", str(tmp_path_factory.mktemp("s3text")), 2000, seed=7)
    for name in os.listdir(local):
        s3_server.upload_file(os.path.join(local, name), "klo", f"text/{name}")
    return "s3://klo/text"


def _train(run_dir: str, data: str, *extra: str, **kw):
    return subprocess.Popen([console_script(), "train", "--run-dir", run_dir,
                             "--set", f"data.path={data}", "--set", "model.units=16",
                             "--set", "train.verbose=epoch", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


@io_env
def test_data_make_writes_to_s3_and_training_reads_it(s3_server, tmp_path):
    """Issue 14, finding 3: `data make --out s3://...` in a fresh process, as a user would
    run it; the shards and schema.json land in the bucket and a run trains on them."""
    proc = subprocess.run([console_script(), "data", "make", "--task", "text",
                           "--examples", "400", "--out", "s3://klo/made"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "wrote s3://klo/made (train: 320 examples in 4 shard(s), validation: 80 " \
           "examples in 1 shard(s))" in proc.stdout, proc.stdout
    keys = _keys(s3_server, "made/")
    shards = [f"train-{i:05d}-of-00004.tfrecord.gz" for i in range(4)]
    for name in ("schema.json", *shards, "validation-00000-of-00001.tfrecord.gz"):
        assert name in keys, keys
    assert not [k for k in keys if k.endswith(".tmp")], keys
    assert os.listdir(tmp_path) == []  # nothing written locally (no ./s3:/ directory)
    schema = json.loads(s3_server.get_object(Bucket="klo", Key="made/schema.json")
                        ["Body"].read())
    assert schema["splits"]["train"] == {"files": shards, "examples": 320}
    assert schema["features"]["tokens"] == {"dtype": "int64", "shape": [None]}
    run = tmp_path / "run"
    train = _train(str(run), "s3://klo/made", "--set", "train.epochs=1")
    out, _ = train.communicate(timeout=600)
    assert train.returncode == 0, out[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"] == "s3://klo/made" and metrics["epochs_completed"] == 1
    assert metrics["task"] == "text" and metrics["steps_completed"] >= 1
    # the Python writer, in this process, with plain lists (finding 4 too)
    from keras_lstm_opt import read_schema, write_tfrecords

    write_tfrecords("s3://klo/lists", {"tokens": [[1, 2, 3], [4]], "label": [0, 1]})
    assert read_schema("s3://klo/lists")["splits"]["train"]["examples"] == 2
    assert "train-00000-of-00001.tfrecord.gz" in _keys(s3_server, "lists/")


@io_env
def test_run_on_s3_completes_lists_and_loads(s3_server, s3_text, tmp_path):
    proc = _train("s3://klo/runs/full", s3_text, "--set", "train.epochs=4")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    assert "klo-test-secret" not in out and "klo-test-id" not in out
    keys = _keys(s3_server, "runs/full/")
    for name in ("metrics.json", "config.yaml", "model.keras", "curves.png", "history.csv",
                 "checkpoints/best.weights.h5"):
        assert name in keys, keys
    assert any(k.startswith("tensorboard/") for k in keys)
    metrics = json.loads(s3_server.get_object(Bucket="klo", Key="runs/full/metrics.json")
                         ["Body"].read())
    assert metrics["val_accuracy"] > 0.4 and metrics["epochs_completed"] == 4
    config = s3_server.get_object(Bucket="klo", Key="runs/full/config.yaml")["Body"].read()
    assert b"klo-test" not in config
    local = tmp_path / "model.keras"
    s3_server.download_file("klo", "runs/full/model.keras", str(local))
    import keras

    from keras_lstm_opt import FastLSTM  # noqa: F401  (registers it for loading)

    assert keras.models.load_model(local).count_params() == metrics["params"]


@io_env
def test_resume_from_s3_backup_after_kill(s3_server, s3_text):
    run, extra = "s3://klo/runs/killed", ("--set", "train.epochs=3", "--set",
                                          "train.backup_every_steps=5")
    proc = _train(run, s3_text, *extra, start_new_session=True)
    deadline = time.time() + 300
    while "backup/checkpoint" not in _keys(s3_server, "runs/killed/"):
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()[-3000:]
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert "metrics.json" not in _keys(s3_server, "runs/killed/")
    began = time.time()
    again = _train(run, s3_text, *extra)
    out, _ = again.communicate(timeout=600)
    assert again.returncode == 0, out[-3000:]
    metrics = json.loads(s3_server.get_object(Bucket="klo", Key="runs/killed/metrics.json")
                         ["Body"].read())
    print(json.dumps({"resumed_from_step": metrics["resumed_from_step"],
                      "resume_seconds": metrics["resume_seconds"],
                      "rerun_wall_seconds": time.time() - began}))
    assert metrics["resumed_from_step"] >= 5 and "resuming from the backup s3://" in out
    assert metrics["epochs_completed"] == 3


@io_env
def test_file_cache_and_snapshot_on_s3_are_fingerprinted(s3_server, s3_text, caplog):
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
    assert any(k.startswith("cache/text.validation-") for k in _keys(s3_server, ""))
