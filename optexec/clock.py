"""An order's schedule on the exchange's clock, and in whole shares (docs/MATH.md section 13, the time convention).

The models count time in trading days from the order's start: one trading day is the session's minutes
(``MarketParams.session_minutes``), and the start is ``Order.start_minutes_after_open`` into the first day. An
``OrderClock`` says which calendar days those trading days are (from the exchange's calendar) and when each opens
in local time, so that a time in days becomes an exchange-local timestamp. Half days are not shortened: the models
assume full sessions, and the clock maps the k-th session minute of a day to open + k minutes. A time at a day's
close is that close when it ends a slice and the next open when it starts one (``slice_times``): every slice starts
inside a session, and a schedule that runs past a close goes on at the next open.

``whole_lots`` turns a schedule's fractional child orders into whole lots: the cumulative shares done are rounded
to the lot, so no child order drifts more than one lot from the model's, and the last child order takes the
remainder (the order's size need not be a multiple of the lot).

``duration_words`` writes a duration in trading days the way a trader reads it (2 h, 45 min, 1.5 trading days):
every core message that prints a horizon or a slice length uses it. ``parse_duration`` reads one the way a trader
types it ("90m", "2h", "1.5d", "45 minutes"): minutes and hours become trading days by the session's length.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: the session length a duration is read with when the caller has none (a 09:30–16:00 equity session)
DEFAULT_SESSION_MINUTES = 390


#: the horizon's units (the Plan page's unit box and the command line's ``--horizon``)
UNITS = ("minutes", "hours", "days")
#: the words a typed duration's unit may be, by unit ("days" are trading days: sessions of the symbol's length)
UNIT_WORDS = {
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "days": ("d", "day", "days", "trading day", "trading days"),
}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z ]+?)\s*$", re.IGNORECASE)


def minutes_per_unit(unit: str, session_minutes: int) -> float:
    """Trading minutes in one ``unit`` (a trading day is the session's minutes)."""
    return {"minutes": 1.0, "hours": 60.0, "days": float(session_minutes)}[unit]


def to_days(value: float, unit: str, session_minutes: int) -> float:
    """A duration in ``unit`` as trading days (one trading day = the session's minutes)."""
    return value * minutes_per_unit(unit, session_minutes) / session_minutes


@dataclass(frozen=True)
class Duration:
    """A duration as typed: its number and unit (``UNITS``), and the same in trading days of the session."""

    value: float
    unit: str
    days: float


def parse_duration(text: str, session_minutes: int = DEFAULT_SESSION_MINUTES) -> Duration:
    """A typed duration with its unit: "90m", "2h", "1.5d", "45 minutes", "2 trading days" (``UNIT_WORDS``); the
    days are trading days, and minutes and hours are converted by ``session_minutes`` (1 h = 1/6.5 trading days on
    a 390-minute session). ValueError, saying what is taken, for a number without a unit, an unknown unit, or a
    duration that is not a positive finite number."""
    taken = 'a positive number and a unit, e.g. 90m, 2h, 1.5d or "45 minutes"'
    match = _DURATION.match(str(text))
    if match is None:
        raise ValueError(f"the horizon must be {taken}; got {text!r}")
    number, word = float(match.group(1)), " ".join(match.group(2).lower().split())
    unit = next((name for name, words in UNIT_WORDS.items() if word in words), None)
    if unit is None:
        raise ValueError(f"the horizon's unit must be minutes, hours or (trading) days (m, h, d); got {text!r}")
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"the horizon must be {taken}; got {text!r}")
    return Duration(number, unit, to_days(number, unit, session_minutes))


def duration_words(days: float, session_minutes: int = DEFAULT_SESSION_MINUTES) -> str:
    """A duration in trading days in words (docs/MATH.md section 13): seconds below a minute, minutes below an
    hour, hours below one session of ``session_minutes``, trading days from there on; three significant digits.

    0.307692 days of a 390-minute session -> "2 h"; 45/390 -> "45 min"; 1.5 -> "1.5 trading days".
    """
    minutes = float(days) * session_minutes
    if not np.isfinite(minutes):
        return f"{days} trading days"
    if abs(minutes) < 1:
        return f"{_digits(minutes * 60)} s"
    if abs(minutes) < 60:
        return f"{_digits(minutes)} min"
    if abs(minutes) < session_minutes * (1 - 1e-9):
        return f"{_digits(minutes / 60)} h"
    shown = _digits(days)
    return f"{shown} trading day{'' if shown == '1' else 's'}"


