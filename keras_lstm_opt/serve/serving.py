"""What an export takes and answers (`Serving`), shared by the SavedModel and ONNX writers:
the model with stock LSTM layers, its numeric inputs (token ids or raw windows), the
raw-text front end where the data has a vocabulary, sample inputs and the difference
measure used to check an export against model.keras.

Example:

    serving = describe(load_run("runs/wordnet"))
    fn = numeric_function(serving)     # a tf.function for tf2onnx
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from keras_lstm_opt.errors import DataError

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keras_lstm_opt.serve.run import Run


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
        return dict(
            zip(self.output_names, out if isinstance(out, (list, tuple)) else [out], strict=True)
        )

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
            return {
                "probabilities": {"dtype": "float32", "shape": [None, len(self.class_names)]},
                "class_id": {"dtype": "int64", "shape": [None]},
                "label": {"dtype": "string", "shape": [None]},
            }
        if self.kind == "forecast":
            return {
                "forecast": {"dtype": "float32", "shape": [None, self.horizon, len(self.targets)]}
            }
        return {
            name: {"dtype": str(t.dtype), "shape": [None, *list(t.shape)[1:]]}
            for name, t in zip(self.output_names, self.model.outputs, strict=True)
        }


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
    inputs = {
        t.name.split(":")[0]: (str(t.dtype), [None, *list(t.shape)[1:]]) for t in stock.inputs
    }
    schema = run.schema
    if schema is None or len(inputs) != 1:
        return Serving("model", stock, run.model, inputs)
    info = dict(schema.get("info", {}))
    feat = schema["features"][schema["inputs"]]
    if feat["dtype"] == "int64" and schema["features"][schema["target"]]["dtype"] == "int64":
        k = int(info.get("num_classes", 0)) or int(stock.outputs[0].shape[-1])
        names = [str(n) for n in info.get("class_names") or range(max(k, 2))]
        return Serving(
            "text", stock, run.model, {"tokens": ("int64", [None, None])}, info, class_names=names
        )
    if feat["dtype"] == "float32" and len(feat["shape"]) == 2:
        units = int(stock.outputs[0].shape[-1])
        horizon = int(info.get("horizon") or units)
        series = info.get("series") or {}
        targets = [str(t) for t in series.get("targets") or [schema["target"]]]
        if horizon * len(targets) != units:
            raise DataError(
                f"{run.run_dir}: the model predicts {units} values, but the "
                f"schema says horizon {horizon} x {len(targets)} targets"
            )
        window = list(next(iter(inputs.values()))[1])
        return Serving(
            "forecast",
            stock,
            run.model,
            {"window": ("float32", window)},
            info,
            horizon=horizon,
            targets=targets,
        )
    return Serving("model", stock, run.model, inputs, info)


def input_specs(serving: Serving) -> list[tf.TensorSpec]:
    import tensorflow as tf

    return [
        tf.TensorSpec(shape, getattr(tf, dtype), name=name)
        for name, (dtype, shape) in serving.inputs.items()
    ]


def numeric_function(serving: Serving) -> Any:
    """A tf.function over the numeric inputs (token ids / windows), for tf2onnx."""
    import tensorflow as tf

    return tf.function(serving.numeric, input_signature=input_specs(serving), autograph=False)


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
            # joined without spaces too: a Chinese or Japanese sentence (words+chars)
            texts = [
                "",
                "zzqx unknownword",
                " ".join(rng.choice(words, size=3)),
                "".join(rng.choice(words, size=9)) + ", " + " ".join(rng.choice(words, size=4)),
                " ".join(rng.choice(words, size=30)),
            ]
            out["text"] = np.array(texts[: max(n, 2)], dtype=object)
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
            x = _raw_targets(x, series)
        arrays[name] = x.astype(dtype)
    return arrays


def _raw_targets(x: np.ndarray, series: dict[str, Any]) -> np.ndarray:
    """Windows drawn with the transformed columns' mean and std `x` [N, S, C], with the
    targets rebuilt in the series' own units (a check of an export must run the model on
    windows it could be given: a log model's logarithm, a difference's level): from the
    training rows' level, the differences summed, the logarithm undone."""
    level = series.get("level")
    n_t = len(series.get("targets") or [])
    if not level or len(level) != n_t:  # imports before Dec 6, 2026: as drawn
        return x
    x = x.copy()
    logs = bool(series.get("log"))
    start = np.log(np.maximum(np.asarray(level, float), 1e-30)) if logs else np.asarray(level)
    t = x[:, :, :n_t]
    if series.get("lag"):  # differences: a walk from the level
        t = start + np.cumsum(t, axis=1) - t[:, :1, :]
    x[:, :, :n_t] = np.exp(np.minimum(t, 80.0)) if logs else t
    return x


def max_difference(got: dict[str, Any], want: dict[str, np.ndarray]) -> float:
    """Largest |got - want| over the numeric outputs, relative to |want| where it is above
    1 (float32 keeps 7 digits: a forecast of 370 ppm is exact to about 3e-5); 1.0 when
    class ids or names differ."""
    worst = 0.0
    for key, value in want.items():
        other = np.asarray(got[key])
        if value.dtype.kind in "OUS" or key == "class_id":
            same = [str(a.decode() if isinstance(a, bytes) else a) for a in other.ravel()] == [
                str(b) for b in value.ravel()
            ]
            worst = max(worst, 0.0 if same else 1.0)
            continue
        diff = np.abs(other.astype(np.float64) - value) / np.maximum(1.0, np.abs(value))
        worst = max(worst, float(diff.max(initial=0.0)))
    return worst
