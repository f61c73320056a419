"""Market impact from the store: rules of thumb, Kyle's lambda, a propagator fit of signed flow, ATHL.

The fit (docs/MATH.md sections 2, 4 and 5) explains each one-minute change of the bar close, r_m = C_m - C_{m-1},
by the net signed volume Q_m of the minute (buyer- minus seller-initiated shares, v_m = M Q_m shares/day):

    r_m = h(v_m) - h(v_{m-1}) + gamma Q_m + kappa (S_m - S_{m-1}) + c0 + noise,   S_m = sum_{j<m} a^{m-1-j} Q_j

h is the temporary impact (it reverts fully after one minute; AC's h(v) = eta v), gamma the permanent impact,
kappa e^{-beta t} the transient (Obizhaeva–Wang) kernel with a = exp(-beta / M). For fixed a and a fixed
shape of h the model is linear, so a and the power-law exponent are found by profiling the residual sum of
squares over a grid; their 95% intervals are the profile-likelihood intervals n ln(RSS/RSS_min) <= 3.84.
Standard errors of the linear coefficients are heteroskedasticity-robust (White HC0). The filter restarts
each day (no transient impact carried overnight). Minutes are in trading time: M a day, the width of the minute
grid, which is the instrument's session (390 for XNYS, 510 for XLON, 1440 for 24/7) and so the session length of
the MarketParams the estimates go into (len(volume_profile)); a lunch break counts as session minutes there too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from optexec import constants
from optexec.calibration.results import CurveFit, Estimate

# ATHL 2005 published constants (docs/MATH.md section 3; optexec.constants holds them)
ATHL_GAMMA, ATHL_GAMMA_SE = constants.ATHL_PERMANENT_COEFFICIENT, constants.ATHL_PERMANENT_COEFFICIENT_SE
ATHL_ETA, ATHL_ETA_SE = constants.ATHL_TEMPORARY_COEFFICIENT, constants.ATHL_TEMPORARY_COEFFICIENT_SE
ATHL_BETA, ATHL_BETA_SE = constants.ATHL_TEMPORARY_EXPONENT, constants.ATHL_TEMPORARY_EXPONENT_SE
REFERENCE_PARTICIPATION = 0.10  # eta of a curved law is quoted as its secant slope at 10% of ADV per day

DECAY_GRID_PER_DAY = np.geomspace(0.5, 2000.0, 31)
EXPONENT_GRID = np.round(np.arange(0.2, 1.601, 0.05), 3)
CHI2_95 = 3.841


def rules_of_thumb(spread_usd: float, adv_shares: float) -> tuple[Estimate, Estimate]:
    """Almgren–Chriss rules of thumb (docs/MATH.md section 7): eta = spread/(1% ADV), gamma = spread/(10% ADV)."""
    if not (spread_usd > 0 and adv_shares > 0):
        raise ValueError("the rules of thumb need a positive spread and average daily volume")
    method = "Almgren–Chriss rule of thumb"
    return (
        Estimate(
            "eta_usd_day_per_share2",
            spread_usd / (constants.RULE_OF_THUMB_TEMPORARY_ADV_SHARE * adv_shares),
            method=f"{method}: spread/(1% ADV)",
        ),
        Estimate(
            "gamma_usd_per_share2",
            spread_usd / (constants.RULE_OF_THUMB_PERMANENT_ADV_SHARE * adv_shares),
            method=f"{method}: spread/(10% ADV)",
        ),  # fmt: skip
    )


def athl_impact(
    sigma_daily: float, adv_shares: float, price_usd: float, shares_outstanding: float | None
) -> tuple[Estimate, Estimate]:
    """ATHL 2005 impact with its published constants, in AC units (docs/MATH.md section 3, continuous-rate form).

    Permanent g(v) = gamma sigma (Theta/V)^(1/4) v/V (fraction of price) -> gamma_AC = price 0.314 sigma
    (Theta/V)^(1/4) / V; temporary h(v) = 0.142 sigma |v/V|^0.6, whose secant slope at v = 10% of V gives
    eta_AC = price 0.142 sigma 0.1^0.6 / (0.1 V). Without shares outstanding Theta/V is taken as 1.
    """
    warn = () if shares_outstanding else ("shares outstanding unknown: ATHL's (Theta/V)^(1/4) factor set to 1",)
    turnover = (shares_outstanding / adv_shares) ** 0.25 if shares_outstanding else 1.0
    gamma = price_usd * ATHL_GAMMA * sigma_daily * turnover / adv_shares
    v_ref = REFERENCE_PARTICIPATION * adv_shares
    eta = price_usd * ATHL_ETA * sigma_daily * REFERENCE_PARTICIPATION**ATHL_BETA / v_ref
    return (
        Estimate(
            "eta_usd_day_per_share2",
            eta,
            eta * ATHL_ETA_SE / ATHL_ETA,
            "ATHL 2005 published temporary impact 0.142 sigma (v/V)^0.6, secant at 10% ADV",
            fallback=True,
        ),
        Estimate(
            "gamma_usd_per_share2",
            gamma,
            gamma * ATHL_GAMMA_SE / ATHL_GAMMA,
            "ATHL 2005 published permanent impact 0.314 sigma (Theta/V)^1/4 X/V",
            warnings=warn,
            fallback=True,
        ),
    )


def athl_cost_bps(
    shares: float, adv_shares: float, sigma_daily: float, duration_days: float, shares_outstanding: float
) -> dict[str, float]:
    """ATHL permanent I, temporary K and realised J = I/2 + K in bp for a trade of ``shares`` (docs/MATH.md §3)."""
    perm = ATHL_GAMMA * sigma_daily * (shares / adv_shares) * (shares_outstanding / adv_shares) ** 0.25
    temp = ATHL_ETA * sigma_daily * abs(shares / (adv_shares * duration_days)) ** ATHL_BETA
    return {"permanent_bps": perm * 1e4, "temporary_bps": temp * 1e4, "realised_bps": (perm / 2 + temp) * 1e4}


def sqrt_law_bps(y: float, sigma_daily: float, shares: float, daily_volume: float) -> float:
    """Square-root law I = Y sigma sqrt(Q/V) in bp (docs/MATH.md section 5)."""
    return y * sigma_daily * math.sqrt(shares / daily_volume) * 1e4


# ----------------------------------------------------------------------------------------------- regressions


def ols(y: np.ndarray, xt: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Least squares of y on the rows of xt (k x n) with White (HC0) covariance: (coef, cov, RSS, R^2)."""
    xt = np.atleast_2d(xt)
    gram = xt @ xt.T
    scale = np.sqrt(np.diag(gram))
    scale[scale == 0] = 1.0
    inv = np.linalg.pinv(gram / np.outer(scale, scale)) / np.outer(scale, scale)
    coef = inv @ (xt @ y)
    resid = y - coef @ xt
    xe = xt * resid
    cov = inv @ (xe @ xe.T) @ inv
    rss = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum())
    return coef, cov, rss, (1 - rss / tss) if tss > 0 else float("nan")


