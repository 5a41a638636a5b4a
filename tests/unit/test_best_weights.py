"""The best epoch's weights by train.monitor end the run (also across a resume), and
early stopping and the restore each say so in one log line (issue 14, finding 8)."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest

from keras_lstm_opt.training.best import BestWeights, best_epoch


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    return model


def _shift(model: keras.Model, by: float) -> None:
    model.set_weights([w + by for w in model.get_weights()])


def test_a_worse_last_epoch_gives_way_to_the_best(caplog):
    model = _model()
    cb = BestWeights("val_loss")
    cb.set_model(model)
    cb.on_epoch_end(0, {"val_loss": 0.9})
    _shift(model, 1.0)
    cb.on_epoch_end(1, {"val_loss": 0.5, "loss": 0.3})  # the best
    best = [w.copy() for w in model.get_weights()]
    _shift(model, 1.0)
    cb.on_epoch_end(2, {"val_loss": 0.7, "loss": 0.2})
    with caplog.at_level(logging.INFO, logger="keras_lstm_opt"):
        cb.on_train_end()
    for got, want in zip(model.get_weights(), best, strict=True):
        np.testing.assert_array_equal(got, want)
    lines = [r.getMessage() for r in caplog.records if "restored the best" in r.getMessage()]
    assert lines == [
        "restored the best weights: epoch 2 (val_loss 0.5000) instead of the "
        "last, epoch 3 (val_loss 0.7000)"
    ]
    assert cb.kept_logs["loss"] == 0.3  # metrics.json's training loss: the kept epoch's
    assert cb.summary() == {
        "monitor": "val_loss",
        "best_epoch": 2,
        "best_val_loss": 0.5,
        "last_epoch": 3,
        "last_val_loss": 0.7,
        "weights": "best",
    }


def test_accuracy_is_maximised_and_disabled_only_reports(caplog):
    model = _model()
    cb = BestWeights("val_accuracy", enabled=False)
    cb.set_model(model)
    cb.on_epoch_end(0, {"val_accuracy": 0.8})
    _shift(model, 1.0)
    last = [w.copy() for w in model.get_weights()]
    cb.on_epoch_end(1, {"val_accuracy": 0.6})
    with caplog.at_level(logging.INFO, logger="keras_lstm_opt"):
        cb.on_train_end()
    for got, want in zip(model.get_weights(), last, strict=True):
        np.testing.assert_array_equal(got, want)
    assert cb.summary()["weights"] == "last" and cb.summary()["best_epoch"] == 1
    assert any("keeping the last epoch's weights" in r.getMessage() for r in caplog.records)


def test_after_a_resume_the_earlier_process_best_comes_from_its_file(tmp_path):
    """The best epoch was before the resume: its weights are read from best.weights.h5."""
    model = _model()
    path = str(tmp_path / "best.weights.h5")
    model.save_weights(path)
    saved = [w.copy() for w in model.get_weights()]
    history = tmp_path / "history.csv"
    history.write_text("epoch,loss,val_loss\n0,1.0,0.40\n1,0.9,0.45\n")
    previous = best_epoch(str(history), "val_loss", "min")
    assert previous == (0, 0.40)
    _shift(model, 2.0)  # the resumed process trains on
    cb = BestWeights("val_loss", previous=previous, previous_weights=path)
    cb.set_model(model)
    cb.on_epoch_end(2, {"val_loss": 0.50})
    cb.on_train_end()
    for got, want in zip(model.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(got, want)
    assert cb.summary()["best_epoch"] == 1 and cb.summary()["weights"] == "best"


@pytest.mark.slow
def test_fit_logs_early_stopping_and_the_restore_and_records_both(text_dir, tmp_path, caplog):
    """A learning rate too small to change any prediction: val_accuracy never improves,
    so patience 1 stops after epoch 2 and epoch 1's weights are restored."""
    from keras_lstm_opt.experiment import fit

    with caplog.at_level(logging.INFO, logger="keras_lstm_opt"):
        m = fit(
            None,
            run_dir=str(tmp_path / "run"),
            overrides=[
                f"data.path={text_dir}",
                "train.epochs=5",
                "train.learning_rate=1e-12",
                "train.monitor=val_accuracy",
                "train.early_stopping_patience=1",
                "model.units=8",
            ],
        )
    messages = [r.getMessage() for r in caplog.records]
    assert (
        sum(
            "early stopping after epoch 2: val_accuracy did not improve for 1 epoch" in x
            for x in messages
        )
        == 1
    )
    assert sum("restored the best weights: epoch 1" in x for x in messages) == 1
    assert m["epochs_completed"] == 2 and m["weights"] == "best"
    assert m["best_epoch"] == 1 and m["last_epoch"] == 2
    assert m["best_val_accuracy"] == m["last_val_accuracy"] == m["val_accuracy"]
