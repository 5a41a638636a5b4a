"""One small file-system API for local paths, s3:// (through s3fs) and TensorFlow's own.

Which client opens a path:
- no scheme: the local file system (os, open);
- s3:// : s3fs (fsspec's S3 file system, on botocore), the same client pandas and
  pyarrow use. TensorFlow 2.16+ has no s3:// of its own and tensorflow-io, which
  added it, is unmaintained and stops at TensorFlow 2.16. Setting
  `KLO_S3_CLIENT=tensorflow` (with the `io` extra) routes s3:// through TensorFlow's
  file system instead;
- hdfs://, gs:// and the rest: tf.io.gfile (hdfs:// needs the `io` extra).

`native(path)` says whether TensorFlow's own ops (TFRecordDataset, TFRecordWriter,
checkpoints, tf.data caches) can open the path; for those that cannot, callers stage
through a local file (`put`, `get`).

S3 settings come only from the environment and botocore's usual configuration
(~/.aws/config and credentials): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (a Ceph gateway, MinIO), and, for
continuity with tensorflow-io, S3_ENDPOINT and S3_VERIFY_SSL.

Example:

    with fs.open("s3://bucket/data/schema.json") as fh:
        schema = json.load(fh)
    fs.put("local/model.keras", "s3://bucket/runs/a/model.keras")
"""

from __future__ import annotations

import builtins
import glob as _glob
import os
import shutil
from typing import IO, Any

from keras_lstm_opt.io import atomic
from keras_lstm_opt.io.atomic import atomic_path
from keras_lstm_opt.io.paths import is_remote


def s3fs_path(path: str) -> bool:
    """Whether `path` is opened through s3fs (s3:// unless KLO_S3_CLIENT=tensorflow)."""
    return path.startswith("s3://") and os.environ.get("KLO_S3_CLIENT", "s3fs") != "tensorflow"


def native(path: str) -> bool:
    """Whether TensorFlow's own file ops can open `path` in this process."""
    return not s3fs_path(path)


_FS: dict[tuple[str, ...], Any] = {}


def s3_endpoint() -> str:
    """The S3 endpoint the environment names ('' = AWS's own)."""
    endpoint = (
        os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or os.environ.get("S3_ENDPOINT")
        or ""
    )
    if endpoint and "://" not in endpoint:  # tensorflow-io's S3_ENDPOINT may omit it
        https = os.environ.get("S3_USE_HTTPS", "1") not in ("0", "false")
        endpoint = ("https://" if https else "http://") + endpoint
    return endpoint


def s3() -> Any:
    """The s3fs file system, configured from the environment (one per endpoint)."""
    import s3fs

    endpoint = s3_endpoint()
    key = (
        endpoint,
        *(
            os.environ.get(k, "")
            for k in (
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_PROFILE",
            )
        ),
    )
    if key not in _FS:
        client: dict[str, Any] = {}
        if endpoint:
            client["endpoint_url"] = endpoint
        if os.environ.get("S3_VERIFY_SSL", "1") in ("0", "false"):
            client["verify"] = False
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            client["region_name"] = region
        _FS[key] = s3fs.S3FileSystem(
            client_kwargs=client,
            use_listings_cache=False,
            skip_instance_cache=True,
            config_kwargs={"connect_timeout": 10, "retries": {"max_attempts": 3}},
        )
    return _FS[key]


def _tf() -> Any:
    import tensorflow as tf

    return tf.io.gfile


def _url(p: str) -> str:
    return p if p.startswith("s3://") else "s3://" + p


def exists(path: str) -> bool:
    if s3fs_path(path):
        return bool(s3().exists(path))
    if is_remote(path):
        return bool(_tf().exists(path))
    return os.path.exists(path)


def isdir(path: str) -> bool:
    if s3fs_path(path):
        return bool(s3().isdir(path))
    if is_remote(path):
        return bool(_tf().isdir(path))
    return os.path.isdir(path)


def glob(pattern: str) -> list[str]:
    """Sorted matches of a pattern with * ? [ ] (full paths, scheme kept)."""
    if s3fs_path(pattern):
        return sorted(_url(p) for p in s3().glob(pattern))
    if is_remote(pattern):
        return sorted(_tf().glob(pattern))
    return sorted(_glob.glob(pattern))


def listdir(path: str) -> list[str]:
    """Names (not paths) directly under a directory."""
    if s3fs_path(path):
        return sorted(
            p.rstrip("/").rsplit("/", 1)[-1]
            for p in s3().ls(path, detail=False)
            if p.rstrip("/") != path.removeprefix("s3://").rstrip("/")
        )
    if is_remote(path):
        return sorted(n.rstrip("/") for n in _tf().listdir(path))
    return sorted(os.listdir(path))


def walk_files(path: str) -> list[str]:
    """Every file under a directory, as paths relative to it ('/'-separated)."""
    root = path.rstrip("/")
    if s3fs_path(path):
        base = root.removeprefix("s3://")
        return sorted(p[len(base) + 1 :] for p in s3().find(root) if p.startswith(base + "/"))
    if is_remote(path):
        out = []
        for d, _, names in _tf().walk(root):
            rel = d[len(root) :].strip("/")
            out += [f"{rel}/{n}" if rel else n for n in names]
        return sorted(out)
    out = []
    for d, _, names in os.walk(root):
        rel = os.path.relpath(d, root).replace(os.sep, "/")
        out += [n if rel == "." else f"{rel}/{n}" for n in names]
    return sorted(out)


