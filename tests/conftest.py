"""Shared fixtures: small embedded datasets written once per session."""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# as `keras-lstm-opt profile` does: the in-process profiling tests read the allocator's peak
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from typing import TypeVar  # noqa: E402

import pytest  # noqa: E402

T = TypeVar("T")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# benchmarks/ is not in the wheel: the tests and the processes they start import it (and
# the package) from this clone, as `python benchmarks/bench.py` does for a user
if REPO not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)


# One setting for every wall-clock limit in the tests (see time_limit) and one seed for
# their randomness (see random_seed): a slow machine sets the first, a failure replays with
# the second (both are printed in pytest's header).
TIME_SCALE_ENV = "KLO_TEST_TIME_SCALE"
SEED_ENV = "KLO_TEST_SEED"
DEFAULT_SEED = 20240611


def left_in(tmp: str | os.PathLike[str]) -> list[str]:
    """What a process left in its TMPDIR `tmp`, without Python's bytecode cache of
    TensorFlow's autograph modules (`__pycache__`, written there unless
    PYTHONDONTWRITEBYTECODE is set: not the package's to remove)."""
    return sorted(p for p in os.listdir(tmp) if p != "__pycache__")


def time_limit(seconds: float) -> float:
    """How long a test may wait for something that takes at most `seconds` here:
    `seconds` times KLO_TEST_TIME_SCALE (default 1). Every deadline of the tests (a
    subprocess's timeout, `assert took < N`, a wait for a file, a line or a port) goes
    through it, so a slow or shared machine sets KLO_TEST_TIME_SCALE=3 once instead of
    editing the limits. Protocol settings handed to the code under test (a server's own
    timeout, distribute.timeout_seconds) do not: those are behaviour, not deadlines."""
    raw = os.environ.get(TIME_SCALE_ENV, "1")
    scale = float(raw)
    if not scale > 0:
        raise ValueError(f"{TIME_SCALE_ENV}={raw!r}: expected a number above 0")
    return seconds * scale


def wait_for(
    ready: Callable[[], T],
    timeout_s: float,
    what: str,
    *,
    procs: Iterable[subprocess.Popen] = (),
    detail: Callable[[], str] | None = None,
    interval: float = 0.05,
) -> T:
    """Poll `ready()` until it returns something true, and return that. Fails naming
    `what` and how long it waited after `timeout_s` seconds (pass `time_limit(N)`), or
    as soon as one of `procs` has ended; `detail()` (e.g. a log's tail) is added to the
    message."""
    procs = list(procs)
    began = time.monotonic()
    while not (value := ready()):
        waited = time.monotonic() - began
        ended = [p for p in procs if p.poll() is not None]
        if ended or waited > timeout_s:
            why = (
                f"process {ended[0].pid} ended ({ended[0].returncode}) after {waited:.1f} s"
                if ended
                else f"gave up after {waited:.1f} s (limit {timeout_s:g} s)"
            )
            pytest.fail(f"waiting for {what}: {why}" + (f"\n{detail()}" if detail else ""))
        time.sleep(interval)
    return value


def random_seed() -> int:
    """The seed of the tests' random choices (a delay, a moment to signal): KLO_TEST_SEED,
    default DEFAULT_SEED. Printed in pytest's header; rerun with it to replay a failure."""
    return int(os.environ.get(SEED_ENV, DEFAULT_SEED))


def pytest_report_header(config) -> str:  # noqa: ANN001
    return (
        f"{SEED_ENV}={random_seed()} (replay: set it), "
        f"{TIME_SCALE_ENV}={time_limit(1):g} (scales every test deadline), "
        f"heavy tier {'on' if heavy_enabled(config) else 'off (--heavy adds it)'}"
    )


# The machine's speed, printed at the end of a run with KLO_SPEED_PROBE=1 (.ci/run sets it for
# the README's test command): the CPU seconds of a fresh process that imports TensorFlow, which
# a third of the suite's CPU goes to, measured after the tests (not beside them). The same kind
# of machine has taken 3.7 to 8.6 s on different hours, so CI times compare only beside it.
SPEED_PROBE = (
    "import resource, time; began = time.perf_counter(); import tensorflow; "
    "u = resource.getrusage(resource.RUSAGE_SELF); "
    "print(f'{u.ru_utime + u.ru_stime:.2f} {time.perf_counter() - began:.2f}')"
)


def _speed_probe_line(config) -> str | None:  # noqa: ANN001
    import sys

    if os.environ.get("KLO_SPEED_PROBE", "") in ("", "0") or hasattr(config, "workerinput"):
        return None
    try:
        out = subprocess.run(
            [sys.executable, "-c", SPEED_PROBE],
            capture_output=True,
            text=True,
            timeout=time_limit(120),
        ).stdout
        cpu, wall = out.split()[-2:]
    except (subprocess.TimeoutExpired, ValueError):
        return "speed probe: `import tensorflow` did not finish in time or print its figures"
    return (
        f"speed probe (after the tests): `import tensorflow` in a fresh process took {cpu} "
        f"CPU-s ({wall} s wall); CI times compare only beside it (docs/testing.md)"
    )


