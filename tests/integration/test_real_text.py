"""Real-text bench (issues 17 and 30): the offline corpora and `benchmarks/bench.py --mode
real-text` with ours and its rivals (Keras tutorial, TF-IDF on words and characters,
fastText with and without word bigrams).

The corpora come from Debian packages (wordnet-base, fortunes, manpages, manpages-dev:
installed by .ci/run); each test skips, saying what to install, where one is missing.
The bench runs on samples of a few hundred rows: its figures come from the bench, not
from here. Without fastText (the `bench` extra) the bench test runs the other contenders.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from collections import Counter

import pytest

from ..conftest import REPO, time_limit


def _rows_or_skip(reader):
    from keras_lstm_opt.errors import DataError, MissingPackageError

    try:
        return reader()
    except (DataError, MissingPackageError) as err:
        pytest.skip(str(err))


def test_fortunes_corpus_is_real_quotations_in_many_topics():
    from benchmarks.corpora_text import fortune_rows

    rows = _rows_or_skip(fortune_rows)
    labels = Counter(label for _, label in rows)
    assert len(rows) > 10_000 and len(labels) >= 30, (len(rows), len(labels))
    assert {"computers", "science", "politics"} <= set(labels)
    assert all(text and "\n" not in text and text != "%" for text, _ in rows)


def test_manpages_corpus_is_long_plain_text_in_five_sections():
    from benchmarks.corpora_text import MAN_WORDS, man_rows, man_text

    rows = _rows_or_skip(man_rows)
    labels = Counter(label for _, label in rows)
    assert len(labels) == 5 and len(rows) > 800, labels
    lengths = [len(text.split()) for text, _ in rows]
    assert statistics.median(lengths) > 100 and max(lengths) <= MAN_WORDS
    assert not [t for t, _ in rows if "\\f" in t or "\\-" in t]  # font escapes, dashes
    markup = [t for t, _ in rows if ".B " in t or ".SH" in t]  # man(7) speaks of them
    assert len(markup) < len(rows) / 100, markup[:3]
    page = (
        '.\\" a comment\n.TH OPEN 2\n.SH NAME\nopen \\- open a file\n.SH SYNOPSIS\n'
        ".B #include <fcntl.h>\n.SH DESCRIPTION\nThe\n.BR open ()\ncall \\fIopens\\fP "
        "a file.\n.SH SEE ALSO\nclose(2)\n"
    )
    assert man_text(page) == "open - open a file The open () call opens a file."


def _tiny_wordnet(path: str) -> None:
    from benchmarks.corpora import wordnet_rows, write_text_rows

    rows = _rows_or_skip(wordnet_rows)
    keep = ("noun.animal", "noun.plant", "noun.food", "noun.artifact")
    picked = [r for r in rows if r[1] in keep]
    by = {k: [r for r in picked if r[1] == k][:150] for k in keep}
    write_text_rows([r for k in keep for r in by[k]], path)


BENCH = [sys.executable, os.path.join(REPO, "benchmarks", "bench.py"), "--mode", "real-text"]
HAS_FASTTEXT = importlib.util.find_spec("fasttext") is not None


def _labels(path) -> Counter:
    with open(path, newline="", encoding="utf-8") as fh:
        return Counter(r["label"] for r in csv.DictReader(fh))


def test_stratified_sample_keeps_each_class_share():
    from benchmarks.corpora import wordnet_rows
    from benchmarks.real_text_corpus import sample_rows

    rows = _rows_or_skip(wordnet_rows)
    full = Counter(label for _, label in rows)
    sample = sample_rows(rows, 1000, seed=3)
    assert len(sample) == 1000 and sample == sample_rows(rows, 1000, seed=3)
    assert len(set(sample)) == 1000 and set(sample) <= set(rows)
    got = Counter(label for _, label in sample)
    assert all(abs(got[k] - 1000 * n / len(rows)) < 1 for k, n in full.items()), got
    assert sample_rows(rows[:50], 1000) == rows[:50]


@pytest.mark.heavy
def test_real_text_bench_runs_every_rival_on_one_split_of_two_suite_corpora(tmp_path):
    from benchmarks.corpora import wordnet_rows
    from benchmarks.corpora_text import fortune_rows

    full = {
        "wordnet": Counter(label for _, label in _rows_or_skip(wordnet_rows)),
        "fortunes": Counter(label for _, label in _rows_or_skip(fortune_rows)),
    }
    pytest.importorskip("sklearn", reason="TF-IDF rivals: pip install '.[examples]'")
    names = ["tutorial", "tfidf-word", "tfidf-char", "fasttext", "fasttext-bigrams", "ours"]
    if not HAS_FASTTEXT:  # pip install '.[bench]' adds them
        names = [n for n in names if not n.startswith("fasttext")]
    out = subprocess.run(
        [
            *BENCH,
            "--corpus",
            "wordnet",
            "--corpus",
            "fortunes",
            "--rows",
            "300",
            "--contenders",
            ",".join(names),
            "--tutorial-epochs",
            "2",
            "--set",
            "train.epochs=2",
            "--set",
            "import.max_length=50",  # an argument of ours' import
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(600),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "b" / "real_text.json").read_text())
    assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]
    assert result["versions"]["tensorflow"] and result["versions"]["scikit-learn"]
    assert bool(result["versions"]["fasttext-numpy2"]) == HAS_FASTTEXT
    digests = set()
    for corpus in ("wordnet", "fortunes"):
        rows = {r["contender"]: r for r in result["rows"] if r["corpus"] == corpus}
        assert list(rows) == names
        split = tmp_path / "b" / "real-text" / corpus
        digest = hashlib.sha256(
            (split / "train.csv").read_bytes() + (split / "validation.csv").read_bytes()
        ).hexdigest()
        assert {r["split_sha256"] for r in rows.values()} == {digest}  # one split, read by all
        digests.add(digest)
        train, val = _labels(split / "train.csv"), _labels(split / "validation.csv")
        sample = train + val
        assert sum(sample.values()) == 300 and set(val) <= set(train)
        total = sum(full[corpus].values())  # a stratified sample of the whole corpus
        assert all(abs(sample[k] - 300 * n / total) < 1 for k, n in full[corpus].items())
        assert all(val[k] == min(round(n * 0.2), n - 1) for k, n in sample.items())
        majority = max(val.values()) / sum(val.values())
        print({corpus: {c: r["best_val_accuracy"] for c, r in rows.items()}, "majority": majority})
        for r in rows.values():
            assert r["rows"] == 300 and r["classes"] == len(sample)
            assert r["best_val_accuracy"] == max(p["val_accuracy"] for p in r["points"])
            assert 0 <= r["macro_f1"] <= 1 and all(p["wall_seconds"] > 0 for p in r["points"])
            # ~240 training rows in 24 (WordNet) or 37 (fortunes) classes: every contender
            # beats guessing a class at random (the weakest: 3 and 2.5 times that here)
            assert r["best_val_accuracy"] > 1 / r["classes"], r
        if corpus == "wordnet":  # fortunes' topics are all near its majority class (0.08)
            # TF-IDF on words reaches 0.41 here, three times the majority class (0.14)
            assert max(r["best_val_accuracy"] for r in rows.values()) > majority
        assert [len(rows[c]["points"]) for c in names] == [
            {"tutorial": 2, "ours": 2, "fasttext": 5, "fasttext-bigrams": 5}.get(c, 1)
            for c in names
        ]
        tutorial, ours = rows["tutorial"], rows["ours"]
        assert tutorial["tutorial_best"] == tutorial["best_val_accuracy"]
        assert tutorial["speedup_vs_tutorial"] == 1.0
        assert rows["tfidf-word"]["speedup_vs_tutorial"] is None  # LSTMs only
        # charged for the import and all set-up before its first epoch
        assert ours["points"][0]["wall_seconds"] > ours["import_seconds"] > 0
        assert ours["chosen"]["vocab_size"]["value"] > 2
        assert ours["chosen"]["max_length"]["value"] == 50
        assert ours["chosen"]["max_length"]["why"].startswith("given; ")
        best_rival = max(
            (r for c, r in rows.items() if c != "ours"), key=lambda r: r["best_val_accuracy"]
        )
        gap = 100 * (ours["best_val_accuracy"] - best_rival["best_val_accuracy"])
        assert ours["gap_points"] == pytest.approx(gap)
        summary = next(c for c in result["corpora"] if c["corpus"] == corpus)
        assert summary["best_rival"] == best_rival["contender"] and summary["half"] == "dev"
        assert ours["points"][0]["wall_seconds"] > ours["setup_seconds"] >= ours["import_seconds"]
        judged = summary["verdict"]  # issue 30's two lines, each "met" or why not
        assert judged["met"] == (judged["accuracy"] == judged["speed"] == "met")
        if judged["accuracy"] != "met":
            assert f"of {sum(val.values())} validation rows" in judged["accuracy"]
        assert judged["speed"] == "met" or judged["speed"].split(":")[0] in (
            "set-up",
            "first epoch",
            "epochs",
            "never",
        )
        for line in ("accuracy", "speed"):  # each miss printed under the table, as kept
            printed = f"{corpus}: {line} missed: {judged[line]}"
            assert (printed in out.stdout) == (judged[line] != "met"), printed
        if HAS_FASTTEXT:
            fast, bigrams = rows["fasttext"], rows["fasttext-bigrams"]
            assert [p["epoch"] for p in fast["points"]] == [1, 2, 3, 4, 5]
            assert fast["threads"] == len(os.sched_getaffinity(0))
            assert (fast["word_ngrams"], bigrams["word_ngrams"]) == (1, 2)
            assert (split / "fasttext-bigrams.train.txt").read_text().startswith("__label__")
    assert len(digests) == 2
    assert (tmp_path / "b" / "real_text.png").stat().st_size > 10_000
    assert "gap_points" in out.stdout and "scikit-learn 1." in out.stdout


def test_real_text_bench_takes_a_csv_and_a_list_of_rivals(tmp_path):
    pytest.importorskip("sklearn", reason="TF-IDF rivals: pip install '.[examples]'")
    corpus = str(tmp_path / "tiny.csv")
    _tiny_wordnet(corpus)
    names = ["tfidf-word", "tfidf-char"] + (["fasttext"] if HAS_FASTTEXT else [])
    asked = (["fasttext"] if HAS_FASTTEXT else []) + ["tfidf-char", "tfidf"]
    out = subprocess.run(
        [
            *BENCH,
            "--corpus",
            corpus,
            "--contenders",
            ",".join(asked),
            "--fasttext-epochs",
            "2",
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(300),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((tmp_path / "b" / "real_text.json").read_text())
    rows = {r["contender"]: r for r in result["rows"]}
    assert list(rows) == names  # the bench's order; "tfidf" is tfidf-word
    assert result["corpora"][0]["half"] is None  # a CSV is in neither half of the suite
    assert result["corpora"][0]["verdict"] == {}  # ours not run: no verdict
    if HAS_FASTTEXT:
        assert [p["epoch"] for p in rows["fasttext"]["points"]] == [1, 2]
    split = tmp_path / "b" / "real-text" / "tiny"
    val = _labels(split / "validation.csv")
    assert sum(val.values()) == 120  # 20% of each class
    majority = max(val.values()) / 120
    for r in rows.values():
        assert r["seconds_to_tutorial_best"] is None and r["gap_points"] is None
        assert r["rows"] == 600 and r["classes"] == 4
    print({c: r["best_val_accuracy"] for c, r in rows.items()})
    # 4 classes of 150 glosses each (the majority class: 0.25): a linear model on n-grams
    # learns them (0.88 and 0.93 here); fastText's 2 epochs reach 0.52
    assert min(rows[c]["best_val_accuracy"] for c in ("tfidf-word", "tfidf-char")) > 3 * majority
    assert all(r["best_val_accuracy"] > 1.5 * majority for r in rows.values())


def test_fasttext_child_starts_from_fasttexts_range_not_from_stale_memory(tmp_path):
    """fasttext-numpy2 leaves (10 - threads)/10 of its input matrix unset; the bench's
    child environment makes that zeros (release 0.9.2's behaviour), not heap garbage."""
    pytest.importorskip("fasttext", reason="fastText rivals: pip install '.[bench]'")
    from benchmarks.rivals import FASTTEXT_ENV, fasttext_line

    corpus = tmp_path / "tiny.csv"
    _tiny_wordnet(str(corpus))
    with (
        open(corpus, newline="", encoding="utf-8") as fh,
        open(tmp_path / "train.txt", "w", encoding="utf-8") as out,
    ):
        out.writelines(
            f"__label__{r['label']} {fasttext_line(r['text'])}\n" for r in csv.DictReader(fh)
        )
    # lr 0: the matrix stays as initialised; later trainings reuse memory earlier ones freed
    code = (
        "import sys, fasttext, numpy as np\nworst = 0.0\nfor _ in range(4):\n"
        "    m = fasttext.train_supervised(input=sys.argv[1], thread=2, verbose=0, "
        "epoch=1, lr=0.0)\n    w = m.get_input_matrix()\n"
        "    worst = max(worst, float(np.nanmax(np.abs(w))), 1e9 * np.isnan(w).any())\n"
        "print(worst, w.shape[1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "train.txt")],
        env={**os.environ, **FASTTEXT_ENV},
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    worst, dim = out.stdout.split()
    assert 0 < float(worst) <= 1 / int(dim)  # uniform(-1/dim, 1/dim) or zeros


def test_real_text_bench_refuses_a_missing_or_wrong_corpus(tmp_path):
    out = subprocess.run(
        [*BENCH, "--corpus", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 2 and "nope.csv" in out.stderr and "wordnet" in out.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,category\nhello,a\n")
    out = subprocess.run(
        [*BENCH, "--corpus", str(bad), "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 2 and "bad.csv" in out.stderr and "text,label" in out.stderr
    for args, words in (
        (["--contenders", "ours,svm"], ("svm", "fasttext-bigrams")),
        (["--rows", "1e3"], ("--rows", "1e3")),
    ):
        out = subprocess.run(
            [*BENCH, "--corpus", str(bad), *args],
            capture_output=True,
            text=True,
            timeout=time_limit(120),
        )
        assert out.returncode == 2 and all(w in out.stderr for w in words), out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "rows, words",
    [
        ("a b,x\nc d,\ne f,y\n", ("blank.csv, line 3", "empty label")),  # a class "" else
        ("a b,x\nc d,x\ne f,x\n", ("blank.csv", "3 rows in 1 class(es)", "2 labels")),
        ("a b,x\nc d,y\ne f,x\ng h,y\n", ("blank.csv", "no validation row", "3 rows")),
        ("", ("blank.csv", "0 rows in 0 class(es)")),
    ],
)
def test_real_text_bench_refuses_rows_it_cannot_split(tmp_path, rows, words):
    """A user's CSV the bench cannot judge on: one line naming it, exit 2, no traceback
    (before: an empty label became a class for some rivals and a traceback naming the
    bench's own train.csv for ours; one class or too few rows, a scikit-learn traceback)."""
    corpus = tmp_path / "blank.csv"
    corpus.write_text("text,label\n" + rows)
    out = subprocess.run(
        [*BENCH, "--corpus", str(corpus), "--contenders", "ours", "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 2 and all(w in out.stderr for w in words), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "b" / "real-text").exists()  # refused before any split


def test_real_text_bench_without_fasttext_says_what_to_install(tmp_path):
    corpus = tmp_path / "two.csv"
    corpus.write_text("text,label\n" + "a b,x\nc d,y\n" * 10)
    # None in sys.modules: `import fasttext` fails as for a package that is not installed
    code = (
        "import runpy, sys; sys.modules['fasttext'] = None; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            *BENCH[1:],
            "--corpus",
            str(corpus),
            "--contenders",
            "fasttext-bigrams",
            "--out",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1
    assert "fasttext" in out.stderr and "keras-lstm-opt[examples]" in out.stderr
    assert not (tmp_path / "b").exists()  # refused before any split was written