def makedirs(path: str) -> None:
    """Create a directory and its parents (S3 has no directories: nothing to do)."""
    if s3fs_path(path):
        return
    if is_remote(path):
        _tf().makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)


def open(path: str, mode: str = "r", newline: str | None = None) -> IO[Any]:  # noqa: A001
    """open() for any path; text modes are UTF-8."""
    if s3fs_path(path):
        if "b" in mode:
            return s3().open(path, mode, block_size=8 << 20)
        return s3().open(path, mode, encoding="utf-8", newline=newline)
    if is_remote(path):
        return _tf().GFile(path, mode)
    if "b" in mode:
        return builtins.open(path, mode)
    return builtins.open(path, mode, encoding="utf-8", newline=newline)


def read_text(path: str) -> str:
    """The whole of a (UTF-8) text file, local or remote."""
    with open(path, "r") as fh:
        return str(fh.read())


def info(path: str) -> dict[str, Any]:
    """size, mtime (seconds, or None) and etag (S3 only, else None) of a file."""
    if s3fs_path(path):
        i = s3().info(path)
        when = i.get("LastModified")
        return {
            "size": int(i["size"]),
            "etag": str(i.get("ETag", "")).strip('"') or None,
            "mtime": when.timestamp() if when is not None else None,
        }
    if is_remote(path):
        st = _tf().stat(path)
        return {"size": int(st.length), "mtime": st.mtime_nsec / 1e9, "etag": None}
    st = os.stat(path)
    return {"size": st.st_size, "mtime": st.st_mtime, "etag": None}


def put(local: str, dst: str) -> None:
    """Copy a local file to `dst` (any path); whole or not at all where it can be."""
    if s3fs_path(dst):
        s3().put_file(local, dst)  # one PUT (or a multipart upload): atomic on S3
    elif is_remote(dst):
        _tf().copy(local, dst, overwrite=True)
    else:
        os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
        with atomic_path(dst) as tmp:  # a failed or interrupted copy leaves no half file
            shutil.copyfile(local, tmp)


def get(src: str, local: str) -> None:
    """Copy `src` (any path) to a local file."""
    os.makedirs(os.path.dirname(os.path.abspath(local)), exist_ok=True)
    if s3fs_path(src):
        s3().get_file(src, local)
    elif is_remote(src):
        _tf().copy(src, local, overwrite=True)
    else:
        shutil.copyfile(src, local)


def copy(src: str, dst: str) -> None:
    """Copy one file between any two paths."""
    if not is_remote(src):
        put(src, dst)
    elif not is_remote(dst):
        get(src, dst)
    elif s3fs_path(src) and s3fs_path(dst):
        s3().copy(src, dst)
    elif not s3fs_path(src) and not s3fs_path(dst):
        _tf().copy(src, dst, overwrite=True)
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            get(src, os.path.join(tmp, "f"))
            put(os.path.join(tmp, "f"), dst)


def replace(src: str, dst: str) -> None:
    """Move `src` over `dst` (same file system)."""
    if s3fs_path(dst):
        s3().mv(src, dst)
    elif is_remote(dst):
        _tf().rename(src, dst, overwrite=True)
    else:
        os.replace(src, dst)


def remove(path: str) -> None:
    if s3fs_path(path):
        s3().rm_file(path)
    elif is_remote(path):
        _tf().remove(path)
    else:
        os.remove(path)


def rmtree(path: str) -> None:
    """Remove a directory and everything under it (nothing there: nothing to do)."""
    if s3fs_path(path):
        if s3().exists(path):
            s3().rm(path, recursive=True)
    elif is_remote(path):
        if _tf().exists(path):
            _tf().rmtree(path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def write_targets(paths: list[str]) -> list[str]:
    """Where each file is written before `publish` moves it into place: beside it, or a
    local file when TensorFlow cannot write the destination itself (s3:// through s3fs)."""
    if all(native(p) for p in paths):
        return [atomic.temp_name(p) for p in paths]
    from keras_lstm_opt.io import tempdirs

    tmp = tempdirs.make("shards")
    return [os.path.join(tmp, os.path.basename(p)) for p in paths]


def publish(tmps: list[str], paths: list[str]) -> None:
    """Move finished files into place (for s3://, one atomic PUT each, in parallel)."""
    if all(os.path.dirname(t) == os.path.dirname(p) for t, p in zip(tmps, paths, strict=True)):
        for t, p in zip(tmps, paths, strict=True):
            if is_remote(p):
                replace(t, p)
            else:
                atomic.publish_file(t, p)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, tmps, paths))
    discard(tmps)


def discard(tmps: list[str]) -> None:
    """Remove unfinished files from `write_targets` (and their local directory)."""
    for t in tmps:
        try:
            if exists(t):
                remove(t)
        except Exception:  # noqa: BLE001, S110  (best effort: the write is failing)
            pass
    if tmps and os.path.basename(os.path.dirname(tmps[0])).startswith("klo-shards-"):
        shutil.rmtree(os.path.dirname(tmps[0]), ignore_errors=True)
