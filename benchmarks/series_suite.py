"""The series suite (issue 34): real time series, which half each is in, and how to read it.

Eighty-six real series, each bundled with a pip package (statsmodels, pmdarima, matplotlib's
sample data; from round 9 also data files of statsmodels' own tests, which its wheel ships, and
from round 10 data its test modules hold) or with R's `datasets` package (Debian's r-base-core:
`apt-get install r-base-core`), so offline.
The suite is split into halves before any forecasting default changes, and each round's split is
fixed here before that round changes a default. A held-out half runs once and is then spent:
it joins dev, and the next round holds out series new to the suite.

* Round 1 (Dec 5, 2026): dev sunspots (yearly, an ~11-year cycle), nile (yearly), austres
  (quarterly, trend), co2 (monthly, trend + season), airpassengers (monthly, growing
  season), co2-weekly (weekly, a 52.18-step season), taylor (half-hourly electricity
  demand: daily and weekly seasons); held out (`ROUND1_HELD_OUT`): lynx (yearly, an
  irregular ~10-year cycle), woolyrnq (quarterly), realgdp (quarterly, seasonally adjusted,
  trend), wineind (monthly), elnino (monthly sea temperatures, season + irregular El Nino
  cycles), msft (daily closing prices, a random walk), heartrate (0.5 s samples, irregular).
* Round 2 (Dec 6): dev the fourteen above; held out (`ROUND2_HELD_OUT`): ausbeer
  (quarterly), bjsales (sales, irregular trend), unemp (quarterly, business cycles), nottem
  (monthly temperatures), ukdriverdeaths (monthly, a level shift), lakehuron (yearly), dax
  (trading days, a random walk), johnsonjohnson (quarterly, exponential growth).
* Round 3 (Dec 6; run once at 06:09 UTC): dev the twenty-two above; held out ukgas
  (quarterly, growing season), nhtemp (yearly, 60 rows), discoveries (yearly counts),
  wwwusage (one a minute), treering (yearly, 7,980 rows), kms (monthly distance driven),
  tbilrate (quarterly interest rate), realinv (quarterly investment).
* Round 4 (Dec 6, evening; run once at 15:37 UTC): dev the thirty above (round 3's
  held-out half in `ROUND3_HELD_OUT`); held out elecequip (monthly orders index: season and
  business cycle), front (monthly front-seat casualties, a level shift in 1983), ftse
  (trading days, a random walk), realcons and cpi (quarterly, smooth trends), derate
  (quarterly German long-term interest rate), beaver (a beaver's body temperature every
  10 minutes, a jump when it becomes active) and lrm (quarterly Danish log real money, 55
  rows).
* Round 5 (Dec 6, night; run once at 21:18 UTC): dev the thirty-eight above (round 4's
  held-out half in `ROUND4_HELD_OUT`); held out cac (trading days, a random walk), rear
  (monthly rear-seat casualties: season, the 1983 seat-belt law), petrolprice (monthly real
  petrol price), m1 (quarterly money stock, growth) and infl (quarterly inflation, noisy),
  beaver2 (a second beaver's temperature, a jump), airtemp (daily maximum temperatures at
  La Guardia, May-September 1973) and bjsaleslead (the leading indicator of bjsales).
* Round 6 (Dec 6, night; run once on Dec 7 at 01:45 UTC): dev the forty-six above (round
  5's held-out half in `ROUND5_HELD_OUT`); held out (`ROUND6_HELD_OUT`) smi (trading
  days, a random walk), vankilled (monthly van drivers killed: season, small counts),
  realdpi and realgovt (quarterly real disposable income and government spending), realint
  (quarterly real interest rate, noisy), ibo (quarterly Danish bond rate, 55 rows), dp
  (quarterly German inflation, seasonal) and lh (a hormone level every 10 minutes, 48
  readings).
* Round 7 (Dec 7, fixed at 06:47 UTC before any round 7 default change, one series replaced at
  07:25 (rgerman: derate's data again); run once at 18:31 UTC): dev the fifty-four above (round
  6's held-out half in `ROUND6_HELD_OUT`); held out (`ROUND7_HELD_OUT`) sunspotmonth (monthly
  sunspot numbers, 3,177 rows: an ~11-year cycle, season 132 for the seasonal-naive rival),
  driverskilled (monthly car drivers killed: season, the 1983 seat-belt law), pop (quarterly US
  population, smooth growth), lry and lpy (quarterly Danish log real income and log price
  deflator, 55 rows), fertility (yearly births per woman in Aruba, 52 years), airwind (daily
  wind speed at La Guardia, May-September 1973) and faithful (Old Faithful's waiting times, 272
  eruptions).
* Round 8 (Dec 7, fixed at 19:09 UTC before any round 8 default change; run once at 20:15 UTC):
  dev the sixty-two above (round 7's held-out half in `ROUND7_HELD_OUT`); held out
  (`ROUND8_HELD_OUT`) fertility-afg (yearly births per woman in Afghanistan, 52 years),
  presidents (quarterly US presidential approval 1945-1974: no season, swings from term to term;
  five missing quarters interpolated), ide (quarterly Danish deposit rate, 55 rows), sp500 (the
  S&P 500 each month 1990-2022: trend, no season), solar (daily solar radiation in New York,
  May-September 1973; seven missing days interpolated), goog (Google's closing prices, trading
  days 2004-2008, a random walk), eeg (an EEG channel, 80 samples a second: irregular rhythms)
  and eruptions (Old Faithful's eruption durations, 272 in the file's order, two modes).
* Round 9 (Dec 7, fixed at 20:23 UTC before any round 9 default change; run once at 21:00 UTC):
  dev the seventy above (round 8's held-out half in `ROUND8_HELD_OUT`); held out
  (`ROUND9_HELD_OUT`) vicelec (Victoria's electricity demand each hour, January-May 2012, 3,600
  rows: daily and weekly seasons, season 24), housingstarts (monthly US housing starts
  1959-2018, not seasonally adjusted: season and building cycles, the 2006-2009 crash), cons-de
  (quarterly West German real consumption per head 1960-1987, unadjusted: a season peaking each
  fourth quarter), ishort-de (West German 3-month money market rate each month 1960-1987: no
  season, policy swings), caputil (monthly US manufacturing capacity utilization 1972-2008,
  seasonally adjusted: business cycles), wpi (quarterly US wholesale price index 1960-1990: a
  trend, the 1970s' inflation), inv-de (quarterly West German fixed investment 1960-1982,
  seasonally adjusted, 92 rows: a noisy trend) and ibm (IBM's share price each month 1990-2022:
  a random walk). All but ibm come from the data of statsmodels' own tests
  (benchmarks/series_loaders.py).
* Round 10 (Dec 7, fixed at 21:31 UTC before any round 10 default change; `half` "held-out"
  below): dev the seventy-eight above (round 9's held-out half in `ROUND9_HELD_OUT`); held out
  austourists (international tourists' nights in Australia each quarter 1999-2015, unadjusted, 68
  rows: a summer season, growth), saudioil (Saudi Arabia's yearly oil production 1965-2013, 49
  rows: the 1970s' rise, the 1980s' collapse), payems (US payroll employment each month 1985-2016,
  seasonally adjusted: a smooth trend, three recessions' dips), phillyfed (the Philadelphia Fed's
  monthly survey of manufacturing activity 1985-2016, a diffusion index: no trend, noisy swings),
  xrx (Xerox's share price each month 1990-2022: a random walk), baa (Moody's Baa corporate bond
  yield each month 1947-1985: a near random walk, the 1970s' rise), stockprices (the log of US
  stock prices each year 1871-1970, Nelson and Plosser's: a random walk with drift) and
  inventories (the quarterly change in US business inventories 1947-1972, seasonally adjusted, 104
  rows: noisy, inventory cycles). All but xrx come from statsmodels' tests: austourists and
  saudioil from lists in its ETS tests (fpp2's data), payems and phillyfed from its New York Fed
  nowcast data (FRED), baa and stockprices from its unit-root tests' data, inventories from
  Lutkepohl's E2.

`season` is the domain's season (11 for sunspots, 48 half-hours a day for taylor): the
seasonal-naive rival uses it. Our own model never sees it (it finds its season from the
data). `m` is M4's MASE period for the series' frequency (yearly, weekly and daily 1,
quarterly 4, monthly 12, sub-daily the steps per day) and `horizon` M4's horizon.

The entries are in `series_suite_rounds_1_5` (round 1's two halves, the held-out halves of
rounds 2 to 5) and `series_suite_rounds_6_10` (the held-out halves of rounds 6 to 10); `Series`
in `series_suite_series`.

Example:

    from benchmarks.series_suite import SUITE, series
    times, values = series("sunspots").load()
    [s.name for s in SUITE if s.half == "held-out"]

    python -m benchmarks.series_suite sunspots --out sunspots.csv     # time,value
"""

