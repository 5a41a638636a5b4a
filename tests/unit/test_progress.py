"""keras_lstm_opt.progress: the lines a long step writes when not on a terminal, on a
clock the test moves."""

from __future__ import annotations

import logging

import pytest

from keras_lstm_opt.progress import Progress, amount, clock


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_a_line_per_interval_with_share_rate_and_eta(caplog, monkeypatch) -> None:
    monkeypatch.delenv("KLO_PROGRESS_SECONDS", raising=False)
    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    now = Clock()
    p = Progress("import: pass 1/2", total=100e6, unit="bytes", terminal=False, now=now)
    now.t += 5
    p.update(10e6)  # within the 10 s interval: no line
    now.t += 5
    p.update(20e6)
    now.t += 10
    p.update(40e6)
    p.close()
    assert [r.getMessage() for r in caplog.records] == [
        "import: pass 1/2: 20.0 of 100.0 MB (20%), 2.0 MB/s, ETA 0:00:40",
        "import: pass 1/2: 40.0 of 100.0 MB (40%), 2.0 MB/s, ETA 0:00:30",
        "import: pass 1/2: 40.0 MB in 0:00:20",
    ]


def test_without_a_total_no_share_or_eta_and_slow_units_per_item(caplog, monkeypatch) -> None:
    monkeypatch.setenv("KLO_PROGRESS_SECONDS", "0")
    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    now = Clock()
    rows = Progress("predict", unit="rows", terminal=False, now=now)
    now.t += 2
    rows.add(5000)
    trials = Progress("tune", total=8, unit="trials", terminal=False, now=now, initial=3)
    now.t += 60
    trials.update(5)  # 2 trials in 60 s this process, 3 before it
    assert [r.getMessage() for r in caplog.records] == [
        "predict: 5,000 rows, 2,500 rows/s",
        "tune: 5 of 8 trials (62%), 30.0 s per trial, ETA 0:01:30",
    ]


def test_disabled_or_failed_steps_write_no_lines(caplog) -> None:
    caplog.set_level(logging.INFO, logger="keras_lstm_opt")
    now = Clock()
    off = Progress("x", total=10, enabled=False, terminal=False, now=now)
    now.t += 60
    off.update(5)
    off.close()
    with pytest.raises(ValueError), Progress("y", total=10, terminal=False, now=now) as p:
        now.t += 60
        p.update(5)  # one line
        raise ValueError
    assert len(caplog.records) == 1  # and no "done in" line after the failure


def test_amounts_and_clock() -> None:
    assert amount(999, "bytes") == "999 B"
    assert amount(1_500_000, "bytes") == "1.5 MB"
    assert amount(900e3, "bytes", scale_of=2e9) == "0.0 GB"
    assert amount(12345, "rows") == "12,345 rows"
    assert clock(3725) == "1:02:05"


def test_a_bar_on_a_terminal_and_never_backwards() -> None:
    p = Progress("staging", total=10, unit="bytes", terminal=True)
    assert p.live
    p.update(7)
    p.update(3)  # an out-of-order update from another thread
    assert p.done == 7
    p.close()
    assert not p.live
