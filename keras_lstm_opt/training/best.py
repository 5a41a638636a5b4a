"""The best epoch by `train.monitor`, across resumed processes, and restoring it.

`checkpoints/best.weights.h5` holds the weights of the best epoch so far (by
`train.monitor`), written with each backup and when training ends (not at each better
epoch: 70 MB per epoch of 2 s with a text model's hashed tables), so that it always
matches the newest backup: a run resumed from it re-runs the epochs after it, and
`history.csv` drops their rows (`drop_epochs_from`). `history.csv` holds every epoch of
the run, resumed ones included.
At the end of a run `BestWeights` restores the best weights when a later epoch was worse
(as Keras's `restore_best_weights` does within one process) and says so in one log line.

Example:

    best = best_epoch("runs/x/history.csv", "val_loss", "min")   # (4, 0.131) or None
"""

from __future__ import annotations

import csv
import logging
import math
import os
from typing import Any

import keras

from keras_lstm_opt.io.atomic import publish_file

log = logging.getLogger("keras_lstm_opt")


def monitor_mode(monitor: str) -> str:
    """ "max" for accuracies, else "min"."""
    return "max" if "accuracy" in monitor else "min"


def read_history(path: str) -> list[dict[str, float]]:
    """Rows of a Keras CSVLogger file as floats (empty if there is none)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        try:
            out.append({k: float(v) for k, v in row.items() if k and v not in (None, "")})
        except ValueError:
            continue
    return out


def drop_epochs_from(history: str, epoch: int) -> int:
    """Remove the rows of epochs `epoch` and later from `history` (a CSVLogger file):
    a run resumed from a backup of an earlier step runs them again. Returns how many."""
    if not os.path.exists(history):
        return 0
    with open(history, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows or "epoch" not in rows[0]:
        return 0
    col = rows[0].index("epoch")
    kept = [rows[0]] + [r for r in rows[1:] if not (r[col].isdigit() and int(r[col]) >= epoch)]
    if len(kept) == len(rows):
        return 0
    partial = history + ".partial"
    with open(partial, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(kept)
    publish_file(partial, history)
    return len(rows) - len(kept)


def best_epoch(
    history: str, monitor: str, mode: str, before: int | None = None
) -> tuple[int, float] | None:
    """(epoch, value) of the best `monitor` value in `history` (a CSVLogger file), of
    the epochs before `before` if given (a resumed run runs the later ones again)."""
    scored = [
        (int(r["epoch"]), r[monitor])
        for r in read_history(history)
        if monitor in r and math.isfinite(r[monitor]) and (before is None or r["epoch"] < before)
    ]
    if not scored:
        return None
    pick = max if mode == "max" else min
    return pick(scored, key=lambda item: item[1])


class BestWeights(keras.callbacks.Callback):
    """Keeps the best epoch's weights by `monitor` and restores them at the end of
    training when a later epoch was worse (one log line), like Keras's
    `restore_best_weights`, but across a resume: `previous` is the best (epoch, value)
    of the earlier processes of the run (from history.csv) and `previous_weights` the
    file that holds its weights (checkpoints/best.weights.h5, written by then).

    Args:
        monitor: the logged metric (e.g. "val_loss").
        enabled: restore (True) or only report (False).
        previous: (epoch, value) from before a resume, or None.
        previous_weights: weights file of `previous`.
        path: where this process writes the best weights (with each backup, through
            `on_backup`, and at the end), or None.
    """

    def __init__(
        self,
        monitor: str,
        enabled: bool = True,
        previous: tuple[int, float] | None = None,
        previous_weights: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__()
        self.monitor, self.enabled = monitor, enabled
        self.mode = monitor_mode(monitor)
        self.best = previous
        self.best_weights: list[Any] | None = None
        self.previous_weights = previous_weights
        self.path = path
        self._unwritten = False  # a better epoch than the file holds
        self._at_best = False  # the model holds the best epoch's weights now
        self.last: tuple[int, float] | None = None
        self.restored = False
        self.best_logs: dict[str, float] = {}
        self.last_logs: dict[str, float] = {}

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best[1] if self.mode == "max" else value < self.best[1]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        self.last = (epoch, float(value))
        self.last_logs = {k: float(v) for k, v in (logs or {}).items()}
        if self._better(float(value)):
            self.best = (epoch, float(value))
            self.best_weights = self.model.get_weights()
            self.best_logs = dict(self.last_logs)
            self._unwritten = True
            self._at_best = True

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._at_best = False  # the model's weights move on from the best epoch's

    def on_backup(self) -> None:
        """The loop saved a backup: the best weights so far go to `path` beside it."""
        if not self._unwritten or self.path is None or self.best_weights is None:
            return
        # the model holds them only at the best epoch's own end (a backup mid-epoch, or
        # after a worse epoch, comes later): else write them, then go on from the current
        current = None if self._at_best else self.model.get_weights()
        if current is not None:
            self.model.set_weights(self.best_weights)
        try:
            save_weights(self.model, self.path)
        finally:
            if current is not None:
                self.model.set_weights(current)
        self._unwritten = False

    @property
    def kept_logs(self) -> dict[str, float]:
        """The epoch logs of the weights the model ends with (empty if not known here:
        a best epoch from before a resume)."""
        return self.best_logs if self.restored else self.last_logs

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.on_backup()
        if self.best is None or self.last is None or self.best[0] == self.last[0]:
            return
        (b, bv), (e, ev), m = self.best, self.last, self.monitor
        if not self.enabled:
            log.info(
                "keeping the last epoch's weights: epoch %d (%s %.4f); the best was "
                "epoch %d (%s %.4f)",
                e + 1,
                m,
                ev,
                b + 1,
                m,
                bv,
            )
            return
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        elif self.previous_weights and os.path.exists(self.previous_weights):
            # without the optimizer's variables (older run directories have them)
            try:
                self.model.load_weights(
                    self.previous_weights, objects_to_skip=[self.model.optimizer]
                )
            except (TypeError, ValueError) as exc:  # a Keras before `objects_to_skip`
                if "objects_to_skip" not in str(exc) and "keyword" not in str(exc):
                    raise
                self.model.load_weights(self.previous_weights)
        else:
            log.warning("the best epoch's weights are missing; keeping the last epoch's")
            return
        self.restored = True
        log.info(
            "restored the best weights: epoch %d (%s %.4f) instead of the last, epoch %d (%s %.4f)",
            b + 1,
            m,
            bv,
            e + 1,
            m,
            ev,
        )

    def summary(self) -> dict[str, Any]:
        """What metrics.json records about best and last epochs."""
        if self.best is None or self.last is None:
            return {"weights": "last"}
        m = self.monitor
        return {
            "monitor": m,
            "best_epoch": self.best[0] + 1,
            f"best_{m}": self.best[1],
            "last_epoch": self.last[0] + 1,
            f"last_{m}": self.last[1],
            "weights": "best" if self.restored else "last",
        }


def save_weights(model: keras.Model, path: str) -> None:
    """`model`'s weights to `path`, written beside it and then renamed over it (a crash
    mid-write never leaves half a file), without the optimizer's variables (Keras's
    `save_weights` adds them: twice the model again with Adam; the backup keeps them)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    partial = path[: -len(".weights.h5")] + ".partial.weights.h5"
    try:
        keras.saving.save_weights(model, partial, overwrite=True, objects_to_skip=[model.optimizer])
    except TypeError:  # a Keras before `objects_to_skip` (setup.cfg allows 3.3): all
        model.save_weights(partial, overwrite=True)
    publish_file(partial, path)
