"""A benchmark's child processes: one contender of a side-by-side comparison in a process
of its own (`run_contender`), or one stage whose peak RSS and time are measured (`measure`).

The child runs `python -m MODULE ARGS...` and prints its result as one line,
`RESULT <json>`, last; `run_contender` returns that object. A tutorial-style contender
gets TensorFlow's own settings, as its user would: the CPU allocator that keras-lstm-opt
chooses for its own training (`resources.configure_threads`) is taken out of its
environment.

Example:

    result = run_contender("benchmarks.tta", ["tutorial", "out/", "3"],
                           tutorial=True)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

PREFIX = "RESULT "


def run_contender(
    module: str, args: list[str], tutorial: bool = False, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run `python -m module *args` and return the object of its last RESULT line.

    Args:
        module: the child's module (its `main` prints `RESULT <json>`).
        args: its arguments; the first names the contender in an error.
        tutorial: run with TensorFlow's default CPU allocator.
        env: variables added to the child's environment.

    Raises:
        RuntimeError: the child failed or printed no result (its stderr's tail quoted).
    """
    from keras_lstm_opt.resources import ALLOCATOR_ENV

    child = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if tutorial:
        child.pop(ALLOCATOR_ENV, None)
    out = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, env=child
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith(PREFIX)]
    if out.returncode != 0 or not lines:
        raise RuntimeError(
            f"{module.rsplit('.', 1)[-1]} {args[0] if args else ''} failed "
            f"(exit {out.returncode}):\n{out.stderr[-3000:]}"
        )
    return dict(json.loads(lines[-1][len(PREFIX) :]))


def print_result(result: Any) -> None:
    """The child's last line: its result for `run_contender`."""
    print(PREFIX + json.dumps(result), flush=True)


def measure(args: list[str], log_path: str | None = None) -> tuple[int, float]:
    """Run `python ARGS` (output to `log_path`, else this process's); return its peak
    RSS in bytes (Linux: ru_maxrss is KiB) and seconds."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    start = time.monotonic()
    log = open(log_path, "w", encoding="utf-8") if log_path else None
    try:
        proc = subprocess.Popen(
            [sys.executable, *args], env=env, stdout=log, stderr=subprocess.STDOUT if log else None
        )
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if log:
            log.close()
    seconds = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = ""
        if log_path:
            with open(log_path, encoding="utf-8") as fh:
                tail = "\n" + fh.read()[-3000:]
        raise RuntimeError(f"{' '.join(args[:4])}: exited with {code}{tail}")
    return int(usage.ru_maxrss) * 1024, seconds
