"""Where and when an instrument trades: its exchange time zone, regular session and trading calendar.

An instrument's market (``MarketSession``) is stored with the instrument (the ``instruments`` table's
``time_zone``, ``calendar``, ``session_open`` and ``session_close``). The trading days, half days and holidays
come from the ``exchange_calendars`` library (a calendar such as ``XNYS``), never from hand-written dates; an
instrument without a calendar (the bundled synthetic sample) trades every weekday in its regular session.
Times of day are local to the exchange, so a session is DST-correct by construction. A calendar's zone, session
and trading days are read from a table built once from the library and cached (``optexec.store.calendars``), so
that a load naming a calendar needs neither pandas nor the library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from optexec.store import calendars

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_OPEN = "09:30"
DEFAULT_CLOSE = "16:00"
#: calendars tried when a symbol's market is inferred from its data (one per major time zone and session)
CANDIDATE_CALENDARS = ("XNYS", "XTSE", "XLON", "XETR", "XPAR", "XSWX", "XTKS", "XHKG", "XASX", "24/7")


def parse_hhmm(text: str, what: str = "time of day") -> int:
    """Minutes after midnight of an ``HH:MM`` time of day; ValueError naming ``what`` otherwise."""
    try:
        hours, minutes = str(text).strip().split(":")
        value = int(hours) * 60 + int(minutes)
    except (ValueError, AttributeError):
        raise ValueError(f"{what} must be HH:MM (e.g. 09:30), got {text!r}") from None
    if not (0 <= int(hours) <= 24 and 0 <= int(minutes) < 60 and 0 <= value <= 24 * 60):
        raise ValueError(f"{what} must be a time of day between 00:00 and 24:00, got {text!r}")
    return value


def format_hhmm(minutes: int) -> str:
    """``HH:MM`` of minutes after midnight."""
    return f"{int(minutes) // 60:02d}:{int(minutes) % 60:02d}"


@dataclass(frozen=True)
class MarketSession:
    """An instrument's market: exchange time zone (IANA), regular session in local time, trading calendar.

    Attributes
    ----------
    time_zone : IANA time-zone name of the exchange, e.g. ``America/New_York``.
    open_local, close_local : the regular session's open and close, ``HH:MM`` local time.
    calendar : ``exchange_calendars`` code (``XNYS``) giving trading days, holidays and half days; ``None``
        trades every weekday in the regular session (the bundled synthetic sample).
    """

    time_zone: str
    open_local: str = DEFAULT_OPEN
    close_local: str = DEFAULT_CLOSE
    calendar: str | None = None

    def __post_init__(self) -> None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown time zone {self.time_zone!r}; use a name like America/New_York") from None
        if self.close_minute <= self.open_minute:
            raise ValueError(f"the session closes ({self.close_local}) before it opens ({self.open_local})")
        if self.calendar is not None:
            calendars.check_code(self.calendar)

    def takes_start(self, minute: int) -> bool:
        """True when an order may start at ``minute`` (after local midnight): inside the regular session."""
        return self.open_minute <= minute < self.close_minute

    def start_rule(self) -> str:
        """The start times the session takes, in words: "09:30–15:59 America/New_York"."""
        return f"{self.open_local}–{format_hhmm(self.close_minute - 1)} {self.time_zone}"

    @property
    def open_minute(self) -> int:
        """The regular open in minutes after local midnight."""
        return parse_hhmm(self.open_local, "the session open")

    @property
    def close_minute(self) -> int:
        """The regular close in minutes after local midnight."""
        return parse_hhmm(self.close_local, "the session close")

    @property
    def session_minutes(self) -> int:
        """Minutes in a full regular session."""
        return self.close_minute - self.open_minute

    def describe(self) -> str:
        """E.g. ``XNYS, America/New_York, 09:30–16:00``."""
        calendar = self.calendar or "every weekday (no exchange calendar)"
        return f"{calendar}, {self.time_zone}, {self.open_local}–{self.close_local}"

    def to_json(self) -> dict[str, str | None]:
        return {
            "time_zone": self.time_zone,
            "calendar": self.calendar,
            "session_open": self.open_local,
            "session_close": self.close_local,
        }


def from_calendar(code: str) -> MarketSession:
    """The market of an exchange calendar: its time zone and its regular (latest) open and close."""
    days = calendars.calendar_days(code)
    return MarketSession(days.time_zone, days.open_local, days.close_local, code)


SESSION_COLUMNS = ("day", "open_minute", "close_minute", "break_start_minute", "break_end_minute", "half_day")


def session_table(session: MarketSession, start: dt.date, end: dt.date) -> dict[str, np.ndarray]:
    """``session_days`` as numpy arrays (``day`` datetime64[D]), without pandas."""
    if end < start:
        empty = np.zeros(0, float)
        return {"day": np.zeros(0, "datetime64[D]"), "open_minute": empty, "close_minute": empty,
                "break_start_minute": empty, "break_end_minute": empty, "half_day": np.zeros(0, bool)}  # fmt: skip
    if session.calendar is None:
        span = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
        day = span[np.is_busday(span)]
        n = len(day)
        return {
            "day": day,
            "open_minute": np.full(n, session.open_minute, dtype=np.int64),
            "close_minute": np.full(n, session.close_minute, dtype=np.int64),
            "break_start_minute": np.full(n, np.nan),
            "break_end_minute": np.full(n, np.nan),
            "half_day": np.zeros(n, bool),
        }
    cal = calendars.fresh_calendar_days(session.calendar, end)
    lo, hi = max(start, cal.first_session), min(end, cal.last_session)
    if hi < lo:
        raise ValueError(
            f"the calendar {session.calendar} covers {cal.first_session} to {cal.last_session}, not {start} to {end}"
        )
    a, b = np.searchsorted(cal.day, np.datetime64(lo, "D")), np.searchsorted(cal.day, np.datetime64(hi, "D"), "right")
    table = {
        "day": cal.day[a:b],
        "open_minute": cal.open_minute[a:b],
        "close_minute": cal.close_minute[a:b],
        "break_start_minute": cal.break_start_minute[a:b],
        "break_end_minute": cal.break_end_minute[a:b],
    }
    if (cal.open_local, cal.close_local) != (session.open_local, session.close_local):
        # a session set apart from the calendar's: it replaces the regular hours; a late open or early close of
        # the calendar (a half day) still shortens it
        regular = MarketSession(cal.time_zone, cal.open_local, cal.close_local, None)
        late = table["open_minute"] > regular.open_minute
        early = table["close_minute"] < regular.close_minute
        table["open_minute"] = np.where(
            late, np.maximum(table["open_minute"], session.open_minute), session.open_minute
        ).astype(float)
        table["close_minute"] = np.where(
            early, np.minimum(table["close_minute"], session.close_minute), session.close_minute
        ).astype(float)
    table["half_day"] = (table["open_minute"] > session.open_minute) | (table["close_minute"] < session.close_minute)
    return table


def session_days(session: MarketSession, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The trading days in [start, end] (local dates) with their session in local minutes after midnight.

    Columns: ``day`` (date), ``open_minute``, ``close_minute``, ``break_start_minute``, ``break_end_minute``
    (NaN without a lunch break), ``half_day`` (a late open or early close against the regular session).
    With a calendar the days, half days and holidays are the calendar's; without one every weekday. A session
    whose hours differ from the calendar's regular ones (set by the user) replaces them on full days; on the
    calendar's half days the earlier close (or later open) of the two applies.
    """
    import pandas as pd

    if end < start:
        return pd.DataFrame(columns=list(SESSION_COLUMNS))
    table = session_table(session, start, end)
    frame = pd.DataFrame({name: table[name] for name in SESSION_COLUMNS if name != "day"})
    frame.insert(0, "day", [d.item() for d in table["day"]])
    return frame[list(SESSION_COLUMNS)]


