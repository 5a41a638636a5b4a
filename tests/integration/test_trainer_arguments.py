"""klo.Trainer's, LoopOptions' and fit's bad arguments: each refusal says what to pass."""

from __future__ import annotations

import pytest

from .test_trainer import _build, _data, _trainer


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"loss": "no_such_loss"}, "loss='no_such_loss'"),
        ({"loss": "mse", "options": {"seed": 1}}, "pass klo.LoopOptions"),
        ({"loss": "mse", "seed": 1}, r"seed: pass options=klo.LoopOptions\(seed=...\)"),
        ({"loss": "mse", "sed": 1}, "unknown argument.s. sed"),
        ({"loss": "mse", "strategy": "tpu"}, "strategy='tpu'"),
        ({"loss": None}, "loss is required"),
    ],
)
def test_bad_trainer_arguments_say_what_to_pass(kwargs, match):
    import keras_lstm_opt as klo

    with pytest.raises(klo.errors.KloError, match=match):
        klo.Trainer(_build, **kwargs)


def test_bad_loop_options_name_the_option():
    import keras_lstm_opt as klo

    assert [klo.LoopOptions(verbose=v).verbose for v in (0, 1, 2)] == ["silent", "bar", "epoch"]
    with pytest.raises(klo.errors.UsageError, match="verbose=3"):
        klo.LoopOptions(verbose=3)

    with pytest.raises(klo.errors.UsageError, match="steps_per_execution=0"):
        klo.LoopOptions(steps_per_execution=0)
    with pytest.raises(TypeError, match="steps_per_exec"):
        klo.LoopOptions(steps_per_exec=2)


def test_bad_fit_inputs_say_what_to_pass():
    import tensorflow as tf

    import keras_lstm_opt as klo

    x, y = _data()
    t = _trainer()
    with pytest.raises(klo.errors.UsageError, match=r"examples: x 96 rows, y 10 rows"):
        t.fit(x, y[:10], batch_size=8)
    with pytest.raises(klo.errors.UsageError, match="NumPy inputs need y"):
        t.fit(x, batch_size=8)
    with pytest.raises(klo.errors.UsageError, match="repeats forever: pass steps_per_epoch"):
        t.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"batch_size": 0}, "batch_size=0"),
        ({"steps_per_epoch": -1}, "steps_per_epoch=-1"),
        ({"epochs": 0}, "epochs=0"),
    ],
)
def test_bad_fit_numbers_name_the_argument(kwargs, match):
    import keras_lstm_opt as klo

    x, y = _data()
    with pytest.raises(klo.errors.UsageError, match=match):
        _trainer().fit(x, y, **{"batch_size": 8, **kwargs})
