"""What the wheel holds: the package and its data, no benchmark (issue 31).

benchmarks/ (torch, redis, fastText, the corpus builders) stays in the repository, as
Keras keeps its benchmarks/: a built wheel lists no file of it. Built from a copy of the
tracked files, so the working tree's build/ and egg-info are not involved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ..conftest import REPO, time_limit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    src = tmp_path_factory.mktemp("src")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        path = Path(REPO) / name
        if path.is_file() and not path.is_symlink():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=time_limit(300),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = out.glob("keras_lstm_opt-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_the_wheel_holds_no_benchmark_module(wheel_files: list[str]) -> None:
    bench = [f for f in wheel_files if f.startswith(("benchmarks/", "keras_lstm_opt/bench/"))]
    assert not bench, f"benchmark files in the wheel: {bench[:10]}"
    top = {f.split("/")[0] for f in wheel_files}
    assert top <= {"keras_lstm_opt"} | {f for f in top if f.endswith(".dist-info")}, top


def test_the_wheel_holds_the_package_its_configs_and_kernel_sources(wheel_files: list[str]) -> None:
    assert "keras_lstm_opt/io/atomic.py" in wheel_files
    assert "keras_lstm_opt/cli/app.py" in wheel_files
    assert "keras_lstm_opt/configs/default.yaml" in wheel_files
    from keras_lstm_opt.models.kernels import HEADERS, SOURCES

    for path in (*SOURCES, *HEADERS):  # everything the kernels' build reads
        assert f"keras_lstm_opt/models/kernels/{os.path.basename(path)}" in wheel_files
