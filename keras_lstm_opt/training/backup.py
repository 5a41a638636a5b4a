"""Preemption-safe backups: model, optimizer and step, every N steps and at epoch ends.

Every worker saves (tf.distribute needs all of them to take part); only the chief
saves into the run's `backup/` directory, the others into private temporary
directories that `close` removes. A save writes new files and then switches the
`checkpoint` index file, so a crash mid-save leaves the previous backup as the newest.
All workers restore from the chief's directory (same host or a shared file system).

Example:

    backup = Backup(model, "runs/x/backup", is_chief=True, resume=True)
    start_step = backup.restore()   # 0 for a fresh run
    ...
    backup.save(step)
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from typing import Any

import tensorflow as tf

log = logging.getLogger("keras_lstm_opt")


class Backup:
    """Args:
        model: a compiled Keras model (its optimizer is saved too).
        directory: the run's backup directory (the chief writes here).
        is_chief: whether this process writes the real backup.
        resume: whether `restore` may load an existing backup.
    """

    def __init__(self, model: Any, directory: str, is_chief: bool = True,
                 resume: bool = True) -> None:
        self.directory = directory
        self.resume = resume
        self.resumed_step = 0
        self.restore_seconds = 0.0
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="backup_step")
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=self.step)
        self._private = None if is_chief else tempfile.mkdtemp(prefix="klo-backup-")
        self.manager = tf.train.CheckpointManager(self.checkpoint, self._private or directory,
                                                  max_to_keep=1)

    def restore(self) -> int:
        """Load the newest backup if resuming; return the number of finished steps."""
        began = time.perf_counter()
        latest = tf.train.latest_checkpoint(self.directory) if self.resume else None
        if not latest:
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        step = self.resumed_step = int(self.step.numpy())
        self.restore_seconds = time.perf_counter() - began
        log.info("resuming from the backup %s at step %d (restored in %.2f s)", latest, step,
                 self.restore_seconds)
        return step

    def save(self, step: int) -> None:
        self.step.assign(step)
        self.manager.save(checkpoint_number=step)

    def close(self, remove_backup: bool) -> None:
        """Drop a worker's private copy; the chief's backup goes when the run finished."""
        if self._private:
            shutil.rmtree(self._private, ignore_errors=True)
        elif remove_backup and "://" in self.directory:
            if tf.io.gfile.exists(self.directory):
                tf.io.gfile.rmtree(self.directory)
        elif remove_backup:
            shutil.rmtree(self.directory, ignore_errors=True)
