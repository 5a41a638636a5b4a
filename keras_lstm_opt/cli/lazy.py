"""Keras's optional extras, loaded when first used instead of at start-up.

`import tensorflow` loads Keras (TensorFlow imports `keras.src.optimizers` eagerly), and
Keras imports its scikit-learn wrappers (`keras.wrappers`: scikit-learn, SciPy's stats)
and its plotting helpers (`keras.visualization`, `keras.src.visualization.
plot_image_gallery`: matplotlib's pyplot) whenever those packages are installed. No
command uses the wrappers or the helpers, yet every process of the command line (each
worker, each `predict`) paid for them on every start (docs/measurements.md, "Start-up
of the command line", has the figures). (`tune` still loads scikit-learn, through
KerasTuner; the commands that draw charts load pyplot when they draw.)

`defer_keras_extras()` (called by `cli.main`, before anything imports TensorFlow) makes
those modules lazy: the import binds a module object and runs its code at the first use
of one of its attributes (`importlib.util.LazyLoader`), so `keras.wrappers.
SKLearnClassifier` still works, later and at the same cost. Each is a module with no
submodules (a lazy package would run a submodule twice when the submodule is imported
first), and the first use is expected from one thread (LazyLoader has no lock in Python
3.11). Only the command line and the Slurm TF_CONFIG helper do this (and only when
Keras is not loaded yet); a program that imports keras_lstm_opt keeps Keras as it is.

Example:

    defer_keras_extras()
    import tensorflow as tf            # without scikit-learn and pyplot
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

DEFERRED = frozenset(
    {"keras.wrappers", "keras.visualization", "keras.src.visualization.plot_image_gallery"}
)


class _DeferredFinder(importlib.abc.MetaPathFinder):
    """Finds the `DEFERRED` modules as the path finder does, behind a LazyLoader."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in DEFERRED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None  # not a plain source module: the import system does as it would
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer_keras_extras() -> None:
    """Make `DEFERRED` lazy in this process, unless Keras is already loaded."""
    if "keras" in sys.modules or any(isinstance(f, _DeferredFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _DeferredFinder())
