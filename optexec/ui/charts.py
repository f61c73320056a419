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
from optexec.ui import chart_layout as cl

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


#: how a second, third, ... strategy with the same schedule is drawn over the first (its colour shows in the dashes)
SAME_SCHEDULE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def same_schedules(plan: Plan) -> list[list[PlannedRow]]:
    """The planned strategies grouped by schedule (``chart_layout.same_schedule_groups``: by their holdings, never
    by their names), the registry order kept."""
    rows = list(plan.planned)
    groups = cl.same_schedule_groups(
        [row.strategy.name for row in rows], [row.schedule.holdings_shares for row in rows], plan.order.shares
    )
    return [[rows[i] for i in group] for group in groups]


_PANEL_UNITS = {"trades": "shares", "participation": "% of volume"}


def _off_scale_marks(panel: str, values: list[tuple[PlannedRow, np.ndarray]], x: np.ndarray, top: float,
                     suffix: str, colours: dict[str, str]) -> tuple[list[dict], str | None]:  # fmt: skip
    """An arrow at the top of the panel over each strategy's largest point above ``top`` (in its colour) and the note
    that names them with their values."""
    arrows, parts = [], []
    for row, y in values:
        if not y.size or not np.nanmax(y) > top:
            continue
        at = int(np.nanargmax(y))
        arrows.append(
            {"x": float(x[at]), "y": top, "xref": f"x{suffix}", "yref": f"y{suffix}", "showarrow": True,
             "arrowhead": 2, "arrowsize": 1.2, "arrowwidth": 2, "arrowcolor": colours[row.strategy.name],
             "ax": 0, "ay": 26, "text": ""}
        )  # fmt: skip
        above = int(np.sum(y > top))
        parts.append(f"{row.strategy.label} up to {np.nanmax(y):,.0f} {_PANEL_UNITS[panel]}"
                     + (f" ({above} slices)" if above > 1 else ""))  # fmt: skip
    if not parts:
        return arrows, None
    return arrows, cl.note_lines(["↑ off scale: " + parts[0], *parts[1:]])


