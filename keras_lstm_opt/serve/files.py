"""Paths of run and data directories, local or remote (through `data.fs`), for serve/.

Example:

    if exists(join("runs/a", "model.keras")): ...
"""

from __future__ import annotations

import os

from keras_lstm_opt.data import fs
from keras_lstm_opt.paths import is_remote


def exists(path: str) -> bool:
    return fs.exists(path)


def read_text(path: str) -> str:
    with fs.open(path, "r") as fh:
        return str(fh.read())


def join(run_dir: str, name: str) -> str:
    return run_dir.rstrip("/") + "/" + name if is_remote(run_dir) else os.path.join(run_dir,
                                                                                  name)


def isdir(path: str) -> bool:
    return fs.isdir(path)
