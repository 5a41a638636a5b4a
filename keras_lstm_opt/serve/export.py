"""Export a finished run for serving where keras_lstm_opt is not installed.

* `saved_model` (TensorFlow Serving, or `tf.saved_model.load` with TensorFlow alone):
  `serving_default` takes what a user has: raw strings for an imported text data set
  (vocabulary and tokenizer inside) or raw float windows for a forecaster (transform,
  scaling and inverse inside), and answers in probabilities, class ids and class names,
  or in forecasts [B, H, T] in the series' units. Text models also have a `tokens`
  signature (token ids in); the embedded text task has no vocabulary, so its
  `serving_default` takes token ids too, and names its input `tokens` to say so.
* `onnx` (ONNX Runtime; tf2onnx, the `onnx` extra): token ids or raw windows in, the
  same numeric outputs out (`onnx_export.py`).

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
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_lstm_opt.errors import DataError, UsageError
from keras_lstm_opt.paths import is_remote

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keras_lstm_opt.serve.run import Run

log = logging.getLogger("keras_lstm_opt")

FORMATS = ("saved_model", "onnx")
EXPORT_FILE = "export.json"
VOCABULARY_FILE = "vocabulary.json"  # for ONNX clients: id i is vocabulary[i]
ONNX_FILE = "model.onnx"
TOLERANCE = 1e-5  # largest |exported - model.keras|, relative to values above 1


@dataclass
class Serving:
    """What an export takes and answers, shared by both formats.

    kind: "text" (a classifier of token sequences), "forecast" (raw windows in,
    [B, H, T] out) or "model" (a model of your own: its inputs in, its output out).
    inputs: the numeric inputs, name -> (dtype, shape with None for any size).
    """

    kind: str
    model: keras.Model
    original: keras.Model
    inputs: dict[str, tuple[str, list[int | None]]]
    info: dict[str, Any] = field(default_factory=dict)
    class_names: list[str] = field(default_factory=list)
    horizon: int = 0
    targets: list[str] = field(default_factory=list)

    @property
    def raw_text(self) -> bool:
        """A text model whose vocabulary is known: the SavedModel takes strings."""
        return self.kind == "text" and bool(self.info.get("vocabulary"))

    @property
    def max_length(self) -> int:
        return int((self.info.get("text") or {}).get("max_length") or 200)

    def numeric(self, *tensors: tf.Tensor) -> dict[str, tf.Tensor]:
        """The exported numeric outputs on `tensors` (TensorFlow ops, stock LSTMs)."""
        return self._outputs(self.model, list(tensors))

    def _outputs(self, model: keras.Model, tensors: list[Any]) -> dict[str, tf.Tensor]:
        import tensorflow as tf

        out = model(tensors if len(tensors) > 1 else tensors[0], training=False)
        if self.kind == "text":
            if out.shape[-1] == 1:  # a sigmoid head: P(class 1)
                out = tf.concat([1.0 - out, out], axis=-1)
            return {"probabilities": out, "class_id": tf.argmax(out, axis=-1)}
        if self.kind == "forecast":
            return {"forecast": tf.reshape(out, [-1, self.horizon, len(self.targets)])}
        return dict(zip(self.output_names, out if isinstance(out, (list, tuple)) else [out],
                        strict=True))

    def expected(self, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        """model.keras's own answer (its original layers) in the exported outputs' form."""
        out = {k: np.asarray(v) for k, v in self._outputs(self.original, arrays).items()}
        if self.kind == "text":
            out["label"] = np.array([self.class_names[i] for i in out["class_id"]])
        return out

    @property
    def output_names(self) -> list[str]:
        n = len(self.model.outputs)
        return ["output"] if n == 1 else [f"output_{i}" for i in range(n)]

    def outputs(self) -> dict[str, dict[str, Any]]:
        """The exported outputs: name -> {"dtype", "shape"} (None for any size)."""
        if self.kind == "text":
            return {"probabilities": {"dtype": "float32",
                                      "shape": [None, len(self.class_names)]},
                    "class_id": {"dtype": "int64", "shape": [None]},
                    "label": {"dtype": "string", "shape": [None]}}
        if self.kind == "forecast":
            return {"forecast": {"dtype": "float32",
                                 "shape": [None, self.horizon, len(self.targets)]}}
        return {name: {"dtype": str(t.dtype), "shape": [None, *list(t.shape)[1:]]}
                for name, t in zip(self.output_names, self.model.outputs, strict=True)}


def serving_model(model: keras.Model) -> keras.Model:
    """A copy of `model` with stock Keras LSTM layers that never take the cuDNN path
    (the graph must run on any device and convert to ONNX); same weights, same outputs."""
    import keras

    from keras_lstm_opt.models.convert import convert_lstm_layers

    def lstm_layers(layers: list[keras.layers.Layer]) -> list[keras.layers.Layer]:
        found = []
        for layer in layers:
            if isinstance(layer, keras.layers.Bidirectional):
                found += [layer.forward_layer, layer.backward_layer]
            elif isinstance(layer, keras.layers.LSTM):
                found.append(layer)
            elif isinstance(layer, keras.Model):
                found += lstm_layers(layer.layers)
        return found

    stock = convert_lstm_layers(model, to="keras")
    for layer in lstm_layers(stock.layers):
        layer.use_cudnn = False
    return stock


def describe(run: Run) -> Serving:
    """The Serving of a loaded run: its kind, inputs, classes, horizon and targets."""
    stock = serving_model(run.model)
    inputs = {t.name.split(":")[0]: (str(t.dtype), [None, *list(t.shape)[1:]])
              for t in stock.inputs}
    schema = run.schema
    if schema is None or len(inputs) != 1:
        return Serving("model", stock, run.model, inputs)
    info = dict(schema.get("info", {}))
    feat = schema["features"][schema["inputs"]]
    if feat["dtype"] == "int64" and schema["features"][schema["target"]]["dtype"] == "int64":
        k = int(info.get("num_classes", 0)) or int(stock.outputs[0].shape[-1])
        names = [str(n) for n in info.get("class_names") or range(max(k, 2))]
        return Serving("text", stock, run.model, {"tokens": ("int64", [None, None])}, info,
                       class_names=names)
    if feat["dtype"] == "float32" and len(feat["shape"]) == 2:
        units = int(stock.outputs[0].shape[-1])
        horizon = int(info.get("horizon") or units)
        series = info.get("series") or {}
        targets = [str(t) for t in series.get("targets") or [schema["target"]]]
        if horizon * len(targets) != units:
            raise DataError(f"{run.run_dir}: the model predicts {units} values, but the "
                             f"schema says horizon {horizon} x {len(targets)} targets")
        window = list(next(iter(inputs.values()))[1])
        return Serving("forecast", stock, run.model, {"window": ("float32", window)}, info,
                       horizon=horizon, targets=targets)
    return Serving("model", stock, run.model, inputs, info)


def _specs(serving: Serving) -> list[tf.TensorSpec]:
    import tensorflow as tf

    return [tf.TensorSpec(shape, getattr(tf, dtype), name=name)
            for name, (dtype, shape) in serving.inputs.items()]


def numeric_function(serving: Serving) -> Any:
    """A tf.function over the numeric inputs (token ids / windows), for tf2onnx."""
    import tensorflow as tf

    return tf.function(serving.numeric, input_signature=_specs(serving), autograph=False)


def write_saved_model(serving: Serving, path: str) -> dict[str, Any]:
    """Write the SavedModel; return its signatures as {name: {"inputs", "outputs"}}."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(serving.model)
    numeric = {"inputs": {n: {"dtype": d, "shape": s} for n, (d, s) in serving.inputs.items()},
               "outputs": serving.outputs()}
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

        archive.add_endpoint("serving_default", classify_text,
                             input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        signatures["serving_default"] = {"inputs": {"text": {"dtype": "string",
                                                             "shape": [None]}},
                                         "outputs": serving.outputs()}
    else:
        archive.add_endpoint("serving_default", fn, input_signature=_specs(serving))
    if serving.kind == "text":
        archive.add_endpoint("tokens", fn, input_signature=_specs(serving))
    archive.write_out(path, verbose=False)
    return signatures


def sample_inputs(serving: Serving, n: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    """A few inputs of varied lengths (padding included) to check an export with."""
    rng = np.random.default_rng(seed)
    if serving.kind == "text":
        vocab = int(serving.info.get("vocab_size") or len(serving.info.get("vocabulary", [])))
        lengths = [1, 2, 7, 13, 20][:n]
        ids = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
        for i, length in enumerate(lengths):
            ids[i, :length] = rng.integers(1, max(vocab, 2), size=length)
        out = {"tokens": ids}
        if serving.raw_text:
            words = [w for w in serving.info["vocabulary"][2:] if w] or ["a"]
            texts = ["", "zzqx unknownword"] + [
                " ".join(rng.choice(words, size=k)) for k in (3, 9, 30)]
            out["text"] = np.array(texts[:max(n, 2)], dtype=object)
        return out
    arrays = {}
    for name, (dtype, shape) in serving.inputs.items():
        size = [n, *[int(d or 7) for d in shape[1:]]]
        series = serving.info.get("series") or {}
        if dtype.startswith("int"):
            arrays[name] = rng.integers(0, 2, size=size).astype(dtype)
            continue
        x = rng.normal(size=size)
        if series.get("mean") and len(series["mean"]) == size[-1]:
            x = x * np.asarray(series["std"]) + np.asarray(series["mean"])
        arrays[name] = x.astype(dtype)
    return arrays


def max_difference(got: dict[str, Any], want: dict[str, np.ndarray]) -> float:
    """Largest |got - want| over the numeric outputs, relative to |want| where it is above
    1 (float32 keeps 7 digits: a forecast of 370 ppm is exact to about 3e-5); 1.0 when
    class ids or names differ."""
    worst = 0.0
    for key, value in want.items():
        other = np.asarray(got[key])
        if value.dtype.kind in "OUS" or key == "class_id":
            same = [str(a.decode() if isinstance(a, bytes) else a) for a in other.ravel()] == \
                [str(b) for b in value.ravel()]
            worst = max(worst, 0.0 if same else 1.0)
            continue
        diff = np.abs(other.astype(np.float64) - value) / np.maximum(1.0, np.abs(value))
        worst = max(worst, float(diff.max(initial=0.0)))
    return worst


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
        raise UsageError(f"out: {out}: export to a local directory, then copy it "
                         "(e.g. with gsutil or aws s3 cp)")
    if os.path.isfile(out):
        raise UsageError(f"out: {out} is a file; give a directory")
    if os.path.isdir(out) and os.listdir(out) and not os.path.exists(
            os.path.join(out, EXPORT_FILE)):
        raise UsageError(f"out: {out} is not empty and holds no earlier export "
                         f"({EXPORT_FILE}); give a new or empty directory")


def export_run(run_dir: str, fmt: str, out: str, *, check: bool = True) -> str:
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
            in export.json; a warning when off by more than 1e-5).

    Returns:
        The SavedModel directory (`out`) or the .onnx file in it.

    Example:

        export_run("runs/co2", "onnx", "export/co2-onnx")   # 'export/co2-onnx/model.onnx'
    """
    from keras_lstm_opt.serve.run import load_run

    if fmt not in FORMATS:
        raise UsageError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    _check_out(out)
    if fmt == "onnx":
        from keras_lstm_opt.serve.onnx_export import require_onnx

        require_onnx()
    serving = describe(load_run(run_dir))
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        if fmt == "saved_model":
            signatures = write_saved_model(serving, tmp)
            checked = _check_saved_model(serving, tmp) if check else {}
            extra: dict[str, Any] = {}
        else:
            from keras_lstm_opt.serve.onnx_export import check_onnx, write_onnx

            extra = write_onnx(serving, os.path.join(tmp, ONNX_FILE))
            signatures = {"onnx": extra.pop("signature")}
            checked = check_onnx(serving, os.path.join(tmp, ONNX_FILE)) if check else {}
            if serving.raw_text:
                with open(os.path.join(tmp, VOCABULARY_FILE), "w", encoding="utf-8") as fh:
                    json.dump(serving.info["vocabulary"], fh, ensure_ascii=False)
        manifest = _manifest(run_dir, fmt, serving, signatures, checked, extra)
        with open(os.path.join(tmp, EXPORT_FILE), "w", encoding="utf-8") as fh:
            fh.write(_json(manifest))
        worst = max(checked.values(), default=0.0)
        if worst > TOLERANCE:
            log.warning("export %s: outputs differ from model.keras by %.3g (more than %g)",
                        out, worst, TOLERANCE)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out if fmt == "saved_model" else os.path.join(out, ONNX_FILE)


def _json(value: Any) -> str:
    """Indented JSON with lists of plain values on one line (shapes, class names)."""
    text = json.dumps(value, indent=2)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]",
                  lambda m: "[" + re.sub(r",\n\s+", ", ", m.group(1)) + "]", text) + "\n"


def _manifest(run_dir: str, fmt: str, serving: Serving, signatures: dict[str, Any],
              checked: dict[str, float], extra: dict[str, Any]) -> dict[str, Any]:
    from keras_lstm_opt import __version__

    info = serving.info
    manifest: dict[str, Any] = {
        "format": fmt, "task": serving.kind, "run_dir": os.path.abspath(run_dir),
        "exported_by": f"keras-lstm-opt {__version__}",
        "lstm": "keras.layers.LSTM (FastLSTM layers replaced; same weights)",
        "signatures": signatures, **extra}
    if serving.kind == "text":
        manifest["class_names"] = serving.class_names
        manifest["tokens"] = {
            "padding_id": 0, "unknown_id": 1, "empty_text": [1],
            "max_length": serving.max_length, "vocab_size": info.get("vocab_size"),
            "split": (info.get("text") or {}).get("split"),
            "standardize": (info.get("text") or {}).get("standardize"),
            **({"vocabulary_file": VOCABULARY_FILE} if fmt == "onnx" and serving.raw_text
               else {})}
    if serving.kind == "forecast":
        series = info.get("series") or {}
        manifest.update(window=info.get("window"), horizon=serving.horizon,
                        targets=serving.targets, columns=series.get("columns"),
                        transform=series.get("transform", "none"), lag=series.get("lag", 0),
                        units="original units of the series (raw windows in)")
    manifest["checked"] = {"max_difference": checked, "tolerance": TOLERANCE,
                           "measure": "|export - model.keras| / max(1, |model.keras|)"} \
        if checked else "not checked"
    manifest["usage"] = _usage(fmt, serving, signatures,
                               os.path.basename(os.path.abspath(run_dir)) or "model")
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


def _usage(fmt: str, serving: Serving, signatures: dict[str, Any], name: str
           ) -> dict[str, Any]:
    if fmt == "onnx":
        from keras_lstm_opt.serve.onnx_export import onnx_usage

        return onnx_usage(serving, signatures["onnx"])
    inputs = list(signatures["serving_default"]["inputs"])
    row = example_instance(serving, inputs[0]) if len(inputs) == 1 else {
        n: example_instance(serving, n) for n in inputs}
    body = json.dumps({"signature_name": "serving_default", "instances": [row]},
                      separators=(",", ":"))
    url = f"http://localhost:8501/v1/models/{name}:predict"
    args = ", ".join(f"{n}=tf.constant(...)" for n in inputs)
    return {"tensorflow_serving": {
        "layout": f"copy this directory to MODELS/{name}/1 (a numbered version)",
        "start": f"docker run -p 8501:8501 -v $PWD/MODELS/{name}:/models/{name} "
                 f"-e MODEL_NAME={name} tensorflow/serving",
        "url": url, "body": body, "curl": f"curl -X POST {url} -d '{body}'"},
        "python": f"import tensorflow as tf\nm = tf.saved_model.load(DIR)\n"
                  f"out = m.signatures['serving_default']({args})"}
