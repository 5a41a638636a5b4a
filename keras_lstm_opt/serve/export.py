"""Export a finished run for serving where keras_lstm_opt is not installed.

* `saved_model` (TensorFlow Serving, or `tf.saved_model.load` with TensorFlow alone):
  `serving_default` takes what a user has: raw strings for an imported text data set
  (vocabulary and tokenizer inside: the import's split, "words+chars" too, as
  TensorFlow ops) or raw float windows for a forecaster (transform,
  scaling and inverse inside), and answers in probabilities, class ids and class names,
  or in forecasts [B, H, T] in the series' units. Text models also have a `tokens`
  signature (token ids in); the embedded text task has no vocabulary, so its
  `serving_default` takes token ids too, and names its input `tokens` to say so.
* `onnx` (ONNX Runtime; tf2onnx, the `onnx` extra): token ids or raw windows in, the
  same numeric outputs out (`onnx_export.py`). Standard ONNX has no string ops, so a
  text model's ids are made by the client: export.json's `usage.tokenize` says how
  (for "words+chars", the RE2 pattern).

FastLSTM layers become the stock Keras LSTM (same weights): a serving system has none
of our kernels; model.keras is left untouched. Each export is compared with model.keras
on a few inputs, and `export.json` beside it lists the inputs, outputs, class names,
window and horizon, that difference, and how to call it (a TensorFlow Serving REST
body, an onnxruntime snippet).

Example:

    path = export_run("runs/wordnet", "saved_model", "export/wordnet")
    m = tf.saved_model.load(path)
    m.signatures["serving_default"](text=tf.constant(["a large cat"]))["label"]
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.serve.export_manifest import (
    INT8_TOLERANCE,
    TOLERANCE,
    VOCABULARY_FILE,
    build_manifest,
    to_json,
)
from keras_lstm_opt.serve.serving import (
    Serving,
    describe,
    input_specs,
    max_difference,
    sample_inputs,
)
from keras_lstm_opt.signals_deferred import publishing

if TYPE_CHECKING:
    import tensorflow as tf


log = logging.getLogger("keras_lstm_opt")

FORMATS = ("saved_model", "onnx")
EXPORT_FILE = "export.json"
ONNX_FILE = "model.onnx"


def write_saved_model(serving: Serving, path: str) -> dict[str, Any]:
    """Write the SavedModel; return its signatures as {name: {"inputs", "outputs"}}."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(serving.model)
    numeric = {
        "inputs": {n: {"dtype": d, "shape": s} for n, (d, s) in serving.inputs.items()},
        "outputs": serving.outputs(),
    }
    signatures = {"serving_default": numeric}
    fn: Any = serving.numeric
    if serving.kind == "text":
        names = tf.constant(serving.class_names, dtype=tf.string)

        def classify(tokens: tf.Tensor) -> dict[str, tf.Tensor]:
            out = serving.numeric(tokens)
            return {**out, "label": tf.gather(names, out["class_id"])}

        fn = classify
        signatures["tokens"] = numeric
    if serving.raw_text:
        from keras_lstm_opt.data.text import make_vectorizer, token_ids

        vectorizer = make_vectorizer(serving.info)
        vectorizer(tf.constant(["a"]))  # built, so the archive tracks its lookup table
        archive.track(vectorizer)

        def classify_text(text: tf.Tensor) -> dict[str, tf.Tensor]:
            return classify(token_ids(vectorizer, text, serving.max_length))

        archive.add_endpoint(
            "serving_default",
            classify_text,
            input_signature=[tf.TensorSpec([None], tf.string, name="text")],
        )
        signatures["serving_default"] = {
            "inputs": {"text": {"dtype": "string", "shape": [None]}},
            "outputs": serving.outputs(),
        }
    else:
        archive.add_endpoint("serving_default", fn, input_signature=input_specs(serving))
    if serving.kind == "text":
        archive.add_endpoint("tokens", fn, input_signature=input_specs(serving))
    archive.write_out(path, verbose=False)
    return signatures


def _check_saved_model(serving: Serving, path: str) -> dict[str, float]:
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    samples = sample_inputs(serving)
    name = "tokens" if serving.kind == "text" else "serving_default"
    got = loaded.signatures[name](**{k: tf.constant(samples[k]) for k in serving.inputs})
    result = {name: max_difference(got, serving.expected([samples[k] for k in serving.inputs]))}
    if serving.raw_text:
        from keras_lstm_opt.data.text import encode_texts

        texts = [str(t) for t in samples["text"]]
        got = loaded.signatures["serving_default"](text=tf.constant(texts))
        want = serving.expected([encode_texts(serving.info, texts)])
        result["serving_default"] = max_difference(got, want)
    return result


