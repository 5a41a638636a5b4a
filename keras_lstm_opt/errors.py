"""Every error keras-lstm-opt raises for a user's mistake or an environment problem.

All derive from `KloError`, so one `except klo.errors.KloError` catches what the package says
about your config, data, paths or machine, while real bugs (a TypeError in our code, a
NotImplementedError) still show their traceback. Where an older base class was part of
the contract (`ConfigError` was a ValueError, `TrainingError` a RuntimeError), it stays
as a second base.

`exit_code` is what the CLI exits with: 2 for usage and configuration mistakes, 1 for
everything else, 128 + the signal for a run stopped by a signal, and `PEER_LOST_EXIT`
(138) when a multi-worker run lost a peer or its peers never came (retry: the command
resumes from the last backup once every worker is up).

Example:

    try:
        klo.fit("configs/text.yaml")
    except klo.errors.KloError as exc:
        print(f"error: {exc}")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class KloError(Exception):
    """Base of every error the package raises for users; `exit_code` for the CLI."""

    exit_code: int = 1


@dataclass(frozen=True)
class Problem:
    """One problem in a configuration: the dotted `key`, where its value came from
    (`source`: a file, `--set`, or `<defaults>`) and what is wrong with it. `key` is ""
    for a problem of the whole file or override (not found, not YAML, no `=`)."""

    key: str
    message: str
    source: str = ""

    def __str__(self) -> str:
        return ": ".join(part for part in (self.source, self.key, self.message) if part)


class ConfigError(KloError, ValueError):
    """One or more problems in a configuration; `problems` lists them all (as `Problem`
    records, or plain strings for problems not tied to one key)."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the configuration:"
        super().__init__("\n".join([head] + [f"  - {p}" for p in self.problems]))


class UsageError(KloError, ValueError):
    """An argument that cannot work as given (a Trainer argument, a CLI option)."""

    exit_code = 2


class RunDirError(KloError, RuntimeError):
    """A run directory that cannot be trained into as asked; the message says why."""

    exit_code = 2


class RunDirBusyError(RunDirError):
    """Another process trains into the run directory (it holds the directory's lock):
    `pid`, `host` and `since` (its start, ISO 8601) name it."""

    def __init__(
        self, message: str, pid: int | None = None, host: str = "", since: str = ""
    ) -> None:
        super().__init__(message)
        self.pid, self.host, self.since = pid, host, since


class TFConfigError(KloError, ValueError):
    """TF_CONFIG is missing, malformed, or describes a cluster we cannot run."""

    exit_code = 2


class DataError(KloError, ValueError):
    """Bad data: names the file (and record) at fault."""


class LabelError(DataError):
    """A label column that cannot train a classifier (one class only): a mistake in what
    was given (often the wrong column), so exit status 2."""

    exit_code = 2


class MissingPackageError(KloError, ImportError):
    """An optional package (a pip extra or a Debian package) that a step needs is not
    installed; the one-line message says what to install and how."""

    exit_code = 2


class StorageError(KloError, RuntimeError):
    """A path that cannot be used: the message names the key and what to do."""


class UnwritablePathError(KloError, RuntimeError):
    """An output path that cannot be written (checked before any work): "cannot write
    <what> <path>: <reason>"."""

    exit_code = 2


class TrackingError(KloError, RuntimeError):
    """An experiment tracker (MLflow) named by the run cannot be reached; checked before
    training, so nothing is trained untracked by accident."""


class StrategyError(KloError, RuntimeError):
    """The requested strategy cannot run here (and why)."""


class KernelBuildError(KloError, RuntimeError):
    """The fused LSTM kernels could not be compiled or loaded."""


class CudnnError(KloError, RuntimeError):
    """Raised by `require_cudnn` when a layer would miss the cuDNN kernel."""


class TrainingError(KloError, RuntimeError):
    """Training stopped without a usable result (e.g. the loss became NaN)."""


# 128 + SIGUSR1: the status Kubeflow's TFJob `restartPolicy: ExitCode` documents for a
# user-defined retryable failure (and >= 128, retryable under its later rule too); no
# signal of ours, and apart from 1 (a bug), 2 (a mistake) and 130/143 (signals).
PEER_LOST_EXIT = 138


class TrainingInterrupted(KloError, RuntimeError):
    """Stopped by a signal; `signum` is the signal (on every worker of a multi-worker
    run, whichever of them received it). `saved`: a backup was written at the stop
    (False when the stop came while waiting for peers: the last backup stays as it was,
    at `backup_step`, None when there is none)."""

    def __init__(
        self,
        message: str,
        signum: int,
        reason: str | None = None,
        saved: bool = True,
        backup_step: int | None = None,
    ) -> None:
        super().__init__(message)
        self.signum = signum
        self.reason = reason or message  # "stopped by SIGINT at step N", without advice
        self.saved, self.backup_step = saved, backup_step

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 128 + self.signum


class PeerLostError(KloError, RuntimeError):
    """A multi-worker run lost a peer (killed, out of memory, a lost node, stopped
    answering): `task` names it ("worker 1 at host:port", or "a peer" when it cannot be
    told), `step` is where this worker stopped, `backup_step` the last backup's step
    (None: none yet). The same command on every worker resumes from that backup."""

    exit_code = PEER_LOST_EXIT

    def __init__(
        self,
        message: str,
        task: str = "a peer",
        step: int | None = None,
        backup_step: int | None = None,
    ) -> None:
        super().__init__(message)
        self.task, self.step, self.backup_step = task, step, backup_step


class ClusterStartupError(PeerLostError):
    """The cluster did not form within `distribute.startup_timeout_seconds`: `task`
    names the tasks that never answered."""


__all__ = [
    "ClusterStartupError",
    "ConfigError",
    "CudnnError",
    "DataError",
    "KernelBuildError",
    "KloError",
    "LabelError",
    "MissingPackageError",
    "PEER_LOST_EXIT",
    "PeerLostError",
    "Problem",
    "RunDirBusyError",
    "RunDirError",
    "StorageError",
    "StrategyError",
    "TFConfigError",
    "TrackingError",
    "TrainingError",
    "TrainingInterrupted",
    "UnwritablePathError",
    "UsageError",
]
