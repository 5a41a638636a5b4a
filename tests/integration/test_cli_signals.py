"""SIGINT and SIGTERM amid `data import`, `predict`, `export`, `evaluate`: nothing half written."""

from __future__ import annotations

import glob
import os
import random
import signal
import subprocess
import tempfile
import time

import pytest

from ..conftest import console_script, left_in, time_limit
from .test_cli_safety import _import


def _big_csv(path: str, rows: int = 300_000) -> str:
    r = random.Random(0)
    words = [f"w{i}" for i in range(3000)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("text,label\n")
        for i in range(rows):
            fh.write(" ".join(r.choices(words, k=12)) + f",c{i % 4}\n")
    return path


def _reading(pid: int, path: str) -> bool:
    """Whether process `pid` has `path` open (it is reading it)."""
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            if os.readlink(fd) == path:
                return True
        except OSError:
            pass
    return False


def _wait_for(proc: subprocess.Popen, ready, what: str, timeout: float = 120) -> None:
    end = time.monotonic() + time_limit(timeout)
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"ended ({proc.returncode}) before {what}: {err[-2000:]}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail(f"no {what} within {time_limit(timeout):g} s")
        time.sleep(0.01)


def _no_temp_dirs(pid: int) -> None:
    assert glob.glob(os.path.join(tempfile.gettempdir(), f"klo-*-{pid}-*")) == []


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> str:
    return _big_csv(str(tmp_path_factory.mktemp("big") / "big.csv"))


def test_sigint_while_counting_leaves_no_output(big_csv, tmp_path):
    out = str(tmp_path / "data")
    proc = subprocess.Popen(
        [
            console_script(),
            "data",
            "import",
            big_csv,
            "--out",
            out,
            "--text",
            "text",
            "--label",
            "label",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(proc, lambda: _reading(proc.pid, big_csv), "the first pass")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=time_limit(60))
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == "stopped by SIGINT; nothing written", err[-2000:]
    assert not os.path.exists(out)
    _no_temp_dirs(proc.pid)


def test_sigterm_while_writing_keeps_the_earlier_import(big_csv, tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    earlier = {
        "schema.json": b'{"earlier": true}\n',
        "train-00000-of-00001.tfrecord.gz": b"earlier shard",
    }
    for name, data in earlier.items():
        (out / name).write_bytes(data)
    tmp = out / ".tmp-import"
    proc = subprocess.Popen(
        [
            console_script(),
            "data",
            "import",
            big_csv,
            "--out",
            str(out),
            "--text",
            "text",
            "--label",
            "label",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(proc, tmp.exists, "the second pass (writing the shards)")
    time.sleep(0.2)  # the case under test: a stop with the shards half written
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=time_limit(60))
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    assert (
        err.strip().splitlines()[-1]
        == f"stopped by SIGTERM; nothing written ({out} keeps the earlier import)"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
    _no_temp_dirs(proc.pid)


@pytest.fixture(scope="module")
def text_run(big_csv, tmp_path_factory) -> str:
    """A tiny finished text run (2,000 rows, keras LSTM of 8 units, one epoch)."""
    from keras_lstm_opt.experiment import fit

    root = tmp_path_factory.mktemp("run")
    with open(big_csv, encoding="utf-8") as fh:
        head = "".join(next(fh) for _ in range(2001))
    (root / "small.csv").write_text(head)
    _import(str(root / "small.csv"), str(root / "data"))
    fit(
        None,
        run_dir=str(root / "run"),
        overrides=[
            "model.lstm=keras",
            "model.units=8",
            "train.epochs=1",
            "train.batch_size=64",
            "train.verbose=silent",
            "data.cache=none",
            "train.early_stopping_patience=0",
            f"data.path={root / 'data'}",
        ],
    )
    return str(root / "run")


def test_sigterm_while_predicting_leaves_no_file(text_run, big_csv, tmp_path):
    out = tmp_path / "predictions.csv"
    proc = subprocess.Popen(
        [console_script(), "predict", text_run, big_csv, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # written under a unique temporary name beside it (keras_lstm_opt.io.atomic)
    _wait_for(
        proc,
        lambda: any(tmp_path.glob(".predictions.csv.*.tmp")),
        "the predictions file being written",
    )
    time.sleep(0.2)  # the case under test: a stop while the predictions are written
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=time_limit(60))
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == "stopped by SIGTERM; nothing written"
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    _no_temp_dirs(proc.pid)


def _stopped_alone(proc: subprocess.Popen, err: str, code: int, line: str) -> None:
    """Exit 128 + the signal, no traceback, and the stop line said once, last."""
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    lines = err.strip().splitlines()
    assert lines[-1] == line, err[-2000:]
    assert sum(ln.startswith("stopped") for ln in lines) == 1, err[-2000:]


def test_sigint_while_exporting_leaves_no_export(text_run, tmp_path):
    out = tmp_path / "export"
    proc = subprocess.Popen(
        [console_script(), "export", text_run, "--format", "saved_model", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(
        proc,
        lambda: any(p.name.startswith(".export-") for p in tmp_path.iterdir()),
        "the export being written",
    )
    time.sleep(0.2)  # the case under test: a stop mid-export
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=time_limit(60))
    done = f"stopped by SIGINT; the export in {out} is complete"
    if err.strip().splitlines()[-1:] == [done]:  # on a loaded machine the export can end
        # first (its last rename before the signal): then it is whole, and said so
        _stopped_alone(proc, err, 130, done)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
        assert (out / "export.json").is_file() and (out / "saved_model.pb").is_file()
    else:
        _stopped_alone(proc, err, 130, "stopped by SIGINT; nothing written")
        assert list(tmp_path.iterdir()) == []  # no export, no .export-* directory
    _no_temp_dirs(proc.pid)


def test_sigint_while_evaluating_leaves_no_evaluation(text_run, big_csv, tmp_path):
    out, tmp = tmp_path / "evaluation", tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [console_script(), "evaluate", text_run, "--data", big_csv, "--out", str(out)],
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(proc, lambda: _reading(proc.pid, big_csv), "the data being read")
    time.sleep(0.2)  # the case under test: a stop mid-read
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=time_limit(60))
    _stopped_alone(proc, err, 130, "stopped by SIGINT; nothing written")
    assert not out.exists()
    assert [p for p in left_in(tmp) if (tmp / p).is_dir()] == []  # its plots' temp dir too
    assert not os.path.exists(os.path.join(text_run, "evaluation.json"))
