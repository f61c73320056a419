"""Fast and slow volatility factors for the multiscale strategy (docs/MATH.md sections 1.6 and 1.7).

Method: the log realised variance of 10-minute buckets (Parkinson ranges of the one-minute bars),
less its mean per bucket of the day (the intraday seasonal), is modelled as the sum of two independent
Ornstein–Uhlenbeck factors plus measurement noise. Its autocovariance at lag tau > 0 is then

    C(tau) = A_fast exp(-theta_fast tau) + A_slow exp(-theta_slow tau) + c        (tau in trading days)

(measurement noise only adds to C(0), which is not fitted; c <= 0 absorbs the bias of taking
the autocovariance about the sample mean). The two rates are fitted by nonlinear least
squares on the sample autocovariance (lags up to 10 days); their standard errors are the curve fit's,
which treat the autocovariance errors as independent and so understate the true error (said in the warnings).
Mapping to the strategy: epsilon = 1 / theta_fast with the fast factor's own rate theta_f = 1 per day
(drift (theta_f/eps)(mu - y)), delta = theta_slow; mu = the long-run daily variance (a variance, docs/MATH.md 1.8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from optexec.calibration.results import Estimate

LN2 = math.log(2.0)


@dataclass(frozen=True)
class VolFactorFit:
    """Two-factor fit: rates, their mapping to (epsilon, delta), the long-run variance, and the fitted ACF."""

    long_run_variance: Estimate
    fast_rate: Estimate
    slow_rate: Estimate
    epsilon: Estimate
    delta: Estimate
    fast_share: float
    lags_days: np.ndarray
    acf: np.ndarray
    acf_fit: np.ndarray
    r2: float


def _two_exp(tau, a_fast, rate_fast, a_slow, rate_slow, offset=0.0):
    return a_fast * np.exp(-rate_fast * tau) + a_slow * np.exp(-rate_slow * tau) + offset


def log_variance_series(high: np.ndarray, low: np.ndarray, bucket_minutes: int = 10) -> np.ndarray:
    """Deseasonalised log realised variance per bucket (days x buckets); NaN where a bucket has no range."""
    hl = np.log(np.asarray(high) / np.asarray(low)) ** 2 / (4 * LN2)
    n = hl.shape[1] // bucket_minutes * bucket_minutes
    buckets = np.nansum(hl[:, :n].reshape(hl.shape[0], -1, bucket_minutes), axis=2)
    logv = np.where(buckets > 0, np.log(np.where(buckets > 0, buckets, 1.0)), np.nan)
    seen = np.isfinite(logv).sum(axis=0)
    seasonal = np.nansum(logv, axis=0) / np.maximum(seen, 1)  # buckets never traded (a lunch break) stay NaN
    return logv - np.where(seen > 0, seasonal, np.nan)


def autocovariance(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocovariance at lags 0..max_lag of a series with NaN gaps (pairs with both values, via FFT)."""
    x = np.asarray(x, dtype=float)
    mask = np.isfinite(x)
    z = np.where(mask, x - np.nanmean(x), 0.0)
    size = 1 << (2 * x.size - 1).bit_length()
    fz, fm = np.fft.rfft(z, size), np.fft.rfft(mask.astype(float), size)
    num = np.fft.irfft(fz * np.conj(fz), size)[: max_lag + 1]
    cnt = np.round(np.fft.irfft(fm * np.conj(fm), size)[: max_lag + 1])
    return np.where(cnt > 0, num / np.maximum(cnt, 1), np.nan)


