"""`bench.py --mode series`: our forecasting defaults against the methods forecasters use.

For each series of the suite (`benchmarks/series_suite.py`):

* the last 20% of the rows (at least two horizons) are the test period; the rows before
  it are all that any method sees while fitting;
* every method forecasts `horizon` steps from the same rolling origins in the test
  period (at most `--origins`, evenly spaced): naive, seasonal naive, statsmodels ETS
  (AIC), pmdarima's AutoARIMA (`benchmarks/series_rivals.py`), and ours: `data import`
  of the training rows with no `--window`, `--season` or `--transform` (the defaults
  decide) and `train forecast`, each in a fresh process, then the trained model on the
  raw windows ending at each origin;
* MASE and sMAPE per horizon step (M4's definitions; MASE's period is M4's for the
  frequency), wall time per method; `series.json` (with every origin's forecasts, so a
  combination of methods can be scored later without refitting), a table, and
  `series.png` (each series' last forecast against the truth).

Example:

    python benchmarks/bench.py --mode series --series sunspots,co2 --out bench
    python benchmarks/bench.py --mode series --half dev
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

from benchmarks import series_rivals as rivals
from benchmarks.series_suite import Series, select, write_csv
from keras_lstm_opt.errors import KloError, UsageError

METHODS = ("naive", "snaive", "ets", "arima", "ours")


def split(n: int, horizon: int, origins: int) -> tuple[int, np.ndarray]:
    """(training rows, origins): the test period is the last 20% (>= 2 horizons)."""
    n_test = max(2 * horizon, round(0.2 * n))
    n_train = n - n_test
    if n_train < 3 * horizon:
        raise UsageError(f"{n} rows are too few for horizon {horizon}")
    return n_train, np.unique(np.linspace(n_train, n - horizon, origins).round().astype(int))


def _cli(*args: str, timeout: float = 3600) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "keras_lstm_opt.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode:
        raise RuntimeError(
            f"keras-lstm-opt {' '.join(args)}: exit {out.returncode}\n"
            f"{out.stdout[-1500:]}\n{out.stderr[-2500:]}"
        )
    return out.stdout + out.stderr


def ours(
    s: Series,
    y: np.ndarray,
    n_train: int,
    origins: np.ndarray,
    work: str,
    sets: list[str],
) -> tuple[np.ndarray, dict[str, Any]]:
    """Import the training rows and train with the defaults; forecast from each origin."""
    csv_path, data, run = (os.path.join(work, p) for p in ("train.csv", "data", "run"))
    write_csv(s, csv_path, rows=n_train)
    log = _cli(
        "data",
        "import",
        csv_path,
        "--out",
        data,
        "--time",
        "time",
        "--target",
        "value",
        "--horizon",
        str(s.horizon),
    )
    _cli(
        "train",
        "forecast",
        "--set",
        f"data.path={data}",
        "--run-dir",
        run,
        *[a for kv in sets for a in ("--set", kv)],
    )
    from keras_lstm_opt.serve.run import load_run

    r = load_run(run)
    w = r.window
    if origins[0] < w:
        raise UsageError(f"series {s.name}: the first origin {origins[0]} is before a window")
    x = np.stack([y[o - w : o] for o in origins])[:, :, None]
    f = r.forecast_windows(x)[:, :, 0]
    info = r.info["series"]
    chosen = {k: info.get(k) for k in ("transform", "lag", "season")}
    chosen["window"] = int(r.info["window"])
    chosen["import_log"] = [ln for ln in log.splitlines() if "series" in ln][-6:]
    chosen["epochs"] = r.metrics.get("epochs_completed")
    chosen["shrink"] = (r.metrics.get("shrink") or {}).get("weights")  # models.shrink
    # the same model through Predictor(precision="int8"): its MASE beside float32's
    chosen["int8_forecasts"] = load_run(run, "int8").forecast_windows(x)[:, :, 0]
    return f, chosen


def bench_one(s: Series, origins: int, sets: list[str], methods: tuple[str, ...]) -> dict[str, Any]:
    _, y = s.load()
    n_train, orig = split(len(y), s.horizon, origins)
    truth = np.stack([y[o : o + s.horizon] for o in orig])
    scale = rivals.mase_scale(y[:n_train], s.m)
    row: dict[str, Any] = {
        "series": s.name,
        "half": s.half,
        "freq": s.freq,
        "rows": len(y),
        "train_rows": n_train,
        "horizon": s.horizon,
        "season": s.season,
        "m": s.m,
        "origins": len(orig),
        "methods": {},
    }
    last: dict[str, list[float]] = {}
    every: dict[str, list[list[float]]] = {}  # each origin's forecasts, to score combinations
    for name in methods:
        began, model = time.monotonic(), None
        if name == "naive":
            f = rivals.naive(y, orig, s.horizon)
        elif name == "snaive":
            f = rivals.snaive(y, orig, s.horizon, s.season)
        elif name in ("ets", "arima"):
            f, model = getattr(rivals, name)(y, n_train, orig, s.horizon, s.season)
        else:
            with tempfile.TemporaryDirectory(prefix=f"klo-series-{s.name}-") as work:
                f, model = ours(s, y, n_train, orig, work, sets)
        m: dict[str, Any] = dict(rivals.errors(f, truth, scale))
        m["seconds"] = round(time.monotonic() - began, 1)
        if model is not None and "int8_forecasts" in model:
            int8: dict[str, Any] = dict(rivals.errors(model.pop("int8_forecasts"), truth, scale))
            m["int8"] = {
                "mase": int8["mase"],
                "smape": int8["smape"],
                "mase_change": float(int8["mase"]) - float(m["mase"]),
            }
        if model is not None:
            m["model"] = model
        row["methods"][name] = m
        last[name] = [float(v) for v in f[-1]]
        every[name] = [[float(v) for v in fo] for fo in f]
    row["last_origin"] = int(orig[-1])
    row["last_forecasts"] = last
    row["origin_rows"] = [int(o) for o in orig]  # forecasts[name][i] starts at row origin_rows[i]
    row["forecasts"] = every
    row["mase_scale"] = float(scale)
    row["truth"] = [[float(v) for v in t] for t in truth]  # the values forecasts[...][i] meet
    row["history"] = [float(v) for v in y[max(0, orig[-1] - 3 * s.horizon) : orig[-1] + s.horizon]]
    row["history_start"] = int(max(0, orig[-1] - 3 * s.horizon))
    return row


def _plot(rows: list[dict[str, Any]], path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_lstm_opt.charts import save_figure

    cols = 3
    fig, axes = plt.subplots(
        -(-len(rows) // cols), cols, figsize=(5 * cols, 3.2 * -(-len(rows) // cols)), squeeze=False
    )
    for ax, r in zip(axes.flat, rows, strict=False):
        t0, o = r["history_start"], r["last_origin"]
        ax.plot(
            range(t0, t0 + len(r["history"])), r["history"], color="black", lw=1.2, label="truth"
        )
        for name, f in r["last_forecasts"].items():
            ax.plot(
                range(o, o + len(f)),
                f,
                lw=1.2 if name == "ours" else 0.9,
                label=f"{name} (MASE {r['methods'][name]['mase']:.2f})",
            )
        ax.axvline(o, color="grey", lw=0.6, ls=":")
        ax.set_title(f"{r['series']} ({r['half']}, {r['freq']})", fontsize=9)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(rows) :]:
        ax.axis("off")
    fig.suptitle(
        "the last rolling origin's forecasts against the truth; MASE over all origins", fontsize=10
    )
    return save_figure(fig, path)


def table(rows: list[dict[str, Any]], methods: tuple[str, ...]) -> str:
    head = (
        f"{'series':14} {'half':9} " + " ".join(f"{m:>7}" for m in methods) + "  ours vs best rival"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        ms = r["methods"]
        cells = " ".join(f"{ms[m]['mase']:7.3f}" if m in ms else f"{'-':>7}" for m in methods)
        rival = min((m for m in ms if m != "ours"), key=lambda m: ms[m]["mase"], default=None)
        verdict = ""
        if "ours" in ms and rival:
            verdict = f"  {ms['ours']['mase'] / ms[rival]['mase']:.2f}x {rival}"
        if "int8" in ms.get("ours", {}):
            verdict += f"; int8 {ms['ours']['int8']['mase']:.3f}"
        lines.append(f"{r['series']:14} {r['half']:9} {cells}{verdict}")
    for half in sorted({r["half"] for r in rows}):
        part = [r for r in rows if r["half"] == half]
        means = " ".join(
            f"{np.mean([r['methods'][m]['mase'] for r in part]):7.3f}"
            if all(m in r["methods"] for r in part)
            else f"{'-':>7}"
            for m in methods
        )
        lines.append(f"{'mean MASE':14} {half:9} {means}")
    return "\n".join(lines)


def run_series(args: Any) -> int:
    """The mode's entry point (bench.py's parsed arguments)."""
    try:
        chosen = select(getattr(args, "series", None), getattr(args, "half", None) or "dev")
        methods = tuple(m.strip() for m in (args.methods or ",".join(METHODS)).split(","))
        bad = [m for m in methods if m not in METHODS]
        if bad:
            raise UsageError(f"--methods: {bad[0]!r} is not one of {', '.join(METHODS)}")
        for s in chosen:  # a series that cannot load (R missing) says so before any runs
            s.load()
    except KloError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    os.makedirs(args.out, exist_ok=True)
    rows = []
    began = time.monotonic()
    for i, s in enumerate(chosen):
        rows.append(bench_one(s, args.origins, args.overrides, methods))
        done = time.monotonic() - began
        eta = done / (i + 1) * (len(chosen) - i - 1)
        ms = rows[-1]["methods"]
        print(
            f"[{i + 1}/{len(chosen)}] {s.name}: "
            + ", ".join(f"{m} {ms[m]['mase']:.3f}" for m in methods)
            + f" (MASE); {done:.0f} s, ETA {eta:.0f} s",
            flush=True,
        )
    result = {
        "methods": list(methods),
        "rows": rows,
        "versions": _versions(),
        "max_origins": args.origins,  # each row's "origins": those its test period held
        "overrides": args.overrides,
    }
    path = os.path.join(args.out, "series.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)
    print(table(rows, methods))
    print(f"wrote {path} and {_plot(rows, os.path.join(args.out, 'series.png'))}")
    return 0


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("statsmodels", "pmdarima", "tensorflow", "keras"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out
