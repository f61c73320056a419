"""The exact dynamic-programming optimum of the execution environment on a discretised holdings grid.

Holdings take G values x in X . linspace(0, 1, G). In period j (slices k = s_j .. e_j - 1, m = e_j - s_j) the agent
goes from x to any grid point x' <= x, trading n = x - x' evenly, q = n/m a slice; after slice i it holds
r_i = x - (i + 1) q. The expected cost of the period is, with the environment's accounting (optexec.rl.env;
docs/MATH.md sections 2, 8 and 11; expectations over the simulated market):

    charges    sum_i E[the cost model's charge of q shares in slice k]   (``CostModel.charge``, shares done before
               slice k: X - x + i q; the realised spread averages to the MarketParams spread, and the power law's
               E[(q / v_k)^p] is its charge against the effective volume vbar_k E[(v / vbar)^-p]^(-1/p),
               ``MarketModel.inverse_volume_moment``: exact, not a bound)
    timing     s sum_i r_i mubar_k                      (mubar_k = expected mid move of slice k from the drift)
    risk       lambda tau sum_i vbar_k r_i^2            (vbar_k = sigma^2 (1 + (Y0 - 1) e^{-(theta_f / eps) t_k}))

and V_j(x) = min_{x' <= x} [c_j(x, x') + V_{j+1}(x')], V_{P-1}(x) = c_{P-1}(x, 0) (the last period finishes).
V_0(X) is the optimum of E[shortfall] + lambda E[sum v tau x^2] over grid policies that do not use the market
state: for the linear model with constant volatility it is the Almgren–Chriss E + lambda V (docs/MATH.md section 2)
as the grid gets finer. A cost model with transient impact is refused (ValueError): its cost depends on the
displacement, which is not in the DP's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from optexec.market import NONE, PowerTemporary, SliceStep, cost_model
from optexec.models import MarketParams, Order, slice_market_volume
from optexec.rl.env import DISCRETE_ACTIONS, EnvConfig, period_bounds

MAX_GRID = 4001
#: grid points x slices charged at a time (256 kB arrays: they stay in the cache; one slice at a time for G = 201)
BLOCK_ELEMENTS = 1 << 15


def _slice_moments(order: Order, market: MarketParams, config: EnvConfig) -> tuple[np.ndarray, np.ndarray]:
    """(expected mid move $/share, expected variance ($/share)^2/day) for each slice."""
    model, tau = config.model, order.slice_days
    t = order.times_days[:-1]
    kappa = model.signal_mean_reversion_per_day
    hold = tau if kappa == 0 else -math.expm1(-kappa * tau) / kappa
    move = market.drift_usd_per_day * np.exp(-kappa * t) * hold
    fast_start = model.initial_vol_ratio**2 if model.stochastic_vol else 1.0
    rate = model.fast_mean_reversion_per_day / model.fast_scale_epsilon
    variance = market.sigma_usd_per_sqrt_day**2 * np.maximum(1.0 + (fast_start - 1.0) * np.exp(-rate * t), 0.0)
    return move, variance


@dataclass(frozen=True)
class DPSolution:
    """The DP's grid, values and decisions.

    grid_shares : holdings grid (G,). bounds : first slice of each period and the end.
    value_usd : V_j on the grid, (P + 1, G). next_shares : optimal holdings after period j from each grid point, (P, G).
    """

    grid_shares: np.ndarray
    bounds: np.ndarray
    value_usd: np.ndarray
    next_shares: np.ndarray

    @property
    def objective_usd(self) -> float:
        """Optimal E[shortfall] + lambda E[sum v tau x^2] from the full order, $."""
        return float(self.value_usd[0, -1])

    def holdings_path(self) -> np.ndarray:
        """Holdings at each period boundary along the optimal (deterministic) path, (P + 1,)."""
        x = [self.grid_shares[-1]]
        for j in range(self.next_shares.shape[0]):
            x.append(float(np.interp(x[-1], self.grid_shares, self.next_shares[j])))
        return np.array(x)


class PeriodCost:
    """Expected cost of period j from holdings x to x' <= x (module docstring), broadcasting over x and x'."""

    def __init__(self, order: Order, market: MarketParams, config: EnvConfig) -> None:
        self.cost_model = cost_model(market)
        if self.cost_model.has_flow_memory:
            raise ValueError(
                f"the DP optimum does not model transient impact (the {market.cost_model!r} cost model has it): "
                "price the market under a cost model without it to compare"
            )
        self.order, self.market, self.config = order, market, config
        self.bounds = period_bounds(order.slices, config.periods)
        self.periods = len(self.bounds) - 1
        self.move, self.variance = _slice_moments(order, market, config)
        self.volume = slice_market_volume(order, market)
        for component in self.cost_model.components:
            if isinstance(component, PowerTemporary):  # the one charge against the realised volume
                moment = config.model.inverse_volume_moment(component.exponent)
                self.volume = self.volume * moment ** (-1.0 / component.exponent)

    def charges_usd(self, j: int, x: np.ndarray, x_next: np.ndarray) -> np.ndarray:
        """Expected charges of the cost model over period j (every bucket), $, for q = max(x - x', 0) / m a
        slice: ``CostModel.charge`` on (..., slices) arrays, a block of the period's slices at a time."""
        order, model = self.order, self.cost_model
        start, end = int(self.bounds[j]), int(self.bounds[j + 1])
        m = end - start
        x, x_next = np.asarray(x, dtype=float), np.asarray(x_next, dtype=float)
        piece = (np.maximum(x - x_next, 0.0) / m)[..., None]
        done = (order.shares - x)[..., None]
        shape = np.broadcast_shapes(piece.shape[:-1], done.shape[:-1])
        total = np.zeros(shape)
        block = max(1, BLOCK_ELEMENTS // max(1, int(np.prod(shape))))
        for first in range(start, end, block):
            slices = np.arange(first, min(first + block, end))
            step = SliceStep(NONE, piece, piece, self.volume[slices], np.asarray(self.market.spread_usd),
                             done + (slices - start) * piece, NONE, order.slice_days)  # fmt: skip
            charges, _ = model.charge(step)
            for charge in map(np.asarray, charges.values()):
                if charge.ndim == 0 or charge.shape[-1] == 1:  # the same in every slice of the block
                    total += slices.size * np.broadcast_to(charge[..., 0] if charge.ndim else charge, shape)
                else:
                    total += np.sum(np.broadcast_to(charge, (*shape, slices.size)), axis=-1)
        return total

    def __call__(self, j: int, x: np.ndarray, x_next: np.ndarray) -> np.ndarray:
        """c_j(x, x') in $ (x' > x is treated as n = 0)."""
        order = self.order
        tau, lam, sign = order.slice_days, self.config.risk_aversion_per_usd, order.side_sign
        start, end = int(self.bounds[j]), int(self.bounds[j + 1])
        m = end - start
        i1 = np.arange(1, m + 1)  # i + 1
        piece = np.maximum(x - x_next, 0.0) / m
        cost = self.charges_usd(j, x, x_next)
        w_move, w_var = self.move[start:end], self.variance[start:end]
        cost = cost + sign * (w_move.sum() * x - piece * (w_move * i1).sum())
        return cost + lam * tau * (
            w_var.sum() * x**2 - 2 * x * piece * (w_var * i1).sum() + piece**2 * (w_var * i1**2).sum()
        )


def _check_grid(grid_points: int) -> None:
    if isinstance(grid_points, bool) or not isinstance(grid_points, (int, np.integer)):
        raise ValueError(f"the DP grid size must be a whole number, got {grid_points!r}")
    if not 2 <= grid_points <= MAX_GRID:
        raise ValueError(f"the DP grid needs between 2 and {MAX_GRID} points, got {grid_points}")


def solve_dp(order: Order, market: MarketParams, config: EnvConfig | None = None, grid_points: int = 201) -> DPSolution:
    """Backward induction over the holdings grid (module docstring); O(P G^2) work."""
    config = config or EnvConfig()
    _check_grid(grid_points)
    cost_of = PeriodCost(order, market, config)
    periods = cost_of.periods
    grid = order.shares * np.linspace(0.0, 1.0, grid_points)
    x, x_next = grid[:, None], grid[None, :]
    feasible = x_next <= x + 1e-12 * order.shares
    value = np.zeros((periods + 1, grid_points))
    next_shares = np.zeros((periods, grid_points))
    value[periods - 1] = cost_of(periods - 1, grid, np.zeros_like(grid))  # the last period finishes
    for j in range(periods - 2, -1, -1):
        total = np.where(feasible, cost_of(j, x, x_next) + value[j + 1][None, :], np.inf)
        best = np.argmin(total, axis=1)
        value[j] = total[np.arange(grid_points), best]
        next_shares[j] = grid[best]
    return DPSolution(grid, cost_of.bounds, value, next_shares)


def solve_dp_fractions(order: Order, market: MarketParams, config: EnvConfig | None = None,
                       actions: np.ndarray = DISCRETE_ACTIONS, grid_points: int = 2001) -> DPSolution:  # fmt: skip
    """The same DP restricted to the discrete fractions of the Q-learning agent: from x the agent may only go to
    (1 - a) x, a in ``actions``; V_{j+1} is interpolated linearly between grid points. The bound for that agent."""
    config = config or EnvConfig()
    _check_grid(grid_points)
    cost_of = PeriodCost(order, market, config)
    periods = cost_of.periods
    grid = order.shares * np.linspace(0.0, 1.0, grid_points)
    x_next = grid[:, None] * (1.0 - np.asarray(actions, dtype=float))[None, :]
    value = np.zeros((periods + 1, grid_points))
    next_shares = np.zeros((periods, grid_points))
    value[periods - 1] = cost_of(periods - 1, grid, np.zeros_like(grid))
    for j in range(periods - 2, -1, -1):
        total = cost_of(j, grid[:, None], x_next) + np.interp(x_next, grid, value[j + 1])
        best = np.argmin(total, axis=1)
        value[j] = total[np.arange(grid_points), best]
        next_shares[j] = x_next[np.arange(grid_points), best]
    return DPSolution(grid, cost_of.bounds, value, next_shares)


class DPAgent:
    """The DP optimum as an agent: from the remaining shares, trade to the optimal next holdings (interpolated)."""

    kind = "dp"

    def __init__(self, solution: DPSolution) -> None:
        self.solution = solution
        self.periods = solution.next_shares.shape[0]

    def fractions(self, obs: np.ndarray, period: int, periods: int) -> np.ndarray:
        """1 - x'(x) / x per row, x = remaining fraction x order size."""
        grid = self.solution.grid_shares
        x = obs[:, 0] * grid[-1]
        if period >= self.periods - 1:
            return np.ones(obs.shape[0])
        target = np.interp(x, grid, self.solution.next_shares[period])
        return np.where(x > 0, 1.0 - target / np.where(x > 0, x, 1.0), 1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        s = self.solution
        return {"kind": self.kind, "grid_shares": s.grid_shares.tolist(), "bounds": s.bounds.tolist(),
                "value_usd": s.value_usd.tolist(), "next_shares": s.next_shares.tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DPAgent:
        """The agent saved by ``to_dict``."""
        return cls(DPSolution(np.array(data["grid_shares"]), np.array(data["bounds"]),
                              np.array(data["value_usd"]), np.array(data["next_shares"])))  # fmt: skip
