"""Multi-worker settings applied before TensorFlow starts, so a model may come first.

TensorFlow takes MultiWorkerMirroredStrategy's collective settings (the group leader,
the device filter, the coordination service) only before its runtime starts, which is
at the first tensor or variable. Keras users build their model first and hand it to a
Trainer afterwards; in a worker process (TF_CONFIG names several tasks) that order
used to fail with "Collective ops must be configured at program startup".

`configure_before_start()` runs as soon as Keras and TensorFlow are loaded (the
registry's import hook calls it) and, in a worker process whose runtime has not started
yet, applies the same settings the strategy would: the strategy, created later, finds
them already there and starts its gRPC server in the running runtime. It does nothing
outside multi-worker processes, in parameter-server clusters, when TF_CONFIG cannot be
read (the strategy reports that itself, with the field named), or with KLO_PRESTART=0.

Example:

    import keras, keras_lstm_opt as klo     # TF_CONFIG set by the launcher
    model = keras.Sequential([...])         # TensorFlow starts here: settings applied
    klo.Trainer(model, loss=...).fit(x, y)  # the multi-worker strategy forms now
"""

from __future__ import annotations

import json
import logging
import os

log = logging.getLogger("keras_lstm_opt")
_applied = False


def worker_cluster() -> tuple[dict[str, list[str]], str, int] | None:
    """(cluster, task type, task index) of a MultiWorkerMirroredStrategy worker; None for
    anything else: one task, a parameter-server cluster (a `ps` job: its strategy applies
    settings of its own), an unreadable TF_CONFIG, or KLO_PRESTART=0."""
    if os.environ.get("KLO_PRESTART", "1") == "0":
        return None
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
        jobs = dict(config["cluster"])
        task = config["task"]
        task_type, task_index = str(task["type"]), int(task["index"])
    except (ValueError, KeyError, TypeError):
        return None
    if set(jobs) - {"chief", "worker", "evaluator"}:
        return None
    cluster = {job: list(jobs[job]) for job in ("chief", "worker") if job in jobs}
    if sum(len(v) for v in cluster.values()) < 2 or task_type not in cluster:
        return None
    return cluster, task_type, task_index


def configure_before_start() -> bool:
    """Apply the multi-worker strategy's collective and coordination settings if this is
    a worker process and TensorFlow's runtime has not started; True if applied."""
    global _applied
    if _applied:
        return True
    found = worker_cluster()
    if found is None:
        return False
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context
    from tensorflow.python.training import server_lib

    ctx = context.context()
    if ctx._context_handle is not None:  # started: the strategy says what to do instead
        return False
    cluster, task_type, task_index = found
    spec = server_lib.ClusterSpec(cluster)
    try:  # the values MultiWorkerMirroredStrategy._initialize_multi_worker passes
        ctx.configure_collective_ops(
            collective_leader=multi_worker_util.collective_leader(spec, task_type, task_index),
            scoped_allocator_enabled_ops=("CollectiveReduce",),
            device_filters=(f"/job:{task_type}/task:{task_index}",),
        )
        if ctx.coordination_service is None:
            ctx.configure_coordination_service(
                service_type="standalone",
                service_leader=multi_worker_util.coordination_leader(spec),
                coordinated_jobs=[
                    coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(cluster[job]))
                    for job in ("chief", "worker")
                    if job in cluster
                ],
            )
    except (RuntimeError, ValueError) as exc:  # configured otherwise already
        log.debug("multi-worker settings not applied before start: %s", exc)
        return False
    _applied = True
    return True
