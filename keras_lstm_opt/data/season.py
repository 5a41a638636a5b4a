"""The season of a series, found from its autocorrelation.

Forecasters compare a model with seasonal naive, which needs the season; a user may not
know it (sunspots' cycle is about 11 years, not a calendar period). `find_season` removes
the series' straight-line trend, takes its autocorrelation up to a third of its length,
and returns the lag of the strongest peak that is significant and rises well above the
trough before it (a random walk's autocorrelation falls slowly, without such peaks); of
peaks nearly as strong, the shortest (a season's multiples correlate as well), unless it is
a half or a third of the strongest one and its multiples between the strongest one's
correlate clearly less (a harmonic: a monthly series with a half-year swing inside its year,
whose lag-6 difference leaves the year's pattern in). None when nothing repeats.

Example:

    t = np.arange(500)
    find_season(np.sin(2 * np.pi * t / 12) + 0.01 * t)  # Season(period=12, acf=0.99...)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_ACF = 0.2  # weaker peaks are not a season worth a baseline
MIN_PROMINENCE = 0.4  # a peak rises this far above the trough before it (a random walk's
# autocorrelation falls slowly, with small wiggles, and has none)
NEAR_BEST = 0.8  # a shorter peak at least this share of the best one wins (not a multiple)
HARMONICS = (2, 3)  # a peak at 1/2 or 1/3 of the best one's lag may be its harmonic


@dataclass(frozen=True)
class Season:
    """period: steps per season. acf: the differenced series' autocorrelation there."""

    period: int
    acf: float


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """acf[k] for k = 0..max_lag of `x` (mean removed; acf[0] = 1), by FFT."""
    x = np.asarray(x, np.float64) - np.mean(x)
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(x, size)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 1]
    return acov / acov[0] if acov[0] > 0 else np.zeros(max_lag + 1)


def find_season(values: np.ndarray, max_period: int | None = None) -> Season | None:
    """The season of `values` (one series, time order), or None.

    Args:
        values: the series.
        max_period: the longest season considered (default: a third of the series).
    """
    y = np.asarray(values, np.float64)
    y = y[np.isfinite(y)]
    n = len(y)
    top = min(max_period or n // 3, n // 3)
    if top < 3:
        return None
    t = np.arange(n, dtype=np.float64)
    x = y - np.polyval(np.polyfit(t, y, 1), t)  # without its straight-line trend
    if np.std(x) <= 1e-9 * (np.std(y) + 1.0):  # a straight line (or constant)
        return None
    acf = autocorrelation(x, top + 1)
    threshold = max(MIN_ACF, 2.5 / np.sqrt(n))
    peaks = [
        k
        for k in range(2, top + 1)
        if acf[k] > threshold
        and acf[k] >= acf[k - 1]
        and acf[k] >= acf[k + 1]
        and acf[k] - acf[1 : k + 1].min() >= MIN_PROMINENCE
    ]
    if not peaks:
        return None
    strongest = max(peaks, key=lambda k: acf[k])
    near = sorted(k for k in peaks if acf[k] >= NEAR_BEST * acf[strongest])
    period = next(k for k in near if not _harmonic(acf, k, strongest, top))
    return Season(int(period), float(acf[period]))


def _harmonic(acf: np.ndarray, k: int, strongest: int, top: int) -> bool:
    """Whether lag `k` is a harmonic of the season `strongest` (a half or a third of it):
    the multiples of `k` that are not multiples of `strongest` correlate clearly less
    (under `NEAR_BEST` of the mean) than the multiples of `strongest`."""
    if strongest % k or strongest // k not in HARMONICS:
        return False
    between = [j for j in range(k, top + 1, k) if j % strongest]
    season = list(range(strongest, top + 1, strongest))
    return bool(between) and float(np.mean(acf[between])) < NEAR_BEST * float(np.mean(acf[season]))
