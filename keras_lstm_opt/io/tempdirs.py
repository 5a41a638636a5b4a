"""Temporary directories that name their process, and a sweep for those of dead ones.

A run killed by SIGKILL cannot remove its staging and backup copies (they may hold full
weights). Each directory is named `klo-KIND-PID-...`; `sweep` removes those whose
process is gone and that have not changed for `min_age` seconds.

Example:

    stage = make("stage")          # /tmp/klo-stage-12345-abcd1234
    sweep()                        # at the next start: leftovers of killed runs go
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import tempfile
import time

log = logging.getLogger("keras_lstm_opt")
_NAME = re.compile(r"klo-[a-z]+-(\d+)-")


def make(kind: str) -> str:
    """A new temporary directory `klo-KIND-PID-XXXX` under the system's temp dir."""
    return tempfile.mkdtemp(prefix=f"klo-{kind}-{os.getpid()}-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep(min_age: float = 600.0) -> int:
    """Remove `klo-*-PID-*` directories of processes that are gone; return how many."""
    removed = 0
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "klo-*-*-*")):
        m = _NAME.match(os.path.basename(path))
        try:
            if not m or _alive(int(m.group(1))) or time.time() - os.path.getmtime(path) < min_age:
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    if removed:
        log.info("removed %d temporary director(ies) left by killed runs", removed)
    return removed
