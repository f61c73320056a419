"""One plan: every registered strategy's schedule and closed-form cost for an order.

The command line and every page call ``make_plan``; the rows come out in registry order.

Domain warnings (issue 14). The model is calibrated on orders that are a modest part of the market; outside that it
still computes numbers, so the plan says where they stop meaning much:

* on the order (``Plan.warnings``): an order above ``MAX_ORDER_ADV_SHARE`` (30%) of one day's average volume, a
  horizon shorter than one bar of the market data (``MIN_HORIZON_MINUTES``, a minute);
* on each schedule (``Schedule.warnings``, after the strategy's own): a child order above
  ``MAX_SLICE_PARTICIPATION`` (100%) of the slice's expected market volume, an expected cost above
  ``MAX_EXPECTED_COST_BPS`` (2,000 bps) of the arrival notional.

A schedule with a participation or cost warning is one the model calls absurd (``PlanRow.outside_model``); the
recommendation names it when it goes to one.

One cost model (``market.cost_model``, chosen by the caller: optexec.model_card) prices and ranks every strategy;
``Plan.model_reason`` says why it is that one. The settings carry ``max_participation``, the limit on a child
order's share of its slice's expected volume; a row above it says so (``participation_note``).
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optexec import constants, json_output
from optexec.clock import OrderClock, whole_lots
from optexec.costs import CostEstimate, estimate
from optexec.model_card import model_json, priced_under
from optexec.models import MarketParams, Order, Schedule, check_range, check_risk_aversion
from optexec.strategies import registry
from optexec.strategies.almgren_chriss import ACParams, Frontier, ac_discrete, default_frontier_risk_aversions
from optexec.strategies.base import Strategy

DEFAULT_RISK_AVERSION_PER_USD = registry.shared_defaults()["risk_aversion_per_usd"]  # base.SHARED_SETTINGS
DEFAULT_MAX_PARTICIPATION = constants.DEFAULT_MAX_PARTICIPATION
#: what the table says of a strategy that does not state the model it optimises
NOT_STATED = "not stated"
#: an order above this share of one day's average volume is outside the impact model's calibrated range
MAX_ORDER_ADV_SHARE = 0.30
#: a horizon shorter than this many minutes is below the resolution of the market data (one-minute bars)
MIN_HORIZON_MINUTES = 1.0
#: a child order above this share of its slice's expected market volume is more than the market trades
MAX_SLICE_PARTICIPATION = 1.0
#: an expected cost above this many bps of the arrival notional is beyond what the model prices
MAX_EXPECTED_COST_BPS = 2_000.0


@dataclass(frozen=True)
class PlanRow:
    """One strategy in a plan: its schedule and cost, or why it could not plan."""

    strategy: Strategy
    schedule: Schedule | None
    cost: CostEstimate | None
    error: str | None = None
    domain_warnings: tuple[str, ...] = ()  # the planner's (module docstring), also the last of ``warnings``

    @property
    def outside_model(self) -> bool:
        """True for a schedule the model calls absurd (a participation or cost domain warning)."""
        return bool(self.domain_warnings)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The schedule's warnings (the strategy's own, then the planner's domain warnings); () without one."""
        return self.schedule.warnings if self.schedule is not None else ()


@dataclass(frozen=True)
class PlannedRow(PlanRow):
    """A strategy that planned: its schedule and cost are there (``Plan.planned``)."""

    schedule: Schedule
    cost: CostEstimate


