"""The symbols the app offers and each one's default parameters (see optexec.market_source); DEMO is the
Almgren–Chriss (2000) Table 1 stock, always available, even without a database."""

from __future__ import annotations

import streamlit as st

from optexec.market_source import SymbolParams, plannable_symbols, symbol_params
from optexec.models import MarketParams, u_shaped_volume_profile
from optexec.store import db

DEMO_SYMBOL = "DEMO"
DEMO_SOURCE = "Parameters: the Almgren–Chriss (2000) Table 1 example stock with a stylised U-shaped volume profile."


def demo_market() -> MarketParams:
    """The Almgren–Chriss Table 1 stock (MATH.md section 2) with a U-shaped intraday volume profile."""
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())


@st.cache_data(ttl=10, show_spinner="Opening the market-data store…")
def _store_symbols() -> list[str]:
    return plannable_symbols(db.connect())


def symbols() -> list[str]:
    """The store's symbols (bundled sample first), then DEMO."""
    try:
        in_store = _store_symbols()
    except ValueError as error:  # e.g. the database is held by another process
        st.sidebar.warning(f"Market-data store unavailable: {error}")
        in_store = []
    return [*in_store, DEMO_SYMBOL]


@st.cache_data(ttl=10, show_spinner=False)
def params_for(symbol: str) -> SymbolParams:
    """A symbol's default parameters and their source; ValueError when it has none yet."""
    if symbol == DEMO_SYMBOL:
        return SymbolParams(demo_market(), DEMO_SOURCE)
    return symbol_params(db.connect(), symbol)
