"""One contender of a side-by-side benchmark in a process of its own.

The child runs `python -m MODULE ARGS...` and prints its result as one line,
`RESULT <json>`, last; `run_contender` returns that object. A tutorial-style contender
gets TensorFlow's own settings, as its user would: the CPU allocator that keras-lstm-opt
chooses for its own training (`resources.configure_threads`) is taken out of its
environment.

Example:

    result = run_contender("keras_lstm_opt.bench.tta", ["tutorial", "out/", "3"],
                           tutorial=True)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

PREFIX = "RESULT "


def run_contender(module: str, args: list[str], tutorial: bool = False) -> dict[str, Any]:
    """Run `python -m module *args` and return the object of its last RESULT line.

    Args:
        module: the child's module (its `main` prints `RESULT <json>`).
        args: its arguments; the first names the contender in an error.
        tutorial: run with TensorFlow's default CPU allocator.

    Raises:
        RuntimeError: the child failed or printed no result (its stderr's tail quoted).
    """
    from keras_lstm_opt.resources import ALLOCATOR_ENV

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if tutorial:
        env.pop(ALLOCATOR_ENV, None)
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                         text=True, env=env)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(PREFIX)]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{module.rsplit('.', 1)[-1]} {args[0] if args else ''} failed "
                           f"(exit {out.returncode}):\n{out.stderr[-3000:]}")
    return dict(json.loads(lines[-1][len(PREFIX):]))


def print_result(result: Any) -> None:
    """The child's last line: its result for `run_contender`."""
    print(PREFIX + json.dumps(result), flush=True)
