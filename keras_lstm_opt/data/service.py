"""tf.data service: read and preprocess on other processes, train on this one.

`keras-lstm-opt data serve --workers K` starts a dispatcher and K workers and prints
the dispatcher's address; a config with `data.service.dispatcher: <address>` then
sends the training pipeline (read, parse, cache, shuffle, batch) to those workers and
only prefetches locally. Validation data is read directly.

With a command after `--` (`data serve --workers 2 -- keras-lstm-opt train ...`), the
service runs for that command only, and both run in a private network namespace whose
only interface is loopback (as tools/launch.py does; see launch/netns.py): the
service cannot be reached from the network. TensorFlow's tf.data servers listen on
every interface (its server library binds 0.0.0.0, with no option for an address), so
serving other processes (no command) needs an explicit `--network host`, and then
`serve` warns: unencrypted gRPC, firewall the ports on a shared network.

Example:

    dispatcher, workers = start_service(workers=2)
    print(dispatcher.target)  # grpc://127.0.0.1:PORT
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from typing import Any

from keras_lstm_opt.errors import UsageError

log = logging.getLogger("keras_lstm_opt")
UNENCRYPTED = (
    "tf.data service: TensorFlow's servers listen on all interfaces with "
    "unencrypted gRPC (no bind-address option upstream); firewall these ports "
    "on a shared network"
)


def start_service(
    workers: int = 1,
    port: int = 0,
    host: str = "127.0.0.1",
    work_dir: str | None = None,
    warn: bool = True,
) -> tuple[Any, list[Any]]:
    """Start a dispatcher and `workers` workers in this process.

    Args:
        workers: number of worker servers (at least 1).
        port: the dispatcher's port (0 = any free port).
        host: the address workers and clients are told to use.
        work_dir: dispatcher journal directory (fault-tolerant restarts), optional.
    """
    import tensorflow as tf

    if workers < 1:
        raise UsageError(f"workers must be at least 1, got {workers}")
    svc = tf.data.experimental.service
    dispatcher = svc.DispatchServer(
        svc.DispatcherConfig(port=port, work_dir=work_dir, fault_tolerant_mode=bool(work_dir))
    )
    address = f"{host}:{dispatcher.target.rsplit(':', 1)[1]}"
    started = [
        svc.WorkerServer(
            svc.WorkerConfig(dispatcher_address=address, worker_address=f"{host}:%port%")
        )
        for _ in range(workers)
    ]
    if warn:
        log.warning(UNENCRYPTED)
    return dispatcher, started


def dispatcher_address(dispatcher: Any, host: str = "127.0.0.1") -> str:
    return f"grpc://{host}:{dispatcher.target.rsplit(':', 1)[1]}"


def serve_forever(workers: int, port: int = 0, host: str = "127.0.0.1") -> int:
    """`keras-lstm-opt data serve`: run until SIGINT or SIGTERM; print the address."""
    dispatcher, started = start_service(workers, port, host)
    print(
        f"dispatcher {dispatcher_address(dispatcher, host)} with {len(started)} "
        "worker(s); stop with Ctrl-C",
        flush=True,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    for w in started:
        w.stop()
    dispatcher.stop()
    print("tf.data service stopped", flush=True)
    return 0


def with_dispatcher(command: list[str], address: str) -> list[str]:
    """`command` told where the service is: `{dispatcher}` tokens are replaced, and a
    keras-lstm-opt train/tune/profile command gets `--set data.service.dispatcher=...`."""
    out = [c.replace("{dispatcher}", address) for c in command]
    if (
        len(out) > 1
        and os.path.basename(out[0]) == "keras-lstm-opt"
        and out[1] in ("train", "tune", "profile")
    ):
        out += ["--set", f"data.service.dispatcher={address}"]
    return out


def serve_command(workers: int, command: list[str], port: int = 0, host: str = "127.0.0.1") -> int:
    """Run the service for `command` only: start it, run the command, stop it; return
    the command's exit status."""
    dispatcher, started = start_service(workers, port, host, warn=False)
    address = dispatcher_address(dispatcher, host)
    print(
        f"dispatcher {address} with {len(started)} worker(s) for: {' '.join(command)}", flush=True
    )
    try:
        code = subprocess.call(with_dispatcher(command, address))
    finally:
        for w in started:
            w.stop()
        dispatcher.stop()
    print(f"tf.data service stopped; the command exited with {code}", flush=True)
    return code


def distribute(ds: Any, dispatcher: str, processing_mode: str, job_name: str | None) -> Any:
    """Route `ds` through the tf.data service at `dispatcher`."""
    import tensorflow as tf

    return ds.apply(
        tf.data.experimental.service.distribute(
            processing_mode=processing_mode, service=dispatcher, job_name=job_name
        )
    )
