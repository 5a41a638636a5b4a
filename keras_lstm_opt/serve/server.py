"""`keras-lstm-opt serve RUN_DIR`: predictions over HTTP, concurrent requests batched.

Built on Starlette (routing, requests) served by uvicorn (an ASGI server) with
prometheus_client for the metrics: the `serve` extra. Endpoints:

- `POST /v1/predict` (also `/v1/models/NAME:predict`, TF Serving's path, NAME being the
  run directory's name):
  `{"instances": [...]}` in, `{"predictions": [...]}` out (keras_lstm_opt.serve.instances
  says what an instance is). Concurrent requests join one model call
  (keras_lstm_opt.serve.batcher: up to `max_batch` rows, the first waiting at most
  `max_wait_ms`).
- `GET /healthz`: `{"status": "ok", ...}` with what an instance is.
- `GET /metrics`: Prometheus text: requests by status, request latency, rows per model
  call, model-call time, errors by reason.

A bad request gets one line, `{"error": "..."}`: 400 for a body that is not JSON, 413
for a body over `max_body_bytes` or more than `max_rows` instances, 422 for JSON of the
wrong shape or an instance that does not fit the model; the server keeps serving. SIGTERM
(or Ctrl-C) stops accepting connections, answers the requests in flight (up to
`grace_seconds`) and exits 143 (130).

Example:

    serve("runs/wordnet", port=8501)   # curl -d '{"instances": ["a unit of time"]}' ...
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
from types import SimpleNamespace
from typing import Any

from keras_lstm_opt.errors import UsageError
from keras_lstm_opt.serve.batcher import DynamicBatcher
from keras_lstm_opt.serve.instances import InstanceError, Instances

log = logging.getLogger("keras_lstm_opt")
EXTRA = "serving needs the serve extra: pip install 'keras-lstm-opt[serve]'"


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def require_serve() -> None:
    """Raise UsageError naming the extra when Starlette, uvicorn or prometheus_client is
    missing."""
    try:
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"{EXTRA} ({exc.name} is missing)") from None


def _metrics(max_batch: int) -> Any:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    buckets, b = [], 1
    while b < max_batch:
        buckets.append(b)
        b *= 2
    buckets.append(max_batch)

    m = SimpleNamespace(registry=registry)
    m.requests = Counter(
        "klo_requests",
        "HTTP requests answered, by path and status",
        ["path", "code"],
        registry=registry,
    )
    m.latency = Histogram(
        "klo_request_seconds", "Time from a predict request to its answer", registry=registry
    )
    m.rows = Histogram("klo_batch_rows", "Rows per model call", buckets=buckets, registry=registry)
    m.call = Histogram("klo_model_call_seconds", "Time of one model call", registry=registry)
    m.errors = Counter(
        "klo_errors", "Requests refused or failed, by reason", ["reason"], registry=registry
    )
    return m


def make_app(
    run: Any,
    max_batch: int = 64,
    max_wait_ms: float = 5.0,
    max_rows: int = 1024,
    max_body_bytes: int = 10 * 2**20,
) -> Any:
    """The Starlette app serving `run` (a loaded `keras_lstm_opt.serve.run.Run`)."""
    from contextlib import asynccontextmanager

    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    instances = Instances(run)
    m = _metrics(max_batch)
    model_name = os.path.basename(os.path.normpath(run.run_dir))
    if model_name in ("", ".", ".."):  # a relative RUN_DIR such as "." names the folder
        model_name = os.path.basename(os.path.abspath(run.run_dir))

    def on_batch(rows: int, seconds: float) -> None:
        m.rows.observe(rows)
        m.call.observe(seconds)

    batcher = DynamicBatcher(instances.predict, max_batch, max_wait_ms, on_batch)

    async def body_of(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body_bytes:
            raise BadRequest(
                413, f"the body is {int(declared):,} bytes; at most {max_body_bytes:,}"
            )
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise BadRequest(413, f"the body is over {max_body_bytes:,} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            raise BadRequest(400, 'the body is empty; send JSON {"instances": [...]}')
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(400, f"the body is not JSON: {exc}") from None
        except RecursionError:
            raise BadRequest(
                400, "the body is not JSON this server reads: nested too deeply"
            ) from None

    def rows_of(body: Any) -> list[Any]:
        if not isinstance(body, dict):
            raise BadRequest(
                422, f'expected a JSON object {{"instances": [...]}}, got {type(body).__name__}'
            )
        if "instances" not in body:
            raise BadRequest(
                422,
                f'missing "instances" (got {", ".join(sorted(map(str, body))) or "no field"}); '
                'send {"instances": [...]}',
            )
        extra = sorted(set(body) - {"instances", "signature_name"})
        if extra:
            raise BadRequest(422, f"unknown field(s) {', '.join(extra)}; give instances only")
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise BadRequest(422, "instances: expected a non-empty list")
        if len(rows) > max_rows:
            raise BadRequest(413, f"{len(rows):,} instances; at most {max_rows:,} (--max-rows)")
        try:
            return [instances.check(row, i) for i, row in enumerate(rows)]
        except InstanceError as exc:
            raise BadRequest(422, f"{exc}; {instances.describe()}") from None

    async def predict(request: Request) -> Response:
        began = time.perf_counter()
        name = request.path_params.get("name")
        if name is not None and name != model_name:
            m.requests.labels(path="predict", code="404").inc()
            return JSONResponse(
                {"error": f"no model {name!r}; this server serves {model_name!r}"}, status_code=404
            )
        try:
            rows = rows_of(await body_of(request))
            predictions = await batcher.submit(rows)
        except BadRequest as exc:
            m.errors.labels(reason=str(exc.status)).inc()
            m.requests.labels(path="predict", code=str(exc.status)).inc()
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except Exception as exc:  # the model failed: the server stays up
            log.error("predict failed: %s", exc)
            m.errors.labels(reason="500").inc()
            m.requests.labels(path="predict", code="500").inc()
            return JSONResponse({"error": f"the model failed: {exc}"}, status_code=500)
        m.latency.observe(time.perf_counter() - began)
        m.requests.labels(path="predict", code="200").inc()
        return JSONResponse({"predictions": predictions})

    async def healthz(request: Request) -> Response:
        m.requests.labels(path="healthz", code="200").inc()
        return JSONResponse(
            {
                "status": "ok",
                "run_dir": run.run_dir,
                "model": model_name,
                "instances": instances.describe(),
                "max_batch": max_batch,
                "max_wait_ms": max_wait_ms,
            }
        )

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(app: Any) -> Any:
        batcher.start()
        yield
        await batcher.stop()

    async def http_error(request: Request, exc: Exception) -> Response:
        code = int(getattr(exc, "status_code", 500))
        m.requests.labels(path="other", code=str(code)).inc()
        detail = getattr(exc, "detail", "") or "error"
        return JSONResponse(
            {
                "error": f"{detail}: {request.method} {request.url.path} (POST /v1/predict, "
                "GET /healthz, GET /metrics)"
            },
            status_code=code,
        )

    from starlette.exceptions import HTTPException

    app = Starlette(
        exception_handlers={HTTPException: http_error},
        routes=[
            Route("/v1/predict", predict, methods=["POST"]),
            Route("/v1/models/{name}:predict", predict, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.metrics, app.state.instances = m, instances
    return app


def serve(
    run_dir: str,
    host: str = "127.0.0.1",
    port: int = 8501,
    max_batch: int = 64,
    max_wait_ms: float = 5.0,
    max_rows: int = 1024,
    max_body_bytes: int = 10 * 2**20,
    grace_seconds: float = 10.0,
    precision: str = "float32",
) -> int:
    """Serve `run_dir` until SIGTERM or Ctrl-C; the exit status (143 or 130). `precision`:
    "float32", or "int8" (the LSTM kernels quantised; see `load_run`)."""
    require_serve()
    import uvicorn

    from keras_lstm_opt.serve.run import load_run

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"--host {host} --port {port}: cannot listen there: {exc.strerror}"
        ) from None
    run = load_run(run_dir, precision)
    app = make_app(run, max_batch, max_wait_ms, max_rows, max_body_bytes)
    instances = app.state.instances
    instances.predict([instances.check(instances.sample(), 0)])  # compile before serving
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=max(int(grace_seconds), 1),
        # longer than pooled clients keep an idle connection (aiohttp 15 s, load balancers
        # 60 s): with uvicorn's 5 s a client could send on a connection the server was
        # closing and get "server disconnected" (seen once in CI under load)
        timeout_keep_alive=75,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    stopped: list[int] = []

    def leave(signum: int, frame: Any) -> None:  # before uvicorn's own handlers, and
        stopped.append(signum)  # after: it re-raises the signal it caught on its way out
        server.should_exit = True

    previous = {s: signal.signal(s, leave) for s in (signal.SIGINT, signal.SIGTERM)}
    sock.listen(2048)  # connections wait in the backlog until the server takes them
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"serving {run_dir} on http://{shown}:{bound} (POST /v1/predict, GET /healthz, "
        f"GET /metrics; batches up to {max_batch} rows within {max_wait_ms:g} ms); "
        f"{instances.describe()}",
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if not stopped:
        return 1  # the server ended by itself: uvicorn logged why
    print(
        f"stopped: by {signal.Signals(stopped[0]).name}; requests in flight were answered",
        file=sys.stderr,
        flush=True,
    )
    return 128 + stopped[0]
