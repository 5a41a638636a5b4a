"""best/latest weights files: the model's weights without the optimizer's, and a Keras
whose `save_weights` has no `objects_to_skip` (setup.cfg allows 3.3) still gets its file."""

from __future__ import annotations

import h5py
import keras
import numpy as np

from keras_lstm_opt.training.best import save_weights


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    return model


def test_weights_file_leaves_the_optimizer_out_and_loads_into_a_new_model(tmp_path):
    model, path = _model(), tmp_path / "best.weights.h5"
    save_weights(model, str(path))
    with h5py.File(path) as f:
        assert "optimizer" not in f and "layers" in f
    fresh = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    fresh.load_weights(str(path))
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])


def test_an_older_keras_without_objects_to_skip_still_writes_the_file(tmp_path, monkeypatch):
    def old_save_weights(model, filepath, overwrite=True):  # noqa: ANN001, ANN202
        model.save_weights(filepath, overwrite=overwrite)

    monkeypatch.setattr(keras.saving, "save_weights", old_save_weights)
    model, path = _model(), tmp_path / "latest.weights.h5"
    save_weights(model, str(path))
    with h5py.File(path) as f:
        assert "layers" in f
    assert not list(tmp_path.glob("*.partial.*"))
