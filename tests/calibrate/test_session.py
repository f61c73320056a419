"""Calibration on the instrument's real session: planted New York bars across a DST change, a holiday and a half
day, with extended-hours bars; the same bars misregistered as UTC; XLON and 24/7 instruments at their own grids."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from optexec.calibration import data as cal_data
from optexec.calibration import run
from optexec.store import db

from . import planted as pl


@pytest.fixture(scope="module")
def ny(tmp_path_factory):
    """The planted autumn of New York bars, registered as XNYS (path, planted)."""
    path = tmp_path_factory.mktemp("ny") / "ny.duckdb"
    planted = pl.new_york_autumn()
    con = db.open_database(path)
    pl.write(con, planted, "America/New_York", "XNYS", "09:30", "16:00")
    con.close()
    return path, planted


@pytest.fixture(scope="module")
def ny_cal(ny):
    path, _ = ny
    con = db.open_database(path, read_only=True)
    try:
        return run.calibrate(con, "PLNT")
    finally:
        con.close()


def test_planted_adv_sigma_and_profile_are_recovered(ny, ny_cal):
    _, planted = ny
    e = ny_cal.estimates
    # ADV: the full days' mean session volume, exactly (extended-hours volume and the half day left out)
    assert e["adv_shares"].value == pytest.approx(planted.adv_full_days, rel=1e-9)
    assert e["adv_shares"].value == pytest.approx(pl.ADV_SHARES, rel=0.05)
    # sigma: realised 15-minute vol against the planted intraday vol (sampling error ~1.7% over 53 days x 26
    # returns); the primary (Yang-Zhang, overnight included) against the planted close-to-close vol
    intraday = pl.SIGMA_DAILY * np.sqrt(1 - pl.OVERNIGHT_SHARE)
    assert ny_cal.volatility["realised_15min"].value == pytest.approx(intraday, rel=0.05)
    assert e["sigma_daily"].value == pytest.approx(pl.SIGMA_DAILY, rel=0.05)
    share = ny_cal.volume_profile.share
    assert share.size == 390
    assert np.corrcoef(share, planted.profile)[0, 1] > 0.95
    assert ny_cal.window_start == dt.date(2024, 9, 30) and ny_cal.window_end == dt.date(2024, 12, 13)


def test_bars_and_days_ignored_are_counted_by_reason(ny, ny_cal):
    _, planted = ny
    cov = ny_cal.coverage
    assert cov.session.calendar == "XNYS" and cov.session.time_zone == "America/New_York"
    assert cov.bars_used == planted.bars_session == 51 * 390 + 210
    assert cov.bars_ignored == {
        "extended_hours": planted.bars_extended,
        "lunch_break": 0,
        "outside_calendar": planted.bars_outside_calendar,
    }
    assert planted.bars_extended == 52 * 60 + 40
    assert cov.days_used == len(planted.full_days) == 51
    assert cov.half_days == (dt.date(2024, 11, 29),)
    assert cov.days_ignored == {"half_day": 1, "outside_calendar": 2, "no_regular_session_bars": 1, "no_bars": 1}
    assert ny_cal.days == 52  # 51 full days and the half day: the half day's bars enter the volatility
    assert cov.median_coverage == 1.0
    assert cov.share_days_without_first_hour == 0.0 and cov.share_days_without_last_hour == 0.0
    assert cov.problems == () and ny_cal.not_acceptable == ()
    out = ny_cal.to_json()["data"]
    assert out["market"] == {
        "time_zone": "America/New_York",
        "calendar": "XNYS",
        "session_open": "09:30",
        "session_close": "16:00",
        "source": "stored with the instrument",
    }
    assert out["bars_used"] == cov.bars_used and out["days_ignored"]["half_day"] == 1
    assert out["half_days"] == ["2024-11-29"]
    text = cov.summary()
    assert "XNYS" in text and f"{planted.bars_extended:,} extended-hours bars" in text
    assert "1 half day (volatility only)" in text and "20,100 session bars used on 51 full days" in text


def test_the_half_day_enters_volatility_only(ny, ny_cal):
    """Dropping the half day's bars leaves ADV and the profile unchanged and changes the volatility."""
    path, _ = ny
    con = db.open_database(path, read_only=True)
    try:
        before_half_day = run.calibrate(con, "PLNT", dt.date(2024, 9, 30), dt.date(2024, 11, 28))
    finally:
        con.close()
    assert before_half_day.coverage.half_days == ()
    full = ny_cal.estimates["adv_shares"].observations
    assert full == 51 and before_half_day.estimates["adv_shares"].observations < full
    assert ny_cal.volume_profile.days == 51  # profile from full days only


