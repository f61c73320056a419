"""Almgren–Chriss optimal execution under linear impact (docs/MATH.md section 2 and 8).

Discrete (exact kappa from the arccosh relation, eq 17-19), continuous (section 8) and the
implementation-shortfall variant with drift (eq 25). Holdings are the shares still to trade,
for buys and sells alike; drift is signed in price terms and turned into the drift that
favours holding (alpha for a sell, -alpha for a buy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from optexec.clock import duration_words
from optexec.models import MarketParams, Order, Schedule, check_non_negative
from optexec.strategies.base import Strategy, shared
from optexec.strategies.participation import check_max_participation, limit_participation

#: what the Almgren–Chriss strategies optimise (the "optimises under" of the plan table)
LINEAR_AC = "linear Almgren–Chriss: spread, linear temporary, linear permanent"


@dataclass(frozen=True)
class ACParams:
    """Almgren–Chriss parameters.

    risk_aversion_per_usd : lambda in E + lambda V, per $ (0 = risk neutral, gives TWAP).
    max_participation : the shared participation limit: the optimal schedule is capped by it afterwards
        (optexec.strategies.participation), so a front-loaded schedule is spread over later slices.
    """

    risk_aversion_per_usd: float = shared("risk_aversion_per_usd")
    max_participation: float = shared("max_participation")

    def __post_init__(self) -> None:
        check_non_negative("risk aversion (1/$)", self.risk_aversion_per_usd)
        check_max_participation(self.max_participation)


def eta_tilde(order: Order, market: MarketParams) -> float:
    """Effective temporary impact eta~ = eta - gamma tau / 2 (docs/MATH.md section 2, eq 8); must be > 0."""
    value = market.eta_usd_day_per_share2 - 0.5 * market.gamma_usd_per_share2 * order.slice_days
    if value <= 0:
        raise ValueError(
            "the slices are too long for these impact coefficients: temporary impact eta must exceed "
            f"gamma x slice length / 2 (eta = {market.eta_usd_day_per_share2:.3g}, gamma x tau / 2 = "
            f"{0.5 * market.gamma_usd_per_share2 * order.slice_days:.3g}); use more slices (each is now "
            f"{duration_words(order.slice_days, market.session_minutes)})"
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
    """Continuous-time urgency kappa = sqrt(lambda sigma^2 / eta) per day (docs/MATH.md section 8)."""
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
    schedule = Schedule.from_holdings("ac_discrete", order, market, holdings, params.__dict__)
    return limit_participation(schedule, params.max_participation)


def ac_continuous(order: Order, market: MarketParams, params: ACParams) -> Schedule:
    """The continuous trajectory x(t) = X sinh(kappa (T - t)) / sinh(kappa T), kappa = sqrt(lambda sigma^2/eta),
    sampled on the slice grid (docs/MATH.md section 8)."""
    kappa = kappa_continuous(market, params.risk_aversion_per_usd)
    holdings = order.shares * sinh_ratio(kappa, order.times_days, order.horizon_days)
    schedule = Schedule.from_holdings("ac_continuous", order, market, holdings, params.__dict__)
    return limit_participation(schedule, params.max_participation)


def favourable_drift_usd_per_day(order: Order, market: MarketParams) -> float:
    """Drift that rewards holding the remainder: alpha for a sell, -alpha for a buy (docs/MATH.md section 8)."""
    return -order.side_sign * market.drift_usd_per_day


def static_holding_shares(order: Order, market: MarketParams, risk_aversion_per_usd: float) -> float:
    """The static optimum x_bar = alpha / (2 lambda sigma^2) of AC with drift (eq 25)."""
    alpha = favourable_drift_usd_per_day(order, market)
    denominator = 2.0 * risk_aversion_per_usd * market.sigma_usd_per_sqrt_day**2
    if denominator == 0:
        raise ValueError("the drift target alpha / (2 lambda sigma^2) needs risk aversion > 0 and sigma > 0")
    return alpha / denominator


def ac_drift(order: Order, market: MarketParams, params: ACParams) -> Schedule:
    """Implementation-shortfall strategy: Almgren–Chriss with drift (docs/MATH.md section 2, eq 25).

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
    schedule = Schedule.from_holdings("ac_drift", order, market, holdings, params.__dict__, warnings)
    return limit_participation(schedule, params.max_participation)


