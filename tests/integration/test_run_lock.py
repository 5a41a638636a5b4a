"""One writer per run directory (issue 29, item 2), with real processes and real files.

A second `train` into a run directory that another `train` is writing exits 2 in under
2 s, naming the first (PID and host), and writes nothing; `evaluate` and `load_run` on the
live run name its trainer instead of advising to resume it; after `kill -9` of the first
the next `train` takes the lock over (a log line) and resumes from the backup. The same on
s3:// against the Ceph fixture, where the lock is an object with a heartbeat: a stale one
(another host's, its heartbeat older than the limit, shortened here) is taken over, and a
killed trainer's on this machine at once; a trainer whose lock object is taken over
(replaced under it) stops at its next step with one line naming the taker, exit 1,
without a backup or anything else written. An unwritable --run-dir is one line, exit 2.
`klo.Trainer` takes the lock for itself: refused while another process holds it,
re-entrant when this process already does (as `train` does before it runs the Trainer).
A search directory has one `tune` at a time.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from keras_lstm_opt.errors import RunDirBusyError, RunDirError
from keras_lstm_opt.training import run_lock

from ..ceph_cluster import ceph  # noqa: F401  (the fixture)
from ..conftest import REPO, console_script, time_limit, wait_for

HOST = socket.gethostname()
# 4 steps an epoch, a backup every 3: the first run is stopped long before its end (Keras's
# LSTM: nothing here depends on FastLSTM's kernels being built)
TRAIN = [
    "--set",
    "model.units=8",
    "--set",
    "model.lstm=keras",
    "--set",
    "train.steps_per_epoch=4",
    "--set",
    "train.backup_every_steps=3",
    "--set",
    "train.verbose=epoch",
    "--set",
    "train.early_stopping_patience=0",
]


def _train(run_dir: str, data: str, epochs: int) -> list[str]:
    return [
        console_script(),
        "train",
        "--run-dir",
        run_dir,
        "--set",
        f"data.path={data}",
        *TRAIN,
        "--set",
        f"train.epochs={epochs}",
    ]


def _start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with open(log, "w") as fh:  # a file, not a pipe: the trainer never blocks on it
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, text=True, env=env)


def _wait_for(ready, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    wait_for(
        ready,
        time_limit(timeout),
        "the first backup",
        procs=[proc],
        detail=lambda: log.read_text()[-3000:],
        interval=0.2,
    )


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def _refused(
    cmd: list[str],
    pid: int,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the CLI `cmd` (the console script's arguments, under `python -X importtime`)
    and check it was refused in one line, before TensorFlow was imported: what a
    refusal costs is the lock check, not a TensorFlow start (a clock would say the same
    only on an idle machine: 2.45 s once, beside an image build)."""
    assert cmd[0] == console_script(), cmd
    timed = [sys.executable, "-X", "importtime", "-m", "keras_lstm_opt.cli", *cmd[1:]]
    proc = subprocess.run(timed, capture_output=True, text=True, timeout=time_limit(120), env=env)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr[-3000:]
    assert f"is being trained by PID {pid} on {HOST} since " in errors[0], errors
    assert "Traceback" not in proc.stderr
    imported = [ln.rsplit("|", 1)[-1].strip() for ln in proc.stderr.splitlines()
                if ln.startswith("import time:")]  # fmt: skip
    assert "keras_lstm_opt.cli" in imported, proc.stderr[-2000:]
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras")], imported
    return proc


def _backup_step(index_text: str) -> int:
    return int(re.findall(r"ckpt-(\d+)", index_text)[-1])


