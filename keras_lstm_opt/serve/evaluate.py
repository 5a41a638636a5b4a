"""evaluate_run: score a finished run on its validation split or on new raw data.

What it reads:

* nothing given: the validation shards of the run's data directory (metrics.json's
  "data", else config.yaml's `data.path`), through the same tf.data pipeline as
  training, so accuracy / MAE match metrics.json's val_accuracy / val_mae;
* an imported data directory (TFRecords + schema.json): its validation shards (all of
  its shards if it has no validation split); its vocabulary, classes or columns must
  be the run's;
* raw files (CSV, TSV, JSON Lines, Parquet; a file, a glob or a folder): text through
  the run's vectoriser, with the label column of the import (a label the model was not
  trained on stops with a DataError naming file, line and column); a series is read
  and sorted by time as `data import` reads it, and every complete window is scored.

What it writes, into the run directory or `out`: evaluation.json and charts.

* classification: accuracy, macro-F1, log loss, per-class precision / recall / F1 /
  support by class name, the confusion matrix (rows: true class) and
  confusion_matrix.png;
* forecasting: MAE and RMSE overall, per horizon step and per target, in the series'
  units, beside the seasonal-naive and last-value forecasts of the same windows, and
  forecast.png (one-step-ahead forecasts against the truth, and the last window).

Example:

    result = evaluate_run("runs/wordnet", data="new.csv")
    result["accuracy"], result["per_class"]["noun.animal"]["recall"]
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_lstm_opt.errors import DataError, UsageError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.fs import exists as _exists
from keras_lstm_opt.io.fs import isdir as _isdir
from keras_lstm_opt.io.fs import read_text as _read
from keras_lstm_opt.io.paths import join as _join
from keras_lstm_opt.progress import Progress
from keras_lstm_opt.serve.evaluate_charts import plot_confusion, plot_forecast
from keras_lstm_opt.serve.evaluate_metrics import (
    baseline_forecasts,
    classification_metrics,
    forecast_metrics,
)
from keras_lstm_opt.signals_deferred import publishing

if TYPE_CHECKING:
    from keras_lstm_opt.config import DataConfig
    from keras_lstm_opt.data.schema import Schema
    from keras_lstm_opt.serve.run import Run

log = logging.getLogger("keras_lstm_opt")
BATCH = 256


def evaluate_loaded(
    run: Run,
    data: str | None = None,
    out: str | None = None,
    text: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """`evaluate_run` for a loaded run (`Run.evaluate`)."""
    if run.schema is None:
        raise UsageError(
            f"{run.run_dir}: no schema.json (a run of a model of your own); "
            "evaluate it with Trainer.evaluate on your own data"
        )
    if run.task not in ("text", "forecast") or run.task == "text" and not run.classifies:
        raise UsageError(
            f"{run.run_dir}: evaluate knows text classification and "
            f"forecast runs, not task {run.task!r}"
        )
    source, kind = _source(run, data)
    if (text or label) and (kind != "raw" or run.task != "text"):
        raise UsageError(
            f"{run.run_dir}: text and label (--text, --label) name the columns of a raw "
            "file given as data (--data) to a text run"
        )
    if kind == "raw":
        arrays = (
            _raw_text(run, source, text, label) if run.task == "text" else _raw_series(run, source)
        )
    else:
        arrays = _shards(run, source, kind)
    result: dict[str, Any] = {
        "task": run.task,
        "run_dir": run.run_dir,
        "data": source,
        "split": "validation" if kind != "raw" else "file",
        "inference_precision": run.precision,  # (per_class "precision" is the metric)
    }
    out_dir = out or run.run_dir
    with tempfile.TemporaryDirectory() as local:  # written whole, then put into place
        if run.task == "text":
            result.update(classification_metrics(arrays["y"], arrays["p"], run.class_names or []))
            result["plots"] = [
                plot_confusion(
                    np.asarray(result["confusion_matrix"]),
                    run.class_names or [],
                    os.path.join(local, "confusion_matrix.png"),
                    result["accuracy"],
                )
            ]
        else:
            base = baseline_forecasts(run, arrays["x"])
            result.update(forecast_metrics(run, arrays["y"], arrays["p"], base))
            result["plots"] = [
                plot_forecast(
                    arrays["y"],
                    arrays["p"],
                    base,
                    run.targets,
                    os.path.join(local, "forecast.png"),
                    result["mae"],
                )
            ]
        if run.precision != "float32":
            result["summary"]["inference_precision"] = run.precision
        if kind == "validation" and run.metrics:
            name = "accuracy" if run.task == "text" else "mae"
            if f"val_{name}" in run.metrics:
                result["summary"]["metrics_json_val_" + name] = run.metrics[f"val_{name}"]
        from keras_lstm_opt.io.atomic import write_json as write_json_atomic

        result["plots"] = [_join(out_dir, os.path.basename(p)) for p in result["plots"]]
        write_json_atomic(os.path.join(local, "evaluation.json"), result)
        with publishing(out_dir):  # a signal now waits: the old files or all the new
            fs.makedirs(out_dir)  # evaluation.json goes last
            for name in sorted(os.listdir(local), key=lambda n: n == "evaluation.json"):
                fs.put(os.path.join(local, name), _join(out_dir, name))
    log.info(
        "evaluation of %s on %s: %s -> %s",
        run.run_dir,
        source,
        json.dumps(result["summary"]),
        _join(out_dir, "evaluation.json"),
    )
    return result


def _source(run: Run, data: str | None) -> tuple[str, str]:
    """(what to read, "validation" | "directory" | "raw")."""
    if data is None:
        directory = _data_dir(run)
        return directory, "validation"
    if _isdir(data) and _exists(_join(data, "schema.json")):
        return data, "directory"
    return data, "raw"


def _data_dir(run: Run) -> str:
    for directory in (run.metrics.get("data"), _config_data_path(run)):
        if isinstance(directory, str) and directory and _exists(_join(directory, "schema.json")):
            return directory
    raise DataError(
        f"{run.run_dir}: the run's data directory "
        f"({run.metrics.get('data') or _config_data_path(run) or 'unknown'}) "
        "cannot be found from here; pass the data (evaluate --data SRC_OR_DIR)"
    )


def _config_data_path(run: Run) -> str | None:
    cfg = _data_config(run)
    if cfg is None or not cfg.path:
        return None
    return cfg.path if _isdir(cfg.path) else os.path.dirname(cfg.path)


def _data_config(run: Run) -> DataConfig | None:
    """The run's data section (config.yaml), or None for a run without one."""
    import yaml

    from keras_lstm_opt.config import config_from_dict

    path = _join(run.run_dir, "config.yaml")
    if not _exists(path):
        return None
    return config_from_dict(yaml.safe_load(_read(path)) or {}, path, check_paths=False).data


