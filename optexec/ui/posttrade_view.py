"""The Post-trade page's tables as a trader reads them: each column named with its unit, the orders' times on the
exchange's clock (the store holds UTC), the strategy by its label."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from optexec.strategies import registry

_IMPACT = "$/share per share/day"


def order_columns(zone: str) -> dict:
    """The column configuration of ``posttrade.order_slippage``'s frame, times in ``zone``."""
    money = {
        "delay_usd": "Delay ($)",
        "trading_usd": "Trading ($)",
        "opportunity_usd": "Opportunity ($)",
        "fees_usd": "Fees ($)",
        "realised_cost_usd": "Realised cost ($)",
        "expected_cost_usd": "Expected cost ($)",
    }
    return {
        "order_id": st.column_config.TextColumn("Order"),
        "side": st.column_config.TextColumn("Side"),
        "shares": st.column_config.NumberColumn("Shares", format="localized"),
        "filled_shares": st.column_config.NumberColumn("Filled (shares)", format="localized"),
        "fills": st.column_config.NumberColumn("Fills"),
        "start_ts": st.column_config.DatetimeColumn(f"Start ({zone})", format="YYYY-MM-DD HH:mm"),
        "end_ts": st.column_config.DatetimeColumn(f"End ({zone})", format="YYYY-MM-DD HH:mm"),
        "strategy": st.column_config.TextColumn("Strategy"),
        "arrival_price": st.column_config.NumberColumn("Arrival price ($)", format="%.4f"),
        "average_fill_price": st.column_config.NumberColumn("Average fill ($)", format="%.4f"),
        "end_price": st.column_config.NumberColumn("End price ($)", format="%.4f"),
        **{name: st.column_config.NumberColumn(label, format="localized") for name, label in money.items()},
        "realised_cost_bps": st.column_config.NumberColumn("Realised cost (bps)", format="%.1f"),
        "expected_cost_bps": st.column_config.NumberColumn("Expected cost (bps)", format="%.1f"),
        "ratio": st.column_config.NumberColumn(
            "Realised / expected", format="%.2f", help="realised cost over the pre-trade expected cost"
        ),
    }


#: the weekly recalibration's columns (``posttrade.weekly_recalibration``)
WEEK_COLUMNS = {
    "week": st.column_config.DateColumn("Week from", format="YYYY-MM-DD"),
    "orders": st.column_config.NumberColumn("Orders"),
    "realised_usd": st.column_config.NumberColumn("Realised cost ($)", format="localized"),
    "expected_usd": st.column_config.NumberColumn("Expected cost ($)", format="localized"),
    "ratio": st.column_config.NumberColumn("Realised / expected", format="%.2f"),
    "factor": st.column_config.NumberColumn("Factor (clipped to 0.5–2)", format="%.2f"),
    "before": st.column_config.NumberColumn(f"η before ({_IMPACT})", format="%.4e"),
    "after": st.column_config.NumberColumn(f"η after ({_IMPACT})", format="%.4e"),
}


def on_exchange_clock(orders: pd.DataFrame, zone: str) -> pd.DataFrame:
    """``orders`` with its start and end on the exchange's wall clock in ``zone`` (the store's times are UTC) and
    each strategy by its label (a name the registry does not know is kept as it is)."""
    local = {
        column: pd.to_datetime(orders[column]).dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
        for column in ("start_ts", "end_ts")
    }
    labels = {name: strategy.label for name, strategy in registry.STRATEGIES.items()}
    return orders.assign(**local, strategy=orders["strategy"].map(lambda name: labels.get(name, name)))


#: the history of one parameter's saved values (``calibration.storage.parameter_history``), η's unit
HISTORY_COLUMNS = {
    "run_ts": st.column_config.DatetimeColumn("Calibration run (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "value": st.column_config.NumberColumn(f"η ({_IMPACT})", format="%.4e"),
    "std_error": st.column_config.NumberColumn(f"Standard error ({_IMPACT})", format="%.4e"),
    "method": st.column_config.TextColumn("Method"),
    "accepted": st.column_config.CheckboxColumn("Accepted"),
}
