"""The real-text bench's `ours`: keras-lstm-opt's one command, as a user would run it.

`run_ours` runs `import_data` + `fit` with the defaults on the split in the work directory,
as `keras-lstm-opt data import` and `train` would (threads picked first, as `train` picks
them), in the child process of `real_text.main`. Its curve's wall times count from the
process's start: import, pipeline and model build are charged to the first epoch
(`train_started_at` in metrics.json). The model it saved is the one judged, in float32 and
through the int8 Predictor.

Example:

    result = run_ours("bench/real-text/wordnet", ["import.pieces=0"])
    result["saved_model"]["val_accuracy"]
"""

from __future__ import annotations

import csv
import os
import time
from typing import Any

__all__ = ["run_ours"]


def run_ours(work: str, overrides: list[str]) -> dict[str, Any]:
    """Import and train on `work`'s split (`overrides`: `--set KEY=VALUE`, where
    `import.NAME=VALUE` is an argument of `import_data`); the curve, the saved model's
    accuracy and macro-F1 in float32 and int8, and what the defaults chose."""
    from keras_lstm_opt.config import load_config
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit, threads_for
    from keras_lstm_opt.serve.run import load_run

    start, start_at = time.perf_counter(), time.time()
    options: dict[str, Any] = {  # `--set import.pieces=0`: an import option, not the config's
        k[len("import.") :]: int(v) if v.lstrip("-").isdigit() else v
        for k, _, v in (o.partition("=") for o in overrides if o.startswith("import."))
    }
    overrides = [o for o in overrides if not o.startswith("import.")]
    threads_for(load_config(None, overrides))  # as `train` would, before the import's TF ops
    data, run = os.path.join(work, "ours-data"), os.path.join(work, "ours-run")
    report = import_data(
        os.path.join(work, "train.csv"),
        data,
        text="text",
        label="label",
        validation=os.path.join(work, "validation.csv"),
        progress=False,
        **options,
    )
    fit_start = time.perf_counter()
    metrics = fit(
        None, run, [f"data.path={data}", "train.verbose=epoch", *overrides], overwrite=True
    )
    fit_seconds = time.perf_counter() - fit_start
    with open(os.path.join(run, "history.csv"), encoding="utf-8") as fh:
        history = list(csv.DictReader(fh))
    offset = metrics["train_started_at"] - start_at  # import, pipeline and model build
    points = [
        {
            "epoch": int(r["epoch"]) + 1,
            "wall_seconds": offset + float(r["wall_seconds"]),
            "val_accuracy": float(r["val_accuracy"]),
        }
        for r in history
    ]
    evaluation = load_run(run).evaluate()
    int8 = load_run(run, "int8").evaluate(out=os.path.join(work, "ours-int8-evaluation"))
    return {
        "points": points,
        "import_seconds": fit_start - start,
        "setup_seconds": offset,  # import, pipeline and model build: before the first step
        "fit_seconds": fit_seconds,
        "saved_model": {"val_accuracy": evaluation["accuracy"], "macro_f1": evaluation["macro_f1"]},
        "int8": {  # the same saved model through Predictor(precision="int8")
            "val_accuracy": int8["accuracy"],
            "macro_f1": int8["macro_f1"],
            "drop_points": 100 * (evaluation["accuracy"] - int8["accuracy"]),
        },
        "chosen": report.get("chosen"),
        "auto": metrics.get("auto"),
        "best_epoch": metrics.get("best_epoch"),
    }