def test_bars_are_placed_by_exchange_time_across_the_dst_change(ny):
    """The first session minute is 13:30 UTC before 2024-11-03 and 14:30 UTC after; both land in column 0."""
    path, _ = ny
    con = db.open_database(path, read_only=True)
    try:
        m = cal_data.load_minutes(con, "PLNT", dt.date(2024, 10, 28), dt.date(2024, 11, 8))
        first = con.execute(
            "SELECT ts FROM bars WHERE symbol = 'PLNT' AND CAST(ts AS DATE) IN ('2024-11-01', '2024-11-04') "
            "AND volume <> 500 ORDER BY ts"
        ).df()
    finally:
        con.close()
    assert np.isfinite(m.close[:, 0]).all() and np.isfinite(m.close[:, -1]).all()
    utc_hours = sorted({t.hour + t.minute / 60 for t in pd.to_datetime(first["ts"]) if t.minute == 30})
    assert 13.5 in utc_hours and 14.5 in utc_hours


@pytest.fixture(scope="module")
def misregistered(tmp_path_factory):
    """The same New York bars with the instrument registered as UTC 09:30–16:00 (no calendar)."""
    path = tmp_path_factory.mktemp("utc") / "utc.duckdb"
    con = db.open_database(path)
    pl.write(con, pl.new_york_autumn(), "UTC", None, "09:30", "16:00")
    con.close()
    return path


def test_misregistered_time_zone_warns_and_is_not_acceptable(misregistered):
    con = db.open_database(misregistered)
    try:
        cal = run.calibrate(con, "PLNT")
        reasons = cal.not_acceptable
        assert any("first hour of the regular session has no bars on 100% of days" in r for r in reasons)
        assert any("time zone (UTC)" in r for r in reasons)
        assert any(r in cal.warnings for r in reasons)
        assert cal.coverage.median_coverage < cal_data.MIN_MEDIAN_SESSION_COVERAGE
        assert cal.coverage.bars_ignored["extended_hours"] > 0.5 * cal.coverage.bars_used
        assert cal.estimates["adv_shares"].value < 0.6 * pl.ADV_SHARES  # the defect the check catches
        with pytest.raises(ValueError, match="not acceptable: .*first hour"):
            run.save(con, cal, accept=True)
        assert run.runs(con, "PLNT").empty  # refused before anything was saved
        saved = run.save(con, cal)  # saving without accepting is fine; accepting it later is refused too
        with pytest.raises(ValueError, match="not acceptable"):
            run.accept(con, "PLNT", saved.run_ts)
        assert run.latest_calibration(con, "PLNT") is None
        run.accept(con, "PLNT", saved.run_ts, insist=True)
        stored = run.latest_calibration(con, "PLNT")
        assert stored.acceptance.startswith("accepted despite: ") and "first hour" in stored.acceptance
        assert stored.not_acceptable == reasons
        insisted = run.save(con, cal, accept=True, insist=True)
        assert run.latest_calibration(con, "PLNT").run_ts == insisted.run_ts
        assert "accepted despite" in run.latest_calibration(con, "PLNT").acceptance
        # a post-trade update of that run still says it was accepted despite the reasons, and keeps its data
        run.save_recalibrated(con, "PLNT", "eta", 1e-7, "post-trade")
        updated = run.latest_calibration(con, "PLNT")
        assert "post-trade update of a run accepted despite: the first hour" in updated.acceptance
        assert updated.not_acceptable == reasons and "UTC" in updated.data_summary
    finally:
        con.close()


def test_a_symbol_without_a_market_is_refused(tmp_path):
    con = db.open_database(tmp_path / "bare.duckdb")
    try:
        planted = pl.new_york_autumn()
        frame = pd.concat(planted.frames[:3])  # noqa: F841 (read by DuckDB)
        con.execute("INSERT INTO bars SELECT symbol, ts, open, high, low, close, volume FROM frame")
        with pytest.raises(ValueError, match="market of PLNT is unknown .*no instrument row.*set its market"):
            run.calibrate(con, "PLNT")
        con.execute("INSERT INTO instruments (symbol) VALUES ('PLNT')")
        with pytest.raises(ValueError, match="market of PLNT is unknown .*no time zone"):
            run.calibrate(con, "PLNT")
    finally:
        con.close()


