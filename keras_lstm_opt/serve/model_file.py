"""A saved model read back, local or remote: `load_model` of a run directory's `.keras`.

Example:

    model = load_model("runs/a/model.keras")   # or s3://bucket/runs/a/model.keras
"""

from __future__ import annotations

import os
from typing import Any

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.paths import is_remote


def load_model(path: str) -> Any:
    """keras.models.load_model (without compiling) of a local or remote `.keras` file."""
    import tempfile

    import keras

    import keras_lstm_opt  # noqa: F401  (registers our layers for load_model)

    if not is_remote(path):
        return _load(keras, path, path)
    with tempfile.TemporaryDirectory() as tmp:  # Keras reads a local zip
        local = os.path.join(tmp, "model.keras")
        fs.get(path, local)
        return _load(keras, local, path)


def _load(keras: Any, local: str, path: str) -> Any:
    try:
        return keras.models.load_model(local, compile=False)
    except TypeError as exc:  # a class of the user's own that Keras does not know
        if "Could not locate class" not in str(exc):
            raise
        name = str(exc).split("Could not locate class", 1)[1].split(".", 1)[0].strip(" '")
        raise UsageError(
            f"{path}: the model uses class {name!r}, which Keras does not know "
            "in this process: import the module that defines it, decorated "
            "with @keras.saving.register_keras_serializable(), before "
            "loading"
        ) from None
