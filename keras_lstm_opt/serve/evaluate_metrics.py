"""The scores `evaluate` reports: classification and forecasting metrics, in plain numpy.

Classification: accuracy, macro-F1 (as scikit-learn counts it: classes seen in the labels or
the predictions), log loss, per-class precision / recall / F1 / support and the confusion
matrix. Forecasting: MAE and RMSE overall, per horizon step and per target, beside the
baselines' forecasts of the same windows (seasonal naive, last value, the training mean),
and the verdict line when the model does not beat the best of them. Kept apart from
`serve.evaluate` (which reads the data and runs the model): plain functions of arrays, which
the bench's rivals score with too, without loading a run.

Example:

    m = classification_metrics(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
    m["accuracy"]   # 1.0
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from keras_lstm_opt.serve.run import Run

log = logging.getLogger("keras_lstm_opt")


def classification_metrics(y: np.ndarray, p: np.ndarray, names: list[str]) -> dict[str, Any]:
    """accuracy, macro-F1, log loss, per-class precision / recall / F1 / support and the
    confusion matrix (rows: true class, columns: predicted) from ids `y` [N] and
    probabilities `p` [N, K]."""
    k = p.shape[1]
    names = names or [str(i) for i in range(k)]
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    pred = np.argmax(p, axis=1)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y, pred), 1)
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    seen = (support > 0) | (predicted > 0)  # as scikit-learn: classes in y or pred
    accuracy = float(np.mean(pred == y))
    macro_f1 = float(f1[seen].mean()) if seen.any() else 0.0
    p_true = p[np.arange(len(y)), y].astype(np.float64)
    log_loss = float(-np.mean(np.log(np.clip(p_true, 1e-12, 1.0))))
    return {
        "examples": len(y),
        "accuracy": accuracy,
        "macro_f1": macro_f1,
        "log_loss": log_loss,
        "per_class": {
            n: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, n in enumerate(names)
        },
        "class_names": names,
        "confusion_matrix": cm.tolist(),
        "summary": {"examples": len(y), "accuracy": accuracy, "macro_f1": macro_f1},
    }


def _errors(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    e = p - y
    return {"mae": float(np.mean(np.abs(e))), "rmse": float(np.sqrt(np.mean(e * e)))}


def forecast_metrics(
    run: Run, y: np.ndarray, p: np.ndarray, baselines: dict[str, np.ndarray]
) -> dict[str, Any]:
    """MAE / RMSE overall, per step and per target, and the baselines' forecasts of the
    same windows (`y`, `p` and each baseline [N, H * T], original units)."""
    targets = run.targets
    n = len(y)
    y3, p3 = y.reshape(n, -1, len(targets)), p.reshape(n, -1, len(targets))
    out: dict[str, Any] = {
        "examples": n,
        **_errors(y3, p3),
        "targets": targets,
        "per_step": [{"step": h + 1, **_errors(y3[:, h], p3[:, h])} for h in range(y3.shape[1])],
        "per_target": {t: _errors(y3[..., i], p3[..., i]) for i, t in enumerate(targets)},
    }
    out["baselines"] = {}
    summary: dict[str, Any] = {"examples": n, "mae": out["mae"], "rmse": out["rmse"]}
    for name, forecast in baselines.items():
        errs = _errors(y, forecast)
        out["baselines"][name] = {
            **errs,
            "per_step": [
                _errors(y3[:, h], forecast.reshape(y3.shape)[:, h])["mae"]
                for h in range(y3.shape[1])
            ],
        }
        out[f"improvement_over_{name}"] = 1.0 - out["mae"] / errs["mae"] if errs["mae"] else None
        summary[f"{name}_mae"] = errs["mae"]
    if not baselines and "baseline_mae" in run.info:
        out["baselines"]["recorded_baseline_mae"] = run.info["baseline_mae"]
    if baselines:
        best = min(baselines, key=lambda k: out["baselines"][k]["mae"])
        best_mae = out["baselines"][best]["mae"]
        out["best_baseline"] = summary["best_baseline"] = best
        out["beats_best_baseline"] = summary["beats_best_baseline"] = bool(out["mae"] < best_mae)
        if not out["beats_best_baseline"]:
            name = best.replace("_", " ")
            log.warning(
                "verdict: the model does not beat the %s baseline on these windows: MAE %.4g "
                "against %.4g",
                name,
                out["mae"],
                best_mae,
            )
    out["summary"] = summary
    return out


def baseline_forecasts(run: Run, x: np.ndarray) -> dict[str, np.ndarray]:
    """Seasonal-naive (when the series has a season), last-value and training-mean
    forecasts [N, H * T] of the raw windows `x`."""
    series = run.info.get("series")
    if not series:
        return {}
    from keras_lstm_opt.data.series_windows import last_value, seasonal_naive, training_mean

    out = {}
    if series.get("season"):
        out["seasonal_naive"] = np.asarray(seasonal_naive(run.info, x), dtype=np.float64)
    out["last_value"] = np.asarray(last_value(run.info, x), dtype=np.float64)
    if series.get("level") is not None:  # imported since the mean became a baseline
        out["training_mean"] = np.asarray(training_mean(run.info, x), dtype=np.float64)
    return {k: v.reshape(len(x), -1) for k, v in out.items()}
