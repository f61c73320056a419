"""Volatility estimators on daily bars and realised volatility from intraday returns (docs/MATH.md section 7).

All estimators return a daily variance of log returns (a fraction squared per day); ``vol_estimates``
wraps them as ``Estimate`` objects with jackknife standard errors over days, daily and annualised,
as a fraction and in $/share/sqrt(day).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from optexec.calibration.results import Estimate

TRADING_DAYS_PER_YEAR = 252
LN2 = math.log(2.0)


def close_to_close_variance(close: np.ndarray, prev_close: np.ndarray) -> float:
    """Sample variance (ddof=1) of ln(C_i / C_{i-1}) (docs/MATH.md section 7, close-close)."""
    return float(np.var(np.log(np.asarray(close) / np.asarray(prev_close)), ddof=1))


def parkinson_variance(high: np.ndarray, low: np.ndarray) -> float:
    """Parkinson: (1 / (4 n ln 2)) sum ln(H/L)^2 (docs/MATH.md section 7)."""
    hl = np.log(np.asarray(high) / np.asarray(low))
    return float(np.mean(hl**2) / (4 * LN2))


def garman_klass_variance(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> float:
    """Garman–Klass: (1/n) sum [ln(H/L)^2 / 2 - (2 ln 2 - 1) ln(C/O)^2] (docs/MATH.md section 7)."""
    hl = np.log(np.asarray(high) / np.asarray(low))
    co = np.log(np.asarray(close) / np.asarray(open_))
    return float(np.mean(0.5 * hl**2 - (2 * LN2 - 1) * co**2))


def rogers_satchell_variance(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> float:
    """Rogers–Satchell: (1/n) sum [ln(H/C) ln(H/O) + ln(L/C) ln(L/O)] (docs/MATH.md section 7)."""
    o, h, lo, c = (np.asarray(a, dtype=float) for a in (open_, high, low, close))
    return float(np.mean(np.log(h / c) * np.log(h / o) + np.log(lo / c) * np.log(lo / o)))


def yang_zhang_variance(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, prev_close: np.ndarray
) -> float:
    """Yang–Zhang: s_o^2 + k s_c^2 + (1 - k) s_RS^2, k = 0.34 / (1.34 + (n+1)/(n-1)) (docs/MATH.md section 7)."""
    n = len(close)
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    s_o = np.var(np.log(np.asarray(open_) / np.asarray(prev_close)), ddof=1)
    s_c = np.var(np.log(np.asarray(close) / np.asarray(open_)), ddof=1)
    return float(s_o + k * s_c + (1 - k) * rogers_satchell_variance(open_, high, low, close))


def realised_variance(close: np.ndarray, step_minutes: int = 15) -> tuple[float, np.ndarray]:
    """Mean daily realised variance from intraday log returns sampled every ``step_minutes`` (no overnight).

    ``close`` is a (days x minutes) grid of minute closes (NaN = missing, carried forward). Returns the
    mean over days and the per-day realised variances. Sparse sampling (15 minutes) keeps the bias from
    bid-ask bounce and temporary impact small.
    """
    grid = np.asarray(close, dtype=float)
    filled = _ffill(grid)
    sampled = filled[:, ::step_minutes]
    sampled = np.concatenate([sampled, filled[:, -1:]], axis=1) if (grid.shape[1] - 1) % step_minutes else sampled
    r = np.diff(np.log(sampled), axis=1)
    per_day = np.nansum(r**2, axis=1)
    ok = np.isfinite(r).any(axis=1)
    return float(np.mean(per_day[ok])), per_day[ok]


def _ffill(grid: np.ndarray) -> np.ndarray:
    """Carry the last finite value forward along each row (leading NaNs stay NaN)."""
    idx = np.where(np.isfinite(grid), np.arange(grid.shape[1]), 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = grid[np.arange(grid.shape[0])[:, None], idx]
    return out


def daily_bars(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """Daily open/high/low/close from a (days x minutes) minute-bar grid; days without bars are dropped."""
    ok = np.isfinite(c).any(axis=1)
    o, h, lo, c = o[ok], h[ok], lo[ok], c[ok]
    first = np.argmax(np.isfinite(o), axis=1)
    last = c.shape[1] - 1 - np.argmax(np.isfinite(c[:, ::-1]), axis=1)
    rows = np.arange(c.shape[0])
    return {
        "open": o[rows, first],
        "high": np.nanmax(h, axis=1),
        "low": np.nanmin(lo, axis=1),
        "close": c[rows, last],
    }


def _jackknife_se(func, *arrays: np.ndarray) -> float:
    """Leave-one-day-out jackknife standard error of ``func(*arrays)``."""
    n = len(arrays[0])
    if n < 4:
        return float("nan")
    keep = ~np.eye(n, dtype=bool)
    values = np.array([func(*(a[keep[i]] for a in arrays)) for i in range(n)])
    return float(np.sqrt((n - 1) / n * np.sum((values - values.mean()) ** 2)))


ESTIMATORS = ("close_to_close", "parkinson", "garman_klass", "rogers_satchell", "yang_zhang", "realised_15min")


def vol_estimates(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, follows_previous: np.ndarray | None = None
) -> dict[str, Estimate]:
    """Every volatility estimator on minute bars (days x minutes grids), as daily vol fractions.

    Returns ``Estimate`` objects named by estimator: value = daily vol (fraction of price), stderr from a
    jackknife over days (delta method for the square root). ``follows_previous[k]`` says that row k's previous
    trading day is row k-1 (default: every row follows the one before); the daily estimators use only such days,
    with row k-1's close as the previous close, so a gap in the data (days the store does not hold) is never read
    as one day's return. Rows without bars are dropped first.
    """
    ok = np.isfinite(np.asarray(c, dtype=float)).any(axis=1)
    follows = np.ones(ok.size, dtype=bool) if follows_previous is None else np.asarray(follows_previous, dtype=bool)
    follows = follows.copy()
    follows[0] = False
    follows &= ok & np.concatenate([[False], ok[:-1]])  # the previous trading day needs bars too
    d = daily_bars(o, h, lo, c)
    n_days = len(d["close"])
    if n_days == 0:
        raise ValueError("volatility needs bars: the window holds none")
    pair = follows[ok]  # per kept day: its previous trading day is the kept day before it
    returns = int(pair.sum())
    out = {}
    if returns < 2:  # daily estimators need returns over days: only the intraday realised variance is left
        why = (
            f"needs at least 3 trading days of bars, got {n_days}"
            if n_days < 3
            else f"needs at least 2 returns between consecutive trading days, the window has {returns}"
        )
        for name in ESTIMATORS[:-1]:
            out[name] = Estimate(f"sigma_daily_{name}", float("nan"), method=name.replace("_", "-"), warnings=(why,))
        return {**out, **_realised(c)}
    prev = d["close"][:-1][pair[1:]]
    O, H, L, C = (d[k][1:][pair[1:]] for k in ("open", "high", "low", "close"))
    funcs: dict[str, tuple[Callable[..., Any], tuple[np.ndarray, ...]]] = {
        "close_to_close": (lambda c_, p_: close_to_close_variance(c_, p_), (C, prev)),
        "parkinson": (parkinson_variance, (H, L)),
        "garman_klass": (garman_klass_variance, (O, H, L, C)),
        "rogers_satchell": (rogers_satchell_variance, (O, H, L, C)),
        "yang_zhang": (yang_zhang_variance, (O, H, L, C, prev)),
    }
    for name, (func, arrays) in funcs.items():
        var = func(*arrays)
        se_var = _jackknife_se(func, *arrays)
        out[name] = _as_vol(name, var, se_var, returns, f"{name.replace('_', '-')} on daily bars from minute bars")
    return {**out, **_realised(c)}


def _realised(c: np.ndarray) -> dict[str, Estimate]:
    rv, per_day = realised_variance(c[np.isfinite(c).any(axis=1)], 15)
    if len(per_day) > 1:
        se_rv = float(np.std(per_day, ddof=1) / np.sqrt(len(per_day)))
    else:  # one day: the returns' own sampling error, sqrt(2/m) of the variance for m returns
        m = max(int(np.isfinite(c).sum()) // 15, 1)
        se_rv = rv * math.sqrt(2.0 / m)
    method = "realised variance of 15-minute returns (no overnight)"
    return {"realised_15min": _as_vol("realised_15min", rv, se_rv, len(per_day), method)}


def _as_vol(name: str, var: float, se_var: float, n: int, method: str) -> Estimate:
    warnings = []
    if not var > 0:
        warnings.append(f"the {name} variance is not positive ({var:.3g}); too few or flat bars")
    vol = math.sqrt(var) if var > 0 else float("nan")
    se = se_var / (2 * vol) if var > 0 else float("nan")
    if n < 20:
        warnings.append(f"only {n} daily returns: the error is large")
    return Estimate(f"sigma_daily_{name}", vol, se, method, n, warnings=tuple(warnings))


def annualised(vol_daily: float, days_per_year: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised vol sqrt(N_year) * daily vol (docs/MATH.md section 7)."""
    return vol_daily * math.sqrt(days_per_year)
