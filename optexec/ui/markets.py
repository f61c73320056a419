"""The symbols the app offers and each one's parameters (see optexec.market_source), read through ``db.reading``
and cached on ``db.version()``: whatever is loaded, calibrated or accepted, in the app or from the command line,
shows on the next run. DEMO is the Almgren–Chriss (2000) Table 1 stock, always available, even without a store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import streamlit as st

from optexec.market_source import DEMO, SymbolParams, plannable_symbols, run_params, symbol_params
from optexec.models import MarketParams, u_shaped_volume_profile
from optexec.store import db

DEMO_SYMBOL = "DEMO"
DEMO_LABEL = "DEMO · made-up example"
DEMO_SOURCE = (
    "Parameters: DEMO is not a real stock: the made-up Almgren–Chriss (2000) Table 1 example with a stylised U-shaped "
    "volume profile."
)
CACHE: dict[str, Any] = {"max_entries": 256, "show_spinner": False}


def demo_market() -> MarketParams:
    """The Almgren–Chriss Table 1 stock (docs/MATH.md section 2) with a U-shaped intraday volume profile."""
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())


@dataclass(frozen=True)
class Store:
    """What the store offers this run: its symbols, or why it cannot be read; and its version stamp."""

    symbols: tuple[str, ...]
    problem: str | None
    version: str
    path: str

    @property
    def empty(self) -> bool:
        """The store was read and holds no symbol."""
        return self.problem is None and not self.symbols


def store_version() -> str:
    """The store's version stamp (a file stat, no lock, no read)."""
    return db.version()


@st.cache_data(**CACHE)
def _store_symbols(version: str) -> tuple[str, ...]:
    with db.reading() as con:
        return tuple(plannable_symbols(con))


def store() -> Store:
    """The store's symbols (bundled sample first), or the reason it cannot be read now (busy, unreadable)."""
    version = store_version()
    path = db.resolve_path()
    if not path.exists() and path != db.DEFAULT_DB_PATH.resolve():  # a new database file: nothing in it yet
        return Store((), None, version, str(path))
    try:
        symbols = _store_symbols(version)
    except ValueError as error:  # e.g. the database is held by another process
        return Store((), str(error), version, str(path))
    return Store(symbols, None, version, str(path))


@st.cache_data(**CACHE)
def _symbol_params(symbol: str, version: str) -> SymbolParams:
    with db.reading() as con:
        return symbol_params(con, symbol)


def params_for(symbol: str, version: str | None = None) -> SymbolParams:
    """A symbol's parameters now (latest accepted calibration, planted, or DEMO's); ValueError when it has none or
    the store cannot be read."""
    if symbol == DEMO_SYMBOL:
        return SymbolParams(demo_market(), DEMO_SOURCE, DEMO)
    return _symbol_params(symbol, version or store_version())


@st.cache_data(**CACHE)
def _run_params(symbol: str, run_ts: dt.datetime, version: str) -> SymbolParams | None:
    with db.reading() as con:
        return run_params(con, symbol, run_ts)


def params_of_run(symbol: str, run_ts: dt.datetime, version: str | None = None) -> SymbolParams | None:
    """The parameters of one calibration run of ``symbol`` (a shared link's), or None when the store holds no such
    run; ValueError when the store cannot be read."""
    return _run_params(symbol, run_ts, version or store_version())


def load_bundled_sample() -> dict[str, int]:
    """Load the bundled sample into the store (rows added per table); ValueError when it cannot be written."""
    from optexec.store.sample import load_sample

    with db.writing() as con:
        return load_sample(con)


@st.cache_data(**CACHE)
def _session(symbol: str, version: str):
    from optexec.store import sessions

    with db.reading() as con:
        return sessions.instrument_session(con, symbol)


def session_for(symbol: str, version: str | None = None):
    """The stored market (``store.sessions.MarketSession``: time zone, session, calendar) of ``symbol``, or None
    for DEMO and a symbol without an instrument row; None too when the store cannot be read now."""
    if symbol == DEMO_SYMBOL:
        return None
    try:
        return _session(symbol, version or store_version())
    except ValueError:
        return None


@st.cache_data(**CACHE)
def _clock(order, start: dt.date, session_minutes: int, version: str):
    from optexec.store import sessions

    with db.reading() as con:
        return sessions.order_clock(con, order, start, session_minutes)


def order_clock(order, start: dt.date | None, session_minutes: int, version: str | None = None):
    """The order's clock (``store.sessions.order_clock``) from its symbol's stored market, cached; None for DEMO, a
    symbol without a market, or a store that cannot be read now (the plan then says times in trading days)."""
    session = session_for(order.symbol, version)
    if session is None:
        return None
    from optexec.store import sessions

    try:
        return _clock(order, start or sessions.local_today(session), session_minutes, version or store_version())
    except ValueError:
        return None
