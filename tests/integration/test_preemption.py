"""Coordinated pre-emption: SIGTERM to one worker of a two-worker run stops every worker
after the same step, one backup is saved, all exit with 128 + 15 within 30 s, and the
relaunched group resumes at that step with equal weights on both workers. Tested with a
user's own script around klo.Trainer, the loop `keras-lstm-opt train` runs too (its exit
code: tests/unit/test_errors.py; single-process signals: tests/integration/test_faults.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import left_in, time_limit
from .test_distributed import (
    LAUNCH,
    REPO,
    _backup_step,
    _digests,
    _metrics,
    _worker_pid,
)

pytestmark = pytest.mark.slow


def _sigterm_worker_1_after_a_backup(cmd, run, env):
    proc = subprocess.Popen(
        [*LAUNCH, "--workers", "2", "--", *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + time_limit(300)
    while time.monotonic() < deadline and proc.poll() is None and _backup_step(run) < 10:
        time.sleep(0.1)
    pid = _worker_pid(proc.pid, 1)
    assert pid is not None, "worker 1 not found"
    os.kill(pid, signal.SIGTERM)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=time_limit(120))
    return proc.returncode, out + err, time.monotonic() - sent


def test_sigterm_to_one_worker_of_a_trainer_script_stops_both_and_the_rerun_resumes(tmp_path):
    run, tmp = tmp_path / "run", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    cmd = [
        sys.executable,
        os.path.join(REPO, "tests", "scripts", "user_trainer.py"),
        "stoppable",
        str(run),
    ]
    code, text, took = _sigterm_worker_1_after_a_backup(cmd, run, env)
    print(json.dumps({"trainer_script_sigterm_to_exit_seconds": round(took, 2)}))
    assert code == 128 + signal.SIGTERM and took < time_limit(30), text[-3000:]
    steps = {
        m.group(1): int(m.group(3))
        for m in re.finditer(
            r"\[worker (\d)\] STOPPED stopped by SIGTERM( on another worker)? at step (\d+)", text
        )
    }
    assert set(steps) == {"0", "1"} and len(set(steps.values())) == 1, text[-3000:]
    assert _backup_step(run) == steps["0"]
    assert left_in(tmp) == []
    again = subprocess.run(
        [*LAUNCH, "--workers", "2", "--", *cmd],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
        env=env,
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    metrics = _metrics(run)
    assert metrics["resumed_from_step"] == steps["0"]
    digests = _digests(again.stdout + again.stderr)
    assert set(digests) == {"0", "1"} and len(set(digests.values())) == 1
