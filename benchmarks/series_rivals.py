"""The forecasting rivals of `bench.py --mode series`, and M4's error measures.

Every rival is fitted once on the training part and then forecasts `horizon` steps from
each origin of the test period with its parameters fixed (rolling origin, as the M4
competition's benchmarks and `statsforecast`'s cross-validation without refit do):

* `naive`: the last value; `snaive`: the value one season earlier (the domain's season);
* `ets`: statsmodels' ETSModel, additive errors, chosen by AIC among no / additive /
  damped trend and no / additive season (the season when it is 2..60 steps and the
  training part holds two of them);
* `arima`: pmdarima's `auto_arima` (stepwise, Hyndman-Khandakar), seasonal with the
  domain's season up to 12 steps; longer seasons (48, 52) get Fourier terms instead
  (two harmonics as exogenous regressors, as Hyndman recommends for long seasons).

Each function takes the whole series, the training length and the origins, and returns
forecasts `[origins, horizon]`.

Example:

    f = ets(values, n_train=240, origins=[240, 250], horizon=6, season=11)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from keras_lstm_opt.extras import need

Origins = Sequence[int] | npt.NDArray[np.int_]  # forecast origins: rows known before each


def naive(y: np.ndarray, origins: Origins, horizon: int) -> np.ndarray:
    return np.stack([np.full(horizon, y[t - 1]) for t in origins])


def snaive(y: np.ndarray, origins: Origins, horizon: int, season: int) -> np.ndarray:
    if season <= 1:
        return naive(y, origins, horizon)
    return np.stack([y[[t - season + (h % season) for h in range(horizon)]] for t in origins])


def ets(
    y: np.ndarray,
    n_train: int,
    origins: Origins,
    horizon: int,
    season: int,
) -> tuple[np.ndarray, str]:
    """ETS forecasts and the chosen model's name (e.g. 'ETS(A,Ad,A)')."""
    sm = need("statsmodels.tsa.exponential_smoothing.ets", "the ETS rival", "examples")
    seasonal = 2 <= season <= 60 and n_train >= 2 * season + 4
    specs = [
        (trend, damped, seas)
        for trend, damped in ((None, False), ("add", False), ("add", True))
        for seas in ((None, "add") if seasonal else (None,))
    ]
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend, damped, seas in specs:
            kw = dict(
                error="add",
                trend=trend,
                damped_trend=damped,
                seasonal=seas,
                seasonal_periods=season if seas else None,
            )
            try:
                fit = sm.ETSModel(y[:n_train], **kw).fit(disp=False, maxiter=200)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if np.isfinite(fit.aic) and (best is None or fit.aic < best[0]):
                best = (fit.aic, kw, fit.params)
        assert best is not None, "no ETS model could be fitted"
        _, kw, params = best
        out = [
            np.asarray(sm.ETSModel(y[:t], **kw).smooth(params).forecast(horizon)) for t in origins
        ]
    name = "ETS(A,{},{})".format(
        "N" if not kw["trend"] else "Ad" if kw["damped_trend"] else "A",
        "A" if kw["seasonal"] else "N",
    )
    return np.stack(out), name


def _fourier(t: np.ndarray, season: int, k: int = 2) -> np.ndarray:
    cols = []
    for j in range(1, k + 1):
        cols += [np.sin(2 * np.pi * j * t / season), np.cos(2 * np.pi * j * t / season)]
    return np.stack(cols, axis=1)


def arima(
    y: np.ndarray,
    n_train: int,
    origins: Origins,
    horizon: int,
    season: int,
) -> tuple[np.ndarray, str]:
    """auto_arima forecasts and the chosen order (e.g. 'ARIMA(2,1,1)(0,1,1)[12]')."""
    pm = need("pmdarima", "the AutoARIMA rival", "examples")
    t = np.arange(len(y) + horizon, dtype=np.float64)
    fourier = season > 12
    x = _fourier(t, season) if fourier else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pm.auto_arima(
            y[:n_train],
            X=None if x is None else x[:n_train],
            seasonal=1 < season <= 12,
            m=season if 1 < season <= 12 else 1,
            stepwise=True,
            suppress_warnings=True,
            error_action="ignore",
        )
        res = model.arima_res_
        out = []
        for o in origins:
            if x is None:
                out.append(res.apply(y[:o]).forecast(horizon))
            else:
                out.append(res.apply(y[:o], exog=x[:o]).forecast(horizon, exog=x[o : o + horizon]))
    order = "ARIMA{}{}".format(
        model.order, f"{model.seasonal_order[:3]}[{season}]" if 1 < season <= 12 else ""
    )
    return np.stack([np.asarray(f) for f in out]), order + (" + Fourier" if fourier else "")


def mase_scale(y_train: np.ndarray, m: int) -> float:
    """M4's MASE denominator: the in-sample MAE of the seasonal naive with period m."""
    m = m if len(y_train) > m else 1
    d = np.abs(y_train[m:] - y_train[:-m])
    return float(np.mean(d)) or 1.0


def errors(
    forecasts: np.ndarray, truth: np.ndarray, scale: float
) -> dict[str, list[float] | float]:
    """MASE and sMAPE (M4's definitions) per horizon step and overall, `[origins, H]` in."""
    f, y = np.asarray(forecasts, np.float64), np.asarray(truth, np.float64)
    abs_err = np.abs(f - y)
    denom = np.abs(f) + np.abs(y)
    smape = np.where(denom > 0, 200.0 * abs_err / np.where(denom > 0, denom, 1.0), 0.0)
    mase_h = (abs_err.mean(axis=0) / scale).tolist()
    smape_h = smape.mean(axis=0).tolist()
    return {
        "mase": float(np.mean(mase_h)),
        "smape": float(np.mean(smape_h)),
        "mase_per_step": [round(v, 4) for v in mase_h],
        "smape_per_step": [round(v, 3) for v in smape_h],
    }
