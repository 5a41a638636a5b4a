"""`import_data` for text: real WordNet glosses in every format, and every bad row.

The positive path uses a few hundred real noun glosses (Debian's wordnet-base) labelled
by their lexicographer file; the bad rows come from tiny hand-written files, and each
error must name the file, the line (or Parquet row) and the column.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import random
import re
from collections import Counter

import numpy as np
import pytest

from keras_lstm_opt.data.import_options import ReadOptions, TextColumns
from keras_lstm_opt.data.importer import import_data
from keras_lstm_opt.data.readers import expand_sources, iter_records
from keras_lstm_opt.data.schema import read_schema
from keras_lstm_opt.errors import DataError, UsageError

from ..conftest import time_limit

pytestmark = pytest.mark.skipif(
    not os.path.exists("/usr/share/wordnet/data.noun"),
    reason="needs WordNet (apt-get install wordnet-base)",
)


@pytest.fixture(scope="module")
def glosses() -> list[tuple[str, str]]:
    from benchmarks.corpora import wordnet_rows

    rows = wordnet_rows()
    random.Random(3).shuffle(rows)
    return rows[:300]


def _write(
    path: str, rows: list[tuple[object, object]], header: tuple[str, str] = ("text", "label")
) -> str:
    """Write rows as the format the suffix names."""
    if path.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(
            pa.table({header[0]: [r[0] for r in rows], header[1]: [r[1] for r in rows]}),
            path,
            row_group_size=64,
        )
    elif ".jsonl" in path:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "wt", encoding="utf-8") as fh:
            for t, lab in rows:
                fh.write(json.dumps({header[0]: t, header[1]: lab}) + "\n")
    else:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "wt", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, delimiter="\t" if ".tsv" in path else ",")
            w.writerow(header)
            w.writerows(rows)
    return path


def _examples(out: str, split: str) -> tuple[list[list[int]], list[int]]:
    import tensorflow as tf

    schema = read_schema(out)
    files = [os.path.join(out, f) for f in schema["splits"][split]["files"]]
    tokens, labels = [], []
    for rec in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        ex = tf.train.Example.FromString(rec.numpy())
        tokens.append(list(ex.features.feature["tokens"].int64_list.value))
        labels.append(ex.features.feature["label"].int64_list.value[0])
    return tokens, labels


def test_every_format_gives_the_same_data_and_ids_match_encode_texts(
    tmp_path: pytest.TempPathFactory, glosses: list[tuple[str, str]]
) -> None:
    from keras_lstm_opt.data.text import encode_texts, label_ids

    infos = {}
    for suffix in ("csv", "tsv", "jsonl.gz", "parquet"):
        src = _write(str(tmp_path / f"wn.{suffix}"), glosses)
        out = str(tmp_path / f"out-{suffix}")
        report = import_data(src, out, text="text", label="label", progress=False)
        assert report["rows"]["train"] + report["rows"]["validation"] == 300
        assert 0 < report["rows"]["validation"] < 120 and report["skipped"] == 0
        assert {"vocab_size", "max_length", "shards"} <= set(report["chosen"])
        info = read_schema(out)["info"]
        assert info["import"]["rows"] == report["rows"]
        infos[suffix] = info
        assert not os.path.exists(os.path.join(out, ".tmp-import"))
    first = infos["csv"]
    for info in infos.values():  # the readers agree row for row
        assert info["vocabulary"] == first["vocabulary"]
        assert info["class_names"] == first["class_names"]
    assert first["class_names"] == sorted({lab for _, lab in glosses})
    assert first["vocabulary"][:2] == ["", "[UNK]"]
    assert first["vocab_size"] == len(first["vocabulary"])
    # The stored ids are what encode_texts (predict, evaluate, export) makes of the text.
    out = str(tmp_path / "out-csv")
    tokens, labels = _examples(out, "train")
    vtokens, vlabels = _examples(out, "validation")
    stored = Counter((tuple(r), y) for r, y in zip(tokens + vtokens, labels + vlabels, strict=True))
    ids = encode_texts(first, [t for t, _ in glosses])
    ys = label_ids(first, [lab for _, lab in glosses], str)
    made = Counter(
        (tuple(int(v) for v in row if v != 0), int(y)) for row, y in zip(ids, ys, strict=True)
    )
    assert stored == made
    assert max(len(r) for r in tokens) <= first["text"]["max_length"]


def test_integer_labels_sort_numerically(
    tmp_path: pytest.TempPathFactory, glosses: list[tuple[str, str]]
) -> None:
    from benchmarks.corpora import NOUN_FILES

    number = {f"noun.{n}": i + 3 for i, n in enumerate(NOUN_FILES)}
    rows = [(t, number[lab]) for t, lab in glosses]
    src = _write(str(tmp_path / "wn.jsonl"), rows)
    report = import_data(
        src,
        str(tmp_path / "out"),
        text="text",
        label="label",
        validation_fraction=0.0,
        progress=False,
    )
    info = read_schema(str(tmp_path / "out"))["info"]
    want = sorted({str(n) for _, n in rows}, key=int)
    assert info["class_names"] == want != sorted(want)  # "10" after "9"
    assert report["rows"] == {"train": 300, "validation": 0}
    _, labels = _examples(str(tmp_path / "out"), "train")
    assert sorted(labels) == sorted(want.index(str(n)) for _, n in rows)


def test_character_tokens(tmp_path: pytest.TempPathFactory, glosses: list[tuple[str, str]]) -> None:
    src = _write(str(tmp_path / "wn.csv"), glosses[:100])
    report = import_data(
        src,
        str(tmp_path / "out"),
        text="text",
        label="label",
        tokens="character",
        max_length=40,
        progress=False,
    )
    info = read_schema(str(tmp_path / "out"))["info"]
    assert info["text"]["split"] == "character" and info["text"]["max_length"] == 40
    assert all(len(t) == 1 for t in info["vocabulary"][2:]) and "e" in info["vocabulary"]
    assert report["chosen"]["max_length"]["why"].startswith("given")
    tokens, _ = _examples(str(tmp_path / "out"), "train")
    assert max(len(r) for r in tokens) == 40


def test_the_distinct_token_pairs_of_the_training_rows_are_counted(
    tmp_path: pytest.TempPathFactory, glosses: list[tuple[str, str]]
) -> None:
    """`info.text.pairs` (what train.auto sizes the wide path's table by) is the number
    of distinct consecutive id pairs in the written training examples, not validation's."""
    src = _write(str(tmp_path / "wn.csv"), glosses)
    import_data(
        src,
        str(tmp_path / "out"),
        text="text",
        label="label",
        validation_fraction=0.3,
        progress=False,
    )
    tokens, _ = _examples(str(tmp_path / "out"), "train")
    want = {(a, b) for row in tokens for a, b in zip(row, row[1:], strict=False)}
    val_tokens, _ = _examples(str(tmp_path / "out"), "validation")
    only_val = {(a, b) for row in val_tokens for a, b in zip(row, row[1:], strict=False)} - want
    assert read_schema(str(tmp_path / "out"))["info"]["text"]["pairs"] == len(want) > 1000
    assert only_val  # validation's own pairs exist, and are not counted


def test_validation_file_and_fraction(
    tmp_path: pytest.TempPathFactory, glosses: list[tuple[str, str]]
) -> None:
    from keras_lstm_opt.data.import_text import import_text

    classes = {lab for _, lab in glosses[:250]}
    val = [r for r in glosses[250:] if r[1] in classes]
    train = _write(str(tmp_path / "train.csv"), glosses[:250])
    report = import_data(
        train,
        str(tmp_path / "a"),
        text="text",
        label="label",
        validation=_write(str(tmp_path / "val.csv"), val),
        progress=False,
    )
    assert report["rows"] == {"train": 250, "validation": len(val)}
    # The fraction split is per row: the same rows whatever the batch size, moved by seed.
    split = []
    for seed, batch in ((1, 10000), (1, 50), (2, 10000)):
        import_text(
            [train],
            str(tmp_path / "b"),
            TextColumns(text="text", label="label"),
            ReadOptions(seed=seed, validation_fraction=0.3, progress=False),
            batch_rows=batch,
        )
        split.append(sorted(map(tuple, _examples(str(tmp_path / "b"), "validation")[0])))
    assert split[0] == split[1] != split[2]
    assert 40 < len(split[0]) < 110


BAD = [  # (file name, content, expected message)
    (
        "h.csv",
        "text,topic\na dog,x\n",
        "h.csv, line 1, column 'label': missing from the header (columns: text, topic)",
    ),
    ("f.csv", "text,label\na dog,x\na cat\n", "f.csv, line 3, column 'label': missing"),
    (
        "e.csv",
        'text,label\na dog,x\n"a\ncat",y\n  ,x\n',
        "e.csv, line 5, column 'text': empty text",
    ),
    ("q.csv", 'text,label\na dog,x\n"a"cat,x\n', "q.csv, line 3: unparsable CSV"),
    ("w.csv", "text,label\na dog,x\na, cat,y\n", "w.csv, line 3: unparsable CSV: 3 fields"),
    (
        "k.jsonl",
        '{"text": "a dog", "label": "x"}\n{"text": "a cat"}\n',
        "k.jsonl, line 2, column 'label': missing (keys: text)",
    ),
    (
        "j.jsonl",
        '{"text": "a dog", "label": "x"}\n\n{"text": "a cat", label: 1}\n',
        "j.jsonl, line 3: not valid JSON",
    ),
    ("t.tsv", "text\tlabel\na dog\tx\n\ty\n", "t.tsv, line 3, column 'text': empty text"),
]


@pytest.mark.parametrize("name,content,message", BAD, ids=[b[0] for b in BAD])
def test_bad_row_names_file_line_and_column(
    tmp_path: pytest.TempPathFactory, name: str, content: str, message: str
) -> None:
    src = tmp_path / name
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(DataError, match=re.escape(f"{src}") + ".*") as err:
        import_data(str(src), str(out), text="text", label="label", progress=False)
    assert str(err.value).startswith(f"{tmp_path}/{message}")
    assert not (out / "schema.json").exists() and not (out / ".tmp-import").exists()


def test_parquet_null_and_unknown_validation_label(tmp_path: pytest.TempPathFactory) -> None:
    train = _write(str(tmp_path / "t.parquet"), [("a dog", "x"), (None, "y"), ("a cat", "y")])
    with pytest.raises(DataError) as err:
        import_data(train, str(tmp_path / "out"), text="text", label="label", progress=False)
    assert str(err.value) == f"{train}, row 2, column 'text': empty text"
    train = _write(str(tmp_path / "t.csv"), [("a dog", "x"), ("a cat", "y")])
    val = _write(str(tmp_path / "v.csv"), [("a cow", "x"), ("a zebra", "zebra")])
    with pytest.raises(DataError) as err:
        import_data(
            train, str(tmp_path / "out"), text="text", label="label", validation=val, progress=False
        )
    assert str(err.value).startswith(
        f"{val}, line 3, column 'label': label 'zebra' is not one of the 2 training classes (x, y)"
    )
    assert not (tmp_path / "out" / "schema.json").exists()
    report = import_data(
        train,
        str(tmp_path / "out"),
        text="text",
        label="label",
        validation=val,
        on_bad_row="skip",
        progress=False,
    )
    assert report["rows"] == {"train": 2, "validation": 1} and report["skipped"] == 1


def test_skip_mode_counts_and_reports(
    tmp_path: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    src = tmp_path / "mixed.jsonl"
    lines = [json.dumps({"text": f"good row number {i}", "label": "ab"[i % 2]}) for i in range(20)]
    lines[3] = "not json"
    lines[7] = json.dumps({"text": "   ", "label": "a"})
    lines[11] = json.dumps({"label": "a"})
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = str(tmp_path / "out")
    with caplog.at_level("WARNING", logger="keras_lstm_opt"):
        report = import_data(
            str(src), out, text="text", label="label", on_bad_row="skip", progress=False
        )
    assert report["skipped"] == 3
    assert sum(report["rows"].values()) == 17
    assert report["skipped_examples"] == [
        f"{src}, line 4: not valid JSON: Expecting value (character 1)",
        f"{src}, line 12, column 'text': missing (keys: label)",
        f"{src}, line 8, column 'text': empty text",
    ]
    assert "line 12, column 'text': missing" in caplog.text
    assert read_schema(out)["info"]["import"]["skipped"] == 3


def test_reimport_replaces_shards_and_a_failed_one_changes_nothing(
    tmp_path: pytest.TempPathFactory, glosses: list[tuple[str, str]]
) -> None:
    src = _write(str(tmp_path / "wn.csv"), glosses)
    out = str(tmp_path / "out")
    import_data(src, out, text="text", label="label", shards=4, progress=False)
    import_data(src, out, text="text", label="label", shards=3, progress=False)
    assert sorted(f for f in os.listdir(out) if f.startswith("train")) == [
        f"train-0000{i}-of-00003.tfrecord.gz" for i in range(3)
    ]
    before = read_schema(out)
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\na dog,x\n,y\n", encoding="utf-8")
    with pytest.raises(DataError):
        import_data(str(bad), out, text="text", label="label", progress=False)
    assert read_schema(out) == before and not os.path.exists(os.path.join(out, ".tmp-import"))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"text": "text"}, "also needs label=COLUMN"),
        ({"text": "t", "label": "t"}, "both name the column 't'"),
        ({"text": "t", "label": "l", "time": "d"}, "not both"),
        ({}, "say what to import"),
        ({"time": "d"}, "also needs target= (the column(s) to forecast)"),
        ({"text": "t", "label": "l", "validation_fraction": 1.0}, "validation_fraction"),
        (
            {"text": "t", "label": "l", "tokens": "bytes"},
            "expected one of auto, word, character, words+chars",
        ),
        ({"text": "t", "label": "l", "on_bad_row": "ignore"}, "on_bad_row"),
    ],
)
def test_usage_errors_say_what_to_give(
    tmp_path: pytest.TempPathFactory, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        import_data(str(tmp_path / "none.csv"), str(tmp_path / "out"), **kwargs)


def test_sources_and_streaming_batches(tmp_path: pytest.TempPathFactory) -> None:
    for i in range(3):
        _write(str(tmp_path / f"part{i}.csv"), [(f"text {i} {j}", "a") for j in range(5)])
    assert len(expand_sources(str(tmp_path / "part*.csv"))) == 3
    with pytest.raises(DataError, match="no file matches"):
        expand_sources(str(tmp_path / "nothing*.csv"))
    batches = list(iter_records(str(tmp_path / "part1.csv"), ["label", "text"], batch_rows=2))
    assert [len(b) for b in batches] == [2, 2, 1]
    assert batches[2].where == [f"{tmp_path}/part1.csv, line 6"]
    assert np.array(batches[0].columns["text"]).tolist() == ["text 1 0", "text 1 1"]
    assert [len(b) for b in iter_records(str(tmp_path / "part1.csv"), ["text"], batch_bytes=1)] == [
        1
    ] * 5  # long rows: small batches


def test_import_shows_bytes_of_total_with_an_eta_for_both_passes(tmp_path, caplog, monkeypatch):  # noqa: ANN001
    import logging
    import re

    from keras_lstm_opt.data.importer import import_data

    monkeypatch.setenv("KLO_PROGRESS_SECONDS", "0")  # a line per batch, not per 10 s
    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    for i in range(2):  # two files: the share counts both
        rows = [(f"text {i} {j} " * 8, "ab"[j % 2]) for j in range(3000)]
        _write(str(tmp_path / f"part{i}.csv"), rows)
    import_data(str(tmp_path / "part*.csv"), str(tmp_path / "out"), text="text", label="label")
    size = sum(os.path.getsize(tmp_path / f"part{i}.csv") for i in range(2)) / 1e3
    for what in ("pass 1/2 (counting tokens)", "pass 2/2 (writing shards)"):
        lines = [r.getMessage() for r in caplog.records if what in r.getMessage()]
        shares = [int(m) for line in lines for m in re.findall(r"\((\d+)%\)", line)]
        assert shares == [50, 100], lines  # a batch per file here: both files count
        assert all(f" of {size:,.1f} KB (" in line and ", ETA 0:" in line for line in lines[:-1])
        assert lines[-1] == f"import: {what}: {size:,.1f} KB in 0:00:0{lines[-1][-1]}"


def test_bench_corpus_is_real_glosses(tmp_path: pytest.TempPathFactory) -> None:
    from benchmarks.importer import write_corpus

    path = str(tmp_path / "bench.csv")
    assert write_corpus(path, 50, glosses_per_row=3) == os.path.getsize(path)
    (batch,) = iter_records(path, ["text", "label"])
    assert len(batch) == 50 and all(lab.startswith("noun.") for lab in batch.columns["label"])
    assert all(len(t.split()) >= 3 for t in batch.columns["text"])


def test_cli_import_refuses_a_half_given_task_before_tensorflow(tmp_path) -> None:  # noqa: ANN001
    """`data import` without a task, or with both, exits 2 at once (no TensorFlow start-up)
    with a message saying what to give; a finished import prints the train command."""
    import subprocess
    import time

    from ..conftest import console_script

    src = tmp_path / "t.csv"
    src.write_text("text,label\na small dog,animal\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine\n")
    for extra, expected in [
        ([], "say what to learn: --text COL --label COL"),
        (["--text", "text", "--label", "label", "--time", "t"], "not both"),
        (["--text", "text"], "also needs --label COLUMN"),
        (
            ["--text", "text", "--label", "label", "--validation-fraction", "1.5"],
            "--validation-fraction: expected a number in [0, 1)",
        ),
        (
            ["--time", "t", "--target", "x", "--window", "0", "--horizon", "2"],
            "--window: expected an integer >= 1",
        ),
        (["--text", "text", "--label", "label", "--pieces", "-1"], "--pieces: expected an integer"),
        (
            ["--time", "t", "--target", "x", "--window", "2", "--horizon", "2", "--pieces", "0"],
            "--pieces is for text classification (--text ...); forecasting takes --time COLUMN,",
        ),
        (["--text", "text", "--label", "label", "--pieces", "33"], "--pieces: expected at most 32"),
        (
            ["--text", "text", "--label", "label", "--tokens", "character", "--pieces", "2"],
            "pieces are parts of words",
        ),
        (
            ["--text", "text", "--label", "label", "--out", str(tmp_path / "notes")],
            "is not empty (todo.txt) and holds no earlier import",
        ),
    ]:
        began = time.monotonic()
        proc = subprocess.run(
            [
                console_script(),
                "data",
                "import",
                str(src),
                "--out",
                str(tmp_path / "out"),
                *extra,
            ],  # a later --out wins
            capture_output=True,
            text=True,
            timeout=time_limit(120),
        )
        assert proc.returncode == 2, proc.stderr
        assert expected in proc.stderr
        assert time.monotonic() - began < time_limit(5)  # refused before TensorFlow loads
    assert not (tmp_path / "out").exists()
    assert os.listdir(tmp_path / "notes") == ["todo.txt"]


def test_no_validation_examples_is_said_at_import(tmp_path, caplog) -> None:  # noqa: ANN001
    """A fraction of 0 (or skipped rows leaving none) imports, but says what it means."""
    import logging

    from keras_lstm_opt.data.importer import import_data

    src = tmp_path / "few.csv"
    src.write_text("text,label\na small dog,animal\na big tree,plant\na red car,thing\n")
    with caplog.at_level(logging.INFO, logger="keras_lstm_opt"):
        report = import_data(
            str(src),
            str(tmp_path / "out"),
            text="text",
            label="label",
            validation_fraction=0.0,
            progress=False,
        )
    assert report["rows"]["validation"] == 0
    assert "has no validation examples" in caplog.text
    assert "validation split: 0% of the rows" in caplog.text
