"""A new symbol's market from its data: which exchange session holds the volume, and how naive times read.

The evidence is the volume by time of day (bars: volume; trades and fills: sizes; quotes and orders: one per row).
A candidate answer is a market (``sessions.MarketSession``: zone, regular session, calendar) together with the
zone that times written without an offset are read in (``naive_zone``; irrelevant when every time carries an
offset or a zone). For each candidate, over the data's local dates:

* ``share``: the share of the volume inside the regular sessions of the calendar's trading days;
* ``coverage``: the share of session minutes (on trading days with data) that are *active*: a minute is active
  when its volume is at least ``ACTIVE_FRACTION`` of that day's average session-minute volume, so that a few
  thin pre-market bars do not make a longer session look covered;
* ``day_fit``: the share of the calendar's trading days in the data's span that have data.

A candidate is eligible when ``share >= MIN_SHARE``, ``coverage >= MIN_COVERAGE`` and ``day_fit >= MIN_DAY_FIT``;
its score is ``share**2 * coverage * day_fit`` (volume outside the session counts twice: naive wall times fit any
zone whose exchange keeps similar hours, and only the edges of the session, lunch breaks and holidays tell them
apart). Candidates with the same clock (the same UTC instants in the same local session: XNYS and XTSE, or naive
times read as UTC or London time in winter) are one answer, the one whose trading days fit the data best (the
first of ``sessions.CANDIDATE_CALENDARS`` and of the zones, UTC first, on a tie), the others named in the sentence.
The best answer stands when the next different answer scores below ``MAX_RUNNER_UP`` times it; otherwise, or when
nothing is eligible, there is no answer and the load asks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np

from optexec.store import zones
from optexec.store.sessions import (
    CANDIDATE_CALENDARS,
    MarketSession,
    format_hhmm,
    from_calendar,
    parse_hhmm,
    session_table,
)

MIN_SHARE = 0.8
MIN_COVERAGE = 0.25
MIN_DAY_FIT = 0.8
MAX_RUNNER_UP = 0.85
ACTIVE_FRACTION = 0.2


def parse_session(text: str) -> tuple[str, str]:
    """``(open, close)`` of an ``HH:MM-HH:MM`` regular session; ValueError otherwise (or close before open)."""
    parts = str(text).replace("–", "-").split("-")
    if len(parts) != 2:
        raise ValueError(f"the session must be HH:MM-HH:MM (e.g. 09:30-16:00), got {text!r}")
    opens, closes = (
        format_hhmm(parse_hhmm(p, what)) for p, what in zip(parts, ("the session open", "the close"), strict=True)
    )
    if parse_hhmm(closes) <= parse_hhmm(opens):
        raise ValueError(f"the session closes ({closes}) before it opens ({opens})")
    return opens, closes


@dataclass(frozen=True)
class Fit:
    """How one candidate (market, naive zone) fits the data."""

    market: MarketSession
    naive_zone: str | None
    share: float
    coverage: float
    day_fit: float
    weight: float
    clock: tuple = ()

    @property
    def eligible(self) -> bool:
        return self.share >= MIN_SHARE and self.coverage >= MIN_COVERAGE and self.day_fit >= MIN_DAY_FIT

    @property
    def score(self) -> float:
        return self.share**2 * self.coverage * self.day_fit

    def key(self) -> tuple:
        return (round(self.share, 9), round(self.coverage, 9), round(self.day_fit, 9), self.clock)

    def describe(self) -> str:
        zone = f"; times without an offset as {self.naive_zone}" if self.naive_zone else ""
        return (
            f"{self.market.describe()}{zone}: {self.share:.1%} of volume inside the session, "
            f"{self.coverage:.0%} of session minutes active, data on {self.day_fit:.0%} of its trading days"
        )


@dataclass(frozen=True)
class Inference:
    """The answer (``best``, None when there is none), every candidate's fit, and why not when there is none."""

    best: Fit | None
    fits: tuple[Fit, ...]
    same_as_best: tuple[str, ...] = ()
    problem: str = ""

    def sentence(self) -> str:
        """E.g. ``inferred XNYS, America/New_York, 09:30–16:00 from the volume by time of day (...)``."""
        b = self.best
        if b is None:
            return self.problem or "no market could be inferred from the volume by time of day"
        same = "".join(f"; {text}" for text in self.same_as_best)
        return (
            f"inferred {b.market.describe()} from the volume by time of day ({b.share:.1%} of volume inside "
            f"the session, {b.coverage:.0%} of session minutes active){same}"
        )

    def candidates_text(self, n: int = 3) -> str:
        ranked = sorted(self.fits, key=lambda f: -f.score)
        seen, out = set(), []
        for fit in ranked:
            if fit.key() + (fit.naive_zone,) in seen:
                continue
            seen.add(fit.key() + (fit.naive_zone,))
            out.append(fit.describe())
            if len(out) == n:
                break
        return "; ".join(out)


