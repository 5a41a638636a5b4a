"""The keyword arguments `Trainer` and `Trainer.fit` no longer take, and where they went.

The options of before `options=` (now `LoopOptions` fields) and `fit`'s artifact
arguments (now `RunArtifacts` fields) are refused with one `UsageError` that names the
new place, so that old calls fail with the fix in the message rather than a TypeError.

Example:

    _refuse_moved("Trainer", {"seed": 0}, LOOP_FIELDS, "options=klo.LoopOptions")
    # UsageError: Trainer: seed: pass options=klo.LoopOptions(seed=...)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.training.artifacts import RunArtifacts
from keras_lstm_opt.training.options import LoopOptions

LOOP_FIELDS = frozenset(f.name for f in dataclasses.fields(LoopOptions))
ARTIFACT_FIELDS = frozenset(f.name for f in dataclasses.fields(RunArtifacts))


def _refuse_moved(where: str, moved: dict[str, Any], known: frozenset[str], into: str) -> None:
    """One UsageError for keyword arguments `where` does not take, saying where the old
    ones went (e.g. `seed=` into `options=klo.LoopOptions(seed=...)`)."""
    old = sorted(k for k in moved if k in known)
    other = sorted(k for k in moved if k not in known)
    parts = []
    if old:
        args = ", ".join(f"{k}=..." for k in old)
        parts.append(f"{', '.join(old)}: pass {into}({args})")
    if other:
        parts.append(f"unknown argument(s) {', '.join(other)}")
    raise UsageError(f"{where}: " + "; ".join(parts))