def _check_same(run: Run, schema: Schema, directory: str) -> None:
    mine, theirs = run.info, schema.get("info", {})
    for key in ("vocabulary", "class_names", "num_classes", "series", "window", "horizon"):
        if key in mine and mine.get(key) != theirs.get(key):
            raise DataError(
                f"{directory}: its schema's info.{key} differs from the run's "
                "(imported again or separately since the run trained?); evaluate raw files "
                "instead, which go through the run's own vectoriser and scaling"
            )


def _shards(run: Run, directory: str, kind: str) -> dict[str, np.ndarray]:
    """Labels / targets and predictions over a data directory's validation shards."""

    from keras_lstm_opt.config import DataConfig
    from keras_lstm_opt.data.pipeline import make_dataset
    from keras_lstm_opt.data.schema import read_schema

    schema = read_schema(directory)
    if kind == "directory" or run.schema_path != _join(directory, "schema.json"):
        _check_same(run, schema, directory)  # the run keeps its own copy: re-imported since?
    match: Callable[[str], list[str]] = fs.glob
    files = sorted(match(_join(directory, "validation-*")))
    if not files and kind == "directory":
        files = sorted(match(_join(directory, "train-*")))
    if not files:
        raise DataError(
            f"{directory}: no validation shards (validation-*); evaluate on a "
            "raw file or a data directory instead (--data)"
        )
    cfg = _data_config(run) or DataConfig()
    cfg = dataclasses.replace(
        cfg,
        path=directory,
        cache="none",
        debug_delay_ms=0.0,
        service=dataclasses.replace(cfg.service, dispatcher=None),
    )
    ds = make_dataset(cfg, schema, files, BATCH, training=False, compression=schema["compression"])
    split = "validation" if os.path.basename(files[0]).startswith("validation") else "train"
    total = (schema.get("splits", {}).get(split) or {}).get("examples")
    xs, ys, ps = [], [], []
    with Progress("evaluate", total=total, unit="rows") as meter:  # ends also on an error
        for x, y in ds:
            meter.add(len(y))
            p = np.asarray(run.predictor()(x))  # float32: N x K held for the report
            if run.task == "text":
                p = np.concatenate([1.0 - p, p], axis=-1) if p.shape[-1] == 1 else p
            else:
                xs.append(np.asarray(x))
            ys.append(np.asarray(y))
            ps.append(p)
    if not ys:
        raise DataError(f"{directory}: the validation shards hold no examples")
    arrays = {"y": np.concatenate(ys), "p": np.concatenate(ps)}
    if xs:
        arrays["x"] = np.concatenate(xs)
    log.info("evaluating %s on %d examples of %s", run.run_dir, len(arrays["y"]), directory)
    return arrays


