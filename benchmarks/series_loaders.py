"""Loaders of the series suite's data (benchmarks/series_suite.py): each returns (times,
values) from a pip package's bundled data (statsmodels, pmdarima, matplotlib's sample data; from
round 9 also data files of statsmodels' own tests, which its wheel ships, and from round 10 the
data its test modules hold as literal lists, read with `ast`, never run) or from R's `datasets`
(through Rscript), offline.

Example:

    from benchmarks.series_loaders import r, steps
    times, values = steps(r("lh"))
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path
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
    return stock("^GSPC")


def stock(column: str) -> Loaded:
    """Column `column` of matplotlib's Stocks.csv (Yahoo Finance's adjusted closes) on the
    first of each month that has a price."""
    import pandas as pd

    with mpl_sample("Stocks.csv") as fh:
        frame = pd.read_csv(fh, comment="#")
    frame = frame[frame["Date"].str.endswith("-01") & frame[column].notna()]
    return list(frame["Date"].astype(str)), frame[column].to_numpy(np.float64)


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


def sm_file(path: str) -> Path:
    """A data file of statsmodels' own tests (`path` under its package), which its wheel ships:
    real series its tests fit that its `datasets` do not have."""
    package = need("statsmodels", "the series suite", "examples")
    found = Path(str(package.__file__)).parent / path
    if not found.is_file():
        raise DataError(
            f"statsmodels {package.__version__} has no {path} (the data of its own tests, "
            "which its wheel ships)"
        )
    return found


def vicelec() -> Loaded:
    """Electricity demand in Victoria, Australia, each hour from 2012-01-01 for 150 days
    (tsibbledata's vic_elec, OperationalLessIndustrial, two half-hours summed: statsmodels'
    MSTL test data, as its MSTL notebook makes it)."""
    import pandas as pd

    frame = pd.read_csv(sm_file("tsa/stl/tests/results/mstl_elec_vic.csv"))
    stamps = pd.to_datetime(frame["ds"])
    return [t.strftime("%Y-%m-%dT%H:%M") for t in stamps], frame["y"].to_numpy(np.float64)


def housingstarts() -> Loaded:
    """US housing starts, thousands a month, not seasonally adjusted, 1959-01 to 2018-06
    (FRED's HOUSTNSA: statsmodels' Holt-Winters test data)."""
    import pandas as pd

    frame = pd.read_csv(sm_file("tsa/holtwinters/tests/results/housing-data.csv"))
    return list(frame["DATE"].astype(str)), frame["HOUSTNSA"].to_numpy(np.float64)


def manufac(column: str) -> Loaded:
    """Column `column` (hours, caputil) of FRED's monthly US manufacturing data 1972-2008
    (statsmodels' VARMAX test data manufac.dta)."""
    import pandas as pd

    frame = pd.read_stata(sm_file("tsa/statespace/tests/results/manufac.dta"))
    return [t.strftime("%Y-%m-%d") for t in frame["month"]], frame[column].to_numpy(np.float64)


def wpi() -> Loaded:
    """The US wholesale price index, quarterly 1960-1990 (Stata's wpi1: statsmodels'
    SARIMAX test data)."""
    import pandas as pd

    frame = pd.read_csv(sm_file("tsa/statespace/tests/results/results_wpi1_ar3_stata.csv"))
    if frame["t"].iloc[0] != "1960q1":
        raise DataError(f"statsmodels' wpi1: starts at {frame['t'].iloc[0]!r}, not 1960q1")
    return dated("1960-01-01", "QS", frame["wpi"].to_numpy(np.float64))


def lutkepohl2(column: str) -> Loaded:
    """Column `column` of Lütkepohl's West German data E1 (inv, inc, consump: quarterly
    1960-1982, seasonally adjusted, billions of DM; statsmodels' test data lutkepohl2.dta)."""
    import pandas as pd

    frame = pd.read_stata(sm_file("tsa/tests/results/lutkepohl2.dta"))
    return [t.strftime("%Y-%m-%d") for t in frame["qtr"]], frame[column].to_numpy(np.float64)


def lutkepohl(name: str, column: str) -> Loaded:
    """Column `column` of Lütkepohl's data file `name` (e2-e5: New Introduction to Multiple
    Time Series Analysis, 2005, its data sets E2-E5) as statsmodels' VAR tests ship it."""
    path = f"tsa/vector_ar/tests/results/{name}.dat"
    return parse_lutkepohl(sm_file(path).read_text(encoding="latin-1"), column, path)


def parse_lutkepohl(text: str, column: str, what: str) -> Loaded:
    """A Lütkepohl (JMulTi) data file: a /* ... */ note, its first period as `<1960 Q1>` or
    `<1960 M1>`, the columns' names, then one row of numbers a quarter or a month.
    (statsmodels' own parse_lutkepohl_data drops the first row.)"""
    body = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    start = re.search(r"<\s*(\d{4})\s*([QM])\s*(\d{1,2})\s*>", body)
    if start is None:
        raise DataError(f"{what}: no first period like <1960 Q1>")
    lines = [line.split() for line in body[start.end() :].splitlines() if line.strip()]
    if not lines or column not in lines[0]:
        raise DataError(f"{what}: no column {column!r} ({' '.join(lines[0] if lines else [])})")
    names, rows = lines[0], lines[1:]
    if not rows:
        raise DataError(f"{what}: no rows after the columns' names")
    bad = next((i for i, row in enumerate(rows) if len(row) != len(names)), None)
    if bad is not None:
        raise DataError(f"{what}: row {bad + 1} has {len(rows[bad])} values, not {len(names)}")
    try:
        values = np.array([float(row[names.index(column)]) for row in rows], np.float64)
    except ValueError:
        raise DataError(f"{what}: a value of {column} is not a number") from None
    year, kind, period = int(start[1]), start[2], int(start[3])
    month = 3 * period - 2 if kind == "Q" else period
    return dated(f"{year}-{month:02d}-01", "QS" if kind == "Q" else "MS", values)


def sm_test_list(path: str, function: str, rows: int) -> np.ndarray:
    """The `data = [...]` of function `function` (a pytest fixture) in statsmodels' test module
    `path`, which must hold `rows` numbers: read with `ast`, the module is never run."""
    values = literal_list(sm_file(path).read_text(encoding="utf-8"), function, "data", path)
    if len(values) != rows:
        raise DataError(f"{path}: {function}'s data has {len(values)} values, expected {rows}")
    return values


def literal_list(text: str, function: str, name: str, what: str) -> np.ndarray:
    """The list of numbers that function `function` of Python source `text` assigns to `name`
    (`name = [1.0, 2.5, ...]`), parsed, not run."""
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise DataError(f"{what}: not Python ({e.msg}, line {e.lineno})") from None
    defs = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
    ]
    if len(defs) != 1:
        raise DataError(f"{what}: {len(defs)} functions named {function}, expected one")
    for stmt in defs[0].body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in stmt.targets
        ):
            try:
                values = ast.literal_eval(stmt.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                values = None
            if not isinstance(values, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in values
            ):
                raise DataError(f"{what}: {function}'s {name} is not a list of numbers")
            return np.array(values, np.float64)
    raise DataError(f"{what}: {function} assigns no {name}")


def austourists() -> Loaded:
    """International tourists' visitor nights in Australia, millions a quarter, 1999Q1-2015Q4
    (fpp2's austourists, unadjusted: a fixture of statsmodels' ETS tests)."""
    path = "tsa/tests/test_exponential_smoothing.py"
    return dated("1999-01-01", "QS", sm_test_list(path, "austourists", 68))


def saudioil() -> Loaded:
    """Saudi Arabia's oil production, millions of tonnes a year, 1965-2013 (fpp2's oil: a
    fixture of statsmodels' ETS tests)."""
    return years(1965, sm_test_list("tsa/tests/test_exponential_smoothing.py", "oildata", 49))


FRBNY = "tsa/statespace/tests/results/frbny_nowcast/Nowcasting/data/US/2016-07-29.csv"


def frbny(column: str) -> Loaded:
    """FRED series `column` each month, as the New York Fed's nowcast saw it on 2016-07-29
    (statsmodels' dynamic factor test data): from its first value to its last (the vintage's
    ragged edge: later months were not out yet). A monthly series has no gap between them; a
    quarterly one (a value every third month) is refused, not interpolated."""
    import pandas as pd

    frame = pd.read_csv(sm_file(FRBNY))
    if column not in frame.columns:
        raise DataError(f"statsmodels' {FRBNY}: no column {column!r}")
    stamps = pd.to_datetime(frame["Date"], format="%m/%d/%y")
    values = frame[column].to_numpy(np.float64)
    present = np.flatnonzero(np.isfinite(values))
    if len(present) == 0:
        raise DataError(f"statsmodels' {FRBNY}: {column} has no values")
    first, last = int(present[0]), int(present[-1]) + 1
    gaps = last - first - len(present)
    if gaps:
        raise DataError(f"statsmodels' {FRBNY}: {column} has {gaps} months without a value")
    return [t.strftime("%Y-%m-%d") for t in stamps[first:last]], values[first:last]


def baa() -> Loaded:
    """Moody's Baa corporate bond yield, percent, each month 1947-1985 (Schwert 1987's data:
    statsmodels' unit-root test data BAA.csv; its S&P 500 companion, SP500.csv, of the same 468
    rows, ends at the index's closes of November and December 1985, 202.17 and 211.28)."""
    import pandas as pd

    values = pd.read_csv(sm_file("tsa/tests/results/BAA.csv")).iloc[:, 0].to_numpy(np.float64)
    if len(values) != 468:
        raise DataError(f"statsmodels' BAA.csv: {len(values)} rows, expected 468 (1947-1985)")
    return dated("1947-01-01", "MS", values)


def stockprices() -> Loaded:
    """The log of US common stock prices (Standard & Poor's index), each year 1871-1970: Nelson
    and Plosser's series (statsmodels' Zivot-Andrews test data stkprc.csv)."""
    import pandas as pd

    frame = pd.read_csv(sm_file("tsa/tests/results/stkprc.csv"))
    values = frame.iloc[:, 0].to_numpy(np.float64)
    if len(values) != 100:
        raise DataError(f"statsmodels' stkprc.csv: {len(values)} rows, expected 100 (1871-1970)")
    return years(1871, values)
