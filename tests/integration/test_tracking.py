"""MLflow tracking against real MLflow: a tracking server started here on 127.0.0.1 (SQLite
behind it, artifacts served by it) for `train`, a local `sqlite:///` store for
`klo.Trainer` with `klo.MLflowCallback`; everything read back through MLflow's client."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from ..conftest import TINY_RUN as TINY
from ..conftest import time_limit, wait_for

mlflow = pytest.importorskip("mlflow", reason="needs the mlflow extra: pip install '.[mlflow]'")
pytestmark = pytest.mark.slow

FILES = {"model.keras", "history.csv", "curves.png", "metrics.json", "config.yaml", "schema.json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` on a free port of 127.0.0.1; its URL."""
    with _mlflow_server(tmp_path_factory.mktemp("mlflow")) as (url, _):
        yield url


@contextlib.contextmanager
def _mlflow_server(root: Any) -> Iterator[tuple[str, subprocess.Popen]]:
    import httpx

    from keras_lstm_opt.launch.launcher import free_ports

    port = free_ports(1)[0]
    log = open(root / "server.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
        + ["--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--workers", "1"]
        + ["--artifacts-destination", str(root / "artifacts")],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        # MLflow 3's job runner starts 8 more Python processes (Huey consumers) that no
        # tracking call uses: about 30 CPU-seconds of start-up each time the server starts
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        start_new_session=True,  # its uvicorn worker: one group to stop
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(url + "/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, time_limit(90), "mlflow server", procs=[proc],
                 detail=lambda: open(root / "server.log").read()[-2000:])  # fmt: skip
        yield url, proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=time_limit(30))
        log.close()


def _args(data: str, *sets: str) -> list[str]:
    return [f"--set={s}" for s in [*TINY, f"data.path={data}", "train.trackers=[mlflow]", *sets]]


def _train(
    run_dir: str,
    uri: str,
    data: str,
    *sets: str,
    check: bool = True,
    experiment: str = "klo-tests",
    cwd: str | None = None,
) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": experiment}
    args = _args(data, *sets)
    proc = subprocess.run(
        [sys.executable, "-m", "keras_lstm_opt.cli", "train", "--run-dir", run_dir, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=time_limit(300),
        cwd=cwd,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _flat(d: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v if isinstance(v, str) else json.dumps(v)
    return out


def test_train_logs_params_epochs_and_files_to_a_tracking_server(
    server: str, text_dir: str, tmp_path
) -> None:
    run_dir = str(tmp_path / "run")
    _train(run_dir, server, text_dir, "train.epochs=3")
    run_id = json.load(open(os.path.join(run_dir, "mlflow.json")))["run_id"]
    client = mlflow.MlflowClient(server)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "run"
    assert client.get_experiment(run.info.experiment_id).name == "klo-tests"
    # params: the resolved config, exactly as config.yaml in the run directory has it
    resolved = yaml.safe_load(open(os.path.join(run_dir, "config.yaml")))
    assert run.data.params == _flat(resolved)
    assert run.data.params["train.epochs"] == "3"
    # every epoch's metrics, step = epochs completed, equal to history.csv's
    history = [line.split(",") for line in open(os.path.join(run_dir, "history.csv"))]
    col = history[0].index("val_loss")
    logged = client.get_metric_history(run_id, "val_loss")
    per_epoch = {m.step: m.value for m in logged}
    assert sorted(per_epoch) == [1, 2, 3], logged
    for i, row in enumerate(history[1:], start=1):
        assert abs(per_epoch[i] - float(row[col])) < 1e-6
    # metrics.json's figures, and the run directory's files as artifacts
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    final = run.data.metrics
    assert abs(final["final_val_accuracy"] - metrics["val_accuracy"]) < 1e-9
    assert final["final_samples_per_second"] == pytest.approx(metrics["samples_per_second"])
    assert {a.path for a in client.list_artifacts(run_id)} >= FILES
    got = client.download_artifacts(run_id, "metrics.json", str(tmp_path))
    assert json.load(open(got)) == metrics


def test_a_stopped_run_resumes_into_the_same_mlflow_run(
    server: str, text_dir: str, tmp_path
) -> None:
    run_dir = str(tmp_path / "run")
    env = {**os.environ, "MLFLOW_TRACKING_URI": server}
    args = _args(text_dir, "train.epochs=40")
    proc = subprocess.Popen(
        [sys.executable, "-m", "keras_lstm_opt.cli", "train", "--run-dir", run_dir, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    history = os.path.join(run_dir, "history.csv")
    wait_for(lambda: os.path.exists(history) and len(open(history).readlines()) >= 3,
             time_limit(240), "two epochs", procs=[proc])  # fmt: skip
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=time_limit(120))
    assert proc.returncode == 130, err[-2000:]
    run_id = json.load(open(os.path.join(run_dir, "mlflow.json")))["run_id"]
    client = mlflow.MlflowClient(server)
    assert client.get_run(run_id).info.status == "KILLED"
    done = _train(run_dir, server, text_dir, "train.epochs=4")
    assert "continuing run " + run_id in done.stderr
    assert json.load(open(os.path.join(run_dir, "mlflow.json")))["run_id"] == run_id
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    steps = {m.step for m in client.get_metric_history(run_id, "loss")}
    assert steps == {1, 2, 3, 4}, steps


def test_an_unreachable_server_fails_before_training_or_warns(text_dir: str, tmp_path) -> None:
    from keras_lstm_opt.launch.launcher import free_ports

    nobody = f"http://127.0.0.1:{free_ports(1)[0]}"
    run_dir = str(tmp_path / "run")
    proc = _train(run_dir, nobody, text_dir, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: the MLflow tracking store {nobody} cannot be reached ("), last
    assert "Traceback" not in proc.stderr
    assert not os.path.exists(run_dir)  # nothing written, nothing trained
    proc = _train(run_dir, nobody, text_dir, "train.trackers_required=false")
    assert "training untracked (trackers_required: false)" in proc.stderr
    assert os.path.exists(os.path.join(run_dir, "metrics.json"))
    assert not os.path.exists(os.path.join(run_dir, "mlflow.json"))


def test_trainer_with_a_built_model_logs_to_a_sqlite_store(tmp_path, monkeypatch) -> None:
    import keras
    import numpy as np

    import keras_lstm_opt as klo
    from keras_lstm_opt.training.tracking import RunInfo

    monkeypatch.chdir(tmp_path)  # a sqlite store keeps artifacts in ./mlruns
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5, 3)).astype("float32")
    y = (x.sum(axis=(1, 2)) > 0).astype("float32")
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(1, activation="sigmoid")]
    )
    cb = klo.MLflowCallback(params={"units": 4, "data": {"rows": 96}}, tracking_uri=uri,
                            experiment="mine", run_name="first")  # fmt: skip
    trainer = klo.Trainer(model, loss="binary_crossentropy", metrics=["accuracy"],
                          run_dir="runs/first")  # fmt: skip
    trainer.fit(x, y, batch_size=32, epochs=2, validation_data=(x, y), callbacks=[cb])
    client = mlflow.MlflowClient(uri)
    run = client.get_run(cb.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "first"
    assert run.data.params == {"units": "4", "data.rows": "96"}
    logged = client.get_metric_history(cb.run_id, "val_accuracy")
    assert [m.step for m in logged] == [1, 2]  # one point per epoch
    assert run.data.metrics["final_val_accuracy"] == pytest.approx(trainer.metrics["val_accuracy"])
    assert {a.path for a in client.list_artifacts(cb.run_id)} >= FILES - {
        "schema.json",
        "config.yaml",
    }
    # another worker checks the store but logs nothing: only the chief does
    other = klo.MLflowCallback(tracking_uri=uri, experiment="mine")
    other.on_run_begin(RunInfo("runs/first", None, is_chief=False))
    assert other.run_id is None
    runs = client.search_runs([run.info.experiment_id])
    assert [r.info.run_id for r in runs] == [cb.run_id]


def test_plain_model_fit_keeps_the_params_given(tmp_path) -> None:
    import keras
    import numpy as np

    import keras_lstm_opt as klo

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    x = np.random.default_rng(0).normal(size=(64, 4, 2)).astype("float32")
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3), keras.layers.Dense(1)])
    model.compile(loss="mse")
    cb = klo.MLflowCallback(params={"plain": True}, tracking_uri=uri, experiment="plain")
    model.fit(x, x[:, 0, :1], epochs=2, verbose=0, callbacks=[cb])  # Keras sets cb.params
    run = mlflow.MlflowClient(uri).get_run(cb.run_id)
    assert run.data.params == {"plain": "true"} and run.info.status == "FINISHED"


