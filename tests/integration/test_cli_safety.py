"""The first calls a user makes, made safe (issue 29, items 3, 5 and 6).

- An output that cannot be written (`data import --out`, `data make --out`, `predict
  --out`, `export --out`, `evaluate --out`, the stage directory) is refused first, in
  one line naming the path, exit 2, before TensorFlow loads or a row is read. Root
  runs the tests, so the paths stop root too: under a regular file, in /sys, on a
  read-only mount (where one can be made).
- SIGINT and SIGTERM in the middle of `data import`, `predict`, `export` and
  `evaluate` (one line, exit 130 or 143, no output left half written, an earlier import
  kept, no temporary files): test_cli_signals.py; a SIGTERM while an import is moved
  into place: test_signals_deferred.py.
- `tune --run-dir` and `profile --run-dir` that cannot be written: one line, exit 2,
  before TensorFlow; `export --format onnx` without tf2onnx names the `onnx` extra;
  the "train with:" hint after an import quotes a path with a space.
- `--on-bad-row skip` skips a row holding bytes that are not UTF-8 and counts it; a
  gzip file is read as gzip whether named .csv.gz or .csv.
"""

from __future__ import annotations

import gzip
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest

from ..conftest import console_script, time_limit

ROWS = "".join(
    f"the {w} sat on the mat number {i},{'cat' if i % 2 else 'dog'}\n"
    for i, w in enumerate(["cat", "dog", "bird", "fish"] * 15)
)


def _cli(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [console_script(), *args], capture_output=True, text=True, timeout=time_limit(timeout), **kw
    )


