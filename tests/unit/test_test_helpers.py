"""The tests' own helpers (tests/conftest.py): one scale for every deadline, waits that
fail naming what they waited for, one seed."""

from __future__ import annotations

import itertools
import re

import pytest

from ..conftest import random_seed, time_limit, wait_for


def test_time_limit_scales_by_one_setting(monkeypatch):
    monkeypatch.delenv("KLO_TEST_TIME_SCALE", raising=False)
    assert time_limit(30) == 30
    monkeypatch.setenv("KLO_TEST_TIME_SCALE", "2.5")
    assert time_limit(30) == 75
    monkeypatch.setenv("KLO_TEST_TIME_SCALE", "0")
    with pytest.raises(ValueError, match="KLO_TEST_TIME_SCALE='0': expected a number above 0"):
        time_limit(30)


def test_wait_for_returns_the_value_once_ready_and_fails_naming_what_it_waited_for():
    calls = itertools.count()
    assert wait_for(lambda: next(calls) >= 3 and "ready", 5, "the third call", interval=0) == (
        "ready"
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        wait_for(lambda: False, 0.05, "a port", interval=0.01, detail=lambda: "the log")
    assert re.fullmatch(
        r"waiting for a port: gave up after 0\.\d s \(limit 0\.05 s\)\nthe log", str(failed.value)
    )


def test_random_seed_comes_from_one_setting(monkeypatch):
    monkeypatch.setenv("KLO_TEST_SEED", "42")
    assert random_seed() == 42
    monkeypatch.delenv("KLO_TEST_SEED")
    assert random_seed() == 20240611


def test_ci_fails_a_skip_only_for_what_ci_run_installs():
    from ..conftest import ci_needs, ci_packages

    assert {"redis-server", "buildah", "fortunes-ru", "wordnet-base"} <= ci_packages()
    assert ci_needs("needs Ceph (radosgw not found): apt-get install ceph-mon ceph-osd radosgw")
    assert ci_needs("Debian package 'fortunes-ru' is not installed; install it with: "
                    "apt-get install fortunes-ru")  # fmt: skip
    assert ci_needs("needs a C++ compiler (g++) for the fused kernels")
    # what .ci/run leaves out on purpose (hundreds of MB) may skip there, as may a machine fact
    assert not ci_needs("unicode-cldr-core: not installed here (apt-get install unicode-cldr-core)")
    assert not ci_needs("dict-gcide: not installed here (apt-get install dict-gcide)")
    assert not ci_needs("needs 2 CPUs")
    # R (the forecasting suite's series from its datasets package)
    assert ci_needs("28 series of the suite come with R: apt-get install r-base-core")


class _Config:
    def __init__(self, heavy: bool) -> None:
        self.heavy = heavy

    def getoption(self, name: str) -> bool:
        assert name == "--heavy"
        return self.heavy


class _Item:
    def __init__(self, heavy: bool, config: _Config) -> None:
        self.heavy, self.config = heavy, config

    def get_closest_marker(self, name: str) -> object:
        return object() if name == "heavy" and self.heavy else None


class _Report:
    def __init__(self, reason: str) -> None:
        self.skipped, self.outcome = True, "skipped"
        self.longrepr = ("test_x.py", 1, f"Skipped: {reason}")


def _report(item: _Item, reason: str) -> _Report:
    """What the KLO_CI hook makes of a skip: drive the hook wrapper as pluggy does."""
    from ..conftest import pytest_runtest_makereport

    rep = _Report(reason)
    hook = pytest_runtest_makereport(item, None)
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(type("Outcome", (), {"get_result": lambda self: rep})())
    return rep


def test_the_heavy_tier_is_on_by_the_flag_or_the_setting(monkeypatch):
    from ..conftest import heavy_enabled

    monkeypatch.delenv("KLO_HEAVY", raising=False)
    assert not heavy_enabled(_Config(False)) and heavy_enabled(_Config(True))
    for value, on in (("1", True), ("True", True), ("yes", True), ("0", False), ("off", False)):
        monkeypatch.setenv("KLO_HEAVY", value)
        assert heavy_enabled(_Config(False)) is on, value
    monkeypatch.setenv("KLO_HEAVY", "heavy")  # not a yes or a no: the run stops, naming it
    with pytest.raises(pytest.UsageError, match=r"KLO_HEAVY=.heavy.: expected 1 or 0"):
        heavy_enabled(_Config(False))


def test_in_ci_a_missing_tool_fails_a_test_but_not_a_heavy_one_left_out(monkeypatch):
    monkeypatch.setenv("KLO_CI", "1")
    monkeypatch.delenv("KLO_HEAVY", raising=False)
    reason = "needs Slurm (slurmctld not found)"
    assert _report(_Item(False, _Config(False)), reason).outcome == "failed"
    assert _report(_Item(True, _Config(False)), reason).outcome == "skipped"  # tier off
    assert _report(_Item(True, _Config(True)), reason).outcome == "failed"  # tier on
    assert _report(_Item(False, _Config(False)), "needs 2 CPUs").outcome == "skipped"
    monkeypatch.delenv("KLO_CI")
    assert _report(_Item(False, _Config(False)), reason).outcome == "skipped"  # not CI
