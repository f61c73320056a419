"""Exchange calendars as small tables of trading days, built once from ``exchange_calendars`` and cached on disk.

``exchange_calendars`` needs pandas and takes a noticeable time to build a calendar (its holidays are worked out
from rules for every year since ``_CALENDAR_START``); a load of a file names a calendar and only needs its
zone, its regular session and its trading days. So the first use of a calendar code builds its table of trading
days with the library itself (``build``: each day's open, close and break in local minutes after midnight, exactly
what ``sessions.session_days`` returned from the library's schedule), and writes it as JSON to the cache folder;
later uses read that file (``calendar_days``), without pandas or the library.

The cache file is keyed on the code, the library's version and the calendar's first day, so a newer library
builds it again (the library works out every year's holidays from the same rules, so a table built on another day
holds the same trading days). The library's calendars end a year after the day they are built: a request for days
past a cached table's last day, on a later day than it was built, builds it again (``fresh_calendar_days``), as
the library would cover them now. The folder is ``$OPTEXEC_CACHE_DIR``, else ``$XDG_CACHE_HOME/optexec``, else
``~/.cache/optexec``; when it cannot be written the table is built in memory for the process. A file that cannot
be read is built again.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE_ENV_VAR = "OPTEXEC_CACHE_DIR"
#: bump when the file layout changes
LAYOUT = 2
UNKNOWN_CALENDAR = "unknown trading calendar {code!r}; use an exchange code such as XNYS, XLON or XTKS"
_CALENDAR_START = "1990-01-01"


@functools.cache
def exchange_calendar(code: str):
    """The ``exchange_calendars`` calendar ``code`` (cached); ValueError for an unknown code."""
    import exchange_calendars as xc

    # exchange_calendars 4.13 builds its calendars with pandas APIs that pandas 3 deprecates: its warnings, not ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return xc.get_calendar(code, start=_CALENDAR_START)
        except xc.errors.InvalidCalendarName:
            raise ValueError(UNKNOWN_CALENDAR.format(code=code)) from None
        except ValueError:  # the calendar starts later than _CALENDAR_START
            return xc.get_calendar(code)


def cache_dir() -> Path:
    """The folder cached calendars are written to (module docstring)."""
    given = os.environ.get(CACHE_ENV_VAR, "").strip()
    if given:
        return Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "optexec"


@functools.cache
def library_version() -> str:
    """The installed ``exchange_calendars`` version (read from its metadata: the library is not imported).

    The name of its ``.dist-info`` folder says it; ``importlib.metadata`` (slower to import) when there is none.
    """
    import importlib.util

    spec = importlib.util.find_spec("exchange_calendars")
    if spec is None or not spec.origin:
        return "missing"
    found = sorted(Path(spec.origin).parent.parent.glob("exchange_calendars-*.dist-info"))
    if len(found) == 1:
        return found[0].name.removeprefix("exchange_calendars-").removesuffix(".dist-info")
    from importlib import metadata

    try:
        return metadata.version("exchange_calendars")
    except metadata.PackageNotFoundError:
        return "missing"


@dataclass(frozen=True)
class CalendarDays:
    """An exchange calendar's zone, regular session and trading days.

    Attributes
    ----------
    code : the calendar code (``XNYS``).
    time_zone : the exchange's IANA zone.
    open_local, close_local : the regular (latest) open and close, ``HH:MM`` (``24:00``: a session through
        midnight).
    first_session, last_session : the first and last trading day the table covers.
    built_on : the day the table was worked out (the library's calendars end a year after it).
    day : the trading days (datetime64[D], ascending).
    open_minute, close_minute, break_start_minute, break_end_minute : each day's open, close and lunch break in
        minutes after local midnight (float; NaN without a break), as ``sessions.session_days`` gives them.
    """

    code: str
    time_zone: str
    open_local: str
    close_local: str
    first_session: dt.date
    last_session: dt.date
    day: np.ndarray
    open_minute: np.ndarray
    close_minute: np.ndarray
    break_start_minute: np.ndarray
    break_end_minute: np.ndarray
    built_on: dt.date

    def to_json(self) -> dict:
        def floats(values: np.ndarray) -> list:
            return [None if np.isnan(v) else float(v) for v in values]

        return {
            "layout": LAYOUT,
            "code": self.code,
            "library_version": library_version(),
            "time_zone": self.time_zone,
            "open_local": self.open_local,
            "close_local": self.close_local,
            "first_session": self.first_session.isoformat(),
            "last_session": self.last_session.isoformat(),
            "day": [str(d) for d in self.day],
            "open_minute": floats(self.open_minute),
            "close_minute": floats(self.close_minute),
            "break_start_minute": floats(self.break_start_minute),
            "break_end_minute": floats(self.break_end_minute),
            "built_on": self.built_on.isoformat(),
        }

    @classmethod
    def from_json(cls, doc: dict) -> CalendarDays:
        def floats(name: str) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in doc[name]], dtype=float)

        if doc.get("layout") != LAYOUT:
            raise ValueError("another layout")
        return cls(
            doc["code"],
            doc["time_zone"],
            doc["open_local"],
            doc["close_local"],
            dt.date.fromisoformat(doc["first_session"]),
            dt.date.fromisoformat(doc["last_session"]),
            np.array(doc["day"], dtype="datetime64[D]"),
            floats("open_minute"),
            floats("close_minute"),
            floats("break_start_minute"),
            floats("break_end_minute"),
            dt.date.fromisoformat(doc["built_on"]),
        )


def build(code: str) -> CalendarDays:
    """The table of ``code`` worked out with ``exchange_calendars`` (pandas), the way ``session_days`` did."""
    import pandas as pd

    cal = exchange_calendar(code)
    open_time, close_time = cal.open_times[-1][1], cal.close_times[-1][1]
    close_minutes = close_time.hour * 60 + close_time.minute
    if getattr(cal, "close_offset", 0) or close_minutes <= open_time.hour * 60 + open_time.minute:
        close_minutes = 24 * 60  # a session through midnight (24/7): local day boundaries
    zone = str(cal.tz)
    schedule = cal.schedule

    def local_minutes(col: str) -> np.ndarray:
        stamps = schedule[col]
        if stamps.isna().all():
            return np.full(len(schedule), np.nan)
        local = stamps.dt.tz_convert(zone)
        midnight = pd.to_datetime(schedule.index).tz_localize(zone)
        return ((local - midnight).dt.total_seconds() / 60.0).to_numpy(float)

    return CalendarDays(
        code,
        zone,
        _hhmm(open_time.hour * 60 + open_time.minute),
        _hhmm(close_minutes),
        cal.first_session.date(),
        cal.last_session.date(),
        np.array(schedule.index.date, dtype="datetime64[D]"),
        local_minutes("open"),
        local_minutes("close"),
        local_minutes("break_start"),
        local_minutes("break_end"),
        dt.date.today(),
    )


def _hhmm(minutes: int) -> str:
    return f"{int(minutes) // 60:02d}:{int(minutes) % 60:02d}"


def _cache_file(code: str) -> Path:
    safe = "".join(c if c.isalnum() else "_" for c in code)
    key = f"{safe}-{library_version()}-{_CALENDAR_START}-v{LAYOUT}"
    return cache_dir() / "calendars" / f"{key}.json"


def _write(path: Path, doc: dict | list) -> None:
    """Write ``doc`` to ``path`` whole or not at all (another process may read it at the same time)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written: the table is built again next time


@functools.cache
def calendar_days(code: str) -> CalendarDays:
    """The table of the calendar ``code`` (cached: module docstring); ValueError for an unknown code."""
    check_code(code)
    path = _cache_file(code)
    try:
        days = CalendarDays.from_json(json.loads(path.read_text()))
        if days.code == code:
            return days
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or unreadable: built again
    days = build(code)
    _write(path, days.to_json())
    return days


def fresh_calendar_days(code: str, through: dt.date) -> CalendarDays:
    """The table of ``code`` covering ``through`` where the library would cover it today: the cached table when it
    does or was built today, else built again (and cached) as the library gives it now."""
    days = calendar_days(code)
    if through <= days.last_session or days.built_on >= dt.date.today():
        return days
    days = build(code)
    _write(_cache_file(code), days.to_json())
    calendar_days.cache_clear()
    return days


@functools.cache
def calendar_names() -> frozenset[str]:
    """Every calendar code and alias ``exchange_calendars`` knows (cached per library version)."""
    path = cache_dir() / "calendars" / f"names-{library_version()}-v{LAYOUT}.json"
    try:
        names = json.loads(path.read_text())
        if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
            return frozenset(names)
    except (OSError, ValueError):
        pass
    import exchange_calendars as xc

    names = sorted(xc.get_calendar_names(include_aliases=True))
    _write(path, names)
    return frozenset(names)


def check_code(code: str) -> None:
    """ValueError unless ``code`` is a calendar ``exchange_calendars`` knows."""
    if code not in calendar_names():
        raise ValueError(UNKNOWN_CALENDAR.format(code=code))
