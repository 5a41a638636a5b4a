"""export.json: what an export takes and gives, and how to call it (TF Serving's REST body
and curl line, a Python snippet, or the onnxruntime snippet), written by `export_run`.

Example:

    manifest = build_manifest("runs/a", "saved_model", serving, signatures, checked, {})
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keras_lstm_opt.serve.serving import Serving

VOCABULARY_FILE = "vocabulary.json"  # for ONNX clients: id i is vocabulary[i]
TOLERANCE = 1e-5  # largest |exported - model.keras|, relative to values above 1
INT8_TOLERANCE = 0.05  # the same, for an int8 (--quantize) export


def to_json(value: Any) -> str:
    """Indented JSON with lists of plain values on one line (shapes, class names)."""
    text = json.dumps(value, indent=2)
    return (
        re.sub(
            r"\[\s+([^\[\]{}]*?)\s+\]",
            lambda m: "[" + re.sub(r",\n\s+", ", ", m.group(1)) + "]",
            text,
        )
        + "\n"
    )


def build_manifest(
    run_dir: str,
    fmt: str,
    serving: Serving,
    signatures: dict[str, Any],
    checked: dict[str, float],
    extra: dict[str, Any],
) -> dict[str, Any]:
    from keras_lstm_opt import __version__

    info = serving.info
    manifest: dict[str, Any] = {
        "format": fmt,
        "task": serving.kind,
        "run_dir": os.path.abspath(run_dir),
        "exported_by": f"keras-lstm-opt {__version__}",
        "lstm": "keras.layers.LSTM (FastLSTM layers replaced; same weights)",
        "signatures": signatures,
        **extra,
    }
    if serving.kind == "text":
        manifest["class_names"] = serving.class_names
        manifest["tokens"] = {
            "padding_id": 0,
            "unknown_id": 1,
            "empty_text": [1],
            "max_length": serving.max_length,
            "vocab_size": info.get("vocab_size"),
            "split": (info.get("text") or {}).get("split"),
            "standardize": (info.get("text") or {}).get("standardize"),
            **({"vocabulary_file": VOCABULARY_FILE} if fmt == "onnx" and serving.raw_text else {}),
        }
    if serving.kind == "forecast":
        series = info.get("series") or {}
        manifest.update(
            window=info.get("window"),
            horizon=serving.horizon,
            targets=serving.targets,
            columns=series.get("columns"),
            transform=series.get("transform", "none"),
            log=bool(series.get("log", False)),
            smoothing=series.get("smoothing"),
            drift=series.get("drift"),
            lag=series.get("lag", 0),
            units="original units of the series (raw windows in)",
        )
    manifest["checked"] = (
        {
            "max_difference": checked,
            "tolerance": INT8_TOLERANCE if extra.get("quantize") == "int8" else TOLERANCE,
            "measure": "|export - model.keras| / max(1, |model.keras|)",
        }
        if checked
        else "not checked"
    )
    manifest["usage"] = _usage(
        fmt, serving, signatures, os.path.basename(os.path.abspath(run_dir)) or "model"
    )
    return manifest


def example_instance(serving: Serving, name: str) -> Any:
    """One JSON-able example input for `name` (a TF Serving "instances" row)."""
    if name == "text":
        return "a short text to classify"
    if name == "tokens":
        return [2, 3, 4, 0, 0]
    dtype, shape = serving.inputs[name]
    value: Any = 0 if dtype.startswith("int") else 0.0
    for d in reversed(shape[1:]):
        value = [value] * int(d or 1)
    return value


def _usage(fmt: str, serving: Serving, signatures: dict[str, Any], name: str) -> dict[str, Any]:
    if fmt == "onnx":
        from keras_lstm_opt.serve.onnx_export import onnx_usage

        return onnx_usage(serving, signatures["onnx"])
    inputs = list(signatures["serving_default"]["inputs"])
    row = (
        example_instance(serving, inputs[0])
        if len(inputs) == 1
        else {n: example_instance(serving, n) for n in inputs}
    )
    body = json.dumps(
        {"signature_name": "serving_default", "instances": [row]}, separators=(",", ":")
    )
    url = f"http://localhost:8501/v1/models/{name}:predict"
    args = ", ".join(f"{n}=tf.constant(...)" for n in inputs)
    return {
        "tensorflow_serving": {
            "layout": f"copy this directory to MODELS/{name}/1 (a numbered version)",
            "start": f"docker run -p 8501:8501 -v $PWD/MODELS/{name}:/models/{name} "
            f"-e MODEL_NAME={name} tensorflow/serving",
            "url": url,
            "body": body,
            "curl": f"curl -X POST {url} -d '{body}'",
        },
        "python": f"import tensorflow as tf\nm = tf.saved_model.load(DIR)\n"
        f"out = m.signatures['serving_default']({args})",
    }
