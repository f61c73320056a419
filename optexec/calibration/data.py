"""SQL over the store for calibration: minute bars on a dense day x session-minute grid, signed flow, quotes.

The market is the instrument's (``sessions.instrument_session``: exchange time zone, regular session, calendar);
a symbol without an instrument row or time zone is refused, never read as UTC. Bar times (UTC instants) are
converted to exchange-local time in DuckDB, so daylight saving is handled by the zone. The trading days and each
day's open, close and lunch break come from ``sessions.session_days`` (holidays and half days from the calendar).

The grid has one row per trading day with regular-session bars and one column per minute of the instrument's
regular session (390 for XNYS, 510 for XLON, 1440 for 24/7); column k is the minute starting k minutes after the
regular open. Bars are sorted into: used (inside the day's session), ``extended_hours`` (a trading day, outside its
session: pre-market, after hours, after a half day's early close), ``lunch_break`` and ``outside_calendar``
(weekends and holidays). Half days are kept in the grid (``full_day`` False): they enter the volatility, spread and
impact estimates but not the volume profile or ADV (their volume is that of a shorter day). Windows are local
calendar dates, inclusive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optexec.store import sessions
from optexec.store.connections import fetch

#: a run is not acceptable when more than this share of its days lacks any bar in the first (or last) hour of
#: the session: a whole missing hour is what a wrong time zone or session looks like (NY bars read as UTC)
MAX_SHARE_DAYS_WITHOUT_EDGE_HOUR = 0.10
#: ... or when the median day has a bar in fewer than this share of its session minutes
MIN_MEDIAN_SESSION_COVERAGE = 0.50
EDGE_MINUTES = 60
#: ... or when more than this share of the calendar's trading days between the window's first and last day with bars
#: has no bar at all: the window joins periods the store does not hold between them (a day or two of outage is not)
MAX_SHARE_TRADING_DAYS_WITHOUT_BARS = 0.10

_MARKET_HELP = "load its data with its market, or set its market (time zone, session, calendar) on the Data page"

_LOCAL_BARS = """
SELECT CAST(t AS DATE) AS day, hour(t) * 60 + minute(t) AS minute, open, high, low, close, volume
FROM (SELECT timezone($tz, timezone('UTC', ts)) AS t, open, high, low, close, volume
      FROM bars WHERE symbol = $symbol AND ts >= $lo AND ts < $hi)
WHERE CAST(t AS DATE) BETWEEN $start AND $end
"""

_LOCAL_TRADE_BARS = """
SELECT CAST(t AS DATE) AS day, hour(t) * 60 + minute(t) AS minute, open, high, low, close, volume
FROM (SELECT timezone($tz, timezone('UTC', time_bucket(INTERVAL 1 MINUTE, ts))) AS t,
             arg_min(price, ts) AS open, max(price) AS high, min(price) AS low, arg_max(price, ts) AS close,
             sum(size) AS volume
      FROM trades WHERE symbol = $symbol AND ts >= $lo AND ts < $hi GROUP BY ALL)
WHERE CAST(t AS DATE) BETWEEN $start AND $end
"""

_LOCAL_FLOW = """
SELECT CAST(t AS DATE) AS day, hour(t) * 60 + minute(t) AS minute, flow, signed, prints
FROM (SELECT timezone($tz, timezone('UTC', time_bucket(INTERVAL 1 MINUTE, ts))) AS t,
             sum(CASE WHEN side = 'buy' THEN size WHEN side = 'sell' THEN -size ELSE 0 END) AS flow,
             count(side) AS signed, count(*) AS prints
      FROM trades WHERE symbol = $symbol AND ts >= $lo AND ts < $hi GROUP BY ALL)
