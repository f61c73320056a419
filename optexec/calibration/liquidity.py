"""Liquidity: average daily volume, the intraday volume profile and the bid–ask spread.

The spread comes from quotes (time-weighted) when the store has them, else from bars with the
Roll (1984) and Corwin–Schultz (2012) estimators; the ``method`` of the result says which was used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optexec.calibration.results import Estimate


def adv_estimates(volume: np.ndarray) -> tuple[Estimate, Estimate]:
    """Mean and median daily volume (shares/day) from a (days x minutes) volume grid.

    The mean's stderr is std/sqrt(n); the median's is the large-sample sqrt(pi/2) std/sqrt(n).
    """
    daily = np.asarray(volume, dtype=float).sum(axis=1)
    daily = daily[daily > 0]
    n = daily.size
    if n == 0:
        raise ValueError("no volume in the window: cannot estimate the average daily volume")
    sd = float(np.std(daily, ddof=1)) if n > 1 else float("nan")
    warn = (f"only {n} trading days",) if n < 20 else ()
    mean = Estimate("adv_shares", float(daily.mean()), sd / math.sqrt(n), "mean daily volume", n, warnings=warn)
    median = Estimate(
        "adv_median_shares",
        float(np.median(daily)),
        math.sqrt(math.pi / 2) * sd / math.sqrt(n),
        "median daily volume",
        n,
        warnings=warn,
    )
    return mean, median


@dataclass(frozen=True)
class VolumeProfile:
    """Intraday volume profile per minute of the session.

    Attributes
    ----------
    share : median over days of each minute's share of the day's volume, normalised to sum to 1.
    low, high : the 10th and 90th percentiles over days of that share (the day-to-day band, same scaling).
    days : number of days used.
    """

    share: np.ndarray
    low: np.ndarray
    high: np.ndarray
    days: int

    def bucketed(self, minutes: int) -> np.ndarray:
        """The profile summed over consecutive buckets of ``minutes`` minutes."""
        n = self.share.size // minutes * minutes
        return self.share[:n].reshape(-1, minutes).sum(axis=1)


def volume_profile(volume: np.ndarray) -> VolumeProfile:
    """Median share of the day's volume per minute of day, normalised, with its 10–90% band over days."""
    grid = np.asarray(volume, dtype=float)
    totals = grid.sum(axis=1)
    grid = grid[totals > 0] / totals[totals > 0, None]
    if grid.shape[0] == 0:
        raise ValueError("no volume in the window: cannot estimate the volume profile")
    median = np.median(grid, axis=0)
    lo, hi = np.percentile(grid, [10, 90], axis=0)
    scale = median.sum()
    if scale <= 0:  # sparse trading: most minutes have no volume on most days; fall back to the mean
        median = grid.mean(axis=0)
        scale = median.sum()
    return VolumeProfile(median / scale, lo / scale, hi / scale, grid.shape[0])


def roll_spread(close: np.ndarray) -> tuple[float, float]:
    """Roll (1984) spread from price changes: 2 sqrt(-cov(dp_t, dp_{t-1})) in $, with the autocovariance.

    ``close`` is a (days x minutes) grid; pairs never straddle days or missing bars.
    Returns (spread, autocovariance); spread is NaN when the autocovariance is not negative.
    """
    dp = np.diff(np.asarray(close, dtype=float), axis=1)
    a, b = dp[:, 1:].ravel(), dp[:, :-1].ravel()
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return float("nan"), float("nan")
    cov = float(np.mean((a[ok] - a[ok].mean()) * (b[ok] - b[ok].mean())))
    return (2 * math.sqrt(-cov) if cov < 0 else float("nan")), cov


def corwin_schultz_spread(high: np.ndarray, low: np.ndarray) -> tuple[float, int]:
    """Corwin–Schultz (2012) relative spread from consecutive bars' highs and lows (negative pairs set to 0).

    beta = ln(H_t/L_t)^2 + ln(H_t+1/L_t+1)^2, gamma = ln(max H / min L)^2 over the pair,
    alpha = (sqrt(2 beta) - sqrt(beta)) / (3 - 2 sqrt 2) - sqrt(gamma / (3 - 2 sqrt 2)),
    S = 2 (e^alpha - 1) / (1 + e^alpha). Returns (mean S as a fraction of price, pairs used).
    """
    h, lo = np.asarray(high, dtype=float), np.asarray(low, dtype=float)
    h1, h2, l1, l2 = h[:, :-1], h[:, 1:], lo[:, :-1], lo[:, 1:]
    beta = np.log(h1 / l1) ** 2 + np.log(h2 / l2) ** 2
    gamma = np.log(np.maximum(h1, h2) / np.minimum(l1, l2)) ** 2
    k = 3 - 2 * math.sqrt(2)
    alpha = (np.sqrt(2 * beta) - np.sqrt(beta)) / k - np.sqrt(gamma / k)
    s = 2 * (np.exp(alpha) - 1) / (1 + np.exp(alpha))
    s = s[np.isfinite(s)]
    return (float(np.mean(np.maximum(s, 0.0))) if s.size else float("nan")), int(s.size)


def spread_estimate(daily_quotes, close: np.ndarray, high: np.ndarray, low: np.ndarray, price_usd: float) -> Estimate:
    """Full bid–ask spread in $: time-weighted quoted spread if quotes exist, else Corwin–Schultz, else Roll.

    ``daily_quotes`` is the per-day frame of ``data.daily_spreads`` (columns spread, quotes); the stderr is
    the day-to-day standard deviation over sqrt(days).
    """
    if daily_quotes is not None and len(daily_quotes) > 0:
        s = daily_quotes["spread"].to_numpy(dtype=float)
        n = s.size
        se = float(np.std(s, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
        return Estimate(
            "spread_usd", float(s.mean()), se, "quotes: time-weighted quoted spread", int(daily_quotes["quotes"].sum())
        )
    cs, pairs = corwin_schultz_spread(high, low)
    if math.isfinite(cs) and cs > 0:
        return Estimate(
            "spread_usd",
            cs * price_usd,
            float("nan"),
            "bars: Corwin–Schultz high–low estimator (no quotes in the store)",
            pairs,
            warnings=("no quotes: the spread is estimated from bar highs and lows, a rough guide",),
            fallback=True,
        )
    roll, _cov = roll_spread(close)
    return Estimate(
        "spread_usd",
        roll,
        float("nan"),
        "bars: Roll autocovariance estimator (no quotes in the store)",
        int(np.isfinite(close).sum()),
        warnings=("no quotes: the spread is estimated from price reversals, a rough guide",),
        fallback=True,
    )