@dataclass(frozen=True)
class Plan:
    """Every strategy's schedule and cost for one order and market (``make_plan``, ``optexec.plan``).

    Attributes
    ----------
    order : the parent order.
    market : the market it is priced in, under ``market.cost_model`` for every strategy.
    settings : the strategy settings used (the shared ones with their defaults filled in).
    rows : one ``PlanRow`` per strategy: its schedule and ``CostEstimate``, or why it could not plan.
    warnings : the order's own warnings (outside the model's range).
    model_reason : why that cost model.
    parameter_source : where the market's values come from, in words.
    clock : the order's trading days and local opens (None: times only in trading days).

    ``summary()`` is the cost table, ``to_frame()`` the schedules, ``to_json()`` the ``plan --json`` document.
    """

    order: Order
    market: MarketParams
    settings: dict[str, Any]
    rows: tuple[PlanRow, ...]
    warnings: tuple[str, ...] = ()
    model_reason: str = ""  # why the plan is priced under market.cost_model (optexec.model_card.choose_cost_model)
    parameter_source: str = ""  # where the market's parameters come from, in words (optexec.market_source)
    clock: OrderClock | None = None  # the order's trading days and local opens, for timestamps (optexec.clock)

    @property
    def planned(self) -> list[PlannedRow]:
        """The rows that produced a schedule (and its cost)."""
        return [row for row in self.rows if isinstance(row, PlannedRow)]

    @property
    def risk_aversion_per_usd(self) -> float:
        """The plan's risk aversion lambda (1/$), used to rank strategies by E + lambda V."""
        return float(self.settings.get("risk_aversion_per_usd", DEFAULT_RISK_AVERSION_PER_USD))

    @property
    def max_participation(self) -> float:
        """The plan's limit on a child order's share of its slice's expected market volume."""
        return float(self.settings.get("max_participation", DEFAULT_MAX_PARTICIPATION))

    def shared_used(self, row: PlanRow) -> dict[str, Any]:
        """The shared settings (base.SHARED_SETTINGS) the row's strategy used, with the plan's values."""
        defaults = registry.shared_defaults()
        return {name: self.settings.get(name, defaults[name]) for name in row.strategy.shared_settings}

    def summary(self) -> pd.DataFrame:
        """The cost table (``cost_table``): one row per planned strategy, $ and bps, split by component."""
        return cost_table(self)

    def to_frame(self) -> pd.DataFrame:
        """Every planned strategy's schedule as a tidy frame (``schedule_table``): one row per strategy and slice,
        exchange-local times when the plan has a clock, child orders in whole lots."""
        return schedule_table(self)

    def to_json(self) -> dict[str, Any]:
        """The plan as the command line's ``plan --json`` prints it (``plan_to_json``, with its schema field)."""
        out = plan_to_json(self)
        body = {k: v for k, v in out.items() if k != "strategies"}
        return json_output.stamped(
            "plan", {**body, "parameter_source": self.parameter_source, "strategies": out["strategies"]}
        )

    def _repr_html_(self) -> str:  # a notebook shows the plan as its cost table and recommendation
        said = recommendation(self) or "No strategy could plan this order."
        table = self.summary()[["strategy", "expected_cost_bps", "std_cost_bps", "var95_bps", "expected_cost_usd"]]
        return f"<p>{html.escape(said)}</p>" + table.to_html(index=False, float_format=lambda x: f"{x:,.2f}")


def make_plan(
    order: Order,
    market: MarketParams,
    settings: Mapping[str, Any] | None = None,
    names: Iterable[str] | None = None,
    model_reason: str = "",
    parameter_source: str = "",
    clock: OrderClock | None = None,
) -> Plan:
    """Schedules and costs of every (or the named) registered strategy, all priced under ``market.cost_model``
    (docs/MATH.md sections 2, 8 and 11); ``model_reason`` says why that model, ``parameter_source`` where the
    market's values come from, ``clock`` the order's calendar (``Plan.to_frame``'s timestamps).

    The shared settings (base.SHARED_SETTINGS) not given take their one default and reach only the strategies
    that declare they use them (``Plan.shared_used``); the participation limit ``max_participation`` defaults to
    DEFAULT_MAX_PARTICIPATION; what a strategy needs resolved (a trained RL agent, the market model it computes
    under) is resolved here (``resolve_inputs``), never inside a strategy.
    """
    settings = {**registry.shared_defaults(), **(settings or {})}
    settings.setdefault("max_participation", DEFAULT_MAX_PARTICIPATION)
    unknown = set(settings) - registry.setting_names()
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    check_risk_aversion(settings["risk_aversion_per_usd"])
    check_max_participation(settings["max_participation"])
    chosen = [registry.get(n) for n in names] if names else list(registry.STRATEGIES.values())
    resolved = resolve_inputs(order, market, settings, chosen)
    rows = []
    for result in registry.plan(order, market, {**settings, **resolved}, [s.name for s in chosen]):
        rows.append(_priced_row(result.strategy, result.schedule, market, result.error))
    warnings = order_warnings(order, market)
    return Plan(order, market, dict(settings), tuple(rows), warnings, model_reason, parameter_source, clock)


