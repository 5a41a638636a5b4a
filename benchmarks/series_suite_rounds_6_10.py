"""The series suite's series of rounds 6 to 10 (issue 34): the held-out half each of them added.

Registry entries, in the suite's order: round 6's held-out half
(`series_suite.ROUND6_HELD_OUT`) to round 9's (`series_suite.ROUND9_HELD_OUT`), each dev since
the next round, then round 10's held-out half, fixed before round 10 changes any default. Which
half each is in, and why, is said in `series_suite`'s docstring; `series_suite.SUITE` puts these
after `series_suite_rounds_1_5.SERIES`.
"""

from __future__ import annotations

from benchmarks.series_loaders import (
    austourists,
    baa,
    dated,
    eeg,
    fertility,
    frbny,
    goog,
    housingstarts,
    lutkepohl,
    lutkepohl2,
    manufac,
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
from benchmarks.series_suite_series import Series

# fmt: off
SERIES: tuple[Series, ...] = (
    # --- round 6's held-out half (ROUND6_HELD_OUT), dev since round 7 ---
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
    # --- round 7's held-out half (ROUND7_HELD_OUT), dev since round 8 ---
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
    # --- round 8's held-out half (ROUND8_HELD_OUT), dev since round 9 ---
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
    # --- round 9's held-out half (ROUND9_HELD_OUT), dev since round 10 ---
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
