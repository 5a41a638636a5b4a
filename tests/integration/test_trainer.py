"""klo.Trainer with the user's own model and data, in this process: the input forms `model.fit`
takes, evaluate/predict, and clean exits on every path (keras-team/keras#20585's plain
Sequential with NumPy arrays is in test_trainer_first_calls.py; two workers started by the
launcher and one device against mirrored: test_trainer_distributed.py; bad arguments:
test_trainer_arguments.py)."""

from __future__ import annotations

import os
import signal
import tempfile

import numpy as np
import pytest


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 3)).astype("float32")
    return x, (x[:, :, 0].mean(1) > 0).astype("int64")


def _build():
    import keras

    import keras_lstm_opt as klo

    return keras.Sequential(
        [
            keras.Input((6, 3)),
            klo.FastLSTM(4, cpu_kernel="loop"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def _trainer(run_dir=None, **options):
    import keras_lstm_opt as klo

    return klo.Trainer(
        _build,
        loss="binary_crossentropy",
        metrics=["accuracy"],
        strategy="one_device",
        run_dir=run_dir,
        options=klo.LoopOptions(seed=1, verbose="silent", **options),
    )


def test_input_forms_arrays_dataset_and_function_train_alike():
    import tensorflow as tf

    x, y = _data()
    weights = []
    for form in ("arrays", "dataset", "function"):
        t = _trainer()
        if form == "arrays":
            t.fit(x, y, batch_size=32, epochs=1, shuffle=False)
        elif form == "dataset":
            t.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(32), epochs=1)
        else:
            t.fit(
                lambda ctx: tf.data.Dataset.from_tensor_slices((x, y)).batch(
                    ctx.get_per_replica_batch_size(32)
                ),
                epochs=1,
            )
        assert t.metrics["steps_completed"] == 3
        weights.append(t.model.get_weights())
    for other in weights[1:]:  # same batches in the same order: the same weights
        assert all(np.array_equal(a, b) for a, b in zip(weights[0], other, strict=True))
    result = t.evaluate(x, y, batch_size=32)
    assert set(result) == {"loss", "accuracy"}
    assert t.predict(x[:10]).shape == (10, 1)
    assert t.predict(tf.data.Dataset.from_tensor_slices((x[:7], y[:7])).batch(4)).shape == (7, 1)


def test_class_weight_equals_its_sample_weights_and_weights_count():
    """class_weight {c: w} trains as sample_weight w[y] does, in every input form; a
    weight of 0 leaves its examples out; bad weights get one line."""
    import tensorflow as tf

    from keras_lstm_opt.errors import UsageError

    x, y = _data()
    per_class = {0: 0.5, 1: 2.0}
    found = {}
    for name, fit in {
        "class": lambda t: t.fit(x, y, batch_size=32, shuffle=False, class_weight=per_class),
        "sample": lambda t: t.fit(
            x, y, batch_size=32, shuffle=False, sample_weight=np.where(y == 1, 2.0, 0.5)
        ),
        "dataset": lambda t: t.fit(
            tf.data.Dataset.from_tensor_slices((x, y, np.where(y == 1, 2.0, 0.5))).batch(32)
        ),
        "function": lambda t: t.fit(
            lambda ctx: tf.data.Dataset.from_tensor_slices((x, y)).batch(32),
            class_weight=per_class,
        ),
        "plain": lambda t: t.fit(x, y, batch_size=32, shuffle=False),
    }.items():
        t = _trainer()
        fit(t)
        found[name] = t.model.get_weights()
    for other in ("sample", "dataset", "function"):
        assert all(
            np.allclose(a, b, atol=1e-6) for a, b in zip(found["class"], found[other], strict=True)
        ), other
    assert not all(
        np.allclose(a, b, atol=1e-6) for a, b in zip(found["class"], found["plain"], strict=True)
    )
    # class 0 weighs nothing: the same as training on class 1 alone, batch for batch
    t = _trainer()
    t.fit(x, y, batch_size=32, shuffle=False, class_weight={0: 0.0})
    assert np.isfinite(t.metrics["loss"])
    for kwargs, match in (
        ({"class_weight": [1, 2]}, "expected a dict"),
        ({"class_weight": {-1: 1.0}}, "must be >= 0"),
        ({"sample_weight": np.ones(5)}, "one number per example"),
        ({"sample_weight": -np.ones(len(y))}, "finite numbers >= 0"),
    ):
        with pytest.raises(UsageError, match=match):
            _trainer().fit(x, y, batch_size=32, **kwargs)


def _no_klo_dirs(tmp):
    return [d for d in os.listdir(tmp) if d.startswith("klo-")]


@pytest.mark.parametrize("path", ["success", "training_error", "data_error", "signal"])
def test_worker_temporary_directories_are_removed_on_every_exit_path(path, tmp_path, monkeypatch):
    """A non-chief worker writes into private temporary directories (its artifacts and
    its own backups): none may outlive fit, whatever ends it."""
    import keras
    import tensorflow as tf

    import keras_lstm_opt as klo

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    x, y = _data()
    t = _trainer(
        str(tmp_path / "run"),
        backup_every_steps=1,
        nan_rollbacks=0,
    )
    if path == "training_error":  # the loop's test hook: NaN weights once at step 2
        monkeypatch.setenv("KLO_TEST_NAN_AT_STEP", "2")
    t.is_chief = False  # as worker 1 of a cluster: private run and backup directories
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(_no_klo_dirs(tmp))
            if path == "signal" and batch == 1:
                os.kill(os.getpid(), signal.SIGTERM)

    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    if path == "data_error":  # the third batch fails inside the step's input pipeline
        data = data.enumerate().map(
            lambda i, b: (
                tf.debugging.assert_less(i, tf.constant(2, tf.int64), message="bad record")
                and b[0],
                b[1],
            )
        )
    expected = {
        "success": None,
        "training_error": klo.errors.TrainingError,
        "data_error": tf.errors.InvalidArgumentError,
        "signal": klo.errors.TrainingInterrupted,
    }[path]
    if expected is None:
        t.fit(data, epochs=1, callbacks=[Spy()])
    else:
        with pytest.raises(expected):
            t.fit(data, epochs=1, callbacks=[Spy()])
    assert any(len(s) == 2 for s in seen), seen  # they existed while training
    assert _no_klo_dirs(tmp) == []


def test_steps_per_execution_and_clipping_take_the_same_steps():
    x, y = _data()
    weights = []
    for chunk in (1, 3):
        t = _trainer(steps_per_execution=chunk, global_clipnorm=0.5)
        t.fit(x, y, batch_size=16, epochs=1, shuffle=False)
        assert t.metrics["steps_completed"] == 6
        weights.append(t.model.get_weights())
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(*weights, strict=True))


def test_mixed_float16_model_gets_a_loss_scale_optimizer_and_trains():
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        x, y = _data()
        t = _trainer()
        t.fit(x, y, batch_size=32, epochs=1)
        assert isinstance(t.model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert t.model.layers[0].compute_dtype == "float16"
        assert np.isfinite(t.metrics["loss"])
    finally:
        keras.config.set_dtype_policy(before)


def test_several_inputs_as_a_list_work_in_fit_evaluate_and_predict():
    import keras

    import keras_lstm_opt as klo

    x, y = _data()
    extra = np.ones((len(x), 2), "float32")

    def build():
        seq, side = keras.Input((6, 3)), keras.Input((2,))
        h = keras.layers.Concatenate()([klo.FastLSTM(4, cpu_kernel="loop")(seq), side])
        return keras.Model([seq, side], keras.layers.Dense(1, activation="sigmoid")(h))

    t = klo.Trainer(
        build,
        loss="binary_crossentropy",
        metrics=["acc"],
        strategy="one_device",
        options=klo.LoopOptions(verbose="silent"),
    )
    t.fit([x, extra], y, batch_size=32, epochs=1)
    assert "acc" in t.metrics  # metric names as given, as Keras logs them
    assert set(t.evaluate([x, extra], y)) == {"loss", "acc"}
    assert t.predict([x, extra]).shape == (len(x), 1)


def test_a_model_built_outside_a_one_replica_mirrored_scope_is_rebuilt_and_trained():
    import tensorflow as tf

    import keras_lstm_opt as klo

    x, y = _data()
    model = _build()
    before = [w.copy() for w in model.get_weights()]
    t = klo.Trainer(
        model,
        loss="binary_crossentropy",
        strategy=tf.distribute.MirroredStrategy(["/cpu:0"]),
        options=klo.LoopOptions(verbose="silent"),
    )
    assert t.model is not model
    t.fit(x, y, batch_size=32, epochs=1)
    after = model.get_weights()  # the caller's object got the trained weights
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(after, t.model.get_weights(), strict=True))


def test_a_learning_rate_schedule_survives_a_rollback(tmp_path, monkeypatch):
    import keras

    import keras_lstm_opt as klo

    x, y = _data()
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 10, 0.9)
    monkeypatch.setenv("KLO_TEST_NAN_AT_STEP", "3")  # the loop's test hook
    t = klo.Trainer(
        _build,
        loss="binary_crossentropy",
        optimizer=keras.optimizers.Adam(schedule),
        strategy="one_device",
        run_dir=str(tmp_path / "run"),
        options=klo.LoopOptions(verbose="silent", backup_every_steps=1),
    )
    t.fit(x, y, batch_size=16, epochs=1)
    assert len(t.metrics["rollbacks"]) == 1
    assert t.metrics["rollbacks"][0]["learning_rate"] < 1e-2


