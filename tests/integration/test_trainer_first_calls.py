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

from ..conftest import REPO, time_limit

SCRIPT = os.path.join(REPO, "tests", "scripts", "first_calls.py")
FORMS = {
    (m, o)
    for m in ("functional", "sequential", "subclassed", "function")
    for o in ("name", "instance", "none")
}


def _cases(stdout: str) -> list[dict]:
    return [
        json.loads(line.split("CASE ", 1)[1]) for line in stdout.splitlines() if "CASE {" in line
    ]


def _check(cases: list[dict], strategy: str, replicas: int) -> None:
    mine = [c for c in cases if c["strategy"] == strategy]
    assert {(c["model"], c["optimizer"]) for c in mine} == FORMS
    for c in mine:
        assert c["replicas"] == replicas, c
        assert c["kept_initial_weights"] and c["moved"], c
        assert c["user_model_trained"] and c["user_model_predicts"] and c["saved"], c


@pytest.mark.slow
def test_a_built_model_trains_on_one_device_and_mirrored_in_every_form(tmp_path):
    out = subprocess.run(
        [sys.executable, SCRIPT, "local", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
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
    out = subprocess.run(
        [*launch, "--", sys.executable, SCRIPT, "workers", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    cases = _cases(out.stdout)
    for worker in (0, 1):
        _check([c for c in cases if c["worker"] == worker], "auto", 2)
    by_case: dict[tuple[str, str], set[str]] = {}
    for c in cases:  # both workers hold the same weights after each case
        by_case.setdefault((c["model"], c["optimizer"]), set()).add(c["digest"])
    assert all(len(d) == 1 for d in by_case.values()), by_case


class _Wrapper:  # a constructor argument Keras cannot serialise
    def __init__(self, units: int) -> None:
        self.units = units


def _tiny_data():
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 6, 3)).astype("float32"), rng.integers(0, 2, size=64)


def test_a_model_keras_cannot_save_is_refused_before_training(tmp_path):
    import keras

    import keras_lstm_opt as klo

    class Unsavable(keras.Model):
        def __init__(self, spec: _Wrapper) -> None:
            super().__init__()
            self.lstm = keras.layers.LSTM(spec.units)
            self.head = keras.layers.Dense(2, activation="softmax")

        def call(self, x):
            return self.head(self.lstm(x))

    x, y = _tiny_data()
    model = Unsavable(_Wrapper(4))
    model(x[:1])
    trainer = klo.Trainer(model, loss="sparse_categorical_crossentropy", run_dir=tmp_path / "r")
    with pytest.raises(klo.errors.UsageError, match="cannot be saved as model.keras.*get_config"):
        trainer.fit(x, y, epochs=1, batch_size=32)
    assert not (tmp_path / "r" / "model.keras").exists()
    assert not (tmp_path / "r" / "history.csv").exists()  # refused before an epoch
    klo.Trainer(model, loss="sparse_categorical_crossentropy").fit(x, y, batch_size=32)


def test_a_run_of_an_unregistered_class_names_it_when_loaded(tmp_path):
    import keras

    import keras_lstm_opt as klo

    class Unregistered(keras.Model):
        def __init__(self, units: int = 4, **kwargs) -> None:
            super().__init__(**kwargs)
            self.units = units
            self.lstm = keras.layers.LSTM(units)
            self.head = keras.layers.Dense(2, activation="softmax")

        def call(self, x):
            return self.head(self.lstm(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    x, y = _tiny_data()
    klo.Trainer(Unregistered(), loss="sparse_categorical_crossentropy", run_dir=tmp_path / "r").fit(
        x, y, epochs=1, batch_size=32
    )
    assert (tmp_path / "r" / "model.keras").stat().st_size > 0
    with pytest.raises(klo.errors.UsageError, match="'Unregistered'.*register_keras_serializable"):
        klo.load_run(str(tmp_path / "r"))
