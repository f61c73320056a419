"""What the pre-trade report says, as tables and sentences shared by its HTML page and its workbook (issue 17).

A PM sends the report as it is: the order, the recommendation and why, the urgency in words and numbers, the
expected cost, its standard deviation and VaR95 in bps and $ and its split by component first; then only the
settings the shown strategies use (each with its label and unit from the registry), the market parameters with
where each comes from (a calibration run and its date, or "not calibrated"), and the schedule in whole shares at
exchange-local clock times (``planning.schedule_table``; in trading days when the order has no exchange clock).
Nothing here refers to a page of the app: the report is read without it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optexec.model_card import MODEL_WORDS, model_parameters, priced_under
from optexec.planning import Plan, PlannedRow, best_row, recommendation, schedule_table
from optexec.strategies.base import ParamSpec, param_spec, setting_name, user_fields

#: the cost split, component by component: CostEstimate attribute -> words
COMPONENTS = {
    "spread_usd": "Half the bid–ask spread",
    "temporary_usd": "Temporary impact",
    "permanent_usd": "Permanent impact",
    "transient_usd": "Transient (decaying) impact",
    "drift_usd": "Expected price drift",
}
#: the urgency in words, by the share of the horizon after which half the order is done (at most this share)
URGENCY_WORDS = ((0.2, "very urgent: most of the order early"), (0.4, "urgent: front-loaded"),
                 (0.47, "moderate: somewhat front-loaded"), (math.inf, "patient: close to an even pace"))  # fmt: skip
#: how many clock times the report's schedule table shows (the workbook and the CSV hold every slice)
SCHEDULE_POINTS = 9


def usd_text(value: float) -> str:
    """$1,234,567 (whole dollars), −$1,234 for a gain; "not a finite amount" for inf or NaN."""
    if not math.isfinite(value):
        return "not a finite amount"
    return f"${value:,.0f}" if value >= 0 else f"−${-value:,.0f}"


def bps_text(value: float) -> str:
    """12.3 bps; "not a finite cost" for inf or NaN."""
    return f"{value:,.1f} bps".replace("-", "−") if math.isfinite(value) else "not a finite cost"


def setting_text(value: Any, spec: ParamSpec) -> str:
    """A setting's value as a trader reads it, with its unit: "25% of the slice's expected volume", "yes",
    "no limit" (a setting left unset), "1e-06 1/$"."""
    if value is None:
        return "no limit (not set)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if spec.percent:
            unit = spec.unit.removeprefix("share of ")
            return f"{100 * value:.4g}%" + (f" of {unit}" if unit else "")
        return f"{value:,.6g}" + (f" {spec.unit}" if spec.unit else "")
    return str(value).replace("_", " ")


@dataclass(frozen=True)
class ReportContent:
    """The report's content (module docstring): every table has its unit in its column names."""

    title: str
    order_line: str
    recommended: str | None  # the ★ strategy's label
    recommendation: str
    urgency: str
    summary: pd.DataFrame  # measure, bps, $ of the ★ strategy
    split: pd.DataFrame  # component, $, bps, share of E of the ★ strategy
    costs: pd.DataFrame  # every shown strategy
    settings: pd.DataFrame  # setting, value, used by
    market_status: str
    market: pd.DataFrame  # parameter, value, unit, std error, source
    model_lines: tuple[str, ...]
    schedule: pd.DataFrame  # every slice of every strategy (schedule_table, labelled)
    schedule_points: pd.DataFrame  # shares left per strategy at a few clock times
    time_note: str
    notes: tuple[str, ...]
    order_warnings: tuple[str, ...]  # the order outside the model's range (also among the notes)
    generated: str
    link: str | None


def _half_done(plan: Plan, row: PlannedRow) -> float:
    """The share of the horizon after which half of the order is done under ``row``'s schedule."""
    schedule = row.schedule
    done = 1.0 - np.abs(schedule.holdings_shares) / abs(plan.order.shares)
    index = int(np.argmax(done >= 0.5 - 1e-9))
    return float(schedule.times_days[index] / plan.order.horizon_days)


