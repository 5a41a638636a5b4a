"""One error hierarchy: the CLI turns a KloError into one line and its exit code, and lets
a real bug (anything else) show its traceback."""

from __future__ import annotations

import signal

import pytest

import keras_lstm_opt as klo
from keras_lstm_opt.cli import app as cli
from keras_lstm_opt.cli import config_cmd


@pytest.mark.parametrize(
    "error,code",
    [
        (klo.errors.ConfigError([klo.errors.Problem("train.epochs", "must be >= 1", "x.yaml")]), 2),
        (klo.errors.RunDirError("runs/a holds a finished run"), 2),
        (klo.errors.TFConfigError("TF_CONFIG is not JSON"), 2),
        (klo.errors.UsageError("steps_per_execution=0: must be >= 1"), 2),
        (klo.errors.DataError("shard-0.tfrecord.gz record 3: bad"), 1),
        (klo.errors.StorageError("s3:// needs the io extra"), 1),
        (klo.errors.TrainingError("loss became NaN"), 1),
        (klo.errors.TrainingInterrupted("stopped by SIGTERM at step 5", signal.SIGTERM), 143),
        (klo.errors.PeerLostError("lost worker 1 at h:2222 at step 9", "worker 1 at h:2222"), 138),
        (
            klo.errors.ClusterStartupError(
                "the cluster did not form within 300 s", "worker 1 at h:1"
            ),
            138,
        ),
    ],
)
def test_cli_reports_a_klo_error_in_one_line_with_its_exit_code(error, code, monkeypatch, capsys):
    def fail(args, start_tensorflow):
        raise error

    monkeypatch.setattr(config_cmd, "config_command", fail)
    assert cli._main(["config", "list"]) == code
    err = capsys.readouterr().err
    assert str(error).splitlines()[0] in err and "Traceback" not in err


@pytest.mark.parametrize(
    "bug", [NotImplementedError("later"), RuntimeError("a bug of ours"), KeyError("missing")]
)
def test_cli_lets_a_real_bug_show_its_traceback(bug, monkeypatch):
    def fail(args, start_tensorflow):
        raise bug

    monkeypatch.setattr(config_cmd, "config_command", fail)
    with pytest.raises(type(bug)):
        cli._main(["config", "list"])


def test_config_error_problems_print_source_key_and_message():
    exc = klo.errors.ConfigError(
        [klo.errors.Problem("train.epochs", "must be >= 1", "x.yaml"), "free text"]
    )
    assert "x.yaml: train.epochs: must be >= 1" in str(exc) and "free text" in str(exc)
    assert isinstance(exc, ValueError) and exc.exit_code == 2


def test_public_names_stay_what_they_are_after_their_modules_load():
    """A submodule named like a public function would replace it on the package once
    imported (`klo.fit` became a module): every lazy public name keeps its object."""
    import importlib

    for name, module in klo._LAZY.items():
        importlib.import_module(module)
        assert getattr(klo, name) is getattr(importlib.import_module(module), name), name