def test_a_server_that_dies_mid_run_costs_one_warning_and_seconds(tmp_path, caplog) -> None:
    import logging
    import time

    import keras
    import numpy as np

    import keras_lstm_opt as klo

    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    with _mlflow_server(tmp_path) as (url, proc):
        x = np.random.default_rng(0).normal(size=(64, 4, 2)).astype("float32")
        model = keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3), keras.layers.Dense(1)])
        kill = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: epoch == 0 and os.killpg(proc.pid, signal.SIGKILL)
        )
        cb = klo.MLflowCallback(tracking_uri=url)
        began = time.monotonic()
        klo.Trainer(model, loss="mse", run_dir=str(tmp_path / "run")).fit(
            x, x[:, 0, :1], batch_size=16, epochs=4, callbacks=[kill, cb]
        )
        took = time.monotonic() - began
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mlflow: ")]
    assert any("could not log an epoch" in m and "untracked from here" in m for m in said), said
    assert not any(m.endswith(" finished") for m in said), said  # it could not be ended
    print(f"a dead server cost {took:.1f} s over 4 epochs")
    assert took < 60, took


def test_train_with_a_local_sqlite_store_and_a_deleted_experiment(text_dir, tmp_path) -> None:
    """No server: MLflow's SQLite store in the working directory (artifacts in ./mlruns);
    an experiment of that name that was deleted refuses the run: one line, exit 1."""
    uri = "sqlite:///mlflow.db"  # relative, as a user writes it
    run_dir = str(tmp_path / "run")
    _train(run_dir, uri, text_dir, "train.epochs=2", experiment="local", cwd=str(tmp_path))
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    run = client.get_run(json.load(open(os.path.join(run_dir, "mlflow.json")))["run_id"])
    assert run.info.status == "FINISHED" and run.data.params["train.epochs"] == "2"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [1, 2]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= FILES
    client.delete_experiment(client.get_experiment_by_name("local").experiment_id)
    proc = _train(str(tmp_path / "again"), uri, text_dir, experiment="local", cwd=str(tmp_path),
                  check=False)  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the MLflow tracking store sqlite:///mlflow.db refused the run")
    assert "Traceback" not in proc.stderr
