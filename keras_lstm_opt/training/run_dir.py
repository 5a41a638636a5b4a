"""Run directories: one absolute place per run, never two runs mixed in one.

* A local run directory is made absolute once, at the start, so every path written
  into it (backups, their index files) still means the same place when a later
  process in another working directory resumes the run.
* A finished run (its `metrics.json` exists) is not trained over: `check_run_dir`
  refuses unless `overwrite`, and then `clear_run_dir` removes the earlier run's
  artifacts first (TensorBoard events of two runs never mix).
* An unfinished one (a backup, no metrics.json) is resumed by training into it again.

Importing this module does not import TensorFlow (the CLI checks before loading it).

Example:

    run_dir = resolve_run_dir("runs/a")        # "/home/me/project/runs/a"
    check_run_dir(run_dir, overwrite=False)    # RunDirError if runs/a finished
"""

from __future__ import annotations

import os
import shutil
import time

from keras_lstm_opt.errors import RunDirError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.paths import is_remote

ARTIFACTS = (
    "metrics.json",
    "model.keras",
    "curves.png",
    "history.csv",
    "config.yaml",
    "schema.json",
    "evaluation.json",
    "confusion_matrix.png",
    "forecast.png",
    "checkpoints",
    "tensorboard",
    "backup",
)


def default_run_dir() -> str:
    """`runs/<timestamp>` under the current directory, made here; `runs/<timestamp>-<pid>`
    when another run made it first (two runs started in the same second each get their
    own, instead of the second being refused as a second writer)."""
    path = os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    if os.environ.get("TF_CONFIG"):
        return path  # the workers of one run share it (they start in the same second)
    try:
        os.makedirs(path)
    except FileExistsError:
        return f"{path}-{os.getpid()}"
    except OSError:
        pass  # not writable: the run directory's own check says so, naming it
    return path


def resolve_run_dir(run_dir: str | os.PathLike | None) -> str:
    """An absolute local path (a default one when None); remote URLs as they are."""
    path = str(run_dir) if run_dir is not None else default_run_dir()
    if is_remote(path):
        return path.rstrip("/")
    return os.path.abspath(os.path.expanduser(path))


def check_run_dir(run_dir: str, overwrite: bool = False, how: str = "overwrite=True") -> str | None:
    """Refuse a finished run unless `overwrite`; return "finished", "unfinished" or None
    (nothing there yet). `how` names the switch in the message (`--overwrite` for the CLI).

    Raises:
        RunDirError: `run_dir` holds a finished run and `overwrite` is false.
    """
    if fs.exists(os.path.join(run_dir, "metrics.json")):
        if not overwrite:
            raise RunDirError(
                f"{run_dir} holds a finished run (metrics.json is there); "
                f"choose another run directory, or pass {how} to replace it"
            )
        return "finished"
    if fs.exists(os.path.join(run_dir, "config.yaml")):
        return "unfinished"
    return None


def clear_run_dir(run_dir: str) -> list[str]:
    """Remove an earlier run's artifacts from `run_dir` (other files stay); return them."""
    removed = []
    for name in ARTIFACTS:
        path = os.path.join(run_dir, name)
        if is_remote(run_dir):
            if fs.isdir(path):
                fs.rmtree(path)
            elif fs.exists(path):
                fs.remove(path)
            else:
                continue
        elif os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
        else:
            continue
        removed.append(name)
    return removed
