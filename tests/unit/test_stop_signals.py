"""StopSignals: the first SIGINT or SIGTERM asks training to stop after its step; a
repeated SIGTERM (schedulers deliver one more than once) leaves that stop alone."""

from __future__ import annotations

import logging
import os
import signal
import time

from keras_lstm_opt.training.guard import StopSignals


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # the handler runs at the next bytecode boundary of the main thread


def test_a_repeated_sigterm_keeps_the_stop_and_the_process(caplog):
    heard: list[int] = []
    before = signal.getsignal(signal.SIGTERM)
    with caplog.at_level(logging.WARNING, logger="keras_lstm_opt"), StopSignals() as stop:
        stop.on_signal = heard.append
        _deliver(signal.SIGTERM)
        _deliver(signal.SIGTERM)
        _deliver(signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
        deadline = time.monotonic() + 2
        while len(heard) < 3 and time.monotonic() < deadline:  # the wakeup-fd reader
            time.sleep(0.01)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("SIGTERM received: stopping after this step and saving a backup") == 1
    assert messages.count("SIGTERM again: still stopping after this step with a backup") == 1
    assert heard == [signal.SIGTERM] * 3
    assert signal.getsignal(signal.SIGTERM) == before  # the old handler is back