WHERE CAST(t AS DATE) BETWEEN $start AND $end
"""

# time-weighted spread per day over the day's session ($days ... $break_end: one entry per trading day, local
# minutes); a quote's weight runs to the next quote of the same day and session segment (not across a lunch break)
_SPREAD = """
WITH s AS (
    SELECT unnest(CAST($days AS DATE[])) AS day, unnest(CAST($open AS DOUBLE[])) AS o,
           unnest(CAST($close AS DOUBLE[])) AS c, unnest(CAST($break_start AS DOUBLE[])) AS bs,
           unnest(CAST($break_end AS DOUBLE[])) AS be
),
q AS (
    SELECT timezone($tz, timezone('UTC', ts)) AS t, ask - bid AS spread, (ask + bid) / 2 AS mid
    FROM quotes WHERE symbol = $symbol AND ts >= $lo AND ts < $hi AND ask >= bid
),
w AS (
    SELECT s.day, spread, mid, hour(t) * 60 + minute(t) >= coalesce(s.be, 1e9) AS afternoon, t
    FROM q JOIN s ON CAST(q.t AS DATE) = s.day
    WHERE hour(t) * 60 + minute(t) >= s.o AND hour(t) * 60 + minute(t) < s.c
      AND NOT (hour(t) * 60 + minute(t) >= coalesce(s.bs, 1e9) AND hour(t) * 60 + minute(t) < coalesce(s.be, 0))
),
x AS (
    SELECT day, spread, mid,
           date_diff('microsecond', t, lead(t) OVER (PARTITION BY day, afternoon ORDER BY t)) / 1e6 AS seconds
    FROM w
)
SELECT day, sum(spread * seconds) / sum(seconds) AS spread, sum(spread / mid * seconds) / sum(seconds) AS rel,
       count(*) AS quotes
