import json
import os
import socket

import pytest

from keras_lstm_opt.distribute.tf_config import (
    TFConfigError,
    build_tf_config,
    cluster_from_env,
    parse_tf_config,
)

W = ["127.0.0.1:0", "127.0.0.1:1"]


def _cfg(cluster, task):
    return json.dumps({"cluster": cluster, "task": task})


def test_build_and_parse_round_trip():
    info = parse_tf_config(build_tf_config(["127.0.0.1:23456", "127.0.0.1:23457"], 1))
    assert info.num_workers == 2 and info.task_index == 1 and not info.is_chief
    assert parse_tf_config(build_tf_config(["h:1", "h:2"], 0), check_port=False).is_chief
    chief = parse_tf_config(
        build_tf_config(["h:2"], 0, chief="h:1", task_type="chief"), check_port=False
    )
    assert chief.is_chief and chief.num_workers == 2


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "TF_CONFIG is not set"),
        ("{not json", "TF_CONFIG is not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (_cfg({}, {"type": "worker", "index": 0}), "TF_CONFIG cluster: missing or empty"),
        (
            _cfg({"worker": ["h:1"], "ps": ["h:2"]}, {"type": "worker", "index": 0}),
            "TF_CONFIG cluster.ps: MultiWorkerMirroredStrategy uses only chief and worker",
        ),
        (
            _cfg({"worker": []}, {"type": "worker", "index": 0}),
            "cluster.worker: expected a non-empty",
        ),
        (
            _cfg({"worker": ["h:1"], "chief": ["h:2", "h:3"]}, {"type": "worker", "index": 0}),
            "cluster.chief: at most one chief",
        ),
        (
            _cfg({"worker": ["h1"]}, {"type": "worker", "index": 0}),
            "cluster.worker[0]: expected 'host:port'",
        ),
        (
            _cfg({"worker": ["h:99999"]}, {"type": "worker", "index": 0}),
            "cluster.worker[0]: port must be 1..65535",
        ),
        (
            _cfg({"worker": ["h:1", "h:1"]}, {"type": "worker", "index": 0}),
            "cluster.worker[1]: address h:1 is already used by cluster.worker[0]",
        ),
        (_cfg({"worker": ["h:1"]}, None), "TF_CONFIG task: missing"),
        (
            _cfg({"worker": ["h:1"]}, {"type": "chief", "index": 0}),
            "TF_CONFIG task.type: 'chief' is not a job of the cluster",
        ),
        (
            _cfg({"worker": ["h:1", "h:2"]}, {"type": "worker", "index": 2}),
            "TF_CONFIG task.index: 2 is out of range for job 'worker' with 2 task(s)",
        ),
        (_cfg({"worker": ["h:1"]}, {"type": "worker", "index": "0"}), "task.index: '0' is out of"),
    ],
)
def test_each_malformed_tf_config_has_its_message(text, message):
    with pytest.raises(TFConfigError) as info:
        parse_tf_config(text, check_port=False)
    assert message in str(info.value)


def test_port_already_in_use_is_named():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        text = build_tf_config([f"127.0.0.1:{port}", "127.0.0.1:1"], 0)
        with pytest.raises(
            TFConfigError,
            match=f"port {port} on 127.0.0.1 is already in use: process {os.getpid()} ",
        ):  # who listens there
            parse_tf_config(text)


def test_connections_lingering_in_time_wait_do_not_make_a_port_busy():
    """A rerun on the same fixed ports (Slurm's, TFJob's 2222) right after a run: the
    earlier run's connections linger in TIME_WAIT for a minute, which a plain bind counts
    as "in use"; a server (SO_REUSEADDR, as TensorFlow's gRPC) binds all the same."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the server's side closes first: its port keeps a TIME_WAIT
        client.close()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # the TIME_WAIT is there
    info = parse_tf_config(build_tf_config([f"127.0.0.1:{port}", "127.0.0.1:1"], 0))
    assert info.address == f"127.0.0.1:{port}"


def test_single_task_tf_config_means_no_cluster(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", build_tf_config(["127.0.0.1:1"], 0))
    assert cluster_from_env(check_port=False) is None
    monkeypatch.delenv("TF_CONFIG")
    assert cluster_from_env() is None


def test_nccl_without_gpu_is_a_clear_error():
    from keras_lstm_opt.config import DistributeConfig
    from keras_lstm_opt.distribute.strategy import StrategyError, get_strategy

    with pytest.raises(StrategyError, match="nccl needs GPUs and none was found"):
        get_strategy(DistributeConfig(strategy="mirrored", implementation="nccl"))


def test_multi_worker_strategy_without_tf_config_is_a_clear_error(monkeypatch):
    from keras_lstm_opt.config import DistributeConfig
    from keras_lstm_opt.distribute.strategy import get_strategy

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(TFConfigError, match="TF_CONFIG is not set"):
        get_strategy(DistributeConfig(strategy="multi_worker_mirrored"))


def test_formation_leaves_an_alarm_set_before_it_armed_again():
    """The SIGALRM backstop of cluster formation must not eat a caller's own alarm, and
    without a deadline it does not touch SIGALRM at all."""
    import signal
    import socket

    from keras_lstm_opt.distribute.formation import form_cluster
    from keras_lstm_opt.distribute.tf_config import ClusterInfo

    with socket.socket() as peer:  # a peer that is up: formation only rendezvouses
        peer.bind(("127.0.0.1", 0))
        peer.listen()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            mine = s.getsockname()[1]
        cluster = ClusterInfo(
            {"worker": [f"127.0.0.1:{mine}", f"127.0.0.1:{peer.getsockname()[1]}"]}, "worker", 0
        )
        try:
            for timeout in (0, 30):
                signal.alarm(500)
                assert form_cluster(cluster, lambda: "made", timeout) == "made"
                left = signal.alarm(0)
                assert 495 <= left <= 500, (timeout, left)
        finally:
            signal.alarm(0)
