"""Where the app's market parameters come from: the symbols it offers and each one's parameters.

The bundled synthetic symbols in the store use their planted parameters (saved beside the sample data)
until the calibration issue lands; DEMO is the Almgren–Chriss (2000) Table 1 stock.
"""

from __future__ import annotations

import streamlit as st

from optexec.models import MarketParams, u_shaped_volume_profile
from optexec.store import db, sample

DEMO_SYMBOL = "DEMO"


def demo_market() -> MarketParams:
    """The Almgren–Chriss Table 1 stock (MATH.md section 2) with a U-shaped intraday volume profile."""
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())


@st.cache_data(ttl=30, show_spinner="Opening the market-data store…")
def _store_symbols() -> list[str]:
    return db.list_symbols(db.connect())


def symbols() -> list[str]:
    """Symbols with parameters: the sample symbols present in the store, then DEMO."""
    try:
        in_store = set(_store_symbols())
    except ValueError as error:  # e.g. the database is held by another process
        st.sidebar.warning(f"Market-data store unavailable: {error}")
        in_store = set()
    return [s for s in sample.sample_symbols() if s in in_store] + [DEMO_SYMBOL]


@st.cache_data(show_spinner=False)
def market_for(symbol: str) -> MarketParams:
    """The default market parameters of a symbol."""
    return demo_market() if symbol == DEMO_SYMBOL else sample.planted_market_params(symbol)


def parameter_source(symbol: str) -> str:
    """Where the symbol's default parameters come from, for reports."""
    if symbol == DEMO_SYMBOL:
        return "Parameters: the Almgren–Chriss (2000) Table 1 example stock with a stylised U-shaped volume profile."
    return (
        f"Parameters: {symbol} is a synthetic symbol of the bundled sample; its defaults are the parameters planted "
        "in the sample generator (data/planted_params.json), adjusted by the sidebar."
    )
