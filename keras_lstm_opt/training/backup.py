"""Preemption-safe backups: model, optimizer and step, when the loop says (training/loop.py).

Every worker saves (tf.distribute needs all of them to take part); only the chief
saves into the run's `backup/` directory, the others into private temporary
directories that `close` removes. A save writes new files and then switches the
`checkpoint` index file, so a crash mid-save leaves the previous backup as the newest;
the newest `train.keep_backups` are kept, and `restore` falls back to an older one (or
to the `train.backup_copy_to` copy) when the newest cannot be read, and says which it
loaded. All workers restore from the chief's directory (same host or a shared file
system).

Example:

    backup = Backup(model, "runs/x/backup", is_chief=True, resume=True)
    start_step = backup.restore()   # 0 for a fresh run
    ...
    backup.save(step)

With `directory=None` (a Trainer without a run directory) nothing is saved and there is
nothing to resume or roll back to.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time

import keras
import tensorflow as tf

from keras_lstm_opt.errors import RunDirError
from keras_lstm_opt.io import fs, tempdirs
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.io.sync import pull_dir

log = logging.getLogger("keras_lstm_opt")


class Backup:
    """Args:
    model: a compiled Keras model (its optimizer is saved too).
    directory: the run's backup directory (the chief writes here); None = no backups.
    is_chief: whether this process writes the real backup.
    resume: whether `restore` may load an existing backup.
    keep: how many of the newest backups to keep.
    copy_to: a second directory (local or remote) that gets a copy of every backup.
    """

    def __init__(
        self,
        model: keras.Model,
        directory: str | None,
        is_chief: bool = True,
        resume: bool = True,
        keep: int = 2,
        copy_to: str | None = None,
    ) -> None:
        self.directory = directory
        self.is_chief = is_chief
        self.resume = resume
        self.copy_to = copy_to if is_chief else None
        self.resumed_step = 0
        self.restore_seconds = 0.0
        self.restored_from: str | None = None
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="backup_step")
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=self.step)
        # TensorFlow saves and reads checkpoints only on its own file systems: a directory
        # it cannot open (s3:// through s3fs) is worked on in a local mirror, pulled from
        # the remote directory to resume and pushed to it after every save
        self._temps: list[str] = []
        self._pulled: dict[str, str] = {}
        self.remote = directory if directory and not fs.native(directory) else None
        local = self._pull(directory) if self.remote and directory else directory
        self._private = None if is_chief or directory is None else self._temp("backup")
        self.manager = (
            tf.train.CheckpointManager(self.checkpoint, self._private or local, max_to_keep=keep)
            if local
            else None
        )

    def _temp(self, prefix: str) -> str:
        self._temps.append(tempdirs.make(prefix))
        return self._temps[-1]

    def _pull(self, directory: str) -> str:
        """A local copy of a backup directory TensorFlow cannot read itself (cached)."""
        if directory not in self._pulled:
            local = self._pulled[directory] = self._temp("backup")
            pulled = pull_dir(directory, local) if self.resume else 0
            if pulled:
                log.info("pulled %d backup file(s) from %s", pulled, directory)
        return self._pulled[directory]

    def candidates(self) -> list[str]:
        """Backups listed in the index files, newest first (the copy's after the run's)."""
        out: list[str] = []
        dirs = [d for d in (self.directory, self.copy_to) if d] if self.directory else []
        for d in dirs:
            local = d if fs.native(d) else self._pull(d)
            state = tf.train.get_checkpoint_state(local) if tf.io.gfile.exists(local) else None
            if state:
                out += [
                    p if is_remote(p) or os.path.isabs(p) else os.path.join(local, p)
                    for p in reversed(state.all_model_checkpoint_paths)
                ]
        return out

    def restore(self, force: bool = False) -> int | None:
        """Load the newest readable backup if resuming (or `force`, for a rollback);
        return its finished steps: 0 when there is none, or None when forced."""
        began = time.perf_counter()
        for path in self.candidates() if self.resume or force else []:
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except (tf.errors.OpError, IndexError, OSError) as exc:  # torn or missing
                log.warning(
                    "backup %s is unreadable (%s); trying the one before",
                    path,
                    str(exc).splitlines()[0][:200],
                )
                continue
            except (ValueError, AssertionError) as exc:  # a backup of another model
                raise RunDirError(
                    f"{path} is a backup of another model or optimizer "
                    f"({str(exc).splitlines()[0][:200]}); train into another run "
                    "directory, or delete this one's backup/"
                ) from None
            step = self.resumed_step = int(self.step.numpy())
            self.restore_seconds = time.perf_counter() - began
            self.restored_from = self._origin(path)
            log.info(
                "resuming from the backup %s at step %d (restored in %.2f s)",
                self.restored_from,
                step,
                self.restore_seconds,
            )
            return step
        return None if force else 0

    def _origin(self, path: str) -> str:
        """Where a backup came from: the remote directory for a pulled copy."""
        for remote, local in self._pulled.items():
            if path.startswith(local + os.sep):
                return remote.rstrip("/") + "/" + os.path.basename(path)
        return path

    def save(self, step: int) -> None:
        """Data files first, then the index: a crash mid-save leaves the previous newest."""
        if self.manager is None:
            return
        self.step.assign(step)
        path = self.manager.save(checkpoint_number=step)
        kept = [os.path.basename(p) for p in self.manager.checkpoints]
        for dest in (self.remote if self.is_chief else None, self.copy_to):
            if dest:
                _push(path, kept, dest)

    def close(self, remove_backup: bool) -> None:
        """Drop a worker's private copy; the chief's backup goes when the run finished."""
        for d in self._temps:
            shutil.rmtree(d, ignore_errors=True)
        if not self.is_chief or self.directory is None:
            return
        if remove_backup:
            fs.rmtree(self.directory)


def _push(path: str, kept: list[str], dest: str) -> None:
    """Copy the backup `path` (its data files, then an index of `kept`) to `dest`, and
    remove backups there that are no longer kept."""
    fs.makedirs(dest)
    base = dest.rstrip("/") + "/"
    for f in fs.glob(path + ".*"):
        fs.copy(f, base + os.path.basename(f))
    with tempfile.TemporaryDirectory() as tmp:  # the CheckpointState text proto
        index = os.path.join(tmp, "checkpoint")
        with open(index, "w", encoding="utf-8") as fh:
            fh.write(f'model_checkpoint_path: "{os.path.basename(path)}"\n')
            fh.writelines(f'all_model_checkpoint_paths: "{k}"\n' for k in kept)
        fs.put(index, base + "checkpoint")
    for f in fs.glob(base + "ckpt-*"):
        if os.path.basename(f).split(".")[0] not in kept:
            fs.remove(f)