def test_metrics_are_logged_under_the_names_given():
    import keras_lstm_opt as klo

    x, y = _data()
    t = klo.Trainer(
        _build,
        loss="mse",
        metrics=["mae", "mean_squared_error"],
        strategy="one_device",
        options=klo.LoopOptions(verbose="silent"),
    )
    t.fit(x, y.astype("float32"), batch_size=32, epochs=1, validation_data=(x, y))
    assert {"mae", "mean_squared_error", "val_mae", "val_mean_squared_error"} <= set(t.metrics)


def test_fit_takes_keras_order_returns_metrics_and_history_and_writes_artifacts(tmp_path):
    """`fit(x, y, batch_size, epochs)` as Keras's model.fit orders them; the result is
    metrics.json's dict with Keras's `.history`; RunArtifacts reach the run directory."""
    import json

    import keras_lstm_opt as klo

    x, y = _data()
    run = tmp_path / "run"
    t = _trainer(str(run))
    result = t.fit(
        x,
        y,
        16,
        2,
        validation_data=(x, y),
        artifacts=klo.RunArtifacts(
            title="mine",
            reference={"val_accuracy:target": 0.9},
            extra_files={"notes.txt": "first try"},
            metadata=lambda final: {"passed": final["val_accuracy"] >= 0.0},
        ),
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert isinstance(result, klo.FitResult) and isinstance(result, dict)
    assert result["weights_digest"] == metrics["weights_digest"] == klo.weights_digest(t.model)
    assert result["epochs_completed"] == 2 and metrics["passed"] is True
    assert len(result.history["loss"]) == 2 and result.epoch == [0, 1]
    assert (run / "notes.txt").read_text() == "first try"
    with pytest.raises(klo.errors.UsageError, match="klo.RunArtifacts"):
        t.fit(x, y, 16, 1, artifacts={"title": "no"}, overwrite=True)
    with pytest.raises(klo.errors.UsageError, match=r"title: pass artifacts=klo.RunArtifacts"):
        t.fit(x, y, 16, 1, title="the old way", overwrite=True)


def test_run_directory_weights_files_and_backups_are_written_once_each(tmp_path, saved_backups):
    """An epoch end that a step backup just saved is not saved twice; best.weights.h5 and
    latest.weights.h5 hold the model's weights only (the backup keeps the optimizer), and
    latest is written when training ends, not at every epoch."""
    import h5py
    import keras

    saved = saved_backups
    run = tmp_path / "run"
    latest = run / "checkpoints" / "latest.weights.h5"
    seen: dict[str, bool] = {}

    class Look(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):  # noqa: ANN001, ANN201
            if epoch == 1:
                seen["latest_after_epoch_1"] = latest.exists()

    x, y = _data()  # 96 rows, batch 16: 6 steps an epoch
    t = _trainer(str(run), backup_every_steps=3, restore_best_weights=False)
    t.fit(x, y, 16, 2, validation_data=(x, y), callbacks=[Look()])
    assert saved == [3, 6, 9, 12]  # not 6 and 12 again at the epoch ends
    assert seen == {"latest_after_epoch_1": False} and latest.exists()
    for name in ("best", "latest"):
        with h5py.File(run / "checkpoints" / f"{name}.weights.h5") as f:
            assert "layers" in f and "optimizer" not in f, (name, list(f))
    fresh = _build()
    fresh.load_weights(str(latest))
    for got, want in zip(fresh.get_weights(), t.model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)  # the last epoch's, which the model keeps
