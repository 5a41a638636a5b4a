"""Experiment tracking: `MLflowCallback` records a training run in MLflow.

MLflow's Keras autologging patches `model.fit`; `klo.Trainer` and `train` run their own
loop, so it records nothing from them. This callback logs by hand, through MLflow's
client (no global "active run"): the params it is given (`train` gives the resolved
config) and every epoch's metrics, with the epochs completed as the step; under
`klo.Trainer` with a run directory also, at the end, metrics.json's numbers (as
`final_NAME`) and the files model.keras, history.csv, curves.png, metrics.json,
config.yaml and schema.json as artifacts. Only the chief logs; every worker checks the
server before training, so an unreachable one stops the run before its first step
(`required=False`: a warning, and the run trains untracked); a server that fails later
costs one warning and seconds, not MLflow's minutes of retries. The tracking URI and the
experiment come from MLflow's own variables, MLFLOW_TRACKING_URI and
MLFLOW_EXPERIMENT_NAME, unless given. A resumed run (the same run directory) goes on in
the same MLflow run, whose id the run directory keeps in mlflow.json.

Example:

    trainer = klo.Trainer(build, loss="mse", run_dir="runs/a")
    trainer.fit(x, y, epochs=5, callbacks=[klo.MLflowCallback(params={"units": 64})])
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras

from keras_lstm_opt.errors import TrackingError, TrainingInterrupted, UsageError
from keras_lstm_opt.extras import need

log = logging.getLogger("keras_lstm_opt")

RUN_ID_FILE = "mlflow.json"
ARTIFACTS = (
    "model.keras",
    "history.csv",
    "curves.png",
    "metrics.json",
    "config.yaml",
    "schema.json",
)
DEFAULT_EXPERIMENT = "keras-lstm-opt"
PARAMS_PER_CALL = 100  # MLflow's log_batch limit
PARAM_CHARS = 6000  # MLflow's longest param value


@dataclass(frozen=True)
class RunInfo:
    """What `klo.Trainer` tells a callback's `on_run_begin` / `on_run_end` hooks.

    Args:
        run_dir: the run directory as resolved (local or remote), or None.
        files_dir: the local directory the run's files are written to (the run
            directory itself, or its local staging copy), or None.
        is_chief: whether this worker writes the run's files.
    """

    run_dir: str | None
    files_dir: str | None
    is_chief: bool


class MLflowCallback(keras.callbacks.Callback):
    """Log a run to MLflow: params, each epoch's metrics, the run directory's files.

    Args:
        params: a mapping logged as the run's params (nested mappings are flattened
            with dots: {"train": {"epochs": 3}} -> "train.epochs").
        experiment: the MLflow experiment (default: MLFLOW_EXPERIMENT_NAME, else
            "keras-lstm-opt"); created when missing.
        run_name: the MLflow run's name (default: the run directory's name).
        tracking_uri: the tracking server or store (default: MLFLOW_TRACKING_URI, else
            MLflow's own default).
        required: True: a server that cannot be reached raises TrackingError before
            training; False: a warning, and the run trains untracked.
        tags: extra tags for the MLflow run.

    Example:

        cb = klo.MLflowCallback(params={"lr": 1e-3}, experiment="glosses")
        klo.Trainer(model, run_dir="runs/g").fit(x, y, epochs=3, callbacks=[cb])
        cb.run_id  # the MLflow run's id
    """

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        experiment: str | None = None,
        run_name: str | None = None,
        tracking_uri: str | None = None,
        required: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("params", params), ("tags", tags)):
            if value is not None and not isinstance(value, Mapping):
                raise UsageError(f"MLflowCallback({name}={value!r}): pass a dict or None")
        # not `self.params`: Keras's Callback.set_params overwrites that with fit's own
        self.run_params = dict(params or {})
        self.experiment, self.run_name = experiment, run_name
        self.tracking_uri, self.required = tracking_uri, required
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.run_id: str | None = None
        self._client: Any = None
        self._checked = False
        self._run: RunInfo | None = None
        self._broken = False

    # -- reaching the server --------------------------------------------------------

    def check(self) -> bool:
        """Reach the tracking server once, without MLflow's retries. Returns whether
        this callback will log; raises TrackingError when it cannot and `required`."""
        if self._checked:
            return self._client is not None
        mlflow = need("mlflow", "tracking with MLflow", extra="mlflow")
        uri = self.tracking_uri or mlflow.get_tracking_uri()
        self.tracking_uri = uri
        try:
            with _one_try():
                client = mlflow.MlflowClient(tracking_uri=uri)
                client.search_experiments(max_results=1)
        except Exception as exc:  # MLflow's own, requests', sqlalchemy's: all one line
            what = f"the MLflow tracking store {uri} cannot be reached ({_line(exc)})"
            if self.required:
                raise TrackingError(
                    f"{what}; start it, point MLFLOW_TRACKING_URI at it, or set "
                    "train.trackers_required: false (MLflowCallback(required=False)) "
                    "to train untracked"
                ) from None
            log.warning("%s: training untracked (trackers_required: false)", what)
            client = None
        self._client, self._checked = client, True
        return client is not None

    # -- klo.Trainer's hooks ----------------------------------------------------------

    def on_run_begin(self, run: RunInfo) -> None:
        """Called by klo.Trainer before anything is written: check the server, then
        (chief only) start or continue the MLflow run."""
        self._run = run
        if self.check() and run.is_chief:
            self._start_or_say()

    def on_run_end(self, run: RunInfo, metrics: Mapping[str, Any] | None, error: Any) -> None:
        """Called by klo.Trainer after the run's files are written (`metrics`) or when
        it stopped (`error`): log metrics.json's numbers and the files, end the run."""
        if self.run_id is None:
            return
        status = "FINISHED"
        if error is not None:
            status = "KILLED" if isinstance(error, TrainingInterrupted) else "FAILED"
        elif metrics is not None:
            steps = int(metrics.get("epochs_completed") or 0)
            final = {f"final_{k}": v for k, v in _numbers(metrics).items()}  # metrics.json's
            self._safely("log the final metrics", self._log_metrics, final, steps)
            if run.files_dir:
                self._safely("log the run's files", self._log_files, run.files_dir)
        if self._safely("end the run", self._client.set_terminated, self.run_id, status):
            log.info("mlflow: run %s %s", self.run_id, status.lower())

    # -- Keras's hooks ------------------------------------------------------------------

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self._run is None and self.check():  # plain model.fit: no klo hooks
            self._start_or_say()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.run_id is not None:
            # step: epochs completed, the x of curves.png (and of metrics.json's figures)
            self._safely("log an epoch", self._log_metrics, _numbers(logs or {}), epoch + 1)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._run is None and self.run_id is not None:  # plain model.fit
            self._safely("end the run", self._client.set_terminated, self.run_id, "FINISHED")

    # -- the work -----------------------------------------------------------------------

    def _start_or_say(self) -> None:
        """Start (or continue) the MLflow run; a store that refuses (a deleted experiment
        of that name, no permission) is a TrackingError of one line, or a warning when
        not `required`."""
        try:
            with _one_try(retries=1):
                self._start()
        except (OSError, ValueError) as exc:  # ours: writing mlflow.json
            raise TrackingError(f"mlflow: cannot record the run's id: {exc}") from None
        except Exception as exc:  # MLflow's own: MlflowException, requests', sqlalchemy's
            what = f"the MLflow tracking store {self.tracking_uri} refused the run ({_line(exc)})"
            if self.required:
                raise TrackingError(
                    f"{what}; set MLFLOW_EXPERIMENT_NAME to another experiment, or set "
                    "train.trackers_required: false to train untracked"
                ) from None
            log.warning("%s: training untracked (trackers_required: false)", what)
            self.run_id = None

    def _start(self) -> None:
        from mlflow.entities import Param

        client, run = self._client, self._run
        files_dir = run.files_dir if run else None
        previous, logged_to = _read_run_id(files_dir)
        if previous and self._continue(previous, logged_to):
            return
        name = self.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        found = client.get_experiment_by_name(name)
        experiment_id = found.experiment_id if found else client.create_experiment(name)
        run_dir = run.run_dir if run else None
        tags = {"klo.run_dir": run_dir or "", **self.tags}
        created = client.create_run(
            experiment_id,
            run_name=self.run_name or (os.path.basename(run_dir.rstrip("/")) if run_dir else None),
            tags=tags,
        )
        self.run_id = created.info.run_id
        flat = _flatten(self.run_params)
        items = [Param(k, v) for k, v in flat.items()]
        for i in range(0, len(items), PARAMS_PER_CALL):
            client.log_batch(self.run_id, params=items[i : i + PARAMS_PER_CALL])
        if files_dir:
            with open(os.path.join(files_dir, RUN_ID_FILE), "w", encoding="utf-8") as fh:
                json.dump({"run_id": self.run_id, "tracking_uri": self.tracking_uri}, fh)
        log.info(
            "mlflow: run %s in experiment %r at %s (%d params)",
            self.run_id,
            name,
            self.tracking_uri,
            len(items),
        )

    def _continue(self, run_id: str, logged_to: str | None) -> bool:
        """Go on logging into the unfinished MLflow run of a resumed run directory."""
        try:
            found = self._client.get_run(run_id)
        except Exception:  # deleted, or another store: start a new one, and say so
            log.warning(
                "mlflow: the run directory's MLflow run %s (logged to %s) is not in %s: "
                "this run starts a new MLflow run; point MLFLOW_TRACKING_URI at the first "
                "store (a relative sqlite:/// path is relative to the current directory) to "
                "continue that one",
                run_id,
                logged_to or "another store",
                self.tracking_uri,
            )
            return False
        if found.info.status == "FINISHED":  # --overwrite of a finished run
            return False
        self.run_id = run_id
        self._client.update_run(run_id, status="RUNNING")
        log.info("mlflow: continuing run %s (a resumed run directory)", run_id)
        return True

    def _log_metrics(self, values: Mapping[str, float], step: int) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, step) for k, v in values.items()]
        if batch:
            self._client.log_batch(self.run_id, metrics=batch)

    def _log_files(self, files_dir: str) -> None:
        for name in ARTIFACTS:
            path = os.path.join(files_dir, name)
            if os.path.isfile(path):
                self._client.log_artifact(self.run_id, path)

    def _safely(self, what: str, fn: Any, *args: Any) -> bool:
        """Training goes on when the server fails mid-run: one warning, then nothing
        more is sent; each call is tried twice, not MLflow's minutes of retries, so a
        dead server holds training up for seconds. Returns whether the call succeeded."""
        if self._broken:
            return False
        try:
            with _one_try(retries=1):
                fn(*args)
            return True
        except Exception as exc:
            self._broken = True
            log.warning(
                "mlflow: could not %s in run %s (%s); the run goes on, untracked from here",
                what,
                self.run_id,
                _line(exc),
            )
            return False


