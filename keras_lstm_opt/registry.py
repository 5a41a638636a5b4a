"""Register every custom Keras object of the package as soon as Keras is usable.

A saved `model.keras` names our classes (`keras_lstm_opt>FastLSTM`,
`keras_lstm_opt>SeriesPreprocess`, `keras_lstm_opt>SeriesInverse`,
`keras_lstm_opt>ScaledSchedule`, `keras_lstm_opt>LazyAdam`); Keras finds them only
once they are registered, and it never imports a module outside its own packages to
find one. So `import keras_lstm_opt` registers them, without importing TensorFlow
itself (loading and validating a config stays fast):

* TensorFlow and Keras already loaded: the classes are registered at once.
* Otherwise a one-shot import hook waits until both have finished loading (either may
  start the other) and registers them then.
* In a worker process (TF_CONFIG names several tasks) the multi-worker strategy's
  settings are applied at that moment too, before TensorFlow's runtime starts, so that a
  model built before the Trainer works (`distribute/prestart.py`).

Example:

    import keras_lstm_opt, keras
    model = keras.models.load_model("runs/x/model.keras")   # FastLSTM found
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

log = logging.getLogger("keras_lstm_opt")

# Every module that defines a class saved in model.keras (keep in step with the tests).
CUSTOM_OBJECT_MODULES = (
    "keras_lstm_opt.models.fast_lstm",
    "keras_lstm_opt.models.series",
    "keras_lstm_opt.models.wide",
    "keras_lstm_opt.models.pooling",
    "keras_lstm_opt.models.row_embedding",
    "keras_lstm_opt.training.schedules",
    "keras_lstm_opt.training.sparse",
)
_WATCHED = ("keras", "tensorflow")
_done = False


def _loaded(name: str) -> bool:
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return module is not None and not getattr(spec, "_initializing", False)


def register_custom_objects() -> None:
    """Import the modules that define our Keras objects (each registers on import)."""
    global _done
    for name in CUSTOM_OBJECT_MODULES:
        importlib.import_module(name)
    _done = True
    _remove_hook()


def _maybe_register() -> None:
    if _done or not all(_loaded(n) for n in _WATCHED):
        return
    try:
        register_custom_objects()
    except Exception as exc:  # noqa: BLE001  (never break the user's `import keras`)
        log.warning("keras_lstm_opt could not register its Keras objects: %s", exc)
        _remove_hook()
    _prestart()


def _prestart() -> None:
    """In a worker process (TF_CONFIG), the multi-worker settings TensorFlow takes only
    before it starts, so that a model may be built before the Trainer
    (`distribute.prestart`)."""
    if not os.environ.get("TF_CONFIG"):
        return
    try:
        from keras_lstm_opt.distribute.prestart import configure_before_start

        configure_before_start()
    except Exception as exc:  # noqa: BLE001  (never break the user's `import keras`)
        log.debug("multi-worker settings not applied before start: %s", exc)


class _Loader(importlib.abc.Loader):
    """Runs the real loader, then registers once Keras and TensorFlow are both loaded."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        if module.__spec__ is not None:  # always set for a module the import system loads
            module.__spec__.loader = self.inner
        _maybe_register_after(module.__name__)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self.inner, name)


def _maybe_register_after(name: str) -> None:
    # The module's own `_initializing` flag is cleared only after exec_module returns.
    spec = sys.modules[name].__spec__
    if spec is None:  # never for a module the import system is loading
        _maybe_register()
        return
    flag = getattr(spec, "_initializing", False)
    # `_initializing` is CPython's private flag (importlib._bootstrap), not in typeshed.
    spec._initializing = False  # type: ignore[attr-defined]
    try:
        _maybe_register()
    finally:
        spec._initializing = flag  # type: ignore[attr-defined]


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _WATCHED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


_HOOK = _Hook()


def _remove_hook() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def install() -> None:
    """Register now if Keras and TensorFlow are loaded, else when they are."""
    if all(_loaded(n) for n in _WATCHED):
        _maybe_register()
    elif not _done and _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
