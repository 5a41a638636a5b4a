"""KerasTuner search over the `tune.space` of a config; every trial trains through `fit`.

* Tuners: random, hyperband, bayesian (KerasTuner oracles), objective and direction
  from `tune`, a per-trial epoch budget and a wall-clock budget for the search
  (`tune.max_minutes`, `tune --budget 10m`): no trial starts after it, and the one
  running stops at its next epoch end, with its best epoch so far. The search is
  any-time: `--budget` without `tune.max_trials` searches until the budget is spent.
* Resumable: the search state lives in RUN_DIR/search; rerunning on the same run
  directory continues it and does not rerun completed trials. One search at a time: the
  search (its chief) holds RUN_DIR's lock; a second one there exits 2 naming the first.
* Results: RUN_DIR/leaderboard.csv, a printed table, RUN_DIR/leaderboard.png and
  RUN_DIR/best.yaml (the full config with the winning values and what `train.auto`
  decided for that trial; `train` accepts it and trains what won).
* Distributed: with KERASTUNER_TUNER_ID / KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT
  set (see `tune_distributed`), the chief serves the oracle and workers run trials.

Example:

    leaderboard = tune("configs/tuning.yaml", run_dir="runs/search")
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import os
import time
from typing import Any

import keras_tuner as kt

from keras_lstm_opt.charts import save_figure
from keras_lstm_opt.config import (
    ExperimentConfig,
    config_from_dict,
    config_to_dict,
    given_keys,
    load_config,
    save_config,
    with_given,
)
from keras_lstm_opt.config.space import declare
from keras_lstm_opt.errors import ConfigError, Problem, TrainingError, TrainingInterrupted
from keras_lstm_opt.experiment import fit
from keras_lstm_opt.progress import Progress
from keras_lstm_opt.training.run_lock import hold

log = logging.getLogger("keras_lstm_opt")


def direction(cfg: ExperimentConfig) -> str:
    if cfg.tune.direction != "auto":
        return cfg.tune.direction
    return "max" if "accuracy" in cfg.tune.objective else "min"


def trial_config(cfg: ExperimentConfig, values: dict[str, Any], epochs: int) -> ExperimentConfig:
    """`cfg` with the trial's values (dotted fields) and epoch budget applied."""
    raw = copy.deepcopy(config_to_dict(cfg))
    for field, value in values.items():
        section, name = field.split(".", 1)
        raw[section][name] = value.item() if hasattr(value, "item") else value
    raw["train"]["epochs"] = epochs
    raw["train"]["resume"] = False
    # train.auto still decides what the search's config leaves open
    return with_given(
        config_from_dict(raw, "<trial>", check_paths=False),
        given_keys(cfg) | set(values) | {"train.epochs", "train.resume"},
    )


class _Interrupted(kt.errors.FatalError):
    """Carries a trial's `TrainingInterrupted` out of KerasTuner, which records any other
    exception as a failed trial and starts the next one: a signal stops the search."""

    def __init__(self, exc: TrainingInterrupted) -> None:
        super().__init__(str(exc))
        self.exc = exc


