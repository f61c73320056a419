"""The ticket's horizon (minutes, hours or trading days) and start (a clock time in the exchange's zone, or now).

The model counts time in trading days (optexec.models: one trading day is ``MarketParams.session_minutes``): a
horizon in minutes or hours is converted by the symbol's session length, so 1 hour is 60/390 = 1/6.5 trading days
on a 09:30–16:00 session. The start is a local time of day inside the session, or "now"
(``store.sessions.start_now``: the current exchange time, or the
next open when the market is closed); a symbol without an exchange clock (DEMO) starts in minutes after the open.
The widgets are drawn here and the link values are checked here; the ticket builds the order from them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import streamlit as st

from optexec import clock, models
from optexec.store import sessions
from optexec.ui import formats, links

UNITS = clock.UNITS
UNIT_LABELS = {"minutes": "minutes", "hours": "hours", "days": "trading days"}
#: the unit box's words: the sidebar has room for "days" (its help and the line below it say trading days)
UNIT_CHOICES = {"minutes": "minutes", "hours": "hours", "days": "days"}
UNIT_ONE = {"minutes": "minute", "hours": "hour", "days": "trading day"}
DEFAULT_UNIT = "days"
MAX_UI_HORIZON_DAYS = 252.0  # a year here (the command line takes more)
START_MODES = ("time", "now")
START_LABELS = {"time": "at a time", "now": "now"}


def horizon_spec(unit: str, session_minutes: int) -> links.Number:
    """What the horizon box takes in ``unit``: one second (the model's shortest horizon) to 252 trading days."""
    per_day = session_minutes / clock.minutes_per_unit(unit, session_minutes)
    low, high = models.MIN_HORIZON_DAYS * per_day, MAX_UI_HORIZON_DAYS * per_day
    if unit == "days":
        words = f"one second ({low:.3g}) to {high:g} trading days"
    else:
        words = f"one second ({low:.3g}) to {high:,.6g} {unit} ({MAX_UI_HORIZON_DAYS:g} trading days)"
    return links.Number(f"Horizon ({UNIT_LABELS[unit]})", low, high, words=words)


def hours_per_day_text(session_minutes: int) -> str:
    """ "1 h = 1/6.5 trading days" for a 390-minute session."""
    return f"1 h = 1/{session_minutes / 60:g} trading days"


def horizon_help(session_minutes: int, where: str) -> str:
    """The horizon box's help: how minutes and hours become the model's trading days."""
    return (
        f"The model counts trading days: minutes and hours are converted by the trading session's length, "
        f"{hours_per_day_text(session_minutes)} on {where} (a {session_minutes}-minute session). Up to "
        f"{MAX_UI_HORIZON_DAYS:g} trading days here (the command line takes more)."
    )


def horizon_text(value: float, unit: str, days: float) -> str:
    """The horizon as the plan's header says it: "1 trading day", "2 hours (0.308 trading days)"."""
    if unit == "days":
        return formats.days(value)
    word = UNIT_LABELS[unit] if value != 1 else UNIT_ONE[unit]
    return f"{value:g} {word} ({formats.days(float(f'{days:.3g}'))})"


def slice_hint(slices: int, horizon_days: float, session_minutes: int) -> tuple[str, int] | None:
    """When the slices are shorter than a minute: what that means, and one slice a minute (the suggestion)."""
    minutes = horizon_days * session_minutes
    if slices <= minutes:
        return None
    seconds = minutes * 60 / slices
    suggested = max(1, int(minutes))
    text = (
        f"{slices:,} slices in {minutes:.3g} minutes: one child order every {seconds:.2g} seconds. The plan keeps "
        "them as asked; a venue may not take orders that often."
    )
    return text, suggested


def session_where(session: sessions.MarketSession) -> str:
    """ "XNYS, 09:30–16:00 America/New_York" (or the weekday session of a symbol without a calendar)."""
    calendar = session.calendar or "every weekday (no exchange calendar)"
    return f"{calendar}, {session.open_local}–{session.close_local} {session.time_zone}"


def start_rule(session: sessions.MarketSession) -> str:
    """The start times the session takes, in words."""
    return f"{session.start_rule()}, inside the session"


def start_time_problem(value: Any, session: sessions.MarketSession) -> str | None:
    """None when ``value`` (a time of day) is inside the session, else the rule it breaks."""
    if not isinstance(value, dt.time):
        return start_rule(session)
    return None if session.takes_start(value.hour * 60 + value.minute) else start_rule(session)


def time_of(minute: int) -> dt.time:
    """A time of day from minutes after midnight."""
    return dt.time(minute // 60, minute % 60)


def seed_horizon(raw: dict[str, str], session_minutes: int) -> tuple[dict[str, Any], list[str]]:
    """The link's horizon (``horizon`` and ``horizon_unit``, or an old link's ``horizon_days``) as ticket state,
    and a note for each value that is not used."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    unit = raw.get("horizon_unit")
    if unit is not None:
        if unit in UNITS:
            values["horizon_unit"] = unit
        else:
            notes.append(links.link_note("horizon_unit", unit, " or ".join(UNITS), "using days (trading days)"))
            unit = None
    unit = unit or DEFAULT_UNIT
    given = [key for key in ("horizon", "horizon_days") if key in raw]
    if given == ["horizon", "horizon_days"]:
        notes.append(f"Link value horizon_days={raw['horizon_days']} is not used: the link also gives horizon="
                     f"{raw['horizon']} {UNIT_LABELS[unit]}.")  # fmt: skip
        given = ["horizon"]
    for key in given:
        key_unit = unit if key == "horizon" else "days"  # an old link's horizon_days is in trading days
        spec = horizon_spec(key_unit, session_minutes)
        try:
            value = spec.parse(raw[key])
        except ValueError:
            value = None
        rule = spec.problem(value)
        if rule or value is None:
            rule = rule or spec.rule()
            instead = "using 1" if key == "horizon_days" else f"using 1 {UNIT_ONE[key_unit]}"
            notes.append(links.link_note(key, raw[key], rule, instead))
        else:
            values["horizon"] = float(value)
            if key == "horizon_days":
                values["horizon_unit"] = "days"
    return values, notes


def seed_start(raw: dict[str, str], session: sessions.MarketSession | None, session_minutes: int):
    """The link's start (``start=10:30`` or ``start=now``, or an old link's ``start_minutes``) as ticket state, and
    a note for each value that is not used."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    if "start_minutes" in raw:
        text = raw["start_minutes"]
        spec = links.Number("Start (minutes after the open)", 0, session_minutes - 1, integer=True)
        try:
            minutes = spec.parse(text)
        except ValueError:
            minutes = None
        rule = spec.problem(minutes)
        if rule or minutes is None:
            notes.append(links.link_note("start_minutes", text, rule or spec.rule(), "using 0 (the open)"))
        elif session is None:
            values["start_minutes"] = int(minutes)
        elif session.open_minute + int(minutes) < session.close_minute:
            values["start_mode"], values["start_time"] = "time", time_of(session.open_minute + int(minutes))
        else:
            notes.append(links.link_note("start_minutes", text, start_rule(session), f"using {session.open_local}"))
    if "start" in raw:
        text = raw["start"]
        if session is None:
            notes.append(f"Link value start={text} is not used: this symbol has no exchange clock (start in minutes "
                         "after the open).")  # fmt: skip
        elif text == "now":
            values["start_mode"] = "now"
        else:
            try:
                value = time_of(sessions.parse_hhmm(text, "the start"))
            except ValueError:
                value = None
            rule = start_time_problem(value, session)
            if rule:
                notes.append(links.link_note("start", text, f"HH:MM {rule}, or now", f"using {session.open_local}"))
            else:
                values["start_mode"], values["start_time"] = "time", value
    return values, notes


def horizon_inputs(
    sidebar, session_minutes: int, where: str, keys: tuple[str, str] = ("horizon", "horizon_unit")
) -> tuple[float | None, str]:
    """The horizon number and its unit side by side (widget ``keys``: the ticket's by default)."""
    value_key, unit_key = keys
    st.session_state.setdefault(value_key, 1.0)
    st.session_state.setdefault(unit_key, DEFAULT_UNIT)
    number, unit = sidebar.columns([3, 2], vertical_alignment="bottom")
    value = number.number_input("Horizon", step=1.0, format="%g", key=value_key,
                                help=horizon_help(session_minutes, where))  # fmt: skip
    chosen = unit.selectbox("Unit", UNITS, key=unit_key, format_func=UNIT_CHOICES.get,
                            label_visibility="collapsed")  # fmt: skip
    return value, chosen


def from_days(days: float, unit: str, session_minutes: int) -> float:
    """Trading days in ``unit`` (the inverse of ``clock.to_days``), to 12 significant digits so that 2 hours comes back
    as 2, not 2.0000000000000004."""
    return float(f"{days * session_minutes / clock.minutes_per_unit(unit, session_minutes):.12g}")


def now() -> dt.datetime:
    """The current time (aware, UTC); one place for tests to set the clock."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Start:
    """The ticket's start: minutes after the open for the order, the trading day it starts on (None: today's or
    the next), the start in words for the plan, and an error when the typed time cannot be used."""

    minutes_after_open: int
    day: dt.date | None
    text: str
    error: str | None = None


def _keep_start_mode() -> None:
    if st.session_state.get("start_mode") not in START_MODES:
        st.session_state["start_mode"] = "time"


def start_inputs(sidebar, session: sessions.MarketSession | None, session_minutes: int, symbol: str) -> Start:
    """The start: a clock time or now in the exchange's zone, or minutes after the open without a clock."""
    if session is None:
        minutes = sidebar.slider("Start (minutes after the open)", 0, session_minutes - 1, step=5,
                                 key="start_minutes")  # fmt: skip
        sidebar.caption(formats.plain(f"{symbol} has no exchange clock (no calendar or time zone): the start is in "
                                      "minutes after the open."))  # fmt: skip
        return Start(int(minutes), None, f"{minutes} min after the open" if minutes else "at the open")
    st.session_state.setdefault("start_mode", "time")
    st.session_state.setdefault("start_time", time_of(session.open_minute))
    mode = sidebar.segmented_control("Start", START_MODES, format_func=START_LABELS.get, required=True,
                                     key="start_mode", on_change=_keep_start_mode)  # fmt: skip
    if mode == "now":
        start = sessions.start_now(session, now())
        sidebar.caption(formats.plain(start.note[:1].upper() + start.note[1:]))
        return Start(start.minutes_after_open, start.day, start.note)
    where = f"Exchange-local time of day: {start_rule(session)} ({session_where(session)})."
    value = sidebar.time_input(f"Start time ({session.time_zone})", key="start_time", step=60, help=where)
    rule = start_time_problem(value, session)
    if rule:
        shown = value.strftime("%H:%M") if isinstance(value, dt.time) else None
        return Start(0, None, "", links.input_error(f"Start time ({session.time_zone})", shown, rule))
    minute = value.hour * 60 + value.minute
    return Start(minute - session.open_minute, None, f"starts {value:%H:%M} {session.time_zone}")