def instrument_session(con, symbol: str) -> MarketSession | None:
    """The stored market of ``symbol`` (instruments table), or None when the symbol has no instrument row.

    A row without a session (older databases) has the default 09:30–16:00; without a time zone, UTC.
    """
    cur = con.cursor()
    try:
        row = cur.execute(
            "SELECT time_zone, session_open, session_close, calendar FROM instruments WHERE symbol = ?", [symbol]
        ).fetchone()
    finally:
        cur.close()
    if row is None:
        return None
    time_zone, open_local, close_local, calendar = row
    return MarketSession(time_zone or "UTC", open_local or DEFAULT_OPEN, close_local or DEFAULT_CLOSE, calendar or None)


def instrument_lot_shares(con, symbol: str) -> int:
    """The stored lot size of ``symbol`` in shares (1 when the instruments table has none for it)."""
    cur = con.cursor()
    try:
        row = cur.execute("SELECT lot_size FROM instruments WHERE symbol = ?", [symbol]).fetchone()
    finally:
        cur.close()
    lot = row[0] if row and row[0] else 1
    return max(1, int(round(float(lot))))


def trading_days_from(session: MarketSession, start: dt.date, count: int) -> pd.DataFrame:
    """The first ``count`` trading days on or after ``start`` (``session_days``' columns)."""
    end = start + dt.timedelta(days=2 * count + 14)  # weekends and holidays: at least ``count`` trading days
    days = session_days(session, start, end)
    while len(days) < count:  # a long closure: look further
        end += dt.timedelta(days=2 * count + 14)
        days = session_days(session, start, end)
    return days.iloc[:count].reset_index(drop=True)


