"""Remote paths (s3://, hdfs://): check before anything is written that they can be used.

s3:// is opened through s3fs (see `fs`), on any TensorFlow; the check makes one
request to the bucket, so a wrong endpoint, missing credentials or a missing bucket
fail here with one message that names the config key. hdfs:// (and s3:// with
`KLO_S3_CLIENT=tensorflow`) go through TensorFlow's file system, which reaches them
only with tensorflow-io's plugins, whose last release (0.37.1) loads beside
TensorFlow 2.16.x and no other: the `io` extra installs that pair. gs:// is built into
TensorFlow.

S3 settings come from the environment (see `fs`). Credentials are never taken from a
config or a path, so they cannot reach a config dump, a log line or metrics.json;
`redact` masks them in any text we print.

Writers check their output the same way (`check_paths({"out_dir": out_dir})`) before
anything is written, then create, move and open files with `makedirs`, `replace` and
`open_file` below, which take local and remote paths alike.

Example:

    check_paths({"data.path": "s3://bucket/text", "run_dir": "runs/x"})
"""

from __future__ import annotations

import os
import re
from typing import Any

from keras_lstm_opt.errors import StorageError
from keras_lstm_opt.io import fs
from keras_lstm_opt.io.paths import is_remote

NEEDS_PLUGIN = ("s3://", "hdfs://", "viewfs://", "har://")  # gs:// is built in
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")
_used_remote = False


def _needs_plugin(path: str) -> bool:
    return path.startswith(NEEDS_PLUGIN) and fs.native(path)


def _check_s3(key: str, path: str) -> None:
    """One request to the bucket: endpoint, credentials and bucket in a single check."""
    bucket = path.removeprefix("s3://").split("/", 1)[0]
    try:
        import s3fs  # noqa: F401
    except ImportError:
        raise StorageError(f"{key} = {path!r}: s3:// needs s3fs (pip install s3fs)") from None
    client = fs.s3()
    reached = client.__dict__.setdefault("klo_reached_buckets", set())
    if bucket in reached:  # checked with this client (endpoint, credentials) already
        return
    try:
        client.ls(bucket, detail=False)
        reached.add(bucket)
    except FileNotFoundError:
        raise StorageError(
            f"{key} = {path!r}: the bucket {bucket!r} does not exist at "
            f"{_endpoint()}; create it first"
        ) from None
    except PermissionError as exc:
        raise StorageError(
            f"{key} = {path!r}: access to the bucket {bucket!r} at "
            f"{_endpoint()} was refused ({_reason(exc)}); check "
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
        ) from None
    except Exception as exc:  # noqa: BLE001  (botocore: no credentials, no endpoint, ...)
        hint = (
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials)"
            if "Credentials" in type(exc).__name__
            else "check AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) and that the server runs; "
            "from `launch`'s private network, pass --network host to reach the host's "
            "endpoints"
        )
        raise StorageError(
            f"{key} = {path!r} cannot be reached at {_endpoint()}: "
            f"{type(exc).__name__}: {redact(str(exc))[:300]}; {hint}"
        ) from None


def _reason(exc: BaseException) -> str:
    """The S3 error code behind s3fs's OSError (e.g. SignatureDoesNotMatch)."""
    cause = exc.__cause__ or exc.__context__
    code = getattr(cause, "response", {}).get("Error", {}).get("Code") if cause else None
    return str(code or redact(str(exc))[:200])


def _endpoint() -> str:
    return fs.s3_endpoint() or "AWS's default S3 endpoint"


def _install_hint(tf_version: str) -> str:
    return (
        "install the io extra in a fresh environment: pip install "
        '"keras-lstm-opt[io]" (TensorFlow 2.16.2 + tensorflow-io 0.37.1, the last '
        f"pair that works; this environment has TensorFlow {tf_version}), or copy the "
        "files to a local path"
    )


def load_plugins() -> str | None:
    """Import tensorflow-io's file systems; return why they are unusable, or None."""
    import tensorflow as tf

    if not tf.__version__.startswith("2.16."):
        return (
            f"tensorflow-io's file systems load only beside TensorFlow 2.16.x, not {tf.__version__}"
        )
    try:
        import tensorflow_io  # noqa: F401  (registers s3:// and hdfs://)
    except ImportError:
        return "tensorflow-io is not installed"
    except Exception as exc:  # noqa: BLE001  (a plugin that fails to load)
        return f"tensorflow-io failed to load: {exc}"
    return None


def check_paths(paths: dict[str, str | None]) -> None:
    """Fail before training when a remote path cannot be reached by this install.

    Args:
        paths: config key (or "run_dir") -> path; None and local paths are skipped.

    Raises:
        StorageError: naming every unusable key, its path and what to install.
    """
    global _used_remote
    remote = {k: p for k, p in paths.items() if isinstance(p, str) and is_remote(p)}
    for key, path in remote.items():
        if re.match(r"^\w+://[^/@]*:[^/@]*@", path):
            raise StorageError(
                f"{key}: credentials inside a path are not accepted; set "
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY instead"
            )
    for key, path in remote.items():
        if fs.s3fs_path(path):
            _check_s3(key, path)
    plugin_paths = {k: p for k, p in remote.items() if _needs_plugin(p)}
    if not plugin_paths:
        return
    import tensorflow as tf

    why = load_plugins()
    if why is None:
        for key, path in plugin_paths.items():
            try:
                tf.io.gfile.exists(path)
            except tf.errors.UnimplementedError as exc:
                why = f"{exc.message.strip()}"
                break
            except tf.errors.OpError as exc:
                raise StorageError(
                    f"{key}: {path!r} cannot be reached: {redact(exc.message.strip())}"
                ) from None
    if why is not None:
        listed = ", ".join(f"{k} = {p!r}" for k, p in plugin_paths.items())
        raise StorageError(
            f"{listed}: remote paths are not usable here ({why}); " + _install_hint(tf.__version__)
        )
    _used_remote = True


def data_paths(d: Any) -> dict[str, str | None]:
    """The paths of a DataConfig that may be remote."""
    return {
        "data.path": d.path,
        "data.validation_path": d.validation_path,
        "data.cache": None if d.cache in ("memory", "none") else d.cache.removeprefix("snapshot:"),
    }


def config_paths(cfg: Any, run_dir: str | None = None) -> dict[str, str | None]:
    """The paths of an ExperimentConfig (and run directory) that may be remote."""
    return {
        **data_paths(cfg.data),
        "train.backup_copy_to": cfg.train.backup_copy_to,
        "model.pretrained_embeddings": cfg.model.pretrained_embeddings,
        "run_dir": run_dir,
    }


def used_remote() -> bool:
    """Whether this process opened a path through tensorflow-io's plugins."""
    return _used_remote


def error_text(exc: BaseException) -> str:
    """A file system's error (TensorFlow's `message`, or str()) with credentials masked."""
    return redact(str(getattr(exc, "message", None) or exc).strip())


def redact(text: str) -> str:
    """Mask S3 credentials (from the environment) and any user:secret@ in URLs."""
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, f"<{name}>")
    return re.sub(r"(\w+://)[^/@\s]*:[^/@\s]*@", r"\1<credentials>@", text)
