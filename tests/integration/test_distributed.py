"""Distributed training with real processes on loopback: two workers under
MultiWorkerMirroredStrategy, a worker killed with and without restarts (mirrored CPU
devices against one device: tests/integration/test_trainer_distributed.py, to 1e-6 in the
weights)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import REPO, console_script, left_in, time_limit, wait_for

pytestmark = pytest.mark.slow
LAUNCH = [sys.executable, os.path.join(REPO, "tools", "launch.py")]
HEARTBEAT_ERRORS = re.compile(r"stopped sending heartbeats|tasks have crashed|Failed to send RPC")
COMMON = [
    "model.units=16",
    "train.epochs=4",
    "train.batch_size=64",
    "train.verbose=epoch",
    "data.deterministic=true",
    "train.early_stopping_patience=0",
    "train.backup_every_steps=5",
    "distribute.timeout_seconds=120",
]


@pytest.fixture(scope="module")
def mw_data(tmp_path_factory):
    from keras_lstm_opt.data.embedded import write_embedded

    return write_embedded("text", str(tmp_path_factory.mktemp("mw")), 3000, seed=11)


def _train_cmd(run_dir, data, *extra):
    cmd = [console_script(), "train", "--run-dir", str(run_dir)]
    for item in [*COMMON, f"data.path={data}", *extra]:
        cmd += ["--set", item]
    return cmd


def _metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def _digests(text):
    return {
        ln.split()[1].rstrip("]"): ln.split()[-1]
        for ln in text.splitlines()
        if "weights_digest" in ln and "INFO worker" in ln
    }


@pytest.fixture(scope="module")
def two_workers(mw_data, tmp_path_factory):
    base = tmp_path_factory.mktemp("two")
    run, tmp = base / "run", base / "tmp"
    tmp.mkdir()
    start = time.monotonic()
    out = subprocess.run(
        [
            *LAUNCH,
            "--workers",
            "2",
            "--",
            *_train_cmd(run, mw_data, "distribute.strategy=multi_worker_mirrored"),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert left_in(tmp) == []  # the non-chief's private run and backup dirs are gone
    return out, run, time.monotonic() - start


def test_two_workers_train_with_identical_weights_and_match_one_process(
    two_workers, mw_data, tmp_path
):
    out, run, _ = two_workers
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    digests = _digests(out.stdout)
    assert set(digests) == {"0", "1"} and len(set(digests.values())) == 1
    metrics = _metrics(run)
    assert metrics["num_replicas"] == 2 and metrics["num_workers"] == 2
    assert metrics["weights_digest"] == digests["0"]
    # Both leave together: no heartbeat error from a peer that left first (issue 32).
    assert not HEARTBEAT_ERRORS.search(out.stdout + out.stderr), out.stdout[-3000:]
    single = subprocess.run(
        _train_cmd(tmp_path / "single", mw_data),
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert single.returncode == 0, single.stderr[-2000:]
    ref = _metrics(tmp_path / "single")
    print(
        json.dumps(
            {
                "two_workers": metrics["val_accuracy"],
                "one_process": ref["val_accuracy"],
                "sps_two": metrics["samples_per_second"],
                "sps_one": ref["samples_per_second"],
            }
        )
    )
    # Same global batch, different shard order: the same band, not the same bits.
    assert metrics["val_accuracy"] == pytest.approx(ref["val_accuracy"], abs=0.05)
    assert not (run / "backup").exists()


def _children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def _worker_pid(launcher_pid, index):
    for pid in _children(launcher_pid):
        try:
            env = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if f'"index": {index}}}' in env:
            return pid
    return None


def _backup_step(run):
    index = run / "backup" / "checkpoint"
    try:
        return int(index.read_text().split('model_checkpoint_path: "ckpt-')[1].split('"')[0])
    except (OSError, IndexError):
        return 0


def _kill_worker_when_backed_up(proc, run, min_step, index=1):
    wait_for(
        lambda: _backup_step(run) >= min_step,
        time_limit(300),
        f"a backup at step {min_step}",
        procs=[proc],
        interval=0.1,
    )
    pid = _worker_pid(proc.pid, index)
    assert pid is not None, f"worker {index} not found"
    workers = _children(proc.pid)
    os.kill(pid, signal.SIGKILL)
    return time.monotonic(), workers


def test_the_chiefs_clock_backs_up_both_workers_after_the_same_steps(mw_data, tmp_path):
    """Backups by the clock (`train.backup_every_seconds`): the chief's flag rides in the
    step's all-reduce, so both workers save after the same steps (a save they disagreed on
    would hang or part their weights) and end with one weights digest."""
    cmd = _train_cmd(
        tmp_path / "run",
        mw_data,
        "distribute.strategy=multi_worker_mirrored",
        "train.backup_every_steps=0",
        "train.backup_every_seconds=0.2",
    )
    (tmp_path / "tmp").mkdir()
    out = subprocess.run(
        [*LAUNCH, "--workers", "2", "--", *cmd],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    digests = _digests(out.stdout)
    assert set(digests) == {"0", "1"} and len(set(digests.values())) == 1
    metrics = _metrics(tmp_path / "run")
    saved, seconds = metrics["backups_saved"], metrics["backup_seconds"]
    wait = max(0.2, 20 * seconds / saved)  # at most 5% of the time in backups
    print(json.dumps({"backups": saved, "seconds": seconds, "train": metrics["train_seconds"]}))
    if metrics["train_seconds"] > 3 * wait:  # time enough after the first epoch end's
        assert saved > 1, (saved, seconds)  # the clock fired, on both


def test_killed_worker_stops_the_group_within_60_seconds(mw_data, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            *LAUNCH,
            "--workers",
            "2",
            "--",
            *_train_cmd(
                run, mw_data, "distribute.strategy=multi_worker_mirrored", "train.epochs=40"
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed_at, workers = _kill_worker_when_backed_up(proc, run, 10)
    _, err = proc.communicate(timeout=time_limit(120))
    took = time.monotonic() - killed_at
    print(f"launcher exited {took:.1f} s after the kill")
    assert proc.returncode != 0 and took < time_limit(60)
    assert "worker 1 failed (killed by SIGKILL)" in err
    wait_for(  # no strays: the group's processes are gone (and reaped) soon after
        lambda: not [p for p in workers if os.path.exists(f"/proc/{p}")],
        time_limit(10),
        f"the workers {workers} to be gone",
    )
    assert not (run / "metrics.json").exists()


def test_restart_resumes_from_the_last_backup(two_workers, mw_data, tmp_path):
    _, ref_run, _ = two_workers
    run = tmp_path / "run"
    cmd = _train_cmd(run, mw_data, "distribute.strategy=multi_worker_mirrored")
    proc = subprocess.Popen(
        [*LAUNCH, "--workers", "2", "--max-restarts", "1", "--", *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _kill_worker_when_backed_up(proc, run, 50)
    out, err = proc.communicate(timeout=time_limit(600))
    assert proc.returncode == 0, out[-3000:] + err[-2000:]
    assert "restarting the group" in err
    metrics = _metrics(run)
    resumed = metrics["resumed_from_step"]
    assert resumed >= 50 and f"at step {resumed}" in out
    assert metrics["steps_completed"] == _metrics(ref_run)["steps_completed"]
    assert (
        len(set(_digests(out.split("restarting")[-1] if "restarting" in out else out).values()))
        == 1
    )
    assert metrics["val_accuracy"] == pytest.approx(_metrics(ref_run)["val_accuracy"], abs=0.05)


@pytest.mark.parametrize("before,after", [(2, 1), (1, 2)])
def test_elastic_resume_on_another_worker_count(before, after, two_workers, mw_data, tmp_path):
    """A backup written by N workers resumes on M: the step count, the global batch and
    the learning-rate schedule continue, and the result lands in the band of an
    uninterrupted 2-worker run."""
    _, ref_run, _ = two_workers
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            *LAUNCH,
            "--workers",
            str(before),
            "--max-restarts",
            "1",
            "--workers-on-restart",
            str(after),
            "--",
            *_train_cmd(run, mw_data),
        ],  # strategy auto: by worker count
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    began = time.monotonic()
    _kill_worker_when_backed_up(proc, run, 50, index=before - 1)
    out, err = proc.communicate(timeout=time_limit(600))
    assert proc.returncode == 0, out[-3000:] + err[-2000:]
    assert f"starting {after} worker(s)" in err.split("restarting the group")[-1]
    metrics, ref = _metrics(run), _metrics(ref_run)
    print(
        {
            "elastic": f"{before}->{after}",
            "resumed_from_step": metrics["resumed_from_step"],
            "resume_seconds": metrics["resume_seconds"],
            "val_accuracy": metrics["val_accuracy"],
            "uninterrupted": ref["val_accuracy"],
            "wall_seconds": time.monotonic() - began,
        }
    )
    assert metrics["resumed_from_step"] >= 50
    assert metrics["num_workers"] == after and metrics["global_batch_size"] == 64
    assert metrics["steps_completed"] == ref["steps_completed"]
    assert metrics["val_accuracy"] == pytest.approx(ref["val_accuracy"], abs=0.1)
    if after == 2:  # both workers restored the same backup and stayed in step
        assert len(set(_digests(out.split("restarting")[-1]).values())) == 1


def test_collective_timeout_costs_no_thread_per_collective_and_still_fires(mw_data, tmp_path):
    """Two workers started by hand, each with its own TF_CONFIG (as pods are). TensorFlow's
    own collective timeout started a sleeping thread per collective (tensorflow#62466):
    thousands within seconds, and a run of a few minutes died with `Resource temporarily
    unavailable`. Our one watchdog thread must keep the count flat and still fail a step
    whose peer stopped answering (SIGSTOP: its sockets stay open, nothing errors)."""
    from keras_lstm_opt.distribute.tf_config import build_tf_config
    from keras_lstm_opt.launch.launcher import free_ports

    addrs = [f"127.0.0.1:{p}" for p in free_ports(2)]
    run = tmp_path / "run"
    procs = [
        subprocess.Popen(
            _train_cmd(
                run if i == 0 else tmp_path / "run1",
                mw_data,
                "distribute.strategy=multi_worker_mirrored",
                "train.epochs=40",
                "distribute.timeout_seconds=8",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "TF_CONFIG": build_tf_config(addrs, i)},
        )
        for i in range(2)
    ]
    try:
        wait_for(
            lambda: _backup_step(run) >= 20,
            time_limit(300),
            "a backup at step 20",
            procs=procs,
            interval=0.1,
        )
        # the case under test: a few hundred more collectives; TensorFlow's timer threads
        # (one per collective) would each live distribute.timeout_seconds, 8 s here
        time.sleep(3)
        threads = len(os.listdir(f"/proc/{procs[0].pid}/task"))
        os.kill(procs[1].pid, signal.SIGSTOP)
        stopped = time.monotonic()
        out, _ = procs[0].communicate(timeout=time_limit(120))
        took = time.monotonic() - stopped
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    print({"threads_after_steps": threads, "exit_after_sigstop_s": round(took, 1)})
    assert threads < 300, threads  # 2,000 and more with TensorFlow's per-collective timer
    assert procs[0].returncode != 0 and took < time_limit(40), out[-2000:]
    assert "distribute.timeout_seconds" in out


DEPART_SCRIPT = """
import json, os, sys, time
import numpy as np, keras, keras_lstm_opt as klo
from keras_lstm_opt.distribute.departure import depart_together
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
x = np.random.RandomState(0).rand(256, 8, 3).astype("float32")
y = (x.sum((1, 2)) > 12).astype("int32")
model = keras.Sequential([keras.Input((8, 3)), keras.layers.LSTM(8), keras.layers.Dense(2)])
trainer = klo.Trainer(model, loss="sparse_categorical_crossentropy", run_dir=sys.argv[1],
                      strategy="multi_worker_mirrored")
trainer.fit(x, y, epochs=1, batch_size=32)
if index == 0:
    time.sleep(12)  # the chief writes for longer than a heartbeat timeout (10 s)
began = time.monotonic()
together = depart_together(60)
print(f"worker {index} together={together} after {time.monotonic() - began:.1f} s", flush=True)
if together:
    os._exit(0)
"""


def test_workers_that_finish_apart_leave_without_heartbeat_errors(tmp_path):
    """Without `depart_together` the worker that left first is reported 10 s later as
    "stopped sending heartbeats ... The tasks have crashed" (seen before issue 32)."""
    script = tmp_path / "depart.py"
    script.write_text(DEPART_SCRIPT)

    def launch(mode: str) -> str:
        out = subprocess.run(
            [*LAUNCH, "--workers", "2", "--", sys.executable, str(script), str(tmp_path / mode)]
            + [mode],
            capture_output=True,
            text=True,
            timeout=time_limit(300),
        )
        return f"exit {out.returncode}\n{out.stdout}{out.stderr}"

    text = launch("ok")
    assert text.startswith("exit 0"), text[-3000:]
    assert "worker 0 together=True" in text and "worker 1 together=True" in text, text[-3000:]
    assert not HEARTBEAT_ERRORS.search(text), text[-3000:]
