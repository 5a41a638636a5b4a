"""Paths of run and data directories, local or remote (through tf.io.gfile), for serve/.

Example:

    if exists(join("runs/a", "model.keras")): ...
"""

from __future__ import annotations

import os

from keras_lstm_opt.paths import is_remote


def exists(path: str) -> bool:
    if is_remote(path):
        import tensorflow as tf

        return bool(tf.io.gfile.exists(path))
    return os.path.exists(path)


def read_text(path: str) -> str:
    if is_remote(path):
        import tensorflow as tf

        with tf.io.gfile.GFile(path, "r") as fh:
            return str(fh.read())
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def join(run_dir: str, name: str) -> str:
    return run_dir.rstrip("/") + "/" + name if is_remote(run_dir) else os.path.join(run_dir,
                                                                                  name)


def isdir(path: str) -> bool:
    if is_remote(path):
        import tensorflow as tf

        return bool(tf.io.gfile.isdir(path))
    return os.path.isdir(path)