def _check_out(out: str) -> None:
    if not isinstance(out, str) or not out:
        raise UsageError(f"out: expected a directory path, got {out!r}")
    if is_remote(out):
        raise UsageError(
            f"out: {out}: export to a local directory, then copy it (e.g. with gsutil or aws s3 cp)"
        )
    if os.path.isfile(out):
        raise UsageError(f"out: {out} is a file; give a directory")
    if (
        os.path.isdir(out)
        and os.listdir(out)
        and not os.path.exists(os.path.join(out, EXPORT_FILE))
    ):
        raise UsageError(
            f"out: {out} is not empty and holds no earlier export "
            f"({EXPORT_FILE}); give a new or empty directory"
        )


def export_run(
    run_dir: str, fmt: str, out: str, *, check: bool = True, quantize: str | None = None
) -> str:
    """Export a finished run as a SavedModel or an ONNX model, with export.json beside it.

    Args:
        run_dir: a run directory of `keras-lstm-opt train` / `klo.fit` (model.keras and
            the data's schema.json), or of `klo.Trainer` (a model of your own: its
            inputs in, its output out).
        fmt: "saved_model" (TensorFlow Serving) or "onnx" (ONNX Runtime; needs the
            `onnx` extra: tf2onnx, onnxruntime).
        out: the directory to write (new, empty, or an earlier export, which is
            replaced).
        check: run the export on a few inputs and compare with model.keras (recorded
            in export.json; a warning when off by more than 1e-5, 0.05 for int8).
        quantize: "int8" (ONNX only): ONNX Runtime's dynamic quantisation of the
            exported model (serve/onnx_quantize.py).

    Returns:
        The SavedModel directory (`out`) or the .onnx file in it.

    Example:

        export_run("runs/co2", "onnx", "export/co2-onnx")   # 'export/co2-onnx/model.onnx'
    """
    from keras_lstm_opt.serve.run import load_run

    if fmt not in FORMATS:
        raise UsageError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if quantize not in (None, "int8"):
        raise UsageError(f"quantize: expected 'int8', got {quantize!r}")
    if quantize and fmt != "onnx":
        raise UsageError(
            "--quantize int8 needs --format onnx (the SavedModel stays float32; "
            "klo.Predictor(model, precision='int8') serves int8 from Python)"
        )
    _check_out(out)
    if fmt == "onnx":
        from keras_lstm_opt.serve.onnx_export import require_onnx

        require_onnx()
    serving = describe(load_run(run_dir))
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0700 would stay: a server under another user
    try:
        if fmt == "saved_model":
            signatures = write_saved_model(serving, tmp)
            checked = _check_saved_model(serving, tmp) if check else {}
            extra: dict[str, Any] = {}
        else:
            from keras_lstm_opt.serve.onnx_export import check_onnx, write_onnx

            extra = write_onnx(serving, os.path.join(tmp, ONNX_FILE))
            signatures = {"onnx": extra.pop("signature")}
            if quantize:
                from keras_lstm_opt.serve.onnx_quantize import quantize_onnx

                extra.update(quantize_onnx(os.path.join(tmp, ONNX_FILE)))
            checked = check_onnx(serving, os.path.join(tmp, ONNX_FILE)) if check else {}
            if serving.raw_text:
                with open(os.path.join(tmp, VOCABULARY_FILE), "w", encoding="utf-8") as fh:
                    json.dump(serving.info["vocabulary"], fh, ensure_ascii=False)
        manifest = build_manifest(run_dir, fmt, serving, signatures, checked, extra)
        with open(os.path.join(tmp, EXPORT_FILE), "w", encoding="utf-8") as fh:
            fh.write(to_json(manifest))
        worst, bar = max(checked.values(), default=0.0), INT8_TOLERANCE if quantize else TOLERANCE
        if worst > bar:
            log.warning(
                "export %s: outputs differ from model.keras by %.3g (more than %g)",
                out,
                worst,
                bar,
            )
        with publishing(out):  # a signal now waits: the earlier export or the new one
            if os.path.isdir(out):
                shutil.rmtree(out)
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out if fmt == "saved_model" else os.path.join(out, ONNX_FILE)
