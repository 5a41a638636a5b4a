"""Atomic local writes: a file is there whole, or the one before it is.

A file is written under a unique temporary name beside its destination (so two
processes writing the same file never share a temporary), flushed and fsync'ed, renamed
over the destination, and the directory fsync'ed, so the rename survives a power cut.
A write that fails or is interrupted removes its temporary file.

Example:

    write_json("runs/a/metrics.json", {"val_accuracy": 0.95})
    with atomic_path("runs/a/model.keras") as tmp:   # for writers that take a path
        model.save(tmp)
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

TMP_SUFFIX = ".tmp"


def temp_name(path: str) -> str:
    """A unique sibling of `path` for writing it: `.NAME.PID.RANDOM.tmp` (same extension
    before `.tmp` kept out, so writers that check the extension see `path`'s own)."""
    head, name = os.path.split(path)
    return os.path.join(head, f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")


def fsync_dir(directory: str) -> None:
    """Flush a directory's entries (a rename in it) to disk; a no-op where not supported."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(tmp: str, path: str) -> None:
    """Rename a finished, fsync'ed `tmp` over `path`, then fsync the directory."""
    os.replace(tmp, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)))


def publish_file(tmp: str, path: str) -> None:
    """fsync a finished `tmp` written by another writer, then rename it over `path`."""
    _fsync_file(tmp)
    replace(tmp, path)


@contextmanager
def atomic_path(path: str, suffix: str = "") -> Iterator[str]:
    """A temporary path to write `path` through, for writers that take a file name
    (model.save, shutil.copyfile); published on success, removed on failure. `suffix`
    is appended to the temporary name for writers that check the extension (".keras")."""
    tmp = temp_name(path) + suffix
    try:
        yield tmp
        if os.path.isfile(tmp):
            _fsync_file(tmp)
        replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_open(path: str, mode: str = "w", newline: str | None = None) -> Iterator[IO[Any]]:
    """open() for writing `path` atomically (text modes are UTF-8)."""
    with atomic_path(path) as tmp:
        encoding = None if "b" in mode else "utf-8"
        with open(tmp, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


def json_safe(value: Any) -> Any:
    """NumPy scalars as Python numbers, NaN and infinities as strings, recursively."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_json(path: str, data: Any, **dump: Any) -> None:
    """Write `data` as JSON to `path` atomically (indent 2, sorted keys unless told)."""
    dump = {"indent": 2, "sort_keys": True, **dump}
    with atomic_open(path) as fh:
        json.dump(json_safe(data), fh, **dump)
        fh.write("\n")
