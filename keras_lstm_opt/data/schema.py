"""schema.json: what a directory of TFRecord shards holds and how to parse it.

Example schema (written by `write_tfrecords`, read by the pipeline):

    {"format": "keras-lstm-opt/1", "task": "text", "compression": "GZIP",
     "inputs": "tokens", "target": "label",
     "features": {"tokens": {"dtype": "int64", "shape": [null]},
                  "label": {"dtype": "int64", "shape": []}},
     "splits": {"train": {"files": [...], "examples": 19200}},
     "info": {"vocab_size": 64, "num_classes": 4, "known_best_accuracy": 0.95}}

A `null` in a shape marks a variable-length axis (only the first axis may vary).
"""

from __future__ import annotations

import json
import os
from typing import Any, TypedDict, cast

from keras_lstm_opt.errors import DataError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.atomic import atomic_open

FORMAT = "keras-lstm-opt/1"
DTYPES = ("int64", "float32", "string")
COMPRESSIONS = {"GZIP": ".tfrecord.gz", "ZLIB": ".tfrecord.zz", "NONE": ".tfrecord"}


class FeatureSpec(TypedDict):
    """One feature of the shards: its dtype and its shape (None: a variable-length axis)."""

    dtype: str
    shape: list[Any]  # positive ints; None (JSON null) for a variable-length first axis


class Schema(TypedDict, total=False):
    """schema.json, typed: what the shards hold and how to parse them.

    format: "keras-lstm-opt/1". task: "text", "forecast" or another name.
    compression: "GZIP", "ZLIB" or "NONE". inputs / target: feature names.
    features: name -> FeatureSpec. splits: split -> {"files": [...], "examples": N}.
    info: what the importer learned (vocabulary, class names, scaling, references).
    """

    format: str
    task: str
    compression: str
    inputs: str
    target: str
    features: dict[str, FeatureSpec]
    splits: dict[str, dict[str, Any]]
    info: dict[str, Any]


def schema_path(directory: str) -> str:
    return os.path.join(directory, "schema.json")


def validate_schema(schema: Any, where: str) -> Schema:
    """Check a loaded schema; raise DataError naming `where` and every bad field."""
    problems = []
    if not isinstance(schema, dict):
        raise DataError(f"{where}: expected a JSON object")
    feats = schema.get("features")
    if not isinstance(feats, dict) or not feats:
        problems.append("features: expected a non-empty object")
        feats = {}
    for name, spec in feats.items():
        if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES:
            problems.append(f"features.{name}.dtype: expected one of {DTYPES}")
            continue
        shape = spec.get("shape")
        if not isinstance(shape, list) or any(
            d is not None and (not isinstance(d, int) or d < 1) for d in shape
        ):
            problems.append(f"features.{name}.shape: expected a list of positive ints or null")
        elif None in shape[1:]:
            problems.append(f"features.{name}.shape: only the first axis may be null")
    for key in ("inputs", "target"):
        if schema.get(key) not in feats:
            problems.append(f"{key}: must name one of the features {sorted(feats)}")
    if schema.get("compression") not in COMPRESSIONS:
        problems.append(f"compression: expected one of {sorted(COMPRESSIONS)}")
    if problems:
        raise DataError(f"{where}: " + "; ".join(problems))
    return cast(Schema, schema)


def read_schema(directory: str) -> Schema:
    """Load and validate `directory/schema.json`."""
    path = schema_path(directory)
    try:
        if not fs.exists(path):
            raise FileNotFoundError(path)
        with fs.open(path, "r") as fh:
            schema = json.loads(fh.read())
    except FileNotFoundError:
        raise DataError(
            f"{path}: schema.json not found; data.path names a data directory: make one "
            "from your CSV/JSONL/Parquet with `keras-lstm-opt data import FILE --out DIR` "
            "(or `data make` for the embedded data)"
        ) from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    return validate_schema(schema, path)


def write_schema(directory: str, schema: Schema) -> str:
    """Validate and write `directory/schema.json` atomically; return its path."""
    schema = {"format": FORMAT, **schema}
    path = schema_path(directory)
    validate_schema(schema, path)
    with atomic_open(path) as fh:
        json.dump(schema, fh, indent=2, sort_keys=True)
    return path


def is_variable_length(schema: Schema, feature: str) -> bool:
    shape = schema["features"][feature]["shape"]
    return bool(shape) and shape[0] is None


def parse_spec(schema: Schema) -> dict[str, Any]:
    """tf.io feature spec for `tf.io.parse_example` (vectorised parsing)."""
    import tensorflow as tf

    spec = {}
    for name, feat in schema["features"].items():
        dtype = tf.as_dtype(feat["dtype"])
        shape = feat["shape"]
        if shape and shape[0] is None:
            spec[name] = tf.io.RaggedFeature(dtype)
        else:
            n = 1
            for d in shape:
                n *= d
            spec[name] = tf.io.FixedLenFeature([n], dtype)
    return spec
