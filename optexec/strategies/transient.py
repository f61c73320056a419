"""Obizhaeva–Wang transient impact: the optimal schedule under the market's transient component and the closed
forms of the paper (docs/MATH.md section 4, docs/MATH.md section 11).

Impact decays exponentially: dD = -rho D dt + kappa dX, so a block xi placed when the displacement is D- costs
xi (D- + kappa xi / 2) ($), with kappa the transient impact ($/share per share) and rho the resilience (per day).
The strategy takes both from the market (``MarketParams.transient_strength`` and ``transient_decay``: the fitted
values, or rho = ln 2 / 30 trading minutes and kappa = rho eta) and the market's cost model prices the result
(optexec.market.TransientImpact, exact for blocks and piecewise-constant rates).

Mapping onto the slice grid (docs/MATH.md section 11: a child order's block is done at its slice start, the rest
is worked at a constant rate over the slice): the continuous OW optimum over the horizon T' = (N - 1) tau that ends
at the start of the last slice, a block X / (rho T' + 2) at the start of the first slice (``Schedule.blocks_shares``),
the constant rate rho X / (rho T' + 2) over slices 1..N-1 and the second block at the start of slice N. Its
transient cost under the market model is exactly kappa X^2 / (rho T' + 2), which converges to the continuous
optimum kappa X^2 / (rho T + 2) as the grid is refined (T' -> T); one slice is one block (kappa X^2 / 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optexec.models import MarketParams, Order, Schedule
from optexec.strategies.base import Strategy, shared
from optexec.strategies.participation import check_max_participation, limit_participation


@dataclass(frozen=True)
class TransientParams:
    """Obizhaeva–Wang parameters (docs/MATH.md section 4): kappa and rho are the market's (module docstring).

    max_participation : the shared participation limit; the worked part is capped by it, the two blocks are not.
    """

    max_participation: float = shared("max_participation")

    def __post_init__(self) -> None:
        check_max_participation(self.max_participation)


@dataclass(frozen=True)
class OWContinuous:
    """Continuous OW optimum: blocks at both ends and a constant rate between (docs/MATH.md section 4).

    block_shares : x_0 = x_T = X/(rho T + 2). rate_shares_per_day : rho X/(rho T + 2).
    transient_cost_usd : kappa X^2/(rho T + 2).
    """

    block_shares: float
    rate_shares_per_day: float
    transient_cost_usd: float


def ow_continuous(total_shares: float, horizon_days: float, kappa: float, rho: float) -> OWContinuous:
    """Continuous-time risk-neutral OW schedule and its transient cost (docs/MATH.md section 4)."""
    denominator = rho * horizon_days + 2.0
    return OWContinuous(
        total_shares / denominator, rho * total_shares / denominator, kappa * total_shares**2 / denominator
    )


def ow_discrete_trades(total_shares: float, intervals: int, horizon_days: float, rho: float) -> np.ndarray:
    """Discrete OW optimum: N + 1 trades at t_n = n T/N (docs/MATH.md section 4).

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
    """Transient cost of the discrete optimum: kappa X^2 (1 + a) / (2 [(N - 1)(1 - a) + 2]) (docs/MATH.md section 4)."""
    if intervals == 0:
        return 0.5 * kappa * total_shares**2
    a = math.exp(-rho * horizon_days / intervals)
    one_minus_a = -math.expm1(-rho * horizon_days / intervals)
    return kappa * total_shares**2 * (1.0 + a) / (2.0 * ((intervals - 1) * one_minus_a + 2.0))


def obizhaeva_wang(order: Order, market: MarketParams, params: TransientParams) -> Schedule:
    """The continuous OW optimum on the slice grid under the market's kappa and rho (module docstring): blocks at
    the start of the first and of the last slice, a constant rate over the slices between; one slice is one block.
    The schedule does not depend on kappa, only on rho (N - 1) tau."""
    rho = market.transient_decay
    n, tau = order.slices, order.slice_days
    blocks = np.zeros(n)
    if n == 1:
        blocks[0] = order.shares
        trades = blocks.copy()
    else:
        ow = ow_continuous(order.shares, (n - 1) * tau, market.transient_strength, rho)
        blocks[0] = blocks[-1] = ow.block_shares
        trades = blocks.copy()
        trades[:-1] += ow.rate_shares_per_day * tau
    settings = {
        **params.__dict__,
        "transient_impact_usd_per_share2": market.transient_strength,
        "resilience_per_day": rho,
    }
    schedule = Schedule.from_trades("obizhaeva_wang", order, market, trades, settings, blocks_shares=blocks)
    return limit_participation(schedule, params.max_participation)


STRATEGIES = [
    Strategy(
        "obizhaeva_wang",
        "Obizhaeva–Wang (transient)",
        TransientParams,
        obizhaeva_wang,
        "Optimal under transient impact that decays exponentially: blocks at the start and end, a constant "
        "rate between.",
        optimises="transient impact (Obizhaeva–Wang) with the market's kappa and rho",
    ),
]
