"""The real-text bench's rivals: what a user would train instead of keras-lstm-opt.

Each runs in a child process of its own (`real_text.main`) on the split the bench wrote
(`train.csv`, `validation.csv` in the work directory), and returns its epoch curve as
points `{epoch, wall_seconds, val_accuracy, macro_f1}`; wall time counts from reading
the split (TensorFlow's start-up, where there is one, is not timed):

* `tutorial`: a typical Keras tutorial: TextVectorization (20,000 tokens; texts cut or
  padded to the 95th percentile of the training texts' word counts) adapted on the
  training texts, Embedding(64) + LSTM(64) + softmax, NumPy arrays into `model.fit`,
  batch 32, Adam; a point after every epoch (the macro-F1's prediction is not timed);
* `tfidf-word` (alias `tfidf`): TfidfVectorizer over word 1-2 grams (sublinear tf) +
  LogisticRegression(max_iter=1000), scikit-learn; one point;
* `tfidf-char`: TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True)
  + the same LogisticRegression; one point;
* `fasttext`, `fasttext-bigrams`: fastText, the library (PyPI `fasttext-numpy2`, imported
  as `fasttext`), `train_supervised` with its defaults (lr 0.1, dim 100, softmax,
  5 epochs), the second with `wordNgrams=2`; no autotune; `thread` = the CPUs this process
  may use. fastText trains from a file of `__label__K text` lines: the texts are
  normalised as fastText's own tutorial does (punctuation split off, lower case, one
  line) and written into the work directory. Its learning rate decays to 0 over the
  epochs it is given, so the curve is one training per epoch count, epoch = 1..5 (its
  default; `--fasttext-epochs` goes further), each in this process, each point's wall
  time its own (reading the split, writing the file, training, predicting the validation
  texts).

fastText's child runs with `FASTTEXT_ENV`: fastText initialises its input matrix in 10
blocks, one per training thread (`DenseMatrix::uniform`), so with fewer than 10 threads
the other blocks keep what the allocation held. Release 0.9.2 held them in a
`std::vector` (zeros); since commit b733943 (Jan 2024, in fasttext-numpy2 0.10.4) in an
uninitialised aligned buffer: heap garbage up to 1e35 was measured there, and 30-40% of
trainings ended in "Encountered NaN" on 2 CPUs. glibc's `MALLOC_PERTURB_=255` fills each
allocation with zeros, which gives back release 0.9.2's behaviour. A training that still
stops with "Encountered NaN" is run again, up to 3 times; the point's wall time and
`nan_retries` count the failed tries.

Example:

    points = run_tfidf("bench/real-text/wordnet", "char")["points"]
"""

from __future__ import annotations

import csv
import os
import re
import time
from typing import Any

import numpy as np

from keras_lstm_opt.extras import need

TFIDF = "the real-text bench's TF-IDF rivals (scikit-learn)"
FASTTEXT = "the real-text bench's fastText rivals (fasttext-numpy2)"
NAN_TRIES = 3
# glibc fills every allocation with 255 ^ 0xff = 0: fastText's uninitialised blocks are zeros
FASTTEXT_ENV = {"MALLOC_PERTURB_": "255"}
_PUNCT = re.compile(r"([.!?,'/()])")


def read_corpus(path: str) -> list[tuple[str, str]]:
    """(text, label) rows of a CSV with `text` and `label` columns.

    Raises:
        DataError: the file lacks one of the columns, or a row's label is empty.
    """
    from keras_lstm_opt.errors import DataError

    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise DataError(
                f"{path}: needs the columns text,label; has {','.join(reader.fieldnames or [])}"
            )
        rows = []
        for r in reader:
            if not (r["label"] or "").strip():  # else a class named "" for some rivals
                raise DataError(f"{path}, line {reader.line_num}, column 'label': empty label")
            rows.append((r["text"] or "", r["label"]))
        return rows


def read_split(
    work: str,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], np.ndarray, np.ndarray, int]:
    """The split in `work`: train rows, validation rows, their class ids and the classes."""
    train = read_corpus(os.path.join(work, "train.csv"))
    val = read_corpus(os.path.join(work, "validation.csv"))
    names = sorted({label for _, label in train})
    index = {n: i for i, n in enumerate(names)}
    y = np.array([index[label] for _, label in train])
    # split_corpus leaves every class a training row
    yv = np.array([index[label] for _, label in val])
    return train, val, y, yv, len(names)


