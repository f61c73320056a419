"""Calendars as cached tables of trading days, and numpy time-zone conversions (issue 16, item 3).

The load no longer builds an ``exchange_calendars`` calendar (nor imports pandas) when the calendar's table is
cached: these tests hold the cached table, the numpy conversions and the session arithmetic to what pandas and the
library give (the reference code below is the one the store used before), and check the cache itself.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optexec.store import calendars, inference, sessions, zones
from optexec.store.calendars import exchange_calendar
from optexec.store.sessions import MarketSession, from_calendar, session_days

ROOT = Path(__file__).resolve().parents[2]


def reference_session_days(session: MarketSession, start: dt.date, end: dt.date) -> pd.DataFrame:
    """``session_days`` as it was computed from the library's schedule before the cache (the reference)."""
    cal = exchange_calendar(session.calendar)
    lo, hi = max(pd.Timestamp(start), cal.first_session), min(pd.Timestamp(end), cal.last_session)
    schedule = cal.schedule.loc[lo:hi]

    def local_minutes(col: str) -> pd.Series:
        stamps = schedule[col]
        if stamps.isna().all():
            return pd.Series(float("nan"), index=schedule.index)
        local = stamps.dt.tz_convert(session.time_zone)
        midnight = pd.to_datetime(schedule.index).tz_localize(session.time_zone)
        return (local - midnight).dt.total_seconds() / 60.0

    frame = pd.DataFrame(
        {
            "day": schedule.index.date,
            "open_minute": local_minutes("open").to_numpy(),
            "close_minute": local_minutes("close").to_numpy(),
            "break_start_minute": local_minutes("break_start").to_numpy(),
            "break_end_minute": local_minutes("break_end").to_numpy(),
        }
    )
    cal_open, cal_close = cal.open_times[-1][1], cal.close_times[-1][1]
    regular_open, regular_close = cal_open.hour * 60 + cal_open.minute, cal_close.hour * 60 + cal_close.minute
    if (regular_open, regular_close) != (session.open_minute, session.close_minute):
        late, early = frame["open_minute"] > regular_open, frame["close_minute"] < regular_close
        frame["open_minute"] = np.where(
            late, np.maximum(frame["open_minute"], session.open_minute), session.open_minute
        )
        frame["close_minute"] = np.where(
            early, np.minimum(frame["close_minute"], session.close_minute), session.close_minute
        )
    frame["half_day"] = (frame["open_minute"] > session.open_minute) | (frame["close_minute"] < session.close_minute)
    return frame


@pytest.mark.parametrize(
    ("code", "hours"),
    [("XNYS", None), ("XHKG", None), ("XLON", None), ("XTKS", None), ("XNYS", ("10:00", "15:00"))],
)
def test_cached_trading_days_are_the_library_schedule(code, hours):
    market = from_calendar(code)
    if hours:
        market = MarketSession(market.time_zone, hours[0], hours[1], code)
    start, end = dt.date(1999, 12, 1), dt.date(2025, 12, 31)
    got = session_days(market, start, end)
    want = reference_session_days(market, start, end)
    assert len(got) > 2500
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)
    if code == "XHKG":  # the lunch break is in the table
        assert got["break_start_minute"].notna().mean() > 0.9


def test_a_market_of_the_cached_calendar_is_the_library_one():
    for code in sessions.CANDIDATE_CALENDARS:
        cal = exchange_calendar(code)
        market = from_calendar(code)
        assert market.time_zone == str(cal.tz)
        assert market.open_local == f"{cal.open_times[-1][1].hour:02d}:{cal.open_times[-1][1].minute:02d}"


def test_an_unknown_calendar_is_refused_with_its_name():
    with pytest.raises(ValueError, match="unknown trading calendar 'XNOPE'"):
        from_calendar("XNOPE")
    with pytest.raises(ValueError, match="unknown trading calendar"):
        MarketSession("America/New_York", calendar="XNOPE")


def test_the_cache_is_read_back_and_built_again_when_broken(tmp_path, monkeypatch):
    monkeypatch.setenv(calendars.CACHE_ENV_VAR, str(tmp_path))
    calendars.calendar_days.cache_clear()
    try:
        first = calendars.calendar_days("XLON")
        files = sorted((tmp_path / "calendars").glob("XLON-*.json"))
        assert len(files) == 1
        calendars.calendar_days.cache_clear()
        built = []
        real_build = calendars.build
        monkeypatch.setattr(calendars, "build", lambda code: built.append(code) or real_build(code))
        again = calendars.calendar_days("XLON")  # read from the file: not built
        assert built == []
        assert np.array_equal(again.day, first.day) and np.array_equal(again.close_minute, first.close_minute)
        files[0].write_text("{not json")
        calendars.calendar_days.cache_clear()
        rebuilt = calendars.calendar_days("XLON")
        assert built == ["XLON"] and np.array_equal(rebuilt.day, first.day)
        assert json.loads(files[0].read_text())["code"] == "XLON"  # written again, whole
    finally:
        calendars.calendar_days.cache_clear()


