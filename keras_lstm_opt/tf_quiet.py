"""Import TensorFlow without its C++ start-up log lines.

TensorFlow's native code logs to the process's standard error before its own log level
is read (`cudart_stub.cc ... Could not find cuda drivers`, `cpu_feature_guard.cc`, the
absl pre-initialisation warning) and, on a CPU machine with the CUDA wheels, an error
line for `cuInit` that reads as a failure. `import_tensorflow()` sets
`TF_CPP_MIN_LOG_LEVEL=3` and holds file descriptor 2 while TensorFlow loads, then
passes on every line that is not one of TensorFlow's C++ log lines (a Python warning
or traceback still shows). Nothing is hidden when `verbose` is true or when the user
set `TF_CPP_MIN_LOG_LEVEL` themselves.

Example:

    tf = import_tensorflow(verbose=False)
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from types import ModuleType

# glog/absl line prefixes ("I0000 00:00:1795985913.065669  3009 file.cc:227] ...") and the
# two lines TensorFlow prints around them without a prefix.
_NATIVE_LOG = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+\s|WARNING: All log messages before "
                         r"absl::InitializeLog\(\)|To enable the following instructions:)")
# Set by us (and inherited by the commands we start, e.g. `data serve -- COMMAND`), not
# by the user: those commands filter too.
_OURS = "KERAS_LSTM_OPT_QUIET_TF"
_USER_LEVEL = None if os.environ.get(_OURS) else os.environ.get("TF_CPP_MIN_LOG_LEVEL")


def keep_native_logs(verbose: bool) -> bool:
    """Whether TensorFlow's native logs stay as they are (asked for, or set by the user)."""
    return verbose or _USER_LEVEL is not None


def filter_native_logs(text: str) -> str:
    """`text` without TensorFlow's C++ log lines."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if not _NATIVE_LOG.match(line))


def import_tensorflow(verbose: bool = False) -> ModuleType:
    """`import tensorflow`, quietly unless `verbose` (see the module docstring)."""
    if "tensorflow" in sys.modules or keep_native_logs(verbose):
        import tensorflow

        return tensorflow
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ[_OURS] = "1"
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            sys.stderr.write(filter_native_logs(held.read().decode("utf-8", "replace")))
            sys.stderr.flush()
    return tensorflow
