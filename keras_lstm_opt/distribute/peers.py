"""Tell a lost peer from a bug: which task is gone, and how it went.

When a worker of a multi-worker run dies (SIGKILL, out of memory, a lost node) the
survivors' collectives fail with TensorFlow errors such as `UnavailableError:
Collective ops is aborted by: ... The following tasks are unhealthy (stopped sending
heartbeats)` or `Socket closed`, raised from a step, a metric reset or any other
collective. `lost_peer` recognises them (by error class and wording), probes every
peer's address to find the one that no longer answers (falling back to the task that
TensorFlow's message names), and returns a short description; anything else (a bug,
bad data) returns None and propagates as it is.

Example:

    try:
        loop.run(epochs)
    except tf.errors.OpError as exc:
        lost = lost_peer(exc, cluster)   # "worker 1 at 10.0.0.2:2222 (connection refused; ...)"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keras_lstm_opt.distribute.formation import peers_of, task_name
from keras_lstm_opt.distribute.ports import probe
from keras_lstm_opt.distribute.tf_config import ClusterInfo

_KINDS = {
    "UnavailableError",
    "AbortedError",
    "CancelledError",
    "DeadlineExceededError",
    "InternalError",
    "UnknownError",
    "FailedPreconditionError",
}
# wording -> how the peer went, in our words
_CAUSES = (
    ("distribute.timeout_seconds", None),  # the watchdog's own message, kept
    ("peer lost:", "its port stopped answering during a step"),
    ("heartbeat", "it stopped sending heartbeats to the coordination service"),
    ("socket closed", "its connection closed"),
    ("connection reset", "its connection was reset"),
    ("broken pipe", "its connection closed"),
    ("failed to connect", "it cannot be reached"),
    ("connection refused", "it refuses connections"),
    ("collective ops is aborted", "the collectives were aborted"),
    ("coordination service", "the coordination service reported an error"),
    ("unavailable", "it cannot be reached"),
)
_TASK = re.compile(r"/job:(\w+)/replica:\d+/task:(\d+)")


@dataclass(frozen=True)
class LostPeer:
    """`task`: the gone task(s) ("worker 1 at host:port"); `how`: why we think so."""

    task: str
    how: str

    def __str__(self) -> str:
        return f"{self.task} ({self.how})"


def _cause(text: str) -> str | None:
    low = text.lower()
    for words, ours in _CAUSES:
        if words in low:
            if ours is None:  # our watchdog: "a training step waited more than N s ..."
                line = next(ln for ln in text.splitlines() if words in ln)
                return (
                    line[line.find("a training step") :].split(":")[0].strip()
                    if "a training step" in line
                    else "a step outlived distribute.timeout_seconds"
                )
            return ours
    return None


def lost_peer(exc: BaseException, cluster: ClusterInfo) -> LostPeer | None:
    """The peer `exc` says is gone, or None when `exc` is not about a lost peer.

    Args:
        exc: what the survivor's TensorFlow call raised.
        cluster: this task's cluster (from TF_CONFIG).
    """
    if type(exc).__name__ not in _KINDS:
        return None
    text = str(exc)
    cause = _cause(text)
    if cause is None:
        return None
    peers = peers_of(cluster)
    gone = {name: why for name, host, port in peers if (why := probe(host, port, 1.0))}
    if gone:
        names = ", ".join(gone)
        return LostPeer(names, f"{'; '.join(gone.values())} now; {cause}")
    me = (cluster.task_type, cluster.task_index)
    named = [(job, int(i)) for job, i in _TASK.findall(text) if (job, int(i)) != me]
    by_key = {
        (job, i): task_name(job, i, addr)
        for job, addrs in cluster.cluster.items()
        for i, addr in enumerate(addrs)
    }
    listed = list(dict.fromkeys(by_key[k] for k in named if k in by_key))
    if listed:
        return LostPeer(
            ", ".join(listed), f"{cause}; its port still answers: stopped, overloaded or restarted"
        )
    return LostPeer(
        "a peer",
        f"{cause}; every peer's port still answers, so none can be "
        "named (one may be stopped or overloaded)",
    )
