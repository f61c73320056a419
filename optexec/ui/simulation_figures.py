"""Plotly figures of a simulation: cost distributions, cost split and sample paths (no Streamlit here)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optexec.simulation.engine import COMPONENTS, SimulationResult

COMPONENT_COLOURS = {"spread": "#8da0cb", "temporary": "#fc8d62", "permanent": "#66c2a5", "transient": "#a6d854",
                     "timing": "#e5c494"}  # fmt: skip


def _colours() -> dict[str, str]:
    from optexec.ui.charts import strategy_colours  # one colour per strategy on every page

    return strategy_colours()


def _time_axis(result: SimulationResult) -> tuple[np.ndarray, str]:
    days = result.order.times_days
    if result.order.horizon_days <= 1.0:
        return days * result.market.session_minutes, "time from start (trading minutes)"
    return days, "time from start (trading days)"


def off_scale(result: SimulationResult) -> list:
    """Runs whose median cost is far above the others' (more than 20 typical widths): drawn apart or named."""
    runs = list(result.runs)
    if not runs:
        return []
    medians = np.array([np.median(run.bps(run.cost_usd)) for run in runs])
    typical = float(np.median(np.abs(medians)))
    widths = [float(np.subtract(*np.percentile(run.bps(run.cost_usd), [99, 1]))) for run in runs]
    scale = max(typical, float(np.median(widths)), 1e-9)
    return [run for run, median in zip(runs, medians, strict=True) if median > typical + 20 * scale]


def distribution_figure(result: SimulationResult, max_points: int = 2000) -> go.Figure:
    """Implementation shortfall per path (bps), one violin per strategy side by side, on the same paths.

    Strategies whose median is far above the others (e.g. an immediate block) are left off the common scale
    and named in the title, so they do not flatten every other distribution.
    """
    colours = _colours()
    runs = list(result.runs)
    off = off_scale(result)
    figure = go.Figure()
    off_names = {run.name for run in off}
    for run in runs:
        if run.name in off_names:
            continue
        costs = run.bps(run.cost_usd[:max_points])
        figure.add_trace(
            go.Violin(
                y=costs,
                name=run.label,
                line_color=colours.get(run.name, "#444"),
                box_visible=True,
                meanline_visible=True,
                points=False,
                hoverinfo="y+name",
            )
        )
    title = "Implementation shortfall per path"
    if off:
        title += " (off scale: " + ", ".join(f"{r.label} {r.bps(r.mean_usd):,.0f} bps" for r in off) + ")"
    figure.update_layout(
        title=title, yaxis_title="bps of arrival notional", showlegend=False, height=460,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )  # fmt: skip
    return figure


def components_figure(result: SimulationResult) -> go.Figure:
    """Mean cost of each strategy split into spread, temporary, permanent, transient and timing (bps), ± 2 s.e.

    Off-scale strategies (see ``off_scale``) are left out and named in the title.
    """
    off = off_scale(result)
    off_names = {run.name for run in off}
    runs = [run for run in result.runs if run.name not in off_names]
    labels = [run.label for run in runs]
    figure = go.Figure()
    for component in COMPONENTS:
        figure.add_trace(
            go.Bar(
                x=labels,
                y=[run.bps(run.component_means_usd()[component]) for run in runs],
                name=component,
                marker_color=COMPONENT_COLOURS[component],
                hovertemplate="%{x}: %{y:.2f} bps " + component + "<extra></extra>",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=[run.bps(run.mean_usd) for run in runs],
            error_y={"type": "data", "array": [2 * run.bps(run.stderr_mean_usd) for run in runs]},
            mode="markers",
            marker={"color": "#1b1f24", "size": 9, "symbol": "diamond"},
            name="mean ± 2 s.e.",
            hovertemplate="%{x}: mean %{y:.2f} bps<extra></extra>",
        )
    )
    title = "Mean cost by component"
    if off:
        title += " (off scale: " + ", ".join(f"{r.label} {r.bps(r.mean_usd):,.0f} bps" for r in off) + ")"
    figure.update_layout(
        title=title, barmode="relative", height=420, yaxis_title="bps of arrival notional",
        margin={"l": 60, "r": 20, "t": 50, "b": 40}, legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return figure


def paths_figure(result: SimulationResult, names: list[str], count: int = 10) -> go.Figure:
    """Sample mid-price paths (shared by every strategy) and the chosen strategies' holdings on the same paths."""
    colours = _colours()
    times, title = _time_axis(result)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=("Mid price (unimpacted), sample paths", "Shares left to trade"))  # fmt: skip
    mids = result.sample_mid_usd[:count]
    for i, mid in enumerate(mids):
        figure.add_trace(
            go.Scatter(x=times, y=mid, mode="lines", line={"color": "#888", "width": 1}, showlegend=False,
                       hovertemplate="%{x:.4g}: %{y:,.2f} $<extra>path " + str(i + 1) + "</extra>"),
            row=1, col=1,
        )  # fmt: skip
    for run in result.runs:
        if run.name not in names:
            continue
        for i, holdings in enumerate(run.sample_holdings_shares[:count]):
            figure.add_trace(
                go.Scatter(x=times, y=holdings, mode="lines", name=run.label, legendgroup=run.name,
                           showlegend=i == 0, line={"color": colours.get(run.name, "#444"), "width": 1},
                           hovertemplate="%{x:.4g}: %{y:,.0f} shares<extra>" + run.label + f" path {i + 1}</extra>"),
                row=2, col=1,
            )  # fmt: skip
    figure.update_yaxes(title_text="$ per share", row=1, col=1)
    figure.update_yaxes(title_text="shares", tickformat=",.0f", row=2, col=1)
    figure.update_xaxes(title_text=title, row=2, col=1)
    figure.update_layout(height=620, margin={"l": 60, "r": 20, "t": 40, "b": 40}, legend={"orientation": "h"})
    return figure