from __future__ import annotations

import argparse
import csv
import sys

from benchmarks import series_suite_rounds_1_5, series_suite_rounds_6_10
from benchmarks.series_suite_series import Series
from keras_lstm_opt.errors import KloError, UsageError

__all__ = [
    "HALVES",
    "ROUND1_HELD_OUT",
    "ROUND2_HELD_OUT",
    "ROUND3_HELD_OUT",
    "ROUND4_HELD_OUT",
    "ROUND5_HELD_OUT",
    "ROUND6_HELD_OUT",
    "ROUND7_HELD_OUT",
    "ROUND8_HELD_OUT",
    "ROUND9_HELD_OUT",
    "SUITE",
    "Series",
    "main",
    "select",
    "series",
    "write_csv",
]

HALVES = ("dev", "held-out")
# fmt: off
ROUND1_HELD_OUT = ("lynx", "woolyrnq", "realgdp", "wineind", "elnino", "msft", "heartrate")
ROUND2_HELD_OUT = ("ausbeer", "bjsales", "unemp", "nottem",
    "ukdriverdeaths", "lakehuron", "dax", "johnsonjohnson")
ROUND3_HELD_OUT = ("ukgas", "nhtemp", "discoveries", "wwwusage",
    "treering", "kms", "tbilrate", "realinv")