def _native(tmp_path, zone: str, calendar: str, open_local: str, close_local: str, days, minutes: int):
    planted = pl.plant_days("NAT", zone, open_local, [(d, minutes) for d in days], minutes, extended=False)
    con = db.open_database(tmp_path / "native.duckdb")
    pl.write(con, planted, zone, calendar, open_local, close_local)
    return con, planted


@pytest.mark.parametrize(
    ("zone", "calendar", "open_local", "close_local", "minutes", "days"),
    [
        ("Europe/London", "XLON", "08:00", "16:30", 510, pd.bdate_range("2025-03-03", "2025-04-11").date),
        ("UTC", "24/7", "00:00", "24:00", 1440, pd.date_range("2025-01-01", "2025-01-12").date),
    ],
    ids=["XLON", "24/7"],
)
def test_native_session_length_goes_through_to_market_params(
    tmp_path, zone, calendar, open_local, close_local, minutes, days
):
    con, planted = _native(tmp_path, zone, calendar, open_local, close_local, list(days), minutes)
    try:
        cal = run.calibrate(con, "NAT")
        assert cal.coverage.session.session_minutes == minutes
        assert cal.volume_profile.share.size == minutes
        assert np.corrcoef(cal.volume_profile.share, planted.profile)[0, 1] > 0.9
        assert cal.estimates["adv_shares"].value == pytest.approx(pl.ADV_SHARES, rel=1e-9)
        assert len(cal.market_params().volume_profile) == minutes
        assert len(cal.to_json()["parameters"]["volume_profile"]["value"]) == minutes
        saved = run.save(con, cal, accept=True, insist=True)
        stored = run.load_run(con, "NAT", saved.run_ts)
        assert stored.volume_profile == pytest.approx(tuple(cal.volume_profile.share))
        params = run.latest_market_params(con, "NAT")
        assert params.volume_profile == pytest.approx(cal.market_params().volume_profile)
        assert params.session_minutes == minutes
        assert stored.data["session_minutes"] == minutes == stored.session_minutes
    finally:
        con.close()


def test_lunch_break_minutes_hold_no_trading(tmp_path):
    """XTKS (09:00–15:30, lunch 11:30–12:30): bars in the break are counted and left out, the profile is 0 there."""
    zone = "Asia/Tokyo"
    days = [d for d in pd.bdate_range("2025-03-03", "2025-03-14").date if d != dt.date(2025, 3, 20)]
    planted = pl.plant_days("TKS", zone, "09:00", [(d, 390) for d in days], 390, extended=False)
    con = db.open_database(tmp_path / "tks.duckdb")
    try:
        pl.write(con, planted, zone, "XTKS", "09:00", "15:30")
        cal = run.calibrate(con, "TKS")
    finally:
        con.close()
    lunch = slice(150, 210)  # 11:30..12:30 local
    assert cal.coverage.bars_ignored["lunch_break"] == 60 * len(days)
    assert cal.coverage.bars_used == (390 - 60) * len(days)
    assert np.all(cal.volume_profile.share[lunch] == 0) and cal.volume_profile.share.sum() == pytest.approx(1.0)
    assert cal.coverage.median_coverage == 1.0 and cal.coverage.problems == ()


def test_bars_only_on_a_holiday_are_refused_with_the_reason(tmp_path):
    planted = pl.Planted("HOL", [], [], pl.u_profile(390), pl.ADV_SHARES)
    pl.add_bars(planted, "America/New_York", dt.date(2024, 11, 28), "10:00", 30)  # Thanksgiving
    con = db.open_database(tmp_path / "holiday.duckdb")
    try:
        pl.write(con, planted, "America/New_York", "XNYS", "09:30", "16:00")
        with pytest.raises(ValueError, match="no regular-session bars .*30 bars all fall outside the XNYS"):
            run.calibrate(con, "HOL")
    finally:
        con.close()


def test_market_params_accept_a_profile_with_a_lunch_break(tmp_path):
    days = list(pd.bdate_range("2025-03-03", "2025-03-07").date)
    planted = pl.plant_days("HK", "Asia/Hong_Kong", "09:30", [(d, 390) for d in days], 390, extended=False)
    con = db.open_database(tmp_path / "hk.duckdb")
    try:
        pl.write(con, planted, "Asia/Hong_Kong", "XHKG", "09:30", "16:00")
        cal = run.calibrate(con, "HK")
    finally:
        con.close()
    params = cal.market_params()
    assert params.session_minutes == 390
    assert sum(params.volume_profile[150:210]) == 0.0  # 12:00–13:00 lunch break
    assert cal.coverage.bars_ignored["lunch_break"] == 60 * len(days)
