"""A trained agent as a feedback policy of the simulator (optexec.strategies.base.Policy).

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
from optexec.strategies.base import Decision, StepState


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
    """Run an agent in ``optexec.simulation.engine.run_policy`` (module docstring)."""

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
    from optexec.simulation.market import MarketModel, generate_market_paths

    model = model or MarketModel()
    draw = generate_market_paths(order, market, model, paths, seed)
    mean = agent_holdings(AgentPolicy(order, market, agent), draw).mean(axis=0)
    return np.minimum.accumulate(np.clip(mean, 0.0, order.shares)) if math.isfinite(mean.sum()) else mean


def agent_holdings(policy: AgentPolicy, draw: Any) -> np.ndarray:
    """Shares left at t_0..t_N on every path of ``draw`` when ``policy`` trades it, (paths, N + 1): the numbers
    ``optexec.simulation.engine.run_policy`` finds, without its loop over the slices.

    In a period the policy sends min(per_slice, x) per slice, so x_{k+1} = x_k - per_slice while x_k >= per_slice
    and 0 from the first slice with less left: the running differences x_s - per_slice - per_slice - ... (one
    subtraction per slice, ``np.subtract.accumulate``, as the loop rounds them) floored at 0. The order's last
    slice trades everything left. The agent sees the state at each period's start, read from the draw.
    """
    order = policy.order
    n, count = order.slices, draw.paths
    holdings = np.empty((count, n + 1))
    holdings[:, 0] = order.shares
    remaining = holdings[:, 0].copy()
    fast, slow = draw.fast_variance, draw.slow_variance
    for period in range(policy.periods):
        start, end = int(policy.bounds[period]), int(policy.bounds[period + 1])
        state = StepState(
            step=start, slices=n, t_days=float(draw.times_days[start]), slice_days=order.slice_days,
            remaining_shares=remaining, impact_usd=np.zeros(count), signal_usd_per_day=np.zeros(count),
            fast_variance=np.broadcast_to(fast[:, start], (count,)),
            slow_variance=np.broadcast_to(slow[:, start], (count,)),
            market_volume_shares=draw.volume_shares[:, start],
            expected_volume_shares=float(draw.expected_volume_shares[start]), spread_usd=draw.spread_usd[:, start],
            normal_spread_usd=policy.market.spread_usd, fill_uniform=draw.fill_uniform[:, start],
            realised_volume_shares=draw.volume_shares[:, :start],
        )  # fmt: skip
        if start < n - 1:
            policy.decide(state)  # the agent's fraction of the remainder, even over the period's slices
            per_slice = policy.per_slice
        else:
            per_slice = remaining  # a period of the last slice alone: everything left
        left = np.empty((end - start + 1, count))
        left[0] = remaining
        left[1:] = per_slice
        np.subtract.accumulate(left, axis=0, out=left)
        np.maximum(left, 0.0, out=left)
        if end == n:
            left[-1] = 0.0  # the last slice finishes the order
        holdings[:, start + 1 : end + 1] = left[1:].T
        remaining = left[-1].copy()
    return holdings
