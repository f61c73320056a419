"""The Basket page's computations, figures and report (issue 15, items 5 and 6).

Figures: cost against % ADV (bubble = notional), remaining notional over time by side with the remaining std, the
risk-contribution bars, the joint vs independent frontier, and per-order schedules. The report is one self-contained
HTML file (plotly.js inlined once) naming the basket's id; the spreadsheets are the order table as CSV
(optexec.report.table_csv) and the workbook of optexec.baskets.spreadsheet.
"""

from __future__ import annotations

import datetime as dt
import html
import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from optexec.baskets import correlation as correlations
from optexec.baskets.input import parse_basket
from optexec.baskets.plan import INDEPENDENT, JOINT, BasketFrontier, BasketPlan, frontier, plan_basket
from optexec.constants import DEFAULT_MAX_PARTICIPATION
from optexec.report import html_page, table_csv
from optexec.store import db
from optexec.ui.formats import usd

#: one colour per basket strategy and per side, on every basket chart
COLOURS = {JOINT: "#1f77b4", INDEPENDENT: "#ff7f0e", "twap": "#2ca02c", "per_order": "#9467bd"}
SIDE_COLOURS = {"buy": "#2ca02c", "sell": "#d62728"}


def _number(label: str, number_format: str, help_text: str | None = None):
    return st.column_config.NumberColumn(label, format=number_format, help=help_text)


_USD = "$%,.0f"
#: how the page's basket tables show their columns: short labels with units (a phone's width), $ with thousands
#: separators, participation as a percentage and whether it keeps within the limit
TABLE_COLUMNS = {
    "expected_cost_bps": _number("E (bps)", "%.1f", "expected cost, bps of the notional (positive = money lost)"),
    "expected_cost_usd": _number("E ($)", _USD, "expected cost (positive = money lost)"),
    "std_cost_usd": _number("std ($)", _USD, "std of the cost, with the correlation"),
    "std_cost_usd_uncorrelated": _number("std uncorr. ($)", _USD, "std of the cost without the correlation"),
    "var95_usd": _number("VaR95 ($)", _USD, "E + 1.645 std, with the correlation"),
    "var95_usd_uncorrelated": _number("VaR95 uncorr. ($)", _USD),
    "objective_usd": _number("E + λV ($)", _USD),
    "risk_contribution_usd": _number("risk contr. ($)", _USD, "marginal contribution to the std (adds up to it)"),
    "risk_share": _number("risk share", "percent", "risk contribution / the basket's std"),
    "notional_usd": _number("notional ($)", _USD),
    "gross_notional_usd": _number("gross ($)", _USD),
    "net_notional_usd": _number("net ($)", "%,.0f", "buys − sells"),
    "price_usd": _number("price ($)", "$%,.2f"),
    "shares": _number("shares", "%,.0f"),
    "pct_adv": _number("% ADV", "%.2f"),
    "horizon_days": _number("horizon (days)", "%.3g"),
    "max_participation": _number("max part.", "percent", "largest child order / its slice's expected volume"),
    "within_participation_limit": st.column_config.CheckboxColumn(
        "within limit", help="the schedule keeps within the participation limit (it is never capped)"
    ),
    "orders_over_participation_limit": _number("orders over limit", "%d"),
}
#: the order table's columns, what a PM reads first on the left
ORDER_COLUMN_ORDER = ("symbol", "side", "expected_cost_bps", "expected_cost_usd", "std_cost_usd",
                      "risk_contribution_usd", "max_participation", "within_participation_limit", "pct_adv", "shares",
                      "notional_usd", "group", "price_usd", "horizon_days", "risk_share")  # fmt: skip
#: the strategy table's columns, the numbers before the words
STRATEGY_COLUMN_ORDER = ("strategy", "expected_cost_bps", "expected_cost_usd", "std_cost_usd",
                         "std_cost_usd_uncorrelated", "var95_usd", "max_participation",
                         "orders_over_participation_limit", "objective_usd", "var95_usd_uncorrelated", "label",
                         "optimises")  # fmt: skip

#: the editable table's first rows: a rebalance on the bundled sample's symbols
EXAMPLE = pd.DataFrame({
    "symbol": ["SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE"],
    "side": ["buy", "sell", "buy", "sell"],
    "shares": [200_000.0, None, None, 30_000.0],
    "notional_usd": [None, 5_000_000.0, None, None],
    "pct_adv": [None, None, 5.0, None],
    "horizon_days": [None, 0.5, None, None],
    "sector": ["tech", "tech", "fin", "fin"],
})  # fmt: skip