FROM x WHERE seconds > 0
GROUP BY day ORDER BY day
"""


def instrument_market(con, symbol: str) -> tuple[sessions.MarketSession, str]:
    """The instrument's market and a phrase saying where it comes from; ValueError when it is unknown.

    Nothing is assumed silently: a symbol without an instrument row or without a time zone is refused; a stored
    instrument without a regular session or a calendar is used with the defaults, and the phrase says so.
    """
    rows = fetch(
        con, "SELECT time_zone, session_open, session_close, calendar FROM instruments WHERE symbol = ?", [symbol]
    )
    if not rows:
        raise ValueError(f"the market of {symbol} is unknown (it has no instrument row): {_MARKET_HELP}")
    time_zone, open_local, close_local, calendar = rows[0]
    if not time_zone:
        raise ValueError(f"the market of {symbol} is unknown (its instrument has no time zone): {_MARKET_HELP}")
    session = sessions.instrument_session(con, symbol)
    if session is None:  # the row was read just above: only a concurrent delete gets here
        raise ValueError(f"the market of {symbol} is unknown (it has no instrument row): {_MARKET_HELP}")
    notes = ["stored with the instrument"]
    if not (open_local and close_local):
        notes.append(f"no session stored: the default {session.open_local}–{session.close_local} used")
    if not calendar:
        notes.append("no calendar: no holidays or half days")
    return session, "; ".join(notes)


@dataclass(frozen=True)
class SessionCoverage:
    """What a calibration read: the market used, bars and days used and ignored (by reason), session coverage.

    Attributes
    ----------
    session : the instrument's market (time zone, regular session, calendar).
    market_source : where ``session`` comes from (and any default used).
    bars_source : ``bars`` or one-minute bars built from trade prints.
    bars_used : bars inside their day's regular session (half days included).
    bars_ignored : bars left out, by reason: ``extended_hours``, ``lunch_break``, ``outside_calendar``.
    days_used : full trading days with bars (they make the volume profile and ADV).
    days_ignored : days left out, by reason: ``half_day`` (used for volatility, spread and impact only),
        ``outside_calendar`` (weekend or holiday dates with bars), ``no_regular_session_bars`` (trading days with
        bars outside the session only), ``no_bars`` (trading days inside the data's span without any bar).
    half_days : the half days used for volatility only.
    median_coverage : median over days with session bars of the share of the day's session minutes with a bar.
    share_days_without_first_hour, share_days_without_last_hour : share of those days with no bar in the first
        (last) hour of their session.
    problems : the reasons the data do not support accepting the run (empty when they do).
    longest_stretch : when the window joins periods with a gap between them (one of ``problems``), the first and
        last day of the longest run of consecutive trading days with bars: the window to choose instead.
    """

    session: sessions.MarketSession
    market_source: str
    bars_source: str
    bars_used: int
    bars_ignored: dict[str, int]
    days_used: int
    days_ignored: dict[str, int]
    half_days: tuple[dt.date, ...]
    median_coverage: float
    share_days_without_first_hour: float
    share_days_without_last_hour: float
    problems: tuple[str, ...] = ()
    longest_stretch: tuple[dt.date, dt.date] | None = None

    def summary(self) -> str:
        """One readable line: market, bars and days used and ignored, coverage."""
        ignored_bars = ", ".join(_count(n, *_BAR_LABELS[k]) for k, n in self.bars_ignored.items() if n)
        ignored_days = ", ".join(_count(n, *_DAY_LABELS[k]) for k, n in self.days_ignored.items() if n)
        return (
            f"market {self.session.describe()} ({self.market_source}); "
            f"{_count(self.bars_used, 'session bar', 'session bars')} used on "
            f"{_count(self.days_used, 'full day', 'full days')}; "
            f"bars ignored: {ignored_bars or 'none'}; days ignored: {ignored_days or 'none'}; "
            f"coverage: median day {self.median_coverage:.0%} of its session minutes, no bar in the first hour on "
            f"{self.share_days_without_first_hour:.0%} of days, in the last hour on "
            f"{self.share_days_without_last_hour:.0%}"
        )

    def as_table(self) -> pd.DataFrame:
        """Bars and days used and left out, one row per reason (what, reason, count), for pages."""
        rows = [("bars", "used: inside their day's regular session", self.bars_used)]
        rows += [("bars", f"left out: {_BAR_LABELS[k][1]}", n) for k, n in self.bars_ignored.items()]
        rows.append(("days", "used: full trading days (volume profile, ADV, volatility, impact)", self.days_used))
        rows += [("days", f"left out: {_DAY_LABELS[k][1]}", n) for k, n in self.days_ignored.items()]
        return pd.DataFrame(rows, columns=["what", "reason", "count"])

    def to_json(self) -> dict[str, Any]:
        return {
            "market": {**self.session.to_json(), "source": self.market_source},
            "session_minutes": self.session.session_minutes,
            "bars_source": self.bars_source,
            "bars_used": self.bars_used,
            "bars_ignored": dict(self.bars_ignored),
            "days_used": self.days_used,
            "days_ignored": dict(self.days_ignored),
            "half_days": [d.isoformat() for d in self.half_days],
            "half_day_rule": "half days are left out of the volume profile and ADV, used for volatility, spread "
            "and impact",
            "coverage": {
                "median_share_of_session_minutes": self.median_coverage,
                "share_of_days_without_first_hour": self.share_days_without_first_hour,
                "share_of_days_without_last_hour": self.share_days_without_last_hour,
                "thresholds": {
                    "max_share_of_days_without_first_or_last_hour": MAX_SHARE_DAYS_WITHOUT_EDGE_HOUR,
                    "min_median_share_of_session_minutes": MIN_MEDIAN_SESSION_COVERAGE,
                },
            },
            "problems": list(self.problems),
        }


def local_span(con, symbol: str) -> tuple[dt.date, dt.date] | None:
    """First and last exchange-local dates of the symbol's bars (else trade prints), None without either.

    ValueError when the symbol's market is unknown (``instrument_market``).
    """
    session, _ = instrument_market(con, symbol)
    for table in ("bars", "trades"):
        (first, last), *_ = fetch(
            con,
            f"SELECT CAST(timezone($tz, timezone('UTC', min(ts))) AS DATE), "
            f"CAST(timezone($tz, timezone('UTC', max(ts))) AS DATE) FROM {table} WHERE symbol = $symbol",
            {"tz": session.time_zone, "symbol": symbol},
        )
        if first is not None:
            return first, last
    return None


_BAR_LABELS = {
    "extended_hours": ("extended-hours bar", "extended-hours bars"),
    "lunch_break": ("bar in the lunch break", "bars in the lunch break"),
    "outside_calendar": ("bar on a weekend/holiday", "bars on weekends/holidays"),
}
_DAY_LABELS = {
    "half_day": ("half day (volatility only)", "half days (volatility only)"),
    "outside_calendar": ("weekend/holiday date with bars", "weekend/holiday dates with bars"),
    "no_regular_session_bars": (
        "trading day with bars outside the session only",
        "trading days with bars outside the session only",
    ),
    "no_bars": ("trading day without bars", "trading days without bars"),
}


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n:,} {singular if n == 1 else plural}"


@dataclass(frozen=True)
class MinuteData:
    """A symbol's regular-session minute bars on a dense (days x session minutes) grid; missing minutes are NaN.

    ``flow`` is net signed volume (buyer- minus seller-initiated shares) from the trades table (NaN where there
    are no prints; all-NaN when the symbol has no signed trades). ``full_day`` marks the rows that are full
    sessions (False: a half day). ``coverage`` says what was read and what was left out.
    """

    symbol: str
    days: tuple[dt.date, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    flow: np.ndarray
    signed_fraction: float
    full_day: np.ndarray
    coverage: SessionCoverage
    follows_previous: np.ndarray | None = None

    @property
    def session(self) -> sessions.MarketSession:
        return self.coverage.session

    @property
    def session_minutes(self) -> int:
        return self.close.shape[1]

    @property
    def bars_source(self) -> str:
        return self.coverage.bars_source

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def n_bars(self) -> int:
        return int(np.isfinite(self.close).sum())


def _params(symbol: str, tz: str, start: dt.date | None, end: dt.date | None) -> dict:
    start = start or dt.date(1900, 1, 1)
    end = end or dt.date(2999, 12, 31)
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    return {
        "symbol": symbol,
        "tz": tz,
        "start": start,
        "end": end,
        "lo": dt.datetime.combine(start - dt.timedelta(days=1), dt.time()),
        "hi": dt.datetime.combine(end + dt.timedelta(days=2), dt.time()),
    }


def _day_numbers(column: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of a column of dates (vectorised, for matching bars to trading days)."""
    return pd.to_datetime(column).to_numpy().astype("datetime64[D]").astype(np.int64)


def _date(day_number: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day_number))


