"""The ``plan`` and ``sweep`` sub-commands, and the order, market and strategy options they share with
``simulate`` (DESIGN.md section 7)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

import duckdb

from optexec import clock, model_card
from optexec.calibration import latest_calibration
from optexec.calibration.storage import why_no_parameters
from optexec.cli.common import UserError, dump_json, read_store
from optexec.json_output import INDENT_MAX_SLICES
from optexec.market_source import CALIBRATION, SymbolParams, symbol_params
from optexec.model_card import choose_cost_model, priced_under, with_cost_model
from optexec.models import COST_MODELS, MarketParams, Order
from optexec.monte_carlo import SimulationConfig
from optexec.planning import (
    DEFAULT_MAX_PARTICIPATION,
    DEFAULT_RISK_AVERSION_PER_USD,
    Plan,
    best_row,
    check_max_participation,
    cost_table,
    holdings_snapshot,
    make_plan,
)
from optexec.sensitivity import sweep, sweep_to_json, sweepable_parameters
from optexec.store import db, sample, sessions
from optexec.strategies import registry


def _parse_setting(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep:
        raise UserError(f"--set needs name=value, got {text!r}")
    for convert in (int, float):
        try:
            return name.strip(), convert(value)
        except ValueError:
            pass
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return name.strip(), lowered == "true"
    return name.strip(), value.strip()


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """The order, market and strategy options shared by plan, simulate and sweep."""
    order = parser.add_argument_group("order")
    order.add_argument("--symbol", required=True)
    order.add_argument("--side", required=True, choices=["buy", "sell"])
    order.add_argument("--shares", required=True, type=float, help="order size in shares")
    order.add_argument("--horizon", metavar="DURATION",
                       help='horizon with a unit: 90m, 2h, 1.5d, "45 minutes" (days are trading days; minutes and '
                       "hours are converted by the symbol's session length)")  # fmt: skip
    order.add_argument("--horizon-days", type=float, help="horizon in trading days (or --horizon)")
    order.add_argument("--slices", required=True, type=int, help="number of child orders")
    order.add_argument("--start", metavar="HH:MM|now",
                       help="start as an exchange-local time of day inside the session (10:30), or now (the next "
                       "open when the market is closed); needs the symbol's exchange clock from the store")  # fmt: skip
    order.add_argument("--start-minutes", type=float, help="start, in minutes after the open (default 0, the open)")
    market = parser.add_argument_group("market (Almgren–Chriss units, docs/MATH.md section 2)")
    market.add_argument("--price", type=float, help="arrival price, $")
    market.add_argument("--sigma", type=float, help="volatility, $/share/sqrt(day)")
    market.add_argument("--spread", type=float, help="full bid-ask spread, $")
    market.add_argument("--adv", type=float, help="average daily volume, shares/day")
    market.add_argument("--eta", type=float, help="temporary impact, $/share per share/day (default: spread/(1%% ADV))")
    market.add_argument("--gamma", type=float, help="permanent impact, $/share per share (default: spread/(10%% ADV))")
    market.add_argument("--drift", type=float, default=0.0, help="expected price drift, $/share/day")
    strategy = parser.add_argument_group("strategies")
    strategy.add_argument(
        "--risk-aversion", type=float, default=DEFAULT_RISK_AVERSION_PER_USD, help="lambda in E + lambda V, 1/$"
    )
    strategy.add_argument(
        "--max-participation",
        type=float,
        metavar="F",
        help=f"largest child order as a fraction of its slice's expected volume, in (0, 1] (default "
        f"{DEFAULT_MAX_PARTICIPATION:g})",
    )
    strategy.add_argument(
        "--cost-model",
        choices=COST_MODELS,
        help="the one model every strategy is priced and ranked under (default: calibrated for a symbol with an "
        "accepted calibration, else linear)",
    )
    strategy.add_argument(
        "--strategy", action="append", choices=list(registry.STRATEGIES), help="only these strategies (repeatable)"
    )
    strategy.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a strategy setting, e.g. participation_rate=0.2",
    )


def _stored_market(args: argparse.Namespace) -> tuple[SymbolParams | None, str]:
    """The symbol's parameters from the store (latest accepted calibration or planted sample), or None and why not
    when the store holds none for it; never None because the store could not be read (``read_store``)."""
    with read_store(args) as con:
        try:
            if latest_calibration(con, args.symbol) is None and args.symbol not in sample.sample_symbols():
                return None, f"no parameters for {args.symbol} in the store: {why_no_parameters(con, args.symbol)}"
            return symbol_params(con, args.symbol), ""
        except ValueError as error:  # a stored calibration that does not make market parameters
            raise UserError(f"cannot use the stored parameters of {args.symbol}: {error}") from None
        except duckdb.Error as error:
            raise UserError(
                f"cannot read the symbol's parameters from {db.resolve_path(args.db)}: {str(error).splitlines()[0]}"
            ) from None


#: the command line's market options, by MarketParams field
MARKET_OPTIONS = {
    "price_usd": "--price", "sigma_usd_per_sqrt_day": "--sigma", "spread_usd": "--spread", "adv_shares": "--adv",
    "eta_usd_day_per_share2": "--eta", "gamma_usd_per_share2": "--gamma", "drift_usd_per_day": "--drift",
}  # fmt: skip


def market_from_args(args: argparse.Namespace) -> MarketParams:
    """Market parameters of a plan-like command, under its cost model (``market_and_source`` without the words)."""
    return market_and_source(args)[0]


def market_and_source(args: argparse.Namespace) -> tuple[MarketParams, str, str]:
    """Market parameters under the command's cost model, where they come from, and why that model.

    The command line over the symbol's stored parameters (optexec.market_source); without those, the command line
    alone, with rules of thumb for missing impact (docs/MATH.md section 7). The cost model is ``--cost-model``, else
    "calibrated" for a symbol with an accepted calibration and "linear" otherwise (model_card.choose_cost_model);
    every parameter's source is recorded on the market (``MarketParams.sources``) for the plan's model.
    """
    market, source, accepted = _market_and_source(args)
    name, reason = choose_cost_model(args.cost_model, accepted, args.symbol, "on the command line (--cost-model)")
    return with_cost_model(market, name), source, reason


def _command_line_sources(given: dict[str, float]) -> dict[str, str]:
    return {k: f"set on the command line ({MARKET_OPTIONS[k]})" for k in given if k in model_card.PARAMETERS}


def _market_and_source(args: argparse.Namespace) -> tuple[MarketParams, str, bool]:
    """(market, where its parameters come from, whether the symbol has an accepted calibration)."""
    stored, why_not = _stored_market(args)
    if stored is not None:
        source = stored.source
        overrides = {
            "price_usd": args.price, "sigma_usd_per_sqrt_day": args.sigma, "spread_usd": args.spread,
            "adv_shares": args.adv, "eta_usd_day_per_share2": args.eta, "gamma_usd_per_share2": args.gamma,
            "drift_usd_per_day": args.drift or None,
        }  # fmt: skip
        given = {k: v for k, v in overrides.items() if v is not None}
        if given:
            source += " Given on the command line over them: " + ", ".join(
                f"{MARKET_OPTIONS[k]} {v:g}" for k, v in given.items()
            )
            source += "."
        base = model_card.stored_sources(stored.market, stored.kind, stored.run_ts)
        market = model_card.with_sources(dataclasses.replace(base, **given), _command_line_sources(given))
        return market, source, stored.kind == CALIBRATION
    missing = [
        flag
        for flag, value in [
            ("--price", args.price),
            ("--sigma", args.sigma),
            ("--spread", args.spread),
            ("--adv", args.adv),
        ]
        if value is None
    ]
    if missing:
        raise UserError(f"{why_not}; or give {', '.join(missing)}")
    extra = {"drift_usd_per_day": args.drift}
    source = f"Parameters: given on the command line ({args.symbol} has none in the store)."
    given = {"sigma_usd_per_sqrt_day": args.sigma, "spread_usd": args.spread, "adv_shares": args.adv,
             "eta_usd_day_per_share2": args.eta, "gamma_usd_per_share2": args.gamma,
             "drift_usd_per_day": args.drift or None}  # fmt: skip
    sources = _command_line_sources({k: v for k, v in given.items() if v is not None})
    if args.eta is not None and args.gamma is not None:
        market = MarketParams(args.price, args.sigma, args.spread, args.adv, args.eta, args.gamma, **extra)
        return model_card.with_sources(market, sources), source, False
    base = MarketParams.from_rules_of_thumb(args.price, args.sigma, args.spread, args.adv, **extra)
    thumbs = [name for name, value in (("η = spread/(1% ADV)", args.eta), ("γ = spread/(10% ADV)", args.gamma))
              if value is None]  # fmt: skip
    source += f" Impact from the Almgren–Chriss rules of thumb: {', '.join(thumbs)}."
    if args.eta is None:
        sources["eta_usd_day_per_share2"] = "Almgren–Chriss rule of thumb: spread/(1% ADV)"
    if args.gamma is None:
        sources["gamma_usd_per_share2"] = "Almgren–Chriss rule of thumb: spread/(10% ADV)"
    market = MarketParams(
        args.price,
        args.sigma,
        args.spread,
        args.adv,
        args.eta if args.eta is not None else base.eta_usd_day_per_share2,
        args.gamma if args.gamma is not None else base.gamma_usd_per_share2,
        **extra,
    )
    return model_card.with_sources(market, sources), source, False


def horizon_days_from_args(args: argparse.Namespace, session_minutes: int) -> float:
    """The horizon in trading days: ``--horizon`` (a duration with a unit, optexec.clock.parse_duration) or
    ``--horizon-days``, exactly one of them (a UserError otherwise)."""
    if args.horizon is not None and args.horizon_days is not None:
        raise UserError("give the horizon once: --horizon or --horizon-days, not both")
    if args.horizon is None and args.horizon_days is None:
        raise UserError("give the horizon: --horizon with a unit (90m, 2h, 1.5d) or --horizon-days")
    if args.horizon_days is not None:
        return args.horizon_days
    try:
        return clock.parse_duration(args.horizon, session_minutes).days
    except ValueError as error:
        raise UserError(f"--horizon: {error}") from None


def _session(args: argparse.Namespace) -> sessions.MarketSession | None:
    """The symbol's exchange clock (time zone, session, calendar) from the store, or None when it has none."""
    with read_store(args) as con:
        try:
            return sessions.instrument_session(con, args.symbol)
        except (ValueError, duckdb.Error):
            return None


