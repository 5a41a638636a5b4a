"""What one `POST /v1/predict` instance is for a run, checked before it joins a batch,
and how a batch of them becomes predictions (TF Serving's REST shape: `{"instances":
[...]}` in, `{"predictions": [...]}` out).

- a text classifier: a raw string (token ids where the data has no vocabulary, as the
  embedded data) -> `{"label": name, "probabilities": {name: p}}`;
- a forecaster: one window, W rows of the import's C columns (a list of W numbers when
  C is 1), in the series' units -> `{target: [H values]}`;
- a model of your own: its input as nested lists (shape `input_shape[1:]`), or a dict
  of named inputs for a model with several -> its output row as nested lists.

A wrong instance raises `InstanceError` naming it (the server answers 422); nothing of
a batch is computed for a request with one.

Example:

    kind = Instances(load_run("runs/wordnet"))
    row = kind.check("a unit of time", 0)     # raises InstanceError if wrong
    kind.predict([row])                       # [{"label": ..., "probabilities": ...}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from keras_lstm_opt.serve.run import Run


class InstanceError(ValueError):
    """An instance that does not fit the run's model (the message names it)."""


class Instances:
    """The instance format of `run`, its check and its batch prediction."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.model = run.model
        if run.task == "text" and run.classifies:
            self.kind = "text"
            self.raw = bool(run.info.get("vocabulary"))  # else token ids, as its shards hold
            self.vocab = next(
                (
                    int(layer.input_dim)
                    for layer in self.model.layers
                    if hasattr(layer, "input_dim")
                ),
                None,
            )
            self.example: Any = (
                "a raw text" if self.raw else f"a list of token ids (0 to {(self.vocab or 1) - 1})"
            )
        elif run.task == "forecast":
            self.kind = "forecast"
            self.window, self.channels = (int(d) for d in self.model.input_shape[1:3])
            self.example = f"{self.window} rows of {self.channels} number(s)"
        else:
            self.kind = "model"
            inputs = self.model.inputs
            self.names = [t.name.split(":")[0] for t in inputs]
            self.shapes = [tuple(t.shape[1:]) for t in inputs]
            self.example = (
                f"an array of shape {list(self.shapes[0])}"
                if len(inputs) == 1
                else "a dict of " + ", ".join(self.names)
            )

    def sample(self) -> Any:
        """One valid instance (zeros, or a short text): what the server warms up with."""
        if self.kind == "text":
            return "warm up" if self.raw else [1]
        if self.kind == "forecast":
            return [[0.0] * self.channels for _ in range(self.window)]

        def zeros(shape: tuple[Any, ...]) -> Any:
            return np.zeros([d or 1 for d in shape]).tolist()

        if len(self.names) == 1:
            return zeros(self.shapes[0])
        return {n: zeros(s) for n, s in zip(self.names, self.shapes, strict=True)}

    def describe(self) -> str:
        """One line: what an instance is (for /healthz and error messages)."""
        return f"{self.kind} model: an instance is {self.example}"

    def check(self, instance: Any, index: int) -> Any:
        """`instance` (the request's `index`-th, from 0) in the form `predict` takes."""
        where = f"instances[{index}]"
        if self.kind == "text":
            if self.raw:
                if not isinstance(instance, str):
                    raise InstanceError(
                        f"{where}: expected a string (raw text), got {_kind(instance)}"
                    )
                return instance
            ok = (
                isinstance(instance, list)
                and instance
                and all(isinstance(i, int) and not isinstance(i, bool) for i in instance)
            )
            if not ok or (self.vocab and not all(0 <= i < self.vocab for i in instance)):
                top = (self.vocab or 1) - 1
                raise InstanceError(
                    f"{where}: expected a non-empty list of token ids, 0 to {top} "
                    f"(this run's data has no vocabulary), got {_kind(instance)}"
                )
            return instance
        if self.kind == "forecast":
            x = _numbers(instance, where)
            if x.ndim == 1 and self.channels == 1:
                x = x[:, None]
            if x.shape != (self.window, self.channels):
                raise InstanceError(
                    f"{where}: expected {self.window} rows of {self.channels} number(s) "
                    f"(columns {', '.join(self.run.columns) or '?'}), got shape {list(x.shape)}"
                )
            low = self.run.not_above_zero(x[None])
            if low is not None:
                raise InstanceError(f"{where}: {low}")
            return x
        if len(self.names) == 1:
            return self._array(instance, self.shapes[0], where)
        if not isinstance(instance, dict) or set(instance) != set(self.names):
            raise InstanceError(
                f"{where}: expected a dict with the inputs {', '.join(self.names)}, "
                f"got {_kind(instance)}"
            )
        return {
            name: self._array(instance[name], shape, f"{where}.{name}")
            for name, shape in zip(self.names, self.shapes, strict=True)
        }

    def _array(self, value: Any, shape: tuple[Any, ...], where: str) -> np.ndarray:
        x = _numbers(value, where)
        if x.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(x.shape, shape, strict=True)
        ):
            raise InstanceError(
                f"{where}: expected shape {list(shape)}, got {list(x.shape)}".replace("None", "any")
            )
        return x

    def predict(self, rows: list[Any]) -> list[Any]:
        """Predictions for checked instances, in order (one model call)."""
        run = self.run
        if self.kind == "text":
            return list(run.predict(rows))
        if self.kind == "forecast":
            out = run.forecast_windows(np.stack(rows))
            targets = run.targets
            return [
                {t: [float(v) for v in window[:, i]] for i, t in enumerate(targets)}
                for window in out
            ]
        if len(self.names) == 1:
            out = np.asarray(run.predictor()(np.stack(rows)))
            return [row.tolist() for row in out]
        batch = {name: np.stack([r[name] for r in rows]) for name in self.names}
        result = self.model.predict_on_batch(batch)
        if isinstance(result, dict):
            return [
                {k: np.asarray(v)[i].tolist() for k, v in result.items()} for i in range(len(rows))
            ]
        if isinstance(result, (list, tuple)):
            return [[np.asarray(v)[i].tolist() for v in result] for i in range(len(rows))]
        return [row.tolist() for row in np.asarray(result)]


def _kind(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def _numbers(value: Any, where: str) -> np.ndarray:
    """Nested lists of numbers -> float32 array (no strings, bools, NaN or ragged rows)."""
    if _has(value, (str, bytes)) or _has(value, type(None)):
        raise InstanceError(f"{where}: expected numbers, got {_kind(value)}")
    try:
        x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InstanceError(
            f"{where}: expected numbers in nested lists of equal length, got {_kind(value)}"
        ) from None
    if x.size == 0 or _has(value, bool):
        raise InstanceError(f"{where}: expected numbers, got {_kind(value)}")
    if not np.all(np.isfinite(x)):
        raise InstanceError(f"{where}: every number must be finite (no NaN or inf)")
    if np.any(np.abs(x) > 3.4e38):
        raise InstanceError(f"{where}: numbers beyond float32's range")
    return x.astype(np.float32)


def _has(value: Any, kinds: Any, depth: int = 0) -> bool:
    """Whether nested lists hold a value of `kinds` (a bounded walk)."""
    if isinstance(value, kinds):
        return True
    if isinstance(value, (list, tuple)) and depth < 8:
        return any(_has(v, kinds, depth + 1) for v in value)
    return False