def schedule_figure(
    plan: Plan, panels: Sequence[str] = tuple(SCHEDULE_PANELS), max_error: float | None = None
) -> go.Figure:
    """Holdings, child orders and/or participation of every planned strategy, stacked on a shared time axis.

    Built from plain dicts: plotly's per-trace validation through make_subplots/add_trace costs ~10x more and
    this figure is redrawn on every slider move. Child orders and participation are clipped above so that one
    block (e.g. immediate) does not flatten every other line: an arrow in the strategy's colour marks each clipped
    block at the top of its panel and a note names it with its size. Strategies with the same schedule
    (``same_schedules``) are drawn one over another, the later ones dashed, and named together in a note. With
    ``max_error`` (a share of each panel's height, e.g. SCREEN_ERROR) every step line keeps only the vertices it needs
    to be drawn within that error (``step_vertices``): a TWAP's child orders are two points, not 390. The holdings
    keep every slice (the shares left at each slice boundary are what a trader reads off the default panel, and the
    page's tests); a line whose times are evenly spaced then has them as a start and a step (``_x_values``). Without
    ``max_error`` every slice is a point with its time (the report).
    """
    colours = strategy_colours()
    times, time_title = time_axis(plan)
    groups = same_schedules(plan)
    dashes = {row.strategy.name: SAME_SCHEDULE_DASHES[i % len(SAME_SCHEDULE_DASHES)]
              for group in groups for i, row in enumerate(group)}  # fmt: skip
    ordered = [row for group in groups for row in group]  # a group's strategies next to each other in the legend
    rank = {row.strategy.name: k for k, row in enumerate(ordered)}
    note = cl.same_schedule_note([row.strategy.label for row in ordered], _positions(groups))
    count = len(panels)
    # the panels in pixels: each 260 px under its title and its off-scale note (19 px a line: the title's font)
    drawn = []
    for panel in panels:
        values = sorted(_panel_values(plan, panel), key=lambda item: rank[item[0].strategy.name])
        top = None if panel == "holdings" else _robust_top([y for _, y in values])
        x = times if panel == "holdings" else times[:-1]
        arrows, clipped = _off_scale_marks(panel, values, x, top, "", colours) if top is not None else ([], None)
        drawn.append((panel, values, top, x, clipped))
    headers = [24 + (19 * (clipped.count("<br>") + 1) if clipped else 0) for *_, clipped in drawn]
    same_px = 14 * (note.count("<br>") + 1) + 6 if note else 0
    plot_px = 260 * count + sum(headers[1:]) + 16 * (count - 1)
    data: list[dict] = []
    layout: dict[str, Any] = {
        "height": 10 + same_px + headers[0] + plot_px + 40,
        "margin": {"l": 60, "r": 20, "t": 10 + same_px + headers[0], "b": 40},
        "annotations": [],
    }
    upper = 1.0
    for i, (panel, values, top, x, clipped) in enumerate(drawn):
        title, y_title, hover, shape = SCHEDULE_PANELS[panel]
        suffix = "" if i == 0 else str(i + 1)
        if i:
            upper -= (16 + headers[i]) / plot_px
        bottom = upper - 260 / plot_px
        span = top if top is not None else max((float(np.ptp(y)) for _, y in values if y.size), default=0.0)
        tolerance = max_error * span if max_error is not None else 0.0
        for row, y in values:
            name, label = row.strategy.name, row.strategy.label
            kept = _vertices(y, shape, tolerance)
            data.append(
                {
                    "type": "scatter", "mode": "lines", **_x_values(x[kept], max_error is not None), "y": y[kept],
                    "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "name": label, "legendgroup": name,
                    "showlegend": i == 0,
                    "line": {"color": colours[name], "width": 2, "shape": shape, "dash": dashes[name]},
                    "hovertemplate": "%{x:.4g}: " + hover + "<extra>" + label + "</extra>",
                }
            )  # fmt: skip
        y_axis: dict[str, Any] = {"domain": [max(bottom, 0.0), upper], "title": {"text": y_title}}
        if top is not None:
            y_axis["range"] = [0, top]
            layout["annotations"].extend(_off_scale_marks(panel, values, x, top, suffix, colours)[0])
        layout[f"yaxis{suffix}"] = y_axis
        last = i == count - 1
        x_axis = {"anchor": f"y{suffix}", "showticklabels": last}
        if last:
            x_axis["title"] = {"text": time_title}
            x_axis["automargin"] = True  # the title below the tick labels, above the legend
        else:
            x_axis["matches"] = f"x{count}"  # every panel follows the bottom one's zoom
        layout[f"xaxis{suffix}"] = x_axis
        header = title + (f"<br><span style='font-size:11px;color:#444'>{clipped}</span>" if clipped else "")
        layout["annotations"].append(
            {"text": header, "xref": "paper", "yref": "paper", "x": 0.5, "y": upper, "yanchor": "bottom",
             "showarrow": False, "font": {"size": 14}}
        )  # fmt: skip
        upper = bottom
    if note:
        layout["annotations"].append(
            {"text": note, "xref": "paper", "yref": "paper", "x": 0, "y": 1, "yshift": headers[0],
             "xanchor": "left", "yanchor": "bottom", "align": "left", "showarrow": False,
             "font": {"size": 11, "color": "#444"}}
        )  # fmt: skip
    cl.legend_below(layout, len(ordered))
    return go.Figure({"data": data, "layout": layout})


def _x_values(x: np.ndarray, compact: bool) -> dict[str, Any]:
    """A trace's x: evenly spaced times (every slice kept) as Plotly's start and step ``x0``/``dx`` when ``compact``,
    within 1e-9 of a step of the times themselves (the page's hover shows 4 digits); else the times. Each of the
    page's 13 holdings lines sent its 391 times on every slider move: half the figure's bytes, which the browser
    parses, re-themes and parses again on every redraw."""
    if compact and x.size > 2:
        step = float(x[1] - x[0])
        if step > 0 and np.max(np.abs(x - (x[0] + step * np.arange(x.size)))) <= 1e-9 * step:
            return {"x0": float(x[0]), "dx": step}
    return {"x": x}


def _positions(groups: list[list[Any]]) -> list[list[int]]:
    """The groups as positions in their flattened order."""
    positions, start = [], 0
    for group in groups:
        positions.append(list(range(start, start + len(group))))
        start += len(group)
    return positions


