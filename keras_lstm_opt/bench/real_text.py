"""Real-text benchmark: keras-lstm-opt's one command against what a user would otherwise write.

For a corpus given as a CSV with `text,label` columns (string labels), the rows are split
once (stratified, `validation_fraction`, `seed`) into train.csv and validation.csv, and
three contenders train on the same split, each in a fresh process (TensorFlow's start-up
is not timed, everything after it is):

* `tutorial`: a typical Keras tutorial: TextVectorization (20,000 tokens; texts cut or
  padded to the 95th percentile of the training texts' word counts, as a careful user
  picks `output_sequence_length`; padding to the longest text would make it far slower)
  adapted on the training texts, Embedding(64) + LSTM(64) + softmax, NumPy arrays into
  `model.fit`, batch 32, Adam; validation accuracy after every epoch;
* `tfidf`: TF-IDF over word 1- and 2-grams (sublinear tf) + multinomial logistic
  regression, scikit-learn (the `bench` extra);
* `ours`: `import_data` + `fit` with the defaults, as `keras-lstm-opt data import` and
  `train` would run; the model saved is the one judged. Epoch times count from the
  process's start (import, pipeline and model build included; `train_started_at` in
  metrics.json), as the tutorial's count from its vectorisation.

Reported per corpus: best validation accuracy and macro-F1 (of the epoch with the best
accuracy; ours: the saved model's), the wall time each LSTM first reaches the tutorial's
best accuracy, and the ratio; JSON, a table and a PNG of accuracy against wall time.

Example:

    result = bench_real_text(["wordnet.csv"], "bench/", tutorial_epochs=5)
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from keras_lstm_opt.bench.contender import print_result, run_contender
from keras_lstm_opt.bench.tta import first_reach
from keras_lstm_opt.charts import save_figure
from keras_lstm_opt.extras import need

CONTENDERS = ("tutorial", "tfidf", "ours")
TFIDF = "the real-text bench's TF-IDF contender (scikit-learn)"


def read_corpus(path: str) -> list[tuple[str, str]]:
    """(text, label) rows of a CSV with `text` and `label` columns."""
    from keras_lstm_opt.errors import DataError

    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise DataError(f"{path}: needs the columns text,label; has "
                            f"{','.join(reader.fieldnames or [])}")
        return [(r["text"], r["label"]) for r in reader]


def split_corpus(rows: list[tuple[str, str]], out_dir: str, validation_fraction: float = 0.2,
                 seed: int = 0) -> dict[str, Any]:
    """Write train.csv and validation.csv (stratified by label); return the corpus stats."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    rng, train, val = random.Random(seed), [], []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        n = round(len(group) * validation_fraction)
        val += group[:n]
        train += group[n:]
    rng.shuffle(train)
    rng.shuffle(val)
    os.makedirs(out_dir, exist_ok=True)
    for name, part in (("train", train), ("validation", val)):
        with open(os.path.join(out_dir, f"{name}.csv"), "w", newline="",
                  encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["text", "label"])
            writer.writerows(part)
    counts = Counter(label for _, label in rows)
    return {"rows": len(rows), "train": len(train), "validation": len(val),
            "classes": len(counts), "majority_share": max(counts.values()) / len(rows),
            "median_words": statistics.median(len(t.split()) for t, _ in rows),
            "p90_words": float(np.percentile([len(t.split()) for t, _ in rows], 90))}


def macro_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    from keras_lstm_opt.serve.evaluate import classification_metrics

    p = np.eye(k)[np.asarray(pred, dtype=np.int64)]
    return float(classification_metrics(np.asarray(y), p, [])["macro_f1"])


def _labels(train: list[tuple[str, str]], val: list[tuple[str, str]]
            ) -> tuple[np.ndarray, np.ndarray, int]:
    names = sorted({label for _, label in train})
    index = {n: i for i, n in enumerate(names)}
    y = np.array([index[label] for _, label in train])
    yv = np.array([index.get(label, -1) for _, label in val])
    return y, yv, len(names)


