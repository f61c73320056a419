"""Planted minute bars of a New York stock, written in the timestamp styles vendors use (tests of the market on load).

Five weeks of XNYS sessions (2025-10-27 to 2025-11-28: the end of DST on 2025-11-02, Thanksgiving closed, the
half day after it) with a U-shaped volume profile, extended-hours bars (04:00–09:30 and 16:00–20:00 New York time,
one every 5 minutes, thin) and ``WEEKEND_BARS`` bars on Saturday 2025-11-01. Every UTC instant is known.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from optexec.models import u_shaped_volume_profile
from optexec.store.sessions import from_calendar, session_days

ZONE = "America/New_York"
FIRST, LAST = dt.date(2025, 10, 27), dt.date(2025, 11, 28)
DAILY_VOLUME = 1_000_000.0
WEEKEND_BARS = 3
HEADER = "symbol,ts,open,high,low,close,volume\n"


def planted_bars() -> pd.DataFrame:
    """Columns ts_utc (tz-aware UTC), place (regular / outside / off_day) and volume, in time order."""
    rng = np.random.default_rng(7)
    days = session_days(from_calendar("XNYS"), FIRST, LAST)
    profile = np.asarray(u_shaped_volume_profile(390))
    frames = []
    for day in days.itertuples():
        midnight = pd.Timestamp(day.day).tz_localize(ZONE)
        regular = np.arange(int(day.open_minute), int(day.close_minute))
        pre, post = np.arange(4 * 60, int(day.open_minute), 5), np.arange(int(day.close_minute), 20 * 60, 5)
        minutes = np.concatenate([pre, regular, post])
        volume = np.concatenate(
            [np.full(len(pre), 200.0), DAILY_VOLUME * profile[: len(regular)], np.full(len(post), 200.0)]
        )
        place = ["outside"] * len(pre) + ["regular"] * len(regular) + ["outside"] * len(post)
        order = np.argsort(minutes)
        frames.append(
            pd.DataFrame(
                {
                    "ts_utc": (midnight + pd.to_timedelta(minutes[order], unit="min")).tz_convert("UTC"),
                    "place": np.asarray(place)[order],
                    "volume": np.round(volume[order] * rng.lognormal(0, 0.1, len(minutes))),
                }
            )
        )
    saturday = pd.Timestamp("2025-11-01 10:00").tz_localize(ZONE) + pd.to_timedelta(np.arange(WEEKEND_BARS), "min")
    frames.append(pd.DataFrame({"ts_utc": saturday.tz_convert("UTC"), "place": "off_day", "volume": 100.0}))
    return pd.concat(frames, ignore_index=True).sort_values("ts_utc", ignore_index=True)


def stamp(ts_utc: pd.Series, style: str) -> list[str]:
    """Timestamps as text: utc_offset, local_offset, naive_local, naive_utc or zone_name (EST/EDT and IANA)."""
    local = ts_utc.dt.tz_convert(ZONE)
    if style == "utc_offset":
        return list(ts_utc.dt.strftime("%Y-%m-%d %H:%M:%S+00:00"))
    if style == "local_offset":
        return [t.isoformat(sep=" ") for t in local]
    if style == "naive_local":
        return list(local.dt.strftime("%Y-%m-%d %H:%M:%S"))
    if style == "naive_utc":
        return list(ts_utc.dt.strftime("%Y-%m-%d %H:%M:%S"))
    if style == "zone_name":  # abbreviations on even rows, the IANA name on odd rows
        text = local.dt.strftime("%Y-%m-%d %H:%M:%S")
        abbr = local.dt.strftime("%Z")
        return [f"{t} {a if i % 2 == 0 else ZONE}" for i, (t, a) in enumerate(zip(text, abbr, strict=True))]
    raise ValueError(style)


def bar_rows(stamps: list[str], volume, symbol: str = "PLNT") -> str:
    """CSV lines of flat bars (price 10) with the given timestamps and volumes."""
    return "".join(f"{symbol},{t},10,10,10,10,{v:.0f}\n" for t, v in zip(stamps, volume, strict=True))


def write_bars(path: Path, style: str, extra: str = "", symbol: str = "PLNT") -> tuple[Path, pd.DataFrame]:
    """The planted bars as a CSV in ``style`` (plus ``extra`` lines at the end); returns the path and the truth."""
    bars = planted_bars()
    path.write_text(HEADER + bar_rows(stamp(bars["ts_utc"], style), bars["volume"], symbol) + extra)
    return path, bars
