"""The market of the symbols in a load: given, inferred, from the file format or already stored; and where rows fall.

``decide`` settles, before the rows are staged, the zone that times written without an offset are read in and
each symbol's market (``sessions.MarketSession``), or refuses the load with a question. The rules:

* A stored instrument keeps its stored market (and says so). A ``tz``/``calendar``/``session`` that disagrees with
  it is refused with the stored market and how to change it (``db market``). ``tz`` is the zone of the
  instrument unless a calendar is given: with ``calendar`` it only says how times without an offset read.
* A new symbol takes the market given (``calendar``, or ``tz`` and ``session``), else the file format's (LEAN:
  XNYS; LOBSTER: XNAS), else the one inferred from its volume by time of day (``optexec.store.inference``);
  partly given (only ``tz`` or only ``session``) infers the rest among the consistent candidates. All new symbols
  of one file get one market (load files of different markets separately).
* Times without an offset are read in ``tz`` when given; otherwise in whichever of the markets' zones and UTC
  puts the volume in the session (inferred and stated), or the load asks.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from dataclasses import dataclass

import numpy as np

from optexec.store import inference
from optexec.store.calendars import check_code
from optexec.store.reports import LoadError
from optexec.store.sessions import MarketSession, from_calendar, instrument_session

#: what a symbol's ``market_source`` says, by origin
GIVEN, INFERRED, STORED = "given", "inferred from the volume by time of day", "the instrument already stored"
#: the best share of volume in the session that settles the naive zone of a stored symbol's file, and the margin
ZONE_MARGIN = 0.1
#: fewer distinct minutes than this cannot tell the zone of a stored symbol's naive times
MIN_MINUTES_TO_TELL = 30
HOW_TO_CHOOSE = "say which market it is with --calendar CODE (e.g. XNYS), or --tz ZONE and --session HH:MM-HH:MM"


@dataclass(frozen=True)
class MarketRequest:
    """What the user said about the market: time zone, calendar code, regular session (each optional)."""

    tz: str | None = None
    calendar: str | None = None
    session: tuple[str, str] | None = None

    @classmethod
    def parse(cls, tz: str | None = None, calendar: str | None = None, session: str | None = None) -> MarketRequest:
        """Validate the three inputs (unknown zone or calendar, a bad or inverted session: ValueError)."""
        tz = (tz or "").strip() or None
        calendar = (calendar or "").strip().upper() or None
        if calendar == "24/7" or (calendar or "").lower() == "24/7":
            calendar = "24/7"
        if tz is not None:
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise LoadError(f"unknown time zone {tz!r}; use a name like America/New_York or UTC") from None
        if calendar is not None:
            check_code(calendar)
        parsed = inference.parse_session(session) if session is not None and session.strip() else None
        return cls(tz, calendar, parsed)

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.tz, self.calendar, self.session))

    def market_zone(self) -> str | None:
        """The instrument's zone implied: the calendar's, else ``tz``."""
        return from_calendar(self.calendar).time_zone if self.calendar else self.tz


@dataclass(frozen=True)
class MarketNote:
    """One line of the load report about a market: the symbols, their market, where it came from, the sentence."""

    symbols: tuple[str, ...]
    market: MarketSession
    source: str
    sentence: str

    def to_json(self) -> dict:
        return {"symbols": list(self.symbols), **self.market.to_json(), "source": self.source,
                "sentence": self.sentence}  # fmt: skip


@dataclass(frozen=True)
class Decision:
    """The naive zone (None: no time without an offset), each symbol's market and source, and the notes."""

    naive_zone: str | None
    markets: dict[str, tuple[MarketSession, str]]
    notes: tuple[MarketNote, ...]
    zone_sentence: str = ""

    @property
    def new_symbols(self) -> list[str]:
        return [s for s, (_, source) in self.markets.items() if source != STORED]


def stored_markets(cur, symbols) -> dict[str, tuple[MarketSession, str]]:
    """The stored market and its source for each of ``symbols`` that has an instrument row."""
    out = {}
    for symbol in symbols:
        market = instrument_session(cur, symbol)
        if market is not None:
            row = cur.execute("SELECT market_source FROM instruments WHERE symbol = ?", [symbol]).fetchone()
            out[symbol] = (market, (row[0] if row else None) or "not recorded")
    return out