def console_script() -> str:
    """The installed `keras-lstm-opt` entry point (the venv's, even if not on PATH)."""
    import shutil
    import sys

    return shutil.which("keras-lstm-opt") or os.path.join(
        os.path.dirname(sys.executable), "keras-lstm-opt"
    )


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Embedded datasets generated by tests go to a temporary cache, not ~/.cache."""
    os.environ["KERAS_LSTM_OPT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    # FastLSTM's compiled kernels (about 40 s to build): one build for every pytest-xdist
    # worker of this run, in the run's own temporary directory (a build that another
    # worker does at the same time is harmless: each renames its library into place)
    base = tmp_path_factory.getbasetemp()
    run_dir = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    os.environ["KERAS_LSTM_OPT_KERNELS"] = str(run_dir / "klo-kernels")


@pytest.fixture
def saved_backups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The steps of every backup the real `Backup.save` writes in this test."""
    from keras_lstm_opt.training.backup import Backup

    steps: list[int] = []
    real_save = Backup.save

    def recording_save(self, step):  # noqa: ANN001, ANN202
        steps.append(step)
        real_save(self, step)

    monkeypatch.setattr(Backup, "save", recording_save)
    return steps


@pytest.fixture(scope="session")
def text_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    from keras_lstm_opt.data.embedded import write_embedded

    return write_embedded("text", str(tmp_path_factory.mktemp("text")), 1000, seed=7)


@pytest.fixture(scope="session")
def forecast_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    from keras_lstm_opt.data.embedded import write_embedded

    return write_embedded("forecast", str(tmp_path_factory.mktemp("forecast")), 600, seed=7)


# A run small enough to build in a test module's fixture: keras.layers.LSTM (no fused-kernel
# build in a fresh test session), 8 units, one epoch, deterministic data.
TINY_RUN = [
    "model.lstm=keras",
    "model.units=8",
    "train.epochs=1",
    "train.batch_size=32",
    "train.verbose=silent",
    "data.deterministic=true",
    "data.cache=none",
    "train.early_stopping_patience=0",
]


# The faults suite's tally (tests/integration/test_faults.py, test_backup.py): printed at the end.
FAULTS: dict = {
    "bad_inputs": 0,
    "clear_errors": 0,
    "kills": 0,
    "resumed": 0,
    "data_lost": 0,
    "steps_lost": [],
    "fault_to_exit_seconds": {},
    "figures": [],  # lines a test measured (not asserted), printed at the end of the run
}


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    _seconds_per_file(terminalreporter)
    if probe := _speed_probe_line(terminalreporter.config):
        terminalreporter.write_line(probe)
    f = FAULTS
    for line in f["figures"]:
        terminalreporter.write_line(line)
    if not (f["bad_inputs"] or f["kills"]):
        return
    lost = f["steps_lost"]
    times = ", ".join(f"{k} {max(v):.1f} s" for k, v in f["fault_to_exit_seconds"].items())
    terminalreporter.write_line(
        f"faults: {f['bad_inputs']} bad inputs tried, {f['clear_errors']} ended with a clear "
        f"error or a rollback; {f['kills']} kills/signals injected, {f['resumed']} resumed; "
        f"steps lost per kill {sum(lost) / len(lost) if lost else 0:.2f}; "
        f"data lost: {f['data_lost']}; slowest fault-to-exit: {times or 'n/a'}"
    )


def _seconds_per_file(terminalreporter) -> None:  # noqa: ANN001
    """The slowest test files' seconds (setup, call and teardown summed): the CI budget
    by file, as the run measured it."""
    per_file: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            nodeid, duration = getattr(report, "nodeid", ""), getattr(report, "duration", 0.0)
            if nodeid and isinstance(duration, (int, float)):
                name = nodeid.split("::", 1)[0]
                per_file[name] = per_file.get(name, 0.0) + float(duration)
    if len(per_file) > 1:
        slowest = sorted(per_file.items(), key=lambda kv: -kv[1])[:12]
        terminalreporter.write_line(
            "seconds per test file (slowest 12): "
            + ", ".join(f"{name.rsplit('/', 1)[-1]} {sec:.0f}" for name, sec in slowest)
        )


# The longest files first (seconds per file, Dec 7, 2026, AMD EPYC without AVX-512: 397
# down to 108): CI runs the tests in pytest-xdist workers, a file's tests together, and a
# long file started last would leave the other workers idle at the end. pytest-xdist 3.7+
# orders files by their number of tests instead unless told not to (pytest_configure).
LONG_FIRST = (
    "test_image.py",
    "test_readme.py",
    "test_slurm.py",
    "test_distributed.py",
    "test_bench.py",
    "test_acceptance.py",
    "test_tracking.py",
    "test_network_bench.py",
    "test_fresh_process.py",
    "test_real_text.py",
    "test_cluster_restart.py",
    "test_tuning.py",
    "test_run_lock.py",
    "test_trainer_first_calls.py",
    "test_storage.py",
)


