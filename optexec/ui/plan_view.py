"""Cached planning and the cost table as the pages show it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from optexec.costs import Frontier, default_frontier_risk_aversions, efficient_frontier
from optexec.models import MarketParams, Order
from optexec.planning import Plan, cost_table, make_plan
from optexec.sensitivity import Sweep, sweep


@st.cache_data(max_entries=64, show_spinner=False)
def cached_plan(order: Order, market: MarketParams, settings_items: tuple) -> Plan:
    """make_plan, cached on its inputs (settings as sorted items so they hash)."""
    return make_plan(order, market, dict(settings_items))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_frontier(order: Order, market: MarketParams) -> Frontier:
    """The Almgren–Chriss efficient frontier for the order, cached."""
    return efficient_frontier(order, market, default_frontier_risk_aversions(order, market))


COST_COLUMNS = {
    "strategy": st.column_config.TextColumn("Strategy"),
    "expected_cost_bps": st.column_config.NumberColumn("E (bps)", format="%.1f"),
    "expected_cost_usd": st.column_config.NumberColumn("E ($)", format="localized"),
    "std_cost_bps": st.column_config.NumberColumn("Std (bps)", format="%.1f"),
    "std_cost_usd": st.column_config.NumberColumn("Std ($)", format="localized"),
    "var95_bps": st.column_config.NumberColumn("VaR95 (bps)", format="%.1f"),
    "var95_usd": st.column_config.NumberColumn("VaR95 ($)", format="localized"),
    "objective_usd": st.column_config.NumberColumn("E + λV ($)", format="localized"),
    "spread_usd": st.column_config.NumberColumn("Spread ($)", format="localized"),
    "temporary_usd": st.column_config.NumberColumn("Temporary ($)", format="localized"),
    "permanent_usd": st.column_config.NumberColumn("Permanent ($)", format="localized"),
    "drift_usd": st.column_config.NumberColumn("Drift ($)", format="localized"),
    "transient_model_usd": st.column_config.NumberColumn(
        "E, transient model ($)", format="localized", help="Obizhaeva–Wang transient impact + spread + permanent"
    ),
    "max_participation": st.column_config.NumberColumn("Max participation", format="percent"),
    "best": st.column_config.TextColumn("", help="lowest E + λV at the chosen risk aversion"),
}


@st.cache_data(max_entries=64, show_spinner=False)
def cost_frame(order: Order, market: MarketParams, settings_items: tuple) -> pd.DataFrame:
    """The cost table of the (cached) plan with the cheapest (lowest E + lambda V) row marked, cached too."""
    table = cost_table(cached_plan(order, market, settings_items))
    money = [c for c in table.columns if c.endswith("_usd")]
    table[money] = table[money].round(0)
    if not table.empty:
        table.insert(0, "best", ["★" if i == table["objective_usd"].idxmin() else "" for i in table.index])
    return table


def show_cost_table(plan: Plan) -> None:
    """The cost table, one row per strategy, in $ and bps."""
    frame = cost_frame(plan.order, plan.market, tuple(sorted(plan.settings.items())))
    st.dataframe(
        frame,
        hide_index=True,
        column_config=COST_COLUMNS,
        column_order=list(COST_COLUMNS)[-1:] + list(COST_COLUMNS)[:-1],
        height=38 + 35 * len(frame),  # every strategy visible, no inner scroll
    )


@st.cache_data(max_entries=64, show_spinner="Sweeping…")
def cached_sweep(
    order: Order, market: MarketParams, settings_items: tuple, param: str, values: tuple, names: tuple
) -> Sweep:
    """sensitivity.sweep, cached on its inputs."""
    return sweep(order, market, dict(settings_items), param, values, names)
