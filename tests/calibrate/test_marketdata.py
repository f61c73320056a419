"""Calibration on real data from ../shared/marketdata (skipped when absent): estimates in documented ranges.

SPY, 2013-10-04 and 10-07..10-11 (LEAN minute trade and quote bars): the intraday volume profile is U-shaped
(first and last half hours each hold more than 1.5x the volume of a midday half hour), annualised vol between
5% and 40% (the October 2013 debt-ceiling week; VIX was 15-20), ADV between 50M and 400M shares, the quoted
spread between $0.005 and $0.03 (one cent is the tick), and without signed trades impact falls back to ATHL.

The instrument is registered as XNYS (America/New_York, 09:30–16:00, the exchange calendar) before loading. Seen on
these files (``python -m pytest tests/calibrate/test_marketdata.py``; numbers of the calibration):
- SPY, 6 days: 4,839 bars of which 2,340 in the session and 2,499 extended-hours (04:00–09:30, 16:00–20:00);
  last close $170.30; sigma annualised 14.3% (Yang–Zhang) and 9.8% (realised 15-minute); ADV 118,466,523 shares,
  exactly the daily file's mean volume; quoted spread $0.0099.
- AAPL 2014-06-05/06/09: the 7:1 split between 06-06 and 06-09 shows as an overnight gap of -86%: the run is not
  acceptable, Yang–Zhang reads 2183% a year while the realised intraday vol (no overnight) is 17%.
- GOOG 2015-12-23/24/28: 12-24 is a half day (close 13:00): it is left out of ADV (ADV 1,498,727 = the mean of the
  daily file's 12-23 and 12-28 volumes) and its bars after 13:00 are extended hours; last close $762.51,
  realised vol 13.7% a year, quoted spread $0.42.
"""

from __future__ import annotations

import datetime as dt
import zipfile

import numpy as np
import pandas as pd
import pytest

from optexec.calibration import run
from optexec.store import db
from optexec.store.loading import load_file

from .conftest import MARKETDATA

LEAN = MARKETDATA / "lean_equity_usa"
SPY = LEAN / "minute" / "spy"
DAYS = ("20131004", "20131007", "20131008", "20131009", "20131010", "20131011")
needs_data = pytest.mark.skipif(not SPY.exists(), reason="../shared/marketdata (real SPY minute bars) is absent")


def _set_xnys(con, symbol: str) -> None:
    """Register the symbol's market as XNYS (whatever the loader inferred): the calibration's input here."""
    con.execute(
        "INSERT INTO instruments (symbol, time_zone, calendar, session_open, session_close) "
        "VALUES (?, 'America/New_York', 'XNYS', '09:30', '16:00') ON CONFLICT (symbol) DO UPDATE SET "
        "time_zone = excluded.time_zone, calendar = excluded.calendar, session_open = excluded.session_open, "
        "session_close = excluded.session_close",
        [symbol],
    )


def _lean(tmp_path_factory, ticker: str, days: tuple[str, ...]):
    """Load LEAN minute trade (and quote) files of ``days`` with the importer; the calibration and the bar count."""
    symbol = ticker.upper()
    con = db.open_database(tmp_path_factory.mktemp(ticker) / f"{ticker}.duckdb")
    try:
        _set_xnys(con, symbol)
        for day in days:
            load_file(con, LEAN / "minute" / ticker / f"{day}_trade.zip", symbol=symbol)
            quote = LEAN / "minute" / ticker / f"{day}_quote.zip"
            if quote.exists():
                load_file(con, quote, symbol=symbol, skip_bad_rows=True)
        _set_xnys(con, symbol)
        bars = con.execute("SELECT count(*) FROM bars WHERE symbol = ?", [symbol]).fetchone()[0]
        after_one = con.execute(
            "SELECT count(*) FROM bars WHERE symbol = ? AND CAST(timezone('America/New_York', timezone('UTC', ts)) "
            "AS DATE) = '2015-12-24' AND hour(timezone('America/New_York', timezone('UTC', ts))) >= 13",
            [symbol],
        ).fetchone()[0]
        return run.calibrate(con, symbol), bars, after_one
    finally:
        con.close()


