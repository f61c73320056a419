"""The RL execution agent as a registry strategy (optexec.rl; issue 8).

The policy is the agent trained for this order, market, risk aversion and number of decision periods, loaded from
the store (optexec.rl.storage, trained on the RL page). Without one, a small default agent is trained on the spot
in a fraction of a second (curriculum calm -> normal market; cached for the process) and the schedule says so in a
warning. The simulator runs the agent as a feedback policy; the plan view shows its mean holdings over 32
simulated paths of the default market model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import duckdb

from optexec.models import MarketParams, Order, Schedule, check_non_negative
from optexec.strategies.base import Strategy

DEFAULT_PERIODS = 10
QUICK_TRAINING_SLICES = 390  # the quick agent trains on at most this many slices (``training_order``)
QUICK_ITERATIONS = {"cross_entropy": 8, "q_learning": 12}
QUICK_SETTINGS = {"cross_entropy": {"population": 16, "batch": 24, "validation": 64},
                  "q_learning": {"batch": 128, "validation": 64}}  # fmt: skip


@dataclass(frozen=True)
class RLParams:
    """RL agent parameters.

    rl_agent : which trained agent runs: "cross_entropy" (continuous fraction, linear policy) or "q_learning"
        (fractions 0%, 10%, ..., 100%, linear Q-function).
    risk_aversion_per_usd : lambda of the training reward's risk penalty, per $ (the same lambda as Almgren–Chriss).
    """

    rl_agent: Literal["cross_entropy", "q_learning"] = "cross_entropy"
    risk_aversion_per_usd: float = 1e-6

    def __post_init__(self) -> None:
        if self.rl_agent not in QUICK_ITERATIONS:
            raise ValueError(f"the RL agent must be cross_entropy or q_learning, got {self.rl_agent!r}")
        check_non_negative("risk aversion (1/$)", self.risk_aversion_per_usd)


def training_order(order: Order) -> Order:
    """The order the quick agent trains on: the order itself, or on more than ``QUICK_TRAINING_SLICES`` slices
    the same order on that many (its DEFAULT_PERIODS decisions fall at the same times, its observations are
    fractions, and an even split within a period costs the same at any slice length: only training gets faster)."""
    if order.slices <= QUICK_TRAINING_SLICES:
        return order
    return dataclasses.replace(order, slices=QUICK_TRAINING_SLICES)


@lru_cache(maxsize=32)
def _quick_agent(order: Order, market: MarketParams, kind: str, risk_aversion_per_usd: float) -> Any:
    from optexec.rl import evaluate

    agent, _ = evaluate.train_for_regime(kind, training_order(order), market, "normal", QUICK_ITERATIONS[kind],
                                         DEFAULT_PERIODS, risk_aversion_per_usd, seed=0,
                                         **QUICK_SETTINGS[kind])  # fmt: skip
    return agent


def trained_agent(order: Order, market: MarketParams, params: RLParams) -> tuple[Any, str | None]:
    """(agent, warning): the stored policy for this problem, else a quick default agent and a warning saying so."""
    from optexec.rl import storage
    from optexec.rl.evaluate import decision_periods

    key = storage.problem_key(order, market, params.risk_aversion_per_usd, decision_periods(order, DEFAULT_PERIODS))
    name = params.rl_agent.replace("_", "-")
    try:
        found = storage.load_policy(key, params.rl_agent)
        why = f"no trained {name} policy is stored for this order"
    except (ValueError, duckdb.Error) as error:  # store missing, busy or unreadable: said in the warning
        found = None
        why = f"the stored {name} policies could not be read ({str(error).rstrip('.')})"
    if found is not None:
        return found[0], None
    agent = _quick_agent(order, market, params.rl_agent, params.risk_aversion_per_usd)
    grid = training_order(order).slices
    coarse = f", on {grid} slices of the same horizon" if grid != order.slices else ""
    return agent, (
        f"{why}: a small default agent was trained on the spot ({QUICK_ITERATIONS[params.rl_agent]} iterations, "
        f"calm then normal market{coarse}); train a better one on the RL page"
    )


def rl_policy(order: Order, market: MarketParams, params: RLParams) -> Any:
    """The agent as a feedback policy for the simulator (optexec.rl.policy.AgentPolicy)."""
    from optexec.rl.policy import AgentPolicy  # the RL package imports the simulator, which imports the registry

    return AgentPolicy(order, market, trained_agent(order, market, params)[0])


def rl_schedule(order: Order, market: MarketParams, params: RLParams) -> Schedule:
    """Expected schedule: the agent's mean holdings over 32 simulated paths of the default market model."""
    agent, warning = trained_agent(order, market, params)
    from optexec.rl.policy import expected_holdings

    holdings = expected_holdings(order, market, agent, paths=32)
    return Schedule.from_holdings("rl_agent", order, market, holdings, params.__dict__, (warning,) if warning else ())


STRATEGIES = [
    Strategy(
        "rl_agent",
        "RL agent",
        RLParams,
        rl_schedule,
        "A reinforcement-learning agent trained on the simulator: the fraction of the remainder to trade each "
        "period from time, remainder, spread, volatility and volume.",
        policy=rl_policy,
    )
]
