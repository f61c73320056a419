"""The exact dynamic-programming optimum of the execution environment on a discretised holdings grid.

Holdings take G values x in X . linspace(0, 1, G). In period j (slices k = s_j .. e_j - 1, m = e_j - s_j) the agent
goes from x to any grid point x' <= x, trading n = x - x' evenly, n/m a slice; after slice i it holds
r_i = x - (i + 1) n / m. The expected cost of the period is, with the environment's accounting (optexec.rl.env;
MATH.md sections 2 and 8; expectations over the simulator's market model):

    spread     eps n                                   (the model's spread factors and noise average to 1)
    temporary  eta n^2 / (m tau)                        (linear; power law: sum_i Y sigma (n/m)^(1+p) / vbar_k^p)
    permanent  gamma n (X - x) + gamma (n/m)^2 m (m - 1) / 2
    timing     s sum_i r_i mubar_k                      (mubar_k = expected mid move of slice k from the drift)
    risk       lambda tau sum_i vbar_k r_i^2            (vbar_k = sigma^2 (1 + (Y0 - 1) e^{-(theta_f / eps) t_k}))

and V_j(x) = min_{x' <= x} [c_j(x, x') + V_{j+1}(x')], V_{P-1}(x) = c_{P-1}(x, 0) (the last period finishes).
V_0(X) is the optimum of E[shortfall] + lambda E[sum v tau x^2] over grid policies that do not use the market
state: for the linear model with constant volatility it is the Almgren–Chriss E + lambda V (MATH.md section 2)
as the grid gets finer. The power-law cost uses the expected volume (Jensen: a lower bound on E[v^-p] effects is
not attempted), and transient impact is not modelled (ValueError).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from optexec.models import MarketParams, Order, slice_market_volume
from optexec.rl.env import DISCRETE_ACTIONS, EnvConfig, period_bounds

MAX_GRID = 4001


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
        model = config.model
        if model.transient_impact_usd_per_share2 > 0:
            raise ValueError("the DP optimum does not model transient impact; switch it off to compare")
        self.order, self.market, self.config = order, market, config
        self.bounds = period_bounds(order.slices, config.periods)
        self.periods = len(self.bounds) - 1
        self.move, self.variance = _slice_moments(order, market, config)
        self.volume = slice_market_volume(order, market)
        coefficient, self.exponent = model.temporary_power()
        self.coefficient = coefficient * market.sigma_usd_per_sqrt_day

    def __call__(self, j: int, x: np.ndarray, x_next: np.ndarray) -> np.ndarray:
        """c_j(x, x') in $ (x' > x is treated as n = 0)."""
        market, model, order = self.market, self.config.model, self.order
        tau, big_x, lam, sign = order.slice_days, order.shares, self.config.risk_aversion_per_usd, order.side_sign
        start, end = int(self.bounds[j]), int(self.bounds[j + 1])
        m = end - start
        i1 = np.arange(1, m + 1)  # i + 1
        n = np.maximum(x - x_next, 0.0)
        piece = n / m
        cost = market.half_spread_usd * n + market.gamma_usd_per_share2 * (n * (big_x - x) + piece**2 * m * (m - 1) / 2)
        if model.temporary_model == "linear":
            cost = cost + market.eta_usd_day_per_share2 * n**2 / (m * tau)
        elif model.temporary_model != "none":
            inverse = (1.0 / np.maximum(self.volume[start:end], 1e-12) ** self.exponent).sum()
            cost = cost + self.coefficient * piece ** (1.0 + self.exponent) * inverse
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
