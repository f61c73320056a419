"""Planted minute bars of one US stock written as a user's vendor would write them (tests of issue 12's chain).

``planted_bars`` draws regular-session (and optionally extended-hours) minute bars on the XNYS calendar from a
known model — daily volume ``ADV``, volatility ``SIGMA_DAILY`` (fraction of price per day), a U-shaped intraday
volume profile — with exact UTC instants; ``write_csv`` writes them in one of the timestamp styles vendors use.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from optexec.models import u_shaped_volume_profile
from optexec.store.sessions import from_calendar, session_days
from tests.store.planted import stamp  # the timestamp styles, written as in the store's own tests

ADV = 2_533_000.0
SIGMA_DAILY = 0.02
PRICE = 170.0
FIRST_DAY = dt.date(2024, 9, 16)  # across the end of DST (2024-11-03), Thanksgiving and its half day, Christmas
LAST_DAY = dt.date(2024, 12, 31)
ZONE = "America/New_York"
EXTENDED_SHARE = 0.05  # share of a day's volume traded in extended hours when they are written


def planted_profile(minutes: int = 390) -> np.ndarray:
    """The planted share of a full day's volume per session minute (U-shaped, sums to 1)."""
    return np.asarray(u_shaped_volume_profile(minutes))


def planted_bars(seed: int = 12, extended_hours: bool = False) -> pd.DataFrame:
    """Minute bars (ts_utc as tz-aware UTC, open, high, low, close, volume) on XNYS days FIRST_DAY..LAST_DAY.

    A half day trades its 210 minutes with the first 210 minutes' profile; extended-hours bars (04:00–09:30 and
    16:00–20:00 local, one every 5 minutes) carry EXTENDED_SHARE of ADV on top of the regular session.
    """
    rng = np.random.default_rng(seed)
    days = session_days(from_calendar("XNYS"), FIRST_DAY, LAST_DAY)
    profile = planted_profile()
    price = PRICE
    frames = []
    for day in days.itertuples():
        midnight = pd.Timestamp(day.day).tz_localize(ZONE)
        minutes = np.arange(int(day.open_minute), int(day.close_minute))
        volume = ADV * profile[: len(minutes)] * rng.lognormal(-0.02, 0.2, len(minutes))
        if extended_hours:
            pre = np.arange(4 * 60, int(day.open_minute), 5)
            post = np.arange(int(day.close_minute), 20 * 60, 5)
            per_bar = EXTENDED_SHARE * ADV / (len(pre) + len(post))
            minutes = np.concatenate([pre, minutes, post])
            volume = np.concatenate([np.full(len(pre), per_bar), volume, np.full(len(post), per_bar)])
        order = np.argsort(minutes)
        minutes, volume = minutes[order], volume[order]
        steps = rng.normal(0.0, SIGMA_DAILY / np.sqrt(390), len(minutes))
        closes = price * np.exp(np.cumsum(steps))
        opens = np.concatenate([[price], closes[:-1]])
        wiggle = price * SIGMA_DAILY / np.sqrt(390) * np.abs(rng.normal(0, 0.3, (2, len(minutes))))
        frames.append(
            pd.DataFrame(
                {
                    "ts_utc": (midnight + pd.to_timedelta(minutes, unit="min")).tz_convert("UTC"),
                    "open": opens,
                    "high": np.maximum(opens, closes) + wiggle[0],
                    "low": np.minimum(opens, closes) - wiggle[1],
                    "close": closes,
                    "volume": np.round(volume),
                }
            )
        )
        price = closes[-1]
    return pd.concat(frames, ignore_index=True)


STYLES = {
    "utc_offset": "2024-10-01 13:30:00+00:00 (UTC with a written offset)",
    "local_offset": "2024-10-01 09:30:00-04:00 (local time with its offset)",
    "naive_local": "2024-10-01 09:30:00 (New York time, no zone)",
    "naive_utc": "2024-10-01 13:30:00 (UTC, no zone)",
    "zone_name": "2024-10-01 09:30:00 EDT / America/New_York (zone written: abbreviation or name)",
}


def write_csv(bars: pd.DataFrame, path: Path, style: str, symbol: str) -> Path:
    """Write ``bars`` as a CSV with a symbol column and timestamps in ``style``."""
    out = bars.drop(columns="ts_utc")
    out.insert(0, "timestamp", stamp(bars["ts_utc"], style))
    out.insert(0, "symbol", symbol)
    out.to_csv(path, index=False)
    return path