def check_max_participation(value: float) -> float:
    """The participation limit (a fraction of the slice's expected volume), checked against (0, 1]."""
    return check_range("max participation (fraction of expected volume)", value, 0.0, 1.0, low_open=True)


def optimises_under(strategy: Strategy, market: MarketParams) -> str:
    """The model a strategy optimises, in its own words (``Strategy.optimises``: a text or a function of the market),
    or "not stated"."""
    optimises = getattr(strategy, "optimises", None)
    if callable(optimises):
        optimises = optimises(market)
    return str(optimises) if optimises else NOT_STATED


def participation_note(row: PlannedRow, limit: float) -> str:
    """What a planned row says about participation: its strategy's and the planner's participation warnings, and
    its peak against the plan's limit; "" when it keeps within it and says nothing."""
    said = [w for w in row.warnings if "particip" in w.lower() or "market volume" in w.lower()]
    peak = float(np.max(row.schedule.participation))
    if peak > limit * (1 + 1e-9) and not said:
        peak_text = "slices with no expected volume" if math.isinf(peak) else f"{peak:.0%}"
        said.append(f"reaches {peak_text} of the expected volume, above the {limit:.0%} limit")
    return "; ".join(said)


def resolve_inputs(
    order: Order, market: MarketParams, settings: Mapping[str, Any], strategies: Iterable[Strategy]
) -> dict[str, Any]:
    """What the strategies need resolved by their caller, as settings entries (base.RESOLVED_PREFIX + kind):
    "rl_agent" (optexec.rl.resolve: a stored policy, else the default agent trained once in the background) and
    "market_model" (the simulator's default market model)."""
    from optexec.rl import resolve

    return resolve.resolve_inputs(order, market, settings, strategies)


def _priced_row(strategy: Strategy, schedule: Schedule | None, market: MarketParams, error: str | None) -> PlanRow:
    """A plan row: the schedule priced, with the planner's domain warnings added to its own; a cost that is not a
    finite number makes the row an error (never a NaN or an infinity in a table)."""
    if schedule is None:
        return PlanRow(strategy, None, None, error)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow shows as a non-finite cost, refused below
        cost = estimate(schedule, market)
    numbers = (
        cost.expected_usd,
        cost.variance_usd2,
        cost.spread_usd,
        cost.temporary_usd,
        cost.permanent_usd,
        cost.transient_usd,
    )
    if not all(math.isfinite(x) for x in numbers):
        return PlanRow(strategy, None, None, "its cost is not a finite number: the order is outside the model's range")
    extra = schedule_warnings(schedule, cost)
    if extra:
        schedule = dataclasses.replace(schedule, warnings=(*schedule.warnings, *extra))
    return PlannedRow(strategy, schedule, cost, None, domain_warnings=extra)