@dataclass(frozen=True)
class Histogram:
    """The evidence of a file's market: per symbol and minute, whether the times were naive (wall clock) or said
    their zone (UTC), the activity (``weight``) and the number of ``rows``; one numpy array per column."""

    symbol: np.ndarray  # object (str)
    naive: np.ndarray  # bool
    minute: np.ndarray  # datetime64[ns]
    weight: np.ndarray  # float
    rows: np.ndarray  # int64

    @classmethod
    def empty(cls) -> Histogram:
        return cls(np.zeros(0, object), np.zeros(0, bool), np.zeros(0, "datetime64[ns]"), np.zeros(0, float),
                   np.zeros(0, np.int64))  # fmt: skip

    @classmethod
    def of(cls, data) -> Histogram:
        """A histogram of any table with those columns (a DataFrame, a dict of arrays)."""
        if isinstance(data, Histogram):
            return data
        return cls(
            np.asarray(data["symbol"], dtype=object),
            np.asarray(data["naive"], dtype=bool),
            np.asarray(data["minute"]).astype("datetime64[ns]"),
            np.asarray(data["weight"], dtype=float),
            np.asarray(data["rows"], dtype=np.int64) if "rows" in data else np.ones(len(data["symbol"]), np.int64),
        )

    def __len__(self) -> int:
        return len(self.minute)

    def where(self, mask: np.ndarray) -> Histogram:
        """The rows where ``mask`` holds."""
        return Histogram(self.symbol[mask], self.naive[mask], self.minute[mask], self.weight[mask], self.rows[mask])

    def symbols(self) -> list[str]:
        """The distinct symbols, sorted."""
        return sorted({str(s) for s in self.symbol if s is not None})


def utc_minutes(hist, naive_zone: str | None) -> tuple[np.ndarray, np.ndarray]:
    """UTC minute stamps (datetime64) and weights of a histogram, its naive rows read in ``naive_zone``.

    Naive wall times that do not exist or are ambiguous in ``naive_zone`` are left out (they are rejected by line
    when the rows are loaded).
    """
    hist = Histogram.of(hist)
    aware = ~hist.naive
    stamps = [hist.minute[aware]]
    weights = [hist.weight[aware]]
    if naive_zone is not None and (~aware).any():
        utc = zones.local_to_utc(hist.minute[~aware], naive_zone)
        ok = ~np.isnat(utc)
        stamps.append(utc[ok])
        weights.append(hist.weight[~aware][ok])
    return np.concatenate(stamps), np.concatenate(weights)


#: the places a minute can be in (``Places.place`` holds their index)
PLACE_NAMES = ("regular", "outside", "off_day")


@dataclass(frozen=True)
class Places:
    """Where each of a run of UTC minutes falls in a market: its local date (``day``, datetime64[D]), local
    minute after midnight (``minute``), and place (``place``, an index into ``PLACE_NAMES``); ``days`` holds the
    market's trading days over those dates (``sessions.session_table``: one array per column)."""

    day: np.ndarray
    minute: np.ndarray
    place: np.ndarray
    days: dict[str, np.ndarray]

    def count(self, weights: np.ndarray) -> dict[str, float]:
        """The sum of ``weights`` in each place, by name."""
        totals = np.bincount(self.place, weights=weights, minlength=len(PLACE_NAMES))
        return {name: float(total) for name, total in zip(PLACE_NAMES, totals, strict=True)}