def macro_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Macro-F1 of predicted class ids `pred` against `y` (`k` classes; -1 = no answer,
    wrong for every class)."""
    from keras_lstm_opt.serve.evaluate_metrics import classification_metrics

    pred = np.asarray(pred, dtype=np.int64)
    p = np.eye(k + 1)[np.where(pred < 0, k, pred)]  # column k: "no answer", never true
    return float(classification_metrics(np.asarray(y), p, [])["macro_f1"])


def run_tutorial(work: str, epochs: int) -> dict[str, Any]:
    """The Keras tutorial LSTM for `epochs` epochs: {"points": [...]}."""
    import keras

    start = time.perf_counter()
    train, val, y, yv, k = read_split(work)
    length = int(np.percentile([len(t.split()) for t, _ in train], 95))
    vectorize = keras.layers.TextVectorization(
        max_tokens=20000, output_sequence_length=max(length, 1)
    )
    vectorize.adapt([t for t, _ in train], batch_size=1024)
    x = vectorize(np.array([t for t, _ in train])).numpy()
    xv = vectorize(np.array([t for t, _ in val])).numpy()
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(vectorize.vocabulary_size(), 64, mask_zero=True),
            keras.layers.LSTM(64),
            keras.layers.Dense(k, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    points: list[dict[str, float]] = []

    class Clock(keras.callbacks.Callback):
        paused = 0.0

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            pred = model.predict(xv, batch_size=256, verbose=0).argmax(-1)  # not timed
            points.append(
                {
                    "epoch": epoch + 1,
                    "wall_seconds": now - start - self.paused,
                    "val_accuracy": float((logs or {})["val_accuracy"]),
                    "macro_f1": macro_f1(yv, pred, k),
                }
            )
            self.paused += time.perf_counter() - now

    model.fit(
        x, y, batch_size=32, epochs=epochs, validation_data=(xv, yv), verbose=2, callbacks=[Clock()]
    )
    return {"points": points}


def run_tfidf(work: str, analyzer: str) -> dict[str, Any]:
    """TF-IDF + logistic regression on `analyzer` "word" (1-2 grams) or "char" (char_wb
    1-5 grams): {"points": [one point]}."""
    text = need("sklearn.feature_extraction.text", TFIDF, "examples")
    linear = need("sklearn.linear_model", TFIDF, "examples")

    start = time.perf_counter()
    train, val, y, yv, k = read_split(work)
    if analyzer == "char":
        vec = text.TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 5), sublinear_tf=True)
    else:
        vec = text.TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x = vec.fit_transform([t for t, _ in train])
    clf = linear.LogisticRegression(max_iter=1000).fit(x, y)
    pred = clf.predict(vec.transform([t for t, _ in val]))
    seconds = time.perf_counter() - start
    return {
        "points": [
            {
                "epoch": 1,
                "wall_seconds": seconds,
                "val_accuracy": float(np.mean(pred == yv)),
                "macro_f1": macro_f1(yv, pred, k),
            }
        ],
        "features": int(x.shape[1]),
    }


def fasttext_line(text: str) -> str:
    """A text as fastText's tutorial prepares it: punctuation split off, lower case, one
    line of single spaces."""
    return " ".join(_PUNCT.sub(r" \1 ", text).lower().split())


def fasttext_threads() -> int:
    """The CPUs this process may use (its affinity): fastText's `thread`."""
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def _fasttext_once(
    ft: Any, work: str, name: str, epoch: int, word_ngrams: int | None, threads: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Read the split, write fastText's file, train `epoch` epochs, predict validation."""
    train, val, y, yv, k = read_split(work)
    path = os.path.join(work, f"{name}.train.txt")
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(
            f"__label__{c} {fasttext_line(t)}\n"
            for c, (t, _) in zip(y.tolist(), train, strict=True)
        )
    extra = {"wordNgrams": word_ngrams} if word_ngrams else {}
    model = ft.train_supervised(input=path, epoch=epoch, thread=threads, verbose=0, **extra)
    labels, _ = model.predict([fasttext_line(t) for t, _ in val], k=1)
    pred = np.array([int(lab[0][len("__label__") :]) if lab else -1 for lab in labels])
    return yv, pred, k


def run_fasttext(
    work: str, name: str, word_ngrams: int | None = None, epochs: int | None = None
) -> dict[str, Any]:
    """fastText trained at epoch = 1..`epochs` (default: the library's, 5), one training
    each: {"points": [...], "threads": ..., "defaults": {...}}.

    Args:
        work: the bench's work directory of one corpus (its split).
        name: the contender's name (names the training file).
        word_ngrams: None for the library's default (1), else `wordNgrams`.
        epochs: the last epoch count trained.
    """
    ft = need("fasttext", FASTTEXT, "examples")
    defaults = dict(ft.FastText.unsupervised_default)  # train_supervised starts from these
    threads = fasttext_threads()
    points = []
    for epoch in range(1, (epochs or int(defaults["epoch"])) + 1):
        start, retries = time.perf_counter(), 0
        while True:
            try:
                yv, pred, k = _fasttext_once(ft, work, name, epoch, word_ngrams, threads)
                break
            except RuntimeError as exc:
                if "NaN" not in str(exc) or retries + 1 >= NAN_TRIES:
                    raise
                retries += 1
        seconds = time.perf_counter() - start
        points.append(
            {
                "epoch": epoch,
                "wall_seconds": seconds,
                "val_accuracy": float(np.mean(pred == yv)),
                "macro_f1": macro_f1(yv, pred, k),
                "nan_retries": retries,
            }
        )
    return {
        "points": points,
        "threads": threads,
        "word_ngrams": word_ngrams or 1,
        "curve": "one training per epoch count; each point's own wall time",
        "malloc_perturb": os.environ.get("MALLOC_PERTURB_"),
    }
