"""Loaders of the series suite's data (benchmarks/series_suite.py): each returns (times,
values) from a pip package's bundled data (statsmodels, pmdarima, matplotlib's sample data) or
from R's `datasets` (through Rscript), offline.

Example:

    from benchmarks.series_loaders import r, steps
    times, values = steps(r("lh"))
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import numpy as np

from keras_lstm_opt.errors import DataError, UsageError
from keras_lstm_opt.extras import need

Loaded = tuple[list[str], np.ndarray]


def sm(name: str) -> Any:  # a statsmodels data set's pandas frame
    return need(f"statsmodels.datasets.{name}", "the series suite", "examples").load_pandas().data


def fertility(country: str) -> np.ndarray:
    """`country`'s births per woman, 1960-2011 (statsmodels fertility: World Bank figures;
    its 2012 and 2013 columns are empty)."""
    frame = sm("fertility")
    row = frame[frame["Country Name"] == country]
    if len(row) != 1:
        raise DataError(f"statsmodels fertility: {len(row)} rows for country {country!r}")
    return row[[str(year) for year in range(1960, 2012)]].to_numpy(np.float64).ravel()


def pm(name: str) -> np.ndarray:
    datasets = need("pmdarima.datasets", "the series suite", "examples")
    return np.asarray(getattr(datasets, f"load_{name}")(), np.float64)


def dated(start: str, freq: str, values: np.ndarray, fmt: str = "%Y-%m-%d") -> Loaded:
    import pandas as pd

    stamps = pd.date_range(start, periods=len(values), freq=freq)
    return [s.strftime(fmt) for s in stamps], np.asarray(values, np.float64)


def years(first: int, values: np.ndarray) -> Loaded:
    return [str(first + i) for i in range(len(values))], np.asarray(values, np.float64)


def co2(freq: str) -> Loaded:
    weekly = sm("co2")["co2"]
    s = (weekly.resample("MS").mean() if freq == "MS" else weekly).interpolate()
    return [t.strftime("%Y-%m-%d") for t in s.index], s.to_numpy(np.float64)


def elnino() -> Loaded:
    frame = sm("elnino")
    values = frame.drop(columns="YEAR").to_numpy(np.float64).ravel()
    return dated(f"{int(frame['YEAR'].iloc[0])}-01-01", "MS", values)


def elecequip() -> Loaded:
    frame = need("statsmodels.datasets.elec_equip", "the series suite", "examples").load().data
    return [t.strftime("%Y-%m-%d") for t in frame.index], frame.iloc[:, 0].to_numpy(np.float64)


def r(expr: str, gaps: bool = False) -> np.ndarray:
    """The values of R expression `expr` (a series of R's datasets package), via Rscript.
    With `gaps`, its NAs are filled by linear interpolation between their neighbours (an NA
    first or last is an error: drop it in `expr`)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise UsageError(
            "this series comes with R's datasets package: install R (Debian: apt-get install "
            "r-base-core) so that Rscript is on PATH"
        )
    code = f"writeLines(format(as.numeric({expr}), digits = 15))"
    out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, timeout=300)
    last = (out.stderr.strip().splitlines() or [""])[-1][:200]
    if out.returncode:
        raise DataError(f"{rscript} -e {code!r}: exit {out.returncode} ({last})")
    try:
        values = np.array(
            [np.nan if gaps and v == "NA" else float(v) for v in out.stdout.split()], np.float64
        )
    except ValueError:
        raise DataError(f"{rscript} -e {code!r}: printed something other than numbers") from None
    return filled(values, f"R {expr}") if gaps else values


def filled(values: np.ndarray, what: str) -> np.ndarray:
    """`values` with each NaN replaced by linear interpolation between its nearest
    neighbours (pandas' `interpolate`, as the CO2 record's gaps are filled above)."""
    import pandas as pd

    if len(values) == 0 or not np.isfinite(values[[0, -1]]).all():
        raise DataError(f"{what}: a missing value first or last, which interpolation cannot fill")
    return pd.Series(values).interpolate(limit_area="inside").to_numpy(np.float64)


def steps(values: np.ndarray) -> Loaded:  # no calendar: step numbers
    return [str(i) for i in range(len(values))], np.asarray(values, np.float64)


def msft() -> Loaded:
    frame = need("pmdarima.datasets", "the series suite", "examples").load_msft()
    return list(frame["Date"].astype(str)), frame["Close"].to_numpy(np.float64)


def mpl_sample(name: str) -> Any:  # an open file of matplotlib's bundled sample data
    from matplotlib import cbook

    try:
        return cbook.get_sample_data(name)
    except OSError as e:
        raise DataError(f"matplotlib's sample data {name}: {e}") from None


def sp500() -> Loaded:
    """The S&P 500 index on the first of each month, 1990-01 to 2022-06 (matplotlib's
    Stocks.csv, from Yahoo Finance; its other rows are dividend dates with no prices)."""
    import pandas as pd

    with mpl_sample("Stocks.csv") as fh:
        frame = pd.read_csv(fh, comment="#")
    frame = frame[frame["Date"].str.endswith("-01") & frame["^GSPC"].notna()]
    return list(frame["Date"].astype(str)), frame["^GSPC"].to_numpy(np.float64)


def goog() -> Loaded:
    """Google's daily closing prices 2004-08-19 to 2008-10-14, trading days (matplotlib's
    goog.npz)."""
    with mpl_sample("goog.npz") as npz:
        prices = npz["price_data"]
    return [str(d) for d in prices["date"]], np.asarray(prices["close"], np.float64)


def eeg() -> Loaded:
    """The first of the four EEG channels in matplotlib's eeg.dat: 800 samples over 10 s
    (80 a second), as its example mri_with_eeg reads them."""
    with mpl_sample("eeg.dat") as fh:
        data = np.fromfile(fh, dtype=np.float64)
    if data.size != 800 * 4:
        raise DataError(f"matplotlib eeg.dat: {data.size} values, expected 800 x 4")
    return steps(data.reshape(800, 4)[:, 0])
