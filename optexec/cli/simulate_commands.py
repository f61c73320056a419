"""The ``simulate`` sub-command: Monte Carlo cost statistics of every strategy (DESIGN.md section 7).

optexec simulate <plan options> --paths N --seed S [market-model options] [--json]

The market-model options set the simulated market's dynamics; what trading costs is the market's cost model
(MarketParams.cost_model, chosen with the plan options), the one the plan prices with.
"""

from __future__ import annotations

import argparse
import math

from optexec.cli.common import dump_json, read_store
from optexec.cli.plan_commands import (
    add_plan_options,
    market_from_args,
    order_from_args,
    settings_from_args,
    timing_words,
)
from optexec.monte_carlo import SimulationConfig, SimulationResult, simulate
from optexec.simulation.market import PRICE_MODELS, LiquidityRegimes, MarketModel


def model_from_args(args: argparse.Namespace) -> MarketModel:
    """The simulated market's dynamics from the command line (defaults: MarketModel's)."""
    return MarketModel(
        price_model=args.price_model,
        signal_mean_reversion_per_day=args.signal_mean_reversion,
        signal_vol_usd_per_day_per_sqrt_day=args.signal_vol,
        fast_vol_of_vol_per_sqrt_day=args.fast_vol_of_vol,
        slow_vol_of_vol_per_sqrt_day=args.slow_vol_of_vol,
        initial_vol_ratio=args.initial_vol_ratio,
        volume_noise=args.volume_noise,
        spread_noise=args.spread_noise,
        regimes=LiquidityRegimes(enabled=not args.no_regimes),
    )


def _money(usd: float) -> str:
    """$ without decimals, or a dash where there is no value (a policy without a planned schedule)."""
    return f"{usd:,.0f}" if math.isfinite(usd) else "-"


def format_result(result: SimulationResult) -> str:
    """A plain-text statistics table, one row per strategy."""
    order, config = result.order, result.config
    lines = [
        (
            f"{order.side} {order.shares:,.0f} {order.symbol} {timing_words(order, result.market.session_minutes)}; "
            f"{config.paths:,} paths, seed {config.seed}; costs in $ (bps of arrival notional)"
        ),
        "",
        (
            f"{'strategy':<38}{'kind':>9}{'mean':>13}{'(bps)':>8}{'±se':>9}{'std':>13}{'VaR95':>13}{'CVaR95':>13}"
            f"{'vs TWAP':>12}{'±se':>10}{'part.':>9}{'max':>10}{'unfin.':>8}{'expected':>13}{'plan':>13}"
        ),
    ]
    for run in result.runs:
        lines.append(
            f"{run.label[:37]:<38}{run.kind:>9}{run.mean_usd:>13,.0f}{run.bps(run.mean_usd):>8.1f}"
            f"{run.stderr_mean_usd:>9,.0f}{run.std_usd:>13,.0f}{run.var95_usd:>13,.0f}{run.cvar95_usd:>13,.0f}"
            f"{run.paired_difference_usd:>12,.0f}{run.paired_stderr_usd:>10,.0f}{run.mean_participation:>9.1%}"
            f"{run.max_participation:>10.1%}{run.unfinished_share:>8.1%}{_money(run.expected_usd):>13}"
            f"{_money(run.closed_form_usd):>13}"
        )
    lines.append(
        "expected: the planned schedule's expected cost in this simulated market (random volume and spread); plan: "
        "the plan's closed form at the expected volume; a fixed schedule's mean estimates 'expected', a feedback "
        "strategy's mean can differ from both (what it does on each path)"
    )
    for name, error in result.errors.items():
        lines.append(f"{name}: not simulated: {error}")
    lines += [f"note: {note}" for note in result.notes]
    return "\n".join(lines)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the simulation and print the table or the JSON."""
    settings = settings_from_args(args)
    config = SimulationConfig(
        paths=args.paths,
        seed=args.seed,
        model=model_from_args(args),
        force_finish=not args.no_finish,
        use_policies=not args.static,
    )
    with read_store(args):  # the parameters and any stored RL policy from one state of the store
        market = market_from_args(args)
        result = simulate(order_from_args(args, market), market, settings, args.strategy, config)
    print(dump_json("simulate", result.to_json()) if args.json else format_result(result))
    return 0


def configure(parser: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``simulate`` sub-command's options (optexec.cli.COMMANDS)."""
    add_plan_options(parser)
    run = parser.add_argument_group("simulation")
    run.add_argument("--paths", type=int, default=10_000, help="number of Monte Carlo paths (default 10,000)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0): the same seed, the same numbers")
    run.add_argument("--static", action="store_true", help="run every strategy as its static schedule")
    run.add_argument("--no-finish", action="store_true", help="leave what is not done at the horizon unfinished")
    model = parser.add_argument_group("market model")
    model.add_argument("--price-model", choices=PRICE_MODELS, default="arithmetic")
    model.add_argument("--fast-vol-of-vol", type=float, default=0.0, help="fast factor's vol of vol, per sqrt(day)")
    model.add_argument("--slow-vol-of-vol", type=float, default=0.0, help="slow factor's vol of vol, per sqrt(day)")
    model.add_argument("--initial-vol-ratio", type=float, default=1.0, help="current / long-run vol at the start")
    model.add_argument("--signal-vol", type=float, default=0.0, help="signal noise, $/share/day/sqrt(day)")
    model.add_argument("--signal-mean-reversion", type=float, default=0.0, help="signal mean reversion, per day")
    model.add_argument("--volume-noise", type=float, default=0.3, help="lognormal sd of volume per slice")
    model.add_argument("--spread-noise", type=float, default=0.1, help="lognormal sd of the spread per slice")
    model.add_argument("--no-regimes", action="store_true", help="switch the two-state liquidity regime off")
    parser.set_defaults(func=cmd_simulate)
