"""`predict --text` and `evaluate --text/--label`: a new file whose columns are not named
as at the import, through the command line a user types."""

from __future__ import annotations

import csv
import json
import random
import subprocess

import pytest

from ..conftest import TINY_RUN, console_script, time_limit

WORDS = {"pos": "good great fine nice happy".split(), "neg": "bad awful poor sad ugly".split()}


def _write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])


def _rows(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        c = rng.choice(sorted(WORDS))
        out.append([" ".join(rng.choices(WORDS[c] + ["the", "a"], k=6)), c])
    return out


def _cli(*args, cwd):
    return subprocess.run(
        [console_script(), *args], cwd=cwd, capture_output=True, text=True, timeout=time_limit(300)
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit

    root = tmp_path_factory.mktemp("columns")
    _write(root / "train.csv", ["body", "cat"], _rows(400, 0))
    _write(root / "new.csv", ["sentence", "y"], _rows(40, 1))
    import_data(str(root / "train.csv"), str(root / "d"), text="body", label="cat", progress=False)
    fit(None, str(root / "r"), [*TINY_RUN, f"data.path={root / 'd'}"])
    return root


def test_predict_names_the_column_it_reads_and_takes_another(run):
    missing = _cli("predict", "r", "new.csv", cwd=run)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1] == (
        "error: new.csv: no column 'body' (columns: sentence, y); the run reads 'body', "
        "as imported: name yours with --text COLUMN"
    )
    given = _cli("predict", "r", "new.csv", "--text", "sentence", cwd=run)
    assert given.returncode == 0, given.stderr[-2000:]
    rows = [json.loads(line) for line in given.stdout.splitlines()]
    assert len(rows) == 40 and {r["label"] for r in rows} <= {"pos", "neg"}
    assert rows[0]["sentence"] == _rows(40, 1)[0][0]


def test_evaluate_takes_the_text_and_label_columns(run):
    label = _cli("evaluate", "r", "--data", "new.csv", "--text", "sentence", cwd=run)
    assert label.returncode == 1
    assert "no column 'cat' (columns: sentence, y)" in label.stderr
    assert "name yours with --label COLUMN" in label.stderr
    both = _cli("evaluate", "r", "--data", "new.csv", "--text", "sentence", "--label", "y", cwd=run)
    assert both.returncode == 0, both.stderr[-2000:]
    assert json.loads(both.stdout)["examples"] == 40
    split = _cli("evaluate", "r", "--text", "sentence", cwd=run)  # no raw file to name
    assert split.returncode == 2 and "--text and --label name the columns" in split.stderr