def _robust_top(series: list[np.ndarray]) -> float:
    """An axis top that keeps one-slice blocks (e.g. immediate) from flattening every other line.

    The 98th percentile of each series, the largest of them, plus 15%; blocks above it are clipped and marked
    (``_off_scale_marks``).
    """
    tops = [float(np.percentile(values, 98)) for values in series if values.size]
    top = max(tops, default=1.0)
    return 1.15 * top if top > 0 else 1.0


def _off_scale_note(x: float, y: float, text: str, colour: str, xref: str = "x", yref: str = "y") -> dict:
    """An arrow at (x, y) on the top edge with the text below it: a point drawn off scale, named with its value."""
    return {"x": x, "y": y, "xref": xref, "yref": yref, "text": text, "showarrow": True, "arrowhead": 2,
            "arrowwidth": 2, "arrowcolor": colour, "ax": 0, "ay": 34, "xanchor": "left", "font": {"size": 11},
            "bgcolor": "rgba(255,255,255,0.85)"}  # fmt: skip


def _cost_risk_layout(std_bps: np.ndarray, expected_bps: np.ndarray, off: np.ndarray) -> dict[str, Any]:
    """Linear axes of cost against risk that hold every point that is not off scale (and its 8% to spare)."""
    keep = ~off
    return {
        "height": 440,
        "xaxis": {"title": {"text": "standard deviation of cost (bps of notional)"},
                  "range": cl.axis_range(std_bps[keep], floor_zero=False), "automargin": True},
        "yaxis": {"title": {"text": "expected cost (bps of notional)"},
                  "range": cl.axis_range(expected_bps[keep], floor_zero=False)},
        "margin": {"l": 60, "r": 20, "t": 20, "b": 40},
    }  # fmt: skip


def frontier_figure(plan: Plan, frontier: Frontier) -> go.Figure:
    """The Almgren–Chriss curve over λ (``planning.priced_frontier``: expected cost against std, bps) with every
    strategy as a point.

    Strategies with the same schedule are one point named by all of them; a point far above the others (e.g.
    Immediate, ``chart_layout.off_scale``) is an arrow at the top edge with its value, so the others keep the scale.
    """
    colours = strategy_colours()
    to_bps = 1e4 / (plan.order.shares * plan.market.price_usd)
    groups = same_schedules(plan)
    std = np.array([group[0].cost.std_usd * to_bps for group in groups])
    expected = np.array([group[0].cost.expected_usd * to_bps for group in groups])
    off = cl.off_scale(expected)
    layout = _cost_risk_layout(std, expected, off)
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=frontier.std_usd * to_bps,
            y=frontier.expected_usd * to_bps,
            mode="lines",
            line={"color": "#888", "dash": "dot"},
            name="Almgren–Chriss over λ",
            customdata=frontier.risk_aversion_per_usd,
            hovertemplate="std %{x:.1f} bps, E %{y:.1f} bps, λ = %{customdata:.2g} /$<extra></extra>",
        )
    )
    annotations = []
    for group, x, y, far in zip(groups, std, expected, off, strict=True):
        label = " = ".join(row.strategy.label for row in group)
        colour = colours[group[0].strategy.name]
        if far:
            annotations.append(
                _off_scale_note(
                    max(x, layout["xaxis"]["range"][0]),  # on the left edge when its std is left of the others
                    layout["yaxis"]["range"][1],
                    cl.wrap(f"{label}: {cl.bps_text(y)} (off scale)", 40),
                    colour,
                )
            )
        figure.add_trace(
            go.Scatter(
                x=[x], y=[y], mode="markers", marker={"size": 12, "color": colour},
                name=cl.wrap(label, 40) + (" (off scale)" if far else ""),
                hovertemplate="std %{x:.1f} bps, E %{y:.1f} bps<extra>" + cl.wrap(label, 40) + "</extra>",
            )
        )  # fmt: skip
    layout["annotations"] = annotations
    figure.update_layout(layout)
    figure.update_layout(cl.legend_below({"height": layout["height"]}, len(groups) + 1))
    return figure


def _off_scale_series(levels: dict[str, np.ndarray]) -> set[str]:
    """The series whose median is off scale against the other series' medians."""
    names = list(levels)
    medians = [float(np.nanmedian(v)) if np.isfinite(v).any() else np.nan for v in levels.values()]
    return {name for name, far in zip(names, cl.off_scale(medians), strict=True) if far}


