"""Check that an output path can be written, before any work is done.

A command that reads 200 MB first and then finds its output directory read-only wastes
the user's time and ends in a traceback. `check_writable` is called first thing:

- a local path: the nearest existing ancestor must be a directory in which a file can
  really be created (a temporary file is created and removed: `os.access` says yes to
  root on a read-only mount);
- s3:// (through s3fs): the bucket must answer (`storage.check_paths`) and a small
  object must be put and removed beside the output;
- other remote schemes: only reachability (`storage.check_paths`).

It raises `UnwritablePathError` (exit 2) with one line, "cannot write <what> <path>:
<reason>".

Example:

    check_writable("data/wordnet", "the data directory (--out)")
    check_writable("preds/out.csv", "the predictions file (--out)", file=True)
"""

from __future__ import annotations

import errno
import os
import tempfile
import uuid
from typing import NoReturn

from keras_lstm_opt.errors import UnwritablePathError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.paths import is_remote
from keras_lstm_opt.signals_deferred import deferred

PROBE = ".klo-write-check-"


def check_writable(path: str, what: str, *, file: bool = False) -> None:
    """Raise `UnwritablePathError` unless `path` (a directory, or with `file` a file)
    can be created or replaced here.

    Args:
        path: the output, local or remote; it need not exist yet.
        what: what it is, for the message ("the data directory (--out)").
        file: the output is a file (its directory is checked), not a directory.
    """
    if is_remote(path):
        _check_remote(path, what, file)
        return
    target = os.path.abspath(path)
    if os.path.isdir(target):
        if file:
            _fail(what, path, "it is a directory; give a file name")
        where = target
    elif os.path.lexists(target):
        if not file:
            _fail(what, path, "it is a file, not a directory")
        where = os.path.dirname(target)
    else:
        where = os.path.dirname(target)
    while not os.path.lexists(where):
        where = os.path.dirname(where)
    if not os.path.isdir(where):
        _fail(what, path, f"{where} is a file, not a directory")
    with deferred():  # a SIGINT/SIGTERM waits: no probe file left behind
        try:
            fd, probe = tempfile.mkstemp(prefix=PROBE, dir=where)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if exc.errno == errno.ENOENT:  # /proc and the like: the directory holds no files
                reason = "no file can be created there"
            _fail(what, path, reason if where == target else f"{where}: {reason}")
        os.close(fd)
        os.remove(probe)


def _check_remote(path: str, what: str, file: bool) -> None:
    from keras_lstm_opt.io.storage import check_paths, error_text

    check_paths({what: path})  # endpoint, credentials, bucket: StorageError naming them
    if not fs.s3fs_path(path):
        return
    base = path.rstrip("/").rsplit("/", 1)[0] if file else path.rstrip("/")
    probe = f"{base}/{PROBE}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    client = fs.s3()
    try:
        client.pipe_file(probe, b"")
    except Exception as exc:  # noqa: BLE001  (s3fs: PermissionError, OSError, botocore)
        _fail(what, path, f"putting a test object was refused ({error_text(exc)[:200]})")
    try:
        client.rm_file(probe)
    except Exception as exc:  # noqa: BLE001
        _fail(
            what,
            path,
            f"a test object could be put but not removed ({probe}: {error_text(exc)[:200]})",
        )


def _fail(what: str, path: str, reason: str) -> NoReturn:
    raise UnwritablePathError(f"cannot write {what} {path}: {reason}")
