"""SQL over the store for calibration: minute bars on a dense day x minute grid, signed flow, quotes.

Times are converted to the instrument's local time zone in DuckDB; the regular session is the
390 minutes from 09:30 local time (``SESSION_OPEN_MINUTE``). Windows are local calendar dates, inclusive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from optexec.models import SESSION_MINUTES
from optexec.store.db import _fetch

SESSION_OPEN_MINUTE = 9 * 60 + 30

_LOCAL = """
WITH i AS (SELECT coalesce(max(time_zone), 'UTC') AS tz FROM instruments WHERE symbol = $symbol)
"""

# one-minute bars of b (local time t) as (day, minute of the session, OHLCV) inside the window and the session
_SESSION_MINUTE_BARS = """
SELECT CAST(t AS DATE) AS day, hour(t) * 60 + minute(t) - $open_minute AS minute, open, high, low, close, volume
FROM b
WHERE CAST(t AS DATE) BETWEEN $start AND $end AND hour(t) * 60 + minute(t) - $open_minute BETWEEN 0 AND $last
ORDER BY t
"""

BARS_SQL = (
    _LOCAL
    + """,
b AS (
    SELECT timezone(i.tz, timezone('UTC', ts)) AS t, open, high, low, close, volume
    FROM bars, i
    WHERE symbol = $symbol AND ts >= $lo AND ts < $hi
)
"""
    + _SESSION_MINUTE_BARS
)

TRADE_BARS_SQL = (
    _LOCAL
    + """,
b AS (
    SELECT timezone(i.tz, timezone('UTC', time_bucket(INTERVAL 1 MINUTE, ts))) AS t,
           arg_min(price, ts) AS open, max(price) AS high, min(price) AS low, arg_max(price, ts) AS close,
           sum(size) AS volume
    FROM trades, i
    WHERE symbol = $symbol AND ts >= $lo AND ts < $hi
    GROUP BY ALL
)
"""
    + _SESSION_MINUTE_BARS
)

FLOW_SQL = (
    _LOCAL
    + """,
t AS (
    SELECT timezone(i.tz, timezone('UTC', time_bucket(INTERVAL 1 MINUTE, ts))) AS t,
           sum(CASE WHEN side = 'buy' THEN size WHEN side = 'sell' THEN -size ELSE 0 END) AS flow,
           sum(size) AS volume, count(side) AS signed, count(*) AS prints
    FROM trades, i
    WHERE symbol = $symbol AND ts >= $lo AND ts < $hi
    GROUP BY ALL
)
SELECT CAST(t AS DATE) AS day, hour(t) * 60 + minute(t) - $open_minute AS minute, flow, volume, signed, prints
FROM t
WHERE CAST(t AS DATE) BETWEEN $start AND $end AND hour(t) * 60 + minute(t) - $open_minute BETWEEN 0 AND $last
"""
)

SPREAD_SQL = (
    _LOCAL
    + """,
q AS (
    SELECT timezone(i.tz, timezone('UTC', ts)) AS t, ask - bid AS spread, (ask + bid) / 2 AS mid
    FROM quotes, i
    WHERE symbol = $symbol AND ts >= $lo AND ts < $hi AND ask >= bid
),
w AS (
    SELECT CAST(t AS DATE) AS day, spread, mid,
           date_diff('microsecond', t, lead(t) OVER (PARTITION BY CAST(t AS DATE) ORDER BY t)) / 1e6 AS seconds
    FROM q
    WHERE CAST(t AS DATE) BETWEEN $start AND $end
      AND hour(t) * 60 + minute(t) - $open_minute BETWEEN 0 AND $last
)
SELECT day, sum(spread * seconds) / sum(seconds) AS spread, sum(spread / mid * seconds) / sum(seconds) AS rel,
       count(*) AS quotes
FROM w WHERE seconds > 0
GROUP BY day ORDER BY day
"""
)


@dataclass(frozen=True)
class MinuteData:
    """A symbol's regular-session minute bars on a dense (days x 390) grid; missing minutes are NaN.

    ``flow`` is net signed volume (buyer- minus seller-initiated shares) from the trades table
    (NaN where there are no prints; all-NaN when the symbol has no signed trades). ``bars_source`` says
    whether the bars come from the bars table or were built from trade prints (no bars in the window).
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
    bars_source: str = "bars"

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def n_bars(self) -> int:
        return int(np.isfinite(self.close).sum())


def _params(symbol: str, start: dt.date | None, end: dt.date | None) -> dict:
    start = start or dt.date(1900, 1, 1)
    end = end or dt.date(2999, 12, 31)
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    return {
        "symbol": symbol,
        "start": start,
        "end": end,
        "lo": dt.datetime.combine(start - dt.timedelta(days=1), dt.time()),
        "hi": dt.datetime.combine(end + dt.timedelta(days=2), dt.time()),
        "open_minute": SESSION_OPEN_MINUTE,
        "last": SESSION_MINUTES - 1,
    }


def load_minutes(con, symbol: str, start: dt.date | None = None, end: dt.date | None = None) -> MinuteData:
    """Minute bars and signed flow of ``symbol`` in the local-date window [start, end] (dense grid)."""
    params = _params(symbol, start, end)
    bars = _fetch(con, BARS_SQL, params, how="df")
    source = "bars"
    if bars.empty:
        bars = _fetch(con, TRADE_BARS_SQL, params, how="df")
        source = "one-minute bars built from trade prints"
    if bars.empty:
        raise ValueError(f"{symbol} has no regular-session bars between {params['start']} and {params['end']}")
    days = sorted(set(bars["day"]))
    day_index = {d: k for k, d in enumerate(days)}
    shape = (len(days), SESSION_MINUTES)
    grids = {}
    rows = bars["day"].map(day_index).to_numpy()
    cols = bars["minute"].to_numpy(dtype=np.intp)
    for name in ("open", "high", "low", "close", "volume"):
        grid = np.full(shape, np.nan)
        grid[rows, cols] = bars[name].to_numpy(dtype=float)
        grids[name] = grid
    grids["volume"] = np.nan_to_num(grids["volume"], nan=0.0)
    flow = np.full(shape, np.nan)
    trades = _fetch(con, FLOW_SQL, params, how="df")
    signed_fraction = 0.0
    if not trades.empty:
        trades = trades[trades["day"].isin(day_index)]
        total = float(trades["prints"].sum())
        signed_fraction = float(trades["signed"].sum()) / total if total else 0.0
        if signed_fraction > 0:
            flow[trades["day"].map(day_index).to_numpy(), trades["minute"].to_numpy(dtype=np.intp)] = trades[
                "flow"
            ].to_numpy(dtype=float)
            flow[np.isnan(flow) & np.isfinite(grids["close"])] = 0.0  # a bar without prints: no net flow
    return MinuteData(
        symbol=symbol,
        days=tuple(d.date() if hasattr(d, "date") else d for d in days),
        flow=flow,
        signed_fraction=signed_fraction,
        bars_source=source,
        **grids,
    )


def daily_spreads(con, symbol: str, start: dt.date | None = None, end: dt.date | None = None):
    """Time-weighted quoted spread per day ($ and fraction of mid) with the number of quotes (DataFrame)."""
    return _fetch(con, SPREAD_SQL, _params(symbol, start, end), how="df")
