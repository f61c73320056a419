"""Plotly figures of the Calibrate and Post-trade pages (no Streamlit here; pages only draw them).

Each reads at 390 px as at 1440 px: a legend of more than one entry goes below the x-axis title
(``chart_layout.legend_below``), the margins leave room for the axis titles (``_MARGIN``, automargin on), the
volatility estimators are horizontal bars (their names never rotate into each other) and category axes of many
orders keep their labels apart (plotly's automatic angle, ``_categories``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optexec.calibration.calibration import Calibration
from optexec.ui import chart_layout

#: margins that keep the axis titles inside the figure at phone width (automargin grows them for long ticks)
_MARGIN = {"l": 60, "r": 16, "t": 20, "b": 40}


def _layout(fig: go.Figure, height: int, **layout) -> go.Figure:
    """The shared layout: margins, automargin axes and, with more than one named trace, the legend below."""
    entries = sum(1 for trace in fig.data if trace.showlegend is not False and trace.name)
    base = {"height": height, "margin": _MARGIN, **layout}
    if entries > 1:
        base = chart_layout.legend_below(base, entries)
    fig.update_layout(**base)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _clock(minutes: np.ndarray, open_minute: int) -> list[str]:
    """Local times of day ``HH:MM`` of minutes after the session open."""
    return [f"{(open_minute + int(m)) // 60:02d}:{(open_minute + int(m)) % 60:02d}" for m in minutes]


#: the volatility estimators by their authors' names (optexec.calibration.volatility.ESTIMATORS)
ESTIMATOR_LABELS = {"close_to_close": "Close to close", "parkinson": "Parkinson", "garman_klass": "Garman–Klass",
                    "rogers_satchell": "Rogers–Satchell", "yang_zhang": "Yang–Zhang",
                    "realised_15min": "Realised (15-min returns)"}  # fmt: skip


def volatility_figure(cal: Calibration) -> go.Figure:
    """The volatility estimators side by side (annualised %, 95% error bars)."""
    names = list(cal.volatility)
    vals = np.array([cal.volatility[n].value for n in names]) * np.sqrt(252) * 100
    errs = np.array([cal.volatility[n].stderr for n in names]) * np.sqrt(252) * 100 * 1.96
    fig = go.Figure(
        go.Bar(
            y=[ESTIMATOR_LABELS.get(n, n.replace("_", " ")) for n in names],
            x=vals,
            orientation="h",
            error_x={"type": "data", "array": np.nan_to_num(errs).tolist()},
            name="annualised vol",
            hovertemplate="%{y}<br>%{x:.2f}% a year<extra></extra>",
        )
    )
    return _layout(
        fig,
        80 + 40 * len(names),
        xaxis_title="annualised volatility (%)<br>whiskers: 95% confidence",
        yaxis={"autorange": "reversed"},
    )


def profile_figure(cal: Calibration) -> go.Figure:
    """Median intraday volume share per minute with its 10–90% day-to-day band (exchange-local times)."""
    prof = cal.volume_profile
    session = cal.coverage.session if cal.coverage else None
    x = _clock(np.arange(prof.share.size), session.open_minute if session else 0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=prof.high * 100, line={"width": 0}, name="90th percentile", hoverinfo="skip",
                             showlegend=False))  # fmt: skip  # the band's upper edge: the band is named below
    fig.add_trace(
        go.Scatter(
            x=x,
            y=prof.low * 100,
            fill="tonexty",
            line={"width": 0},
            name="10–90% band",
            hoverinfo="skip",
            fillcolor="rgba(99,110,250,0.2)",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x, y=prof.share * 100, name="median share", hovertemplate="%{x}<br>%{y:.3f}% of the day<extra></extra>"
        )
    )
    # each whole hour (every other one past eight ticks): clock times that keep apart at 390 px
    ticks = [t for t in x if t.endswith(":00")]
    if ticks:
        fig.update_xaxes(tickvals=ticks if len(ticks) <= 8 else ticks[::2])
    return _layout(
        fig,
        360,
        yaxis_title="share of daily volume (%)",
        xaxis_title=f"local time ({session.time_zone})" if session else "minute of the session",
    )


def impact_figure(cal: Calibration) -> go.Figure:
    """Binned temporary-impact data with each fitted curve (h in $/share against the rate in shares/day)."""
    fit = cal.impact
    fig = go.Figure()
    if fit is None:
        return fig
    b = fit.bins
    fig.add_trace(
        go.Scatter(
            x=b["rate_shares_per_day"],
            y=b["impact_usd"],
            mode="markers",
            name="binned data",
            error_y={"type": "data", "array": (1.96 * np.asarray(b["stderr_usd"])).tolist()},
            hovertemplate="%{x:,.0f} shares/day<br>$%{y:.4f}/share<extra></extra>",
        )
    )
    grid = np.linspace(min(b["rate_shares_per_day"]), max(b["rate_shares_per_day"]), 201)
    for form, curve in fit.curves.items():
        label = f"{form}{' (best)' if form == fit.best_form else ''}"
        fig.add_trace(go.Scatter(x=grid, y=curve.impact_usd(grid), mode="lines", name=label))
    return _layout(fig, 400, xaxis_title="signed trading rate (shares/day)", yaxis_title="temporary impact ($/share)")


def factor_figure(cal: Calibration) -> go.Figure:
    """Autocovariance of deseasonalised log realised variance and the two-factor fit."""
    f = cal.factors
    fig = go.Figure()
    if f is None:
        return fig
    fig.add_trace(go.Scatter(x=f.lags_days, y=f.acf, mode="markers", name="sample", marker={"size": 4}))
    fig.add_trace(go.Scatter(x=f.lags_days, y=f.acf_fit, mode="lines", name="two-factor fit"))
    return _layout(fig, 360, xaxis_title="lag (trading days)", yaxis_title="autocovariance of log variance")


def decomposition_figure(orders: pd.DataFrame) -> go.Figure:
    """Per order: realised shortfall parts (stacked) against the pre-trade expected cost, in bp."""
    fig = go.Figure()
    if orders.empty:
        return fig
    notional = orders["shares"] * orders["arrival_price"] / 1e4
    for part in ("delay_usd", "trading_usd", "opportunity_usd", "fees_usd"):
        fig.add_trace(go.Bar(x=orders["order_id"], y=orders[part] / notional, name=part.replace("_usd", "")))
    fig.add_trace(
        go.Scatter(
            x=orders["order_id"],
            y=orders["expected_cost_bps"],
            mode="markers",
            name="expected (pre-trade)",
            marker={"symbol": "diamond", "size": 12},
        )
    )
    fig.update_xaxes(type="category")  # order ids are names, not numbers
    return _layout(fig, 380, barmode="relative", xaxis_title="order", yaxis_title="cost (bps of arrival notional)")


def history_figure(history: pd.DataFrame, label: str) -> go.Figure:
    """A parameter over its saved runs (accepted runs marked)."""
    fig = go.Figure()
    if history.empty:
        return fig
    fig.add_trace(
        go.Scatter(
            x=history["run_ts"],
            y=history["value"],
            mode="lines+markers",
            name=label,
            marker={"symbol": np.where(history["accepted"], "circle", "circle-open").tolist(), "size": 9},
        )
    )
    top = float(np.nanmax(history["value"])) if history["value"].notna().any() else 1.0
    return _layout(fig, 320, yaxis_title=label, xaxis_title="run time (UTC)",
                   yaxis={"range": [0, 1.15 * top] if top > 0 else None, "exponentformat": "e"})  # fmt: skip
