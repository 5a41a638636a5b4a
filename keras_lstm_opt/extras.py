"""Optional packages (pip extras): imported where a step needs them, or one line saying
what to install.

Parquet needs pyarrow (the `parquet` extra), ONNX export tf2onnx and onnxruntime
(`onnx`), the CO2 walk-through statsmodels and the real-text bench scikit-learn
(`examples`). Without them the step would end in a `ModuleNotFoundError` traceback; with
`need()` it ends in a `MissingPackageError` (a KloError: the CLI prints one line, exit
status 2) that names the step, the package and the pip command. A package that is
installed but fails to import (a broken build) is named with its own error.

Example:

    pq = need("pyarrow.parquet", "Parquet input", extra="parquet")
"""

from __future__ import annotations

import importlib
from types import ModuleType

from keras_lstm_opt.errors import MissingPackageError


def install_hint(extra: str) -> str:
    """The pip command that installs one of our extras."""
    return f"pip install 'keras-lstm-opt[{extra}]'"


def need(module: str, what: str, extra: str) -> ModuleType:
    """`import module`, or a MissingPackageError saying `what` needs it and how to install
    it (the `extra`)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing(module, what, extra, exc) from None


def missing(module: str, what: str, extra: str, exc: ImportError) -> MissingPackageError:
    """The one-line error for `exc`, raised importing `module` for `what`."""
    top = module.split(".")[0]
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if isinstance(exc, ModuleNotFoundError) and name in ("", top):
        return MissingPackageError(
            f"{what} needs {top}, which is not installed; install it with: {install_hint(extra)}",
            name=top,
        )
    return MissingPackageError(
        f"{what} needs {top}, which does not import ({exc}); "
        f"reinstall it with: {install_hint(extra)}",
        name=top,
    )