def order_warnings(order: Order, market: MarketParams) -> tuple[str, ...]:
    """The order's domain warnings (module docstring): its size against ADV, its horizon against a bar."""
    warnings = []
    adv_share = order.shares / market.adv_shares
    if adv_share > MAX_ORDER_ADV_SHARE:
        warnings.append(
            f"the order is {adv_share:.0%} of the average daily volume ({market.adv_shares:,.0f} shares), above "
            f"the {MAX_ORDER_ADV_SHARE:.0%} the impact model is calibrated for: its costs are extrapolated, "
            "treat them as rough"
        )
    horizon_minutes = order.horizon_days * market.session_minutes
    if horizon_minutes < MIN_HORIZON_MINUTES:
        warnings.append(
            f"the horizon is {horizon_minutes * 60:.3g} seconds, shorter than one bar ({MIN_HORIZON_MINUTES:g} "
            "minute) of the market data: volume and volatility are not known at this scale"
        )
    return tuple(warnings)


def schedule_warnings(schedule: Schedule, cost: CostEstimate) -> tuple[str, ...]:
    """A priced schedule's domain warnings (module docstring): participation above 100%, a cost beyond the model."""
    warnings = []
    participation = schedule.participation
    over = participation > MAX_SLICE_PARTICIPATION
    if np.any(over):
        peak = float(np.max(participation))
        where = f"{int(over.sum()):,} of {over.size:,} slices above {MAX_SLICE_PARTICIPATION:.0%}"
        if math.isinf(peak):
            text = f"its child orders trade in slices where no market volume is expected ({where})"
        else:
            text = f"its child orders reach {peak:.0%} of the expected market volume ({where})"
        warnings.append(f"{text}: it would be more than the whole market")
    cost_bps = cost.to_bps(cost.expected_usd)
    if cost_bps > MAX_EXPECTED_COST_BPS:
        warnings.append(
            f"its expected cost, {cost_bps:,.0f} bps of the notional, is above {MAX_EXPECTED_COST_BPS:,.0f} bps: "
            "beyond the range the model prices"
        )
    return tuple(warnings)


def cost_table(plan: Plan, confidence: float = 0.95) -> pd.DataFrame:
    """The plan's cost table: one row per planned strategy, $ and bps, split by component, all under the plan's
    one cost model ("priced_under"), with the model each strategy optimises and its participation against the
    plan's limit."""
    lam, priced, limit = plan.risk_aversion_per_usd, priced_under(plan.market), plan.max_participation
    records = []
    for row in plan.planned:
        cost = row.cost
        records.append(
            {
                "strategy": row.strategy.label,
                "expected_cost_usd": cost.expected_usd,
                "expected_cost_bps": cost.to_bps(cost.expected_usd),
                "std_cost_usd": cost.std_usd,
                "std_cost_bps": cost.to_bps(cost.std_usd),
                "var95_usd": cost.var_usd(confidence),
                "var95_bps": cost.to_bps(cost.var_usd(confidence)),
                "objective_usd": cost.objective_usd(lam),
                "spread_usd": cost.spread_usd,
                "temporary_usd": cost.temporary_usd,
                "permanent_usd": cost.permanent_usd,
                "transient_usd": cost.transient_usd,
                "drift_usd": cost.drift_usd,
                "max_participation": float(np.max(row.schedule.participation)),
                "participation_note": participation_note(row, limit),
                "optimises_under": optimises_under(row.strategy, plan.market),
                "priced_under": priced,
                "shared_settings": shared_text(plan.shared_used(row)),
            }
        )
    return pd.DataFrame.from_records(records)


