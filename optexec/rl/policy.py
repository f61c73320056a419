"""A trained agent as a feedback policy of the simulator (optexec.strategies.policies.Policy).

At the first slice of each decision period the policy builds the environment's state from the simulator's
``StepState`` (optexec.rl.env.FEATURES), asks the agent for the fraction of the remainder to execute in the period
and splits it evenly over the period's slices, exactly as ``BatchExecutionEnv.step`` does; the last period
finishes the order. ``StepState`` carries no mid price, so the recent-return feature is 0 here: the agents in
optexec.rl.agents do not use it.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from optexec.models import MarketParams, Order, slice_market_volume
from optexec.rl.env import FEATURES, period_bounds
from optexec.strategies.policies import Decision, StepState


class Agent(Protocol):
    """What an agent offers: the fraction of the remainder to trade in a period, per path."""

    kind: str
    periods: int

    def fractions(self, obs: np.ndarray, period: int, periods: int) -> np.ndarray:
        """Greedy fraction in [0, 1] for each row of ``obs`` (B, len(FEATURES))."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (optexec.rl.storage)."""
        ...


class AgentPolicy:
    """Run an agent in ``optexec.simulate.run_policy`` (module docstring)."""

    def __init__(self, order: Order, market: MarketParams, agent: Agent) -> None:
        self.order, self.market, self.agent = order, market, agent
        self.bounds = period_bounds(order.slices, agent.periods)
        self.periods = len(self.bounds) - 1
        self.starts = {int(k): j for j, k in enumerate(self.bounds[:-1])}
        self.expected_volume = slice_market_volume(order, market)
        self.sigma2 = market.sigma_usd_per_sqrt_day**2
        self.per_slice: np.ndarray | None = None

    def observe(self, state: StepState, period: int) -> np.ndarray:
        """The environment's state at the start of ``period`` (optexec.rl.env.BatchExecutionEnv.observe)."""
        count, k = state.remaining_shares.shape[0], state.step
        obs = np.zeros((count, len(FEATURES)))
        obs[:, 0] = state.remaining_shares / self.order.shares
        obs[:, 1] = k / self.order.slices
        obs[:, 2] = state.spread_usd / state.normal_spread_usd if state.normal_spread_usd > 0 else 1.0
        if self.sigma2 > 0:
            variance = np.maximum(state.fast_variance + state.slow_variance - self.sigma2, 0.0)
            obs[:, 3] = np.sqrt(variance / self.sigma2)
        else:
            obs[:, 3] = 1.0
        obs[:, 4] = 1.0
        if period > 0:
            start = int(self.bounds[period - 1])
            expected = self.expected_volume[start:k].sum()
            if expected > 0:
                obs[:, 4] = state.realised_volume_shares[:, start:k].sum(axis=1) / expected
        return obs

    def decide(self, state: StepState) -> Decision:
        """The period's even share of the agent's fraction of the remainder; the last slice finishes."""
        remaining = state.remaining_shares
        period = self.starts.get(state.step)
        if period is not None or self.per_slice is None:
            period = period if period is not None else 0
            if period == self.periods - 1:
                fraction = np.ones(remaining.shape)
            else:
                fraction = np.clip(self.agent.fractions(self.observe(state, period), period, self.periods), 0, 1)
            slices = int(self.bounds[period + 1] - self.bounds[period])
            self.per_slice = fraction * remaining / slices
        if state.is_last:
            return Decision(remaining.copy())
        return Decision(np.minimum(self.per_slice, remaining))


def expected_holdings(
    order: Order, market: MarketParams, agent: Agent, paths: int = 64, seed: int = 7, model: Any = None
) -> np.ndarray:
    """Mean shares left at t_0..t_N when the agent trades on ``paths`` simulated paths (the plan's schedule)."""
    from optexec.simulate import run_policy
    from optexec.simulation.market import MarketModel, generate_market_paths

    model = model or MarketModel()
    draw = generate_market_paths(order, market, model, paths, seed)
    holdings = run_policy(AgentPolicy(order, market, agent), order, market, draw, model, paths)[5]
    mean = holdings.mean(axis=0)
    return np.minimum.accumulate(np.clip(mean, 0.0, order.shares)) if math.isfinite(mean.sum()) else mean
