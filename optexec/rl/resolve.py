"""What a strategy needs from its caller, resolved here and never inside a strategy (strategies/base.RESOLVED_KEY).

* "rl_agent": the agent the RL strategy runs (``resolve_agent``). The policy stored for this order, market, risk
  aversion and number of decision periods (optexec.rl.storage, trained on the RL page) if there is one; else the
  default agent for this order shape, market and agent kind: a small agent trained ONCE (curriculum calm -> normal
  market, at the shared default risk aversion) in a background thread and cached for the process. A new risk
  aversion therefore costs a dictionary look-up: no store read, no training. The first call for an order shape
  waits for its training (``wait_seconds``, a fraction of a second); a call that stops waiting gets no agent and a
  row that says the default agent is still training.
* "market_model": the market model a schedule is computed under (the simulator's default MarketModel).
"""

from __future__ import annotations

import concurrent.futures
import functools
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from optexec.models import MarketParams, Order
from optexec.rl import storage, training
from optexec.rl.policy import AgentPolicy, expected_holdings
from optexec.simulation.market import MarketModel
from optexec.strategies.base import RESOLVED_PREFIX, SHARED_SETTINGS, Strategy
from optexec.strategies.rl_agent import (
    DEFAULT_PERIODS,
    QUICK_ITERATIONS,
    QUICK_SETTINGS,
    ResolvedAgent,
    RLParams,
    training_order,
)

#: the risk aversion the default agent is trained at (the shared setting's one default)
DEFAULT_AGENT_RISK_AVERSION_PER_USD = SHARED_SETTINGS["risk_aversion_per_usd"].default
#: how long a plan waits for the default agent's first training before it says it is still training
WAIT_SECONDS = 60.0

_executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="optexec-rl-default-agent")
_lock = threading.Lock()
_default_agents: dict[tuple[Order, MarketParams, str], concurrent.futures.Future] = {}


def train_default_agent(order: Order, market: MarketParams, kind: str) -> Any:
    """The default agent of an order shape and market: QUICK_ITERATIONS of the calm -> normal curriculum on
    ``training_order(order)``, at DEFAULT_AGENT_RISK_AVERSION_PER_USD, seed 0."""
    agent, _ = training.train_for_regime(kind, training_order(order), market, "normal", QUICK_ITERATIONS[kind],
                                         DEFAULT_PERIODS, DEFAULT_AGENT_RISK_AVERSION_PER_USD, seed=0,
                                         **QUICK_SETTINGS[kind])  # fmt: skip
    return agent


def start_default_agent(order: Order, market: MarketParams, kind: str) -> concurrent.futures.Future:
    """The default agent's training (started in the background on the first call, then the same Future)."""
    key = (training_order(order), market, kind)
    with _lock:
        future = _default_agents.get(key)
        if future is None:  # a failed training is kept and said, not retried on every slider move
            future = _executor.submit(train_default_agent, order, market, kind)
            _default_agents[key] = future
        return future


def forget_default_agents() -> None:
    """Drop the cached default agents (tests)."""
    with _lock:
        _default_agents.clear()


EXPECTED_PATHS = 32  # simulated paths of the RL schedule's expected holdings
_KEPT_PER_AGENT = 16  # orders and markets whose expected holdings are kept per agent
_holdings_lock = threading.Lock()
_holdings: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def agent_holdings(agent: Any, order: Order, market: MarketParams) -> np.ndarray:
    """The agent's mean holdings over EXPECTED_PATHS simulated paths (optexec.rl.policy.expected_holdings), kept
    per agent, order and market: they do not depend on the risk aversion, so a new one costs no simulation when
    the same agent serves it (the default agent). An agent must not change once resolved."""
    with _holdings_lock:
        kept = _holdings.get(agent)
        found = kept.get((order, market)) if kept is not None else None
    if found is not None:
        return found.copy()
    holdings = expected_holdings(order, market, agent, paths=EXPECTED_PATHS)
    with _holdings_lock:
        kept = _holdings.setdefault(agent, {})
        if len(kept) >= _KEPT_PER_AGENT:
            kept.pop(next(iter(kept)))
        kept[(order, market)] = holdings.copy()
    return holdings


def _with_agent(agent: Any, note: str | None = None) -> ResolvedAgent:
    """The resolved agent with its feedback policy and expected holdings."""
    return ResolvedAgent(
        agent,
        note,
        policy=lambda order, market: AgentPolicy(order, market, agent),
        expected_holdings=functools.partial(agent_holdings, agent),
    )


def resolve_agent(order: Order, market: MarketParams, settings: Mapping[str, Any],
                  wait_seconds: float | None = None) -> ResolvedAgent:  # fmt: skip
    """The agent the RL strategy runs for this order, market and settings (module docstring); ``wait_seconds``
    (default WAIT_SECONDS) is how long a first call waits for the default agent's training."""
    defaults = RLParams()
    kind = settings.get("rl_agent", defaults.rl_agent)
    lam = settings.get("risk_aversion_per_usd", defaults.risk_aversion_per_usd)
    if kind not in QUICK_ITERATIONS:
        return ResolvedAgent(None, f"the RL agent must be cross_entropy or q_learning, got {kind!r}")
    name = kind.replace("_", "-")
    index, problem = storage.policy_index()
    key = storage.problem_key(order, market, lam, training.decision_periods(order, DEFAULT_PERIODS))
    if (key, kind) in index:
        return _with_agent(index[(key, kind)])
    why = (f"the stored {name} policies could not be read ({problem})" if problem
           else f"no trained {name} policy is stored for this order")  # fmt: skip
    future = start_default_agent(order, market, kind)
    try:
        agent = future.result(timeout=WAIT_SECONDS if wait_seconds is None else wait_seconds)
    except concurrent.futures.TimeoutError:
        return ResolvedAgent(None, f"{why}, and the default {name} agent for this order is still training in the "
                                   "background: it shows on the next update")  # fmt: skip
    except (ValueError, ArithmeticError) as error:
        return ResolvedAgent(None, f"{why}, and the default {name} agent could not be trained ({error})")
    grid = training_order(order).slices
    coarse = f", on {grid} slices of the same horizon" if grid != order.slices else ""
    trained_for = f"λ = {DEFAULT_AGENT_RISK_AVERSION_PER_USD:g} /$"
    if lam != DEFAULT_AGENT_RISK_AVERSION_PER_USD:
        trained_for += f", not the plan's λ = {lam:g} /$"
    return _with_agent(
        agent,
        (
            f"{why}: a small default agent is used, trained once for this order and market "
            f"({QUICK_ITERATIONS[kind]} iterations, calm then normal market{coarse}, at {trained_for}); "
            "train one for this λ on the RL page"
        ),
    )


def resolve_inputs(
    order: Order,
    market: MarketParams,
    settings: Mapping[str, Any],
    strategies: Iterable[Strategy],
    wait_seconds: float | None = None,
) -> dict[str, Any]:
    """Settings entries (base.RESOLVED_PREFIX + kind) with what ``strategies`` need resolved (module docstring)."""
    kinds = {kind for strategy in strategies for kind in strategy.resolves}
    resolved: dict[str, Any] = {}
    for kind in sorted(kinds):
        if kind == "rl_agent":
            resolved[RESOLVED_PREFIX + kind] = resolve_agent(order, market, settings, wait_seconds)
        elif kind == "market_model":
            resolved[RESOLVED_PREFIX + kind] = MarketModel()
        else:
            raise ValueError(f"a strategy needs {kind!r} resolved, which no caller knows how to resolve")
    return resolved
