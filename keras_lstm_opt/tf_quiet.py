"""Import TensorFlow without its C++ start-up log lines: for the CLI, and `klo.quiet()`.

TensorFlow's native code logs to the process's standard error before its own log level
is read (`cudart_stub.cc ... Could not find cuda drivers`, `cpu_feature_guard.cc`, the
absl pre-initialisation warning: `TF_CPP_MIN_LOG_LEVEL` does not hide these) and, on a
CPU machine with the CUDA wheels, an error line for `cuInit` that reads as a failure.
Holding file descriptor 2 while TensorFlow loads, then passing on every line that is not
one of TensorFlow's C++ log lines (a Python warning or traceback still shows), hides
them; `TF_CPP_MIN_LOG_LEVEL=3` hides the later ones (`cuInit`).

* The CLI calls `import_tensorflow()` once the config is checked. Nothing is hidden when
  `verbose` is true or when the user set `TF_CPP_MIN_LOG_LEVEL` themselves.
* `import keras_lstm_opt` from Python changes nothing: TensorFlow logs as the user set
  it. `quiet()` (`klo.quiet()`), called before TensorFlow loads, hides the start-up
  lines whenever TensorFlow is imported later (a one-shot import hook) and sets
  `TF_CPP_MIN_LOG_LEVEL=3` unless the user set it. `KERAS_LSTM_OPT_QUIET=1` in the
  environment makes `import keras_lstm_opt` call it.

Example:

    tf = import_tensorflow(verbose=False)
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

# glog/absl line prefixes ("I0000 00:00:1795985913.065669  3009 file.cc:227] ...") and the
# two lines TensorFlow prints around them without a prefix.
_NATIVE_LOG = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+\s|WARNING: All log messages before "
    r"absl::InitializeLog\(\)|To enable the following instructions:)"
)
# Set by us (and inherited by the commands we start, e.g. `data serve -- COMMAND`), not
# by the user: those commands filter too.
_OURS = "KERAS_LSTM_OPT_QUIET_TF"
_USER_LEVEL = None if os.environ.get(_OURS) else os.environ.get("TF_CPP_MIN_LOG_LEVEL")


def keep_native_logs(verbose: bool) -> bool:
    """Whether TensorFlow's native logs stay as they are (asked for, or set by the user)."""
    return verbose or _USER_LEVEL is not None


def filter_native_logs(text: str) -> str:
    """`text` without TensorFlow's C++ log lines."""
    return "".join(line for line in text.splitlines(keepends=True) if not _NATIVE_LOG.match(line))


@contextlib.contextmanager
def held_stderr() -> Iterator[None]:
    """Hold file descriptor 2 for the block, then pass on what is not a C++ log line."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error to hold
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            sys.stderr.write(filter_native_logs(held.read().decode("utf-8", "replace")))
            sys.stderr.flush()


def import_tensorflow(verbose: bool = False) -> ModuleType:
    """`import tensorflow`, quietly unless `verbose` (see the module docstring)."""
    if "tensorflow" in sys.modules or keep_native_logs(verbose):
        import tensorflow

        return tensorflow
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ[_OURS] = "1"
    with held_stderr():
        import tensorflow
    return tensorflow


class _HeldLoader(importlib.abc.Loader):
    """Runs TensorFlow's loader with standard error held (see `held_stderr`)."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            with held_stderr():
                self.inner.exec_module(module)
        finally:
            if module.__spec__ is not None and module.__spec__.loader is self:
                module.__spec__.loader = self.inner
            _remove_hook()

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self.inner, name)


class _QuietHook(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the other finders do, with its loader wrapped."""

    busy = False

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "tensorflow" or self.busy:
            return None
        self.busy = True
        try:  # the finders after this one (e.g. the registry's hook) still take part
            spec = importlib.util.find_spec(fullname)
        finally:
            self.busy = False
        if spec is not None and spec.loader is not None:
            spec.loader = _HeldLoader(spec.loader)
        return spec


_HOOK = _QuietHook()


def _remove_hook() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


def quiet() -> None:
    """Hide TensorFlow's C++ start-up log lines in this process (`klo.quiet()`).

    Call it before TensorFlow loads (before `import tensorflow` or `import keras`, and
    before anything of keras_lstm_opt that builds, trains or loads a model): the lines
    are printed while TensorFlow loads. From then on, TensorFlow's import holds standard
    error and passes on every line that is not a C++ log line, and `TF_CPP_MIN_LOG_LEVEL`
    is set to 3 (hiding the `cuInit` error line printed later on a machine without a
    GPU), unless you set `TF_CPP_MIN_LOG_LEVEL` yourself. Without calling it, the package
    leaves TensorFlow's logging as you set it. The environment variable
    `KERAS_LSTM_OPT_QUIET=1` makes `import keras_lstm_opt` call it.

    When TensorFlow is already loaded it comes too late: a warning says so and nothing
    changes.
    """
    if "tensorflow" in sys.modules:
        warnings.warn(
            "keras_lstm_opt.quiet() comes too late: TensorFlow is already loaded "
            "(its start-up lines are printed as it loads); call it before "
            "importing tensorflow or keras, or set KERAS_LSTM_OPT_QUIET=1 and "
            "import keras_lstm_opt first",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        os.environ[_OURS] = "1"
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