def classify(stamps_utc: np.ndarray, market: MarketSession) -> Places:
    """Each UTC minute's local date, local minute and place: ``regular``, ``outside`` (a trading day, outside
    the regular session or in its break) or ``off_day`` (not a trading day of the calendar)."""
    local = zones.utc_to_local(np.asarray(stamps_utc).astype("datetime64[ns]"), market.time_zone)
    day = local.astype("datetime64[D]")
    minute = ((local - day) // np.timedelta64(1, "m")).astype(np.int64)
    if len(day) == 0:
        empty = session_table(market, dt.date(2000, 1, 2), dt.date(2000, 1, 1))
        return Places(day, minute, np.zeros(0, np.int64), empty)
    days = session_table(market, day.min().item(), day.max().item())
    trading_days = days["day"]
    at = np.clip(np.searchsorted(trading_days, day), 0, max(len(trading_days) - 1, 0))
    trading = (at < len(trading_days)) & (trading_days[at] == day) if len(trading_days) else np.zeros(len(day), bool)

    def of_day(column: str) -> np.ndarray:
        values = np.asarray(days[column], dtype=float)
        return values[at] if len(values) else np.full(len(day), np.nan)

    inside = trading & (minute >= of_day("open_minute")) & (minute < of_day("close_minute"))
    inside &= ~((minute >= of_day("break_start_minute")) & (minute < of_day("break_end_minute")))
    return Places(day, minute, np.where(inside, 0, np.where(trading, 1, 2)).astype(np.int64), days)


def fit(hist, market: MarketSession, naive_zone: str | None) -> Fit:
    """How the histogram fits ``market`` with naive times read in ``naive_zone`` (see the module docstring)."""
    stamps, weights = utc_minutes(hist, naive_zone)
    total = float(weights.sum())
    places = classify(stamps, market)
    if len(places.day) == 0 or total <= 0:
        return Fit(market, naive_zone, 0.0, 0.0, 0.0, total)
    local = places.minute.tobytes() + places.day.astype("datetime64[ns]").tobytes()
    clock = (market.open_local, market.close_local, hash(local))  # the same instants in the same local session
    inside = places.place == 0
    share = float(weights[inside].sum()) / total
    days = places.days
    trading_days = days["day"]
    breaks = np.nan_to_num(np.asarray(days["break_end_minute"], float) - np.asarray(days["break_start_minute"], float))
    session_minutes = np.asarray(days["close_minute"], float) - np.asarray(days["open_minute"], float) - breaks
    data_days = np.isin(trading_days, places.day)
    # the weight of each (day, minute) inside the session, against that day's average session minute
    day_index = np.searchsorted(trading_days, places.day[inside])
    keys, which = np.unique(day_index * 1440 + places.minute[inside], return_inverse=True)
    per_minute = np.bincount(which, weights=weights[inside])
    key_day = keys // 1440
    day_total = np.bincount(key_day, weights=per_minute, minlength=len(trading_days))
    active = int((per_minute >= ACTIVE_FRACTION * day_total[key_day] / session_minutes[key_day]).sum())
    session_total = float(session_minutes[data_days].sum())
    coverage = active / session_total if session_total else 0.0
    day_fit = int(data_days.sum()) / len(trading_days) if len(trading_days) else 0.0
    return Fit(market, naive_zone, share, coverage, day_fit, total, clock)


def candidate_markets(
    tz: str | None = None, calendar: str | None = None, session: tuple[str, str] | None = None
) -> list[MarketSession]:
    """The markets a new symbol may have given what the user said (any of tz, calendar, session).

    With a calendar: that calendar (its session replaced by ``session`` when given; ``tz`` then only says how
    naive times read). Otherwise the candidate calendars consistent with ``tz`` and ``session``, plus, when both
    are given, the market without a calendar (every weekday).
    """
    if calendar is not None:
        market = from_calendar(calendar)
        if session is not None:
            market = dataclasses.replace(market, open_local=session[0], close_local=session[1])
        return [market]
    out = []
    for code in CANDIDATE_CALENDARS:
        market = from_calendar(code)
        if tz is not None and market.time_zone != tz:
            continue
        if session is not None:
            market = dataclasses.replace(market, open_local=session[0], close_local=session[1])
        out.append(market)
    if tz is not None and session is not None:
        out.append(MarketSession(tz, session[0], session[1], None))
    return out


def infer(hist, markets: list[MarketSession], naive_zones: list[str | None]) -> Inference:
    """The best (market, naive zone) for the data, or none with the reason (see the module docstring)."""
    fits = tuple(fit(hist, m, z) for z in naive_zones for m in markets)
    eligible = sorted((f for f in fits if f.eligible), key=lambda f: -f.score)
    if not eligible:
        return Inference(None, fits, problem="the volume by time of day fits no candidate market")
    groups: dict[tuple, list[Fit]] = {}
    for f in eligible:  # same clock: same local times and session (XNYS, XTSE): the calendars' days decide
        groups.setdefault(f.clock, []).append(f)
    ranked = [max(group, key=lambda f: (f.day_fit * f.share, -group.index(f))) for group in groups.values()]
    ranked.sort(key=lambda f: -f.score)
    best = ranked[0]
    if len(ranked) > 1 and ranked[1].score >= MAX_RUNNER_UP * best.score:
        if ranked[1].market == best.market:
            zones = ", ".join(dict.fromkeys(str(f.naive_zone) for f in ranked if f.market == best.market))
            problem = f"times written without an offset fit {best.market.describe()} read in several zones ({zones})"
        else:
            problem = "the volume by time of day fits more than one market"
        return Inference(None, fits, problem=problem)
    same = [f for f in groups[best.clock] if f is not best]
    names = tuple(
        f"{f.market.calendar or 'no calendar'} has the same hours"
        + (" and fits the same way (give the calendar if it is that one)" if f.key() == best.key() else
           f" but its trading days fit the data less well ({f.day_fit:.0%} of them have data)")
        for f in same
    )  # fmt: skip
    return Inference(best, fits, names)