def _raw_text(
    run: Run, src: str, text: str | None = None, label: str | None = None
) -> dict[str, np.ndarray]:
    from keras_lstm_opt.data.readers import expand_sources, iter_records
    from keras_lstm_opt.data.text import label_ids
    from keras_lstm_opt.serve.columns import need_columns

    info = run.info.get("text") or {}
    text_col = text or info.get("column", "text")
    label_col = label or info.get("label_column", "label")
    pairs = ((text_col, "--text", text), (label_col, "--label", label))
    imported = {c: option for c, option, given in pairs if not given}  # the import's names
    ys, ps = [], []
    paths = expand_sources(src)
    for path in paths:  # every file's columns, before the first is scored
        need_columns(path, imported)
    sizes = [fs.info(p)["size"] for p in paths]
    base = 0
    with Progress("evaluate", total=sum(sizes), unit="bytes") as meter:
        for path, size in zip(paths, sizes, strict=True):
            for batch in iter_records(path, [text_col, label_col]):
                labels = batch.columns[label_col]
                ys.append(label_ids(run.info, labels, _at(batch.where, label_col)))
                ps.append(run.probabilities(batch.columns[text_col], BATCH))
                meter.update(base + batch.offset)
            base += size
    if not ys:
        raise DataError(f"{src}: no rows to evaluate")
    return {"y": np.concatenate(ys), "p": np.concatenate(ps)}


def _at(where: list[str], column: str) -> Callable[[int], str]:
    return lambda i: f"{where[i]}, column {column!r}"


def _raw_series(run: Run, src: str) -> dict[str, np.ndarray]:
    """Every complete window of a raw series file (read and sorted by time as `data
    import` reads it): raw windows, targets and forecasts."""
    from keras_lstm_opt.data.readers import expand_sources
    from keras_lstm_opt.data.series_read import read_series
    from keras_lstm_opt.data.series_windows import series_windows

    series_info = run.info.get("series")
    if not series_info:
        raise UsageError(
            f"{run.run_dir}: its data has no series description "
            "(info.series); evaluate it on its validation split"
        )
    series = read_series(expand_sources(src), str(series_info["time"]), run.columns)
    need = run.window + int(run.info.get("horizon", 1))
    if len(series) < need:
        raise DataError(
            f"{src}: {len(series)} rows give no complete window ({run.window} "
            f"rows in + {need - run.window} out)"
        )
    x, y = series_windows(run.info, series.table(), targets=True)
    assert y is not None
    p = run.forecast_windows(x, BATCH).reshape(len(x), -1).astype(np.float64)
    return {"x": x, "y": np.asarray(y, dtype=np.float64), "p": p}
