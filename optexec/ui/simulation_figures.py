"""Plotly figures of a simulation: cost distributions, cost split and sample paths (no Streamlit here)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optexec.simulation.engine import COMPONENTS, SimulationResult
from optexec.ui import chart_layout as cl

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


def _off_scale_title(title: str, off: list) -> str:
    """The chart's title and, on a smaller line under it, the strategies left off its scale with their means."""
    if not off:
        return title
    note = cl.note_lines(["Off scale, not drawn: " + ", ".join(f"{r.label} {cl.bps_text(r.bps(r.mean_usd))}"
                                                                for r in off)])  # fmt: skip
    return f"{title}<br><span style='font-size:11px;color:#444'>{note}</span>"


def _title_lines(title: str) -> int:
    return title.count("<br>") + 1


def distribution_figure(result: SimulationResult, max_points: int = 2000) -> go.Figure:
    """Implementation shortfall per path (bps), one horizontal violin per strategy, on the same paths.

    Strategies whose median is far above the others (e.g. an immediate block) are left off the common scale
    and named under the title, so they do not flatten every other distribution. Horizontal, with the strategies'
    names wrapped on the left: they never collide, on a phone either.
    """
    colours = _colours()
    off = off_scale(result)
    off_names = {run.name for run in off}
    runs = [run for run in result.runs if run.name not in off_names]
    figure = go.Figure()
    for run in runs:
        costs = run.bps(run.cost_usd[:max_points])
        figure.add_trace(
            go.Violin(
                x=costs, y0=cl.wrap(run.label), name=cl.wrap(run.label), orientation="h",
                line_color=colours.get(run.name, "#444"), box_visible=True, meanline_visible=True, points=False,
                hoverinfo="x+name", side="both", width=0.9,
            )
        )  # fmt: skip
    title = _off_scale_title("Implementation shortfall per path", off)
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"}, showlegend=False, height=110 + 38 * len(runs),
        xaxis={"title": {"text": "bps of arrival notional"}, "automargin": True},
        yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 11}},
        margin={"l": 10, "r": 20, "t": 30 + 18 * _title_lines(title), "b": 40},
    )  # fmt: skip
    return figure


def components_figure(result: SimulationResult) -> go.Figure:
    """Mean cost of each strategy split into spread, temporary, permanent, transient and timing (bps), ± 2 s.e.

    Horizontal bars with the names wrapped on the left; off-scale strategies (see ``off_scale``) are left out and
    named under the title.
    """
    off = off_scale(result)
    off_names = {run.name for run in off}
    runs = [run for run in result.runs if run.name not in off_names]
    labels = [cl.wrap(run.label) for run in runs]
    names = [run.label for run in runs]
    figure = go.Figure()
    for component in COMPONENTS:
        figure.add_trace(
            go.Bar(
                y=labels, x=[run.bps(run.component_means_usd()[component]) for run in runs], orientation="h",
                name=component, marker_color=COMPONENT_COLOURS[component], customdata=names,
                hovertemplate="%{customdata}: %{x:.2f} bps " + component + "<extra></extra>",
            )
        )  # fmt: skip
    figure.add_trace(
        go.Scatter(
            y=labels, x=[run.bps(run.mean_usd) for run in runs],
            error_x={"type": "data", "array": [2 * run.bps(run.stderr_mean_usd) for run in runs]},
            mode="markers", marker={"color": "#1b1f24", "size": 9, "symbol": "diamond"}, name="mean ± 2 s.e.",
            customdata=names, hovertemplate="%{customdata}: mean %{x:.2f} bps<extra></extra>",
        )
    )  # fmt: skip
    title = _off_scale_title("Mean cost by component", off)
    layout = cl.legend_below({"height": 110 + 34 * len(runs)}, len(COMPONENTS) + 1)
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"}, barmode="relative",
        xaxis={"title": {"text": "bps of arrival notional"}, "automargin": True},
        yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 11}},
        margin={"l": 10, "r": 20, "t": 30 + 18 * _title_lines(title), "b": 40}, **layout,
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
    figure.update_xaxes(title_text=title, automargin=True, row=2, col=1)
    figure.update_layout(margin={"l": 60, "r": 20, "t": 40, "b": 40}, **cl.legend_below({"height": 620}, len(names)))
    return figure