def start_minutes_from_args(args: argparse.Namespace, session_minutes: int) -> float:
    """Minutes after the open: ``--start`` (an exchange-local HH:MM inside the session, or now: the Plan page's
    start box) or ``--start-minutes``, at most one of them (a UserError otherwise); the open when neither is given.
    "now" says on stderr when it starts (before the open, closed: the next open)."""
    if args.start is not None and args.start_minutes is not None:
        raise UserError("give the start once: --start or --start-minutes, not both")
    if args.start is None:
        minutes = 0.0 if args.start_minutes is None else args.start_minutes
        if not 0 <= minutes < session_minutes:
            raise UserError(f"--start-minutes must be from 0 to below the session's {session_minutes} minutes")
        return minutes
    session = _session(args)
    if session is None:
        raise UserError(f"--start {args.start}: {args.symbol} has no exchange clock in the store (no calendar or time "
                        "zone); give --start-minutes (minutes after the open)")  # fmt: skip
    text = args.start.strip()
    if text.lower() == "now":
        start = sessions.start_now(session)
        print(f"--start now: {start.note} (on {start.day:%Y-%m-%d})", file=sys.stderr)
        return float(start.minutes_after_open)
    try:
        minute = sessions.parse_hhmm(text, "--start")
    except ValueError as error:
        raise UserError(f"{error}, or now") from None
    if not session.takes_start(minute):
        raise UserError(f"--start {text} is outside {args.symbol}'s session: give {session.start_rule()}, or now")
    return float(minute - session.open_minute)


