"""When backups are written: by the chief's clock (`backup_every_seconds`), the first epoch
end always, every epoch end with 0; best.weights.h5 goes with them; a run resumed from a
backup before its last epochs drops their rows from history.csv and runs them again."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest

from .test_trainer import _build, _data, _trainer


def test_a_long_interval_saves_the_first_epoch_end_only(tmp_path, saved_backups):
    x, y = _data()  # 96 rows, batch 16: 6 steps an epoch
    metrics = _trainer(str(tmp_path / "run"), backup_every_seconds=3600.0).fit(x, y, 16, 4)
    assert saved_backups == [6] and metrics["backups_saved"] == 1 and metrics["backup_seconds"] > 0


def test_zero_seconds_saves_every_epoch_end(tmp_path, saved_backups):
    x, y = _data()
    _trainer(str(tmp_path / "run"), backup_every_seconds=0.0).fit(x, y, 16, 3)
    assert saved_backups == [6, 12, 18]


def test_a_due_backup_is_saved_mid_epoch_and_at_most_every_20_saves_durations(
    tmp_path, saved_backups
):
    import keras

    from keras_lstm_opt.training.backup import Backup

    durations: list[tuple[float, float]] = []  # (began, ended) of each save
    recording = Backup.save

    def timed(self, step):  # noqa: ANN001, ANN202
        began = time.perf_counter()
        recording(self, step)
        durations.append((began, time.perf_counter()))

    Backup.save = timed  # monkeypatch (the fixture) puts the real one back
    try:

        class Slow(keras.callbacks.Callback):  # steps of 60 ms: backups fall mid-epoch
            def on_train_batch_end(self, batch, logs=None):  # noqa: ANN001, ANN201
                time.sleep(0.06)

        x, y = _data(192)  # 12 steps an epoch
        t = _trainer(str(tmp_path / "run"), backup_every_seconds=0.1)
        t.fit(x, y, 16, 8, callbacks=[Slow()])  # 6 s at least: a save of 0.3 s waits 6 s
    finally:
        Backup.save = recording
    saved = saved_backups
    assert len(saved) >= 2 and any(s % 12 for s in saved), saved  # after steps, not epochs
    for (_, end), (began, _), (b0, e0) in zip(durations, durations[1:], durations, strict=False):
        # a save starts after the step that the flag rode on: the gap is the wait at least
        assert began - end >= max(0.1, 20 * (e0 - b0)) - 1e-3, durations


def _rows(run) -> list[dict[str, str]]:
    with open(run / "history.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_resumed_run_drops_the_rows_after_its_backup_and_keeps_the_best_file_in_step(tmp_path):
    import keras

    run = tmp_path / "run"
    best = run / "checkpoints" / "best.weights.h5"
    seen: dict[int, bool] = {}
    first: list[np.ndarray] = []

    class Crash(keras.callbacks.Callback):  # a crash after epoch 3's row, no backup since 1
        def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001, ANN201
            seen[epoch] = best.exists()
            if epoch == 0:
                first.extend(self.model.get_weights())
            if epoch == 2:
                raise RuntimeError("crash")

    def trainer():  # noqa: ANN202
        opts = {"backup_every_seconds": 3600.0, "monitor": "val_loss"}
        return _trainer(str(run), restore_best_weights=True, **opts)

    x, y = _data()
    with pytest.raises(RuntimeError, match="crash"):
        trainer().fit(x, y, 16, 5, validation_data=(x, y), callbacks=[Crash()])
    assert [r["epoch"] for r in _rows(run)] == ["0", "1", "2"]
    assert seen == {0: False, 1: True, 2: True}  # written with the first epoch's backup
    held = _build()
    held.load_weights(str(best))  # epoch 1's, the one the backup was saved with
    for a, b in zip(held.get_weights(), first, strict=True):
        np.testing.assert_array_equal(a, b)

    again = trainer()
    metrics = again.fit(x, y, 16, 5, validation_data=(x, y))
    assert metrics["resumed_from_step"] == 6
    assert [r["epoch"] for r in _rows(run)] == ["0", "1", "2", "3", "4"]  # once each
    kept = _build()
    kept.load_weights(str(best))  # the best epoch's, which the model ends with
    for a, b in zip(kept.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_drop_epochs_from_keeps_the_header_and_the_earlier_rows(tmp_path):
    from keras_lstm_opt.training.best import drop_epochs_from

    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,1.0\n1,0.5\n2,0.4\n1,0.45\n", encoding="utf-8")
    assert drop_epochs_from(str(path), 1) == 3
    assert path.read_text(encoding="utf-8").splitlines() == ["epoch,loss", "0,1.0"]
    assert drop_epochs_from(str(path), 1) == 0
    assert drop_epochs_from(str(tmp_path / "none.csv"), 0) == 0


def test_a_backup_mid_epoch_writes_the_best_epochs_weights_not_the_current(tmp_path):
    import keras

    run = tmp_path / "run"
    best = run / "checkpoints" / "best.weights.h5"
    at_end: dict[int, list[np.ndarray]] = {}
    losses: dict[int, float] = {}
    in_file: list[np.ndarray] = []

    class Look(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001, ANN201
            at_end[epoch], losses[epoch] = self.model.get_weights(), logs["loss"]
            if epoch == 2:  # before its own backup: the file is the step-15 backup's
                held = _build()
                held.load_weights(str(best))
                in_file.extend(held.get_weights())

    x, y = _data()  # 6 steps an epoch: backups at step 6 (the first epoch end) and 15
    t = _trainer(str(run), backup_every_seconds=3600.0, backup_every_steps=15, monitor="loss")
    t.fit(x, y, 16, 3, callbacks=[Look()])
    assert losses[1] < losses[0]  # the second epoch was the best at step 15, mid-third
    for a, b in zip(in_file, at_end[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_best_epoch_reads_only_the_epochs_before_a_resume(tmp_path):
    from keras_lstm_opt.training.best import best_epoch

    path = tmp_path / "history.csv"
    path.write_text("epoch,val_loss\n0,1.0\n1,0.5\n2,0.4\n", encoding="utf-8")
    assert best_epoch(str(path), "val_loss", "min") == (2, 0.4)
    assert best_epoch(str(path), "val_loss", "min", before=2) == (1, 0.5)
    assert best_epoch(str(path), "val_loss", "min", before=0) is None


def test_a_resumed_process_saves_at_its_first_epoch_end_too(tmp_path, saved_backups):
    import keras

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001, ANN201
            if epoch == 1:
                raise RuntimeError("crash")

    x, y = _data()
    run = str(tmp_path / "run")
    with pytest.raises(RuntimeError, match="crash"):
        _trainer(run, backup_every_seconds=3600.0).fit(x, y, 16, 4, callbacks=[Crash()])
    assert saved_backups == [6]
    metrics = _trainer(run, backup_every_seconds=3600.0).fit(x, y, 16, 4)
    assert metrics["resumed_from_step"] == 6 and saved_backups == [6, 12]  # at its first end


@pytest.mark.parametrize("bad", [float("nan"), -1.0])
def test_a_backup_interval_that_is_not_a_number_of_seconds_is_refused(bad):
    import keras_lstm_opt as klo

    with pytest.raises(klo.errors.UsageError, match="backup_every_seconds"):
        klo.LoopOptions(backup_every_seconds=bad)
    with pytest.raises(klo.errors.ConfigError, match="train.backup_every_seconds"):
        klo.load_config(None, [f"train.backup_every_seconds={bad}"])