ROUND4_HELD_OUT = ("elecequip", "front", "ftse", "realcons", "cpi", "derate", "beaver", "lrm")
ROUND5_HELD_OUT = ("cac", "rear", "petrolprice", "m1", "infl", "beaver2", "airtemp", "bjsaleslead")
ROUND6_HELD_OUT = ("smi", "vankilled", "realdpi", "realgovt", "realint", "ibo", "dp", "lh")
ROUND7_HELD_OUT = ("sunspotmonth", "driverskilled", "pop", "lry",
    "lpy", "fertility", "airwind", "faithful")
ROUND8_HELD_OUT = ("fertility-afg", "presidents", "ide", "sp500",
    "solar", "goog", "eeg", "eruptions")
ROUND9_HELD_OUT = ("vicelec", "housingstarts", "cons-de", "ishort-de",
    "caputil", "wpi", "inv-de", "ibm")
# fmt: on


SUITE: tuple[Series, ...] = (*series_suite_rounds_1_5.SERIES, *series_suite_rounds_6_10.SERIES)


def series(name: str) -> Series:
    """The suite's series `name`, or a UsageError listing the names."""
    for s in SUITE:
        if s.name == name:
            return s
    raise UsageError(f"series {name!r}: not in the suite ({', '.join(s.name for s in SUITE)})")


def select(names: str | None, half: str | None) -> list[Series]:
    """Series by comma-separated names, or a half ('dev', 'held-out', 'all')."""
    if names:
        return [series(n.strip()) for n in names.split(",") if n.strip()]
    if half in (None, "all"):
        return list(SUITE)
    if half not in HALVES:
        raise UsageError(f"half: expected dev, held-out or all, got {half!r}")
    return [s for s in SUITE if s.half == half]


def write_csv(s: Series, out: str, rows: int | None = None) -> int:
    """Write `s` as `time,value` (its first `rows` rows if given); return the rows."""
    times, values = s.load()
    if rows is not None:
        times, values = times[:rows], values[:rows]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["time", "value"])
        writer.writerows(zip(times, (repr(float(v)) for v in values), strict=True))
    return len(values)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="series_suite.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", nargs="?", help="a series of the suite (--list shows them)")
    p.add_argument("--out", help="the CSV to write (time,value)")
    p.add_argument("--list", action="store_true", help="list the suite")
    args = p.parse_args(argv)
    try:
        if args.list or not args.name:
            for s in SUITE:
                print(f"{s.name:14} {s.half:9} {s.freq:12} season {s.season:3}  {s.about}")
            return 0
        n = write_csv(series(args.name), args.out or f"{args.name}.csv")
        print(f"{n} rows -> {args.out or args.name + '.csv'}")
        return 0
    except KloError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
