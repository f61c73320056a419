"""The RL execution agent as a registry strategy (optexec.rl; issue 8).

``build`` and ``policy`` are pure: they run the agent the caller resolved and put in ``RLParams.resolved_agent``
(a ``ResolvedAgent``: the agent, the note that says where it comes from, the agent as a feedback policy and its
expected holdings); this module imports neither the RL package nor the simulator. The planning layer resolves it
(optexec.rl.resolve: the policy stored for this order, market, risk aversion and number of decision periods, else
a small default agent trained once per order shape and market in the background and cached for the process); a
new risk aversion then costs no training and no store read. The simulator runs the agent as a feedback policy;
the plan view shows its mean holdings over 32 simulated paths of the default market model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from optexec.models import MarketParams, Order, Schedule, check_non_negative
from optexec.strategies.base import RESOLVED_KEY, Policy, Strategy, param, shared, user_settings
from optexec.strategies.participation import check_max_participation

DEFAULT_PERIODS = 10
QUICK_TRAINING_SLICES = 390  # the quick agent trains on at most this many slices (``training_order``)
QUICK_ITERATIONS = {"cross_entropy": 8, "q_learning": 12}
QUICK_SETTINGS: dict[str, dict[str, Any]] = {"cross_entropy": {"population": 16, "batch": 24, "validation": 64},
                  "q_learning": {"batch": 128, "validation": 64}}  # fmt: skip


@dataclass(frozen=True)
class ResolvedAgent:
    """The agent the RL strategy runs, resolved by the caller (optexec.rl.resolve), with what it does.

    agent : a trained agent (optexec.rl.policy.Agent), or None while the default agent is still training.
    note : where it comes from, when it is not a stored policy for exactly this problem (shown as a warning); with
        ``agent`` None, why there is no agent yet.
    policy : ``policy(order, market) -> Policy``, the agent as the simulator's feedback policy.
    expected_holdings : ``expected_holdings(order, market) -> array``, its mean holdings t_0..t_N (the schedule).
    """

    agent: Any
    note: str | None = None
    policy: Callable[[Order, MarketParams], Policy] | None = None
    expected_holdings: Callable[[Order, MarketParams], np.ndarray] | None = None


@dataclass(frozen=True)
class RLParams:
    """RL agent parameters.

    rl_agent : which trained agent runs: "cross_entropy" (continuous fraction, linear policy) or "q_learning"
        (fractions 0%, 10%, ..., 100%, linear Q-function).
    risk_aversion_per_usd : lambda of the training reward's risk penalty, per $ (the shared risk aversion).
    max_participation : the shared participation limit; the trained policy does not take it, so the row says when
        the agent's expected child orders go above it.
    resolved_agent : the agent to run, resolved by the caller (not a user setting).
    """

    rl_agent: Literal["cross_entropy", "q_learning"] = param("cross_entropy", "RL agent")
    risk_aversion_per_usd: float = shared("risk_aversion_per_usd")
    max_participation: float = shared("max_participation")
    resolved_agent: ResolvedAgent | None = dataclasses.field(
        default=None, compare=False, repr=False, metadata={RESOLVED_KEY: "rl_agent"}
    )

    def __post_init__(self) -> None:
        if self.rl_agent not in QUICK_ITERATIONS:
            raise ValueError(f"the RL agent must be cross_entropy or q_learning, got {self.rl_agent!r}")
        check_non_negative("risk aversion (1/$)", self.risk_aversion_per_usd)
        check_max_participation(self.max_participation)


def training_order(order: Order) -> Order:
    """The order the quick agent trains on: the order itself, or on more than ``QUICK_TRAINING_SLICES`` slices
    the same order on that many (its DEFAULT_PERIODS decisions fall at the same times, its observations are
    fractions, and an even split within a period costs the same at any slice length: only training gets faster)."""
    if order.slices <= QUICK_TRAINING_SLICES:
        return order
    return dataclasses.replace(order, slices=QUICK_TRAINING_SLICES)


def _resolved(
    params: RLParams,
) -> tuple[Callable[[Order, MarketParams], Policy], Callable[[Order, MarketParams], np.ndarray], str | None]:
    """The caller's agent as (policy, expected holdings, note); ValueError saying why there is none (still
    training, or not resolved)."""
    resolved = params.resolved_agent
    if resolved is None:
        raise ValueError(
            "no trained agent was given to the RL strategy: plan it through optexec.planning.make_plan or "
            "optexec.monte_carlo.simulate, which resolve one"
        )
    if resolved.agent is None or resolved.policy is None or resolved.expected_holdings is None:
        raise ValueError(resolved.note or "the RL agent is not trained yet")
    return resolved.policy, resolved.expected_holdings, resolved.note


def rl_policy(order: Order, market: MarketParams, params: RLParams) -> Policy:
    """The agent as a feedback policy for the simulator (the resolved agent's ``policy``)."""
    policy, _, _ = _resolved(params)
    return policy(order, market)


def rl_schedule(order: Order, market: MarketParams, params: RLParams) -> Schedule:
    """Expected schedule: the agent's mean holdings over simulated paths of the default market model (the
    resolved agent's ``expected_holdings``, optexec.rl.resolve)."""
    _, expected_holdings, note = _resolved(params)
    holdings = expected_holdings(order, market)
    warnings = (note,) if note else ()
    schedule = Schedule.from_holdings("rl_agent", order, market, holdings, user_settings(params), warnings)
    peak = float(np.max(schedule.participation))
    if peak > params.max_participation * (1 + 1e-9):
        schedule = dataclasses.replace(schedule, warnings=(*schedule.warnings, (
            f"cannot respect the max participation of {params.max_participation:.0%}: its trained policy does not "
            f"take the limit, and its expected child orders reach {peak:.0%} of their slice's expected volume"
        )))  # fmt: skip
    return schedule


STRATEGIES = [
    Strategy(
        "rl_agent",
        "RL agent",
        RLParams,
        rl_schedule,
        "A reinforcement-learning agent trained on the simulator: the fraction of the remainder to trade each "
        "period from time, remainder, spread, volatility and volume.",
        policy=rl_policy,
        optimises="the simulator's mean-variance reward under the market's cost model (a trained policy, not an "
        "exact optimum)",
    )
]
