"""The first calls a user makes, made safe (issue 29, items 4 and 6), each in a fresh
process as the user starts it (`TF_CPP_MIN_LOG_LEVEL` unset; conftest sets it):

* `data import` of a label column with one class: exit status 2 and one line naming the
  class; a class with 3 rows against 100: imported, with warnings naming both;
* a missing extra or Debian package: one line saying what to install, no traceback (the
  package is made missing for real: a meta path finder in the child refuses to import
  it; `dpkg` is made missing by an empty PATH);
* `import keras_lstm_opt` leaves TensorFlow's logging as it is; `klo.quiet()` (or
  `KERAS_LSTM_OPT_QUIET=1`) before TensorFlow loads hides its C++ start-up lines.
"""

from __future__ import annotations

import csv
import os
import random
import re
import subprocess
import sys
from pathlib import Path

from ..conftest import REPO, console_script, time_limit

NATIVE_LOG = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+\s|WARNING: All log messages before "
    r"absl|To enable the following instructions|.*cuInit)",
    re.M,
)
WORDS = "the a cat dog sat on mat ran fast slow red blue green tree house car".split()
# Run first in a child: a package named here cannot be imported, as if not installed.
BLOCK = """\
import importlib.abc, sys
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _NotInstalled())
"""


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_LSTM_OPT_QUIET", "KERAS_LSTM_OPT_QUIET_TF")
    }
    return {**env, "PYTHONPATH": REPO, **extra}


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=time_limit(300), env=_env(**env)
    )


def _python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-c", code], cwd, **env)


