"""Exports of a plan: the schedule as CSV and the pre-trade report as one self-contained HTML file."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from optexec.model_card import model_sentences, priced_under
from optexec.planning import Plan, best_row, cost_table, holdings_snapshot, recommendation


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


def schedule_frame(plan: Plan) -> pd.DataFrame:
    """Every planned strategy's schedule in long form: one row per strategy and slice, units in the names."""
    frames = []
    for row in plan.planned:
        schedule = row.schedule
        frames.append(
            pd.DataFrame(
                {
                    "strategy": row.strategy.name,
                    "slice": range(1, plan.order.slices + 1),
                    "start_days": schedule.times_days[:-1],
                    "end_days": schedule.times_days[1:],
                    "child_order_shares": schedule.trades_shares,
                    "shares_left_after": schedule.holdings_shares[1:],
                    "expected_market_volume_shares": schedule.market_volume_shares,
                    "participation": schedule.participation,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


#: a spreadsheet reads a cell that starts with one of these as a formula (or, for tab and CR, skips to one)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: characters a spreadsheet may split a comment line on (separators of every locale, quotes, line breaks)
_SPLITTERS = {",": "\\x2c", ";": "\\x3b", "\t": "\\t", '"': "\\x22", "\r": "\\r", "\n": "\\n", "\\": "\\\\"}


def spreadsheet_cell(value: object) -> object:
    """A text cell a spreadsheet will show as text: one starting with = + - @ tab or CR gets a leading apostrophe
    (the OWASP CSV-injection rule); numbers and other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are ``spreadsheet_cell``-safe (numbers untouched)."""
    safe = frame.rename(columns=spreadsheet_cell)
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(spreadsheet_cell)
    return safe


def table_csv(frame: pd.DataFrame) -> str:
    """A table as CSV text for a spreadsheet (``spreadsheet_safe``)."""
    return spreadsheet_safe(frame).to_csv(index=False, float_format="%.10g")


def _comment_text(text: str) -> str:
    """``text`` for the schedule's comment line: separators, quotes and line breaks written as escapes (``\\x2c``
    for a comma ...), so the line stays one cell starting with ``#`` in any spreadsheet."""
    return "".join(_SPLITTERS.get(char, char) for char in text)


def schedule_csv(plan: Plan) -> str:
    """The schedule table as CSV text, with the order in a comment line on top (no cell a formula).

    A symbol holding a comma, semicolon, quote, tab or line break is written in the comment with escapes
    (``\\x2c`` ...), and the line says so; every text cell of the table goes through ``spreadsheet_cell``.
    """
    order = plan.order
    symbol = _comment_text(order.symbol)
    escaped = (
        " (in the symbol: \\x2c is a comma · \\x3b a semicolon · \\x22 a double quote · \\t a tab · \\r \\n line "
        "breaks · \\\\ a backslash)"
    )
    header = (
        f"# optexec schedule: {order.side} {order.shares:.0f} {symbol}, horizon {order.horizon_days:g} days, "
        f"{order.slices} slices, start {order.start_minutes_after_open:g} min after the open"
        f"{escaped if symbol != order.symbol else ''}\n"
    )
    return header + table_csv(schedule_frame(plan))


def _snapshot_html(plan: Plan) -> str:
    snapshot = holdings_snapshot(plan)
    formatters = {column: "{:,.0f}".format for column in snapshot.columns[1:]}
    formatters[snapshot.columns[0]] = "{:.3f}".format
    return snapshot.to_html(index=False, border=0, formatters=formatters)


def _table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, classes="costs", float_format=lambda v: f"{v:,.1f}")


def _link_html(link: str | None) -> str:
    if not link:
        return ""
    return f'<p class="muted">The same plan in the app: <a href="{html.escape(link)}">{html.escape(link)}</a></p>'


#: the style of every HTML report: wide tables scroll inside their box (``.wide``), a warning box (``.warn``), and on a
#: phone the page keeps a small margin and the charts the screen's width
REPORT_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { padding: 4px 10px; text-align: right; border-bottom: 1px solid #dde3ea; }
th:first-child, td:first-child { text-align: left; white-space: nowrap; }
.muted { color: #5b6673; font-size: 0.9rem; }
.wide { overflow-x: auto; }
.warn { background: #fff4e5; border-left: 4px solid #e8a33d; padding: 0.4rem 0.8rem; }
@media (max-width: 600px) {
  body { margin: 0.5rem auto; padding: 0 0.5rem; font-size: 0.95rem; }
  h1 { font-size: 1.35rem; }
  th, td { padding: 3px 6px; }
}
"""


def html_page(title: str, body: str) -> str:
    """A self-contained HTML report page: ``title`` (escaped here) in the head, ``body`` as it is (HTML the caller
    escaped), the shared ``REPORT_CSS``, and a viewport for phones."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{REPORT_CSS}</style></head><body>
{body}</body></html>
"""


def report_html(
    plan: Plan, figures: list[go.Figure], calibration_note: str, generated: dt.datetime, link: str | None = None
) -> str:
    """The pre-trade report: order, parameters (with where they come from), cost table, schedules and charts.

    ``calibration_note`` says where the parameters come from (the calibration run, overrides typed over it);
    ``link`` is the app's link to the same plan. Self-contained: plotly.js is inlined once, so the file opens
    offline.
    """
    order, market = plan.order, plan.market
    best = best_row(plan)
    table = cost_table(plan)
    shown = table[["strategy", "max_participation", "expected_cost_bps", "expected_cost_usd", "std_cost_bps",
                   "std_cost_usd", "var95_bps", "var95_usd", "spread_usd", "temporary_usd", "permanent_usd",
                   "transient_usd", "drift_usd", "optimises_under", "participation_note"]].copy()  # fmt: skip
    shown["max_participation"] = [f"{v:.1%}" for v in shown["max_participation"]]
    shown = shown.rename(
        columns={
            "max_participation": "Max participation", "expected_cost_bps": "E (bps)", "expected_cost_usd": "E ($)",
            "std_cost_bps": "Std (bps)", "std_cost_usd": "Std ($)", "var95_bps": "VaR95 (bps)",
            "var95_usd": "VaR95 ($)", "spread_usd": "Spread ($)", "temporary_usd": "Temporary ($)",
            "permanent_usd": "Permanent ($)", "transient_usd": "Transient ($)", "drift_usd": "Drift ($)",
            "optimises_under": "Optimises under", "participation_note": "Participation",
        }
    )  # fmt: skip
    model = "".join(f"<li>{html.escape(line)}</li>" for line in model_sentences(market, plan.model_reason))
    parameters = pd.DataFrame(
        [
            ("arrival price", f"${market.price_usd:,.4f}"),
            (
                "volatility σ",
                f"{market.sigma_usd_per_sqrt_day:.6g} $/share/√day ({market.sigma_daily_fraction:.3%} a day)",
            ),
            ("spread", f"${market.spread_usd:.6g} ({1e4 * market.spread_usd / market.price_usd:.2f} bps)"),
            ("ADV", f"{market.adv_shares:,.0f} shares/day"),
            *(
                (name, f"{value:g}" if isinstance(value, float) else str(value))
                for name, value in plan.settings.items()
            ),
        ],
        columns=["parameter", "value"],
    )
    charts = "".join(
        figure.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
        for i, figure in enumerate(figures)
    )
    notes = plan_notes(plan)
    outside = "".join(f"<li>{html.escape(warning)}</li>" for warning in notes.order)
    warnings = "".join(
        [
            *(
                f"<li>{html.escape(label)}: not planned. {html.escape(reason)}</li>"
                for label, reason in notes.not_planned
            ),
            *(
                f"<li>{html.escape(', '.join(labels))}: {html.escape(warning)}</li>"
                for labels, warning in notes.schedules
            ),
        ]
    )
    advice = recommendation(plan)
    title = f"Pre-trade report: {order.side} {order.shares:,.0f} {order.symbol}"
    return html_page(
        title,
        f"""<h1>{html.escape(title)}</h1>
{f'<div class="warn"><b>Outside the model&#39;s range</b><ul>{outside}</ul></div>' if outside else ""}
<p class="muted">Generated {generated:%Y-%m-%d %H:%M} UTC by optexec. Costs are positive when they lose money; bps of
the arrival notional ${order.shares * market.price_usd:,.0f}; VaR95 = E + 1.645·std; every strategy priced under
{html.escape(priced_under(market))}.</p>
<h2>Order</h2>
<p>{html.escape(order.side)} {order.shares:,.0f} shares of {html.escape(order.symbol)} over {order.horizon_days:g}
trading days in {order.slices} slices, starting {order.start_minutes_after_open:g} minutes after the open
({order.shares / market.adv_shares:.1%} of ADV).</p>
<h2>Parameters</h2>
<p class="muted">{html.escape(calibration_note)}</p>
{_link_html(link)}
{parameters.to_html(index=False, border=0)}
<h2>Cost model</h2>
<ul>{model}</ul>
<h2>Expected cost and risk</h2>
<p>Lowest E + λ·Var: <b>{html.escape(best.strategy.label) if best else "none"}</b>.</p>
{f'<p class="{"warn" if outside or notes.outside_model else "muted"}">{html.escape(advice)}</p>' if advice else ""}
<div class="wide">{_table_html(shown)}</div>
{f'<h3>Warnings and notes</h3><ul class="{"warn" if notes.outside_model else ""}">{warnings}</ul>' if warnings else ""}
<h2>Schedule (shares left to trade)</h2>
<div class="wide">{_snapshot_html(plan)}</div>
<p class="muted">The full schedule, slice by slice, is the CSV download.</p>
<h2>Charts</h2>
{charts}
""",
    )