def call_hooks(callbacks: list[keras.callbacks.Callback], name: str, *args: Any) -> None:
    """Call `name` (on_run_begin, on_final_weights, on_run_end) on each callback that has
    it: klo.Trainer's hooks around a run, which Keras's callbacks do not have (the run's
    files are written after on_train_end; on_final_weights gets the model whose weights
    will be evaluated and saved, after the best epoch's are restored)."""
    for cb in callbacks:
        hook = getattr(cb, name, None)
        if callable(hook):
            hook(*args)


def _numbers(values: Mapping[str, Any]) -> dict[str, float]:
    """The finite numeric entries of a logs or metrics.json mapping (bools apart)."""
    out = {}
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if math.isfinite(float(v)):
            out[str(k)] = float(v)
    return out


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, name + "."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            out[name] = text[:PARAM_CHARS]
    return out


def _read_run_id(files_dir: str | None) -> tuple[str | None, str | None]:
    """(run id, tracking URI) of the run directory's mlflow.json, or (None, None)."""
    if not files_dir:
        return None, None
    try:
        with open(os.path.join(files_dir, RUN_ID_FILE), encoding="utf-8") as fh:
            saved = json.load(fh)
        return str(saved["run_id"]), saved.get("tracking_uri")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, None


def _line(exc: BaseException) -> str:
    """One short line: the OS's reason when there is one (MLflow wraps urllib3's
    "[Errno 111] Connection refused" in three layers of text), else the first line."""
    import re

    text = str(exc).strip()
    errno = re.search(r"\[Errno -?\d+\] [^'\")\]]+", text)
    if errno:
        return errno.group(0).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _one_try(retries: int = 0) -> contextlib.AbstractContextManager[Any]:
    """MLflow retries an unanswered request for minutes; the start-up check asks once,
    logging during training twice (`retries`), each within 10 s. MLflow reads these
    variables at each request; the standard library's patch.dict sets them for the
    call and puts back what was there."""
    from unittest import mock

    keys = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries), "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
    return mock.patch.dict(os.environ, keys)