@st.cache_data(show_spinner="Pricing the basket…", max_entries=32)
def cached_plan(
    table_json: str,
    horizon_days: float,
    slices: int,
    risk_aversion_per_usd: float,
    correlation_csv: bytes | None,
    drop_bad_rows: bool,
    strategies: tuple[str, ...],
    db_version: str,
    max_participation: float = DEFAULT_MAX_PARTICIPATION,
    correlation_name: str = "the correlation file",
) -> tuple[BasketPlan, tuple]:
    """The priced basket (and the rows dropped) of a table given as JSON, cached by its parameters and the store's
    version; ``correlation_name`` says where the matrix comes from (an upload, or the one saved with a link).
    BasketError / ValueError pass through to the page."""
    frame = pd.read_json(io.StringIO(table_json), orient="split", dtype=False)
    basket = parse_basket(frame, drop_bad_rows=drop_bad_rows)
    given = None
    if correlation_csv is not None:
        given = correlations.from_file(correlation_csv, basket.symbols, name=correlation_name)
    with db.reading() as con:
        plan = plan_basket(basket, con, horizon_days, slices, risk_aversion_per_usd, given, strategies,
                           max_participation)  # fmt: skip
    return plan, basket.dropped


@st.cache_data(show_spinner="Tracing the frontier…", max_entries=16)
def cached_frontier(_plan: BasketPlan, key: tuple) -> BasketFrontier:
    """The joint vs independent frontier of a plan (``key`` identifies the plan for the cache)."""
    return frontier(_plan)


def totals(plan: BasketPlan, name: str = JOINT) -> dict[str, float]:
    """The headline numbers of strategy ``name``: gross, net, E ($, bps), std with and without the correlation,
    VaR95."""
    result = plan.strategy(name)
    return {
        "gross_notional_usd": plan.gross_notional_usd,
        "net_notional_usd": plan.net_notional_usd,
        "expected_cost_usd": result.expected_usd,
        "expected_cost_bps": plan.bps(result.expected_usd),
        "std_cost_usd": result.risk.std_usd,
        "std_cost_usd_uncorrelated": result.risk.std_uncorrelated_usd,
        "var95_usd": result.var95_usd,
    }


def _fits_a_phone(figure: go.Figure, title: str) -> go.Figure:
    """A short title and the legend under the plot (not beside it), so that a 390 px screen keeps the whole plot
    width and the axis titles; the margins grow to fit the legend and the tick labels."""
    figure.update_layout(
        title={"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"},
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.18, "yanchor": "top"},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    return figure


def bubble_figure(plan: BasketPlan, name: str = JOINT) -> go.Figure:
    """Each order's expected cost (bps of its notional) against its size in % of ADV; bubble area = notional."""
    table = plan.order_table(name)
    figure = go.Figure()
    largest = float(table["notional_usd"].max()) or 1.0
    for side, rows in table.groupby("side"):
        figure.add_trace(go.Scatter(
            x=rows["pct_adv"], y=rows["expected_cost_bps"], mode="markers", name=side,
            marker={"size": 8 + 52 * np.sqrt(rows["notional_usd"] / largest), "color": SIDE_COLOURS[side],
                    "opacity": 0.6, "line": {"width": 1, "color": "white"}},
            text=rows["symbol"], customdata=np.column_stack([rows["notional_usd"], rows["expected_cost_usd"]]),
            hovertemplate="%{text}<br>%{x:.2f}% of ADV<br>%{y:.1f} bps ($%{customdata[1]:,.0f})"
                          "<br>notional $%{customdata[0]:,.0f}<extra>" + side + "</extra>",
        ))  # fmt: skip
    figure.update_layout(xaxis_title="order size (% of ADV)", yaxis_title="expected cost (bps of its notional)",
                         legend_title="side")  # fmt: skip
    return _fits_a_phone(figure, f"Cost against size ({name})")