def timing_words(order: Order, session_minutes: int) -> str:
    """The order's time as the text output heads it: "over 2 h (0.308 trading days) in 13 slices, starting 60 min
    after the open" (optexec.clock.duration_words; the start left out at the open)."""
    words = clock.duration_words(order.horizon_days, session_minutes)
    if not words.endswith(("trading day", "trading days")):
        words += f" ({order.horizon_days:.3g} trading days)"
    start = order.start_minutes_after_open
    after = f", starting {start:g} min after the open" if start else ""
    return f"over {words} in {order.slices} slices{after}"


def order_from_args(args: argparse.Namespace, market: MarketParams) -> Order:
    """The order of a plan-like command (plan, simulate, sweep): its horizon (``--horizon`` or ``--horizon-days``)
    and its start inside the market's session (``--start`` or ``--start-minutes``)."""
    horizon_days = horizon_days_from_args(args, market.session_minutes)
    start_minutes = start_minutes_from_args(args, market.session_minutes)
    return Order(args.symbol, args.side, args.shares, horizon_days, args.slices, start_minutes)


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The strategy settings of a plan-like command: the risk aversion, the participation limit and ``--set``
    (``--max-participation`` and ``--set max_participation=`` at once is a UserError, not one of them silently)."""
    extra = dict(_parse_setting(s) for s in args.set)
    if args.max_participation is not None and "max_participation" in extra:
        raise UserError("give the participation limit once: --max-participation or --set max_participation=")
    limit = args.max_participation if args.max_participation is not None else DEFAULT_MAX_PARTICIPATION
    settings = {"risk_aversion_per_usd": args.risk_aversion, "max_participation": limit, **extra}
    try:
        check_max_participation(settings["max_participation"])
    except ValueError as error:
        raise UserError(f"--max-participation: {error}") from None
    return settings


def plan_from_args(args: argparse.Namespace) -> Plan:
    """The order, market and settings of a plan-like command, planned (with where its parameters come from)."""
    settings = settings_from_args(args)
    market, source, reason = market_and_source(args)
    return make_plan(order_from_args(args, market), market, settings, args.strategy, reason, source)


def format_plan(plan: Plan) -> str:
    """Plain-text tables: costs side by side under the plan's one cost model, what each strategy optimises, then
    the holdings (shares left) over time."""
    order, market = plan.order, plan.market
    table = cost_table(plan)
    lines = [
        (
            f"{order.side} {order.shares:,.0f} {order.symbol} {timing_words(order, market.session_minutes)}; "
            f"price ${market.price_usd:,.2f}, notional ${order.shares * market.price_usd:,.0f}, "
            f"risk aversion {plan.risk_aversion_per_usd:g} /$, max participation {plan.max_participation:.0%}"
        ),
        f"priced under {priced_under(market)} ({plan.model_reason or 'the market model given'})",
        "",
        (
            f"{'strategy':<40}{'E ($)':>14}{'E (bps)':>10}{'std ($)':>14}{'VaR95 ($)':>14}{'E+λV ($)':>14}"
            f"{'max part.':>10}{'spread ($)':>13}{'temp ($)':>13}{'perm ($)':>13}{'trans ($)':>13}{'drift ($)':>12}"
        ),
    ]
    for record in table.to_dict("records"):
        lines.append(
            f"{record['strategy']:<40}{record['expected_cost_usd']:>14,.2f}{record['expected_cost_bps']:>10.1f}"
            f"{record['std_cost_usd']:>14,.2f}{record['var95_usd']:>14,.2f}{record['objective_usd']:>14,.2f}"
            f"{record['max_participation']:>10.1%}{record['spread_usd']:>13,.2f}{record['temporary_usd']:>13,.2f}"
            f"{record['permanent_usd']:>13,.2f}{record['transient_usd']:>13,.2f}{record['drift_usd']:>12,.2f}"
        )
    best = best_row(plan)
    if best:
        caution = " (outside the model's range: see its warnings)" if best.outside_model else ""
        lines += ["", f"lowest E + λV: {best.strategy.label}{caution}"]
    lines += ["", "optimises under (each strategy's own model; all are priced under the one above)"]
    lines += [f"  {record['strategy']}: {record['optimises_under']}" for record in table.to_dict("records")]
    lines += [f"warning: {w}" for w in plan.warnings]
    notes = {record["strategy"]: record["participation_note"] for record in table.to_dict("records")}
    for row in plan.rows:
        if row.schedule is None:
            lines.append(f"{row.strategy.label}: not planned: {row.error}")
            continue
        said = list(row.schedule.warnings)
        note = notes.get(row.strategy.label, "")
        if note and not any(part in said for part in note.split("; ")):
            said.append(note)
        lines += [f"{row.strategy.label}: {w}" for w in said]
    snapshot = holdings_snapshot(plan)
    lines += [
        "",
        "holdings (shares left to trade)",
        snapshot.to_string(index=False, formatters={c: "{:,.0f}".format for c in snapshot.columns[1:]}),
    ]
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    with read_store(args):
        plan = plan_from_args(args)
    if not plan.planned:
        raise UserError(
            "no strategy could plan this order: " + "; ".join(f"{r.strategy.name}: {r.error}" for r in plan.rows)
        )
    if args.json:
        print(dump_json("plan", plan.to_json(), indent=1 if plan.order.slices <= INDENT_MAX_SLICES else None))
    else:
        text = format_plan(plan).split("\n", 1)
        print("\n".join([text[0], plan.parameter_source, *text[1:]]))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    try:
        values = [float(v) for v in args.values.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--values must be numbers separated by commas, got {args.values!r}") from None
    settings = settings_from_args(args)
    simulation = SimulationConfig(paths=args.paths, seed=args.seed) if args.paths else None
    with read_store(args):
        market, _, reason = market_and_source(args)
        result = sweep(order_from_args(args, market), market, settings, args.param, values, args.strategy, simulation)
    if args.json:
        print(dump_json("sweep", {**sweep_to_json(result), "model": model_card.model_json(market, reason)}))
        return 0
    print(f"priced under {priced_under(market)} ({reason})")
    what = f"mean simulated cost over {args.paths:,} paths, $" if args.paths else "expected cost, $"
    print(f"{args.param:>16}" + "".join(f"{name:>16}" for name in result.labels) + f"   ({what})")
    for i, value in enumerate(result.values):
        print(f"{value:>16.6g}" + "".join(f"{result.expected_usd[name][i]:>16,.0f}" for name in result.labels))
    return 0


def configure_plan(parser: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``plan`` sub-command's options (optexec.cli.COMMANDS)."""
    add_plan_options(parser)
    parser.set_defaults(func=cmd_plan)


def configure_sweep(parser: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``sweep`` sub-command's options (optexec.cli.COMMANDS)."""
    add_plan_options(parser)
    parser.add_argument("--param", required=True, choices=sweepable_parameters(), help="parameter to sweep")
    parser.add_argument("--values", required=True, help="comma-separated values, e.g. 1e-7,1e-6,1e-5")
    parser.add_argument("--paths", type=int, default=0, help="simulate each point with this many paths")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the simulated sweep")
    parser.set_defaults(func=cmd_sweep)
