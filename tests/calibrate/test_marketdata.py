"""Calibration on real data from ../shared/marketdata (skipped when absent): estimates in documented ranges.

SPY, 2013-10-04 and 10-07..10-11 (LEAN minute trade and quote bars): the intraday volume profile is U-shaped
(first and last half hours each hold more than 1.5x the volume of a midday half hour), annualised vol between
5% and 40% (the October 2013 debt-ceiling week; VIX was 15-20), ADV between 50M and 400M shares, the quoted
spread between $0.005 and $0.03 (one cent is the tick), and without signed trades impact falls back to ATHL.
"""

from __future__ import annotations

import numpy as np
import pytest

from optexec.calibrate import run
from optexec.store import db
from optexec.store.loading import load_file

from .conftest import MARKETDATA

SPY = MARKETDATA / "lean_equity_usa" / "minute" / "spy"
DAYS = ("20131004", "20131007", "20131008", "20131009", "20131010", "20131011")
needs_data = pytest.mark.skipif(not SPY.exists(), reason="../shared/marketdata (real SPY minute bars) is absent")


@pytest.fixture(scope="module")
def spy(tmp_path_factory):
    path = tmp_path_factory.mktemp("spy") / "spy.duckdb"
    con = db.open_database(path)
    con.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('SPY', 'America/New_York')")
    for day in DAYS:
        load_file(con, SPY / f"{day}_trade.zip", symbol="SPY")
        quote = SPY / f"{day}_quote.zip"
        if quote.exists():
            load_file(con, quote, symbol="SPY", skip_bad_rows=True)
    cal = run.calibrate(con, "SPY")
    con.close()
    return cal


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