def _off_scale_text(labels: dict[str, str], bps: dict[str, np.ndarray], names: set[str]) -> str | None:
    """ "↑ off scale: Immediate 2,290 bps" for the named series (their range of values), or None."""
    if not names:
        return None
    return cl.note_lines(["↑ off scale: " + ", ".join(f"{labels[n]} {cl.range_text(bps[n])}" for n in names)])


def _subtitle(text: str | None) -> str:
    """A smaller grey line under a panel's title, or nothing."""
    return f"<br><span style='font-size:11px;color:#444'>{text}</span>" if text else ""


def sweep_figure(result: Sweep, label: str, log_x: bool) -> go.Figure:
    """Expected cost, std and VaR95 (bps of notional) of every strategy against the swept parameter, one panel
    each, stacked (they stay readable on a phone). A strategy far above the others in a panel (e.g. Immediate) is
    left above its linear axis and named under the panel's title with its range of values. A log x axis has
    ticks that read in full (``chart_layout.log_ticks``)."""
    colours = strategy_colours()
    panels = (("Expected cost", result.expected_usd), ("Std of cost", result.std_usd), ("VaR 95%", result.var95_usd))
    bps = [{name: 1e4 * values[name] / result.notional_usd for name in result.labels} for _, values in panels]
    far = [_off_scale_series(panel) for panel in bps]
    titles = [title + _subtitle(_off_scale_text(result.labels, panel, off))
              for (title, _), panel, off in zip(panels, bps, far, strict=True)]  # fmt: skip
    # the three panels' layout as make_subplots lays it out, the traces as plain dicts: plotly validates the figure
    # once when it is built instead of once per add_trace and update (several times faster)
    layout = make_subplots(rows=3, cols=1, vertical_spacing=0.16, subplot_titles=titles).layout.to_plotly_json()
    x_axis: dict[str, Any] = {"title": {"text": label}, "automargin": True}
    if log_x and result.values.size and float(np.min(result.values)) > 0:
        x_axis |= cl.log_ticks(float(np.min(result.values)), float(np.max(result.values)))
    data: list[dict] = []
    for row, (panel, off) in enumerate(zip(bps, far, strict=True), 1):
        suffix = "" if row == 1 else str(row)
        for name, strategy_label in result.labels.items():
            data.append(
                {"type": "scatter", "x": result.values, "y": panel[name], "mode": "lines+markers",
                 "marker": {"size": 4}, "line": {"color": colours[name], "width": 2}, "name": strategy_label,
                 "legendgroup": name, "showlegend": row == 1, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                 "hovertemplate": f"{label} = %{{x:.4g}}: %{{y:.1f}} bps<extra>{strategy_label}</extra>"}
            )  # fmt: skip
        near = np.concatenate([panel[name] for name in result.labels if name not in off] or [np.zeros(1)])
        layout[f"yaxis{suffix}"] |= {"range": cl.axis_range(near, floor_zero=False), "title": {"text": "bps"}}
        layout[f"xaxis{suffix}"] |= x_axis
    layout |= {"margin": {"l": 60, "r": 20, "t": 40, "b": 40}, **cl.legend_below({"height": 900}, len(result.labels))}
    return go.Figure({"data": data, "layout": layout})


def sweep_frontier_figure(result: Sweep, label: str) -> go.Figure:
    """Each strategy's (std, expected cost) path as the parameter moves: the frontier view of a sweep. A path far
    above the others (e.g. Immediate) is an arrow at the top edge with its range of costs."""
    colours = strategy_colours()
    std = {name: 1e4 * result.std_usd[name] / result.notional_usd for name in result.labels}
    expected = {name: 1e4 * result.expected_usd[name] / result.notional_usd for name in result.labels}
    far = _off_scale_series(expected)
    names = list(result.labels)
    off = np.array([name in far for name in names])
    near = [name for name in names if name not in far] or names
    near_std, near_expected = np.concatenate([std[n] for n in near]), np.concatenate([expected[n] for n in near])
    layout = _cost_risk_layout(near_std, near_expected, np.zeros(near_std.shape, dtype=bool))
    figure = go.Figure()
    annotations = []
    for name, strategy_label in result.labels.items():
        if off[names.index(name)]:
            x = float(np.nanmedian(std[name])) if np.isfinite(std[name]).any() else 0.0
            text = cl.wrap(f"{strategy_label}: {cl.range_text(expected[name])} (off scale)", 40)
            x = max(x, layout["xaxis"]["range"][0])  # at the left edge when its std is left of the others
            x = max(x, layout["xaxis"]["range"][0])  # at the left edge when its std is left of the others
            annotations.append(_off_scale_note(x, layout["yaxis"]["range"][1], text, colours[name]))
        figure.add_trace(
            go.Scatter(
                x=std[name], y=expected[name], mode="lines+markers", marker={"size": 5},
                line={"color": colours[name]}, name=strategy_label + (" (off scale)" if name in far else ""),
                customdata=result.values,
                hovertemplate=f"{label} = %{{customdata:.4g}}<br>std %{{x:.1f}} bps, E %{{y:.1f}} bps"
                f"<extra>{strategy_label}</extra>",
            )
        )  # fmt: skip
    layout["annotations"] = annotations
    figure.update_layout(layout)
    figure.update_layout(cl.legend_below({"height": layout["height"]}, len(names)))
    return figure