def fit_vol_factors(
    high: np.ndarray, low: np.ndarray, daily_variance: float, bucket_minutes: int = 10, max_lag_days: float = 10.0
) -> VolFactorFit:
    """Fit the two-factor model of the module docstring to (days x minutes) minute-bar highs and lows.

    ``daily_variance`` is the long-run level mu reported (a daily variance of returns, e.g. sigma_daily^2).
    """
    series = log_variance_series(high, low, bucket_minutes).ravel()
    per_day = np.shape(high)[1] // bucket_minutes  # buckets per day of the session grid (lags in trading days)
    if np.isfinite(series).sum() < 5 * per_day:
        raise ValueError("volatility factors need at least 5 days of minute bars")
    max_lag = int(min(max_lag_days * per_day, series.size // 3))
    acf = autocovariance(series, max_lag)
    lags = np.arange(1, max_lag + 1) / per_day
    y = acf[1:]
    ok = np.isfinite(y)
    p0 = (max(y[0] / 2, 1e-3), 10.0, max(y[0] / 2, 1e-3), 0.3, 0.0)
    # offset <= 0 absorbs the downward bias of a sample autocovariance taken about the sample mean
    bounds = ([0, 1.0, 0, 1e-3, -10.0], [10.0, 5000.0, 10.0, 1.0, 0.0])
    warnings = [
        "standard errors treat the autocovariance errors as independent and understate the true error",
    ]
    try:
        popt, pcov = curve_fit(_two_exp, lags[ok], y[ok], p0=p0, bounds=bounds, maxfev=20000)
        perr = np.sqrt(np.diag(pcov))
    except (RuntimeError, ValueError):
        popt, perr = np.array([np.nan] * 5), np.array([np.nan] * 5)
        warnings.append("the two-factor fit did not converge")
    fitted = _two_exp(lags, *popt)
    resid = y[ok] - fitted[ok]
    r2 = float(1 - resid @ resid / np.sum((y[ok] - y[ok].mean()) ** 2))
    days = series.size / per_day
    if np.isfinite(popt[3]) and popt[3] * days < 5:
        warnings.append(
            f"the slow factor decays over {1 / popt[3]:.0f} days but the window holds {days:.0f}: "
            "its rate is poorly identified"
        )
    if np.isfinite(popt[3]) and (popt[3] >= bounds[1][3] * 0.999 or popt[1] <= bounds[0][1] * 1.001):
        warnings.append("a rate sits at the edge of its allowed range: the two time scales are not separated")
    nobs = int(ok.sum())
    w = tuple(warnings)
    fast = Estimate(
        "vol_fast_rate_per_day", float(popt[1]), float(perr[1]), "two-exponential ACF fit", nobs, warnings=w
    )
    slow = Estimate(
        "vol_slow_rate_per_day", float(popt[3]), float(perr[3]), "two-exponential ACF fit", nobs, warnings=w
    )
    eps = Estimate(
        "fast_scale_epsilon",
        1 / popt[1],
        perr[1] / popt[1] ** 2,
        "1 / fast rate (days), for theta_f = 1 per day",
        nobs,
        warnings=w,
    )
    delta = Estimate("slow_scale_delta", float(popt[3]), float(perr[3]), "slow rate (per day)", nobs, warnings=w)
    mu = Estimate(
        "vol_long_run_variance_daily",
        float(daily_variance),
        float("nan"),
        "long-run daily variance of returns (sigma_daily^2)",
        int(days),
    )
    share = float(popt[0] / (popt[0] + popt[2])) if np.isfinite(popt[0]) else float("nan")
    return VolFactorFit(mu, fast, slow, eps, delta, share, lags, y, fitted, r2)


def fit_signal_ou(values: np.ndarray, dt_days: float) -> tuple[Estimate, Estimate]:
    """Mean reversion kappa (per day) and volatility eta of a return signal, from its AR(1) fit.

    x_{t+1} = phi x_t + e_t with phi = exp(-kappa dt) and Var(e) = eta^2 (1 - phi^2) / (2 kappa)
    (exact OU discretisation, docs/MATH.md section 1.2: dx = -kappa x dt + eta dB).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 10:
        raise ValueError("the signal needs at least 10 observations")
    a, b = x[:-1], x[1:]
    phi = float(a @ b / (a @ a))
    resid = b - phi * a
    s2 = float(resid @ resid / (a.size - 1))
    se_phi = math.sqrt(s2 / (a @ a))
    if not 0 < phi < 1:
        raise ValueError(f"the signal does not mean-revert (AR(1) coefficient {phi:.3f})")
    kappa = -math.log(phi) / dt_days
    eta = math.sqrt(s2 * 2 * kappa / (1 - phi**2))
    se_kappa = se_phi / (phi * dt_days)
    n = int(a.size)
    return (
        Estimate("signal_kappa_per_day", kappa, se_kappa, "AR(1) fit of the signal", n),
        Estimate("signal_eta", eta, eta * math.sqrt(0.5 / n), "AR(1) residual volatility", n),
    )