@dataclass(frozen=True)
class _Placement:
    """Where each fetched row goes: its grid row and column (-1 when not used) and why it is not used."""

    row: np.ndarray
    col: np.ndarray
    used: np.ndarray
    reason: np.ndarray  # '' used, else extended_hours / lunch_break / outside_calendar


def _place(frame: pd.DataFrame, calendar: pd.DataFrame, session: sessions.MarketSession) -> _Placement:
    """Classify rows (local day, minute after midnight) against each trading day's session."""
    trading = calendar["day_number"].to_numpy()
    days = _day_numbers(frame["day"])
    minute = frame["minute"].to_numpy(dtype=float)
    col = (minute - session.open_minute).astype(np.intp)
    if not trading.size:  # only weekend/holiday dates
        k = np.full(days.size, -1, dtype=np.intp)
        return _Placement(k, col, np.zeros(days.size, dtype=bool), np.full(days.size, "outside_calendar"))
    k = np.minimum(np.searchsorted(trading, days), trading.size - 1)
    k = np.where(trading[k] == days, k, -1)
    in_calendar = k >= 0
    kk = np.where(in_calendar, k, 0)
    o, c = calendar["o"].to_numpy()[kk], calendar["c"].to_numpy()[kk]
    bs, be = calendar["break_start_minute"].to_numpy()[kk], calendar["break_end_minute"].to_numpy()[kk]
    in_session = in_calendar & (minute >= o) & (minute < c)
    in_break = in_session & (minute >= bs) & (minute < be)  # NaN breaks compare False
    used = in_session & ~in_break
    reason = np.where(
        used, "", np.where(~in_calendar, "outside_calendar", np.where(in_break, "lunch_break", "extended_hours"))
    )
    return _Placement(k, col, used, reason)


