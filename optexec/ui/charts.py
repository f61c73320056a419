"""Plotly figures for plans: one colour per strategy on every page, units on every axis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from optexec.planning import Plan, PlannedRow
from optexec.sensitivity import Sweep
from optexec.strategies import registry
from optexec.strategies.almgren_chriss import Frontier

# D3's ten, then colours far from all of them (Set2's next ones repeated D3's orange, teal and purple), then Set2
_PALETTE = qualitative.D3 + ["#00a08b", "#fb00d1", "#1b1f24"] + qualitative.Set2


def strategy_colours() -> dict[str, str]:
    """A fixed colour per registered strategy (registry order), shared by every chart."""
    return {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(registry.STRATEGIES)}


def time_axis(plan: Plan) -> tuple[np.ndarray, str]:
    """Slice boundary times in minutes (intraday orders) or trading days, and the axis title."""
    days = plan.order.times_days
    if plan.order.horizon_days <= 1.0:
        return days * plan.market.session_minutes, "time from start (trading minutes)"
    return days, "time from start (trading days)"


SCHEDULE_PANELS = {  # name -> (title, y-axis title, hover text, line shape)
    "holdings": ("Shares left to trade", "shares", "%{y:,.0f} shares left", "linear"),
    "trades": ("Child orders", "shares per slice", "%{y:,.0f} shares", "hv"),
    "participation": ("Participation of expected volume", "% of volume", "%{y:.2f}% of volume", "hv"),
}


#: the Plan page draws each step line (child orders, participation) to within this share of its panel's height (a
#: quarter of a pixel on the page's 260 px panels) with the fewest vertices that allows; the report keeps every slice
SCREEN_ERROR = 0.001


def _panel_values(plan: Plan, panel: str) -> list[tuple[PlannedRow, np.ndarray]]:
    if panel == "holdings":
        return [(row, row.schedule.holdings_shares) for row in plan.planned]
    if panel == "trades":
        return [(row, row.schedule.trades_shares) for row in plan.planned]
    return [(row, 100 * row.schedule.participation) for row in plan.planned]


def step_vertices(y: np.ndarray, tolerance: float) -> np.ndarray:
    """Indices of the vertices of a step line (Plotly's "hv" shape) that move it by more than ``tolerance``: a
    point within ``tolerance`` of the level drawn before it adds nothing; the last point is always kept."""
    kept, level = [0], y[0]
    for i in range(1, len(y)):
        if abs(y[i] - level) > tolerance:
            kept.append(i)
            level = y[i]
    if kept[-1] != len(y) - 1:
        kept.append(len(y) - 1)
    return np.asarray(kept)


def _vertices(y: np.ndarray, shape: str, tolerance: float) -> np.ndarray:
    """The vertices of one line to draw: every point, or (a step line with a tolerance) ``step_vertices``."""
    if shape != "hv" or len(y) < 3 or not np.all(np.isfinite(y)) or not tolerance > 0:
        return np.arange(len(y))
    return step_vertices(y, tolerance)


def schedule_figure(
    plan: Plan, panels: Sequence[str] = tuple(SCHEDULE_PANELS), max_error: float | None = None
) -> go.Figure:
    """Holdings, child orders and/or participation of every planned strategy, stacked on a shared time axis.

    Built from plain dicts: plotly's per-trace validation through make_subplots/add_trace costs ~10x more and
    this figure is redrawn on every slider move. Child orders and participation are clipped above so that one
    block (e.g. immediate) does not flatten every other line (hover shows the values). With ``max_error`` (a share
    of each panel's height, e.g. SCREEN_ERROR) every step line keeps only the vertices it needs to be drawn within
    that error (``step_vertices``): a TWAP's child orders are two points, not 390. The holdings keep every slice
    (the shares left at each slice boundary are what a trader reads off the default panel, and the page's tests).
    Without ``max_error`` every slice is a point (the report).
    """
    colours = strategy_colours()
    times, time_title = time_axis(plan)
    count, gap = len(panels), 0.06
    height = (1.0 - gap * (count - 1)) / count
    data: list[dict] = []
    layout: dict[str, Any] = {
        "height": 120 + 260 * count,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
        "legend": {"orientation": "h", "y": -0.35 / count},
        "annotations": [],
    }
    for i, panel in enumerate(panels):
        title, y_title, hover, shape = SCHEDULE_PANELS[panel]
        suffix = "" if i == 0 else str(i + 1)
        bottom = 1.0 - (i + 1) * height - i * gap
        values = _panel_values(plan, panel)
        top = None if panel == "holdings" else _robust_top([y for _, y in values])
        x = times if panel == "holdings" else times[:-1]
        span = top if top is not None else max((float(np.ptp(y)) for _, y in values if y.size), default=0.0)
        tolerance = max_error * span if max_error is not None else 0.0
        for row, y in values:
            name, label = row.strategy.name, row.strategy.label
            kept = _vertices(y, shape, tolerance)
            data.append(
                {
                    "type": "scatter", "mode": "lines", "x": x[kept], "y": y[kept],
                    "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "name": label, "legendgroup": name,
                    "showlegend": i == 0, "line": {"color": colours[name], "width": 2, "shape": shape},
                    "hovertemplate": "%{x:.4g}: " + hover + "<extra>" + label + "</extra>",
                }
            )  # fmt: skip
        y_axis = {"domain": [bottom, bottom + height], "title": {"text": y_title}}
        if top is not None:
            y_axis["range"] = [0, top]
        layout[f"yaxis{suffix}"] = y_axis
        last = i == count - 1
        x_axis = {"anchor": f"y{suffix}", "showticklabels": last}
        if last:
            x_axis["title"] = {"text": time_title}
        else:
            x_axis["matches"] = f"x{count}"  # every panel follows the bottom one's zoom
        layout[f"xaxis{suffix}"] = x_axis
        layout["annotations"].append(
            {"text": title, "xref": "paper", "yref": "paper", "x": 0.5, "y": bottom + height, "yanchor": "bottom",
             "showarrow": False, "font": {"size": 14}}
        )  # fmt: skip
    return go.Figure({"data": data, "layout": layout})


def _robust_top(series: list[np.ndarray]) -> float:
    """An axis top that keeps one-slice blocks (e.g. immediate) from flattening every other line.

    The 98th percentile of each series, the largest of them, plus 15%; blocks above it are clipped
    (hover still shows their values).
    """
    tops = [float(np.percentile(values, 98)) for values in series if values.size]
    top = max(tops, default=1.0)
    return 1.15 * top if top > 0 else 1.0


FRONTIER_LAYOUT = {  # cost against risk, shared by the frontier and the sweep's cost-risk paths
    "height": 420,
    "xaxis_title": "standard deviation of cost (bps of notional)",
    "yaxis_title": "expected cost (bps of notional, log scale)",
    "yaxis_type": "log",
    "margin": {"l": 60, "r": 20, "t": 20, "b": 40},
}


def frontier_figure(plan: Plan, frontier: Frontier) -> go.Figure:
    """The Almgren–Chriss efficient frontier (expected cost against std, bps) with every strategy as a point."""
    colours = strategy_colours()
    notional = plan.order.shares * plan.market.price_usd
    to_bps = 1e4 / notional
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=frontier.std_usd * to_bps,
            y=frontier.expected_usd * to_bps,
            mode="lines",
            line={"color": "#888", "dash": "dot"},
            name="efficient frontier (AC)",
            customdata=frontier.risk_aversion_per_usd,
            hovertemplate="std %{x:.1f} bps, E %{y:.1f} bps, λ = %{customdata:.2g} /$<extra></extra>",
        )
    )
    for row in plan.planned:
        figure.add_trace(
            go.Scatter(
                x=[row.cost.std_usd * to_bps],
                y=[row.cost.expected_usd * to_bps],
                mode="markers",
                marker={"size": 12, "color": colours[row.strategy.name]},
                name=row.strategy.label,
                hovertemplate="std %{x:.1f} bps, E %{y:.1f} bps<extra>" + row.strategy.label + "</extra>",
            )
        )
    figure.update_layout(**FRONTIER_LAYOUT)
    return figure


def sweep_figure(result: Sweep, label: str, log_x: bool) -> go.Figure:
    """Expected cost, std and VaR95 (bps of notional) of every strategy against the swept parameter."""
    colours = strategy_colours()
    figure = make_subplots(
        rows=1, cols=3, shared_xaxes=True, subplot_titles=("Expected cost (log)", "Std of cost", "VaR 95% (log)")
    )
    for name, strategy_label in result.labels.items():
        for col, values in enumerate((result.expected_usd[name], result.std_usd[name], result.var95_usd[name]), 1):
            figure.add_trace(
                go.Scatter(
                    x=result.values,
                    y=1e4 * values / result.notional_usd,
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": colours[name], "width": 2},
                    name=strategy_label,
                    legendgroup=name,
                    showlegend=col == 1,
                    hovertemplate=f"{label} = %{{x:.4g}}: %{{y:.1f}} bps<extra>{strategy_label}</extra>",
                ),
                row=1,
                col=col,
            )
    figure.update_xaxes(title_text=label, type="log" if log_x else "linear")
    figure.update_yaxes(title_text="bps of notional", row=1, col=1)
    figure.update_layout(
        height=460, margin={"l": 60, "r": 20, "t": 40, "b": 40}, legend={"orientation": "h", "y": -0.25}
    )
    return figure


def sweep_frontier_figure(result: Sweep, label: str) -> go.Figure:
    """Each strategy's (std, expected cost) path as the parameter moves: the frontier view of a sweep."""
    colours = strategy_colours()
    figure = go.Figure()
    for name, strategy_label in result.labels.items():
        figure.add_trace(
            go.Scatter(
                x=1e4 * result.std_usd[name] / result.notional_usd,
                y=1e4 * result.expected_usd[name] / result.notional_usd,
                mode="lines+markers",
                marker={"size": 5},
                line={"color": colours[name]},
                name=strategy_label,
                customdata=result.values,
                hovertemplate=f"{label} = %{{customdata:.4g}}<br>std %{{x:.1f}} bps, E %{{y:.1f}} bps"
                f"<extra>{strategy_label}</extra>",
            )
        )
    figure.update_layout(**FRONTIER_LAYOUT)
    return figure


def cost_breakdown_figure(plan: Plan) -> go.Figure:
    """Expected cost of each strategy split into spread, temporary, permanent and drift (bps), with ±1 std."""
    components = [("spread", "#8da0cb"), ("temporary", "#fc8d62"), ("permanent", "#66c2a5"), ("drift", "#e5c494")]
    labels = [row.strategy.label for row in plan.planned]
    figure = go.Figure()
    for component, colour in components:
        values = [row.cost.to_bps(getattr(row.cost, f"{component}_usd")) for row in plan.planned]
        figure.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=component,
                marker_color=colour,
                hovertemplate="%{x}: %{y:.1f} bps " + component + "<extra></extra>",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=[row.cost.to_bps(row.cost.expected_usd) for row in plan.planned],
            mode="markers",
            marker={"color": "#1b1f24", "size": 9, "symbol": "diamond"},
            error_y={"type": "data", "array": [row.cost.to_bps(row.cost.std_usd) for row in plan.planned]},
            name="expected ± 1 std",
            hovertemplate="%{x}: E %{y:.1f} bps<extra></extra>",
        )
    )
    totals = np.array([row.cost.to_bps(row.cost.expected_usd + row.cost.std_usd) for row in plan.planned])
    typical = float(np.median(totals)) if totals.size else 0.0
    clipped = totals.size > 2 and typical > 0 and totals.max() > 5 * typical
    figure.update_layout(
        barmode="relative",
        height=460,
        yaxis_title="bps of arrival notional" + (" (clipped: hover for the largest)" if clipped else ""),
        yaxis_range=[min(0.0, float(totals.min()) * 1.1), 3 * typical] if clipped else None,
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure
