"""Obizhaeva–Wang transient impact: optimal schedules and the cost of any schedule (MATH.md section 4).

Impact decays exponentially: dD = -rho D dt + kappa dX, so a block xi placed when the displacement is D- costs
xi (D- + kappa xi / 2) ($), with kappa the transient impact ($/share per share) and rho the resilience (per day).

Mapping onto optexec's slice grid: a Schedule's child order k is sent at the start of slice k, at t_{k-1}, so its
N trades sit at t_0 .. t_{N-1}. The ``obizhaeva_wang`` strategy is the exact discrete OW optimum on those N trade
times (N - 1 intervals of tau, the last block at the start of the last slice), so
``schedule_transient_cost_usd`` of it equals ``ow_discrete_cost_usd(S, N - 1, (N - 1) tau, ...)``.

Default parameters from the market (an assumption, not from the paper): resilience rho = ln 2 / (30 minutes of
the session), i.e. displaced prices recover half-way in 30 minutes; kappa = rho eta, chosen so that trading at a
slow constant rate v costs the Almgren–Chriss temporary cost eta v^2 per day (steady displacement kappa v / rho).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from optexec.models import MarketParams, Order, Schedule, check_positive
from optexec.strategies.base import Strategy

DEFAULT_HALF_LIFE_MINUTES = 30.0


@dataclass(frozen=True)
class TransientParams:
    """Obizhaeva–Wang parameters (MATH.md section 4).

    transient_impact_usd_per_share2 : kappa_OW, price displacement per share traded, $/share per share;
        None = resilience x the market's eta (see the module docstring).
    resilience_per_day : rho_OW, rate at which the displacement decays, per trading day;
        None = ln 2 / 30 minutes of the session.
    """

    transient_impact_usd_per_share2: float | None = None
    resilience_per_day: float | None = None

    def __post_init__(self) -> None:
        if self.transient_impact_usd_per_share2 is not None:
            check_positive("transient impact kappa ($/share per share)", self.transient_impact_usd_per_share2)
        if self.resilience_per_day is not None:
            check_positive("resilience rho (per day)", self.resilience_per_day)

    def resolve(self, market: MarketParams) -> tuple[float, float]:
        """(kappa, rho) with the market defaults filled in."""
        rho = self.resilience_per_day
        if rho is None:
            rho = math.log(2.0) * market.session_minutes / DEFAULT_HALF_LIFE_MINUTES
        kappa = self.transient_impact_usd_per_share2
        if kappa is None:
            kappa = rho * market.eta_usd_day_per_share2
        return float(kappa), float(rho)


@dataclass(frozen=True)
class OWContinuous:
    """Continuous OW optimum: blocks at both ends and a constant rate between (MATH.md section 4).

    block_shares : x_0 = x_T = X/(rho T + 2). rate_shares_per_day : rho X/(rho T + 2).
    transient_cost_usd : kappa X^2/(rho T + 2).
    """

    block_shares: float
    rate_shares_per_day: float
    transient_cost_usd: float


def ow_continuous(total_shares: float, horizon_days: float, kappa: float, rho: float) -> OWContinuous:
    """Continuous-time risk-neutral OW schedule and its transient cost (MATH.md section 4)."""
    denominator = rho * horizon_days + 2.0
    return OWContinuous(
        total_shares / denominator, rho * total_shares / denominator, kappa * total_shares**2 / denominator
    )


def ow_discrete_trades(total_shares: float, intervals: int, horizon_days: float, rho: float) -> np.ndarray:
    """Discrete OW optimum: N + 1 trades at t_n = n T/N (MATH.md section 4).

    x_0 = x_N = X/((N - 1)(1 - a) + 2), x_n = x_0 (1 - a) between, a = exp(-rho T/N). N = 0 is one block.
    """
    if intervals == 0:
        return np.array([float(total_shares)])
    a = math.exp(-rho * horizon_days / intervals)
    block = total_shares / ((intervals - 1) * -math.expm1(-rho * horizon_days / intervals) + 2.0)
    trades = np.full(intervals + 1, block * (1.0 - a))
    trades[0] = trades[-1] = block
    return trades


def ow_discrete_cost_usd(total_shares: float, intervals: int, horizon_days: float, kappa: float, rho: float) -> float:
    """Transient cost of the discrete optimum: kappa X^2 (1 + a) / (2 [(N - 1)(1 - a) + 2]) (MATH.md section 4)."""
    if intervals == 0:
        return 0.5 * kappa * total_shares**2
    a = math.exp(-rho * horizon_days / intervals)
    one_minus_a = -math.expm1(-rho * horizon_days / intervals)
    return kappa * total_shares**2 * (1.0 + a) / (2.0 * ((intervals - 1) * one_minus_a + 2.0))


def transient_cost_usd(
    trades_shares,
    times_days,
    kappa: float,
    rho: float,
    half_spread_usd: float = 0.0,
    permanent_usd_per_share2: float = 0.0,
) -> np.ndarray:
    """Expected cost of ANY schedule under exponential transient impact (MATH.md section 4).

    Block n (signed, in the order's direction) at t_n costs xi_n (D-_n + kappa xi_n / 2) with
    D-_n = exp(-rho (t_n - t_{n-1})) (D-_{n-1} + kappa xi_{n-1}); plus the half spread on |xi_n| and the permanent
    impact lambda_OW xi_n (sum of earlier trades + xi_n / 2), which totals lambda_OW X^2 / 2.
    ``trades_shares`` may be (M,) or (paths, M); ``times_days`` is (M,) and nondecreasing.
    """
    xi = np.asarray(trades_shares, dtype=float)
    times = np.asarray(times_days, dtype=float)
    if times.shape != xi.shape[-1:]:
        raise ValueError(f"need one trade time per trade: {times.shape[0]} times for {xi.shape[-1]} trades")
    if np.any(np.diff(times) < 0):
        raise ValueError("trade times must be in increasing order")
    decay = np.exp(-rho * np.diff(times))
    if decay.size and np.allclose(decay, decay[0], rtol=1e-12, atol=0.0):
        # uniform grid: D-_n = a (D-_{n-1} + kappa xi_{n-1}) is a first-order linear filter over the trades
        shifted = np.zeros_like(xi)
        shifted[..., 1:] = kappa * xi[..., :-1]
        displacement = lfilter([decay[0]], [1.0, -decay[0]], shifted, axis=-1)
        cost = np.sum(xi * (displacement + 0.5 * kappa * xi), axis=-1)
    else:
        displacement = np.zeros(xi.shape[:-1])
        cost = np.zeros(xi.shape[:-1])
        for n in range(xi.shape[-1]):
            if n > 0:
                displacement = decay[n - 1] * (displacement + kappa * xi[..., n - 1])
            cost = cost + xi[..., n] * (displacement + 0.5 * kappa * xi[..., n])
    executed = np.cumsum(xi, axis=-1)
    permanent = permanent_usd_per_share2 * np.sum(xi * (executed - 0.5 * xi), axis=-1)
    return cost + half_spread_usd * np.sum(np.abs(xi), axis=-1) + permanent


def schedule_transient_cost_usd(
    schedule: Schedule, market: MarketParams, params: TransientParams | None = None, include_spread: bool = False
) -> float:
    """Transient cost of a Schedule: child order k at t_{k-1} (models.py convention), kappa and rho from params.

    With ``include_spread`` the half spread and the permanent cost gamma X^2 / 2 are added.
    """
    kappa, rho = (params or TransientParams()).resolve(market)
    extra = (market.half_spread_usd, market.gamma_usd_per_share2) if include_spread else (0.0, 0.0)
    return float(transient_cost_usd(schedule.trades_shares, schedule.times_days[:-1], kappa, rho, *extra))


def obizhaeva_wang(order: Order, market: MarketParams, params: TransientParams) -> Schedule:
    """The discrete OW optimum on the slice grid: blocks in the first and last slice, equal trades between.

    N child orders at t_0 .. t_{N-1} are N - 1 intervals of tau (MATH.md section 4 with N - 1 intervals over
    (N - 1) tau); one slice is one block. The schedule does not depend on kappa, only on rho tau.
    """
    kappa, rho = params.resolve(market)
    intervals = order.slices - 1
    trades = ow_discrete_trades(order.shares, intervals, intervals * order.slice_days, rho)
    settings = {"transient_impact_usd_per_share2": kappa, "resilience_per_day": rho}
    return Schedule.from_trades("obizhaeva_wang", order, market, trades, settings)


STRATEGIES = [
    Strategy(
        "obizhaeva_wang",
        "Obizhaeva–Wang (transient)",
        TransientParams,
        obizhaeva_wang,
        "Optimal under transient impact that decays exponentially: blocks at the start and end, a constant "
        "rate between.",
    ),
]
