"""The call Keras users write first: a model built before `klo.Trainer(model, ...)`.

Every model form (functional, Sequential, subclassed, a function) with every optimizer
form (a name, an instance, none), on one device, mirrored over two logical CPUs and on
two real workers started by the launcher. Each case trains one epoch and saves its run;
the model object the user holds starts the run with its own weights and ends it with
the trained ones (tests/scripts/first_calls.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import REPO

SCRIPT = os.path.join(REPO, "tests", "scripts", "first_calls.py")
FORMS = {(m, o) for m in ("functional", "sequential", "subclassed", "function")
         for o in ("name", "instance", "none")}


def _cases(stdout: str) -> list[dict]:
    return [json.loads(line.split("CASE ", 1)[1]) for line in stdout.splitlines()
            if "CASE {" in line]


def _check(cases: list[dict], strategy: str, replicas: int) -> None:
    mine = [c for c in cases if c["strategy"] == strategy]
    assert {(c["model"], c["optimizer"]) for c in mine} == FORMS
    for c in mine:
        assert c["replicas"] == replicas, c
        assert c["kept_initial_weights"] and c["moved"], c
        assert c["user_model_trained"] and c["user_model_predicts"] and c["saved"], c


@pytest.mark.slow
def test_a_built_model_trains_on_one_device_and_mirrored_in_every_form(tmp_path):
    out = subprocess.run([sys.executable, SCRIPT, "local", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "DONE" in out.stdout, out.stderr[-3000:]
    cases = _cases(out.stdout)
    _check(cases, "one_device", 1)
    _check(cases, "mirrored", 2)
    [obj] = [c for c in cases if c["strategy"] == "one_device_object"]
    assert obj["kept_initial_weights"] and obj["moved"] and obj["user_model_trained"], obj
    assert os.path.exists(tmp_path / "one_device-functional-name" / "metrics.json")


@pytest.mark.slow
def test_a_built_model_trains_on_two_workers_in_every_form(tmp_path):
    launch = [sys.executable, os.path.join(REPO, "tools", "launch.py"), "--workers", "2"]
    out = subprocess.run([*launch, "--", sys.executable, SCRIPT, "workers", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    cases = _cases(out.stdout)
    for worker in (0, 1):
        _check([c for c in cases if c["worker"] == worker], "auto", 2)
    by_case: dict[tuple[str, str], set[str]] = {}
    for c in cases:  # both workers hold the same weights after each case
        by_case.setdefault((c["model"], c["optimizer"]), set()).add(c["digest"])
    assert all(len(d) == 1 for d in by_case.values()), by_case
