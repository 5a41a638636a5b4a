"""The unit tier: no subprocess, no network, no kernel build beyond the cached one.

`python -m pytest tests/unit` is the inner loop (under 5 minutes on 2 cores). A test
here that starts a process fails, naming what it started: such a test belongs in
tests/integration/. The exceptions are the compiler that builds FastLSTM's fused
kernels, once per machine, when no cached build exists yet, and the system probes that
libraries run on import (`uname` for Python's platform module, `ldconfig` for ctypes).
"""

from __future__ import annotations

import os
import subprocess

import pytest

ALLOWED = ("g++", "c++", "gcc", "cc", "clang", "ld", "uname", "ldconfig")


@pytest.fixture(autouse=True)
def _no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    real = subprocess.Popen.__init__

    def guarded(self, args, *a, **kw):  # noqa: ANN001, ANN002, ANN003
        argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        program = os.path.basename(str(argv[0])) if argv else ""
        if not program.startswith(ALLOWED):
            raise AssertionError(
                f"the unit tier starts no process (this one started {argv[:3]}): "
                "move the test to tests/integration/"
            )
        real(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
