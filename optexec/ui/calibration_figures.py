"""Plotly figures of the Calibrate and Post-trade pages (no Streamlit here; pages only draw them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optexec.calibration.calibration import Calibration


def _clock(minutes: np.ndarray, open_minute: int) -> list[str]:
    """Local times of day ``HH:MM`` of minutes after the session open."""
    return [f"{(open_minute + int(m)) // 60:02d}:{(open_minute + int(m)) % 60:02d}" for m in minutes]


def volatility_figure(cal: Calibration) -> go.Figure:
    """The volatility estimators side by side (annualised %, 95% error bars)."""
    names = list(cal.volatility)
    vals = np.array([cal.volatility[n].value for n in names]) * np.sqrt(252) * 100
    errs = np.array([cal.volatility[n].stderr for n in names]) * np.sqrt(252) * 100 * 1.96
    fig = go.Figure(
        go.Bar(
            x=[n.replace("_", " ") for n in names],
            y=vals,
            error_y={"type": "data", "array": np.nan_to_num(errs).tolist()},
            name="annualised vol",
            hovertemplate="%{x}<br>%{y:.2f}% a year<extra></extra>",
        )
    )
    fig.update_layout(yaxis_title="annualised volatility (%)", height=360, margin={"t": 20, "b": 20})
    return fig


def profile_figure(cal: Calibration) -> go.Figure:
    """Median intraday volume share per minute with its 10–90% day-to-day band (exchange-local times)."""
    prof = cal.volume_profile
    session = cal.coverage.session if cal.coverage else None
    x = _clock(np.arange(prof.share.size), session.open_minute if session else 0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=prof.high * 100, line={"width": 0}, name="90th percentile", hoverinfo="skip"))
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
    fig.update_layout(
        yaxis_title="share of daily volume (%)",
        xaxis_title=f"local time ({session.time_zone})" if session else "minute of the session",
        height=360,
        margin={"t": 20, "b": 20},
    )
    return fig


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
    fig.update_layout(
        xaxis_title="signed trading rate (shares/day)",
        yaxis_title="temporary impact ($/share)",
        height=400,
        margin={"t": 20, "b": 20},
    )
    return fig


def factor_figure(cal: Calibration) -> go.Figure:
    """Autocovariance of deseasonalised log realised variance and the two-factor fit."""
    f = cal.factors
    fig = go.Figure()
    if f is None:
        return fig
    fig.add_trace(go.Scatter(x=f.lags_days, y=f.acf, mode="markers", name="sample", marker={"size": 4}))
    fig.add_trace(go.Scatter(x=f.lags_days, y=f.acf_fit, mode="lines", name="two-factor fit"))
    fig.update_layout(
        xaxis_title="lag (trading days)",
        yaxis_title="autocovariance of log variance",
        height=360,
        margin={"t": 20, "b": 20},
    )
    return fig


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
    fig.update_layout(
        barmode="relative", yaxis_title="cost (bp of arrival notional)", height=380, margin={"t": 20, "b": 20}
    )
    return fig


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
    fig.update_layout(yaxis_title=label, xaxis_title="run time (UTC)", height=320, margin={"t": 20, "b": 20},
                      yaxis={"range": [0, 1.15 * top] if top > 0 else None, "exponentformat": "e"})  # fmt: skip
    return fig