STRATEGIES = [
    Strategy(
        "ac_discrete",
        "Almgren–Chriss",
        ACParams,
        ac_discrete,
        "Minimises expected cost + risk aversion x variance under linear impact (exact discrete solution).",
        optimises=LINEAR_AC,
    ),
    Strategy(
        "ac_continuous",
        "Almgren–Chriss (continuous)",
        ACParams,
        ac_continuous,
        "The continuous-time Almgren–Chriss trajectory sampled on the slices.",
        optimises=LINEAR_AC + " (continuous time)",
    ),
    Strategy(
        "ac_drift",
        "Implementation shortfall (AC + drift)",
        ACParams,
        ac_drift,
        "Almgren–Chriss with the expected price drift: holds more when the drift favours waiting.",
        optimises=LINEAR_AC + ", and the price drift",
    ),
]


def ac_closed_form(order: Order, market: MarketParams, risk_aversion_per_usd: float) -> tuple[float, float]:
    """E and V of the discrete Almgren–Chriss optimum in closed form (docs/MATH.md section 2, eq 20), drift-free.

    Returns (expected cost $, variance $^2). At lambda = 0 it is the TWAP line of docs/MATH.md section 8.
    """
    X, T, tau, n = order.shares, order.horizon_days, order.slice_days, order.slices
    eps, gamma, sigma = market.half_spread_usd, market.gamma_usd_per_share2, market.sigma_usd_per_sqrt_day
    eta_t = eta_tilde(order, market)
    kappa = kappa_discrete(order, market, risk_aversion_per_usd)
    base = 0.5 * gamma * X**2 + eps * X
    if kappa * T < 1e-6:
        return base + eta_t * X**2 / T, sigma**2 * X**2 * T / 3 * (1 - 1 / n) * (1 - 1 / (2 * n))
    # Divide numerator and denominator by exp(2 kappa T) so that large kappa T cannot overflow.
    e2 = math.exp(-2 * kappa * T)
    sinh2_scaled = 0.25 * (1 - e2) ** 2  # sinh^2(kappa T) exp(-2 kappa T)
    sinh_2kT_scaled = 0.5 * (1 - e2 * e2)  # sinh(2 kappa T) exp(-2 kappa T)
    temporary = (
        eta_t
        * X**2
        * math.tanh(kappa * tau / 2)
        * (tau * sinh_2kT_scaled + 2 * T * math.sinh(kappa * tau) * e2)
        / (2 * tau**2 * sinh2_scaled)
    )
    # sinh(kT) cosh(k(T - tau)) exp(-2kT) = (1 - e2)(exp(-k tau) + exp(-k(2T - tau))) / 4
    cross = 0.25 * (1 - e2) * (math.exp(-kappa * tau) + math.exp(-kappa * (2 * T - tau)))
    variance = (
        0.5
        * sigma**2
        * X**2
        * (tau * cross - T * math.sinh(kappa * tau) * e2)
        / (sinh2_scaled * math.sinh(kappa * tau))
    )
    return base + temporary, variance


@dataclass(frozen=True)
class Frontier:
    """The Almgren–Chriss efficient frontier: expected cost against std over a grid of risk aversions."""

    risk_aversion_per_usd: np.ndarray
    expected_usd: np.ndarray
    std_usd: np.ndarray


def efficient_frontier(order: Order, market: MarketParams, risk_aversions_per_usd: Iterable[float]) -> Frontier:
    """(sqrt V(lambda), E(lambda)) of the discrete AC optimum over the given lambdas (docs/MATH.md section 2)."""
    lambdas = np.asarray(list(risk_aversions_per_usd), dtype=float)
    points = np.array([ac_closed_form(order, market, lam) for lam in lambdas]).reshape(-1, 2)
    return Frontier(lambdas, points[:, 0], np.sqrt(np.maximum(points[:, 1], 0.0)))


def default_frontier_risk_aversions(order: Order, market: MarketParams, points: int = 40) -> np.ndarray:
    """A log grid of lambda spanning TWAP-like to near-immediate schedules for this order.

    kappa T runs from 0.01 to 3 N (kappa ~ sqrt(lambda sigma^2 / eta), section 2 eq 19).
    """
    if market.sigma_usd_per_sqrt_day == 0:
        return np.zeros(1)
    kappa_t = np.geomspace(0.01, 3.0 * order.slices, points)
    kappa = kappa_t / order.horizon_days
    eta_t = max(eta_tilde(order, market), 1e-300)
    tau = order.slice_days
    # invert (2/tau^2)(cosh(kappa tau) - 1) = lambda sigma^2 / eta~ exactly (kappa tau <= 3 here: no overflow)
    kappa_tilde_sq = 2.0 * (np.cosh(kappa * tau) - 1.0) / tau**2
    return np.concatenate([[0.0], kappa_tilde_sq * eta_t / market.sigma_usd_per_sqrt_day**2])