def _check_disagreement(stored: dict, request: MarketRequest) -> None:
    for symbol, (market, source) in stored.items():
        said = []
        if request.calendar is not None and request.calendar != market.calendar:
            said.append(f"--calendar {request.calendar}")
        zone = request.market_zone()
        if zone is not None and zone != market.time_zone:
            said.append(f"--tz {request.tz}" if not request.calendar else f"--calendar {request.calendar}")
        if request.session is not None and request.session != (market.open_local, market.close_local):
            said.append(f"--session {request.session[0]}-{request.session[1]}")
        if said:
            # the other meaning of a --tz for a stored symbol: the zone of the file's times, not of its market
            times = ""
            if zone is not None and zone != market.time_zone and not request.calendar:
                times = (
                    f". If instead the file's times without an offset are {request.tz} wall-clock times, write their "
                    "offsets in the file"
                    + (f" or give the stored calendar too: --tz {request.tz} --calendar {market.calendar}"
                       if market.calendar else "")
                )  # fmt: skip
            raise LoadError(
                f"{symbol} is stored with the market {market.describe()} ({source}); {', '.join(said)} disagrees. "
                f"Load without it, or change the stored market first: python -m optexec db market {symbol} "
                f"{' '.join(said)}{times}"
            )


def _fit_sentence(fit: inference.Fit | None) -> str:
    if fit is None or fit.weight <= 0:
        return ""
    return f" ({fit.share:.1%} of the volume inside the session)"


def _zone_sentence(zone: str | None, how: str) -> str:
    if zone is None:
        return ""
    reading = "as they are (UTC)" if zone == "UTC" else f"as {zone} local time"
    return f"times written without an offset are read {reading} ({how})"


def _question(problem: str, fits_text: str) -> LoadError:
    return LoadError(
        f"cannot tell the market of this file: {problem}. Best candidates: {fits_text or 'none'}. "
        f"To load it, {HOW_TO_CHOOSE}"
    )


#: tables whose rows are not market activity: a file of stored symbols may fall back on their zone
OWN_RECORDS = ("orders", "fills", "calibration_runs", "calibration_parameters", "calibration_profiles")


def decide(
    cur,
    hist: inference.Histogram,
    request: MarketRequest,
    format_market: tuple[MarketSession, str] | None = None,
    table: str = "bars",
    symbols: list[str] | None = None,
) -> Decision:
    """Each symbol's market and the naive zone of a file, from what was said, the format, the store, the data.

    ``symbols``: the file's symbols, when ``hist`` counts the rows of the symbols not stored yet together (under
    any one of them; they get one market); by default the symbols of ``hist``.
    """
    hist = inference.Histogram.of(hist)
    if symbols is None:
        symbols = hist.symbols()
    stored = stored_markets(cur, symbols)
    _check_disagreement(stored, request)
    new = [s for s in symbols if s not in stored]
    has_naive = bool(hist.naive.any())
    markets: dict[str, tuple[MarketSession, str]] = {s: stored[s] for s in stored}
    notes = [
        MarketNote((s,), m, STORED, f"{s}: the stored market {m.describe()} ({source})")
        for s, (m, source) in stored.items()
    ]
    zone, zone_how = (request.tz, "given") if request.tz else (None, "")
    if new:
        # the rows of the new symbols (they may be counted together)
        new_rows = hist.where(~np.isin(hist.symbol, list(stored)))
        market, source, sentence, zone, zone_how = _new_market(new_rows, request, format_market, has_naive, zone,
                                                               zone_how)  # fmt: skip
        markets.update({s: (market, source) for s in new})
        notes.append(MarketNote(tuple(new), market, source, sentence))
    elif has_naive and zone is None:
        zone, zone_how = _stored_zone(hist, stored, table in OWN_RECORDS)
    if not has_naive:
        zone = None
    return Decision(zone, markets, tuple(notes), _zone_sentence(zone, zone_how))


