"""Every test's CPU seconds: what the suite spends where, to decide what CI can afford.

A pytest plugin (docs/testing.md, "CI time"). For each test it records the CPU seconds of
the process that runs it and of the child processes it waited for (`resource.getrusage`
before and after the test's setup, call and teardown); a process that a test leaves
running, or that a daemon such as slurmd starts, is not counted. At the end it prints the
costliest tests and files. With pytest-xdist each worker appends JSON lines to one file,
which the controller reads.

Example:

    python -m pytest -p tools.test_cpu -n 3 --dist loadfile tests/integration
    # ... CPU seconds by test file (all tests 1,234 CPU-s): test_readme.py 301, ...

Set KLO_TEST_CPU_FILE to keep the JSON lines ({"test", "file", "cpu", "wall"}) somewhere
(each run starts that file afresh).
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

FILE_ENV = "KLO_TEST_CPU_FILE"
SHOWN = 15


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    if os.environ.get(FILE_ENV):  # a file named by the user: this run's tests only
        open(os.environ[FILE_ENV], "w", encoding="utf-8").close()
    else:
        fd, path = tempfile.mkstemp(prefix="klo-test-cpu-", suffix=".jsonl")
        os.close(fd)
        os.environ[FILE_ENV] = path  # the workers, started after this, inherit it


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    cpu, wall = _cpu(), time.monotonic()
    yield
    record = {
        "test": item.nodeid,
        "file": item.path.name,
        "cpu": round(_cpu() - cpu, 2),
        "wall": round(time.monotonic() - wall, 2),
    }
    with open(os.environ[FILE_ENV], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def summary(records: list[dict[str, Any]], shown: int = SHOWN) -> list[str]:
    """The lines printed at the end: the costliest files, then the costliest tests."""
    by_file: dict[str, float] = defaultdict(float)
    for r in records:
        by_file[r["file"]] += r["cpu"]
    total = sum(by_file.values())
    files = sorted(by_file.items(), key=lambda kv: -kv[1])[:shown]
    tests = sorted(records, key=lambda r: -r["cpu"])[:shown]
    return [
        f"CPU seconds by test file (all tests {total:,.0f} CPU-s): "
        + ", ".join(f"{name} {cpu:,.0f}" for name, cpu in files),
        "CPU seconds of the costliest tests: "
        + ", ".join(f"{r['test']} {r['cpu']:,.0f}" for r in tests),
    ]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if hasattr(terminalreporter.config, "workerinput"):
        return
    path = os.environ.get(FILE_ENV, "")
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    for line in summary(records):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(every test's figures: {path})")
