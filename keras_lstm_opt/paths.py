"""Remote or local: the one question every layer asks about a path, without TensorFlow.

Example:

    is_remote("s3://bucket/runs/a")   # True
    is_remote("runs/a")               # False
"""

from __future__ import annotations

REMOTE_SCHEMES = ("s3://", "hdfs://", "gs://", "viewfs://", "har://")


def is_remote(path: str) -> bool:
    """Whether `path` names a remote file system TensorFlow reaches through a plugin."""
    return path.startswith(REMOTE_SCHEMES)
