"""Output heads derived from a dataset schema: what the model predicts and how it is scored.

Example:

    head = head_for(schema)   # Head(kind="multiclass", units=4, loss=..., metric="accuracy")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from keras_lstm_opt.errors import DataError

if TYPE_CHECKING:  # for the type checker only (models never import data)
    from keras_lstm_opt.data.schema import Schema


@dataclass(frozen=True)
class Head:
    """kind: binary | multiclass | regression; metric: the Keras metric name reported."""

    kind: str
    units: int
    activation: str | None
    loss: str
    metric: str


def head_for(schema: Schema) -> Head:
    """Pick the head from the target feature: integer labels classify, floats regress."""
    target = schema["target"]
    feat = schema["features"][target]
    if feat["dtype"] == "int64":
        classes = int(schema.get("info", {}).get("num_classes", 0))
        if classes < 2:
            raise DataError(f"schema: integer target {target!r} needs info.num_classes >= 2")
        if classes == 2:
            return Head("binary", 1, "sigmoid", "binary_crossentropy", "accuracy")
        return Head("multiclass", classes, "softmax", "sparse_categorical_crossentropy", "accuracy")
    if feat["dtype"] == "float32":
        if any(d is None for d in feat["shape"]):
            raise DataError(f"schema: regression target {target!r} needs a fixed shape")
        units = 1
        for d in feat["shape"]:
            units *= d or 1  # (no None here: checked above)
        return Head("regression", units, None, "mse", "mae")
    raise DataError(f"schema: target {target!r} of dtype {feat['dtype']} cannot be learnt")
