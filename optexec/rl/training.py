"""Training the RL agents: the market regimes, their curricula and ``train_for_regime`` (used by the RL page and
by ``optexec.rl.resolve`` for the default agent).

* calm     : no noise at all (the first stage of every curriculum);
* normal   : the simulator's default market model (liquidity regimes, volume and spread noise);
* volatile : stochastic volatility that starts 1.5x above its long-run level (fast vol of vol 1, slow 0.3);
* trending : the normal model with a drift of 0.5 sigma per day against the order (up for a buy).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from optexec.models import MarketParams, Order
from optexec.rl.agents import CrossEntropyAgent, QLearningAgent, Stage, calm_model, train_curriculum
from optexec.rl.env import period_bounds
from optexec.simulation.market import MarketModel

REGIMES = ("normal", "volatile", "trending")


def regime(name: str, order: Order, market: MarketParams) -> tuple[MarketParams, MarketModel]:
    """The market and market model of a named regime (module docstring); "calm" has no noise at all. The costs
    are the market's cost model (``market.cost_model``) in every regime."""
    if name == "calm":
        return market, calm_model()
    if name == "normal":
        return market, MarketModel()
    if name == "volatile":
        return market, MarketModel(initial_vol_ratio=1.5, fast_vol_of_vol_per_sqrt_day=1.0,
                                   slow_vol_of_vol_per_sqrt_day=0.3)  # fmt: skip
    if name == "trending":
        drift = order.side_sign * 0.5 * market.sigma_usd_per_sqrt_day
        return dataclasses.replace(market, drift_usd_per_day=drift), MarketModel()
    raise ValueError(f"unknown regime {name!r}; known regimes: calm, {', '.join(REGIMES)}")


def curriculum(name: str, order: Order, market: MarketParams) -> list[Stage]:
    """Calm first, then the normal market, then (for volatile) the volatile one; trending trains calm -> trending."""
    target = regime(name, order, market)[1]
    stages = [Stage("calm", calm_model(), 0.25)]
    if name == "volatile":
        stages.append(Stage("normal", MarketModel(), 0.25))
    stages.append(Stage(name, target, 0.75 if name != "volatile" else 0.5))
    return stages


def decision_periods(order: Order, periods: int) -> int:
    """Number of decision periods the environment uses for this order (at most one per slice)."""
    return len(period_bounds(order.slices, periods)) - 1


def make_agent(kind: str, periods: int) -> Any:
    """A fresh agent of the given kind."""
    if kind == "q_learning":
        return QLearningAgent(periods)
    if kind == "cross_entropy":
        return CrossEntropyAgent(periods)
    raise ValueError(f"unknown agent kind {kind!r}; choose q_learning or cross_entropy")


def train_for_regime(kind: str, order: Order, market: MarketParams, regime_name: str = "normal",
                     iterations: int = 40, periods: int = 10, risk_aversion_per_usd: float = 1e-6, seed: int = 0,
                     progress: Callable[[float, dict], None] | None = None,
                     **kwargs: Any) -> tuple[Any, list]:  # fmt: skip
    """(trained agent, learning curve) through the regime's curriculum, under the market's cost model."""
    market_r = regime(regime_name, order, market)[0]
    agent = make_agent(kind, decision_periods(order, periods))
    stages = curriculum(regime_name, order, market)
    curve = train_curriculum(agent, order, market_r, stages, iterations,
                             risk_aversion_per_usd, seed, progress, **kwargs)  # fmt: skip
    return agent, curve