class _LSTMTuner(kt.Tuner):
    """A KerasTuner Tuner whose trials run keras_lstm_opt.fit and report its metrics."""

    def __init__(self, cfg: ExperimentConfig, run_dir: str, oracle: Any) -> None:
        self.cfg, self.run_dir = cfg, run_dir
        # tune.max_minutes: a trial still running then stops at its next epoch end
        self.deadline = time.time() + cfg.tune.max_minutes * 60 if cfg.tune.max_minutes else None
        self.meter: Progress | None = None
        super().__init__(
            oracle=oracle,
            hypermodel=self._declare,
            directory=run_dir,
            project_name="search",
            overwrite=False,
        )

    def _declare(self, hp: Any) -> Any:
        declare(hp, self.cfg.tune.space)
        return None

    def _populate_initial_space(self) -> None:  # declare the space without building a model
        hp = self.oracle.get_space()
        declare(hp, self.cfg.tune.space)
        self.oracle.update_space(hp)

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        # the search's trials so far; a tuner worker's oracle is a client of the chief's,
        # without them: it counts its own
        trials = getattr(self.oracle, "trials", None)
        ended = (
            sum(t.status == "COMPLETED" for t in trials.values())
            if isinstance(trials, dict)
            else (self.meter.done if self.meter else 0)
        )
        if self.meter is None:
            # trials of the budget, a line as each ends (lines: the trials' own output would
            # break a bar); hyperband sizes its brackets itself, a worker sees a share: no total
            total = self.cfg.tune.max_trials if isinstance(trials, dict) else None
            total = None if self.cfg.tune.tuner == "hyperband" else total
            self.meter = Progress("tune", total, "trials", terminal=False, initial=ended)
            self.meter.interval = 0.0
        hp = trial.hyperparameters
        values = {f: hp.get(f) for f in self.cfg.tune.space}
        epochs = hp.values.get("tuner/epochs", self.cfg.tune.epochs)
        scores = []
        for run in range(self.cfg.tune.executions_per_trial):
            trial_dir = os.path.join(self.run_dir, "trials", f"{trial.trial_id}-{run}")
            log.info(
                "trial %s (%s): %s, %d epochs",
                trial.trial_id,
                os.environ.get("KERASTUNER_TUNER_ID", "local"),
                values,
                epochs,
            )
            try:
                metrics = fit(
                    trial_config(self.cfg, values, epochs),
                    run_dir=trial_dir,
                    deadline=self.deadline,
                )
            except TrainingInterrupted as exc:
                raise _Interrupted(exc) from exc
            metrics["tuner_id"] = os.environ.get("KERASTUNER_TUNER_ID", "local")
            with open(os.path.join(trial_dir, "trial.json"), "w", encoding="utf-8") as fh:
                json.dump({"trial_id": trial.trial_id, "values": values, **metrics}, fh)
            scores.append(metrics[self.cfg.tune.objective])
        self.meter.update(ended + 1)
        return {self.cfg.tune.objective: sum(scores) / len(scores)}

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        pass  # each trial's run directory already holds its model.keras

    def load_model(self, trial: Any) -> Any:
        return None


def _with_budget(oracle: Any, seconds: float) -> Any:
    """Stop handing out trials `seconds` after the first one. The oracle is the one that
    serves every tuner (the chief's in distributed mode), so the budget is the search's."""
    if not seconds:
        return oracle
    create = oracle.create_trial
    clock: dict[str, float] = {}

    def create_trial(tuner_id: str) -> Any:
        start = clock.setdefault("start", time.monotonic())
        if time.monotonic() - start > seconds and oracle.max_trials != len(oracle.trials):
            log.info("tune.max_minutes reached: no new trials")
            oracle.max_trials = len(oracle.trials)
        return create(tuner_id)

    oracle.create_trial = create_trial
    return oracle


def make_oracle(cfg: ExperimentConfig) -> Any:
    t = cfg.tune
    objective = kt.Objective(t.objective, direction(cfg))
    if t.tuner == "hyperband":
        oracle = kt.oracles.HyperbandOracle(
            objective, max_epochs=t.epochs, factor=3, hyperband_iterations=1, seed=t.seed
        )
    elif t.tuner == "bayesian":
        oracle = kt.oracles.BayesianOptimizationOracle(
            objective, max_trials=t.max_trials, seed=t.seed
        )
    else:
        oracle = kt.oracles.RandomSearchOracle(objective, max_trials=t.max_trials, seed=t.seed)
    return _with_budget(oracle, t.max_minutes * 60)