def schedule_table(plan: Plan) -> pd.DataFrame:
    """Every planned strategy's schedule in long form: one row per strategy and slice, units in the names.

    Child orders in whole lots of the plan's clock (1 share without one), the last slice taking the remainder
    (optexec.clock.whole_lots); with a clock, each slice's start and end as exchange-local timestamps, else in
    trading days from the start. Participation is the child order's share of the slice's expected market volume,
    in percent.
    """
    order, clock = plan.order, plan.clock
    lot = clock.lot_shares if clock is not None else 1
    frames = []
    for row in plan.planned:
        schedule = row.schedule
        trades = whole_lots(schedule.trades_shares, lot)
        volume = schedule.market_volume_shares
        frame = pd.DataFrame(
            {
                "strategy": row.strategy.name,
                "strategy_label": row.strategy.label,
                "slice": np.arange(1, order.slices + 1),
            }
        )
        if clock is not None:
            frame["start_time"], frame["end_time"] = clock.slice_times(
                schedule.times_days, order.start_minutes_after_open, plan.market.session_minutes
            )
        frame["start_days"], frame["end_days"] = schedule.times_days[:-1], schedule.times_days[1:]
        frame["child_order_shares"] = trades.astype(np.int64)
        frame["shares_left_after"] = (order.shares - np.cumsum(trades)).round().astype(np.int64)
        frame["expected_market_volume_shares"] = volume
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["participation_pct"] = np.where(volume > 0, 100.0 * trades / volume, np.nan)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def whole_lot_plan(plan: Plan) -> Plan:
    """The plan with every schedule in whole lots of its clock (1 share without one), for drawing: the child
    orders of ``schedule_table`` (optexec.clock.whole_lots, the last slice taking the remainder), so that a chart
    shows the numbers of the table and the CSV. The costs stay the model's (they are of the schedules as planned).
    """
    lot = plan.clock.lot_shares if plan.clock is not None else 1
    rows = []
    for row in plan.rows:
        if not isinstance(row, PlannedRow):
            rows.append(row)
            continue
        schedule = row.schedule
        trades = whole_lots(schedule.trades_shares, lot)
        shares = plan.order.shares
        holdings = np.concatenate([[shares], shares - np.cumsum(trades)[:-1], [0.0]])
        blocks = schedule.blocks_shares
        if blocks is not None:  # a block is part of its child order: no larger than the rounded one
            done = holdings[:-1] - holdings[1:]
            blocks = np.sign(done) * np.minimum(np.abs(blocks), np.abs(done))
        whole = dataclasses.replace(schedule, holdings_shares=holdings, blocks_shares=blocks)
        rows.append(dataclasses.replace(row, schedule=whole))
    return dataclasses.replace(plan, rows=tuple(rows))


def shared_text(used: Mapping[str, Any]) -> str:
    """The shared settings a strategy used, for a table cell: "λ = 1e-06 /$", or "none"."""
    if not used:
        return "none"
    specs = registry.shared_settings()
    parts = []
    for name, value in used.items():
        spec = specs[name].spec
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and spec.percent:
            parts.append(
                f"{spec.label} = {value:.0%}" + (f" of {spec.unit.removeprefix('share of ')}" if spec.unit else "")
            )
            continue
        shown = f"{value:g}" if number else str(value)
        parts.append(f"{spec.label} = {shown}" + (f" ({spec.unit})" if spec.unit else ""))
    return ", ".join(parts)


def holdings_snapshot(plan: Plan, max_rows: int = 11) -> pd.DataFrame:
    """Shares left to trade per strategy at up to ``max_rows`` evenly spaced slice boundaries."""
    index = np.unique(np.linspace(0, plan.order.slices, min(max_rows, plan.order.slices + 1)).round().astype(int))
    columns = {"t (days)": plan.order.times_days[index]}
    columns.update({row.strategy.name: row.schedule.holdings_shares[index] for row in plan.planned})
    return pd.DataFrame(columns)


def within_limit(row: PlannedRow, limit: float) -> bool:
    """True when no child order of the row's schedule goes above ``limit`` x its slice's expected volume and it has
    no block (a trade done at once is above any limit, whatever its slice's volume: docs/MATH.md section 11)."""
    return not row.schedule.has_blocks and _peak(row) <= limit * (1 + 1e-9)


def _breaks_by(row: PlannedRow) -> str:
    """How a row breaks the participation limit, in a few words: its blocks, or its peak participation."""
    peak = f"{_peak(row):.0%} of a slice's expected volume at its peak"
    if row.schedule.has_blocks:
        return f"blocks done at once; {peak}"
    return peak


