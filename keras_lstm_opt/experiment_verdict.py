"""A forecast or classification run's validation results set against its references.

`train` compares its validation figures with what the import measured: the dataset's known
best accuracy, or, for a series, the baselines' MAE on the same validation windows (last
value, seasonal naive, the training rows' mean). metrics.json keeps the comparison, and
one line says how it came out: a warning when the model does not beat the best baseline
(`baseline_verdict`), else how much it beats it by and why that margin is optimistic
(`baseline_margin`). `evaluate` repeats the first on whatever data it scores.

Example:

    metrics = {"val_mae": 0.9, **_quality(schema, {"val_mae": 0.9})}
    baseline_verdict(metrics)   # "the model does not beat the training mean baseline ..."
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keras_lstm_opt.data.schema import Schema


def _reference(schema: Schema, metric: str) -> dict[str, float]:
    info = schema.get("info", {})
    ref = {}
    if "known_best_accuracy" in info:
        ref[f"{metric}:known best"] = info["known_best_accuracy"]
    if "baseline_mae" in info:
        ref[f"{metric}:{info.get('baseline', 'seasonal naive')}"] = info["baseline_mae"]
    return ref


def _quality(schema: Schema, final: dict[str, float]) -> dict[str, Any]:
    """Validation results set against the dataset's known best or baseline."""
    info, out = schema.get("info", {}), {}
    if "known_best_accuracy" in info and "val_accuracy" in final:
        out["known_best_accuracy"] = info["known_best_accuracy"]
        out["fraction_of_known_best"] = final["val_accuracy"] / info["known_best_accuracy"]
    if "baseline_mae" in info and "val_mae" in final:
        out["baseline_mae"] = info["baseline_mae"]
        out["improvement_over_baseline"] = (  # a perfect baseline (exact season): none
            1.0 - final["val_mae"] / info["baseline_mae"] if info["baseline_mae"] else None
        )
    if info.get("baselines") and "val_mae" in final:
        name, mae = min(info["baselines"].items(), key=lambda kv: kv[1])
        out.update(best_baseline=name, best_baseline_mae=mae)
        out["beats_best_baseline"] = bool(final["val_mae"] < mae)
    return out


def baseline_verdict(metrics: dict[str, Any]) -> str | None:
    """One line when a forecast model does not beat the best baseline on validation."""
    if metrics.get("beats_best_baseline", True):
        return None
    name = str(metrics["best_baseline"]).replace("_", " ")
    return (
        f"the model does not beat the {name} baseline on the validation windows: val_mae "
        f"{metrics['val_mae']:.4g} against {metrics['best_baseline_mae']:.4g}; forecast with "
        f"the {name} instead, or try another --season, --transform or window at import"
    )


def baseline_margin(metrics: dict[str, Any]) -> str | None:
    """One line when a forecast model beats the best baseline on validation: by how much,
    and why the margin is optimistic where the same windows chose the epoch whose weights
    it keeps or how much of the network it keeps (on a random walk the model can "beat"
    the last value there and lose on newer rows); None when it does not beat it.

    Args:
        metrics: a run's metrics (metrics.json): `val_mae`, `beats_best_baseline`,
            `best_baseline`, `best_baseline_mae`, and `weights` ("best" or "last") and
            `shrink` where training set them.

    Example:

        baseline_margin({"val_mae": 1.2, "beats_best_baseline": True, "weights": "best",
                         "best_baseline": "last_value", "best_baseline_mae": 1.3})
    """
    if not metrics.get("beats_best_baseline"):
        return None
    name = str(metrics["best_baseline"]).replace("_", " ")
    line = (
        f"the model beats the {name} baseline on the validation windows: val_mae "
        f"{metrics['val_mae']:.4g} against {metrics['best_baseline_mae']:.4g}"
    )
    chose = [
        what
        for what, used in (
            ("its epoch", metrics.get("weights") == "best"),
            ("how much of the network it keeps", bool(metrics.get("shrink"))),
        )
        if used
    ]
    if not chose:
        return line
    return (
        f"{line}; the same windows chose {' and '.join(chose)}, so the margin is optimistic: "
        "evaluate it on rows it has not seen (evaluate RUN --data FILE) before trusting it"
    )
