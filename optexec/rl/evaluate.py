"""Held-out evaluation of trained agents against TWAP, VWAP, Almgren–Chriss and the DP optimum.

The DP optimum (optexec.rl.dp) is the bound for the cross-entropy agent's continuous fraction; "DP optimum (10%
steps)" is the bound for the Q-learning agent's fractions 0%, 10%, ..., 100%. Both plan on expected market
conditions and do not use the liquidity or volatility state, so an agent that reads the state could in principle
beat them in the noisy regimes; Almgren–Chriss re-plans every slice rather than every period and can be slightly
cheaper than the 10-period DP.

Every strategy runs through ``optexec.simulation.engine.simulate_strategies`` on the same held-out market paths (common
random numbers; evaluation seeds are never used in training), in three regimes:

* normal   : the simulator's default market model (liquidity regimes, volume and spread noise);
* volatile : stochastic volatility that starts 1.5x above its long-run level (fast vol of vol 1, slow 0.3);
* trending : the normal model with a drift of 0.5 sigma per day against the order (up for a buy).

The improvement over TWAP is -mean(cost - TWAP cost) / mean(TWAP cost) on the same paths, with the standard error
of the paired difference over the same denominator (docs/MATH.md section 8 shortfall; the TWAP mean is taken as exact).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from optexec.market import cost_model
from optexec.models import MarketParams, Order, Schedule
from optexec.rl.dp import DPAgent, solve_dp, solve_dp_fractions
from optexec.rl.env import EnvConfig
from optexec.rl.policy import AgentPolicy, expected_holdings
from optexec.rl.training import decision_periods, regime
from optexec.simulation.engine import SimulationConfig, chunk_paths, simulate_strategies
from optexec.strategies import registry
from optexec.strategies.base import Strategy

EVALUATION_SEED = 20_260_000  # training seeds are small integers; this stays out of their way
PROGRESS_CHUNKS = 8  # chunks of paths an evaluation runs in (each reports its progress)


def agent_strategy(name: str, label: str, agent: Any, paths: int = 32) -> Strategy:
    """A registry-style Strategy running ``agent`` as a feedback policy (schedule: its mean holdings)."""

    @dataclass(frozen=True)
    class _NoParams:
        pass

    def build(order: Order, market: MarketParams, params: Any) -> Schedule:
        return Schedule.from_holdings(name, order, market, expected_holdings(order, market, agent, paths))

    return Strategy(name, label, _NoParams, build, f"{label} (trained agent)", lambda o, m, p: AgentPolicy(o, m, agent))


def evaluate(order: Order, market: MarketParams, agents: Mapping[str, Any], regime_name: str = "normal",
             paths: int = 4000, seed: int = EVALUATION_SEED, periods: int = 10, risk_aversion_per_usd: float = 1e-6,
             dp_grid: int = 201, progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per strategy: mean, std, CVaR95 (bps), mean + lambda var ($), improvement over TWAP (%) ± s.e.,
    every one charged by the market's cost model. The DP rows need a cost model without transient impact; under
    one with it they are left out and ``table.attrs["notes"]`` says so.

    ``progress(fraction_done, what)`` is called once the DP bounds are solved and then after each chunk of paths
    and each strategy (``simulate_strategies``), so a page can show a progress bar without this module knowing."""
    market_r, model = regime(regime_name, order, market)
    config = EnvConfig(decision_periods(order, periods), risk_aversion_per_usd, model)
    strategies = [registry.get("twap"), registry.get("vwap"), registry.get("ac_discrete")]
    notes = []
    if not cost_model(market_r).has_flow_memory:
        dp = DPAgent(solve_dp(order, market_r, config, dp_grid))
        strategies.append(agent_strategy("dp_optimum", "DP optimum", dp))
        discrete = DPAgent(solve_dp_fractions(order, market_r, config))
        strategies.append(agent_strategy("dp_discrete", "DP optimum (10% steps)", discrete))
    else:
        notes.append(
            f"no DP optimum rows: the DP does not model transient impact, which the {market_r.cost_model!r} cost "
            "model has (choose the linear cost model on the ticket to compare against it)"
        )
    strategies += [agent_strategy(f"rl_{label}", label, agent) for label, agent in agents.items()]
    if progress:
        progress(0.0, "DP bounds solved")
    # about eight chunks of paths, so that a progress bar moves during each strategy (the numbers of a seed do not
    # depend on the chunking), never more per chunk than the memory budget allows
    chunk = min(chunk_paths(order, model, paths, len(strategies) + 1, 0), max(1, -(-paths // PROGRESS_CHUNKS)))
    result = simulate_strategies(order, market_r, strategies, {"risk_aversion_per_usd": risk_aversion_per_usd},
                                 SimulationConfig(paths, seed, model, sample_paths=0, chunk_paths=chunk),
                                 progress)  # fmt: skip
    twap = next(run for run in result.runs if run.name == "twap")
    base = twap.mean_usd
    rows = []
    for run in result.runs:
        diff = run.cost_usd - twap.cost_usd
        rows.append({
            "regime": regime_name, "strategy": run.label, "mean_bps": run.bps(run.mean_usd),
            "std_bps": run.bps(run.std_usd), "cvar95_bps": run.bps(run.cvar95_usd),
            "objective_usd": run.mean_usd + risk_aversion_per_usd * run.cost_usd.var(ddof=1),
            "improvement_vs_twap_pct": -100.0 * diff.mean() / base if base else math.nan,
            "improvement_stderr_pct": 100.0 * diff.std(ddof=1) / math.sqrt(diff.size) / abs(base) if base else math.nan,
        })  # fmt: skip
    table = pd.DataFrame.from_records(rows)
    table.attrs["notes"] = notes
    return table