def local_today(session: MarketSession, now: dt.datetime | None = None) -> dt.date:
    """The exchange's local date now (``now`` an aware datetime, default the current time)."""
    import zoneinfo

    now = now if now is not None else dt.datetime.now(dt.UTC)
    return now.astimezone(zoneinfo.ZoneInfo(session.time_zone)).date()


def order_clock(con, order, start: dt.date | None, session_minutes: int):
    """The clock of ``order`` (optexec.clock.OrderClock) from its symbol's stored market: trading days from
    ``start`` (default: the exchange's local date today) covering the start and the horizon, their local opens, the
    instrument's lot size; None when the store has no instrument row for the symbol (DEMO: times in trading days).

    The one place a clock is built from the store (the API's ``plan`` and the app's pages both call it).
    """
    import math

    from optexec.clock import OrderClock

    session = instrument_session(con, order.symbol)
    if session is None:
        return None
    lot = instrument_lot_shares(con, order.symbol)
    start = start if start is not None else local_today(session)
    needed = math.ceil(order.start_minutes_after_open / session_minutes + order.horizon_days) + 1
    days = trading_days_from(session, start, needed)
    return OrderClock(
        session.time_zone,
        tuple(days["day"]),
        tuple(int(m) for m in days["open_minute"]),
        lot,
        f"{session.describe()}, from {days['day'].iloc[0]}",
    )


@dataclass(frozen=True)
class StartNow:
    """When an order sent now starts: the local trading day, minutes after that day's open, and why, in words."""

    day: dt.date
    minutes_after_open: int
    note: str


def start_now(session: MarketSession, now: dt.datetime | None = None) -> StartNow:
    """The start of an order sent ``now`` (an aware datetime, default the current time) on ``session``'s clock.

    Inside a trading day's session: now, to the minute. Before the open of a trading day: its open. After the
    close (the day's own close, a half day's early one included), or on a day without trading: the next open.
    """
    import zoneinfo

    now = now if now is not None else dt.datetime.now(dt.UTC)
    local = now.astimezone(zoneinfo.ZoneInfo(session.time_zone))
    today, minute = local.date(), local.hour * 60 + local.minute
    days = trading_days_from(session, today, 2)
    first = days.iloc[0]
    if first["day"] == today:
        open_minute, close_minute = int(first["open_minute"]), int(first["close_minute"])
        if minute < open_minute:
            return StartNow(today, 0, f"before the open: starts at the open {format_hhmm(open_minute)} today")
        if minute < close_minute:
            return StartNow(today, minute - open_minute, f"now: starts {format_hhmm(minute)} {session.time_zone}")
        following = days.iloc[1]
    else:
        following = first
    day = following["day"]
    return StartNow(
        day,
        0,
        f"market closed: starts at the next open {format_hhmm(int(following['open_minute']))} on "
        f"{day:%a %Y-%m-%d} ({session.time_zone})",
    )