def ranked_rows(plan: Plan) -> list[PlannedRow]:
    """The planned rows by E + lambda V, those within the ticket's participation limit first (the limit is a
    constraint of the order: a row that breaks it is ranked after every row that keeps it, and the recommendation
    says so). When no row keeps it, the rows closest to it come first: without blocks and at the lowest peak
    participation (within 1%)."""
    lam, limit = plan.risk_aversion_per_usd, plan.max_participation
    rows = plan.planned
    if any(within_limit(row, limit) for row in rows):
        return sorted(rows, key=lambda row: (not within_limit(row, limit), row.cost.objective_usd(lam)))
    # no row keeps the limit: the rows closest to it first (no block, the lowest peak participation, i.e. capped at
    # the lowest participation that finishes), so an instant sweep of an order the market cannot hold is never first
    closest = min((_peak(row) for row in rows if not row.schedule.has_blocks), default=math.inf)
    return sorted(
        rows,
        key=lambda row: (
            row.schedule.has_blocks,
            _peak(row) > closest * (1 + PEAK_TOLERANCE),
            row.cost.objective_usd(lam),
        ),
    )


#: rows whose peak participation is within this fraction of the lowest peak count as equally close to the limit
PEAK_TOLERANCE = 0.01


def _peak(row: PlannedRow) -> float:
    return float(np.max(row.schedule.participation))


#: two schedules differ materially when their holdings (or blocks) differ by more than this share of the order
#: somewhere; closer, they are one plan under two names (e.g. a continuous-time optimum and its discrete twin)
MATERIAL_DIFFERENCE = 0.01


def materially_different(first: Schedule, second: Schedule, tolerance: float = MATERIAL_DIFFERENCE) -> bool:
    """True when the two schedules of one order differ by more than ``tolerance`` x the order's shares in the
    holdings after some child order, or in the part of some child order done as a block."""
    size = tolerance * first.order.shares
    if first.holdings_shares.shape != second.holdings_shares.shape:
        return True
    if float(np.max(np.abs(first.holdings_shares - second.holdings_shares))) > size:
        return True
    if first.blocks_shares is None and second.blocks_shares is None:
        return False
    zeros = np.zeros(first.order.slices)
    blocks = [zeros if s.blocks_shares is None else np.asarray(s.blocks_shares) for s in (first, second)]
    return blocks[0].shape != blocks[1].shape or float(np.max(np.abs(blocks[0] - blocks[1]))) > size


def best_row(plan: Plan) -> PlannedRow | None:
    """The recommended row: the lowest E + lambda V among the rows within the participation limit (among all
    rows when none keeps it)."""
    ranked = ranked_rows(plan)
    return ranked[0] if ranked else None


def twin_rows(plan: Plan) -> list[PlannedRow]:
    """The rows after the recommended one whose schedule is the recommended schedule to within
    MATERIAL_DIFFERENCE of the order (one plan under another name), in rank order."""
    ranked = ranked_rows(plan)
    return [row for row in ranked[1:] if not materially_different(row.schedule, ranked[0].schedule)]