def _csv(path: Path, counts: dict[str, int]) -> Path:
    rng = random.Random(0)
    rows = [
        (" ".join(rng.choices(WORDS, k=6)), label) for label, n in counts.items() for _ in range(n)
    ]
    rng.shuffle(rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([("text", "label"), *rows])
    return path


def _import(src: Path, out: str) -> subprocess.CompletedProcess[str]:
    return _run(
        [
            console_script(),
            "data",
            "import",
            src.name,
            "--out",
            out,
            "--text",
            "text",
            "--label",
            "label",
        ],
        src.parent,
    )


def test_a_label_column_with_one_class_is_refused_in_one_line(tmp_path: Path) -> None:
    proc = _import(_csv(tmp_path / "one.csv", {"pos": 50}), "one")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "one.csv" in lines[0] and "'label'" in lines[0] and "'pos'" in lines[0], lines
    assert not (tmp_path / "one").exists()


def test_an_imbalanced_label_column_imports_with_warnings_naming_the_classes(
    tmp_path: Path,
) -> None:
    proc = _import(_csv(tmp_path / "imb.csv", {"big": 100, "tiny": 3}), "imb")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    few = [line for line in proc.stderr.splitlines() if "fewer than 5 training rows" in line]
    imbalanced = [line for line in proc.stderr.splitlines() if "imbalanced" in line]
    assert len(few) == 1 and "'tiny'" in few[0] and "'big'" not in few[0], proc.stderr
    assert len(imbalanced) == 1, proc.stderr
    assert "'big'" in imbalanced[0] and "'tiny'" in imbalanced[0], imbalanced
    assert (tmp_path / "imb" / "schema.json").exists()


def _one_line_error(proc: subprocess.CompletedProcess[str], *wanted: str) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    for text in wanted:
        assert text in lines[0], lines[0]
    return lines[0]


def test_the_co2_walk_through_without_statsmodels_says_which_extra(tmp_path: Path) -> None:
    code = BLOCK.format(blocked={"statsmodels"}) + (
        "import runpy; sys.argv = ['corpora', 'co2', '--out', 'co2.csv']\n"
        "runpy.run_module('benchmarks.corpora', run_name='__main__')"
    )
    proc = _python(code, tmp_path)
    assert proc.returncode == 2
    _one_line_error(proc, "statsmodels", "pip install 'keras-lstm-opt[examples]'")
    assert not (tmp_path / "co2.csv").exists()


def test_a_corpus_whose_debian_package_is_missing_says_what_to_apt_get(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()  # PATH without dpkg: as on a machine without the package
    proc = _run(
        [sys.executable, "-m", "benchmarks.corpora", "fortunes", "--out", "f.csv"],
        tmp_path,
        PATH=str(tmp_path / "bin"),
    )
    assert proc.returncode == 2  # a missing package, Debian's as a pip extra's
    _one_line_error(proc, "apt-get install fortunes")
    if not os.path.exists("/usr/share/wordnet/data.noun"):  # the README's first step, as is
        proc = _run(
            [sys.executable, "-m", "benchmarks.corpora", "wordnet", "--out", "w.csv"],
            tmp_path,
        )
        assert proc.returncode == 2
        _one_line_error(proc, "apt-get install wordnet-base")


def test_parquet_input_without_pyarrow_says_which_extra(tmp_path: Path) -> None:
    (tmp_path / "data.parquet").write_bytes(b"PAR1")
    code = BLOCK.format(blocked={"pyarrow"}) + (
        "from keras_lstm_opt.cli.app import main\n"
        "sys.exit(main(['data', 'import', 'data.parquet', '--out', 'd', '--text', 'text', "
        "'--label', 'label']))"
    )
    proc = _python(code, tmp_path)
    assert proc.returncode == 2
    _one_line_error(proc, "data.parquet", "pyarrow", "pip install 'keras-lstm-opt[parquet]'")


def _native(stderr: str) -> list[str]:
    """TensorFlow's C++ log lines, without their time stamps and thread ids."""
    return [
        re.sub(r"^([IWEF])\d{4} [\d:.]+\s+\d+ ", r"\1 ", line)
        for line in stderr.splitlines()
        if NATIVE_LOG.match(line)
    ]


def test_importing_the_package_leaves_tensorflow_logging_as_the_user_set_it(tmp_path: Path) -> None:
    show = "import os; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    ours, plain = (
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
        )
        for code in (f"import keras_lstm_opt, tensorflow; {show}", f"import tensorflow; {show}")
    )
    (ours_out, ours_err), (plain_out, plain_err) = ours.communicate(300), plain.communicate(300)
    assert ours.returncode == 0 and plain.returncode == 0, ours_err[-3000:]
    assert ours_out.split() == plain_out.split() == ["None"]
    assert _native(ours_err) == _native(plain_err), (ours_err, plain_err)
    level = _python(
        f"import keras_lstm_opt as klo; klo.quiet(); {show}", tmp_path, TF_CPP_MIN_LOG_LEVEL="0"
    )
    assert level.stdout.split() == ["0"], level.stderr  # a level the user set is kept


def test_quiet_before_tensorflow_loads_hides_its_start_up_lines(tmp_path: Path) -> None:
    code = (
        "import sys, keras_lstm_opt as klo; klo.quiet()\n"
        "import tensorflow as tf; print(int(tf.constant(1) + 1))\n"
        "print('a line of ours', file=sys.stderr)\n"
        "klo.quiet()  # TensorFlow is loaded now: too late, says a warning\n"
    )
    proc = _python(code, tmp_path)
    assert proc.returncode == 0 and proc.stdout.split() == ["2"], proc.stderr[-3000:]
    assert not _native(proc.stderr), proc.stderr
    assert "a line of ours" in proc.stderr and "comes too late" in proc.stderr
    assert "Traceback" not in proc.stderr

    env_var = _python(
        "import keras_lstm_opt, keras\n"  # Keras loads TensorFlow
        "print(keras.saving.get_registered_object('keras_lstm_opt>FastLSTM'))",
        tmp_path,
        KERAS_LSTM_OPT_QUIET="1",
    )
    assert env_var.returncode == 0 and "FastLSTM" in env_var.stdout, env_var.stderr[-3000:]
    assert not _native(env_var.stderr), env_var.stderr
