"""Expected cost and variance of any schedule under its market's cost model (docs/MATH.md sections 2, 8 and 11).

The formulas live in optexec.market (one cost model for the planner, the simulator, the RL environment and the
allocators); this module packages them for one schedule and holds the Almgren–Chriss closed forms and frontier.
Under the linear model, for child orders n_k and holdings x_k after child order k, slices of tau days:

    E = 1/2 gamma X^2 + eps sum|n_k| + (eta~ / tau) sum n_k^2 + drift,  eta~ = eta - gamma tau / 2   (eq 8)
    V = sigma^2 tau sum_{k=1}^{N} x_k^2                                                           (eq 5)

Costs are in $ (positive = money lost, buys and sells alike) and in bps of the arrival notional X S_0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from optexec import market as market_model
from optexec.market import value_at_risk_usd
from optexec.models import MarketParams, Order, Schedule
from optexec.strategies.almgren_chriss import eta_tilde, kappa_discrete


@dataclass(frozen=True)
class CostEstimate:
    """Closed-form pre-trade cost of one schedule, in $ unless a name says otherwise."""

    strategy: str
    arrival_notional_usd: float
    spread_usd: float
    temporary_usd: float
    permanent_usd: float
    drift_usd: float
    variance_usd2: float
    transient_usd: float = 0.0

    @property
    def expected_usd(self) -> float:
        """Expected cost E: the sum of the components."""
        return self.spread_usd + self.temporary_usd + self.permanent_usd + self.transient_usd + self.drift_usd

    @property
    def std_usd(self) -> float:
        """Standard deviation sqrt(V) of the cost."""
        return math.sqrt(max(self.variance_usd2, 0.0))

    def to_bps(self, usd: float) -> float:
        """A $ amount in basis points of the arrival notional."""
        return 1e4 * usd / self.arrival_notional_usd

    def objective_usd(self, risk_aversion_per_usd: float) -> float:
        """Mean-variance objective E + lambda V (docs/MATH.md section 2)."""
        return self.expected_usd + risk_aversion_per_usd * self.variance_usd2

    def var_usd(self, confidence: float = 0.95) -> float:
        """Value at risk of the cost, E + z sqrt(V) (normal cost distribution)."""
        return value_at_risk_usd(self.expected_usd, self.variance_usd2, confidence)


def estimate(schedule: Schedule, market: MarketParams | None = None) -> CostEstimate:
    """Expected cost split by component, and variance, of any schedule under a market's cost model (the schedule's
    own market by default; docs/MATH.md sections 2, 8 and 11)."""
    if market is not None and market is not schedule.market:
        schedule = dataclasses.replace(schedule, market=market)
    cost = market_model.expected_cost(schedule)
    buckets = cost.buckets_usd
    return CostEstimate(
        strategy=schedule.strategy,
        arrival_notional_usd=schedule.order.shares * schedule.market.price_usd,
        spread_usd=float(buckets["spread"]),
        temporary_usd=float(buckets["temporary"]),
        permanent_usd=float(buckets["permanent"]),
        drift_usd=float(cost.drift_usd),
        variance_usd2=float(cost.variance_usd2),
        transient_usd=float(buckets["transient"]),
    )


def ac_closed_form(order: Order, market: MarketParams, risk_aversion_per_usd: float) -> tuple[float, float]:
    """E and V of the discrete Almgren–Chriss optimum in closed form (MATH.md section 2, eq 20), drift-free.

    Returns (expected cost $, variance $^2). At lambda = 0 it is the TWAP line of MATH.md section 8.
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
    """(sqrt V(lambda), E(lambda)) of the discrete AC optimum over the given lambdas (MATH.md section 2)."""
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