def _new_market(hist, request, format_market, has_naive, zone, zone_how):
    """(market, source, sentence, naive zone, how the zone was chosen) for the new symbols of a file."""
    if request.given:
        candidates = inference.candidate_markets(request.tz, request.calendar, request.session)
        if not candidates:
            raise LoadError(
                f"no candidate calendar trades in {request.tz}; give the session with --session HH:MM-HH:MM "
                "(and --calendar CODE if it has an exchange calendar)"
            )
    elif format_market is not None:
        candidates = [format_market[0]]
    else:
        candidates = inference.candidate_markets()
    if zone is not None:
        zones = [zone]
    elif not has_naive:
        zones = [None]
    else:
        zones = list(dict.fromkeys(["UTC"] + [m.time_zone for m in candidates]))  # UTC wins a tie (same instants)
    fixed = request.calendar is not None or (format_market is not None and not request.given)  # market known
    if fixed and len(zones) == 1:
        best, same = inference.fit(hist, candidates[0], zones[0]), ()
    else:
        result = inference.infer(hist, candidates, zones)
        best, same = result.best, result.same_as_best
        fallback = [m for m in candidates if m.calendar is None]
        if best is None and fallback and len(zones) == 1:  # tz and session given, no calendar fits: every weekday
            best, same = inference.fit(hist, fallback[0], zones[0]), ()
        elif best is None and fixed:
            raise LoadError(
                f"cannot tell how the times written without an offset read: {result.candidates_text()}. "
                "Give their zone with --tz ZONE (e.g. --tz UTC), or write offsets in the file (e.g. -05:00)"
            )
        elif best is None:
            raise _question(result.problem, result.candidates_text())
    market = best.market
    if zone is None and best.naive_zone is not None:
        zone, zone_how = best.naive_zone, "inferred from the volume by time of day"
    if request.calendar is not None or (request.tz and request.session and market.calendar is None):
        source = GIVEN
        sentence = f"market given: {market.describe()}{_fit_sentence(best)}"
    elif request.given:
        said = ", ".join(k for k, v in (("time zone", request.tz), ("session", request.session)) if v)
        source = f"{INFERRED} ({said} given)"
        sentence = inference.Inference(best, (best,), same).sentence() + f"; {said} given"
    elif format_market is not None:
        source = format_market[1]
        sentence = f"{market.describe()} from {format_market[1]}{_fit_sentence(best)}"
    else:
        source = INFERRED
        sentence = inference.Inference(best, (best,), same).sentence()
    return market, source, sentence, zone, zone_how


def _stored_zone(hist: inference.Histogram, stored: dict, own_records: bool = False) -> tuple[str, str]:
    """The naive zone of a file of stored symbols: their zone or UTC, whichever puts the volume in the session.

    When the data cannot tell, a file of our own records (orders, fills, calibrations) is read in the symbols'
    stored zone, and the report says so; market data is refused with the question.
    """
    zones = list(dict.fromkeys([m.time_zone for m, _ in stored.values()] + ["UTC"]))
    if len(zones) == 1:
        return zones[0], "the stored market's time zone"
    shares = {}
    for zone in zones:
        inside = total = 0.0
        for symbol, (market, _) in stored.items():
            f = inference.fit(hist.where(hist.symbol == symbol), market, zone)
            inside, total = inside + f.share * f.weight, total + f.weight
        shares[zone] = inside / total if total else 0.0
    ranked = sorted(shares, key=lambda z: -shares[z])
    best, second = ranked[0], ranked[1]
    listed = ", ".join(f"as {z}: {shares[z]:.1%}" for z in ranked)
    few = len(hist) < MIN_MINUTES_TO_TELL
    if few:
        listed += f"; only {len(hist)} distinct minutes"
    if few or shares[best] < inference.MIN_SHARE or shares[second] > shares[best] - ZONE_MARGIN:
        if own_records and len(zones) == 2:
            return zones[0], f"the stored market's time zone: the rows cannot tell ({listed} inside the session)"
        raise LoadError(
            f"cannot tell how the times written without an offset read (share of the volume inside the stored "
            f"session {listed}); write offsets in the file (e.g. -05:00), or give --calendar CODE and --tz ZONE"
        )
    return best, f"inferred: they put the volume in the stored session, {listed}"


def place_counts(
    market: np.ndarray, minute: np.ndarray, rows: np.ndarray, markets: list[MarketSession]
) -> dict[str, int]:
    """Rows in the regular session, outside it on trading days, and on days outside the calendar.

    One entry per market (``market``, an index into ``markets``) and UTC ``minute`` (datetime64) with the number
    of ``rows`` there (the rows of every symbol of that market).
    """
    counts = dict.fromkeys(inference.PLACE_NAMES, 0)
    market = np.asarray(market, dtype=np.int64)
    for index in np.unique(market):
        part = market == index
        places = inference.classify(np.asarray(minute)[part].astype("datetime64[ns]"), markets[int(index)])
        for place, n in places.count(np.asarray(rows)[part].astype(float)).items():
            counts[place] += int(n)
    return counts


def with_source(market: MarketSession, **changes) -> MarketSession:
    """A copy of ``market`` with ``changes`` (validated by MarketSession)."""
    return dataclasses.replace(market, **changes)
