"""Each instrument's market as stored: showing it, and correcting it (``db market``, the Data page).

A correction re-derives nothing: the bars stay as they are (UTC instants), the accepted calibration stays
accepted, and the next calibration of the symbol uses the corrected market, which the message says.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from optexec.store.inference import parse_session
from optexec.store.markets import MarketRequest
from optexec.store.sessions import MarketSession, from_calendar, instrument_session

NO_CALENDAR = ("", "none", "-", "every weekday")


def market_table(con) -> pd.DataFrame:
    """One row per instrument: symbol, time zone, session open/close, calendar and where the market came from."""
    cur = con.cursor()
    try:
        frame = cur.execute(
            "SELECT symbol, time_zone, session_open, session_close, calendar, market_source FROM instruments "
            "ORDER BY symbol"
        ).df()
    finally:
        cur.close()
    frame["market_source"] = frame["market_source"].fillna("not recorded")
    return frame


def market_of(con, symbol: str) -> dict:
    """The stored market of ``symbol`` as a dict (``describe``, ``source`` and the instruments columns)."""
    market = instrument_session(con, symbol)
    if market is None:
        raise ValueError(f"{symbol!r} is not in the store; load its data first (it then gets a market)")
    cur = con.cursor()
    try:
        (source,) = cur.execute("SELECT market_source FROM instruments WHERE symbol = ?", [symbol]).fetchone()
    finally:
        cur.close()
    return {"symbol": symbol, **market.to_json(), "describe": market.describe(), "source": source or "not recorded"}


def corrected(stored: MarketSession, calendar: str | None, tz: str | None, session: str | None) -> MarketSession:
    """``stored`` with what the user changed (None = unchanged; a calendar of "" or "none" = no calendar).

    A calendar brings its own zone and session (unless a session is given too); a zone that is not the calendar's
    is refused (an exchange calendar's days are in its own zone).
    """
    clear = calendar is not None and calendar.strip().lower() in NO_CALENDAR
    request = MarketRequest.parse(tz, None if clear else calendar, session)
    market = stored
    if clear:
        market = dataclasses.replace(market, calendar=None)
    elif request.calendar is not None:
        market = from_calendar(request.calendar)
    if request.tz is not None:
        if market.calendar is not None and request.tz != market.time_zone:
            raise ValueError(
                f"the calendar {market.calendar} trades in {market.time_zone}, not {request.tz}; "
                "choose a calendar of that zone, or no calendar"
            )
        market = dataclasses.replace(market, time_zone=request.tz)
    if session is not None:
        opens, closes = parse_session(session)
        market = dataclasses.replace(market, open_local=opens, close_local=closes)
    return MarketSession(market.time_zone, market.open_local, market.close_local, market.calendar)


def set_market(
    con, symbol: str, *, calendar: str | None = None, tz: str | None = None, session: str | None = None, source: str
) -> dict:
    """Correct the stored market of ``symbol``; returns ``market_of`` plus ``previous`` and the ``message``."""
    before = market_of(con, symbol)
    stored = instrument_session(con, symbol)
    if stored is None:
        raise ValueError(f"unknown symbol {symbol!r}: the store has no market for it (load its data first)")
    market = corrected(stored, calendar, tz, session)
    if market == stored:
        return {**before, "previous": before["describe"], "message": f"{symbol}: unchanged, {market.describe()}"}
    cur = con.cursor()
    try:
        cur.execute(
            "UPDATE instruments SET time_zone = ?, calendar = ?, session_open = ?, session_close = ?, "
            "market_source = ? WHERE symbol = ?",
            [market.time_zone, market.calendar, market.open_local, market.close_local, source, symbol],
        )
    finally:
        cur.close()
    message = (
        f"{symbol}: was {before['describe']}; the next calibration of {symbol} uses {market.describe()}; "
        "the accepted calibration is unchanged until you recalibrate"
    )
    return {**market_of(con, symbol), "previous": before["describe"], "message": message}