def urgency_text(plan: Plan, row: PlannedRow | None, clock_at: str | None = None) -> str:
    """The chosen urgency in words and numbers: λ, and when half the order is done under the ★ schedule."""
    lam = plan.risk_aversion_per_usd
    risk = "risk neutral (λ = 0): the cheapest expected cost, whatever its risk" if lam == 0 else (
        f"risk aversion λ = {lam:g} per $ (E + λ·Var is minimised)")  # fmt: skip
    if row is None:
        return risk[:1].upper() + risk[1:] + "."
    share = _half_done(plan, row)
    words = next(text for limit, text in URGENCY_WORDS if share <= limit)
    when = f" ({clock_at})" if clock_at else ""
    return (f"{words[:1].upper()}{words[1:]}. Half of the order is done after {share:.0%} of the horizon{when} "
            f"under {row.strategy.label}; {risk}.")  # fmt: skip


def _summary(row: PlannedRow) -> tuple[pd.DataFrame, pd.DataFrame]:
    cost = row.cost
    summary = pd.DataFrame(
        [(name, cost.to_bps(usd), usd) for name, usd in (("Expected cost", cost.expected_usd),
                                                           ("Standard deviation", cost.std_usd),
                                                           ("VaR 95% (E + 1.645·std)", cost.var_usd(0.95)))],
        columns=["measure", "cost_bps", "cost_usd"],
    )  # fmt: skip
    parts = [(words, getattr(cost, name)) for name, words in COMPONENTS.items() if getattr(cost, name) != 0]
    total = cost.expected_usd
    split = pd.DataFrame(
        [(words, usd, cost.to_bps(usd), 100 * usd / total if total else float("nan")) for words, usd in parts],
        columns=["component", "cost_usd", "cost_bps", "share_of_expected_pct"],
    )
    return summary, split


def cost_frame(plan: Plan, best: PlannedRow | None) -> pd.DataFrame:
    """Every shown strategy's expected cost, std and VaR95 in bps and $, its split in $ and its peak participation."""
    records = []
    for row in plan.planned:
        cost = row.cost
        records.append(
            {
                "recommended": "★" if row is best else "",
                "strategy": row.strategy.label,
                "expected_cost_bps": cost.to_bps(cost.expected_usd),
                "expected_cost_usd": cost.expected_usd,
                "std_cost_bps": cost.to_bps(cost.std_usd),
                "std_cost_usd": cost.std_usd,
                "var95_bps": cost.to_bps(cost.var_usd(0.95)),
                "var95_usd": cost.var_usd(0.95),
                **{name: getattr(cost, name) for name in COMPONENTS},
                "max_participation_pct": 100 * float(np.max(row.schedule.participation)),
            }
        )
    return pd.DataFrame.from_records(records)


def settings_frame(plan: Plan) -> pd.DataFrame:
    """The settings the shown strategies use, one row per setting: its label, its value with its unit and the
    strategies that use it (the registry's metadata, ``base.param``); settings no shown strategy uses are left out."""
    found: dict[str, tuple[ParamSpec, Any, list[str]]] = {}
    for row in plan.planned:
        for field in user_fields(row.strategy.params_type):
            name = setting_name(field)
            value = plan.settings.get(name, row.schedule.params.get(field.name, field.default))
            if name not in found:
                found[name] = (param_spec(field), value, [])
            found[name][2].append(row.strategy.label)
    records = [(spec.label, setting_text(value, spec), ", ".join(users)) for spec, value, users in found.values()]
    return pd.DataFrame.from_records(records, columns=["setting", "value", "used_by"])


#: the run a parameter's source names: "calibration of SPY run 2026-12-02 06:00:48 UTC on data from 2013-10-04 to
#: 2013-10-11" (optexec.calibration.storage) or "calibration run 2026-12-02 06:00:48 UTC" (model_card.stored_sources)
CALIBRATION_RUN = re.compile(
    r"calibration (?:of \S+ )?run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC(?: on data from \S+ to [\d-]+)?"
)


def market_frame(plan: Plan) -> tuple[str, pd.DataFrame]:
    """(whether the market is calibrated, and by which run, in words; every parameter of the plan's cost model with
    its value, unit, standard error and source)."""
    parameters = model_parameters(plan.market)
    runs = sorted({match.group(0) for p in parameters if (match := CALIBRATION_RUN.search(p.source))})
    if runs:
        status = "Calibrated: " + "; ".join(runs) + "."
    elif any("planted" in p.source for p in parameters):
        status = "Not calibrated: planted values of the bundled synthetic sample."
    elif any("DEMO" in p.source for p in parameters):
        status = "Not calibrated: DEMO values (a made-up example stock, not a real one)."
    else:
        status = "Not calibrated: the values below were given by hand."
    frame = pd.DataFrame(
        [(p.words[:1].upper() + p.words[1:], f"{p.value:.6g}", "" if p.unit == "dimensionless" else p.unit,
          "" if p.stderr is None else f"± {p.stderr:.3g}", p.source) for p in parameters],
        columns=["parameter", "value", "unit", "std_error", "source"],
    )  # fmt: skip
    market = plan.market
    extra = pd.DataFrame(
        [
            ("Arrival price", f"{market.price_usd:,.4f}", "$/share", "", "the order's arrival price"),
            ("Volatility", f"{100 * market.sigma_daily_fraction:.3f}", "% a day", "", "σ over the price"),
            ("Spread", f"{1e4 * market.spread_usd / market.price_usd:.2f}", "bps of the price", "", "the spread"),
        ],
        columns=frame.columns,
    )
    return status, pd.concat([extra, frame], ignore_index=True)


