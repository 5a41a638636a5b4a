"""`keras-lstm-opt serve RUN_DIR`: its options, checked before TensorFlow starts (the
server itself: keras_lstm_opt.serve.server)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from keras_lstm_opt.errors import UsageError

AddParser = Callable[[str, str], argparse.ArgumentParser]
OPEN_HOST = (
    "serves predictions to anyone who can reach this host, unencrypted and without "
    "authentication; put it behind a proxy that adds both"
)


def add_serve_parser(add: AddParser) -> None:
    sv = add("serve", "predictions over HTTP, concurrent requests batched (the serve extra)")
    sv.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory")
    sv.add_argument("--port", type=int, default=8501, help="port (default 8501; 0: any free)")
    sv.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this host only; 0.0.0.0: every "
        "interface, with a warning)",
    )
    sv.add_argument(
        "--max-batch",
        type=int,
        default=64,
        help="most rows of joined requests in one model call (default 64; a larger "
        "request is a call of its own)",
    )
    sv.add_argument(
        "--max-wait-ms",
        type=float,
        default=5.0,
        help="how long a request waits for others to share its model call (default 5)",
    )
    sv.add_argument(
        "--max-rows", type=int, default=1024, help="most instances in one request (default 1024)"
    )
    sv.add_argument(
        "--max-body-mb", type=float, default=10.0, help="largest request body (default 10 MiB)"
    )
    sv.add_argument(
        "--precision",
        choices=["float32", "int8"],
        default="float32",
        help="float32 (default), or int8: the LSTM kernels quantised (as evaluate and predict)",
    )
    sv.add_argument(
        "--grace-seconds",
        type=float,
        default=10.0,
        help="after SIGTERM, how long requests in flight may take (default 10)",
    )


def serve_command(args: argparse.Namespace, start_tensorflow: Callable[[], None]) -> int:
    for flag, value, low in (
        ("--port", args.port, 0),
        ("--max-batch", args.max_batch, 1),
        ("--max-rows", args.max_rows, 1),
    ):
        if value < low:
            raise UsageError(f"{flag} {value}: must be >= {low}")
    if args.port > 65535:
        raise UsageError(f"--port {args.port}: must be <= 65535")
    for flag, value in (
        ("--max-wait-ms", args.max_wait_ms),
        ("--grace-seconds", args.grace_seconds),
    ):
        if value < 0:
            raise UsageError(f"{flag} {value:g}: must be >= 0")
    if args.max_body_mb <= 0:
        raise UsageError(f"--max-body-mb {args.max_body_mb:g}: must be > 0")
    if "://" not in args.run_dir and not os.path.isdir(args.run_dir):
        what = (
            "is a file, not a run directory"
            if os.path.exists(args.run_dir)
            else "no such directory"
        )
        raise UsageError(f"RUN_DIR {args.run_dir}: {what}")
    from keras_lstm_opt.serve.server import require_serve, serve

    require_serve()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"serve: warning: --host {args.host} {OPEN_HOST}", file=sys.stderr, flush=True)
    start_tensorflow()
    return serve(
        args.run_dir,
        args.host,
        args.port,
        args.max_batch,
        args.max_wait_ms,
        args.max_rows,
        int(args.max_body_mb * 2**20),
        args.grace_seconds,
        args.precision,
    )