def test_a_table_built_on_an_earlier_day_serves_its_days_and_is_built_again_past_its_end(tmp_path, monkeypatch):
    """The cache is kept across days (the library's rules give every year the same holidays); only a request past
    the cached last day, from a table built before today, builds it again, so a session table is always what the
    library gives today."""
    monkeypatch.setenv(calendars.CACHE_ENV_VAR, str(tmp_path))
    calendars.calendar_days.cache_clear()
    try:
        today = calendars.calendar_days("XNYS")
        (path,) = (tmp_path / "calendars").glob("XNYS-*.json")
        doc = json.loads(path.read_text())
        cut = len(doc["day"]) - 300  # as if built about 14 months ago: its last day is some 300 sessions back
        for name in ("day", "open_minute", "close_minute", "break_start_minute", "break_end_minute"):
            doc[name] = doc[name][:cut]
        doc["last_session"], doc["built_on"] = doc["day"][-1], "2000-01-03"
        path.write_text(json.dumps(doc))
        calendars.calendar_days.cache_clear()
        built = []
        real_build = calendars.build
        monkeypatch.setattr(calendars, "build", lambda code: built.append(code) or real_build(code))
        old_last = dt.date.fromisoformat(doc["last_session"])
        session = from_calendar("XNYS")
        inside = sessions.session_table(session, old_last - dt.timedelta(days=30), old_last)
        assert built == []  # within the old table: read from it
        assert np.array_equal(inside["day"], today.day[(today.day >= np.datetime64(old_last - dt.timedelta(days=30)))
                                                       & (today.day <= np.datetime64(old_last))])  # fmt: skip
        later = sessions.session_table(session, old_last - dt.timedelta(days=30), today.last_session)
        assert built == ["XNYS"]  # past its end: built again, as the library covers it today
        assert later["day"][-1] == np.datetime64(today.last_session)
        assert json.loads(path.read_text())["built_on"] == dt.date.today().isoformat()  # and cached
    finally:
        calendars.calendar_days.cache_clear()


def test_a_cache_folder_that_cannot_be_written_only_costs_time(tmp_path, monkeypatch):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.setenv(calendars.CACHE_ENV_VAR, str(blocked / "cache"))
    calendars.calendar_days.cache_clear()
    try:
        assert calendars.calendar_days("XTKS").time_zone == "Asia/Tokyo"
    finally:
        calendars.calendar_days.cache_clear()


ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
def test_numpy_conversions_are_pandas_ones(zone):
    """Every minute around the clock changes of several years: UTC -> local and local -> UTC (NaT where a wall
    time is skipped or repeated) as pandas gives them."""
    minutes = []
    for year in (1987, 2007, 2020, 2024):
        for month in (3, 4, 10, 11):
            start = np.datetime64(f"{year}-{month:02d}-01T00:00", "m")
            minutes.append(start + np.arange(0, 31 * 1440, 7))
    stamps = np.concatenate(minutes).astype("datetime64[ns]")
    want_local = pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(zone).tz_localize(None).to_numpy()
    assert np.array_equal(zones.utc_to_local(stamps, zone), want_local)
    want_utc = (
        pd.DatetimeIndex(stamps)
        .tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        .tz_convert("UTC")
        .tz_localize(None)
        .to_numpy()
    )
    got_utc = zones.local_to_utc(stamps, zone)
    assert np.array_equal(np.isnat(got_utc), np.isnat(want_utc))
    if zone not in ("UTC", "Asia/Kathmandu"):
        assert np.isnat(got_utc).sum() > 0  # the test goes through skipped and repeated wall times
    ok = ~np.isnat(want_utc)
    assert np.array_equal(got_utc[ok], want_utc[ok])


def test_the_fit_is_the_same_from_a_frame_and_from_arrays():
    minutes = np.datetime64("2024-03-04T14:30", "m") + np.arange(0, 20 * 1440, 1)
    frame = pd.DataFrame(
        {"symbol": "ABC", "naive": np.arange(len(minutes)) % 2 == 0, "minute": minutes.astype("datetime64[ns]"),
         "weight": 1.0 + (np.arange(len(minutes)) % 13), "rows": 1}
    )  # fmt: skip
    hist = inference.Histogram.of(frame)
    for zone in ("UTC", "America/New_York"):
        a = inference.fit(frame, from_calendar("XNYS"), zone)
        b = inference.fit(hist, from_calendar("XNYS"), zone)
        assert (a.share, a.coverage, a.day_fit, a.weight) == (b.share, b.coverage, b.day_fit, b.weight)
        assert 0 < a.share < 1 and 0 < a.day_fit <= 1


def test_a_load_naming_a_cached_calendar_imports_neither_pandas_nor_the_library(tmp_path):
    csv = tmp_path / "bars.csv"
    csv.write_text(
        "symbol,ts,open,high,low,close,volume\n"
        + "".join(f"ABC,2024-03-0{1 + i // 400} {14 + (i % 400) // 60:02d}:{i % 60:02d}:00,10,11,9,10,{100 + i}\n"
                  for i in range(2000))
    )  # fmt: skip

    def code(k: int) -> str:
        return (
            "import json, sys\nfrom optexec.cli import main\n"
            f"rc = main(['load', {str(csv)!r}, '--table', 'bars', '--tz', 'America/New_York', '--calendar', 'XNYS', "
            f"'--db', {str(tmp_path / f'x{k}.duckdb')!r}])\n"
            "print(json.dumps([rc, 'pandas' in sys.modules, 'exchange_calendars' in sys.modules]))"
        )

    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", calendars.CACHE_ENV_VAR: str(tmp_path / "cache")}
    runs = [subprocess.run([sys.executable, "-c", code(k)], cwd=ROOT, env=env, capture_output=True, text=True)
            for k in range(2)]  # fmt: skip
    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = (json.loads(run.stdout.strip().splitlines()[-1]) for run in runs)
    assert first == [0, True, True]  # the first use builds the table with the library
    assert second == [0, False, False]  # then the cached table is enough
    assert "2,000 rows loaded" in runs[1].stdout
