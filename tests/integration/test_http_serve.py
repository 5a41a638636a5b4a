"""`keras-lstm-opt serve` as a subprocess on a free port, spoken to with a real HTTP client
(httpx): answers equal `predict`'s, 64 concurrent clients, every kind of bad request, a
forecast run, SIGTERM with requests in flight. Throughput is measured by
`python benchmarks/bench.py --mode serve`, not asserted here."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest

from ..conftest import FAULTS, time_limit, wait_for
from ..conftest import TINY_RUN as TINY

httpx = pytest.importorskip("httpx", reason="needs the test extra (httpx)")
aiohttp = pytest.importorskip("aiohttp", reason="needs aiohttp (installed with s3fs)")
pytest.importorskip("uvicorn", reason="needs the serve extra: pip install '.[serve]'")
pytestmark = pytest.mark.slow


class Server:
    """`keras-lstm-opt serve RUN_DIR ARGS` on a free port of 127.0.0.1."""

    def __init__(self, run_dir: str, *args: str) -> None:
        from keras_lstm_opt.launch.launcher import free_ports

        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "keras_lstm_opt.cli", "serve", run_dir]
            + ["--port", str(self.port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.banner = self.proc.stdout.readline() if self.proc.stdout else ""
        assert self.banner.startswith("serving "), self.banner + self.stop()[1]
        wait_for(self._healthy, time_limit(60), "the server to answer /healthz")

    def _healthy(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, send: bool = True) -> tuple[int, str]:
        """SIGTERM (unless `send` is false: it was sent already, and a second one while
        the server exits would kill it outright), then its exit status and stderr."""
        if send and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=time_limit(60))
        return self.proc.returncode, err


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from benchmarks.corpora import write_wordnet
    from keras_lstm_opt.data.importer import import_data
    from keras_lstm_opt.experiment import fit

    root = tmp_path_factory.mktemp("http_text")
    src = str(root / "wordnet.csv")
    write_wordnet(src, rows=600, seed=3)
    import_data(src, str(root / "data"), text="text", label="label", progress=False)
    fit(None, run_dir=str(root / "run"), overrides=[*TINY, f"data.path={root / 'data'}"])
    import pandas as pd

    texts = pd.read_csv(src)["text"].astype(str).tolist()[:200]
    return {"root": root, "run": str(root / "run"), "texts": texts}


@pytest.fixture(scope="module")
def server(text_run) -> Iterator[Server]:
    srv = Server(text_run["run"], "--max-rows", "100", "--max-body-mb", "0.05")
    yield srv
    srv.stop()


def _probabilities(predictions: list[dict], names: list[str]) -> np.ndarray:
    return np.array([[p["probabilities"][n] for n in names] for p in predictions])


def test_answers_equal_predict_on_the_same_rows(server, text_run):
    from keras_lstm_opt.serve.predict import predict_file
    from keras_lstm_opt.serve.run import load_run

    texts = text_run["texts"][:40]
    src, out = text_run["root"] / "rows.csv", text_run["root"] / "rows.jsonl"
    import pandas as pd

    pd.DataFrame({"text": texts}).to_csv(src, index=False)
    predict_file(text_run["run"], str(src), out=str(out), progress=False)
    want = [json.loads(line) for line in out.read_text().splitlines()]
    names = load_run(text_run["run"]).class_names
    answer = httpx.post(server.url + "/v1/predict", json={"instances": texts}, timeout=30)
    assert answer.status_code == 200, answer.text
    got = answer.json()["predictions"]
    assert [g["label"] for g in got] == [w["label"] for w in want]
    np.testing.assert_allclose(_probabilities(got, names), _probabilities(want, names), atol=1e-6)
    # TF Serving's path, under the run directory's name, answers the same
    tfs = httpx.post(server.url + "/v1/models/run:predict", json={"instances": texts[:2]})
    same = tfs.json()["predictions"]  # a batch of 2, not 40: equal to float32's last bits
    assert [g["label"] for g in same] == [g["label"] for g in got[:2]]
    np.testing.assert_allclose(
        _probabilities(same, names), _probabilities(got[:2], names), atol=1e-6
    )
    other = httpx.post(server.url + "/v1/models/other:predict", json={"instances": texts[:2]})
    assert other.status_code == 404 and "this server serves 'run'" in other.json()["error"]
    for method, path, code in (("GET", "/nope", 404), ("GET", "/v1/predict", 405)):
        answer = httpx.request(method, server.url + path)
        assert answer.status_code == code and path in answer.json()["error"], answer.text


def test_64_concurrent_clients_each_get_their_own_answers(server, text_run):
    texts = text_run["texts"]
    names = sorted(  # the expected answer of every text, one request each
        httpx.post(server.url + "/v1/predict", json={"instances": texts[:1]}).json()["predictions"][
            0
        ]["probabilities"]
    )
    want = _probabilities(
        httpx.post(server.url + "/v1/predict", json={"instances": texts[:100]}).json()[
            "predictions"
        ],
        names,
    )
    figures = {}
    for name, url in (("batched", server.url), ("max-batch 1", None)):
        single = None if url else Server(text_run["run"], "--max-batch", "1")
        try:
            seconds, latencies, wrong = _load(url or single.url, texts, names, want)
            calls = _model_calls(url or single.url)
        finally:
            if single is not None:
                assert single.stop()[0] == 143
        assert not wrong, wrong[:5]
        assert len(latencies) == 64 * 50
        figures[name] = {
            "requests_per_second": round(len(latencies) / seconds, 1),
            "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 2),
            "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 2),
            "model_calls": calls,
        }
    # one row per model call without batching; calls shared by requests with it
    assert figures["max-batch 1"]["model_calls"] >= 64 * 50 > figures["batched"]["model_calls"]
    ratio = (
        figures["batched"]["requests_per_second"] / figures["max-batch 1"]["requests_per_second"]
    )
    FAULTS["figures"].append(  # printed at the end of the run (a figure, not asserted)
        f"serve, 64 clients x 50 requests: dynamic batching {ratio:.2f}x the requests/s of "
        f"--max-batch 1: {json.dumps(figures)}"
    )


def _load(
    url: str, texts: list[str], names: list[str], want: np.ndarray
) -> tuple[float, list[float], list[str]]:
    """64 concurrent clients (aiohttp) x 50 requests of 1 to 3 texts: (seconds, each
    request's latency, the wrong answers)."""
    latencies: list[float] = []
    wrong: list[str] = []

    async def client(index: int, http: aiohttp.ClientSession) -> None:
        rng = np.random.default_rng(index)
        for _ in range(50):
            rows = rng.choice(100, size=int(rng.integers(1, 4)), replace=False).tolist()
            began = time.perf_counter()
            body = {"instances": [texts[r] for r in rows]}
            async with http.post(url + "/v1/predict", json=body) as answer:
                status, payload = answer.status, await answer.json()
            latencies.append(time.perf_counter() - began)
            if status != 200:
                wrong.append(f"{status} {str(payload)[:200]}")
                continue
            got = _probabilities(payload["predictions"], names)
            if not np.allclose(got, want[rows], atol=1e-5):
                wrong.append(f"client {index}: rows {rows} answered {got.round(4).tolist()}")

    async def load() -> float:  # aiohttp: a client fast enough to load the server
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as http:
            began = time.perf_counter()
            await asyncio.gather(*(client(i, http) for i in range(64)))
            return time.perf_counter() - began

    return asyncio.run(load()), latencies, wrong


def _model_calls(url: str) -> float:
    metrics = httpx.get(url + "/metrics").text
    rows = [line for line in metrics.splitlines() if line.startswith("klo_batch_rows_count ")]
    return float(rows[0].split()[1])


@pytest.mark.parametrize(
    "body,status,message",
    [
        (b"{not json", 400, "the body is not JSON"),
        (b"[1, 2]", 422, 'expected a JSON object {"instances": [...]}'),
        (b'{"inputs": ["a"]}', 422, 'missing "instances" (got inputs)'),
        (b"", 400, "the body is empty"),
        (b"[" * 20000 + b"]" * 20000, 400, "nested too deeply"),
        (b'{"instances": []}', 422, "instances: expected a non-empty list"),
        (b'{"instances": "a text"}', 422, "instances: expected a non-empty list"),
        (b'{"instances": ["a", 7]}', 422, "instances[1]: expected a string (raw text), got int 7"),
        (b'{"instances": ["a"], "extra": 1}', 422, "unknown field(s) extra"),
        (json.dumps({"instances": ["a"] * 101}).encode(), 413, "101 instances; at most 100"),
        (json.dumps({"instances": ["a" * 60000]}).encode(), 413, "at most 52,428"),
    ],
)
def test_bad_requests_get_their_status_and_one_line(server, body, status, message):
    answer = httpx.post(
        server.url + "/v1/predict", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert message in error and "\n" not in error and "Traceback" not in error, error
    ok = httpx.post(server.url + "/v1/predict", json={"instances": ["still serving"]})
    assert ok.status_code == 200  # the server kept serving


def test_a_forecast_run_takes_windows(tmp_path, forecast_dir):
    from keras_lstm_opt.experiment import fit
    from keras_lstm_opt.serve.run import load_run

    run_dir = str(tmp_path / "run")
    fit(None, run_dir=run_dir, overrides=[*TINY, "data.task=forecast", f"data.path={forecast_dir}"])
    run = load_run(run_dir)
    window, channels = run.model.input_shape[1:3]
    x = np.random.default_rng(0).normal(size=(3, window, channels)).astype(np.float32)
    srv = Server(run_dir)
    try:
        answer = httpx.post(srv.url + "/v1/predict", json={"instances": x.tolist()}, timeout=30)
        assert answer.status_code == 200, answer.text
        got = answer.json()["predictions"]
        want = run.forecast_windows(x)
        for i, target in enumerate(run.targets):
            np.testing.assert_allclose([g[target] for g in got], want[:, :, i], atol=1e-5)
        short = httpx.post(srv.url + "/v1/predict", json={"instances": [x[0, :-1].tolist()]})
        assert short.status_code == 422 and f"expected {window} rows" in short.json()["error"]
        text = [[str(v) for v in row] for row in x[0].tolist()]  # numbers as strings
        strings = httpx.post(srv.url + "/v1/predict", json={"instances": [text]})
        assert strings.status_code == 422 and "expected numbers" in strings.json()["error"]
    finally:
        assert srv.stop()[0] == 143
    srv = Server(run_dir, "--precision", "int8")  # the LSTM kernels in int8
    try:
        answer = httpx.post(srv.url + "/v1/predict", json={"instances": x.tolist()}, timeout=30)
        assert answer.status_code == 200, answer.text
        got = answer.json()["predictions"]
        scale = max(1.0, float(np.abs(want).max()))
        for i, target in enumerate(run.targets):
            diff = np.abs(np.array([g[target] for g in got]) - want[:, :, i]).max()
            assert 0 < diff <= 0.05 * scale
    finally:
        assert srv.stop()[0] == 143


def test_sigterm_answers_the_requests_in_flight_and_exits_143(text_run):
    """Requests wait in the batcher (--max-wait-ms 1500) when SIGTERM comes: all are
    answered, then the server exits 143; a request after that finds no server."""
    srv = Server(text_run["run"], "--max-wait-ms", "1500", "--grace-seconds", "20")

    async def in_flight() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as http:
            calls = [
                asyncio.ensure_future(
                    http.post(srv.url + "/v1/predict", json={"instances": [text]})
                )
                for text in text_run["texts"][:16]
            ]
            await asyncio.sleep(0.5)  # all sent, none answered yet
            assert not any(c.done() for c in calls)
            srv.proc.send_signal(signal.SIGTERM)
            return [(await c).status_code for c in calls]

    assert asyncio.run(in_flight()) == [200] * 16
    code, err = srv.stop(send=False)  # the SIGTERM above is the one
    assert code == 143 and "stopped: by SIGTERM" in err, err[-2000:]
    with pytest.raises(httpx.ConnectError):
        httpx.post(srv.url + "/v1/predict", json={"instances": ["late"]})


def test_bad_options_get_one_line_and_exit_2(tmp_path, text_run):
    from ..conftest import console_script

    def serve(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [console_script(), "serve", *args], capture_output=True, text=True, timeout=120
        )

    for args, message in (
        ((str(tmp_path / "none"),), "no such directory"),
        ((text_run["run"], "--max-batch", "0"), "--max-batch 0: must be >= 1"),
        ((text_run["run"], "--port", "70000"), "--port 70000: must be <= 65535"),
    ):
        out = serve(*args)
        assert out.returncode == 2 and message in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
