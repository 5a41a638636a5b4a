"""A user's own model and data trained with klo.Trainer; run alone or as each worker of
`keras-lstm-opt launch` (TF_CONFIG set by the launcher) by
tests/integration/test_trainer_distributed.py.

usage: user_trainer.py MODE RUN_DIR   MODE: user | devices | stoppable
                                                  | exchange
Prints one JSON line: {"mode", "worker", "digest", "metrics", ...}.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

MODE, RUN_DIR = sys.argv[1], sys.argv[2]
T, F, V = 12, 4, 50


def user_data(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, V, size=(n, T)).astype("int32")
    feats = rng.normal(size=(n, T, F)).astype("float32")
    label = (ids < V // 2).sum(1) > T // 2
    label = label.astype("int64") + (feats[:, :, 0].mean(1) > 0.1).astype("int64")
    return {"ids": ids, "feats": feats}, label


def build_user_model():  # two inputs, FastLSTM, attention-style pooling, a Dense head
    import keras

    import keras_lstm_opt as klo

    ids = keras.Input((T,), dtype="int32", name="ids")
    feats = keras.Input((T, F), name="feats")
    h = klo.FastLSTM(16, return_sequences=True)(keras.layers.Embedding(V, 8)(ids))
    h = keras.layers.Concatenate()([h, keras.layers.Dense(8, activation="tanh")(feats)])
    # no bias on the scores: softmax ignores a shift, so its gradient would be pure rounding
    weights = keras.layers.Softmax(axis=1)(keras.layers.Dense(1, use_bias=False)(h))
    pooled = keras.ops.sum(keras.ops.multiply(weights, h), axis=1)
    out = keras.layers.Dense(3, activation="softmax")(pooled)
    return keras.Model({"ids": ids, "feats": feats}, out, name="user_model")


def main() -> None:
    import keras
    import tensorflow as tf

    import keras_lstm_opt as klo

    worker = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0)
    if MODE == "user":
        trainer = klo.Trainer(
            build_user_model,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            strategy="auto",
            run_dir=RUN_DIR,
            options=klo.LoopOptions(seed=3, verbose="epoch", backup_every_steps=5),
        )
        x, y = user_data(512, 0)
        xv, yv = user_data(128, 1)
        trainer.fit(x, y, validation_data=(xv, yv), batch_size=64, epochs=3)
        out = {
            "metrics": trainer.metrics,
            "evaluate": trainer.evaluate(xv, yv),
            "predict_shape": list(trainer.predict(xv).shape),
        }
    elif MODE == "stoppable":  # slow steps, so that a signal lands mid-run

        class Slow(keras.callbacks.Callback):
            def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
                time.sleep(0.1)

        trainer = klo.Trainer(
            build_user_model,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            strategy="auto",
            run_dir=RUN_DIR,
            options=klo.LoopOptions(seed=3, verbose="epoch", backup_every_steps=5),
        )
        x, y = user_data(2048, 0)
        try:
            trainer.fit(x, y, batch_size=64, epochs=3, callbacks=[Slow()])
        except klo.errors.TrainingInterrupted as exc:  # how a script keeps 128 + the signal
            print(f"STOPPED {exc.reason}", flush=True)
            sys.exit(exc.exit_code)
        out = {"metrics": trainer.metrics}
    elif MODE == "exchange":  # one worker of several: the same epoch, exchanged 3 ways
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        x, y = user_data(512, 0)
        found = {}
        for case, exchange, wire in [
            ("dense", "dense", "none"),
            ("sparse", "sparse", "none"),
            ("sparse_fp16", "sparse", "float16"),
        ]:
            trainer = klo.Trainer(
                build_user_model,
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
                strategy=strategy,
                optimizer="adam",
                options=klo.LoopOptions(
                    seed=3, verbose="silent", embedding_exchange=exchange, gradient_compression=wire
                ),
            )
            trainer.fit(x, y, batch_size=64, epochs=1)
            found[case] = trainer.model.get_weights()
        out = {
            f"dense_vs_{case}": max(
                float(np.max(np.abs(a - b)))
                for a, b in zip(found["dense"], found[case], strict=True)
            )
            for case in ("sparse", "sparse_fp16")
        }
        out["digest"] = klo.weights_digest(trainer.model)
    else:  # devices: one device vs mirrored over 2 logical CPUs, same process
        from keras_lstm_opt.distribute.strategy import Settings, get_strategy

        # by name, as `distribute.strategy` in a config: mirrored over 2 logical CPUs first
        # (logical devices are set before any other TensorFlow work), then one device
        mirrored, _ = get_strategy(Settings(strategy="mirrored", cpu_devices=2))
        one, _ = get_strategy(Settings(strategy="one_device"))
        x, y = user_data(512, 0)
        # Keras's Adam (dense embedding rows) and LazyAdam (row-sparse), clipped by the
        # loop after the sum over replicas, LazyAdam unclipped, and Adam with the embedding rows
        # gathered (sparse exchange): the loop sums once in every case
        cases = {
            "adam": ("adam", 1.0, "auto"),
            "lazy": (klo.LazyAdam, 1.0, "auto"),
            "lazy_unclipped": (klo.LazyAdam, None, "auto"),
            "adam_sparse_exchange": ("adam", 1.0, "sparse"),
            "adam_weighted": ("adam", 1.0, "auto"),  # class and sample weights
        }
        rng = np.random.default_rng(7)
        weights = {"sample_weight": rng.uniform(0.2, 2.0, len(y)).astype("float32")}
        weights["class_weight"] = {0: 1.0, 1: 3.0, 2: 0.5}
        diffs, replicas = {}, []
        for case, (opt, clip, exchange) in cases.items():
            found = {}
            for name, strategy in [("one_device", one), ("mirrored", mirrored)]:
                trainer = klo.Trainer(
                    build_user_model,
                    loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"],
                    strategy=strategy,
                    optimizer=opt,
                    options=klo.LoopOptions(
                        seed=3, global_clipnorm=clip, verbose="silent", embedding_exchange=exchange
                    ),
                )
                trainer.fit(
                    x, y, batch_size=64, epochs=1, **(weights if case == "adam_weighted" else {})
                )
                found[name] = trainer.model.get_weights()
                replicas.append(trainer.strategy.num_replicas_in_sync)
            diffs[case] = max(
                float(np.max(np.abs(a - b)))
                for a, b in zip(found["one_device"], found["mirrored"], strict=True)
            )
        out = {
            "max_abs_diff": max(diffs.values()),
            "diffs": diffs,
            "replicas": sorted(set(replicas)),
        }
    print("RESULT " + json.dumps({"mode": MODE, "worker": worker, **out}, default=str), flush=True)


if __name__ == "__main__":
    main()