class _Dots:
    """Least squares on designs made of cached columns: each dot product between columns is computed once.

    Profiling refits the model hundreds of times with one column changed; with the dot products cached a
    refit costs a few vector dot products instead of a pass over an n x k matrix. Designs are
    [varying columns..., fixed columns...]; returns (coefficients in that order, RSS).
    """

    def __init__(self, y: np.ndarray, fixed: list[np.ndarray]):
        self.y, self.fixed = y, fixed
        self._cache: dict[tuple[int, int], float] = {}
        self._keep: dict[int, np.ndarray] = {}

    def _dot(self, a: np.ndarray, b: np.ndarray) -> float:
        key = (id(a), id(b)) if id(a) <= id(b) else (id(b), id(a))
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = float(a @ b)
            self._keep[id(a)], self._keep[id(b)] = a, b
        return value

    def fit(self, varying: list[np.ndarray]) -> tuple[np.ndarray, float]:
        cols = [*varying, *self.fixed]
        k = len(cols)
        gram = np.empty((k, k))
        for i in range(k):
            for j in range(i, k):
                gram[i, j] = gram[j, i] = self._dot(cols[i], cols[j])
        xty = np.array([self._dot(c, self.y) for c in cols])
        scale = np.sqrt(np.diag(gram))
        scale[scale == 0] = 1.0
        coef = np.linalg.lstsq(gram / np.outer(scale, scale), xty / scale, rcond=None)[0] / scale
        return coef, float(self._dot(self.y, self.y) - coef @ xty)


def _reorder(coef: np.ndarray, n_temp: int) -> np.ndarray:
    """_Dots order [temp..., transient, Q, const] -> the design order [temp..., Q, transient, const]."""
    return np.concatenate([coef[:n_temp], [coef[n_temp + 1], coef[n_temp], coef[n_temp + 2]]])


