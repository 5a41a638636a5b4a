"""tools/test_cpu.py, the per-test CPU plugin: what its summary says of its records."""

from __future__ import annotations

from tools.test_cpu import summary


def test_summary_ranks_files_and_tests_by_cpu_and_totals_them():
    records = [
        {"test": "tests/a.py::t1", "file": "a.py", "cpu": 10.0, "wall": 5.0},
        {"test": "tests/a.py::t2", "file": "a.py", "cpu": 30.0, "wall": 9.0},
        {"test": "tests/b.py::t1", "file": "b.py", "cpu": 35.0, "wall": 20.0},
        {"test": "tests/c.py::t1", "file": "c.py", "cpu": 1.5, "wall": 1.0},
    ]
    files, tests = summary(records, shown=2)
    assert files == "CPU seconds by test file (all tests 76 CPU-s): a.py 40, b.py 35"
    assert tests == "CPU seconds of the costliest tests: tests/b.py::t1 35, tests/a.py::t2 30"