def leaderboard(cfg: ExperimentConfig, run_dir: str) -> list[dict[str, Any]]:
    """Completed trials, best first, with their values, objective, time and size."""
    rows = []
    trials_dir = os.path.join(run_dir, "trials")
    for name in sorted(os.listdir(trials_dir)) if os.path.isdir(trials_dir) else []:
        path = os.path.join(trials_dir, name, "trial.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                rec = json.load(fh)
            rows.append(
                {
                    "trial_id": rec["trial_id"],
                    **rec["values"],
                    "objective": rec[cfg.tune.objective],
                    "seconds": rec["train_seconds"],
                    "params": rec["params"],
                    "tuner_id": rec.get("tuner_id", "local"),
                    "auto": rec.get("auto") or {},
                }
            )
    best_first = direction(cfg) == "max"
    rows.sort(key=lambda r: r["objective"], reverse=best_first)
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def write_results(cfg: ExperimentConfig, run_dir: str) -> list[dict[str, Any]]:
    """leaderboard.csv, leaderboard.png and best.yaml from the trials on disk."""
    from keras_lstm_opt.logs import format_table

    rows = leaderboard(cfg, run_dir)
    if not rows:
        raise TrainingError(f"{run_dir}: no completed trial to report")
    cols = ["rank", "trial_id", *cfg.tune.space, "objective", "seconds", "params", "tuner_id"]
    with open(os.path.join(run_dir, "leaderboard.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    # best.yaml names every key, so `train.auto` decides nothing when it is trained: it
    # carries what auto decided for the winning trial, to train what won
    decided = {
        k: d["value"]
        for k, d in rows[0]["auto"].items()
        if k not in ("train.epochs", "train.resume")
    }
    best = trial_config(
        cfg, {**decided, **{f: rows[0][f] for f in cfg.tune.space}}, cfg.train.epochs
    )
    best.train.resume = cfg.train.resume
    save_config(best, os.path.join(run_dir, "best.yaml"))
    _plot(rows, cfg, os.path.join(run_dir, "leaderboard.png"))
    print(format_table(rows, cols))
    return rows


def _plot(rows: list[dict[str, Any]], cfg: ExperimentConfig, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(rows, key=lambda r: int(r["trial_id"]))
    scores = [r["objective"] for r in order]
    pick = max if direction(cfg) == "max" else min
    best = [pick(scores[: i + 1]) for i in range(len(scores))]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(range(1, len(scores) + 1), scores, "o", label="trial")
    ax.plot(range(1, len(scores) + 1), best, "-", label="best so far")
    ax.set_xlabel("trial (in order of id)")
    ax.set_ylabel(cfg.tune.objective)
    ax.set_title(f"{cfg.tune.tuner} search: {len(scores)} trials")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path)


def tune(
    config: ExperimentConfig | str | None, run_dir: str, overrides: list[str] | tuple[str, ...] = ()
) -> list[dict[str, Any]] | None:
    """Run (or continue) the search; return the leaderboard (None on tuner workers)."""
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config, overrides)
    if not cfg.tune.space:
        raise ConfigError(
            [
                Problem(
                    "tune.space",
                    "empty: name at least one field to search, "
                    "e.g. model.units: {choice: [32, 64]}",
                )
            ]
        )
    chief = os.environ.get("KERASTUNER_TUNER_ID", "chief") == "chief"
    # one search per directory: the chief (or a search alone) holds its lock; its tuner
    # workers write their own trials' directories in it
    lock = hold(run_dir) if chief else None
    try:
        os.makedirs(run_dir, exist_ok=True)
        tuner = _LSTMTuner(cfg, run_dir, make_oracle(cfg))
        try:
            tuner.search()
            if tuner.meter is not None:
                tuner.meter.close()
        except _Interrupted as wrapped:
            exc = wrapped.exc
            raise TrainingInterrupted(
                f"search {exc.reason} of a trial; run the same command "
                f"(the same search directory, {run_dir}) to continue "
                "it",
                exc.signum,
                exc.reason,
            ) from None
        return write_results(cfg, run_dir) if chief else None
    finally:
        if lock is not None:
            lock.release()
