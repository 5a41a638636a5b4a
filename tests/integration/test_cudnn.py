import importlib
import itertools
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_lstm_opt.config import ModelConfig
from keras_lstm_opt.models.cudnn import (
    CudnnError,
    cudnn_op_takes_bfloat16,
    cudnn_report,
    lstm_reasons,
    mask_reasons,
    require_cudnn,
)
from keras_lstm_opt.models.factory import build_model

from ..conftest import time_limit
from ..unit.test_models import _text_schema

# Keras's own cuDNN rules for the TensorFlow backend (the module, not the `rnn` function).
keras_tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")

MATRIX = list(
    itertools.product(
        ["tanh", "relu", "sigmoid"],  # activation
        ["sigmoid", "hard_sigmoid", "tanh"],  # recurrent_activation
        [False, True],  # unroll
        [True, False],  # use_bias
        [0.0, 0.2],  # recurrent_dropout
        ["auto", True, False],  # use_cudnn
    )
)


def keras_would_try_cudnn(layer) -> bool:
    """Keras 3's own decision (LSTM.inner_loop + the TF backend's argument check)."""
    return (
        layer.use_cudnn in ("auto", True)
        and not layer.cell.recurrent_dropout
        and keras_tf_rnn._do_lstm_arguments_support_cudnn(
            layer.cell.activation,
            layer.cell.recurrent_activation,
            layer.unroll,
            layer.cell.use_bias,
        )
    )


def test_report_agrees_with_keras_on_the_whole_matrix():
    disagreements = []
    for act, rec, unroll, bias, rdrop, use in MATRIX:
        layer = keras.layers.LSTM(
            4,
            activation=act,
            recurrent_activation=rec,
            unroll=unroll,
            use_bias=bias,
            recurrent_dropout=rdrop,
            use_cudnn=use,
        )
        ours = not lstm_reasons(layer)
        if ours != keras_would_try_cudnn(layer):
            disagreements.append((act, rec, unroll, bias, rdrop, use))
    assert disagreements == []
    assert len(MATRIX) == 216


def test_every_reason_is_named():
    layer = keras.layers.LSTM(
        4,
        activation="relu",
        recurrent_activation="hard_sigmoid",
        unroll=True,
        use_bias=False,
        recurrent_dropout=0.1,
        use_cudnn=False,
    )
    text = " | ".join(lstm_reasons(layer))
    for word in (
        "use_cudnn=False",
        "recurrent_dropout=0.1",
        "activation=relu",
        "recurrent_activation=hard_sigmoid",
        "unroll=True",
        "use_bias=False",
    ):
        assert word in text


def test_bfloat16_follows_the_installed_tensorflow_op():
    layer = keras.layers.LSTM(4, dtype="mixed_bfloat16")
    reasons = lstm_reasons(layer)
    assert bool(reasons) != cudnn_op_takes_bfloat16()


def test_mask_reasons_agree_with_keras():
    rng = np.random.default_rng(0)
    masks = [
        np.array([[1, 1, 0, 0]]),
        np.array([[0, 1, 1, 1]]),
        np.array([[1, 0, 1, 0]]),
        np.array([[0, 0, 0, 0]]),
        np.array([[1, 1, 1, 1]]),
    ]
    masks += [rng.random((3, 6)) < 0.7 for _ in range(40)]
    lengths = rng.integers(1, 7, size=(20, 3))
    masks += [np.arange(6)[None, :] < n[:, None] for n in lengths]
    for mask in masks:
        m = tf.constant(mask.astype(bool))
        keras_ok = bool(keras_tf_rnn._is_sequence_right_padded(m)) and not bool(
            keras_tf_rnn._has_fully_masked_sequence(m)
        )
        assert (not mask_reasons(mask)) == keras_ok, mask


def test_model_report_walks_bidirectional_and_require_cudnn_raises():
    model = build_model(
        ModelConfig(layers=2, units=4, bidirectional=True, recurrent_dropout=0.1), _text_schema()
    )
    verdicts = cudnn_report(model)
    assert [v.layer for v in verdicts] == [
        "bidirectional_0/forward",
        "bidirectional_0/backward",
        "bidirectional_1/forward",
        "bidirectional_1/backward",
    ]
    assert not any(v.eligible for v in verdicts)
    assert all("masked input" in v.notes[0] for v in verdicts)
    with pytest.raises(CudnnError, match="bidirectional_1/backward: recurrent_dropout"):
        require_cudnn(model)
    require_cudnn(build_model(ModelConfig(units=4), _text_schema()))  # eligible: no error


def test_check_cudnn_cli_json_and_exit_code(tmp_path, text_dir):
    cmd = [
        sys.executable,
        "-m",
        "keras_lstm_opt.cli",
        "check-cudnn",
        "--json",
        "--set",
        f"data.path={text_dir}",
        "--set",
        "model.unroll=true",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=time_limit(120))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report[0]["layer"] == "lstm_0" and not report[0]["eligible"]
    assert "unroll=True (must be False)" in report[0]["reasons"]
    strict = subprocess.run(
        cmd + ["--set", "model.require_cudnn=true"],
        capture_output=True,
        text=True,
        timeout=time_limit(120),
    )
    assert strict.returncode == 1
