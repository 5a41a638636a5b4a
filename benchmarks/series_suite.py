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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.series_loaders import (
    Loaded,
    austourists,
    baa,
    co2,
    dated,
    eeg,
    elecequip,
    elnino,
    fertility,
    frbny,
    goog,
    housingstarts,
    lutkepohl,
    lutkepohl2,
    manufac,
    msft,
    pm,
    r,
    saudioil,
    sm,
    sp500,
    steps,
    stock,
    stockprices,
    vicelec,
    wpi,
    years,
)
from keras_lstm_opt.errors import KloError, UsageError

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


@dataclass(frozen=True)
class Series:
    """One series: name, half, frequency, domain season, M4's MASE period and horizon."""

    name: str
    half: str
    freq: str
    season: int
    m: int
    horizon: int
    about: str
    loader: Callable[[], Loaded]

    def load(self) -> Loaded:
        """(times as ISO dates / datetimes / numbers, values), oldest first."""
        try:
            times, values = self.loader()
        except KloError as e:
            raise type(e)(f"series {self.name}: {e}") from None
        if len(times) != len(values) or not np.all(np.isfinite(values)):
            raise RuntimeError(f"series {self.name}: bad data from its package")
        return times, values


# fmt: off
SUITE = (
    Series("sunspots", "dev", "yearly", 11, 1, 6,
           "yearly sunspot numbers 1700-2008 (statsmodels)",
           lambda: years(1700, sm("sunspots")["SUNACTIVITY"].to_numpy())),
    Series("nile", "dev", "yearly", 1, 1, 6,
           "Nile flow at Aswan 1871-1970 (statsmodels)",
           lambda: years(1871, sm("nile")["volume"].to_numpy())),
    Series("austres", "dev", "quarterly", 4, 4, 8,
           "Australian residents 1971-1993 (pmdarima)",
           lambda: dated("1971-04-01", "QS", pm("austres"))),
    Series("co2", "dev", "monthly", 12, 12, 18,
           "Mauna Loa CO2, monthly means (statsmodels)",
           lambda: co2("MS")),
    Series("airpassengers", "dev", "monthly", 12, 12, 18,
           "airline passengers 1949-1960 (pmdarima)",
           lambda: dated("1949-01-01", "MS", pm("airpassengers"))),
    Series("co2-weekly", "dev", "weekly", 52, 1, 13,
           "Mauna Loa CO2, weekly (statsmodels)",
           lambda: co2("W")),
    Series("taylor", "dev", "half-hourly", 48, 48, 48,
           "half-hourly electricity demand, England and Wales, 12 weeks of 2000 (pmdarima)",
           lambda: dated("2000-06-05", "30min", pm("taylor"), "%Y-%m-%dT%H:%M")),
    Series("lynx", "dev", "yearly", 10, 1, 6,
           "Canadian lynx trappings 1821-1934 (pmdarima)",
           lambda: years(1821, pm("lynx"))),
    Series("woolyrnq", "dev", "quarterly", 4, 4, 8,
           "Australian woollen yarn production 1965-1994 (pmdarima)",
           lambda: dated("1965-01-01", "QS", pm("woolyrnq"))),
    Series("realgdp", "dev", "quarterly", 1, 4, 8,
           "US real GDP 1959-2009, seasonally adjusted (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["realgdp"].to_numpy())),
    Series("wineind", "dev", "monthly", 12, 12, 18,
           "Australian wine sales 1980-1994 (pmdarima)",
           lambda: dated("1980-01-01", "MS", pm("wineind"))),
    Series("elnino", "dev", "monthly", 12, 12, 18,
           "Pacific sea surface temperatures 1950-2010 (statsmodels)",
           elnino),
    Series("msft", "dev", "daily", 1, 1, 14,
           "Microsoft closing prices 1986-2017, trading days (pmdarima)",
           msft),
    Series("heartrate", "dev", "0.5 s", 1, 1, 10,
           "heart rate, 150 samples 0.5 s apart (pmdarima)",
           lambda: ([str(i) for i in range(150)], pm("heartrate"))),
    Series("ausbeer", "dev", "quarterly", 4, 4, 8,
           "Australian beer production 1956-2008Q3 (pmdarima)",
           lambda: dated("1956-01-01", "QS", pm("ausbeer")[:-1])),
    Series("bjsales", "dev", "steps", 1, 1, 8,
           "sales, 150 steps (Box and Jenkins' series M; R datasets BJsales)",
           lambda: steps(r("BJsales"))),
    Series("unemp", "dev", "quarterly", 4, 4, 8,
           "US unemployment rate 1959-2009, seasonally adjusted (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["unemp"].to_numpy())),
    Series("nottem", "dev", "monthly", 12, 12, 18,
           "mean monthly air temperature at Nottingham 1920-1939 (R datasets)",
           lambda: dated("1920-01-01", "MS", r("nottem"))),
    Series("ukdriverdeaths", "dev", "monthly", 12, 12, 18,
           "UK car drivers killed or seriously injured 1969-1984 (R datasets)",
           lambda: dated("1969-01-01", "MS", r("UKDriverDeaths"))),
    Series("lakehuron", "dev", "yearly", 1, 1, 6,
           "level of Lake Huron 1875-1972 (R datasets)",
           lambda: years(1875, r("LakeHuron"))),
    Series("dax", "dev", "daily", 1, 1, 14,
           "DAX closing prices 1991-1998, trading days (R datasets EuStockMarkets)",
           lambda: steps(r('EuStockMarkets[, "DAX"]'))),
    Series("johnsonjohnson", "dev", "quarterly", 4, 4, 8,
           "Johnson & Johnson quarterly earnings per share 1960-1980 (R datasets)",
           lambda: dated("1960-01-01", "QS", r("JohnsonJohnson"))),
    Series("ukgas", "dev", "quarterly", 4, 4, 8,
           "UK gas consumption 1960-1986 (R datasets UKgas)",
           lambda: dated("1960-01-01", "QS", r("UKgas"))),
    Series("nhtemp", "dev", "yearly", 1, 1, 6,
           "mean annual temperature, New Haven 1912-1971 (R datasets)",
           lambda: years(1912, r("nhtemp"))),
    Series("discoveries", "dev", "yearly", 1, 1, 6,
           "great inventions and discoveries a year 1860-1959 (R datasets)",
           lambda: years(1860, r("discoveries"))),
    Series("wwwusage", "dev", "minutely", 1, 1, 10,
           "users connected to a server, one a minute (R datasets WWWusage)",
           lambda: steps(r("WWWusage"))),
    Series("treering", "dev", "yearly", 1, 1, 6,
           "bristlecone pine ring widths 6000 BC-1979 (R datasets treering)",
           lambda: steps(r("treering"))),  # years 6000 BC on: step numbers
    Series("kms", "dev", "monthly", 12, 12, 18,
           "UK car distance driven 1969-1984 (R datasets Seatbelts)",
           lambda: dated("1969-01-01", "MS", r('Seatbelts[, "kms"]'))),
    Series("tbilrate", "dev", "quarterly", 4, 4, 8,
           "US 3-month treasury bill rate 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["tbilrate"].to_numpy())),
    Series("realinv", "dev", "quarterly", 4, 4, 8,
           "US real private investment 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["realinv"].to_numpy())),
    Series("elecequip", "dev", "monthly", 12, 12, 18,
           "euro area electrical equipment orders index 1995-2016 (statsmodels elec_equip)",
           elecequip),
    Series("front", "dev", "monthly", 12, 12, 18,
           "UK front-seat passengers killed or seriously injured 1969-1984 (R Seatbelts)",
           lambda: dated("1969-01-01", "MS", r('Seatbelts[, "front"]'))),
    Series("ftse", "dev", "daily", 1, 1, 14,
           "FTSE closing prices 1991-1998, trading days (R datasets EuStockMarkets)",
           lambda: steps(r('EuStockMarkets[, "FTSE"]'))),
    Series("realcons", "dev", "quarterly", 1, 4, 8,
           "US real personal consumption 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["realcons"].to_numpy())),
    Series("cpi", "dev", "quarterly", 1, 4, 8,
           "US consumer price index 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["cpi"].to_numpy())),
    Series("derate", "dev", "quarterly", 1, 4, 8,
           "German long-term interest rate 1972Q2-1998 (statsmodels interest_inflation)",
           lambda: dated("1972-04-01", "QS", sm("interest_inflation")["R"].to_numpy())),
    Series("beaver", "dev", "10 min", 1, 1, 10,
           "a beaver's body temperature every 10 minutes, 114 readings (R datasets beaver1)",
           lambda: steps(r("beaver1$temp"))),
    Series("lrm", "dev", "quarterly", 4, 4, 8,
           "Danish log real money 1974-1987 (statsmodels danish_data)",
           lambda: dated("1974-01-01", "QS", sm("danish_data")["lrm"].to_numpy())),
    Series("cac", "dev", "daily", 1, 1, 14,
           "CAC 40 closing prices 1991-1998, trading days (R datasets EuStockMarkets)",
           lambda: steps(r('EuStockMarkets[, "CAC"]'))),
    Series("rear", "dev", "monthly", 12, 12, 18,
           "UK rear-seat passengers killed or seriously injured 1969-1984 (R Seatbelts)",
           lambda: dated("1969-01-01", "MS", r('Seatbelts[, "rear"]'))),
    Series("petrolprice", "dev", "monthly", 12, 12, 18,
           "UK real petrol price 1969-1984 (R Seatbelts PetrolPrice)",
           lambda: dated("1969-01-01", "MS", r('Seatbelts[, "PetrolPrice"]'))),
    Series("m1", "dev", "quarterly", 1, 4, 8,
           "US M1 money stock 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["m1"].to_numpy())),
    Series("infl", "dev", "quarterly", 1, 4, 8,
           "US inflation rate 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["infl"].to_numpy())),
    Series("beaver2", "dev", "10 min", 1, 1, 10,
           "a second beaver's body temperature every 10 minutes, 100 readings (R beaver2)",
           lambda: steps(r("beaver2$temp"))),
    Series("airtemp", "dev", "daily", 1, 1, 14,
           "daily maximum temperature at La Guardia, May-September 1973 (R airquality)",
           lambda: dated("1973-05-01", "D", r("airquality$Temp"))),
    Series("bjsaleslead", "dev", "steps", 1, 1, 8,
           "the leading indicator of bjsales, 150 steps (R datasets BJsales.lead)",
           lambda: steps(r("BJsales.lead"))),
    Series("smi", "dev", "daily", 1, 1, 14,
           "Swiss SMI closing prices 1991-1998, trading days (R datasets EuStockMarkets)",
           lambda: steps(r('EuStockMarkets[, "SMI"]'))),
    Series("vankilled", "dev", "monthly", 12, 12, 18,
           "UK van drivers killed 1969-1984 (R Seatbelts VanKilled)",
           lambda: dated("1969-01-01", "MS", r('Seatbelts[, "VanKilled"]'))),
    Series("realdpi", "dev", "quarterly", 1, 4, 8,
           "US real disposable personal income 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["realdpi"].to_numpy())),
    Series("realgovt", "dev", "quarterly", 1, 4, 8,
           "US real government spending 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["realgovt"].to_numpy())),
    Series("realint", "dev", "quarterly", 1, 4, 8,
           "US real interest rate 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["realint"].to_numpy())),
    Series("ibo", "dev", "quarterly", 4, 4, 8,
           "Danish bond rate 1974-1987 (statsmodels danish_data)",
           lambda: dated("1974-01-01", "QS", sm("danish_data")["ibo"].to_numpy())),
    Series("dp", "dev", "quarterly", 4, 4, 8,
           "German inflation 1972Q2-1998 (statsmodels interest_inflation Dp)",
           lambda: dated("1972-04-01", "QS", sm("interest_inflation")["Dp"].to_numpy())),
    Series("lh", "dev", "10 min", 1, 1, 6,
           "luteinizing hormone in blood samples every 10 minutes, 48 readings (R datasets lh)",
           lambda: steps(r("lh"))),
    Series("sunspotmonth", "dev", "monthly", 132, 12, 18,
           "monthly mean sunspot numbers 1749-2013, an ~11-year cycle (R sunspot.month)",
           lambda: dated("1749-01-01", "MS", r("sunspot.month"))),
    Series("driverskilled", "dev", "monthly", 12, 12, 18,
           "UK car drivers killed 1969-1984 (R Seatbelts DriversKilled)",
           lambda: dated("1969-01-01", "MS", r('Seatbelts[, "DriversKilled"]'))),
    Series("pop", "dev", "quarterly", 1, 4, 8,
           "US population 1959-2009 (statsmodels macrodata)",
           lambda: dated("1959-01-01", "QS", sm("macrodata")["pop"].to_numpy())),
    Series("lry", "dev", "quarterly", 4, 4, 8,
           "Danish log real income 1974-1987 (statsmodels danish_data)",
           lambda: dated("1974-01-01", "QS", sm("danish_data")["lry"].to_numpy())),
    Series("lpy", "dev", "quarterly", 4, 4, 8,
           "Danish log price deflator 1974-1987 (statsmodels danish_data)",
           lambda: dated("1974-01-01", "QS", sm("danish_data")["lpy"].to_numpy())),
    Series("fertility", "dev", "yearly", 1, 1, 6,
           "births per woman in Aruba 1960-2011 (statsmodels fertility: the first country "
           "in its file with every year)",
           lambda: years(1960, fertility("Aruba"))),
    Series("airwind", "dev", "daily", 1, 1, 14,
           "wind speed at La Guardia, the mean of 07:00 and 10:00, May-September 1973 "
           "(R airquality)",
           lambda: dated("1973-05-01", "D", r("airquality$Wind"))),
    Series("faithful", "dev", "steps", 1, 1, 8,
           "Old Faithful's waiting times between eruptions, 272 in the file's order (R faithful)",
           lambda: steps(r("faithful$waiting"))),
    Series("fertility-afg", "dev", "yearly", 1, 1, 6,
           "births per woman in Afghanistan 1960-2011 (statsmodels fertility: the second "
           "country in its file with every year)",
           lambda: years(1960, fertility("Afghanistan"))),
    Series("presidents", "dev", "quarterly", 1, 4, 8,
           "US presidential approval 1945Q2-1974 (R presidents: its first quarter, missing, "
           "dropped; five missing quarters interpolated)",
           lambda: dated("1945-04-01", "QS", r("presidents[-1]", gaps=True))),
    Series("ide", "dev", "quarterly", 4, 4, 8,
           "Danish deposit rate 1974-1987 (statsmodels danish_data)",
           lambda: dated("1974-01-01", "QS", sm("danish_data")["ide"].to_numpy())),
    Series("sp500", "dev", "monthly", 1, 12, 18,
           "S&P 500 index on the first of each month 1990-2022 (matplotlib Stocks.csv)",
           sp500),
    Series("solar", "dev", "daily", 1, 1, 14,
           "solar radiation in Central Park, 08:00-12:00, May-September 1973 (R airquality "
           "Solar.R; seven missing days interpolated)",
           lambda: dated("1973-05-01", "D", r("airquality$Solar.R", gaps=True))),
    Series("goog", "dev", "daily", 1, 1, 14,
           "Google closing prices 2004-2008, trading days (matplotlib goog.npz)",
           goog),
    Series("eeg", "dev", "80 Hz", 1, 1, 10,
           "an EEG channel, 800 samples over 10 s (matplotlib eeg.dat, the first of four)",
           eeg),
    Series("eruptions", "dev", "steps", 1, 1, 8,
           "Old Faithful's eruption durations, 272 in the file's order (R faithful)",
           lambda: steps(r("faithful$eruptions"))),
    Series("vicelec", "dev", "hourly", 24, 24, 48,
           "electricity demand in Victoria, Australia, each hour from 2012-01-01 for 150 days "
           "(tsibbledata vic_elec; statsmodels' MSTL test data)",
           vicelec),
    Series("housingstarts", "dev", "monthly", 12, 12, 18,
           "US housing starts 1959-2018, not seasonally adjusted (FRED HOUSTNSA; statsmodels' "
           "Holt-Winters test data)",
           housingstarts),
    Series("cons-de", "dev", "quarterly", 4, 4, 8,
           "West German real consumption per head 1960-1987, unadjusted (Lutkepohl's E4; "
           "statsmodels' VAR test data)",
           lambda: lutkepohl("e4", "cons")),
    Series("ishort-de", "dev", "monthly", 1, 12, 18,
           "West German 3-month money market rate 1960-1987 (Bundesbank, Lutkepohl's E5; "
           "statsmodels' VAR test data)",
           lambda: lutkepohl("e5", "i_short")),
    Series("caputil", "dev", "monthly", 1, 12, 18,
           "US manufacturing capacity utilization 1972-2008, seasonally adjusted (FRED; "
           "statsmodels' VARMAX test data manufac.dta)",
           lambda: manufac("caputil")),
    Series("wpi", "dev", "quarterly", 1, 4, 8,
           "US wholesale price index 1960-1990 (Stata's wpi1; statsmodels' SARIMAX test data)",
           wpi),
    Series("inv-de", "dev", "quarterly", 1, 4, 8,
           "West German fixed investment 1960-1982, seasonally adjusted (Lutkepohl's E1; "
           "statsmodels' test data lutkepohl2.dta)",
           lambda: lutkepohl2("inv")),
    Series("ibm", "dev", "monthly", 1, 12, 18,
           "IBM's share price on the first of each month 1990-2022, adjusted close "
           "(matplotlib Stocks.csv)",
           lambda: stock("IBM")),
    # round 10's held-out half: fixed before round 10 changes any default
    Series("austourists", "held-out", "quarterly", 4, 4, 8,
           "international tourists' visitor nights in Australia 1999-2015, unadjusted (fpp2 "
           "austourists; a list in statsmodels' ETS tests)",
           austourists),
    Series("saudioil", "held-out", "yearly", 1, 1, 6,
           "Saudi Arabia's oil production, millions of tonnes, 1965-2013 (fpp2 oil; a list in "
           "statsmodels' ETS tests)",
           saudioil),
    Series("payems", "held-out", "monthly", 1, 12, 18,
           "US payroll employment 1985-2016, seasonally adjusted (FRED PAYEMS; statsmodels' "
           "New York Fed nowcast test data)",
           lambda: frbny("PAYEMS")),
    Series("phillyfed", "held-out", "monthly", 1, 12, 18,
           "Philadelphia Fed manufacturing survey, current activity diffusion index 1985-2016 "
           "(FRED GACDFSA066MSFRBPHI; statsmodels' New York Fed nowcast test data)",
           lambda: frbny("GACDFSA066MSFRBPHI")),
    Series("xrx", "held-out", "monthly", 1, 12, 18,
           "Xerox's share price on the first of each month 1990-2022, adjusted close "
           "(matplotlib Stocks.csv)",
           lambda: stock("XRX")),
    Series("baa", "held-out", "monthly", 1, 12, 18,
           "Moody's Baa corporate bond yield 1947-1985 (Schwert 1987; statsmodels' unit-root "
           "test data BAA.csv)",
           baa),
    Series("stockprices", "held-out", "yearly", 1, 1, 6,
           "log US common stock prices 1871-1970 (Nelson and Plosser; statsmodels' "
           "Zivot-Andrews test data stkprc.csv)",
           stockprices),
    Series("inventories", "held-out", "quarterly", 1, 4, 8,
           "change in US business inventories 1947-1972, seasonally adjusted (Lutkepohl's E2; "
           "statsmodels' VAR test data)",
           lambda: lutkepohl("e2", "y2")),
)
# fmt: on


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
