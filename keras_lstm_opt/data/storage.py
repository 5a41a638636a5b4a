"""Remote paths (s3://, hdfs://): check before training that they can be used.

TensorFlow reaches s3:// and hdfs:// only through tensorflow-io's file-system plugins,
whose last release (0.37.1) loads beside TensorFlow 2.16.x and no other. The `io`
extra installs that pair (`pip install "keras-lstm-opt[io]"` in a fresh environment).
Without it, a remote path fails here, before any file is written, with one message
that names the config key and says what to install. gs:// is built into TensorFlow.

S3 settings come from the environment variables tensorflow-io reads: `S3_ENDPOINT`
(e.g. http://127.0.0.1:9000 for MinIO, Ceph's gateway or moto), `AWS_REGION`,
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `S3_USE_HTTPS`, `S3_VERIFY_SSL`.
Credentials are never taken from a config or a path, so they cannot reach a config
dump, a log line or metrics.json; `redact` masks them in any text we print.

Writers check their output the same way (`check_paths({"out_dir": out_dir})`) before
anything is written, then create, move and open files with `makedirs`, `replace` and
`open_file` below, which take local and remote paths alike.

Example:

    check_paths({"data.path": "s3://bucket/text", "run_dir": "runs/x"})
"""

from __future__ import annotations

import os
import re
from typing import IO, Any

from keras_lstm_opt.errors import StorageError
from keras_lstm_opt.paths import is_remote

NEEDS_PLUGIN = ("s3://", "hdfs://", "viewfs://", "har://")  # gs:// is built in
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")
_used_remote = False


def _needs_plugin(path: str) -> bool:
    return path.startswith(NEEDS_PLUGIN)


def _install_hint(tf_version: str) -> str:
    return ("install the io extra in a fresh environment: pip install "
            "\"keras-lstm-opt[io]\" (TensorFlow 2.16.2 + tensorflow-io 0.37.1, the last "
            f"pair that works; this environment has TensorFlow {tf_version}), or copy the "
            "files to a local path")


def load_plugins() -> str | None:
    """Import tensorflow-io's file systems; return why they are unusable, or None."""
    import tensorflow as tf

    if not tf.__version__.startswith("2.16."):
        return (f"tensorflow-io's file systems load only beside TensorFlow 2.16.x, not "
                f"{tf.__version__}")
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
            raise StorageError(f"{key}: credentials inside a path are not accepted; set "
                               "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY instead")
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
                raise StorageError(f"{key}: {path!r} cannot be reached: "
                                   f"{redact(exc.message.strip())}") from None
    if why is not None:
        listed = ", ".join(f"{k} = {p!r}" for k, p in plugin_paths.items())
        raise StorageError(f"{listed}: remote paths are not usable here ({why}); "
                           + _install_hint(tf.__version__))
    _used_remote = True


def makedirs(path: str) -> None:
    """Create a directory (and its parents), local or remote (after `check_paths`)."""
    if is_remote(path):
        import tensorflow as tf

        tf.io.gfile.makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)


def replace(src: str, dst: str) -> None:
    """Move `src` over `dst`: os.replace locally, TensorFlow's rename remotely."""
    if is_remote(dst):
        import tensorflow as tf

        tf.io.gfile.rename(src, dst, overwrite=True)
    else:
        os.replace(src, dst)


def open_file(path: str, mode: str = "r", newline: str | None = None) -> IO[Any]:
    """open() for local paths (UTF-8 text), tf.io.gfile.GFile for remote ones."""
    if is_remote(path):
        import tensorflow as tf

        return tf.io.gfile.GFile(path, mode)
    if "b" in mode:
        return open(path, mode)
    return open(path, mode, encoding="utf-8", newline=newline)


def data_paths(d: Any) -> dict[str, str | None]:
    """The paths of a DataConfig that may be remote."""
    return {"data.path": d.path, "data.validation_path": d.validation_path,
            "data.cache": None if d.cache in ("memory", "none")
            else d.cache.removeprefix("snapshot:")}


def config_paths(cfg: Any, run_dir: str | None = None) -> dict[str, str | None]:
    """The paths of an ExperimentConfig (and run directory) that may be remote."""
    return {**data_paths(cfg.data), "train.backup_copy_to": cfg.train.backup_copy_to,
            "run_dir": run_dir}


def used_remote() -> bool:
    """Whether this process opened a path through tensorflow-io's plugins."""
    return _used_remote


def redact(text: str) -> str:
    """Mask S3 credentials (from the environment) and any user:secret@ in URLs."""
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, f"<{name}>")
    return re.sub(r"(\w+://)[^/@\s]*:[^/@\s]*@", r"\1<credentials>@", text)
