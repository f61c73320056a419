"""A planted minute-bar model written straight into a temporary store (no loader): known ADV, sigma, U profile.

``write_planted`` writes one symbol's regular-session bars (UTC instants of exchange-local minutes, so the
daylight-saving change shifts them in UTC) plus extended-hours bars, bars on non-trading dates, a day without
any bar and a day with extended-hours bars only, and returns what was planted, with the exact counts the
calibration must report.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ADV_SHARES = 2_533_000.0
SIGMA_DAILY = 0.02  # close-to-close daily vol (fraction of price): overnight share of the variance below
OVERNIGHT_SHARE = 0.25
START_PRICE_USD = 100.0
PREMARKET_BARS = 30  # 07:00..09:25 every 5 minutes
AFTER_HOURS_BARS = 30  # session close .. every 4 minutes


def u_profile(minutes: int) -> np.ndarray:
    """The planted U-shaped volume share per minute of the session (sums to 1)."""
    x = (np.arange(minutes) - (minutes - 1) / 2) / ((minutes - 1) / 2)
    u = 1.0 + 2.0 * x**2
    return u / u.sum()


@dataclass
class Planted:
    """What was written: the session days used, the planted parameters and the counts to expect."""

    symbol: str
    full_days: list[dt.date]
    half_days: list[dt.date]
    profile: np.ndarray
    adv_full_days: float  # the exact mean daily session volume over the full days written
    bars_session: int = 0
    bars_extended: int = 0
    bars_outside_calendar: int = 0
    days_outside_calendar: int = 0
    days_no_bars: int = 0
    days_extended_only: int = 0
    frames: list[pd.DataFrame] = field(default_factory=list)


def _utc(local: pd.DatetimeIndex, zone: str) -> pd.DatetimeIndex:
    return local.tz_localize(zoneinfo.ZoneInfo(zone)).tz_convert("UTC").tz_localize(None)


def _bars(symbol: str, ts: pd.DatetimeIndex, close: np.ndarray, volume: np.ndarray, rng) -> pd.DataFrame:
    """OHLCV bars: open at the previous close, high/low a little outside open and close."""
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = np.abs(rng.normal(0, 2e-4, size=close.size))
    return pd.DataFrame(
        {
            "symbol": symbol,
            "ts": ts,
            "open": open_,
            "high": np.maximum(open_, close) * (1 + wick),
            "low": np.minimum(open_, close) * (1 - wick),
            "close": close,
            "volume": volume,
        }
    )


def plant_days(
    symbol: str,
    zone: str,
    open_local: str,
    days: list[tuple[dt.date, int]],
    session_minutes: int,
    *,
    seed: int = 7,
    extended: bool = True,
) -> Planted:
    """Bars for ``days`` (date, minutes of that day's session from ``open_local``; fewer = a half day)."""
    rng = np.random.default_rng(seed)
    profile = u_profile(session_minutes)
    full = [d for d, n in days if n == session_minutes]
    daily = ADV_SHARES * np.exp(rng.normal(0, 0.25, size=len(days)))
    is_full = np.array([n == session_minutes for _, n in days])
    daily *= ADV_SHARES / daily[is_full].mean()  # the full days' mean is exactly the planted ADV
    sd_minute = SIGMA_DAILY * np.sqrt((1 - OVERNIGHT_SHARE) / session_minutes)
    sd_overnight = SIGMA_DAILY * np.sqrt(OVERNIGHT_SHARE)
    price = START_PRICE_USD
    hh, mm = (int(x) for x in open_local.split(":"))
    out = Planted(symbol, full, [d for d, n in days if n < session_minutes], profile, ADV_SHARES)
    for (day, n), total in zip(days, daily, strict=True):
        price *= np.exp(rng.normal(0, sd_overnight))
        close = price * np.exp(np.cumsum(rng.normal(0, sd_minute, size=n)))
        price = float(close[-1])
        share = profile[:n] * np.exp(rng.normal(0, 0.3, size=n))
        volume = total * share / share.sum()
        opening = pd.Timestamp(day) + pd.Timedelta(hours=hh, minutes=mm)
        local = opening + pd.to_timedelta(np.arange(n), unit="min")
        out.frames.append(_bars(symbol, _utc(pd.DatetimeIndex(local), zone), close, volume, rng))
        out.bars_session += n
        if extended:
            pre = opening - pd.to_timedelta(150 - 5 * np.arange(PREMARKET_BARS), unit="min")
            post = opening + pd.to_timedelta(n + 4 * np.arange(AFTER_HOURS_BARS), unit="min")
            for stamps, level in ((pre, close[0]), (post, close[-1])):
                ts = _utc(pd.DatetimeIndex(stamps), zone)
                out.frames.append(_bars(symbol, ts, np.full(ts.size, level), np.full(ts.size, 500.0), rng))
            out.bars_extended += PREMARKET_BARS + AFTER_HOURS_BARS
    return out


def add_bars(planted: Planted, zone: str, day: dt.date, start_local: str, count: int) -> None:
    """Extra one-minute bars from ``start_local`` on ``day`` (non-trading dates, extended hours only)."""
    hh, mm = (int(x) for x in start_local.split(":"))
    local = pd.Timestamp(day) + pd.Timedelta(hours=hh, minutes=mm) + pd.to_timedelta(np.arange(count), unit="min")
    rng = np.random.default_rng(day.toordinal())
    planted.frames.append(
        _bars(planted.symbol, _utc(pd.DatetimeIndex(local), zone), np.full(count, 100.0), np.full(count, 700.0), rng)
    )


def write(con, planted: Planted, zone: str, calendar: str | None, open_local: str, close_local: str) -> None:
    """The instrument row (its market set) and every bar, straight into the store."""
    con.execute(
        "INSERT INTO instruments (symbol, time_zone, calendar, session_open, session_close) VALUES (?, ?, ?, ?, ?)",
        [planted.symbol, zone, calendar, open_local, close_local],
    )
    frame = pd.concat(planted.frames, ignore_index=True)  # noqa: F841 (read by DuckDB below)
    con.execute("INSERT INTO bars SELECT symbol, ts, open, high, low, close, volume FROM frame")


def new_york_autumn(symbol: str = "PLNT", seed: int = 7) -> Planted:
    """XNYS, 2024-09-30..2024-12-13: the DST change (2024-11-03), Thanksgiving (11-28), its half day (11-29).

    2024-10-14 has no bar at all, 2024-10-15 extended-hours bars only; Thanksgiving (20 bars) and Saturday
    2024-11-09 (10 bars) hold bars on non-trading dates.
    """
    zone = "America/New_York"
    days = []
    for day in pd.bdate_range("2024-09-30", "2024-12-13").date:
        if day in (dt.date(2024, 11, 28), dt.date(2024, 10, 14), dt.date(2024, 10, 15)):
            continue
        days.append((day, 210 if day == dt.date(2024, 11, 29) else 390))
    planted = plant_days(symbol, zone, "09:30", days, 390, seed=seed)
    add_bars(planted, zone, dt.date(2024, 10, 15), "07:00", 40)
    add_bars(planted, zone, dt.date(2024, 11, 28), "10:00", 20)
    add_bars(planted, zone, dt.date(2024, 11, 9), "10:00", 10)
    planted.bars_extended += 40
    planted.bars_outside_calendar = 30
    planted.days_outside_calendar = 2
    planted.days_no_bars = 1
    planted.days_extended_only = 1
    return planted
