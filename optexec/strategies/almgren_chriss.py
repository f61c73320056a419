"""Almgren–Chriss optimal execution under linear impact (MATH.md section 2 and 8).

Discrete (exact kappa from the arccosh relation, eq 17-19), continuous (section 8) and the
implementation-shortfall variant with drift (eq 25). Holdings are the shares still to trade,
for buys and sells alike; drift is signed in price terms and turned into the drift that
favours holding (alpha for a sell, -alpha for a buy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optexec.models import MarketParams, Order, Schedule, check_non_negative
from optexec.strategies.base import Strategy, shared


@dataclass(frozen=True)
class ACParams:
    """Almgren–Chriss parameters.

    risk_aversion_per_usd : lambda in E + lambda V, per $ (0 = risk neutral, gives TWAP).
    """

    risk_aversion_per_usd: float = shared("risk_aversion_per_usd")

    def __post_init__(self) -> None:
        check_non_negative("risk aversion (1/$)", self.risk_aversion_per_usd)


def eta_tilde(order: Order, market: MarketParams) -> float:
    """Effective temporary impact eta~ = eta - gamma tau / 2 (MATH.md section 2, eq 8); must be > 0."""
    value = market.eta_usd_day_per_share2 - 0.5 * market.gamma_usd_per_share2 * order.slice_days
    if value <= 0:
        raise ValueError(
            "the slices are too long for these impact coefficients: temporary impact eta must exceed "
            f"gamma x slice length / 2 (eta = {market.eta_usd_day_per_share2:.3g}, gamma x tau / 2 = "
            f"{0.5 * market.gamma_usd_per_share2 * order.slice_days:.3g}); use more slices"
        )
    return value


def kappa_discrete(order: Order, market: MarketParams, risk_aversion_per_usd: float) -> float:
    """Exact urgency kappa per day from (2/tau^2)(cosh(kappa tau) - 1) = lambda sigma^2 / eta~ (eq 19).

    Solved as kappa = (2/tau) arcsinh(kappa~ tau / 2), the same relation since cosh(x) - 1 = 2 sinh^2(x/2), but
    accurate for tiny lambda where arccosh(1 + d) loses digits.
    """
    tau = order.slice_days
    kappa_tilde_sq = risk_aversion_per_usd * market.sigma_usd_per_sqrt_day**2 / eta_tilde(order, market)
    return float(2.0 * np.arcsinh(0.5 * math.sqrt(kappa_tilde_sq) * tau) / tau)


def kappa_continuous(market: MarketParams, risk_aversion_per_usd: float) -> float:
    """Continuous-time urgency kappa = sqrt(lambda sigma^2 / eta) per day (MATH.md section 8)."""
    return math.sqrt(risk_aversion_per_usd * market.sigma_usd_per_sqrt_day**2 / market.eta_usd_day_per_share2)


def sinh_ratio(kappa: float, t_days: np.ndarray, horizon_days: float) -> np.ndarray:
    """sinh(kappa (T - t)) / sinh(kappa T), evaluated without overflow; the TWAP line at kappa = 0.

    Uses sinh(a)/sinh(b) = exp(a - b) (1 - exp(-2a)) / (1 - exp(-2b)) with expm1.
    """
    t = np.asarray(t_days, dtype=float)
    if kappa * horizon_days < 1e-12:
        return 1.0 - t / horizon_days
    if not math.isfinite(kappa):
        return np.where(t <= 0, 1.0, 0.0)
    remaining = horizon_days - t
    return np.exp(-kappa * t) * np.expm1(-2.0 * kappa * remaining) / math.expm1(-2.0 * kappa * horizon_days)


def ac_discrete(order: Order, market: MarketParams, params: ACParams) -> Schedule:
    """x_j = X sinh(kappa (T - t_j)) / sinh(kappa T) with the exact discrete kappa (eq 17-19)."""
    kappa = kappa_discrete(order, market, params.risk_aversion_per_usd)
    holdings = order.shares * sinh_ratio(kappa, order.times_days, order.horizon_days)
    return Schedule.from_holdings("ac_discrete", order, market, holdings, params.__dict__)


def ac_continuous(order: Order, market: MarketParams, params: ACParams) -> Schedule:
    """The continuous trajectory x(t) = X sinh(kappa (T - t)) / sinh(kappa T), kappa = sqrt(lambda sigma^2/eta),
    sampled on the slice grid (MATH.md section 8)."""
    kappa = kappa_continuous(market, params.risk_aversion_per_usd)
    holdings = order.shares * sinh_ratio(kappa, order.times_days, order.horizon_days)
    return Schedule.from_holdings("ac_continuous", order, market, holdings, params.__dict__)


def favourable_drift_usd_per_day(order: Order, market: MarketParams) -> float:
    """Drift that rewards holding the remainder: alpha for a sell, -alpha for a buy (MATH.md section 8)."""
    return -order.side_sign * market.drift_usd_per_day


def static_holding_shares(order: Order, market: MarketParams, risk_aversion_per_usd: float) -> float:
    """The static optimum x_bar = alpha / (2 lambda sigma^2) of AC with drift (eq 25)."""
    alpha = favourable_drift_usd_per_day(order, market)
    denominator = 2.0 * risk_aversion_per_usd * market.sigma_usd_per_sqrt_day**2
    if denominator == 0:
        raise ValueError("the drift target alpha / (2 lambda sigma^2) needs risk aversion > 0 and sigma > 0")
    return alpha / denominator


def ac_drift(order: Order, market: MarketParams, params: ACParams) -> Schedule:
    """Implementation-shortfall strategy: Almgren–Chriss with drift (MATH.md section 2, eq 25).

    Minimises E + lambda V with E including -alpha tau sum x_k. The first-order conditions give
    x_{k-1} - 2 x_k + x_{k+1} = kappa~^2 tau^2 (x_k - x_bar), x_bar = alpha / (2 lambda sigma^2), solved exactly:
    x_j = X sinh(kappa(T - t_j))/sinh(kappa T) + x_bar [1 - (sinh(kappa(T - t_j)) + sinh(kappa t_j))/sinh(kappa T)].
    The bracket equals 2 sinh(kappa t/2) sinh(kappa (T-t)/2) / cosh(kappa T/2), so the drift term is evaluated as
    alpha expm1(-kappa t) expm1(-kappa (T-t)) / (2 eta~ kappa~^2 (1 + exp(-kappa T))): no cancellation of huge
    x_bar terms as lambda -> 0, no overflow as kappa T grows. With lambda = 0 (or sigma = 0) it is the TWAP line
    plus the parabola alpha tau^2 / (4 eta~) j (N - j).
    """
    t, horizon = order.times_days, order.horizon_days
    alpha = favourable_drift_usd_per_day(order, market)
    eta_t = eta_tilde(order, market)
    kappa = kappa_discrete(order, market, params.risk_aversion_per_usd)
    warnings: tuple[str, ...] = ()
    if not math.isfinite(kappa):  # infinitely urgent: everything now, whatever the drift
        holdings = order.shares * sinh_ratio(kappa, t, horizon)
    elif kappa * horizon < 1e-12:
        steps = np.arange(order.slices + 1)
        curvature = alpha * order.slice_days**2 / (4.0 * eta_t)
        holdings = order.shares * (1.0 - steps / order.slices) + curvature * steps * (order.slices - steps)
    else:
        kappa_tilde_sq = params.risk_aversion_per_usd * market.sigma_usd_per_sqrt_day**2 / eta_t
        drift_term = (
            alpha * np.expm1(-kappa * t) * np.expm1(-kappa * (horizon - t))
            / (2.0 * eta_t * kappa_tilde_sq * (1.0 + math.exp(-kappa * horizon)))
        )  # fmt: skip
        holdings = order.shares * sinh_ratio(kappa, t, horizon) + drift_term
    if np.any(holdings < -1e-9 * order.shares) or np.any(np.diff(holdings) > 1e-9 * order.shares):
        warnings = ("the drift is strong enough that this schedule trades against the order at times",)
    return Schedule.from_holdings("ac_drift", order, market, holdings, params.__dict__, warnings)


STRATEGIES = [
    Strategy(
        "ac_discrete",
        "Almgren–Chriss",
        ACParams,
        ac_discrete,
        "Minimises expected cost + risk aversion x variance under linear impact (exact discrete solution).",
    ),
    Strategy(
        "ac_continuous",
        "Almgren–Chriss (continuous)",
        ACParams,
        ac_continuous,
        "The continuous-time Almgren–Chriss trajectory sampled on the slices.",
    ),
    Strategy(
        "ac_drift",
        "Implementation shortfall (AC + drift)",
        ACParams,
        ac_drift,
        "Almgren–Chriss with the expected price drift: holds more when the drift favours waiting.",
    ),
]
