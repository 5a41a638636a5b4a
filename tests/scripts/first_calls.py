"""The first calls a Keras user writes: a model built first, then klo.Trainer(model, ...).

usage: first_calls.py MODE OUT_DIR   MODE: local (one device, then mirrored over two
logical CPUs) | workers (one worker of a cluster, TF_CONFIG set by the launcher).
Every model form
(functional, Sequential, subclassed, function) with every optimizer form (a name, an
instance, none) trains one epoch (the functional ones with a run directory of
their own). Prints one JSON line
per case: "CASE {...}" with the checks' results, and "DONE" at the end.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import numpy as np

MODE, OUT = sys.argv[1], sys.argv[2]
if MODE == "local":  # two logical CPUs, set before TensorFlow starts (its rule)
    import tensorflow as tf

    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0],
        [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
    )

import keras  # noqa: E402

import keras_lstm_opt as klo  # noqa: E402


@keras.saving.register_keras_serializable(package="first_calls")
class Classifier(keras.Model):  # subclassed: its own __init__ and call
    def __init__(self, units: int = 16, classes: int = 10, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.units, self.classes = units, classes
        self.lstm = klo.FastLSTM(units)
        self.head = keras.layers.Dense(classes, activation="softmax")

    def call(self, x: object) -> object:
        return self.head(self.lstm(x))

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "classes": self.classes}


def functional() -> keras.Model:  # the snippet of issue 29, as users write it
    inp = keras.Input((8, 8))
    out = keras.layers.Dense(10, activation="softmax")(klo.FastLSTM(16)(inp))
    return keras.Model(inp, out)


def sequential() -> keras.Model:
    return keras.Sequential(
        [keras.Input((8, 8)), keras.layers.LSTM(16), keras.layers.Dense(10, activation="softmax")]
    )


def subclassed() -> keras.Model:
    model = Classifier()
    model(np.zeros((1, 8, 8), "float32"))  # built
    return model


MODELS = {
    "functional": functional,
    "sequential": sequential,
    "subclassed": subclassed,
    "function": None,
}
OPTIMIZERS = {"name": "adam", "instance": lambda: keras.optimizers.Adam(1e-3), "none": None}


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8, 8)).astype("float32")
    y = rng.integers(0, 10, size=128)
    worker = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0)
    for name in ("one_device", "mirrored") if MODE == "local" else ("auto",):
        strategy: object = name
        for model_form, build in MODELS.items():
            for opt_form, opt in OPTIMIZERS.items():
                strategy = one_case(name, strategy, model_form, build, opt_form, opt, x, y, worker)
    if MODE == "local":  # a strategy object the model was not built under: a copy trains
        import tensorflow as tf

        one_case(
            "one_device_object",
            tf.distribute.OneDeviceStrategy("/cpu:0"),
            "functional",
            functional,
            "name",
            "adam",
            x,
            y,
            worker,
        )
    print("DONE", flush=True)


def one_case(
    name: str,
    strategy: object,
    model_form: str,
    build: Callable[[], keras.Model] | None,
    opt_form: str,
    opt: object,
    x: np.ndarray,
    y: np.ndarray,
    worker: int,
) -> object:
    keras.utils.set_random_seed(1)
    model = build() if build is not None else None
    before = model.get_weights() if model is not None else None
    if model is not None:  # a user looks at the output first (a traced predict function)
        model.predict(x[:2], verbose=0)
    optimizer = opt() if callable(opt) else opt
    # the functional cases save a run (the snippet); the others train without files
    run_dir = (
        os.path.join(OUT, f"{name}-{model_form}-{opt_form}") if model_form == "functional" else None
    )
    trainer = klo.Trainer(
        model if model is not None else functional,
        loss="sparse_categorical_crossentropy",
        optimizer=optimizer,
        strategy=strategy,
        run_dir=run_dir,
        metrics=["accuracy"],
        options=klo.LoopOptions(verbose="silent"),
    )
    if MODE == "workers":  # one multi-worker strategy per process (TF's rule)
        strategy = trainer.strategy
    start = trainer.model.get_weights()
    kept = before is None or all(np.array_equal(a, b) for a, b in zip(before, start, strict=True))
    trainer.fit(x, y, epochs=1, batch_size=32, validation_data=(x[:32], y[:32]))
    trained = trainer.model.get_weights()
    case = {
        "strategy": name,
        "model": model_form,
        "optimizer": opt_form,
        "worker": worker,
        "replicas": trainer.strategy.num_replicas_in_sync,
        "kept_initial_weights": kept,
        "moved": any(not np.array_equal(a, b) for a, b in zip(start, trained, strict=True)),
        "digest": trainer.weights_digest(),
        # the model object the user holds ends with the trained weights
        "user_model_trained": model is None
        or all(np.array_equal(a, b) for a, b in zip(model.get_weights(), trained, strict=True)),
        "saved": run_dir is None
        or worker != 0
        or os.path.exists(os.path.join(run_dir, "model.keras")),
        "user_model_predicts": model is None
        or bool(np.isfinite(model.predict(x[:4], verbose=0)).all()),
    }
    print("CASE " + json.dumps(case), flush=True)
    return strategy


if __name__ == "__main__":
    main()