def _holder(run_dir: Path) -> subprocess.Popen:
    """Another process holding `run_dir`'s lock (until killed)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom keras_lstm_opt.training.run_lock "
            "import hold\nhold(sys.argv[1])\nprint('held', flush=True)\ntime.sleep(120)",
            str(run_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


@pytest.mark.faults
def test_second_train_is_refused_at_once_and_a_killed_ones_lock_is_taken_over(text_dir, tmp_path):
    run = tmp_path / "run"
    first = _start(_train(str(run), text_dir, 1000), tmp_path / "first.log")
    try:
        _wait_for(lambda: (run / "backup" / "checkpoint").exists(), first, tmp_path / "first.log")
        os.kill(first.pid, signal.SIGSTOP)  # the run directory stays as it is meanwhile
        before = _snapshot(run)
        _refused(_train(str(run), text_dir, 2), first.pid)
        assert _snapshot(run) == before  # the second wrote nothing (history.csv included)
        # a live run: its trainer is named, not "resume it by training into it"
        evaluate = subprocess.run(
            [console_script(), "evaluate", str(run)],
            capture_output=True,
            text=True,
            timeout=time_limit(300),
        )
        assert evaluate.returncode == 2, evaluate.stderr[-2000:]
        assert f"being trained by PID {first.pid} on {HOST}" in evaluate.stderr
        assert "resume it" not in evaluate.stderr and "Traceback" not in evaluate.stderr
        import keras_lstm_opt as klo

        with pytest.raises(RunDirError, match=f"being trained by PID {first.pid} on "):
            klo.load_run(str(run))
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=time_limit(30))
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    step = _backup_step((run / "backup" / "checkpoint").read_text())
    again = subprocess.run(
        _train(str(run), text_dir, step // 4 + 2),
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"took over the lock of PID {first.pid} on {HOST}, which is gone" in again.stderr
    assert f"resuming from the backup {run}/backup/ckpt-{step} at step {step}" in again.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == step
    assert not (run / ".lock").exists()  # released at the end


def test_an_unwritable_run_dir_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    # root can write a chmod 0o500 directory: a file in the way and /proc stop everyone
    for run_dir, reason in (
        (blocker / "run", f"a file is in the way ({blocker})"),
        (blocker, "it is a file, not a directory"),
        (Path("/proc/klo-no-such/run"), "no directory can be created"),
    ):
        began = time.monotonic()
        proc = subprocess.run(
            [console_script(), "train", "--run-dir", str(run_dir)],
            capture_output=True,
            text=True,
            timeout=time_limit(120),
        )
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
        assert lines[0].startswith(f"error: cannot write run directory {run_dir}: {reason}")
        assert time.monotonic() - began < time_limit(10)  # before TensorFlow loads
    assert blocker.read_text() == "not a directory\n"


def _build():  # noqa: ANN202
    import keras

    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(1)(inp))


def test_trainer_refuses_another_processes_run_dir_and_re_enters_its_own(tmp_path, caplog):
    import keras_lstm_opt as klo

    run = tmp_path / "run"
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    holder = _holder(run)
    try:
        with pytest.raises(RunDirBusyError) as busy:
            klo.Trainer(_build, loss="mse", optimizer="sgd", run_dir=str(run)).fit(
                x, y, batch_size=16, epochs=1
            )
        assert busy.value.exit_code == 2 and busy.value.pid == holder.pid
        assert f"run directory {run} is being trained by PID {holder.pid} on {HOST}" in str(
            busy.value
        )
        assert sorted(p.name for p in run.iterdir()) == [".lock"]  # nothing written
    finally:
        holder.kill()
        holder.wait()
    # this process holds it (as `train` does), then its Trainer takes it again
    lock = run_lock.hold(str(run))
    try:
        with caplog.at_level(logging.INFO, logger="keras_lstm_opt"):
            klo.Trainer(_build, loss="mse", optimizer="sgd", run_dir=str(run)).fit(
                x, y, batch_size=16, epochs=1
            )
        assert f"took over the lock of PID {holder.pid} on {HOST}, which is gone" in caplog.text
        assert (run / "metrics.json").exists() and run_lock.holds(str(run))
        assert run_lock.owner(str(run)).pid == os.getpid()
    finally:
        lock.release()
    assert not run_lock.holds(str(run)) and not (run / ".lock").exists()


def test_a_search_directory_has_one_search(tmp_path):
    from keras_lstm_opt.config import load_config
    from keras_lstm_opt.tuning.search import tune

    run = tmp_path / "search"
    config = os.path.join(REPO, "configs", "tuning.yaml")
    holder = _holder(run)
    try:
        # distributed: refused before any tuner process starts (and before TensorFlow)
        _refused(
            [console_script(), "tune", config, "--run-dir", str(run), "--tuners", "2"], holder.pid
        )
        with pytest.raises(RunDirBusyError, match=f"being trained by PID {holder.pid} on "):
            tune(load_config(config), str(run))
        assert sorted(p.name for p in run.iterdir()) == [".lock"]  # no trial, no oracle
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture()
def s3(ceph):  # noqa: F811  (the Ceph fixture, imported above)
    """s3fs on the Ceph fixture's bucket; the lock object needs s3fs's conditional
    writes, so the io environment (TensorFlow's own s3://) skips these tests."""
    from keras_lstm_opt.io import fs

    if os.environ.get("KLO_S3_CLIENT") == "tensorflow":
        pytest.skip("the lock object through s3fs (conditional writes)")
    return fs.s3()


def _age(s3, path: str) -> float:  # noqa: ANN001
    """Seconds since the object at `path` was written (Ceph runs on this machine's clock)."""
    modified = s3.info(path, refresh=True)["LastModified"]
    return (datetime.now(UTC) - modified).total_seconds()


@pytest.mark.storage
@pytest.mark.faults
def test_s3_lock_object_stale_heartbeat_and_killed_owner_are_taken_over(s3, text_dir, tmp_path):
    env = {**os.environ, run_lock.STALE_ENV: "3"}
    run, key = "s3://klo/runs/locked", "klo/runs/locked"
    # another machine's lock: refused while its heartbeat is fresh, taken when stale
    s3.pipe_file(
        f"{key}/.lock.json",
        json.dumps(
            {
                "pid": 4242,
                "host": "elsewhere",
                "started": "2030-01-02T03:04:05+00:00",
                "token": "theirs",
            }
        ).encode(),
    )
    proc = subprocess.run(
        _train(run, text_dir, 2),
        capture_output=True,
        text=True,
        timeout=time_limit(120),
        env={**env, run_lock.STALE_ENV: "60"},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert (
        f"run directory {run} is being trained by PID 4242 on elsewhere since "
        "2030-01-02T03:04:05+00:00"
    ) in proc.stderr
    assert s3.find(key) == [f"{key}/.lock.json"]  # nothing else written
    wait_for(  # the case under test: their heartbeat goes stale (3 s, on the server's clock)
        lambda: _age(s3, f"{key}/.lock.json") > 4,
        time_limit(30),
        "the other machine's lock to be older than the stale limit",
        interval=0.2,
    )
    first = _start(_train(run, text_dir, 1000), tmp_path / "first.log", env=env)
    try:
        _wait_for(lambda: s3.exists(f"{key}/backup/checkpoint"), first, tmp_path / "first.log")
        log = (tmp_path / "first.log").read_text()
        assert re.search(
            r"took over the lock of PID 4242 on elsewhere, whose heartbeat "
            r"stopped \d+ s ago",
            log,
        ), log[-3000:]
        # longer than the stale limit since it took the lock: its heartbeat (every 0.75 s
        # here) keeps the lock fresh
        _refused(_train(run, text_dir, 2), first.pid, env=env)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=time_limit(30))
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    step = _backup_step(s3.cat_file(f"{key}/backup/checkpoint").decode())
    # the dead owner ran on this machine: taken over at once, not after the stale limit
    again = subprocess.run(
        _train(run, text_dir, step // 4 + 2),
        capture_output=True,
        text=True,
        timeout=time_limit(600),
        env=env,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"took over the lock of PID {first.pid} on {HOST}, which is gone" in again.stderr
    assert f"resuming from the backup {run}/backup/ckpt-{step} at step {step}" in again.stderr
    assert json.loads(s3.cat_file(f"{key}/metrics.json"))["resumed_from_step"] == step
    assert not s3.exists(f"{key}/.lock.json")  # released at the end


@pytest.mark.storage
@pytest.mark.faults
def test_s3_lock_taken_over_stops_the_run_writing_nothing_more(s3, text_dir, tmp_path):
    run, key = "s3://klo/runs/taken", "klo/runs/taken"
    # a heartbeat every 0.5 s; the lock object is then replaced as a takeover would (the
    # taker found this heartbeat stale): the trainer stops at its next step
    first = _start(
        _train(run, text_dir, 1000),
        tmp_path / "first.log",
        env={**os.environ, run_lock.STALE_ENV: "2"},
    )
    try:
        _wait_for(lambda: s3.exists(f"{key}/backup/checkpoint"), first, tmp_path / "first.log")
        theirs = {
            "pid": 4242,
            "host": "elsewhere",
            "started": "2030-01-02T03:04:05+00:00",
            "token": "theirs",
        }
        s3.pipe_file(f"{key}/.lock.json", json.dumps(theirs).encode())
        began = time.monotonic()
        code = first.wait(timeout=time_limit(60))
        took = time.monotonic() - began
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    out = (tmp_path / "first.log").read_text()
    errors = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert code == 1 and len(errors) == 1 and "Traceback" not in out, out[-3000:]
    stopped = re.fullmatch(
        r"error: training stopped at step (\d+), writing nothing more: PID 4242 on elsewhere "
        r"\(started 2030-01-02T03:04:05\+00:00\) took over the lock of run directory "
        rf"{run}, having found this process's heartbeat older than 2 s; let it finish, or "
        r"stop it and train into the run directory again to resume",
        errors[0],
    )
    assert stopped, errors
    assert took < time_limit(10), f"stopped {took:.1f} s after the takeover"
    # no backup at the stop (the taker's directory now), no model, its lock left alone
    step = int(stopped[1])
    assert not s3.glob(f"{key}/backup/ckpt-{step}.*")
    assert f'ckpt-{step}"' not in s3.cat_file(f"{key}/backup/checkpoint").decode()
    assert not s3.exists(f"{key}/model.keras") and not s3.exists(f"{key}/metrics.json")
    assert json.loads(s3.cat_file(f"{key}/.lock.json")) == theirs


def test_two_runs_started_in_one_second_get_their_own_default_run_dirs(tmp_path, monkeypatch):
    from keras_lstm_opt.training.run_dir import default_run_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    first, second = default_run_dir(), default_run_dir()
    if os.path.basename(first)[:15] == os.path.basename(second)[:15]:  # the same second
        assert second == f"{first}-{os.getpid()}"
    assert first != second and os.path.isdir(first)