def pytest_configure(config) -> None:  # noqa: ANN001
    """Keep the collection's order (LONG_FIRST) under `--dist loadfile`: pytest-xdist's
    default `--loadscope-reorder` sorts files by their number of tests (kept when given)."""
    given = "--loadscope-reorder" in config.invocation_params.args
    if hasattr(config.option, "loadscopereorder") and not given:
        config.option.loadscopereorder = False


# The heavy tier: tests that cost half a minute to minutes of CPU each (marked `heavy`). The
# README's test command, and so CI, leaves them out to keep within its 30 minutes; `--heavy`
# (or KLO_HEAVY=1) adds them, and a stop that touches what they cover runs them
# (docs/testing.md).
HEAVY_ENV = "KLO_HEAVY"
HEAVY_SKIP = "heavy tier (a build or a benchmark): run with --heavy or KLO_HEAVY=1"


def pytest_addoption(parser) -> None:  # noqa: ANN001
    parser.addoption(
        "--heavy",
        action="store_true",
        help="also run the tests marked heavy (builds, benchmarks; docs/testing.md)",
    )


def heavy_enabled(config) -> bool:  # noqa: ANN001
    """Whether this run includes the heavy tier: `--heavy` or KLO_HEAVY=1 (true, yes, on; 0,
    false, no, off or unset leave it out; anything else stops the run, naming the value)."""
    raw = os.environ.get(HEAVY_ENV, "")
    value = raw.strip().lower()
    if value not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
        raise pytest.UsageError(f"{HEAVY_ENV}={raw!r}: expected 1 or 0 (or true/false, yes/no)")
    return bool(config.getoption("--heavy")) or value in ("1", "true", "yes", "on")


def pytest_collection_modifyitems(session, config, items) -> None:  # noqa: ANN001
    def rank(item) -> int:  # noqa: ANN001
        name = item.path.name
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)  # stable: each file's own order is kept
    if not heavy_enabled(config):
        for item in items:
            if item.get_closest_marker("heavy"):
                item.add_marker(pytest.mark.skip(reason=HEAVY_SKIP))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001
    session.config._klo_exitstatus = int(exitstatus)
    if hasattr(session.config, "workeroutput"):  # a pytest-xdist worker: the tally goes up
        session.config.workeroutput["klo_faults"] = json.dumps(FAULTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ANN001
    """pytest-xdist's controller: add each worker's faults tally to the printed one."""
    theirs = json.loads(getattr(node, "workeroutput", {}).get("klo_faults", "{}"))
    for key, value in theirs.items():
        if isinstance(value, dict):
            for name, times in value.items():
                FAULTS[key].setdefault(name, []).extend(times)
        else:
            FAULTS[key] += value


def pytest_unconfigure(config) -> None:  # noqa: ANN001
    """TensorFlow 2.16 aborts at interpreter exit (status 134) after tensorflow-io's S3
    file system was used in this process; everything is reported by now, so leave with
    pytest's own status (the CLI does the same, see keras_lstm_opt/cli/app.py)."""
    import sys

    storage = sys.modules.get("keras_lstm_opt.io.storage")
    if storage is not None and storage.used_remote():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(getattr(config, "_klo_exitstatus", 0))


# In CI (.ci/run sets KLO_CI=1) a test that skips because something .ci/run installs is
# missing fails instead, naming it: Ceph, Slurm, Redis, buildah, g++, R, or a Debian package
# of the corpus suite that .ci/run installs (the large ones it leaves out, CLDR and the dict-*
# dictionaries, may skip).
CI_TOOLS = re.compile(
    r"needs Ceph|needs Slurm|redis-server|buildah|debootstrap|C\+\+ compiler|needs WordNet",
    re.IGNORECASE,
)
APT_LINE = re.compile(r"apt-get install (?:--reinstall )?([a-z0-9][a-z0-9.+ -]*[a-z0-9])")


def ci_packages() -> set[str]:
    """The Debian packages .ci/run installs (its `PATH_OR_COMMAND:PACKAGE` list)."""
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as fh:
        return set(re.findall(r"\S+:([a-z0-9][a-z0-9.+-]*)(?=[\s;]|$)", fh.read()))


def ci_needs(reason: str) -> bool:
    """Whether a skip `reason` names something .ci/run provides (then CI fails on it)."""
    if CI_TOOLS.search(reason):
        return True
    wanted = {p for m in APT_LINE.finditer(reason) for p in m[1].split()}
    return bool(wanted) and wanted <= ci_packages()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201
    outcome = yield
    rep = outcome.get_result()
    if not (os.environ.get("KLO_CI") and rep.skipped) or hasattr(rep, "wasxfail"):
        return
    if item.get_closest_marker("heavy") and not heavy_enabled(item.config):
        return  # not to run here anyway: a missing tool (a skipif before the tier's skip) is moot
    reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
    if ci_needs(reason):
        rep.outcome = "failed"
        rep.longrepr = f"CI: this test skipped, but .ci/run must provide what it needs: {reason}"
