"""Workers of a multi-worker run leave together, so none reports the others as crashed.

MultiWorkerMirroredStrategy's coordination service runs inside the chief, and every
worker's agent sends it a heartbeat every few seconds until the process ends. A run
that finished well still printed an error when the workers left at different times:

- the chief writes the run directory after training, the others leave at once; 10 s
  later the service finds their heartbeats missing and the chief logs "The following
  tasks are unhealthy (stopped sending heartbeats) ... The tasks have crashed";
- the chief leaves first; a worker still tearing down sends its next heartbeat to a
  closed port and logs "Failed to send RPC to coordination service".

TensorFlow's Python API has no call that takes a task out of the service. So each task,
once everything of its own is written, waits at one barrier (`depart_together`), and then
all leave at once, the caller ending the process without a slow teardown (`os._exit`):
the gap between the first and the last exit is milliseconds, shorter than any heartbeat.

Example:

    code = run_training()
    if code == 0 and depart_together():   # True in a multi-worker process once all arrived
        sys.stdout.flush(); sys.stderr.flush(); os._exit(code)
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

log = logging.getLogger("keras_lstm_opt")
BARRIER_ID = "keras_lstm_opt/depart"


def in_cluster() -> bool:
    """True when this process's TensorFlow runtime runs with a coordination service (a
    multi-worker strategy formed here)."""
    if "tensorflow" not in sys.modules:
        return False
    from tensorflow.python.eager import context

    ctx = context.context()
    return ctx.coordination_service is not None and ctx._context_handle is not None


def _noted(signum: int, frame: object) -> None:
    log.debug("signal %d while leaving: the process leaves after the barrier", signum)


def depart_together(timeout_seconds: float = 300.0) -> bool:
    """Wait until every task of the cluster has called this too; True when all arrived.

    False outside a multi-worker process, or when the barrier failed: a peer died or
    did not arrive within `timeout_seconds` (then leaving at once is no worse than
    before). Never raises.

    Args:
        timeout_seconds: how long the chief's writing may keep the others waiting.
    """
    if not in_cluster() or threading.current_thread() is not threading.main_thread():
        return False
    from tensorflow.python.eager import context

    start = time.monotonic()
    # SIGTERM/SIGINT while waiting (a pre-emption, a launcher stopping the group) must not
    # kill the process mid-barrier: noted, and the process leaves when the wait ends
    previous = {s: signal.signal(s, _noted) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        context.context().wait_at_barrier(BARRIER_ID, int(timeout_seconds * 1000))
    except Exception as exc:  # a peer gone or late: nothing to wait for any more
        log.debug("leaving without the others: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return False
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    log.debug("all workers leave together (waited %.1f s)", time.monotonic() - start)
    return True