def next_best_row(plan: Plan) -> PlannedRow | None:
    """The best row with a materially different schedule from the recommended one, among those within the
    participation limit (the "next best" of the recommendation and the Compare page's default B)."""
    ranked, limit = ranked_rows(plan), plan.max_participation
    twins = twin_rows(plan)
    return next((row for row in ranked[1:] if within_limit(row, limit) and row not in twins), None)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan in the DESIGN.md section 7 JSON layout (times in days, holdings[0] = shares, holdings[-1] = 0)."""
    order, market = plan.order, plan.market
    strategies, errors = [], []
    for row in plan.rows:
        if not isinstance(row, PlannedRow):
            errors.append({"name": row.strategy.name, "error": row.error})
            continue
        cost, schedule = row.cost, row.schedule
        strategies.append(
            {
                "name": row.strategy.name,
                "label": row.strategy.label,
                "times": schedule.times_days.tolist(),
                "holdings": schedule.holdings_shares.tolist(),
                "trades": schedule.trades_shares.tolist(),
                "participation": _finite_or_none(schedule.participation),
                "expected_cost_usd": cost.expected_usd,
                "expected_cost_bps": cost.to_bps(cost.expected_usd),
                "std_cost_usd": cost.std_usd,
                "std_cost_bps": cost.to_bps(cost.std_usd),
                "var95_usd": cost.var_usd(0.95),
                "objective_usd": cost.objective_usd(plan.risk_aversion_per_usd),
                "components_usd": {
                    "spread": cost.spread_usd,
                    "temporary": cost.temporary_usd,
                    "permanent": cost.permanent_usd,
                    "transient": cost.transient_usd,
                    "drift": cost.drift_usd,
                },
                "max_participation": _finite_or_none(np.max(schedule.participation, keepdims=True))[0],
                "participation_note": participation_note(row, plan.max_participation),
                "optimises_under": optimises_under(row.strategy, market),
                "priced_under": priced_under(market),
                "params": schedule.params,
                "shared_settings": plan.shared_used(row),
                "warnings": list(schedule.warnings),
                "outside_model": row.outside_model,
            }
        )
        if not np.all(np.isfinite(schedule.participation)):
            strategies[-1]["participation_null"] = "null in slices where no market volume is expected"
    best = best_row(plan)
    return {
        "order": {
            "symbol": order.symbol,
            "side": order.side,
            "shares": order.shares,
            "horizon_days": order.horizon_days,
            "slices": order.slices,
            "start_minutes_after_open": order.start_minutes_after_open,
            "arrival_notional_usd": order.shares * market.price_usd,
        },
        "market": {
            "price_usd": market.price_usd,
            "sigma_usd_per_sqrt_day": market.sigma_usd_per_sqrt_day,
            "spread_usd": market.spread_usd,
            "adv_shares": market.adv_shares,
            "eta_usd_day_per_share2": market.eta_usd_day_per_share2,
            "gamma_usd_per_share2": market.gamma_usd_per_share2,
            "drift_usd_per_day": market.drift_usd_per_day,
            "cost_model": market.cost_model,
        },
        "model": model_json(market, plan.model_reason),
        "settings": plan.settings,
        "warnings": list(plan.warnings),
        "best_strategy": best.strategy.name if best else None,
        "recommendation": {
            "strategy": best.strategy.name if best else None,
            "text": recommendation(plan),
            "outside_model": bool(best and (best.outside_model or plan.warnings)),
            "warnings": [*plan.warnings, *(best.warnings if best else ())],
        },
        "strategies": strategies,
        "errors": errors,
    }


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    """A list for JSON with None where a value is not a finite number (JSON has no NaN or Infinity)."""
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]


def priced_frontier(plan: Plan, risk_aversions_per_usd: Iterable[float] | None = None) -> Frontier:
    """The Almgren–Chriss schedules over risk aversion, each priced like the plan's rows: under the plan's market
    (its cost model, drift included) and with the plan's participation limit (docs/MATH.md sections 2 and 11).

    Under the linear model without drift and with a limit that does not bind this is the closed-form efficient
    frontier (``almgren_chriss.efficient_frontier``); under any other model it is the curve of the schedules AC
    would choose, and other schedules can cost less at the same risk (AC optimises the linear model).
    The default grid spans TWAP-like to near-immediate schedules (``default_frontier_risk_aversions``).
    """
    order, market = plan.order, plan.market
    if risk_aversions_per_usd is None:
        risk_aversions_per_usd = default_frontier_risk_aversions(order, market)
    lambdas = np.asarray(list(risk_aversions_per_usd), dtype=float)
    costs = [
        estimate(ac_discrete(order, market, ACParams(float(lam), plan.max_participation)), market) for lam in lambdas
    ]
    return Frontier(
        lambdas, np.array([c.expected_usd for c in costs]), np.array([c.std_usd for c in costs], dtype=float)
    )


def recommendation(plan: Plan) -> str | None:
    """Why the lowest E + lambda V strategy is recommended, against the runner-up and TWAP, in plain words.

    When the order or the recommended schedule is outside the model's range (module docstring) the text starts
    with "Caution:" and says why, so a recommendation never goes to a plan the model calls absurd in silence.
    """
    ranked = ranked_rows(plan)
    if not ranked:
        return None
    best, lam, limit = ranked[0], plan.risk_aversion_per_usd, plan.max_participation
    cost = best.cost
    breaking = [row for row in ranked if not within_limit(row, limit)]
    cheaper_breaking = [row for row in breaking if row.cost.objective_usd(lam) < cost.objective_usd(lam)]

    def bps(usd: float) -> float:
        return cost.to_bps(usd)

    where = "closest to" if best in breaking else "within"
    text = ""
    if best.outside_model or plan.warnings:
        reasons = [*plan.warnings, *best.domain_warnings]
        sane = [row.strategy.label for row in ranked if not row.outside_model]
        text = f"Caution: this plan is outside the model's range ({'; '.join(reasons)}). "
        if best.outside_model:
            text += (
                f"Other strategies within the model's range: {', '.join(sane)}. "
                if sane
                else "No strategy plans this order within the model's range: resize the order or lengthen the horizon. "
            )
    text += (
        f"{best.strategy.label} has the lowest expected cost + λ·variance"
        + (f" of the strategies {where} the {limit:.0%} participation limit" if cheaper_breaking else "")
        + f" at λ = {lam:g} per $ under the {plan.market.cost_model} cost model: "
        f"{bps(cost.expected_usd):.1f} bps expected with a standard deviation of {bps(cost.std_usd):.1f} bps."
    )
    if best in breaking:
        text += (
            f" No strategy keeps within the {limit:.0%} participation limit: this one is among those closest to it, "
            f"at {_peak(best):.0%} of a slice's expected volume at its peak"
            + (" (the lowest of any strategy without blocks)." if not best.schedule.has_blocks else ".")
        )
        if cheaper_breaking:
            names = ", ".join(f"{row.strategy.label} ({_breaks_by(row)})" for row in cheaper_breaking)
            text += f" Lower in E + λ·Var but further above the limit, so not recommended: {names}."
    elif cheaper_breaking:
        names = ", ".join(f"{row.strategy.label} ({_breaks_by(row)})" for row in cheaper_breaking)
        text += f" Lower in E + λ·Var but above the {limit:.0%} participation limit, so not recommended: {names}."
    twins = twin_rows(plan)
    if twins:
        names = ", ".join(row.strategy.label for row in twins)
        text += (
            f" {names} {'plans' if len(twins) == 1 else 'plan'} the same schedule to within "
            f"{MATERIAL_DIFFERENCE:.0%} of the order."
        )
    runner_up = next_best_row(plan)
    if runner_up is not None:
        gap = runner_up.cost.objective_usd(lam) - cost.objective_usd(lam)
        text += (
            f" The next best with a different schedule, {runner_up.strategy.label}, costs {bps(gap):.2f} bps "
            f"(${gap:,.0f}) more in E + λ·Var."
        )
    twap = next((row for row in plan.planned if row.strategy.name == "twap" and row is not best), None)
    if twap is not None:
        d_mean = bps(twap.cost.expected_usd - cost.expected_usd)
        d_std = bps(twap.cost.std_usd - cost.std_usd)
        if max(abs(d_mean), abs(d_std)) < 0.05:
            text += " It is TWAP's schedule to within 0.05 bps of cost and risk."
        else:
            text += (
                f" Against TWAP it {'saves' if d_mean >= 0 else 'adds'} {abs(d_mean):.1f} bps of expected cost and "
                f"{'cuts' if d_std >= 0 else 'adds'} {abs(d_std):.1f} bps of risk."
            )
    if lam == 0:
        text += " With λ = 0 only the expected cost counts; raise λ to pay for less risk."
    return text
