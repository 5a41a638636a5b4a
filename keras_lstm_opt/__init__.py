"""keras-lstm-opt: fast, well-managed LSTM training with Keras 3 on TensorFlow.

Public face: load_config, build_model, make_dataset, fit, Trainer, tune, profile,
import_data (your own CSV/TSV/JSON Lines/Parquet), load_run (predict, evaluate),
export_run (and FastLSTM, cudnn_report, the TFRecord writers, get_strategy, ...), and
quiet() (TensorFlow's C++ start-up lines hidden; `KERAS_LSTM_OPT_QUIET=1` does it at import).

Two layers (import-linter contracts in setup.cfg, checked by `lint-imports`):

* library, usable from plain Keras code, never importing the application layer:
  models/ (FastLSTM, kernels, factory, cuDNN report), data/ (schema, writers, tf.data
  pipeline), training/ (Trainer: the strategy-aware loop, backups, artifacts),
  distribute/ (strategies, TF_CONFIG), io/ (paths, file systems, atomic writes, sync),
  errors, registry, logs, resources;
* application, config-driven: config/, experiment (fit), tuning/, profiling/, serve/
  (load_run, evaluate, predict, export), launch/ (local launcher; launch/manifests/ for
  k8s, Slurm, YARN), cli/. The benchmarks live in benchmarks/, outside the package.

Data flows one way: config -> data -> strategy -> model -> Trainer -> artifacts.
TensorFlow is imported lazily, so loading and validating a config stays fast, and its
logging is left as the user set it (`TF_CPP_MIN_LOG_LEVEL` is never changed unless
quiet() is called); our Keras objects (FastLSTM, schedules) are registered as soon as
Keras is loaded (`keras_lstm_opt.registry`), so `keras.models.load_model` finds them.
"""

import os as _os

from keras_lstm_opt import errors
from keras_lstm_opt.config import (
    ExperimentConfig,
    config_from_dict,
    load_config,
    save_config,
)
from keras_lstm_opt.data.schema import read_schema
from keras_lstm_opt.registry import install as _install_registry
from keras_lstm_opt.tf_quiet import quiet

__version__ = "0.1.0"

_LAZY = {
    "build_model": "keras_lstm_opt.models.factory",
    "FastLSTM": "keras_lstm_opt.models.fast_lstm",
    "convert_lstm_layers": "keras_lstm_opt.models.convert",
    "Predictor": "keras_lstm_opt.models.predictor",
    "RowEmbedding": "keras_lstm_opt.models.row_embedding",
    "cudnn_report": "keras_lstm_opt.models.cudnn",
    "require_cudnn": "keras_lstm_opt.models.cudnn",
    "mask_reasons": "keras_lstm_opt.models.cudnn",
    "make_dataset": "keras_lstm_opt.data.pipeline",
    "resolve_files": "keras_lstm_opt.data.pipeline",
    "write_tfrecords": "keras_lstm_opt.data.writer",
    "write_csv": "keras_lstm_opt.data.writer",
    "write_text_lines": "keras_lstm_opt.data.writer",
    "write_embedded": "keras_lstm_opt.data.embedded",
    "import_data": "keras_lstm_opt.data.importer",
    "ensure_embedded": "keras_lstm_opt.data.embedded",
    "get_strategy": "keras_lstm_opt.distribute.strategy",
    "make_optimizer": "keras_lstm_opt.training.optim",
    "LazyAdam": "keras_lstm_opt.training.sparse",
    "LazyAdamW": "keras_lstm_opt.training.sparse",
    "fit": "keras_lstm_opt.experiment",
    "Trainer": "keras_lstm_opt.training.trainer",
    "LoopOptions": "keras_lstm_opt.training.options",
    "RunArtifacts": "keras_lstm_opt.training.artifacts",
    "MLflowCallback": "keras_lstm_opt.training.tracking",
    "FitResult": "keras_lstm_opt.training.result",
    "weights_digest": "keras_lstm_opt.training.artifacts",
    "tune": "keras_lstm_opt.tuning.search",
    "profile": "keras_lstm_opt.profiling.profile_report",
    "plan_resources": "keras_lstm_opt.profiling.planner",
    "load_run": "keras_lstm_opt.serve.run",
    "export_run": "keras_lstm_opt.serve.export",
}

__all__ = [
    "ExperimentConfig",
    "config_from_dict",
    "errors",
    "load_config",
    "quiet",
    "read_schema",
    "save_config",
    *_LAZY,
]

# The exception classes live in `klo.errors`; their old top-level names still work for
# one release, with a DeprecationWarning.
_DEPRECATED_ERRORS = frozenset(
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and (issubclass(value, Exception) or name == "Problem")
)


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _DEPRECATED_ERRORS:
        import warnings

        warnings.warn(
            f"keras_lstm_opt.{name} is deprecated: use keras_lstm_opt.errors.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(errors, name)
    raise AttributeError(f"module 'keras_lstm_opt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


_install_registry()
if _os.environ.get("KERAS_LSTM_OPT_QUIET", "") not in ("", "0"):
    quiet()  # after the registry's import hook: this one wraps it
