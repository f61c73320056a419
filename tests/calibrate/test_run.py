"""A full calibration: planted volatility/liquidity recovered, runs saved, accepted, read back as MarketParams."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest

from optexec.calibration import run
from optexec.models import MarketParams
from optexec.store import db

SYMBOLS = ("SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE")


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_planted_volatility_and_liquidity(calibrations, planted, symbol):
    cal, p = calibrations[symbol], planted[symbol]
    e = cal.estimates
    assert e["price_usd"].value == pytest.approx(p["last_close_usd"])
    # sigma in $/share/sqrt(day) (the generator's diffusion is arithmetic, in $) from intraday returns:
    # within 35% -- the slow vol factor alone moves a 62-day average vol by about 17% (1 sd, derived in the report)
    rv = cal.volatility["realised_15min"].value * e["price_usd"].value
    assert rv == pytest.approx(p["sigma_usd_per_sqrt_day"], rel=0.35)
    # ADV: within 2 stderrs of the sample's realised mean, and within 3 stderrs of the planted mean
    assert abs(e["adv_shares"].value - p["realised_adv_shares"]) < 1e-6 * p["realised_adv_shares"]
    assert abs(e["adv_shares"].value - p["adv_shares"]) < 3 * e["adv_shares"].stderr
    # spread: the time-weighted quoted spread within 5% of the planted target (quotes are tick-rounded)
    assert e["spread"].value == pytest.approx(p["spread_target_usd"], rel=0.05)
    assert "quotes" in e["spread"].method
    assert cal.days == 62 and cal.window_start == dt.date(2025, 1, 2)


def test_estimators_agree_on_the_sample(calibrations):
    for cal in calibrations.values():
        vols = np.array([v.value for v in cal.volatility.values()])
        assert vols.max() / vols.min() < 1.35  # no estimator is wildly off the others
        assert cal.estimates["sigma_annual"].value == pytest.approx(cal.estimates["sigma_daily"].value * 252**0.5)


def test_json_has_the_fixed_names(calibrations):
    out = calibrations["SYN-MID"].to_json()
    text = json.dumps(out)  # plain JSON: no NaN, no numpy types
    assert "NaN" not in text
    params = out["parameters"]
    for name in ("sigma_daily", "adv_shares", "spread", "eta", "gamma"):
        assert {"value", "stderr", "method"} <= set(params[name])
    assert len(params["volume_profile"]["value"]) == 390
    assert sum(params["volume_profile"]["value"]) == pytest.approx(1.0)
    assert params["sigma_daily"]["value"] < 0.1  # a fraction of price, not $


def test_window_limits_the_days(sample_con):
    cal = run.calibrate(sample_con, "SYN-SMALL", dt.date(2025, 2, 3), dt.date(2025, 3, 14))
    assert cal.window_start == dt.date(2025, 2, 3) and cal.window_end == dt.date(2025, 3, 14)
    assert cal.days == 30
    with pytest.raises(ValueError, match="no regular-session bars"):
        run.calibrate(sample_con, "SYN-SMALL", dt.date(2030, 1, 1), dt.date(2030, 2, 1))
    with pytest.raises(ValueError, match="ends"):
        run.calibrate(sample_con, "SYN-SMALL", dt.date(2025, 3, 1), dt.date(2025, 2, 1))


def test_save_accept_and_latest(db_copy, calibrations):
    con = db.open_database(db_copy)
    try:
        assert run.latest_market_params(con, "SYN-MID") is None
        first = run.save(con, calibrations["SYN-MID"])  # saved, not accepted
        assert run.latest_market_params(con, "SYN-MID") is None
        run.accept(con, "SYN-MID", first.run_ts)
        params = run.latest_market_params(con, "SYN-MID")
        assert isinstance(params, MarketParams)
        expected = calibrations["SYN-MID"].market_params()
        assert params.sigma_usd_per_sqrt_day == pytest.approx(expected.sigma_usd_per_sqrt_day)
        assert params.eta_usd_day_per_share2 == pytest.approx(expected.eta_usd_day_per_share2)
        assert params.spread_usd == pytest.approx(expected.spread_usd)
        assert params.price_usd == pytest.approx(calibrations["SYN-MID"].price_usd)
        assert len(params.volume_profile) == 390
        assert params.volume_profile == pytest.approx(expected.volume_profile)
        stored = run.latest_calibration(con, "SYN-MID")
        assert stored.run_ts == first.run_ts and stored.window_start == dt.datetime(2025, 1, 2)
        # a later run that is not accepted does not replace the accepted one
        second = run.save(con, calibrations["SYN-MID"])
        assert second.run_ts > first.run_ts
        assert run.latest_calibration(con, "SYN-MID").run_ts == first.run_ts
        history = run.runs(con, "SYN-MID")
        assert history["accepted"].tolist() == [False, True]
        # the post-trade update writes a new accepted run with only eta changed
        new_ts = run.save_recalibrated(con, "SYN-MID", "eta", 2 * params.eta_usd_day_per_share2, "post-trade")
        updated = run.latest_market_params(con, "SYN-MID")
        assert updated.eta_usd_day_per_share2 == pytest.approx(2 * params.eta_usd_day_per_share2)
        assert updated.gamma_usd_per_share2 == pytest.approx(params.gamma_usd_per_share2)
        eta_history = run.parameter_history(con, "SYN-MID", "eta")
        assert len(eta_history) == 3 and eta_history["run_ts"].iloc[-1] == new_ts
        assert eta_history["accepted"].tolist() == [True, False, True]
        with pytest.raises(ValueError, match="no calibration"):
            run.accept(con, "SYN-MID", dt.datetime(2001, 1, 1))
    finally:
        con.close()


def test_without_signed_trades_impact_falls_back_visibly(db_copy):
    con = db.open_database(db_copy)
    try:
        con.execute("DELETE FROM trades WHERE symbol = 'SYN-SMALL'")
        con.execute("DELETE FROM quotes WHERE symbol = 'SYN-SMALL'")
        cal = run.calibrate(con, "SYN-SMALL")
    finally:
        con.close()
    e = cal.estimates
    assert cal.impact is None
    assert e["eta"].fallback and e["gamma"].fallback and "ATHL" in e["eta"].method
    assert any("no signed trades" in w for w in cal.warnings)
    assert e["spread"].fallback and "bars" in e["spread"].method
    assert math.isfinite(cal.market_params().eta_usd_day_per_share2)
