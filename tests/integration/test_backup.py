"""Backups: keep K, fall back past an unreadable newest one, copy to a second place,
and survive SIGKILL in the middle of a save (the newest listed backup always loads)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import FAULTS, time_limit

SAVER = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, numpy as np
from keras_lstm_opt.training.backup import Backup
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(512), keras.layers.Dense(1)])
model.compile("adam", "mse")
backup = Backup(model, sys.argv[1], keep=2, copy_to=sys.argv[2])
step = backup.restore()
print("start", step, flush=True)
while True:
    step += 1
    for v in model.trainable_variables:
        v.assign(np.full(v.shape, float(step), "float32"))
    backup.save(step)
    print("saved", step, flush=True)
"""


def _model():
    import keras

    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(512), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    return model


def _restore(directory: str, copy_to: str | None = None) -> tuple[int, float]:
    from keras_lstm_opt.training.backup import Backup

    model = _model()
    step = Backup(model, directory, keep=2, copy_to=copy_to).restore()
    return step, float(model.trainable_variables[0].numpy().ravel()[0])


def test_keeps_k_and_falls_back_past_an_unreadable_newest(tmp_path, caplog):
    from keras_lstm_opt.training.backup import Backup

    model = _model()
    backup = Backup(model, str(tmp_path / "b"), keep=2, copy_to=str(tmp_path / "copy"))
    for step in (1, 2, 3):
        for v in model.trainable_variables:
            v.assign(v * 0 + step)
        backup.save(step)
    kept = sorted(p.name for p in (tmp_path / "b").glob("ckpt-*.index"))
    assert kept == ["ckpt-2.index", "ckpt-3.index"]
    assert sorted(p.name for p in (tmp_path / "copy").glob("ckpt-*.index")) == kept
    for f in (tmp_path / "b").glob("ckpt-3.data-*"):
        f.write_bytes(b"torn")  # the newest is damaged
    assert _restore(str(tmp_path / "b")) == (2, 2.0)
    assert "ckpt-3 is unreadable" in caplog.text
    import shutil

    shutil.rmtree(tmp_path / "b")  # the run's directory is lost: the copy serves
    assert _restore(str(tmp_path / "b"), str(tmp_path / "copy")) == (3, 3.0)


@pytest.mark.faults
def test_sigkill_during_saves_never_breaks_the_newest_backup(tmp_path):
    """12 SIGKILLs at random moments of back-to-back saves (two lanes run side by side,
    each on its own directory, 6 kills each): the newest listed backup always loads."""
    rounds, rng, lost = 6, random.Random(7), []
    lanes = [(str(tmp_path / f"b{i}"), str(tmp_path / f"copy{i}")) for i in range(2)]
    last = [0, 0]
    for _ in range(rounds):
        procs = [
            subprocess.Popen([sys.executable, "-c", SAVER, d, c], stdout=subprocess.PIPE, text=True)
            for d, c in lanes
        ]
        first = []
        for i, proc in enumerate(procs):
            assert proc.stdout.readline().split() == ["start", str(last[i])]
            first.append(proc.stdout.readline())  # one save done (slow machines: seconds)
        time.sleep(rng.uniform(0.0, 0.95))  # saves take ~10-50 ms: kills land mid-save
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
        for i, proc in enumerate(procs):
            proc.wait(timeout=time_limit(60))
            # through the file object: the readline() above may hold later lines in its
            # buffer, which communicate(timeout=...) would skip (it reads the raw pipe)
            out = proc.stdout.read()
            proc.stdout.close()
            saved = [
                int(m[1])  # whole lines only: a kill may cut the last one short
                for m in map(re.compile(r"saved (\d+)$").match, (first[i] + out).splitlines())
                if m
            ]
            step, value = _restore(*lanes[i])
            FAULTS["data_lost"] += int(step < saved[-1] or value != float(step))
            # the newest finished save, or the one in flight if its index landed
            assert step in (saved[-1], saved[-1] + 1) and value == float(step)
            lost.append(saved[-1] + 1 - step)
            last[i] = step
    FAULTS["kills"] += 2 * rounds
    FAULTS["resumed"] += 2 * rounds
    FAULTS["steps_lost"] += lost
    print({"kills": 2 * rounds, "steps_lost_per_kill": sum(lost) / len(lost)})


@pytest.fixture(autouse=True)
def _quiet():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