def start_url(session: sessions.MarketSession | None) -> dict[str, Any]:
    """The link's start values for what the ticket holds (absent at the defaults: at the open)."""
    state = st.session_state
    if session is None:
        minutes = state.get("start_minutes", 0)
        return {"start": None, "start_minutes": minutes or None}
    if state.get("start_mode") == "now":
        return {"start": "now", "start_minutes": None}
    value = state.get("start_time")
    text = value.strftime("%H:%M") if isinstance(value, dt.time) else None
    return {"start": None if text == session.open_local else text, "start_minutes": None}


def saved_horizon(saved: dict[str, Any], session_minutes: int) -> tuple[dict[str, Any], list[str]]:
    """A saved basket link's horizon (``horizon_days``, in trading days as the basket is priced, and
    ``horizon_unit`` when it was typed in minutes or hours) as the value and unit of the page's horizon boxes, and a
    note for each saved value that is not used (named with its rule and what is used instead)."""
    values: dict[str, Any] = {}
    notes: list[str] = []
    unit = saved.get("horizon_unit", DEFAULT_UNIT)
    if unit not in UNITS:
        notes.append(links.link_note("horizon_unit", str(unit), " or ".join(UNITS), "using trading days"))
        unit = DEFAULT_UNIT
    if "horizon_days" not in saved:
        return values, notes
    raw = saved["horizon_days"]
    spec = horizon_spec("days", session_minutes)
    days = raw if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
    rule = spec.problem(days) if days is not None else spec.rule()
    if rule or days is None:
        notes.append(links.link_note("horizon_days", str(raw), rule or spec.rule(), "using 1 trading day"))
        return {"horizon_unit": DEFAULT_UNIT, "horizon": 1.0}, notes
    values["horizon_unit"] = unit
    values["horizon"] = from_days(float(days), unit, session_minutes) if unit != "days" else float(days)
    return values, notes