#: the cost split of ``PlanCost`` (its expected cost is their sum), each in the colour the Simulate page uses
COMPONENT_COLOURS = {"spread": "#8da0cb", "temporary": "#fc8d62", "permanent": "#66c2a5", "drift": "#e5c494",
                     "transient": "#a6d854"}  # fmt: skip


def bar_height(rows: int) -> int:
    """The height of a horizontal bar chart of ``rows`` strategies (two-line labels need about 34 px a bar)."""
    return 90 + 34 * rows


def cost_breakdown_figure(plan: Plan) -> go.Figure:
    """Expected cost of each strategy split into spread, temporary, permanent, transient and drift (bps), ± 1 std.

    Horizontal bars, one per strategy with its name wrapped on the left (never rotated labels that collide). A
    strategy whose E + std is far above the others' (``chart_layout.off_scale``, e.g. Immediate) runs off the right
    edge, where its value is written ("Immediate: 48,762 bps (off scale) →"); the axis holds the others.
    """
    rows = list(plan.planned)
    labels = [cl.wrap(row.strategy.label) for row in rows]
    expected = np.array([row.cost.to_bps(row.cost.expected_usd) for row in rows])
    std = np.array([row.cost.to_bps(row.cost.std_usd) for row in rows])
    off = cl.off_scale(expected + std)
    figure = go.Figure()
    for component, colour in COMPONENT_COLOURS.items():
        values = [row.cost.to_bps(getattr(row.cost, f"{component}_usd")) for row in rows]
        figure.add_trace(
            go.Bar(
                y=labels, x=values, orientation="h", name=component, marker_color=colour,
                customdata=[row.strategy.label for row in rows],
                hovertemplate="%{customdata}: %{x:.1f} bps " + component + "<extra></extra>",
            )
        )  # fmt: skip
    figure.add_trace(
        go.Scatter(
            y=labels, x=expected, mode="markers", marker={"color": "#1b1f24", "size": 9, "symbol": "diamond"},
            error_x={"type": "data", "array": std}, name="expected ± 1 std",
            customdata=[row.strategy.label for row in rows],
            hovertemplate="%{customdata}: E %{x:.1f} bps<extra></extra>",
        )
    )  # fmt: skip
    low = [min(0.0, float(np.min(expected - std)))] if len(rows) else [0.0]
    x_range = cl.axis_range(np.concatenate([(expected + std)[~off], low]), floor_zero=False)
    annotations = [
        {"x": 1, "xref": "paper", "y": label, "yref": "y", "xanchor": "right", "showarrow": False,
         "text": f"{row.strategy.label}: {cl.bps_text(e)} (off scale) →", "font": {"size": 11},
         "bgcolor": "rgba(255,255,255,0.9)"}
        for row, label, e, far in zip(rows, labels, expected, off, strict=True) if far
    ]  # fmt: skip
    layout = cl.legend_below({"height": bar_height(len(rows))}, len(COMPONENT_COLOURS) + 1)
    figure.update_layout(
        barmode="relative",
        xaxis={
            "title": {"text": "bps of arrival notional"},
            "range": x_range if off.any() else None,
            "automargin": True,
        },
        yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 11}},
        margin={"l": 10, "r": 20, "t": 20, "b": 40},
        annotations=annotations,
        **layout,
    )
    return figure