def _coef(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Least-squares coefficients from the normal equations (no covariance)."""
    return _normal(y, x)[0]


def _rss(y: np.ndarray, x: np.ndarray) -> float:
    """Residual sum of squares of a least-squares fit, from the normal equations (fast for profiling)."""
    return _normal(y, x)[1]


def _normal(y: np.ndarray, xt: np.ndarray) -> tuple[np.ndarray, float]:
    """Coefficients and RSS of y on the rows of xt (k x n), from the scaled normal equations."""
    gram = xt @ xt.T
    scale = np.sqrt(np.diag(gram))
    scale[scale == 0] = 1.0
    xty = xt @ y
    coef = np.linalg.lstsq(gram / np.outer(scale, scale), xty / scale, rcond=None)[0]
    return coef / scale, float(y @ y - coef @ (xty / scale))


@dataclass(frozen=True)
class FlowData:
    """Regression rows: close change r ($), this and last minute's signed volume, weights, the day grid of Q."""

    r: np.ndarray
    q: np.ndarray
    q_prev: np.ndarray
    weight: np.ndarray  # 1 / local noise sd, from bar high-low ranges over +-15 minutes
    rows: np.ndarray  # (day, minute) of each row, for the transient filter
    q_grid: np.ndarray

    @property
    def n(self) -> int:
        return self.r.size


def flow_data(close: np.ndarray, flow: np.ndarray, high: np.ndarray, low: np.ndarray) -> FlowData:
    """Rows (day, minute >= 1) where both minutes have a close and a signed flow, with WLS weights.

    The weight is 1/sqrt of a local variance: the mean squared high–low range (Parkinson) of the bars
    within 15 minutes, which tracks the volatility factors without using the price changes being fitted.
    """
    from scipy.ndimage import uniform_filter1d

    r = np.diff(close, axis=1)
    q = flow[:, 1:]
    qp = flow[:, :-1]
    ok = np.isfinite(r) & np.isfinite(q) & np.isfinite(qp)
    d, m = np.nonzero(ok)
    hl = (np.log(high / low) ** 2) * close**2 / (4 * math.log(2))
    fill = np.nanmean(hl) if np.isfinite(hl).any() else 1.0
    hl = np.where(np.isfinite(hl), hl, fill)
    local = uniform_filter1d(hl, 31, axis=1, mode="nearest")
    local = np.maximum(local, 1e-6 * max(float(np.mean(local)), 1e-300))
    w = 1.0 / np.sqrt(local[d, m + 1])
    return FlowData(r[ok], q[ok], qp[ok], w / w.mean(), np.stack([d, m + 1]), np.nan_to_num(flow, nan=0.0))


def _transient_regressor(data: FlowData, decay_per_day: float) -> np.ndarray:
    """S_m - S_{m-1} with S_m = sum_{j<m} a^{m-1-j} Q_j within each day, a = exp(-beta / minutes per day)."""
    a = math.exp(-decay_per_day / data.q_grid.shape[1])
    filtered = lfilter([1.0], [1.0, -a], data.q_grid, axis=1)  # F_m = sum_{j<=m} a^{m-j} Q_j = S_{m+1}
    s = np.concatenate([np.zeros((filtered.shape[0], 1)), filtered[:, :-1]], axis=1)
    ds = np.diff(s, axis=1, prepend=0.0)
    d, m = data.rows
    return ds[d, m]


def _power(v: np.ndarray, p: float) -> np.ndarray:
    return np.sign(v) * np.abs(v) ** p


def _design(data: FlowData, temp_columns: list[np.ndarray], transient: np.ndarray) -> np.ndarray:
    """The weighted design as rows (k x n): temporary columns, Q_m, the transient regressor, a constant."""
    w = data.weight
    return np.vstack([*(c * w for c in temp_columns), data.q * w, transient * w, w])


@dataclass(frozen=True)
class PropagatorFit:
    """The fitted impact model: temporary curves, permanent gamma, transient kappa and decay beta."""

    curves: dict[str, CurveFit]
    gamma: Estimate
    kappa: Estimate
    decay: Estimate
    sqrt_y: Estimate
    best_form: str
    bins: dict[str, list[float]]
    observations: int


def fit_propagator(
    close: np.ndarray,
    flow: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    price_usd: float,
    sigma_daily: float,
    adv_shares: float,
) -> PropagatorFit:
    """Fit the temporary/permanent/transient impact model of the module docstring (weighted least squares).

    Every standard error includes the spread of the coefficient over the decay rates inside beta's 95%
    profile interval (the data often cannot tell a fast transient from temporary or permanent impact).
    """
    data = flow_data(close, flow, high, low)
    if data.n < 200:
        raise ValueError(f"impact needs signed trades over at least 200 minutes, got {data.n}")
    y = data.r * data.weight
    n = data.n
    w = data.weight
    dots = _Dots(y, [data.q * w, w])  # fixed columns: Q_m and the constant (weighted)
    minutes_per_day = close.shape[1]  # the session's minutes: shares per minute -> shares per day
    v, vp = minutes_per_day * data.q, minutes_per_day * data.q_prev
    transients = {beta: _transient_regressor(data, beta) * w for beta in DECAY_GRID_PER_DAY}
    v_ref = REFERENCE_PARTICIPATION * adv_shares  # power curves are fitted as h_ref (v / v_ref)^p
    u, up = v / v_ref, vp / v_ref
    powers = {p: (_power(u, p) - _power(up, p)) * w for p in EXPONENT_GRID}
    lin_w = [(v - vp) * w]
    # profile the decay on the linear model, then the exponent at that decay, then the decay again
    rss_beta = np.array([dots.fit([*lin_w, t])[1] for t in transients.values()])
    beta = DECAY_GRID_PER_DAY[int(np.argmin(rss_beta))]
    rss_p = np.array([dots.fit([powers[p], transients[beta]])[1] for p in EXPONENT_GRID])
    p_hat = float(EXPONENT_GRID[int(np.argmin(rss_p))])
    rss_beta = np.array([dots.fit([powers[p_hat], t])[1] for t in transients.values()])
    beta = DECAY_GRID_PER_DAY[int(np.argmin(rss_beta))]
    trans = transients[beta] / w

    interval = _profile_interval(DECAY_GRID_PER_DAY, rss_beta, n)
    inside = [b for b in DECAY_GRID_PER_DAY if interval[0] <= b <= interval[1]]

    curves, fits = {}, {}
    lin = [v - vp]
    pw = [_power(u, p_hat) - _power(up, p_hat)]
    quad = [v - vp, v * np.abs(v) - vp * np.abs(vp)]
    quad_w = [c * w for c in quad]
    p_lo, p_hi = _profile_interval(EXPONENT_GRID, rss_p, n)
    p_inside = [p for p in EXPONENT_GRID if p_lo <= p <= p_hi]
    for form, cols, cols_w, names in (
        ("linear", lin, lin_w, ["eta"]),
        ("quadratic", quad, quad_w, ["a", "b"]),
        ("power", pw, [powers[p_hat]], ["h_ref"]),
    ):
        coef, cov, rss, r2 = ols(y, _design(data, cols, trans))
        spread = np.array([_reorder(dots.fit([*cols_w, transients[b]])[0], len(cols)) for b in inside])
        if form == "power":  # the exponent is uncertain too: add the spread of h_ref over its interval
            spread = np.vstack([spread, [_reorder(dots.fit([powers[p], transients[beta]])[0], 1) for p in p_inside]])
        se = np.hypot(np.sqrt(np.diag(cov)), (spread.max(axis=0) - spread.min(axis=0)) / (2 * 1.96))
        params = {k: float(coef[i]) for i, k in enumerate(names)}
        stderrs = {k: float(se[i]) for i, k in enumerate(names)}
        if form == "power":
            params.update(c=params["h_ref"] * v_ref**-p_hat, p=p_hat, v_ref=v_ref)
            stderrs.update(c=stderrs["h_ref"] * v_ref**-p_hat, p=_profile_se(EXPONENT_GRID, rss_p, n), v_ref=0.0)
        curves[form] = CurveFit(form, params, stderrs, rss, n, r2)
        fits[form] = (coef, se, len(names), cols)
    best = min(curves, key=lambda f: n * math.log(curves[f].rss) + 2 * (len(curves[f].params) + 3))  # AIC
    coef, se, k, cols = fits[best]
    gamma = Estimate(
        "gamma_usd_per_share2",
        float(coef[k]),
        float(se[k]),
        f"weighted propagator fit of signed flow: permanent part ({best} temporary curve)",
        n,
        fit_quality=curves[best].r2,
    )
    kappa = Estimate(
        "transient_kappa_usd_per_share2",
        float(coef[k + 1]),
        float(se[k + 1]),
        "weighted propagator fit of signed flow: transient part",
        n,
    )
    lo_edge, hi_edge = DECAY_GRID_PER_DAY[0], DECAY_GRID_PER_DAY[-1]
    identified = kappa.identified and not (interval[0] <= lo_edge and interval[1] >= hi_edge)
    decay = Estimate(
        "transient_decay_per_day",
        float(beta),
        (math.log(interval[1]) - math.log(interval[0])) / (2 * 1.96) * beta,
        "profile least squares over a log grid of decay rates",
        n,
        interval=interval,
        warnings=()
        if identified
        else ("the transient impact is not significant: its decay rate is not identified by these data",),
    )
    # square-root law: h(v) = Y price sigma sqrt(|v| / ADV)  (docs/MATH.md section 5)
    coef_s, cov_s, _rss_s, r2_s = ols(y, _design(data, [_power(v, 0.5) - _power(vp, 0.5)], trans))
    unit = price_usd * sigma_daily / math.sqrt(adv_shares)
    sqrt_y = Estimate(
        "sqrt_law_y",
        float(coef_s[0] / unit),
        float(math.sqrt(cov_s[0, 0]) / unit),
        "temporary impact fitted with exponent 1/2: h(v) = Y price sigma sqrt(v/ADV)",
        n,
        fit_quality=r2_s,
    )
    bins = _impact_bins(data, v, vp, curves[best], coef, k, trans)
    return PropagatorFit(curves, gamma, kappa, decay, sqrt_y, best, bins, n)


def _profile_interval(grid: np.ndarray, rss: np.ndarray, n: int) -> tuple[float, float]:
    """95% profile-likelihood interval n ln(RSS/RSS_min) <= 3.84 on a grid (grid ends when not closed)."""
    inside = grid[n * np.log(rss / rss.min()) <= CHI2_95]
    return float(inside.min()), float(inside.max())


def _profile_se(grid: np.ndarray, rss: np.ndarray, n: int) -> float:
    lo, hi = _profile_interval(grid, rss, n)
    step = float(np.min(np.diff(grid)))
    return max(hi - lo, step) / (2 * 1.96)


def _impact_bins(data, v, vp, curve: CurveFit, coef, k, trans, n_bins: int = 20) -> dict[str, list[float]]:
    """Binned partial residuals: r minus the fitted permanent/transient parts plus last minute's h."""
    partial = data.r - coef[k] * data.q - coef[k + 1] * trans - coef[k + 2] + curve.impact_usd(vp)
    edges = np.unique(np.quantile(v, np.linspace(0, 1, n_bins + 1)))
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, edges.size - 2)
    counts = np.bincount(idx, minlength=edges.size - 1)
    ok = counts > 1
    mean_v = np.bincount(idx, v, edges.size - 1)[ok] / counts[ok]
    mean_y = np.bincount(idx, partial, edges.size - 1)[ok] / counts[ok]
    sq = np.bincount(idx, partial**2, edges.size - 1)[ok] / counts[ok]
    se = np.sqrt(np.maximum(sq - mean_y**2, 0) / counts[ok])
    return {
        "rate_shares_per_day": mean_v.tolist(),
        "impact_usd": mean_y.tolist(),
        "stderr_usd": se.tolist(),
        "count": counts[ok].astype(int).tolist(),
    }


def kyle_lambda(close: np.ndarray, flow: np.ndarray, bucket_minutes: int = 5) -> Estimate:
    """Kyle's lambda: slope of the price change over a bucket on the bucket's net signed volume ($/share)."""
    days, minutes = close.shape
    n = minutes // bucket_minutes
    c = close[:, : n * bucket_minutes].reshape(days, n, bucket_minutes)[:, :, -1]
    q = flow[:, : n * bucket_minutes].reshape(days, n, bucket_minutes).sum(axis=2)
    dp, qq = np.diff(c, axis=1).ravel(), q[:, 1:].ravel()
    ok = np.isfinite(dp) & np.isfinite(qq)
    if ok.sum() < 30:
        return Estimate("kyle_lambda_usd_per_share", float("nan"), method="too few buckets with signed trades")
    coef, cov, _rss, r2 = ols(dp[ok], np.vstack([qq[ok], np.ones(ok.sum())]))
    return Estimate(
        "kyle_lambda_usd_per_share",
        float(coef[0]),
        float(math.sqrt(cov[0, 0])),
        f"regression of {bucket_minutes}-minute price changes on net signed volume",
        int(ok.sum()),
        fit_quality=r2,
    )