def remaining_figure(plan: BasketPlan, name: str = JOINT) -> go.Figure:
    """Notional left to trade by side, and the std of the cost still ahead, over the common grid."""
    frame = plan.remaining(name)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=("Notional left to trade", "Std of the cost still ahead"))  # fmt: skip
    for side in ("buy", "sell"):
        figure.add_trace(go.Scatter(x=frame["time_days"], y=frame[f"{side}_notional_usd"], name=f"{side}s",
                                    line={"color": SIDE_COLOURS[side]},
                                    hovertemplate="%{x:.3f} d: $%{y:,.0f} left<extra>" + side + "s</extra>"),
                         row=1, col=1)  # fmt: skip
    ahead = go.Scatter(x=frame["time_days"], y=frame["remaining_std_usd"], name="std ahead",
                       line={"color": COLOURS.get(name, "#444")},
                       hovertemplate="%{x:.3f} d: $%{y:,.0f}<extra>std ahead</extra>")  # fmt: skip
    figure.add_trace(ahead, row=2, col=1)
    figure.update_yaxes(title_text="$", row=1, col=1)
    figure.update_yaxes(title_text="$", row=2, col=1)
    figure.update_xaxes(title_text="time from start (trading days)", row=2, col=1)
    figure.update_layout(height=560)
    return _fits_a_phone(figure, f"Over time ({name})")


def risk_figure(plan: BasketPlan, name: str = JOINT, top: int = 30) -> go.Figure:
    """Each order's marginal contribution to the basket's std (they add up to it); the largest ``top`` by size."""
    table = plan.order_table(name)
    table = table.reindex(table["risk_contribution_usd"].abs().sort_values(ascending=False).index).head(top)
    figure = go.Figure(go.Bar(
        x=table["symbol"], y=table["risk_contribution_usd"],
        marker_color=[SIDE_COLOURS[s] for s in table["side"]],
        customdata=100 * table["risk_share"],
        hovertemplate="%{x}: $%{y:,.0f} (%{customdata:.1f}% of the std)<extra></extra>",
    ))  # fmt: skip
    std = plan.strategy(name).risk.std_usd
    figure.update_layout(xaxis_title="order (negative: it hedges the rest)", yaxis_title="contribution to the std ($)")
    return _fits_a_phone(figure, f"Risk contributions (sum: the std ${std:,.0f})")


def frontier_figure(curve: BasketFrontier, plan: BasketPlan) -> go.Figure:
    """E against std (with the correlation) over lambda, joint_ac beside independent_ac."""
    figure = go.Figure()
    for name in (JOINT, INDEPENDENT):
        figure.add_trace(go.Scatter(
            x=curve.std_usd[name], y=curve.expected_usd[name], mode="lines+markers",
            name=name, line={"color": COLOURS[name]}, customdata=curve.risk_aversion_per_usd,
            hovertemplate="λ = %{customdata:.3g}/$<br>std $%{x:,.0f}<br>E $%{y:,.0f}<extra>" + name + "</extra>",
        ))  # fmt: skip
    figure.update_layout(xaxis_title="std of the cost ($, with the correlation)", yaxis_title="expected cost ($)")
    return _fits_a_phone(figure, "Efficient frontier")


def schedules_figure(plan: BasketPlan, symbols: list[str]) -> go.Figure:
    """Shares left of the chosen orders under every strategy (one panel per order, one colour per strategy)."""
    symbols = symbols or plan.symbols[:1]
    figure = make_subplots(rows=len(symbols), cols=1, shared_xaxes=True, subplot_titles=symbols,
                           vertical_spacing=0.3 / max(len(symbols), 1))  # fmt: skip
    times = plan.grid.times_days
    for row, symbol in enumerate(symbols, start=1):
        i = plan.symbols.index(symbol)
        for result in plan.strategies:
            if result.error:
                continue
            figure.add_trace(go.Scatter(
                x=times, y=result.holdings_shares[:, i], name=result.name, legendgroup=result.name,
                showlegend=row == 1, line={"color": COLOURS.get(result.name)},
                hovertemplate="%{x:.3f} d: %{y:,.0f} shares left<extra>" + html.escape(result.label) + "</extra>",
            ), row=row, col=1)  # fmt: skip
        figure.update_yaxes(title_text="shares left", row=row, col=1)
    figure.update_xaxes(title_text="time from start (trading days)", row=len(symbols), col=1)
    figure.update_layout(height=260 * len(symbols) + 160)
    return _fits_a_phone(figure, "Schedules")


def spreadsheet_csv(plan: BasketPlan) -> str:
    """The order table of the shown strategy as CSV for a spreadsheet (text cells safe from formula injection)."""
    return table_csv(plan.order_table(plan.shown))


def _cell_format(column: str):
    """How the report writes a column's numbers: $ and shares whole, bps to 0.1, fractions as percentages."""
    if column in ("max_participation", "risk_share"):
        return "{:.1%}".format
    if column.endswith("_bps"):
        return "{:.1f}".format
    if column.endswith("_usd") or "_usd_" in column or column == "shares":
        return "{:,.0f}".format
    return "{:,.2f}".format


