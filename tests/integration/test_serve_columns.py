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
        "as imported: name yours with --text COLUMN (text= from Python)"
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


def test_every_format_is_checked_before_anything_is_predicted(run, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from keras_lstm_opt.errors import DataError
    from keras_lstm_opt.serve.predict import predict_file
    from keras_lstm_opt.serve.run import load_run

    rows = _rows(10, 2)
    (tmp_path / "a.jsonl").write_text(
        "".join(json.dumps({"sentence": t, "y": c}) + "\n" for t, c in rows)
    )
    pq.write_table(
        pa.table({"sentence": [t for t, _ in rows], "y": [c for _, c in rows]}),
        tmp_path / "b.parquet",
    )
    for name in ("a.jsonl", "b.parquet"):
        with pytest.raises(DataError, match=rf"{name}: no column 'body' \(columns: sentence, y\)"):
            predict_file(str(run / "r"), str(tmp_path / name), out=str(tmp_path / "o.csv"))
    assert not (tmp_path / "o.csv").exists()
    # a folder whose second file lacks the column: refused before the first is predicted
    folder = tmp_path / "both"
    folder.mkdir()
    _write(folder / "1.csv", ["body"], [[t] for t, _ in rows])
    _write(folder / "2.csv", ["sentence"], [[t] for t, _ in rows])
    with pytest.raises(DataError, match=r"2\.csv: no column 'body'"):
        predict_file(str(run / "r"), str(folder), out=str(tmp_path / "o.csv"), progress=False)
    assert not (tmp_path / "o.csv").exists()
    # from Python: the same columns by keyword
    result = load_run(str(run / "r")).evaluate(
        str(tmp_path / "b.parquet"), out=str(tmp_path / "ev"), text="sentence", label="y"
    )
    assert result["examples"] == 10
    # a Parquet file that is not one: the reader's one line, not a traceback
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"bad\.parquet"):
        predict_file(str(run / "r"), str(tmp_path / "bad.parquet"), out=str(tmp_path / "o.csv"))