def run_tutorial(work: str, epochs: int) -> dict[str, Any]:
    import keras

    start = time.perf_counter()
    train = read_corpus(os.path.join(work, "train.csv"))
    val = read_corpus(os.path.join(work, "validation.csv"))
    y, yv, k = _labels(train, val)
    length = int(np.percentile([len(t.split()) for t, _ in train], 95))
    vectorize = keras.layers.TextVectorization(max_tokens=20000,
                                               output_sequence_length=max(length, 1))
    vectorize.adapt([t for t, _ in train], batch_size=1024)
    x = vectorize(np.array([t for t, _ in train])).numpy()
    xv = vectorize(np.array([t for t, _ in val])).numpy()
    model = keras.Sequential([
        keras.Input((None,), dtype="int64"),
        keras.layers.Embedding(vectorize.vocabulary_size(), 64, mask_zero=True),
        keras.layers.LSTM(64), keras.layers.Dense(k, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    points: list[dict[str, float]] = []

    class Clock(keras.callbacks.Callback):
        paused = 0.0

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            pred = model.predict(xv, batch_size=256, verbose=0).argmax(-1)  # not timed
            points.append({"epoch": epoch + 1, "wall_seconds": now - start - self.paused,
                           "val_accuracy": float((logs or {})["val_accuracy"]),
                           "macro_f1": macro_f1(yv, pred, k)})
            self.paused += time.perf_counter() - now

    model.fit(x, y, batch_size=32, epochs=epochs, validation_data=(xv, yv), verbose=2,
              callbacks=[Clock()])
    return {"points": points}


def run_tfidf(work: str) -> dict[str, Any]:
    text = need("sklearn.feature_extraction.text", TFIDF, "examples")
    linear = need("sklearn.linear_model", TFIDF, "examples")

    start = time.perf_counter()
    train = read_corpus(os.path.join(work, "train.csv"))
    val = read_corpus(os.path.join(work, "validation.csv"))
    y, yv, k = _labels(train, val)
    vec = text.TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    x = vec.fit_transform([t for t, _ in train])
    clf = linear.LogisticRegression(max_iter=1000).fit(x, y)
    pred = clf.predict(vec.transform([t for t, _ in val]))
    seconds = time.perf_counter() - start
    return {"points": [{"epoch": 1, "wall_seconds": seconds,
                        "val_accuracy": float(np.mean(pred == yv)),
                        "macro_f1": macro_f1(yv, pred, k)}]}


def run_ours(work: str, overrides: list[str]) -> dict[str, Any]:
    from keras_lstm_opt.config import load_config
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit, threads_for
    from keras_lstm_opt.serve.run import load_run

    start, start_at = time.perf_counter(), time.time()
    threads_for(load_config(None, overrides))  # as `train` would, before the import's TF ops
    data, run = os.path.join(work, "ours-data"), os.path.join(work, "ours-run")
    report = import_data(os.path.join(work, "train.csv"), data, text="text", label="label",
                         validation=os.path.join(work, "validation.csv"), progress=False)
    fit_start = time.perf_counter()
    metrics = fit(None, run, [f"data.path={data}", "train.verbose=epoch", *overrides],
                  overwrite=True)
    fit_seconds = time.perf_counter() - fit_start
    with open(os.path.join(run, "history.csv"), encoding="utf-8") as fh:
        history = list(csv.DictReader(fh))
    offset = metrics["train_started_at"] - start_at  # import, pipeline and model build
    points = [{"epoch": int(r["epoch"]) + 1, "wall_seconds": offset + float(r["wall_seconds"]),
               "val_accuracy": float(r["val_accuracy"])} for r in history]
    evaluation = load_run(run).evaluate()
    return {"points": points, "import_seconds": fit_start - start, "fit_seconds": fit_seconds,
            "saved_model": {"val_accuracy": evaluation["accuracy"],
                            "macro_f1": evaluation["macro_f1"]},
            "chosen": report.get("chosen"), "auto": metrics.get("auto"),
            "best_epoch": metrics.get("best_epoch")}


def _child(contender: str, work: str, epochs: int, overrides: list[str]) -> dict[str, Any]:
    return run_contender("keras_lstm_opt.bench.real_text",
                         [contender, work, str(epochs), *overrides],
                         tutorial=contender == "tutorial")


def bench_real_text(corpora: list[str], out_dir: str, tutorial_epochs: int = 5,
                    overrides: list[str] | None = None, contenders: tuple[str, ...] = CONTENDERS,
                    validation_fraction: float = 0.2, seed: int = 0,
                    progress: Callable[[str], Any] = print) -> dict[str, Any]:
    """Train the contenders on each corpus (a CSV with text,label); see the module docstring."""
    if "tfidf" in contenders:  # in this process, before any corpus is split or trained
        need("sklearn", TFIDF, "examples")
    rows = []
    for path in corpora:
        name = os.path.splitext(os.path.basename(path))[0]
        work = os.path.join(out_dir, "real-text", name)
        stats = split_corpus(read_corpus(path), work, validation_fraction, seed)
        progress(f"{name}: {stats['rows']} rows, {stats['classes']} classes, median "
                 f"{stats['median_words']:g} words; train {stats['train']}, validation "
                 f"{stats['validation']}")
        results = {}
        for c in contenders:
            began = time.perf_counter()
            results[c] = _child(c, work, tutorial_epochs, list(overrides or []))
            best = max(results[c]["points"], key=lambda p: p["val_accuracy"])
            progress(f"  {c}: best val_accuracy {best['val_accuracy']:.4f} at "
                     f"{best['wall_seconds']:.1f} s ({time.perf_counter() - began:.0f} s "
                     "with start-up)")
        rows += _rows(name, stats, results)
    return {"mode": "real-text", "tutorial_epochs": tutorial_epochs, "seed": seed,
            "overrides": list(overrides or []), "rows": rows}


def _rows(name: str, stats: dict[str, Any], results: dict[str, Any]) -> list[dict[str, Any]]:
    tutorial = results.get("tutorial")
    target = max(p["val_accuracy"] for p in tutorial["points"]) if tutorial else None
    t_tut = first_reach(tutorial["points"], target) if tutorial and target else None
    out = []
    for c, r in results.items():
        best = max(r["points"], key=lambda p: p["val_accuracy"])
        f1 = r["saved_model"]["macro_f1"] if "saved_model" in r else best["macro_f1"]
        reach = first_reach(r["points"], target) if target is not None else None
        out.append({"corpus": name, **{k: stats[k] for k in ("rows", "classes", "median_words")},
                    "contender": c, "best_val_accuracy": best["val_accuracy"],
                    "macro_f1": f1, "best_at_seconds": best["wall_seconds"],
                    "tutorial_best": target, "seconds_to_tutorial_best": reach,
                    "speedup_vs_tutorial": (t_tut / reach) if t_tut and reach and c != "tfidf"
                    else None, "points": r["points"],
                    **{k: r[k] for k in ("chosen", "auto", "best_epoch", "import_seconds",
                                         "saved_model") if k in r}})
    return out


def plot(result: dict[str, Any], path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpora = list(dict.fromkeys(r["corpus"] for r in result["rows"]))
    fig, axes = plt.subplots(1, len(corpora), figsize=(5 * len(corpora), 4), squeeze=False)
    for ax, corpus in zip(axes[0], corpora, strict=True):
        for r in (r for r in result["rows"] if r["corpus"] == corpus):
            pts = r["points"]
            style = "s" if r["contender"] == "tfidf" else "o-"
            ax.plot([p["wall_seconds"] for p in pts], [p["val_accuracy"] for p in pts], style,
                    label=r["contender"])
        ax.set_title(f"{corpus} ({r['rows']} rows, {r['classes']} classes)")
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("validation accuracy")
    return save_figure(fig, path, legend_axes=axes[0])


def main(argv: list[str]) -> int:
    """The child process: `real_text CONTENDER WORK EPOCHS [OVERRIDES...]`."""
    contender, work, epochs, overrides = argv[0], argv[1], int(argv[2]), argv[3:]
    if contender == "tutorial":
        result = run_tutorial(work, epochs)
    elif contender == "tfidf":
        result = run_tfidf(work)
    else:
        result = run_ours(work, overrides)
    print_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