def labelled_schedule(plan: Plan) -> tuple[pd.DataFrame, str]:
    """Every slice of every shown strategy (``planning.schedule_table``): strategy label, clock times (or trading
    days), whole shares; and a note saying which times."""
    table = schedule_table(plan)
    clock = plan.clock
    if table.empty:
        return table, ""
    out = pd.DataFrame({"strategy": table["strategy_label"], "slice": table["slice"]})
    if clock is not None and "start_time" in table:
        # to the second when a slice is not a whole number of minutes (390 slices over 3 hours: one every 27.7 s,
        # which to the minute read "10:30 to 10:30")
        times = pd.concat([table["start_time"], table["end_time"]])
        clock_format = (
            "%Y-%m-%d %H:%M"
            if (times.dt.second == 0).all() and (times.dt.microsecond == 0).all()
            else ("%Y-%m-%d %H:%M:%S")
        )
        out["start_time_local"] = table["start_time"].dt.strftime(clock_format)
        out["end_time_local"] = table["end_time"].dt.strftime(clock_format)
        note = (f"Times are exchange-local ({clock.time_zone}; {clock.source}); child orders in whole lots of "
                f"{clock.lot_shares:,} share{'s' * (clock.lot_shares != 1)}, the last one taking the "
                "remainder.")  # fmt: skip
    else:
        note = ("Times in trading days from the start: this symbol has no exchange calendar (DEMO is a made-up "
                "stock); child orders in whole shares, the last one taking the remainder.")  # fmt: skip
    out["start_days"], out["end_days"] = table["start_days"], table["end_days"]
    out["child_order_shares"] = table["child_order_shares"]
    out["shares_left_after"] = table["shares_left_after"]
    out["expected_market_volume_shares"] = table["expected_market_volume_shares"].round(0)
    out["participation_pct"] = table["participation_pct"].round(2)
    return out, note


def _points(plan: Plan, table: pd.DataFrame) -> pd.DataFrame:
    """Shares left to trade per strategy (rows) at up to SCHEDULE_POINTS evenly spaced slice ends (columns)."""
    if table.empty:
        return pd.DataFrame()
    slices = plan.order.slices
    ends = np.unique(np.linspace(0, slices, min(SCHEDULE_POINTS, slices + 1)).round().astype(int))
    local = "start_time_local" in table
    first = table[table["strategy"] == table["strategy"].iloc[0]]
    days = pd.concat([first["start_time_local"], first["end_time_local"]]).str[:10] if local else pd.Series()
    one_day = local and days.nunique() == 1

    def heading(end: int) -> str:
        if local:
            stamp = first["start_time_local"].iloc[0] if end == 0 else first["end_time_local"].iloc[end - 1]
            return stamp[11:] if one_day else stamp[5:]
        days = 0.0 if end == 0 else float(first["end_days"].iloc[end - 1])
        return f"{days:.3g} d"

    rows = {}
    for label, group in table.groupby("strategy", sort=False):
        left = np.concatenate([[abs(plan.order.shares)], group["shares_left_after"].to_numpy()])
        rows[label] = [f"{left[end]:,.0f}" for end in ends]
    return (
        pd.DataFrame.from_dict(rows, orient="index", columns=[heading(end) for end in ends])
        .rename_axis("strategy")
        .reset_index()
    )


@dataclass(frozen=True)
class PlanNotes:
    """What a plan says besides its numbers, for the page and the report: each text once.

    ``order``: the plan's own warnings (the order outside the model's range); ``not_planned``: (strategy label,
    reason) per strategy that could not plan; ``schedules``: (strategy labels, warning) with every strategy whose
    schedule carries that same warning named once, so twenty identical warnings are one line;
    ``outside_model``: whether any schedule is one the model calls absurd.
    """

    order: tuple[str, ...]
    not_planned: tuple[tuple[str, str], ...]
    schedules: tuple[tuple[tuple[str, ...], str], ...]
    outside_model: bool


