"""A local run directory mirrored to a remote one (s3://, hdfs://) and back.

A run that writes to a remote run directory writes a local staging copy and syncs it:
metrics.json (the run's success marker) last, unchanged files not again; a resumed run
pulls the remote files first.

Example:

    sync_dir("/tmp/klo-stage-1-x", "s3://bucket/runs/a")
    pull_dir("s3://bucket/runs/a", "/tmp/klo-stage-2-y")
"""

from __future__ import annotations

import os

from keras_lstm_opt.io import fs
from keras_lstm_opt.io.atomic import TMP_SUFFIX


def sync_dir(
    local: str,
    remote: str,
    last: tuple[str, ...] = ("metrics.json",),
    seen: dict[str, tuple[int, float]] | None = None,
    skip: tuple[str, ...] = (),
) -> int:
    """Copy a staged run directory to a remote one (s3://, hdfs://), `last` files last
    (metrics.json is the run's success marker); return the number of files copied.

    With `seen` (file -> (size, mtime), updated here), files unchanged since the last
    call are not copied again; names in `skip` (top-level entries) are left out.
    """
    files = []
    for root, _, names in os.walk(local):
        files += [os.path.join(root, n) for n in names if not n.endswith(TMP_SUFFIX)]
    files = [f for f in files if os.path.relpath(f, local).split(os.sep)[0] not in skip]
    files.sort(key=lambda f: os.path.basename(f) in last)
    copied = 0
    for f in files:
        st = os.stat(f)
        if seen is not None and seen.get(f) == (st.st_size, st.st_mtime):
            continue
        dst = remote.rstrip("/") + "/" + os.path.relpath(f, local).replace(os.sep, "/")
        fs.makedirs(dst.rsplit("/", 1)[0])
        fs.put(f, dst)
        copied += 1
        if seen is not None:
            seen[f] = (st.st_size, st.st_mtime)
    return copied


def pull_dir(remote: str, local: str, skip: tuple[str, ...] = ()) -> int:
    """Copy a remote run directory's files into a local one (for a resumed, staged run);
    names in `skip` (top-level entries) are left out; return the number copied."""
    if not fs.isdir(remote):
        return 0
    names = [n for n in fs.walk_files(remote) if n.split("/")[0] not in skip]
    for n in names:
        fs.get(remote.rstrip("/") + "/" + n, os.path.join(local, *n.split("/")))
    return len(names)
