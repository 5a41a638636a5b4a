"""Run: a finished run's model with its data schema, taking raw inputs and answering in
the data's own terms.

What `load_run` returns. For text, `predict` takes strings (or a DataFrame's text column)
and encodes them as the import did, and answers in class names; for a forecaster, it
takes raw windows or the raw rows of a series (checked: finite, and above 0 where the
model forecasts a logarithm) and answers in the series' units, with future time stamps.
A run with no schema (a model of your own) takes and gives the model's own arrays.

Example:

    run = load_run("runs/wordnet")      # a Run
    run.predict(["a unit of time"])[0]["label"]
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_lstm_opt.errors import DataError, UsageError

if TYPE_CHECKING:
    import keras

    from keras_lstm_opt.data.schema import Schema


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

    def evaluate(
        self,
        data: str | None = None,
        out: str | None = None,
        text: str | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """Score the run on its validation split, or on a new raw file (`data`: CSV,
        TSV, JSON Lines, Parquet, or a data directory); writes evaluation.json and
        charts into the run directory (or `out`). `text` and `label`: a raw file's
        columns, where they are not named as at the import. See
        `serve.evaluate.evaluate_run`.

        Example:

            klo.load_run("runs/wordnet").evaluate("new.csv")["accuracy"]
        """
        from keras_lstm_opt.serve.evaluate import evaluate_loaded

        return evaluate_loaded(self, data, out, text, label)


def _numbers(values: Sequence[Any], column: str, where: Sequence[str]) -> np.ndarray:
    """One column as float64; None and "" become NaN (refused if a window needs them)."""
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        try:
            out[i] = np.nan if v is None or v == "" else float(v)
        except (TypeError, ValueError):
            raise DataError(f"{where[i]}, column {column!r}: {v!r} is not a number") from None
    return out
