"""What `klo.Trainer` writes into metrics.json about the batches it trained on."""

import json

import keras
import numpy as np
import pytest

import keras_lstm_opt as klo


@pytest.mark.parametrize("per_call", [1, 3, 32])
def test_global_batch_size_is_the_batch_asked_for_not_the_mean(tmp_path, per_call):
    # 2,000 rows in batches of 64: 31 full ones and a last one of 16 (the mean is 62.5);
    # 32 steps per call: the whole epoch in one call, the partial batch in it
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2000, 8)).astype("float32"), rng.integers(0, 2, 2000)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])
    trainer = klo.Trainer(
        model,
        loss="sparse_categorical_crossentropy",
        options=klo.LoopOptions(steps_per_execution=per_call),
        run_dir=str(tmp_path / "run"),
    )
    trainer.fit(x, y, batch_size=64, epochs=1)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["global_batch_size"] == 64
    assert metrics["steps_completed"] == 32
