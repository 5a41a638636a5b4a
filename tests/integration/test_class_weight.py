"""`train.class_weight` on imbalanced real text: WordNet glosses of four lexicographer
classes kept at 800, 200, 60 and 50 rows (the largest 16x the smallest), imported as a
user would; `balanced` against `none`, same seed and deterministic data, scored by
`evaluate` (macro-F1 and per-class recall). Also string labels in a mapping, and the
one-line errors."""

from __future__ import annotations

import csv
import json
import random

import pytest

from keras_lstm_opt.errors import ConfigError

pytestmark = pytest.mark.slow
KEEP = {"noun.artifact": 800, "noun.person": 200, "noun.time": 60, "noun.shape": 50}
SETTINGS = [
    "model.lstm=keras",
    "model.units=16",
    "train.epochs=4",
    "train.batch_size=32",
    "train.verbose=silent",
    "data.deterministic=true",
    "train.early_stopping_patience=0",
]


@pytest.fixture(scope="module")
def imbalanced(tmp_path_factory: pytest.TempPathFactory) -> str:
    from benchmarks.corpora import wordnet_rows
    from keras_lstm_opt.data.importer import import_data

    rows = list(wordnet_rows())
    random.Random(0).shuffle(rows)
    taken = {label: 0 for label in KEEP}
    kept = []
    for text, label in rows:
        if label in KEEP and taken[label] < KEEP[label]:
            taken[label] += 1
            kept.append((text, label))
    assert taken == KEEP, taken
    root = tmp_path_factory.mktemp("imbalanced")
    src = root / "imbalanced.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *kept])
    import_data(str(src), str(root / "data"), text="text", label="label", progress=False)
    return str(root / "data")


@pytest.fixture(scope="module")
def unweighted(imbalanced, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The run without weights (class or row), evaluated: what the weighted runs beat."""
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.run import evaluate_run

    run = str(tmp_path_factory.mktemp("unweighted") / "run")
    fit(None, run_dir=run, overrides=[*SETTINGS, f"data.path={imbalanced}"])
    return evaluate_run(run)


def test_balanced_raises_macro_f1_over_none(imbalanced, unweighted, tmp_path):
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.run import evaluate_run

    scores = {}
    for setting in ("none", "balanced"):
        run = str(tmp_path / setting)
        if setting == "none":
            result = unweighted
        else:
            fit(
                None,
                run_dir=run,
                overrides=[*SETTINGS, f"data.path={imbalanced}", f"train.class_weight={setting}"],
            )
            result = evaluate_run(run)
        scores[setting] = {
            "macro_f1": round(result["macro_f1"], 4),
            "accuracy": round(result["accuracy"], 4),
            "recall": {k: round(v["recall"], 3) for k, v in result["per_class"].items()},
        }
    print("class_weight:", json.dumps(scores))
    assert scores["balanced"]["macro_f1"] > scores["none"]["macro_f1"], scores


def test_a_mapping_names_the_labels_and_a_wrong_one_is_one_line(imbalanced, tmp_path):
    from keras_lstm_opt.experiment import fit

    base = [*SETTINGS, "train.epochs=1", f"data.path={imbalanced}"]
    metrics = fit(
        None,
        run_dir=str(tmp_path / "mapped"),
        overrides=[*base, 'train.class_weight={"noun.time": 5, "noun.shape": 5}'],
    )
    assert metrics["epochs_completed"] == 1
    with pytest.raises(ConfigError, match="no class 'noun.cat' in the data; classes: noun"):
        fit(
            None,
            run_dir=str(tmp_path / "x"),
            overrides=[*base, 'train.class_weight={"noun.cat": 2}'],
        )
    with pytest.raises(ConfigError, match="expected none, balanced or a mapping"):
        fit(None, run_dir=str(tmp_path / "y"), overrides=[*base, "train.class_weight=equal"])
    with pytest.raises(ConfigError, match="weights must be numbers >= 0"):
        fit(
            None,
            run_dir=str(tmp_path / "z"),
            overrides=[*base, 'train.class_weight={"noun.time": -1}'],
        )


def test_row_weights_of_data_import_weigh_the_training_loss(imbalanced, unweighted, tmp_path):
    """`data import --weight COLUMN`: rows of noun.person weigh 0, so the model never
    learns that class, which it learns without the weights (same rows, same seed)."""
    import os

    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.data.schema import read_schema
    from keras_lstm_opt.errors import DataError
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.run import evaluate_run

    src = os.path.join(os.path.dirname(imbalanced), "imbalanced.csv")
    rows = list(csv.reader(open(src, encoding="utf-8")))
    weighted = tmp_path / "weighted.csv"
    with open(weighted, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(
            [(*rows[0], "w")]
            + [(t, lab, "0" if lab == "noun.person" else "1") for t, lab in rows[1:]]
        )
    data = str(tmp_path / "data")
    import_data(str(weighted), data, text="text", label="label", weight="w", progress=False)
    info = read_schema(data)["info"]["weight"]
    assert info["column"] == "w" and info["min"] == 0 and info["max"] == 1
    assert 100 < info["zero_rows"] < 200  # noun.person's training rows
    recall = {"unweighted": unweighted["per_class"]["noun.person"]["recall"]}
    run = str(tmp_path / "weighted")
    fit(None, run_dir=run, overrides=[*SETTINGS, f"data.path={data}"])
    recall["weighted"] = evaluate_run(run)["per_class"]["noun.person"]["recall"]
    print("row weights: noun.person recall", recall)
    assert recall["weighted"] == 0.0 < recall["unweighted"], recall
    # a bad weight names its row
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label,w\na cat,x,1\na dog,y,heavy\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv, line 3, column 'w': a weight is a number >= 0"):
        import_data(str(bad), str(tmp_path / "bad"), text="text", label="label", weight="w")
