"""Simulate every (or the named) registered strategy for an order: what each strategy needs resolved (the RL agent,
the market model) is resolved here (optexec.rl.resolve), as make_plan does, then the engine
(optexec.simulation.engine: the vectorised Monte Carlo simulator, docs/MATH.md sections 8 and 11) runs them.

The engine's names are re-exported here (``SimulationConfig``, ``SimulationResult``, ``simulate_strategies``, ...):
``from optexec.monte_carlo import SimulationConfig, simulate`` is the simulator's API for pages and the command line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from optexec.models import MarketParams, Order, check_risk_aversion
from optexec.simulation.engine import (
    COMPONENTS,
    SimulationConfig,
    SimulationResult,
    StrategyRun,
    run_policy,
    run_schedule,
    simulate_strategies,
)
from optexec.strategies import registry

__all__ = [
    "COMPONENTS",
    "SimulationConfig",
    "SimulationResult",
    "StrategyRun",
    "run_policy",
    "run_schedule",
    "simulate",
    "simulate_strategies",
]


def simulate(
    order: Order,
    market: MarketParams,
    settings: Mapping[str, Any] | None = None,
    names: Iterable[str] | None = None,
    config: SimulationConfig | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> SimulationResult:
    """Simulate every (or the named) registered strategy for an order (see ``simulate_strategies``).

    Each strategy runs the feedback policy its module declares, if any. What a strategy needs resolved (the RL
    agent, the market model) is resolved here by optexec.rl.resolve, as make_plan does.
    """
    unknown = set(settings or {}) - registry.setting_names()
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    settings = settings or {}
    if "risk_aversion_per_usd" in settings:
        check_risk_aversion(settings["risk_aversion_per_usd"])
    chosen = [registry.get(n) for n in names] if names else list(registry.STRATEGIES.values())
    from optexec.rl import resolve  # here: the RL package (and its store reads) only when simulating

    resolved = resolve.resolve_inputs(order, market, settings, chosen)
    return simulate_strategies(order, market, chosen, {**settings, **resolved}, config, progress)
