"""The ``basket`` sub-command: a basket's costs, joint risk and schedules (issue 15, DESIGN.md section 8).

optexec basket FILE [--horizon-days D] [--slices K] [--risk-aversion L] [--correlation FILE]
    [--max-participation F] [--json]

FILE is a CSV or Parquet basket (optexec.baskets.input). A bad basket exits with status 2 and one line listing each
bad cell as "line L, column: reason".
"""

from __future__ import annotations

import argparse
import sys

from optexec.constants import DEFAULT_MAX_PARTICIPATION  # the ticket's limit (a light module: --help stays fast)
from optexec.engines import add_engine_options  # a light module too

DEFAULT_SLICES = 26  # 15-minute slices of a 390-minute day
DEFAULT_RISK_AVERSION_PER_USD = 1e-6  # the plan command's default


def format_basket(plan) -> str:
    """Plain-text tables: the strategies, then the orders under joint_ac, then what was assumed."""
    lines = [
        (
            f"{len(plan.orders)} orders, gross ${plan.gross_notional_usd:,.0f}, net ${plan.net_notional_usd:,.0f}; "
            f"{plan.grid.slices} slices over {plan.grid.horizon_days:g} days; "
            f"risk aversion {plan.risk_aversion_per_usd:g} /$; participation limit {plan.max_participation:.0%}"
        ),
        plan.correlation.source,
        "costs: each order under its symbol's own market model; joint_ac optimises the linear model (spread, η, γ)",
        "",
        f"{'strategy':<48}{'E ($)':>14}{'E (bps)':>9}{'std ($)':>14}{'std uncorr ($)':>16}{'VaR95 ($)':>14}",
    ]
    for r in plan.strategies:
        if r.error:
            lines.append(f"{r.label:<48}not planned: {r.error}")
            continue
        lines.append(
            f"{r.label[:47]:<48}{r.expected_usd:>14,.0f}{plan.bps(r.expected_usd):>9.1f}{r.risk.std_usd:>14,.0f}"
            f"{r.risk.std_uncorrelated_usd:>16,.0f}{r.var95_usd:>14,.0f}"
        )
    joint = next((r for r in plan.strategies if r.name == "joint_ac" and not r.error), None)
    if joint is not None:
        table = plan.order_table("joint_ac")
        lines += [
            "",
            "orders under joint_ac",
            (
                f"{'symbol':<14}{'side':<6}{'shares':>14}{'E ($)':>12}{'E (bps)':>9}{'std ($)':>12}{'% ADV':>8}"
                f"{'max part.':>11}{'risk contr. ($)':>17}"
            ),
        ]
        for row in table.to_dict("records"):
            lines.append(
                f"{row['symbol'][:13]:<14}{row['side']:<6}{row['shares']:>14,.0f}{row['expected_cost_usd']:>12,.0f}"
                f"{row['expected_cost_bps']:>9.1f}{row['std_cost_usd']:>12,.0f}{row['pct_adv']:>8.2f}"
                f"{row['max_participation']:>10.1%}{' ' if row['within_participation_limit'] else '!'}"
                f"{row['risk_contribution_usd']:>17,.0f}"
            )
        if not table["within_participation_limit"].all():
            lines.append(f"! above the {plan.max_participation:.0%} participation limit (not capped: see the warnings)")
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def cmd_basket(args: argparse.Namespace) -> int:
    """Read the basket, price it against the store, print the tables or the JSON."""
    from optexec.baskets import correlation as correlations
    from optexec.baskets.input import parse_basket
    from optexec.baskets.plan import DEFAULT_STRATEGIES, plan_basket
    from optexec.cli.common import UserError, dump_json, read_store
    from optexec.models import check_range

    try:
        check_range("the participation limit", args.max_participation, 0.0, 1.0, low_open=True)
    except ValueError as error:
        raise UserError(f"--max-participation: {error}") from None
    basket = parse_basket(args.file, group_column=args.group, drop_bad_rows=args.drop_bad_rows)
    for warning in basket.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    given = None
    if args.correlation:
        given = correlations.from_file(
            args.correlation, basket.symbols, name=f"the correlation file {args.correlation}"
        )
    from optexec.strategies import registry

    strategies = [*DEFAULT_STRATEGIES, *(registry.get(name).name for name in args.strategy or [])]
    with read_store(args) as con:
        plan = plan_basket(basket, con, args.horizon_days, args.slices, args.risk_aversion, given, strategies,
                           args.max_participation)  # fmt: skip
    if all(r.error for r in plan.strategies):
        raise UserError("no strategy could plan this basket: " + "; ".join(f"{r.name}: {r.error}"
                                                                          for r in plan.strategies))  # fmt: skip
    from optexec.baskets import simulate as basket_mc  # the Monte Carlo (--paths), issue 18

    mc = basket_mc.from_args(plan, args) if args.paths else None
    if args.json:
        out = plan.to_json()
        out["basket"]["dropped"] = [p.to_json() for p in basket.dropped]
        out["monte_carlo"] = mc.to_json() if mc else None
        print(dump_json("basket", out, indent=1 if plan.grid.slices * len(plan.orders) <= 20_000 else None))
    else:
        print(format_basket(plan) + (basket_mc.format_simulation(mc) if mc else ""))
    return 0


def configure(parser: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``basket`` sub-command's options (optexec.cli.COMMANDS)."""
    parser.add_argument("file", help="basket CSV or Parquet: symbol, side, shares | notional_usd | pct_adv, ...")
    parser.add_argument("--horizon-days", type=float, default=1.0, help="the basket's horizon, trading days")
    parser.add_argument("--slices", type=int, default=DEFAULT_SLICES, help="slices of the common grid")
    parser.add_argument("--risk-aversion", type=float, default=DEFAULT_RISK_AVERSION_PER_USD, help="lambda, 1/$")
    parser.add_argument("--correlation", help="CSV correlation matrix, the symbols as header and first column")
    parser.add_argument(
        "--max-participation",
        type=float,
        default=DEFAULT_MAX_PARTICIPATION,
        metavar="F",
        help=f"participation limit, a fraction of a slice's expected volume in (0, 1]: orders above it are flagged, "
        f"not capped (default {DEFAULT_MAX_PARTICIPATION:g})",
    )
    parser.add_argument("--strategy", action="append", help="also price every order with this registry strategy")
    parser.add_argument("--group", help="the grouping column (default: group, sector or account when present)")
    parser.add_argument("--drop-bad-rows", action="store_true", help="price the good rows, list the bad ones")
    parser.add_argument("--paths", type=int, help="also simulate every strategy on N correlated price paths")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation (default 0)")
    add_engine_options(parser, "the chunks of paths")  # optexec.engines: --engine, --workers, --scheduler
    parser.set_defaults(func=cmd_basket)
