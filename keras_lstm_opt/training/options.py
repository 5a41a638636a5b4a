"""What the training loop does besides the model's own maths: one typed record.

`Trainer(model, ..., options=LoopOptions(...))` takes them; the config path fills them
from `train:` (`klo.fit`). Every value is checked here, with a message naming the
argument.

Example:

    opts = LoopOptions(steps_per_execution=4, global_clipnorm=1.0, backup_every_steps=50)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from keras_lstm_opt.errors import UsageError

Verbose = Literal["auto", "bar", "epoch", "silent"]
NO_BF16 = (
    " (TensorFlow's collective all-reduce kernel takes float16, float32, float64, "
    "int32 and int64, not bfloat16)"
)


@dataclass
class LoopOptions:
    """Args:
    steps_per_execution: steps run per call of the compiled step function.
    jit_compile: XLA-compile forward and backward (collectives stay outside).
    global_clipnorm / clipnorm / clipvalue: clip the gradient summed over replicas
        (so N replicas take the step one device would).
    backup_every_seconds: a backup when the newest is this old (after a step, or at an
        epoch end), and never so often that backups take more than 5% of the time
        (every 20 saves' durations at least); the first epoch end of each process
        always saves one. 0 = at every epoch end. A SIGTERM or SIGINT saves one at once
        whatever this says.
    backup_every_steps: also a backup every N steps; 0 = off.
    keep_backups: newest backups kept; an unreadable newest one falls back.
    backup_copy_to: a second location (local or s3://) for each backup.
    resume: resume from `run_dir`'s backup if one exists.
    nan_rollbacks / nan_lr_factor / max_loss: the blow-up guard (roll back to the last
        backup and scale the learning rate, at most `nan_rollbacks` times).
    monitor: metric for the best checkpoint and `restore_best_weights`.
    restore_best_weights: end with the best epoch's weights by `monitor`.
    verbose: auto (a bar on a terminal, else a line per epoch), bar, epoch, silent; or
        Keras's numbers: 0 = silent, 1 = bar, 2 = epoch.
    seed: `keras.utils.set_random_seed` before the model is built (None = leave).
    deterministic: TensorFlow's op determinism (same weights run to run).
    profile_start_step / profile_num_steps: a profiler window (TensorBoard's profile).
    gradient_compression: none or float16: the gradients' width on the wire between
        replicas (training/exchange.py); the model stays float32.
    embedding_exchange: auto (row-sparse when the optimizer updates rows lazily),
        sparse (gather the touched rows, then sum) or dense (all-reduce the table).
    collective_timeout_seconds: multi-worker: a step waiting longer for its
        collectives fails (a lost worker); 0 = wait forever.
    """

    steps_per_execution: int = 1
    jit_compile: bool = False
    global_clipnorm: float | None = None
    clipnorm: float | None = None
    clipvalue: float | None = None
    backup_every_seconds: float = 30.0
    backup_every_steps: int = 0
    keep_backups: int = 2
    backup_copy_to: str | None = None
    resume: bool = True
    nan_rollbacks: int = 2
    nan_lr_factor: float = 0.5
    max_loss: float = 0.0
    monitor: str = "val_loss"
    restore_best_weights: bool = False
    verbose: Verbose = "auto"
    seed: int | None = None
    deterministic: bool = False
    profile_start_step: int = 0
    profile_num_steps: int = 0
    gradient_compression: Literal["none", "float16"] = "none"
    embedding_exchange: Literal["auto", "sparse", "dense"] = "auto"
    collective_timeout_seconds: float = 600.0

    def __post_init__(self) -> None:
        for name in ("steps_per_execution", "keep_backups"):
            _check(name, getattr(self, name), int, minimum=1)
        for name in (
            "backup_every_steps",
            "nan_rollbacks",
            "profile_start_step",
            "profile_num_steps",
        ):
            _check(name, getattr(self, name), int, minimum=0)
        for name in ("global_clipnorm", "clipnorm", "clipvalue"):
            value = getattr(self, name)
            if value is not None:
                _check(name, value, float, minimum=0.0, strict=True)
        _check("max_loss", self.max_loss, float, minimum=0.0)
        _check("backup_every_seconds", self.backup_every_seconds, float, minimum=0.0)
        _check("collective_timeout_seconds", self.collective_timeout_seconds, float, 0.0)
        _check("nan_lr_factor", self.nan_lr_factor, float, minimum=0.0, strict=True)
        wire: str = self.gradient_compression
        if wire not in ("none", "float16"):
            raise UsageError(
                f"gradient_compression={wire!r}: use none or float16"
                f"{NO_BF16 if wire == 'bfloat16' else ''}"
            )
        if self.embedding_exchange not in ("auto", "sparse", "dense"):
            raise UsageError(
                f"embedding_exchange={self.embedding_exchange!r}: use auto, sparse or dense"
            )
        given: object = self.verbose
        keras_verbose: dict[object, Verbose] = {0: "silent", 1: "bar", 2: "epoch"}
        if type(given) is int and given in keras_verbose:  # Keras's numbers
            self.verbose = keras_verbose[given]
        if self.verbose not in ("auto", "bar", "epoch", "silent"):
            raise UsageError(
                f"verbose={self.verbose!r}: use auto, bar, epoch or silent (or 0, 1, 2)"
            )
        if self.seed is not None:
            _check("seed", self.seed, int, minimum=0)

    @classmethod
    def pick(cls, source: object) -> LoopOptions:
        """The options named like attributes of `source` (e.g. a TrainConfig)."""
        return cls(
            **{
                f.name: getattr(source, f.name)
                for f in dataclasses.fields(cls)
                if hasattr(source, f.name)
            }
        )


def _check(name: str, value: Any, kind: type, minimum: float, strict: bool = False) -> None:
    ok_type = isinstance(value, kind) or (kind is float and isinstance(value, int))
    if isinstance(value, bool) or not ok_type or value != value:  # NaN: not a number here
        expected = "an integer" if kind is int else "a number"
        raise UsageError(f"{name}={value!r}: expected {expected}")
    if value < minimum or (strict and value == minimum):
        raise UsageError(f"{name}={value!r}: must be {'>' if strict else '>='} {minimum:g}")