def _daily_volume(ticker: str, days: tuple[str, ...]) -> pd.Series:
    with zipfile.ZipFile(LEAN / "daily" / f"{ticker}.zip") as zf:
        daily = pd.read_csv(zf.open(zf.namelist()[0]), header=None, names=["day", "o", "h", "l", "c", "volume"])
    daily["day"] = daily["day"].str[:8]
    return daily.set_index("day").loc[list(days), "volume"]


@pytest.fixture(scope="module")
def spy_run(tmp_path_factory):
    return _lean(tmp_path_factory, "spy", DAYS)


@pytest.fixture(scope="module")
def spy(spy_run):
    return spy_run[0]


@needs_data
def test_spy_volume_profile_is_u_shaped(spy):
    buckets = spy.volume_profile.bucketed(30)  # 13 half hours, 09:30..16:00
    midday = buckets[4:8].mean()  # 11:30..13:30
    assert buckets[0] > 1.5 * midday and buckets[-1] > 1.5 * midday
    assert spy.volume_profile.share.sum() == pytest.approx(1.0)


@needs_data
def test_spy_volatility_liquidity_and_fallbacks(spy):
    e = spy.estimates
    assert spy.days == 6
    assert 0.05 < spy.volatility["realised_15min"].value * np.sqrt(252) < 0.40
    assert 5e7 < e["adv_shares"].value < 4e8
    assert 0.005 <= e["spread"].value <= 0.03 and "quotes" in e["spread"].method
    assert 150 < e["price_usd"].value < 180  # SPY traded near $165-170 that week
    assert spy.impact is None and e["eta"].fallback and "ATHL" in e["eta"].method
    assert any("only 6 trading days" in w for w in spy.warnings)


@needs_data
def test_spy_extended_hours_are_counted_and_left_out(spy_run):
    cal, bars, _ = spy_run
    cov = cal.coverage
    assert cov.session.calendar == "XNYS" and cov.bars_used == 6 * 390
    assert cov.bars_ignored["extended_hours"] == bars - 6 * 390 > 2000  # 04:00–09:30 and 16:00–20:00
    assert cov.days_ignored == {"half_day": 0, "outside_calendar": 0, "no_regular_session_bars": 0, "no_bars": 0}
    assert cov.median_coverage == 1.0 and cov.problems == ()
    # the regular-session minute volumes sum to the daily file's volume (data README): ADV is their mean, exactly
    assert cal.estimates["adv_shares"].value == pytest.approx(_daily_volume("spy", DAYS).mean(), rel=1e-12)
    assert cal.not_acceptable == (
        "only 6 trading days with bars in the window 2013-10-04 to 2013-10-11 (at least 20 are needed)",
    )


@needs_data
def test_spy_2013_and_2023_in_one_window_is_a_gap_not_a_split(tmp_path_factory):
    """Every SPY minute day of the data (6 in October 2013 and 2023-08-03): the full span holds 2,474 XNYS trading
    days of which 7 have bars. The ten years between are a gap in the data, said with the window to choose; the
    2013-to-2023 move is not an overnight gap (no 'split'), and the volatility is the October 2013 week's."""
    cal, _, _ = _lean(tmp_path_factory, "spy", (*DAYS, "20230803"))
    assert cal.days == 7 and cal.coverage.days_ignored["no_bars"] == 2474 - 7
    assert cal.not_acceptable == (
        "only 7 trading days with bars in the window 2013-10-04 to 2023-08-03 (at least 20 are needed)",
        (
            "2,467 of the 2,474 XNYS trading days from 2013-10-04 to 2023-08-03 have no bars (the longest gap: "
            "2013-10-14 to 2023-08-02, 2,467 trading days): the window joins periods the store does not hold between "
            "them; choose a window inside one of them (the longest: 2013-10-04 to 2013-10-11, 6 trading days) or load "
            "the missing days"
        ),
    )
    assert not any("overnight" in w for w in cal.warnings)
    six_days = _lean(tmp_path_factory, "spy", DAYS)[0]
    for name in ("sigma_daily", "sigma_annual"):
        assert cal.estimates[name].value == pytest.approx(six_days.estimates[name].value, rel=1e-12)
    assert cal.estimates["sigma_daily"].observations == 5  # the 5 returns inside October 2013


