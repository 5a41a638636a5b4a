"""load_run: a finished run directory as a model that takes raw inputs.

A run directory written by `keras-lstm-opt train` (or `klo.fit`) holds the trained
model (model.keras) and, for data imported with `keras-lstm-opt data import`, the data
set's schema.json: the vocabulary and class names of a text classifier, the columns,
window and horizon of a forecaster. With both, `Run.predict` takes what a user has:
raw strings, or the raw rows of a series, and answers in class names or in the series'
own units. The schema is read from the run directory's schema.json, else from the data
directory named in metrics.json ("data") or config.yaml (`data.path`). A run trained
with `klo.Trainer` on a model of your own has no schema: `Run.predict` then takes the
model's own input arrays and returns its outputs. The `Run` itself, raw inputs in and
answers out: `run_model.py`.

Example:

    import keras_lstm_opt as klo

    run = klo.load_run("runs/wordnet")
    run.task                      # 'text'
    run.predict(["a small domesticated carnivorous mammal", "a unit of time"])
    # [{'label': 'noun.animal', 'probabilities': {'noun.Tops': 0.001, ...}}, ...]

    co2 = klo.load_run("runs/co2")
    co2.predict(pandas.read_csv("co2.csv"))  # the 12 months after the last row:
    #    step        date         co2
    # 0     1  2002-01-01  371.6...
    co2.predict(windows)          # raw windows [N, W, C] -> forecasts [N, H, T]
    co2.evaluate()                # metrics on the validation split (evaluation.json)
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from keras_lstm_opt.errors import DataError, RunDirError, UsageError
from keras_lstm_opt.io.fs import exists as _exists
from keras_lstm_opt.io.fs import isdir as _isdir
from keras_lstm_opt.io.fs import read_text as _read
from keras_lstm_opt.io.paths import join as _join
from keras_lstm_opt.serve.model_file import load_model as _load_model
from keras_lstm_opt.serve.run_model import Run, pad_ids

if TYPE_CHECKING:
    from keras_lstm_opt.data.schema import Schema

__all__ = ["PRECISIONS", "SCHEMA_FILE", "Run", "evaluate_run", "load_run", "pad_ids"]
SCHEMA_FILE = "schema.json"


def _find_schema(run_dir: str, metrics: dict[str, Any]) -> tuple[Schema | None, str]:
    """The run's data schema and where it came from (None, "" for a model of your own)."""
    from keras_lstm_opt.data.schema import read_schema, validate_schema

    own = _join(run_dir, SCHEMA_FILE)
    if _exists(own):
        try:
            return validate_schema(json.loads(_read(own)), own), own
        except json.JSONDecodeError as exc:
            raise DataError(f"{own}: not valid JSON ({exc})") from None
    candidates = [metrics.get("data")]
    config = _join(run_dir, "config.yaml")
    if _exists(config):
        import yaml

        path = ((yaml.safe_load(_read(config)) or {}).get("data") or {}).get("path")
        if isinstance(path, str):
            candidates.append(path if _isdir(path) else os.path.dirname(path))
    for directory in candidates:
        if isinstance(directory, str) and directory and _exists(_join(directory, SCHEMA_FILE)):
            return read_schema(directory), _join(directory, SCHEMA_FILE)
    return None, ""


PRECISIONS = ("float32", "int8")


def load_run(run_dir: str, precision: str = "float32") -> Run:
    """Load a finished run directory: its model, its data schema and its metrics.

    Args:
        run_dir: the run directory, as given to `train --run-dir` (relative to the
            current directory, absolute, or remote through TensorFlow's file systems).
        precision: what `predict`, `evaluate` and the server compute in: "float32", or
            "int8" (the LSTM kernels quantised: `klo.Predictor(model, precision="int8")`;
            refused, with the reason, for a model it cannot quantise).

    Returns:
        A `Run`.

    Raises:
        RunDirError: no such directory, or the run has not finished (no model.keras; the
            message names the process training it while one does).
        DataError: the schema it names cannot be read.

    Example:

        run = klo.load_run("runs/wordnet")
        run.predict(["a large natural stream of water"])[0]["label"]   # 'noun.object'
    """
    if not isinstance(run_dir, str) or not run_dir:
        raise UsageError(f"run_dir: expected a directory path, got {run_dir!r}")
    if precision not in PRECISIONS:
        raise UsageError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    from keras_lstm_opt.io.storage import check_paths

    check_paths({"run_dir": run_dir})  # a remote one: reachable (and its plugin loaded)
    if not _isdir(run_dir):
        raise RunDirError(f"{run_dir}: no such run directory")
    model_path = _join(run_dir, "model.keras")
    if not _exists(model_path):
        from keras_lstm_opt.training.run_lock import owner

        if (who := owner(run_dir)) is not None:  # live: named (a resume would be a 2nd)
            raise RunDirError(
                f"{run_dir}: no model.keras yet: it is being trained by PID "
                f"{who.pid} on {who.host} since {who.since}; wait until done"
            )
        unfinished = _exists(_join(run_dir, "backup")) or _exists(_join(run_dir, "config.yaml"))
        raise RunDirError(
            f"{run_dir}: no model.keras: "
            + (
                "the run has not finished; resume it by training into the same directory "
                f"(keras-lstm-opt train ... --run-dir {run_dir}) until it completes"
                if unfinished
                else "not a run directory of keras-lstm-opt train / klo.fit"
            )
        )
    metrics_path = _join(run_dir, "metrics.json")
    metrics = json.loads(_read(metrics_path)) if _exists(metrics_path) else {}
    schema, schema_from = _find_schema(run_dir, metrics)
    run = Run(run_dir, _load_model(model_path), schema, metrics, schema_from, precision)
    if precision != "float32":
        run.predictor()  # refused now, with the reason, if the model cannot be quantised
    return run


def evaluate_run(
    run_dir: str,
    data: str | None = None,
    out: str | None = None,
    precision: str = "float32",
    text: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Score the run in `run_dir` and write evaluation.json (+ PNGs).

    Args:
        run_dir: a finished run directory.
        data: None for the run's validation split; an imported data directory; or raw
            file(s): a CSV/TSV/JSON Lines/Parquet path, glob or folder.
        out: directory for evaluation.json and the charts (default: `run_dir`).
        precision: "float32" or "int8" (see `load_run`).
        text, label: text runs, raw `data`: the columns of the texts and the labels
            (default: the names the import read, `data import --text/--label`).

    Returns:
        The contents of evaluation.json; `summary` holds the headline numbers.

    Raises:
        RunDirError: the run is unfinished or missing.
        DataError: the data cannot be read or holds a label the model does not know
            (naming file, line and column).
        UsageError: a run without a data schema (a Trainer run on a model of your own).

    Example:

        evaluate_run("runs/co2")["summary"]   # {'mae': 0.41, 'seasonal_naive_mae': ...}
    """
    return load_run(run_dir, precision).evaluate(data, out, text, label)