def _table(frame: pd.DataFrame, order: tuple[str, ...] = ()) -> str:
    """A report table: the columns of ``order`` first (what a PM reads on a phone without scrolling), numbers
    formatted by their unit, headers as on the page (``TABLE_COLUMNS``)."""
    first = [c for c in order if c in frame.columns]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    formatters = {c: _cell_format(c) for c in frame.columns if pd.api.types.is_float_dtype(frame[c])}
    labels = {c: TABLE_COLUMNS[c]["label"] for c in frame.columns if c in TABLE_COLUMNS}
    html_text = frame.to_html(index=False, border=0, formatters=formatters, escape=True)
    for column, label in labels.items():
        html_text = html_text.replace(f"<th>{html.escape(column)}</th>", f"<th>{html.escape(label)}</th>", 1)
    return html_text


def report_html(
    plan: BasketPlan,
    figures: list[go.Figure],
    generated: dt.datetime,
    basket_id: str | None = None,
    not_saved: str | None = None,
) -> str:
    """The basket report: its id (the ``?basket=ID`` link that reopens it; ``not_saved`` says why there is none),
    totals, strategies, orders, roll-ups, where the numbers come from, and the charts; self-contained (plotly.js
    inlined once)."""
    strategies = plan.strategy_table()
    if strategies["error"].isna().all():
        strategies = strategies.drop(columns=["error"])
    name = plan.shown
    orders = plan.order_table(name).drop(columns=["cost_share"])
    rollups = "".join(
        f'<h3>By {html.escape(by)}</h3><div class="wide">{_table(plan.rollup(by, name))}</div>'
        for by in ("side", "liquidity", *(("group",) if plan.group_column else ()))
    )
    charts = "".join(f.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
                     for i, f in enumerate(figures))  # fmt: skip
    sources = "".join(f"<li>{html.escape(o.source)}</li>" for o in plan.orders)
    over = plan.participation_warnings
    above = "".join(f"<li>{html.escape(w)}</li>" for w in over)
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in plan.warnings if w not in over)
    top = totals(plan, name)
    title = f"Basket pre-trade report: {len(plan.orders)} orders, gross ${plan.gross_notional_usd:,.0f}"
    if basket_id:
        ident = html.escape(basket_id)
        saved = f"Basket {ident}, saved in the store: the Basket page reopens it with ?basket={ident}."
    else:
        saved = f"This basket is not saved in the store (no link): {html.escape(not_saved or 'not shared')}."
    limit = f"{plan.max_participation:.0%}"
    if above:
        above = (
            f'<div class="warn" id="participation"><b>Above the {limit} participation limit</b><ul>{above}</ul></div>'
        )
    return html_page(
        title,
        f"""<h1>{html.escape(title)}</h1>
<p id="basket-id">{saved}</p>
<p class="muted">Generated {generated:%Y-%m-%d %H:%M} UTC by optexec. Costs are positive when they lose money, in $
and in bps of the gross notional; each order is priced under its symbol's own market model; the joint optimum
optimises the linear model (spread, η, γ) with the correlated price risk (multi-asset Almgren–Chriss).
VaR95 = E + 1.645·std.</p>
<h2>Totals ({html.escape(name)})</h2>
<p>Gross {usd(top["gross_notional_usd"])}, net {usd(top["net_notional_usd"])}; expected cost
{usd(top["expected_cost_usd"])} ({top["expected_cost_bps"]:.1f} bps); std {usd(top["std_cost_usd"])} with the
correlation, {usd(top["std_cost_usd_uncorrelated"])} without; VaR95 {usd(top["var95_usd"])}.
{plan.grid.slices} slices over {plan.grid.horizon_days:g} trading days; risk aversion
{plan.risk_aversion_per_usd:g} per $; participation limit {limit} of a slice's expected volume.</p>
<p class="muted">{html.escape(plan.correlation.source)}</p>
{above}
<h2>Strategies</h2><div class="wide">{_table(strategies, STRATEGY_COLUMN_ORDER)}</div>
<h2>Orders ({html.escape(name)})</h2><div class="wide">{_table(orders, ORDER_COLUMN_ORDER)}</div>
<h2>Roll-ups</h2>{rollups}
<h2>Where the numbers come from</h2>
<ul class="muted">{sources}</ul>
{f"<h3>Warnings</h3><ul>{warnings}</ul>" if warnings else ""}
<h2>Charts</h2>{charts}
""",
    )
