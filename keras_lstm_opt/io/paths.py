"""Remote or local: the one question every layer asks about a path, without TensorFlow.

Example:

    is_remote("s3://bucket/runs/a")   # True
    is_remote("runs/a")               # False
"""

from __future__ import annotations

import os

REMOTE_SCHEMES = ("s3://", "hdfs://", "gs://", "viewfs://", "har://")


def is_remote(path: str) -> bool:
    """Whether `path` names a remote file system TensorFlow reaches through a plugin."""
    return path.startswith(REMOTE_SCHEMES)


def join(run_dir: str, name: str) -> str:
    """`run_dir/name`: os.path.join locally, with "/" on a remote file system."""
    return run_dir.rstrip("/") + "/" + name if is_remote(run_dir) else os.path.join(run_dir, name)
