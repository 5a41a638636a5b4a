"""Real-text bench (issue 17): the offline corpora and `tools/bench.py --mode real-text`.

The corpora come from Debian packages (wordnet-base, fortunes, manpages, manpages-dev:
installed by .ci/run); each test skips, saying what to install, where one is missing.
The bench runs on a tiny WordNet sample: its figures come from the bench, not from here.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections import Counter

import pytest

from .conftest import REPO


def _rows_or_skip(reader):
    from keras_lstm_opt import DataError

    try:
        return reader()
    except DataError as err:
        pytest.skip(str(err))


def test_fortunes_corpus_is_real_quotations_in_many_topics():
    from keras_lstm_opt.bench.corpora_text import fortune_rows

    rows = _rows_or_skip(fortune_rows)
    labels = Counter(label for _, label in rows)
    assert len(rows) > 10_000 and len(labels) >= 30, (len(rows), len(labels))
    assert {"computers", "science", "politics"} <= set(labels)
    assert all(text and "\n" not in text and text != "%" for text, _ in rows)


def test_manpages_corpus_is_long_plain_text_in_five_sections():
    from keras_lstm_opt.bench.corpora_text import MAN_WORDS, man_rows, man_text

    rows = _rows_or_skip(man_rows)
    labels = Counter(label for _, label in rows)
    assert len(labels) == 5 and len(rows) > 800, labels
    lengths = [len(text.split()) for text, _ in rows]
    assert statistics.median(lengths) > 100 and max(lengths) <= MAN_WORDS
    assert not [t for t, _ in rows if "\\f" in t or "\\-" in t]  # font escapes, dashes
    markup = [t for t, _ in rows if ".B " in t or ".SH" in t]  # man(7) speaks of them
    assert len(markup) < len(rows) / 100, markup[:3]
    page = ('.\\" a comment\n.TH OPEN 2\n.SH NAME\nopen \\- open a file\n.SH SYNOPSIS\n'
            '.B #include <fcntl.h>\n.SH DESCRIPTION\nThe\n.BR open ()\ncall \\fIopens\\fP '
            'a file.\n.SH SEE ALSO\nclose(2)\n')
    assert man_text(page) == "open - open a file The open () call opens a file."


def _tiny_wordnet(path: str) -> None:
    from keras_lstm_opt.bench.corpora import wordnet_rows, write_text_rows

    rows = _rows_or_skip(wordnet_rows)
    keep = ("noun.animal", "noun.plant", "noun.food", "noun.artifact")
    picked = [r for r in rows if r[1] in keep]
    by = {k: [r for r in picked if r[1] == k][:150] for k in keep}
    write_text_rows([r for k in keep for r in by[k]], path)


def test_real_text_bench_runs_three_contenders_on_one_split(tmp_path):
    corpus = str(tmp_path / "tiny.csv")
    _tiny_wordnet(corpus)
    out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "bench.py"), "--mode",
                          "real-text", "--corpus", corpus, "--tutorial-epochs", "2",
                          "--set", "train.epochs=2", "--out", str(tmp_path / "b")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "b" / "real_text.json").read_text())
    rows = {r["contender"]: r for r in result["rows"]}
    assert set(rows) == {"tutorial", "tfidf", "ours"}
    assert [len(rows[c]["points"]) for c in ("tutorial", "tfidf", "ours")] == [2, 1, 2]
    tutorial = rows["tutorial"]
    assert tutorial["tutorial_best"] == tutorial["best_val_accuracy"]
    assert tutorial["speedup_vs_tutorial"] == 1.0
    ours = rows["ours"]  # charged for the import and all set-up before its first epoch
    assert ours["points"][0]["wall_seconds"] > ours["import_seconds"] > 0
    assert ours["chosen"]["vocab_size"]["value"] > 2
    for r in rows.values():
        assert r["rows"] == 600 and r["classes"] == 4
        assert 0 <= r["macro_f1"] <= 1 and 0 < r["best_val_accuracy"] <= 1
    split = tmp_path / "b" / "real-text" / "tiny"
    assert sum(1 for _ in open(split / "validation.csv")) - 1 == 120  # 20% of each class
    assert (tmp_path / "b" / "real_text.png").exists() and "speedup_vs_tutorial" in out.stdout


def test_real_text_bench_refuses_a_missing_or_wrong_corpus(tmp_path):
    bench = [sys.executable, os.path.join(REPO, "tools", "bench.py"), "--mode", "real-text"]
    out = subprocess.run([*bench, "--corpus", str(tmp_path / "nope.csv")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "nope.csv" in out.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,category\nhello,a\n")
    out = subprocess.run([*bench, "--corpus", str(bad), "--out", str(tmp_path / "b")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "bad.csv" in out.stderr and "text,label" in out.stderr
