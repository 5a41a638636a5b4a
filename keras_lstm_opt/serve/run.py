"""load_run: a finished run directory as a model that takes raw inputs.

A run directory written by `keras-lstm-opt train` (or `klo.fit`) holds the trained
model (model.keras) and, for data imported with `keras-lstm-opt data import`, the data
set's schema.json: the vocabulary and class names of a text classifier, the columns,
window and horizon of a forecaster. With both, `Run.predict` takes what a user has:
raw strings, or the raw rows of a series, and answers in class names or in the series'
own units. The schema is read from the run directory's schema.json, else from the data
directory named in metrics.json ("data") or config.yaml (`data.path`). A run trained
with `klo.Trainer` on a model of your own has no schema: `Run.predict` then takes the
model's own input arrays and returns its outputs.

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
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_lstm_opt.errors import DataError, RunDirError, UsageError
from keras_lstm_opt.io.fs import exists as _exists
from keras_lstm_opt.io.fs import isdir as _isdir
from keras_lstm_opt.io.fs import read_text as _read
from keras_lstm_opt.io.paths import join as _join
from keras_lstm_opt.serve.model_file import load_model as _load_model

if TYPE_CHECKING:
    import keras

    from keras_lstm_opt.data.schema import Schema

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


def _is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


def _as_list(obj: Any) -> list[Any]:
    if hasattr(obj, "tolist"):  # NumPy arrays, pandas Series
        return list(obj.tolist())
    return list(obj)


def pad_ids(rows: Sequence[Any]) -> np.ndarray:
    """Variable-length token-id rows -> int64 [N, longest], zero-padded on the right."""
    arrays = [np.asarray(r, dtype=np.int64).reshape(-1) for r in rows]
    out = np.zeros((len(arrays), max([len(a) for a in arrays] + [1])), dtype=np.int64)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


@dataclass
class Run:
    """A finished run: `model`, `schema` (None for a model of your own), `metrics`
    (metrics.json), `task` ("text", "forecast", or None) and `class_names`."""

    run_dir: str
    model: keras.Model
    schema: Schema | None
    metrics: dict[str, Any] = field(default_factory=dict)
    schema_path: str = ""
    precision: str = "float32"
    _predictor: Any = field(default=None, init=False, repr=False)

    def predictor(self) -> Any:
        """The model's `klo.Predictor` (eager kernel calls for LSTM stacks: low latency
        at any batch size) in the run's `precision`, made on first use."""
        if self._predictor is None:
            from keras_lstm_opt.models.predictor import Predictor

            self._predictor = Predictor(self.model, precision=self.precision)
        return self._predictor

    @property
    def info(self) -> dict[str, Any]:
        return dict((self.schema or {}).get("info", {}))

    @property
    def task(self) -> str | None:
        task = (self.schema or {}).get("task") or self.metrics.get("task")
        return str(task) if task else None

    @property
    def classifies(self) -> bool:
        s = self.schema
        return bool(s) and s["features"][s["target"]]["dtype"] == "int64"  # type: ignore[index]

    @property
    def class_names(self) -> list[str] | None:
        """Class names by label id (the label strings of the imported data), or None."""
        if not self.classifies:
            return None
        names = self.info.get("class_names")
        return (
            [str(n) for n in names]
            if names
            else [str(i) for i in range(int(self.info.get("num_classes", 2)))]
        )

    @property
    def window(self) -> int:
        """Raw rows one forecast reads (W + lag)."""
        return int(self.model.input_shape[1])

    @property
    def targets(self) -> list[str]:
        series = self.info.get("series") or {}
        if series.get("targets"):
            return [str(t) for t in series["targets"]]
        feats = self.schema.get("features", {}) if self.schema else {}
        y = feats["y"]["shape"] if "y" in feats else [1]
        per_step = int(np.prod(y)) // max(int(self.info.get("horizon", 1)), 1)
        return [f"y{t}" for t in range(per_step)]

    def predict(self, inputs: Any, batch_size: int = 256) -> Any:
        """Predict from raw inputs.

        Args:
            inputs: text runs: strings (a list, NumPy array or pandas Series), a
                DataFrame with the text column the data was imported from, or token-id
                rows. Forecast runs: raw windows `[N, W, C]` (the columns of the import,
                targets first, original units), or the raw rows of a series, oldest
                first: an array `[rows, C]` or a DataFrame with those columns (and the
                time column).
                A model of your own: its input arrays.
            batch_size: rows per model call.

        Returns:
            text: one `{"label": name, "probabilities": {name: p}}` per input.
            forecast: windows -> an array `[N, H, T]`; rows -> the H steps after the
            last row: an array `[H, T]`, or for a DataFrame a DataFrame with `step`,
            the time column (future time stamps, when the rows are evenly spaced) and
            one column per target. A model of your own: its outputs.

        Example:

            run.predict(pandas.Series(["a unit of time"]))[0]["probabilities"]
        """
        if batch_size < 1:
            raise UsageError(f"batch_size: must be >= 1, got {batch_size}")
        if self.task == "text" and self.classifies:
            probs = self.probabilities(inputs, batch_size)
            names = self.class_names or []
            return [
                {
                    "label": names[int(np.argmax(p))],
                    "probabilities": {n: float(v) for n, v in zip(names, p, strict=True)},
                }
                for p in probs
            ]
        if self.task == "forecast":
            if isinstance(inputs, (str, bytes, os.PathLike)):
                raise UsageError(
                    f"predict: {inputs!r} is a path; a forecast run's predict takes the raw "
                    "rows (an array or a DataFrame) or windows; for a file use "
                    "klo.serve.predict_file or `keras-lstm-opt predict RUN_DIR FILE`"
                )
            if _is_frame(inputs):
                import pandas as pd

                return pd.DataFrame(
                    self.forecast_table({str(c): inputs[c].tolist() for c in inputs.columns})
                )
            x = np.asarray(inputs, dtype=np.float32)
            if x.ndim == 2:
                return self.forecast_windows(self._last_window(x, "the array"))[0]
            return self.forecast_windows(x, batch_size)
        return self._call(np.asarray(inputs), batch_size)

    def _call(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        parts = [
            np.asarray(self.predictor()(x[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ]
        if not parts:
            raise UsageError("predict: no inputs")
        return np.concatenate(parts)

    # ---- text ------------------------------------------------------------------------
    def texts_of(self, inputs: Any) -> list[Any]:
        """The rows of `inputs` (strings or token-id rows); a DataFrame gives its text
        column."""
        if _is_frame(inputs):
            column = (self.info.get("text") or {}).get("column", "text")
            if column not in inputs.columns:
                raise UsageError(
                    f"the DataFrame has no column {column!r} (the text column "
                    f"of the training data); columns: "
                    f"{', '.join(map(str, inputs.columns))}"
                )
            return _as_list(inputs[column])
        if isinstance(inputs, (str, bytes)):
            return [inputs]
        return _as_list(inputs)

    def encode(self, texts: Sequence[Any]) -> np.ndarray:
        """Raw strings (or token-id rows) -> int64 token ids [N, L], as at import."""
        if not len(texts):
            raise UsageError("predict: no inputs")
        if all(isinstance(t, (str, bytes)) for t in texts):
            if not self.info.get("vocabulary"):
                raise UsageError(
                    "this run's data has no vocabulary (it was not imported "
                    "from text), so it cannot read raw strings; pass token ids"
                )
            from keras_lstm_opt.data.text import encode_texts

            strings = [t.decode() if isinstance(t, bytes) else t for t in texts]
            empty = [i for i, t in enumerate(strings) if not t.strip()]
            if empty:
                logging.getLogger("keras_lstm_opt").warning(
                    "predict: %d empty text(s) (the first is input %d) are read as one "
                    "unknown token (import refuses empty texts); their labels say little",
                    len(empty),
                    empty[0] + 1,
                )
            return encode_texts(self.info, strings)
        if any(isinstance(t, (str, bytes)) for t in texts):
            raise UsageError("predict: mix of strings and token ids; pass one kind")
        return pad_ids(texts)

    def probabilities(self, inputs: Any, batch_size: int = 256) -> np.ndarray:
        """Class probabilities [N, K] (K = 2 for a binary head) for raw text inputs."""
        rows = self.texts_of(inputs)
        parts = []
        for i in range(0, len(rows), batch_size):
            out = np.asarray(
                self.predictor()(self.encode(rows[i : i + batch_size])), dtype=np.float64
            )
            if out.shape[-1] == 1:  # sigmoid: P(class 1)
                out = np.concatenate([1.0 - out, out], axis=-1)
            parts.append(out)
        if not parts:
            raise UsageError("predict: no inputs")
        return np.concatenate(parts)

    # ---- forecast --------------------------------------------------------------------
    def forecast_windows(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Raw windows [N, W, C] -> forecasts [N, H, T] in the series' units."""
        x = np.asarray(x, dtype=np.float32)
        want = tuple(self.model.input_shape[1:])
        if x.ndim != 3 or tuple(x.shape[1:]) != want:
            raise UsageError(
                f"windows: expected shape [N, {want[0]}, {want[1]}] (raw rows "
                f"of the columns {self.columns or '?'}), got {list(x.shape)}"
            )
        low = self.not_above_zero(x)
        if low is not None:
            raise DataError(f"windows: {low}")
        out = self._call(x, batch_size)
        return out.reshape(len(x), -1, len(self.targets))

    def not_above_zero(self, x: np.ndarray) -> str | None:
        """Where raw windows `x` [N, W, C] hold a target value at or below 0 that the model
        would take the logarithm of (imported with log), in words; None when none does."""
        from keras_lstm_opt.data.series_windows import logged_targets, not_positive

        low = not_positive(x, logged_targets(self.info))
        if low is None:
            return None
        i, r, c = low
        name = self.columns[c] if self.columns else str(c)
        return (
            f"window {i}, row {r + 1}, column {name!r}: {float(x[i, r, c]):g} is not above 0, "
            "and the model forecasts its logarithm (imported with log)"
        )

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in (self.info.get("series") or {}).get("columns", [])]

    def _last_window(
        self, rows: np.ndarray, what: str, where: Sequence[str] | None = None
    ) -> np.ndarray:
        """The last W rows of raw `rows` [rows, C] as one window [1, W, C]; `where`
        names each row for errors (default "<what>, row i")."""
        need, width = self.window, int(self.model.input_shape[2])
        if rows.ndim != 2 or rows.shape[1] != width:
            raise UsageError(f"{what}: expected raw rows [rows, {width}], got {list(rows.shape)}")
        if len(rows) < need:
            raise DataError(f"{what}: {len(rows)} rows; a forecast needs the last {need}")
        tail = rows[-need:]
        from keras_lstm_opt.data.series_windows import logged_targets, not_positive

        bad = np.argwhere(~np.isfinite(tail))
        low = not_positive(tail, logged_targets(self.info))
        for found, why in (
            (tuple(bad[0]) if len(bad) else None, "missing or not a finite number"),
            (low, "not above 0, and the model forecasts its logarithm (imported with log)"),
        ):
            if found is not None:
                r, c = (int(v) for v in found)
                name = self.columns[c] if self.columns else str(c)
                at = (
                    where[len(where) - need + r]
                    if where
                    else f"{what}, row {len(rows) - need + r + 1}"
                )
                raise DataError(f"{at}, column {name!r}: {why}")
        return tail[None]

    def forecast_table(
        self,
        table: Mapping[str, Sequence[Any]],
        what: str = "the rows",
        where: Sequence[str] | None = None,
    ) -> dict[str, list[Any]]:
        """Raw series rows (column -> values, oldest first) -> the forecast after the last
        row: {"step": [1..H], <time column>: future stamps (when the rows are evenly
        spaced), <target>: values}. `where` names each row for errors (file and line)."""
        series = self.info.get("series")
        if not series:
            raise UsageError(
                "this run's data has no series description (info.series); "
                "pass raw windows [N, W, C] instead of rows"
            )
        missing = [c for c in self.columns if c not in table]
        if missing:
            raise UsageError(
                f"{what}: missing column(s) {', '.join(missing)} (columns: "
                f"{', '.join(map(str, table))})"
            )
        total = len(table[self.columns[0]])
        start = max(total - self.window, 0)  # only the last window is read
        names = [where[i] if where else f"{what}, row {i + 1}" for i in range(start, total)]
        rows = np.stack([_numbers(list(table[c])[start:], c, names) for c in self.columns], axis=1)
        forecast = self.forecast_windows(self._last_window(rows, what, names))[0]
        out: dict[str, list[Any]] = {"step": list(range(1, len(forecast) + 1))}
        time = series.get("time")
        if time and time in table:
            from keras_lstm_opt.serve.times import future_times

            stamps = future_times(list(table[time])[-8:], len(forecast))
            if stamps is not None:
                out[str(time)] = stamps
        for t, name in enumerate(self.targets):
            out[name] = [float(v) for v in forecast[:, t]]
        return out

    def evaluate(self, data: str | None = None, out: str | None = None) -> dict[str, Any]:
        """Score the run on its validation split, or on a new raw file (`data`: CSV,
        TSV, JSON Lines, Parquet, or a data directory); writes evaluation.json and
        charts into the run directory (or `out`). See `serve.evaluate.evaluate_run`.

        Example:

            klo.load_run("runs/wordnet").evaluate("new.csv")["accuracy"]
        """
        from keras_lstm_opt.serve.evaluate import evaluate_loaded

        return evaluate_loaded(self, data, out)


def _numbers(values: Sequence[Any], column: str, where: Sequence[str]) -> np.ndarray:
    """One column as float64; None and "" become NaN (refused if a window needs them)."""
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        try:
            out[i] = np.nan if v is None or v == "" else float(v)
        except (TypeError, ValueError):
            raise DataError(f"{where[i]}, column {column!r}: {v!r} is not a number") from None
    return out


def evaluate_run(
    run_dir: str, data: str | None = None, out: str | None = None, precision: str = "float32"
) -> dict[str, Any]:
    """Score the run in `run_dir` and write evaluation.json (+ PNGs).

    Args:
        run_dir: a finished run directory.
        data: None for the run's validation split; an imported data directory; or raw
            file(s): a CSV/TSV/JSON Lines/Parquet path, glob or folder.
        out: directory for evaluation.json and the charts (default: `run_dir`).
        precision: "float32" or "int8" (see `load_run`).

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
    return load_run(run_dir, precision).evaluate(data, out)