def _trading_days(session: sessions.MarketSession, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The calendar's trading days in [first, last] with each day's session clipped to the instrument's."""
    calendar = sessions.session_days(session, first, last).reset_index(drop=True)
    calendar["day_number"] = _day_numbers(calendar["day"])
    calendar["day"] = [_date(n) for n in calendar["day_number"]]
    calendar["o"] = np.maximum(calendar["open_minute"].to_numpy(dtype=float), session.open_minute)
    calendar["c"] = np.minimum(calendar["close_minute"].to_numpy(dtype=float), session.close_minute)
    return calendar


def _problems(coverage: dict[str, float], session: sessions.MarketSession) -> tuple[str, ...]:
    """The coverage checks of the module constants, as plain reasons (empty when the data look aligned)."""
    out = []
    name = session.calendar or "regular"
    zone = f"are the instrument's time zone ({session.time_zone}) and session ({session.open_local}–"
    zone += f"{session.close_local}) right?"
    for key, label in (("first", "first"), ("last", "last")):
        share = coverage[f"share_days_without_{key}_hour"]
        if share > MAX_SHARE_DAYS_WITHOUT_EDGE_HOUR:
            out.append(f"the {label} hour of the {name} session has no bars on {share:.0%} of days: {zone}")
    if coverage["median_coverage"] < MIN_MEDIAN_SESSION_COVERAGE:
        out.append(
            f"the median day has bars in only {coverage['median_coverage']:.0%} of its session minutes "
            f"(at least {MIN_MEDIAN_SESSION_COVERAGE:.0%} expected): the data are sparse or misaligned; {zone}"
        )
    return tuple(out)


def _coverage(has_bar: np.ndarray, rows: pd.DataFrame, session: sessions.MarketSession) -> dict[str, float]:
    """Median share of session minutes with a bar and share of days without a bar in the first / last hour."""
    o = (rows["o"].to_numpy() - session.open_minute).astype(np.intp)
    c = (rows["c"].to_numpy() - session.open_minute).astype(np.intp)
    lunch = np.nan_to_num(rows["break_end_minute"].to_numpy(dtype=float) - rows["break_start_minute"].to_numpy())
    counts = np.concatenate([np.zeros((has_bar.shape[0], 1)), np.cumsum(has_bar, axis=1)], axis=1)
    r = np.arange(has_bar.shape[0])

    def bars_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return counts[r, np.clip(b, 0, has_bar.shape[1])] - counts[r, np.clip(a, 0, has_bar.shape[1])]

    share = bars_between(o, c) / np.maximum(c - o - lunch, 1)
    return {
        "median_coverage": float(np.median(share)),
        "share_days_without_first_hour": float(np.mean(bars_between(o, o + EDGE_MINUTES) == 0)),
        "share_days_without_last_hour": float(np.mean(bars_between(c - EDGE_MINUTES, c) == 0)),
    }


def _gaps(
    rows: np.ndarray, calendar: pd.DataFrame, name: str
) -> tuple[tuple[str, ...], tuple[dt.date, dt.date] | None]:
    """A reason when the grid's rows (indices of ``calendar``'s trading days with session bars) leave more than
    ``MAX_SHARE_TRADING_DAYS_WITHOUT_BARS`` of the trading days between the first and the last without bars, and
    the longest run of consecutive trading days with bars (else ``(), None``)."""
    total = int(rows[-1] - rows[0] + 1)
    missing = total - rows.size
    if missing <= MAX_SHARE_TRADING_DAYS_WITHOUT_BARS * total:
        return (), None
    days = calendar["day"].to_numpy()
    breaks = np.flatnonzero(np.diff(rows) > 1)
    k = int(breaks[np.argmax(np.diff(rows)[breaks])])  # the longest hole: after rows[k], before rows[k + 1]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [rows.size - 1]])
    j = int(np.argmax(ends - starts))  # the longest run of consecutive trading days with bars
    hole = int(rows[k + 1] - rows[k] - 1)
    return (
        (
            f"{missing:,} of the {total:,} {name} trading days from {days[rows[0]]} to {days[rows[-1]]} have no bars "
            f"(the longest gap: {days[rows[k] + 1]} to {days[rows[k + 1] - 1]}, {hole:,} trading days): the window "
            "joins periods the store does not hold between them; choose a window inside one of "
            f"them (the longest: {days[rows[starts[j]]]} to {days[rows[ends[j]]]}, {int(ends[j] - starts[j] + 1)} "
            "trading days) or load the missing days"
        ),
    ), (days[rows[starts[j]]], days[rows[ends[j]]])


def load_minutes(con, symbol: str, start: dt.date | None = None, end: dt.date | None = None) -> MinuteData:
    """Minute bars and signed flow of ``symbol`` in the local-date window [start, end] on its session grid.

    Raises ValueError with a plain message when the symbol's market is unknown or it has no bars in its regular
    session in the window.
    """
    session, market_source = instrument_market(con, symbol)
    params = _params(symbol, session.time_zone, start, end)
    bars = fetch(con, _LOCAL_BARS, params, how="df")
    source = "bars"
    if bars.empty:
        bars = fetch(con, _LOCAL_TRADE_BARS, params, how="df")
        source = "one-minute bars built from trade prints"
    if bars.empty:
        raise ValueError(f"{symbol} has no regular-session bars between {params['start']} and {params['end']}")
    local_days = _day_numbers(bars["day"])
    calendar = _trading_days(session, _date(local_days.min()), _date(local_days.max()))
    place = _place(bars, calendar, session)
    if not place.used.any():
        raise ValueError(
            f"{symbol} has no regular-session bars between {params['start']} and {params['end']}: its "
            f"{len(bars):,} bars all fall outside the {session.describe()} session; is the instrument's market right?"
        )
    grid_rows = np.unique(place.row[place.used])
    row_of = np.full(len(calendar), -1, dtype=np.intp)
    row_of[grid_rows] = np.arange(grid_rows.size)
    rows = calendar.iloc[grid_rows].reset_index(drop=True)
    shape = (grid_rows.size, session.session_minutes)
    r, col = row_of[place.row[place.used]], place.col[place.used]
    grids = {}
    for name in ("open", "high", "low", "close", "volume"):
        grid = np.full(shape, np.nan)
        grid[r, col] = bars[name].to_numpy(dtype=float)[place.used]
        grids[name] = grid
    grids["volume"] = np.nan_to_num(grids["volume"], nan=0.0)

    flow, signed_fraction = _flow(con, params, calendar, session, row_of, shape, grids["close"])

    days_with_bars = set(place.row[place.row >= 0])
    full_day = ~rows["half_day"].to_numpy(dtype=bool)
    reasons = pd.Series(place.reason[~place.used]).value_counts()
    cov = _coverage(np.isfinite(grids["close"]), rows, session)
    gaps, stretch = _gaps(grid_rows, calendar, session.calendar or "weekday")
    coverage = SessionCoverage(
        session=session,
        market_source=market_source,
        bars_source=source,
        bars_used=int(place.used.sum()),
        bars_ignored={k: int(reasons.get(k, 0)) for k in ("extended_hours", "lunch_break", "outside_calendar")},
        days_used=int(full_day.sum()),
        days_ignored={
            "half_day": int((~full_day).sum()),
            "outside_calendar": int(np.unique(local_days[place.row < 0]).size),
            "no_regular_session_bars": len(days_with_bars) - grid_rows.size,
            "no_bars": len(calendar) - len(days_with_bars),
        },
        half_days=tuple(rows["day"][~full_day]),
        problems=(*_problems(cov, session), *gaps),
        longest_stretch=stretch,
        **cov,
    )
    return MinuteData(
        symbol=symbol,
        days=tuple(rows["day"]),
        flow=flow,
        signed_fraction=signed_fraction,
        full_day=full_day,
        coverage=coverage,
        follows_previous=np.concatenate([[False], np.diff(grid_rows) == 1]),
        **grids,
    )


def _flow(con, params, calendar, session, row_of, shape, close) -> tuple[np.ndarray, float]:
    """Net signed volume per grid minute and the signed share of the prints in the grid's minutes."""
    flow = np.full(shape, np.nan)
    trades = fetch(con, _LOCAL_FLOW, params, how="df")
    if trades.empty:
        return flow, 0.0
    place = _place(trades, calendar, session)
    keep = place.used & (row_of[np.maximum(place.row, 0)] >= 0)
    total = float(trades["prints"].to_numpy()[keep].sum())
    signed_fraction = float(trades["signed"].to_numpy()[keep].sum()) / total if total else 0.0
    if signed_fraction > 0:
        flow[row_of[place.row[keep]], place.col[keep]] = trades["flow"].to_numpy(dtype=float)[keep]
        flow[np.isnan(flow) & np.isfinite(close)] = 0.0  # a bar without prints: no net flow
    return flow, signed_fraction


def daily_spreads(con, symbol: str, days: tuple[dt.date, ...]) -> pd.DataFrame:
    """Time-weighted quoted spread per day ($ and fraction of mid) with the number of quotes (DataFrame).

    Only quotes inside each of ``days`` (local trading dates, e.g. ``MinuteData.days``) regular session count.
    """
    session, _ = instrument_market(con, symbol)
    params = _params(symbol, session.time_zone, min(days), max(days))
    del params["start"], params["end"]
    calendar = _trading_days(session, min(days), max(days))
    calendar = calendar[calendar["day"].isin(set(days))]

    def column(name: str) -> list[float | None]:
        return [float(x) if np.isfinite(x) else None for x in calendar[name].to_numpy(dtype=float)]

    params.update(
        days=list(calendar["day"]),
        open=column("o"),
        close=column("c"),
        break_start=column("break_start_minute"),
        break_end=column("break_end_minute"),
    )
    return fetch(con, _SPREAD, params, how="df")