AAPL_DAYS = ("20140605", "20140606", "20140609")
GOOG_DAYS = ("20151223", "20151224", "20151228")


@pytest.mark.skipif(not (LEAN / "minute" / "aapl").exists(), reason="../shared/marketdata (AAPL minute) is absent")
def test_aapl_split_day_is_flagged_not_read_as_volatility(tmp_path_factory):
    cal, bars, _ = _lean(tmp_path_factory, "aapl", AAPL_DAYS)
    assert cal.coverage.bars_ignored["extended_hours"] == bars - 3 * 390
    gap = [r for r in cal.not_acceptable if "gaps overnight" in r]
    assert len(gap) == 1 and "-86%" in gap[0] and "2014-06-09" in gap[0] and "split" in gap[0]
    assert 0.08 < cal.volatility["realised_15min"].value * np.sqrt(252) < 0.35  # intraday: unaffected by the split
    assert cal.estimates["sigma_annual"].value > 5  # Yang–Zhang includes the overnight 7:1 gap
    assert 85 < cal.estimates["price_usd"].value < 100  # post-split price


@pytest.mark.skipif(not (LEAN / "minute" / "goog").exists(), reason="../shared/marketdata (GOOG minute) is absent")
def test_goog_half_day_is_kept_out_of_adv_and_its_afternoon_is_extended_hours(tmp_path_factory):
    cal, bars, after_one = _lean(tmp_path_factory, "goog", GOOG_DAYS)
    cov = cal.coverage
    assert cov.half_days == (dt.date(2015, 12, 24),) and cov.days_used == 2 and cal.days == 3
    assert 0.95 * (2 * 390 + 210) < cov.bars_used <= 2 * 390 + 210  # GOOG has no bar in a few quiet minutes
    assert 0.95 < cov.median_coverage <= 1.0
    assert cov.bars_ignored["extended_hours"] == bars - cov.bars_used >= after_one > 0
    volume = _daily_volume("goog", GOOG_DAYS)
    assert cal.estimates["adv_shares"].value == pytest.approx(volume[["20151223", "20151228"]].mean(), rel=1e-9)
    assert cal.estimates["adv_shares"].observations == 2
    assert 700 < cal.estimates["price_usd"].value < 800
    assert 0.05 < cal.volatility["realised_15min"].value * np.sqrt(252) < 0.40
    assert 0.01 < cal.estimates["spread"].value < 1.0


LOBSTER = MARKETDATA / "lobster_2012-06-21" / "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip"


@pytest.mark.skipif(not LOBSTER.exists(), reason="../shared/marketdata (LOBSTER AAPL sample) is absent")
def test_lobster_aapl_impact_from_signed_trades(tmp_path):
    """One NASDAQ day of AAPL prints (no bars, no quotes): bars are built from the prints, impact is fitted.

    Documented ranges: daily vol 0.3%..3% (realised, the only estimator on one day); the temporary impact is
    positive and significant; the power-law exponent lies in 0.2..1.2 (trade-price bars include the bid-ask
    bounce, so the 'temporary impact' here mixes impact and half-spread); the spread comes from bars and says so.
    """
    con = db.open_database(tmp_path / "aapl.duckdb")
    try:
        con.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('AAPL', 'America/New_York')")
        load_file(con, LOBSTER, symbol="AAPL", skip_bad_rows=True)
        cal = run.calibrate(con, "AAPL")
    finally:
        con.close()
    e = cal.estimates
    assert cal.days == 1 and any("built from trade prints" in w for w in cal.warnings)
    assert 0.003 < e["sigma_daily"].value < 0.03 and "realised" in e["sigma_daily"].method
    assert cal.impact is not None and e["eta"].identified and not e["eta"].fallback
    assert 0.2 <= e["power_p"].value <= 1.2
    assert e["spread"].fallback and "bars" in e["spread"].method
    assert cal.factors is None  # one day is too short for volatility factors, and that is said
    assert any("volatility factors skipped" in w for w in cal.warnings)