def _digits(value: float) -> str:
    """Three significant digits, no exponent for the values a duration takes, no trailing zeros."""
    return f"{float(f'{value:.3g}'):,.10g}"


@dataclass(frozen=True)
class OrderClock:
    """The calendar of one order: its trading days and their local opens, in the exchange's time zone.

    Attributes
    ----------
    time_zone : IANA name of the exchange's zone, e.g. ``America/New_York``.
    days : the trading days from the order's start day on, local dates; enough to cover the horizon.
    open_minutes : each day's regular open, minutes after local midnight.
    lot_shares : the instrument's lot size, shares (1 = whole shares).
    source : where the calendar comes from, in words (for notes and reports).
    """

    time_zone: str
    days: tuple[dt.date, ...]
    open_minutes: tuple[int, ...]
    lot_shares: int = 1
    source: str = ""

    def __post_init__(self) -> None:
        if not self.days or len(self.days) != len(self.open_minutes):
            raise ValueError("an order's clock needs one open time per trading day, and at least one day")
        if int(self.lot_shares) != self.lot_shares or self.lot_shares < 1:
            raise ValueError(f"the lot size must be a whole number of shares >= 1, got {self.lot_shares}")

    def timestamps(
        self, times_days: np.ndarray, start_minutes: float, session_minutes: int, ends: bool = True
    ) -> pd.DatetimeIndex:
        """Exchange-local timestamps of times in trading days from the order's start (module docstring).

        A time exactly at a day boundary is that day's close when it ends a slice (``ends``) and the next day's
        open when it starts one: a slice starts inside the session, and a schedule that runs past a close goes
        on at the next open.
        """
        minutes = start_minutes + np.asarray(times_days, dtype=float) * session_minutes
        day = np.floor(minutes / session_minutes + 1e-9).astype(int)
        if ends:
            at_close = (day > 0) & np.isclose(minutes, day * session_minutes)  # a slice ending at a close
            day = np.where(at_close, day - 1, day)
        if day.max(initial=0) >= len(self.days):
            raise ValueError(
                f"the horizon reaches trading day {day.max() + 1}; the order's clock covers {len(self.days)} days"
            )
        into_day = np.maximum(minutes - day * session_minutes, 0.0)  # not before the open by a rounding error
        midnight = pd.DatetimeIndex([pd.Timestamp(self.days[d]) for d in day]).tz_localize(self.time_zone)
        opens = np.asarray(self.open_minutes, dtype=float)[day]
        return midnight + pd.to_timedelta(opens + into_day, unit="min")

    def slice_times(
        self, times_days: np.ndarray, start_minutes: float, session_minutes: int
    ) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
        """Each slice's local start and end from the slice boundaries ``times_days`` (``timestamps``)."""
        times = np.asarray(times_days, dtype=float)
        return (
            self.timestamps(times[:-1], start_minutes, session_minutes, ends=False),
            self.timestamps(times[1:], start_minutes, session_minutes, ends=True),
        )


def whole_lots(trades_shares: np.ndarray, lot_shares: int = 1) -> np.ndarray:
    """Child orders in whole lots with the same total (module docstring): the cumulative shares rounded to the
    lot, the last child order taking the remainder."""
    trades = np.asarray(trades_shares, dtype=float)
    if trades.size == 0:
        return trades
    total = float(trades.sum())
    done = np.cumsum(trades)
    rounded = np.round(done / lot_shares) * lot_shares
    rounded[-1] = np.round(total)  # the whole order, to the share
    if np.all(trades >= 0):  # an odd lot at the end: no lot rounded up past the order
        rounded = np.minimum(rounded, rounded[-1])
    return np.diff(np.concatenate([[0.0], rounded]))