def _one_line_refusal(proc: subprocess.CompletedProcess, path: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot write "), proc.stderr
    assert path in lines[0], lines[0]


@pytest.fixture()
def blocked(tmp_path) -> str:
    """A directory path that nobody, root included, can create: its parent is a file."""
    (tmp_path / "a-file").write_text("not a directory\n")
    return str(tmp_path / "a-file" / "out")


@pytest.fixture()
def bad_first_row_csv(tmp_path) -> str:
    """A CSV whose second line is bad: a command that reads before checking its output
    reports the row, not the output."""
    path = tmp_path / "in.csv"
    path.write_text("text,label\nno label here\n" + ROWS)
    return str(path)


def test_data_import_refuses_an_unwritable_out_before_reading(blocked, bad_first_row_csv):
    began = time.monotonic()
    proc = _cli(
        "data", "import", bad_first_row_csv, "--out", blocked, "--text", "text", "--label", "label"
    )
    _one_line_refusal(proc, blocked)
    assert "is a file, not a directory" in proc.stderr
    assert time.monotonic() - began < time_limit(5)  # no TensorFlow start, no pass over the data


@pytest.fixture()
def read_only_dir(tmp_path) -> Iterator[str]:
    """A read-only tmpfs mount (root can write anything else), when mounts are allowed."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {made.stderr.strip()}")
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_data_import_refuses_a_read_only_mount(read_only_dir, bad_first_row_csv):
    out = os.path.join(read_only_dir, "data")
    proc = _cli(
        "data", "import", bad_first_row_csv, "--out", out, "--text", "text", "--label", "label"
    )
    _one_line_refusal(proc, out)
    assert "Read-only file system" in proc.stderr


@pytest.mark.parametrize(
    "command", ["data make", "predict", "export", "evaluate", "profile stage dir"]
)
def test_other_outputs_are_refused_first(command, blocked, bad_first_row_csv, tmp_path):
    run = str(tmp_path / "no-run-yet")  # the output is checked before the run is read
    env = None
    if command == "data make":
        args = ["data", "make", "--task", "text", "--examples", "100", "--out", blocked]
    elif command == "predict":
        blocked = os.path.join(blocked, "predictions.csv")
        args = ["predict", run, bad_first_row_csv, "--out", blocked]
    elif command == "export":
        blocked = "/sys/klo-export"  # sysfs: root may not create files there either
        args = ["export", run, "--format", "saved_model", "--out", blocked]
    elif command == "evaluate":
        args = ["evaluate", run, "--out", blocked]
    else:  # remote shards are staged: the stage directory is checked before anything
        env = {**os.environ, "KLO_STAGE_DIR": blocked}
        args = [
            "profile",
            "--set",
            "data.path=s3://klo-no-such-bucket/text",
            "--run-dir",
            str(tmp_path / "profile"),
        ]
    proc = _cli(*args, env=env)
    _one_line_refusal(proc, blocked)
    assert not os.path.exists(tmp_path / "profile")


def _import(src: str, out: str, **kw):
    from keras_lstm_opt.data.importer import import_data

    return import_data(src, out, text="text", label="label", progress=False, **kw)


def test_skip_counts_a_row_that_is_not_utf8(tmp_path):
    from keras_lstm_opt.errors import DataError

    src = tmp_path / "latin1.csv"
    src.write_bytes(
        b"text,label\n"
        + ROWS.encode()
        + "caf\u00e9 au lait,cat\n".encode("latin-1")
        + b"the last row,dog\n"
    )
    with pytest.raises(DataError, match=r"line 62: not UTF-8 text \(byte 0xe9"):
        _import(str(src), str(tmp_path / "strict"))
    report = _import(str(src), str(tmp_path / "data"), on_bad_row="skip")
    assert report["skipped"] == 1
    assert sum(report["rows"].values()) == 61
    assert "line 62: not UTF-8" in report["skipped_examples"][0]


@pytest.mark.parametrize("name", ["texts.csv.gz", "texts.csv"])
def test_gzip_input_by_name_or_by_its_first_bytes(tmp_path, name):
    src = tmp_path / name
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        fh.write("text,label\n" + ROWS)
    report = _import(str(src), str(tmp_path / "data"))
    assert sum(report["rows"].values()) == 60 and report["skipped"] == 0


def test_the_train_hint_after_import_is_one_shell_argument(tmp_path):
    src = tmp_path / "texts.csv"
    src.write_text("text,label\n" + ROWS)
    out = tmp_path / "my data"  # a space: unquoted, the shell would split the path
    proc = _cli("data", "import", str(src), "--out", str(out), "--text", "text", "--label", "label")
    assert proc.returncode == 0, proc.stderr[-2000:]
    hint = proc.stdout.strip().splitlines()[-1].split("train with: ", 1)[1]
    assert shlex.split(hint) == ["keras-lstm-opt", "train", "--set", f"data.path={out}"]


def test_the_train_hint_after_a_series_import_trains_a_forecast(tmp_path):
    src = tmp_path / "series.csv"
    src.write_text("t,y\n" + "".join(f"{i},{np.sin(i / 3) + 0.01 * i}\n" for i in range(120)))
    out = tmp_path / "my series"
    proc = _cli("data", "import", str(src), "--out", str(out), "--time", "t", "--target", "y")
    assert proc.returncode == 0, proc.stderr[-2000:]
    hint = shlex.split(proc.stdout.strip().splitlines()[-1].split("train with: ", 1)[1])
    assert hint == ["keras-lstm-opt", "train", "forecast", "--set", f"data.path={out}"]
    run = tmp_path / "run"
    proc = _cli(*hint[1:], "--set", "train.epochs=1", "--run-dir", str(run))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.load(open(run / "metrics.json"))["task"] == "forecast"


def test_a_log_transform_is_taken_and_a_bad_one_refused_in_one_line(tmp_path):
    src = tmp_path / "series.csv"
    src.write_text(
        "t,y\n" + "".join(f"{i},{np.exp(0.01 * i) + 0.1 * np.sin(i)}\n" for i in range(90))
    )
    out = tmp_path / "d"
    proc = _cli(
        "data",
        "import",
        str(src),
        "--out",
        str(out),
        "--time",
        "t",
        "--target",
        "y",
        "--transform",
        "log+diff",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    series = json.load(open(out / "schema.json"))["info"]["series"]
    assert (series["log"], series["transform"]) == (True, "diff")
    proc = _cli(
        "data",
        "import",
        str(src),
        "--out",
        str(tmp_path / "e"),
        "--time",
        "t",
        "--target",
        "y",
        "--transform",
        "log+bogus",
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "transform: expected auto, or none, diff" in lines[0], proc.stderr
    assert "'log+bogus'" in lines[0] and not (tmp_path / "e").exists()


def test_onnx_export_without_tf2onnx_names_the_extra_before_tensorflow(tmp_path):
    from .test_first_calls import BLOCK, _env  # its TensorFlow start-up lines hidden

    code = BLOCK.format(blocked={"tf2onnx"}) + (
        "from keras_lstm_opt.cli.app import main\n"
        f"code = main(['export', {str(tmp_path / 'run')!r}, '--format', 'onnx', '--out', "
        f"{str(tmp_path / 'onnx')!r}])\n"
        "assert 'tensorflow' not in sys.modules, 'refused after TensorFlow loaded'\n"
        "sys.exit(code)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
        env=_env(),
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "tf2onnx" in lines[0], proc.stderr
    assert "pip install 'keras-lstm-opt[onnx]'" in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["tune", "profile"])
def test_an_unwritable_run_dir_is_refused_first(command, blocked):
    began = time.monotonic()
    proc = _cli(command, "--run-dir", blocked)
    _one_line_refusal(proc, blocked)
    assert time.monotonic() - began < time_limit(5)  # before TensorFlow starts


def test_output_into_a_closed_pipe_ends_quietly_with_141(tmp_path):
    """`keras-lstm-opt predict ... | head -1`: the reader closes the pipe; the command ends
    with 128 + SIGPIPE, as a shell reports it, and no traceback."""
    read, write = os.pipe()
    os.close(read)  # closed before the command starts: every write finds no reader
    # unbuffered: each write reaches the pipe while the command runs, as a long output's do
    # (a short one, buffered, would only meet the closed pipe at the interpreter's exit)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        proc = subprocess.Popen(
            [console_script(), "config", "show"],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            env=env,
        )
    finally:
        os.close(write)
    _, err = proc.communicate(timeout=time_limit(60))
    assert proc.returncode == 141, err.decode()[-2000:]
    assert b"Traceback" not in err and b"BrokenPipeError" not in err