def plan_notes(plan: Plan) -> PlanNotes:
    """The plan's warnings, errors and schedule warnings, grouped (``PlanNotes``)."""
    grouped: dict[str, list[str]] = {}
    not_planned = []
    for row in plan.rows:
        if row.error:
            not_planned.append((row.strategy.label, row.error[:1].upper() + row.error[1:]))
        for warning in row.warnings:
            grouped.setdefault(warning, []).append(row.strategy.label)
    return PlanNotes(
        plan.warnings,
        tuple(not_planned),
        tuple((tuple(labels), warning) for warning, labels in grouped.items()),
        any(row.outside_model for row in plan.rows),
    )


#: references to the app's pages in the strategies' own warnings: the report is read without the app
_PAGE_REFERENCE = re.compile(
    r" ?\((?:see|on) the [A-Z][A-Za-z]* page\)|[;,.]? ?(?:see|train [^.;]* on) the [A-Z][A-Za-z]* page"
)


def without_pages(text: str) -> str:
    """``text`` without its references to a page of the app ("(see the Simulate page)")."""
    return _PAGE_REFERENCE.sub("", text)


def _notes(plan: Plan) -> tuple[str, ...]:
    notes = plan_notes(plan)
    return tuple(
        without_pages(note)
        for note in (
            *notes.order,
            *(f"{label}: not planned. {reason}" for label, reason in notes.not_planned),
            *(f"{', '.join(labels)}: {warning}" for labels, warning in notes.schedules),
        )
    )


def report_content(plan: Plan, calibration_note: str, generated: dt.datetime, link: str | None = None) -> ReportContent:
    """Everything the report says about ``plan`` (module docstring); ``calibration_note`` says where the market's
    values come from and what was typed over them, ``link`` the app's address of the same plan."""
    order, market = plan.order, plan.market
    best = best_row(plan)
    schedule, time_note = labelled_schedule(plan)
    clock_at = None
    if best is not None and "end_time_local" in schedule:
        rows = schedule[schedule["strategy"] == best.strategy.label]
        half = rows.index[rows["shares_left_after"].abs() <= abs(order.shares) / 2]
        clock_at = f"by {schedule.loc[half[0], 'end_time_local'][11:]}" if len(half) else None
    summary, split = _summary(best) if best is not None else (pd.DataFrame(), pd.DataFrame())
    status, parameters = market_frame(plan)
    start = f"starting {order.start_minutes_after_open:g} minutes after the open"
    if "start_time_local" in schedule and plan.clock is not None:
        start = f"starting {schedule['start_time_local'].iloc[0]} ({plan.clock.time_zone})"
    notional = abs(order.shares) * market.price_usd
    order_line = (f"{order.side.capitalize()} {order.shares:,.0f} shares of {order.symbol} "
                  f"(notional {usd_text(notional)} at ${market.price_usd:,.2f}; {order.shares / market.adv_shares:.1%} "
                  f"of the average daily volume) over {order.horizon_days * market.session_minutes / 60:.4g} trading "
                  f"hours ({order.horizon_days:.4g} trading days) in {order.slices} child orders, "
                  f"{start}.")  # fmt: skip
    model = f"Every strategy is priced and ranked under one cost model: {MODEL_WORDS[market.cost_model]}"
    model += f" ({priced_under(market)})."
    why = (f"Why this model: {plan.model_reason}.",) if plan.model_reason else ()
    return ReportContent(
        title=f"Pre-trade report: {order.side} {order.shares:,.0f} {order.symbol}",
        order_line=order_line,
        recommended=best.strategy.label if best else None,
        recommendation=without_pages(recommendation(plan) or "") or "No strategy could plan this order.",
        urgency=urgency_text(plan, best, clock_at),
        summary=summary,
        split=split,
        costs=cost_frame(plan, best),
        settings=settings_frame(plan),
        market_status=status,
        market=parameters,
        model_lines=(model, *why, calibration_note),
        schedule=schedule,
        schedule_points=_points(plan, schedule),
        time_note=time_note,
        notes=_notes(plan),
        order_warnings=plan.warnings,
        generated=f"{generated:%Y-%m-%d %H:%M} UTC",
        link=link,
    )
