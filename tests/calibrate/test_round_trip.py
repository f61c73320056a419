"""Planted round trip (issue 13): the bundled SYN-CONCAVE's planted power law and transient impact are recovered by
calibration, reach the MarketParams (with their sources) that plans use, and move a plan's costs accordingly."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from optexec import costs
from optexec.calibration import market_model, run
from optexec.market_source import multiscale_settings, symbol_params
from optexec.models import Order, Schedule, slice_market_volume
from optexec.store import db

SYMBOLS = ("SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE")
FITTED = (
    "power_coefficient",
    "power_exponent",
    "transient_strength_usd_per_share2",
    "transient_decay_per_day",
    "eta_usd_day_per_share2",
    "sigma_usd_per_sqrt_day",
    "adv_shares",
)


def _sources(market) -> dict:
    return {s.name: s for s in market.sources}


def test_the_planted_power_law_is_recovered_into_the_market_model(calibrations, planted):
    cal, p = calibrations["SYN-CONCAVE"], planted["SYN-CONCAVE"]
    market = cal.market_params()
    src = _sources(market)
    assert abs(market.power_exponent - p["temporary_exponent"]) <= 2 * src["power_exponent"].stderr
    # the per-share cost the model charges at a rate v against the day's average volume, Y sigma (v / ADV)^p, equals
    # the planted eta v_ref (v / v_ref)^p: compare the coefficient of v^p, within two standard errors of Y
    model = market.power_coefficient * market.sigma_usd_per_sqrt_day * market.adv_shares**-market.power_exponent
    v_ref = p["reference_rate_shares_per_day"]
    truth = p["eta_usd_day_per_share2"] * v_ref ** (1 - p["temporary_exponent"])
    relative_se = src["power_coefficient"].stderr / market.power_coefficient
    assert abs(model / truth - 1) <= 2 * relative_se, (model, truth, relative_se)
    assert relative_se < 0.15  # identified, not a wide fallback
    assert src["power_coefficient"].source.startswith("calibration of SYN-CONCAVE")


def test_the_planted_transient_impact_is_recovered_into_the_market_model(calibrations, planted):
    cal, p = calibrations["SYN-CONCAVE"], planted["SYN-CONCAVE"]
    market = cal.market_params()
    src = _sources(market)
    kappa, rho = p["transient_kappa_usd_per_share2"], p["transient_decay_per_day"]
    assert market.transient_strength_usd_per_share2 is not None and market.transient_decay_per_day is not None
    assert abs(market.transient_strength_usd_per_share2 - kappa) <= 2 * src["transient_strength_usd_per_share2"].stderr
    assert abs(market.transient_decay_per_day - rho) <= 2 * src["transient_decay_per_day"].stderr
    lo, hi = cal.estimates["transient_decay_per_day"].interval
    assert lo <= rho <= hi
    assert src["transient_decay_per_day"].source.startswith("calibration of SYN-CONCAVE")


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_transient_impact_enters_only_when_identified(calibrations, planted, symbol):
    market = calibrations[symbol].market_params()
    strength = _sources(market)["transient_strength_usd_per_share2"]
    if market.transient_strength_usd_per_share2 is None:
        assert strength.source.startswith("default") and "not identified" in strength.source
    else:  # what enters is the planted value within two standard errors
        planted_kappa = planted[symbol]["transient_kappa_usd_per_share2"]
        assert abs(market.transient_strength_usd_per_share2 - planted_kappa) <= 2 * strength.stderr


def test_the_stored_run_gives_plans_the_same_model_with_its_sources(calibrations, db_copy):
    cal = calibrations["SYN-CONCAVE"]
    con = db.open_database(db_copy)
    try:
        saved = run.save(con, cal, accept=True)
        params = symbol_params(con, "SYN-CONCAVE")
    finally:
        con.close()
    market, fresh = params.market, cal.market_params()
    for name in FITTED:
        assert getattr(market, name) == pytest.approx(getattr(fresh, name), rel=1e-12), name
    np.testing.assert_allclose(market.volume_profile, fresh.volume_profile, rtol=1e-12)
    label = f"calibration of SYN-CONCAVE run {saved.run_ts:%Y-%m-%d %H:%M:%S} UTC"
    assert all(s.source.startswith(label) for s in market.sources if not s.source.startswith("default"))
    settings = multiscale_settings(market)
    assert settings["fast_scale_epsilon"] == pytest.approx(cal.estimates["fast_scale_epsilon"].value)
    assert settings["slow_scale_delta"] == pytest.approx(cal.estimates["slow_scale_delta"].value)
    assert settings["fast_mean_reversion_per_day"] == 1.0


def test_a_plan_under_the_calibrated_model_is_priced_with_the_calibrated_parameters(calibrations):
    """A TWAP of 5% of ADV over half a day: under "calibrated" its temporary cost is the fitted power law on the
    slices' expected volumes and its transient cost the exact constant-rate integral; under "linear" eta X^2 / T
    and no transient cost."""
    market = calibrations["SYN-CONCAVE"].market_params()
    shares, horizon, slices = round(0.05 * market.adv_shares), 0.5, 39
    order = Order("SYN-CONCAVE", "buy", shares, horizon, slices)
    schedule = Schedule.from_trades("twap", order, market, np.full(slices, shares / slices))
    calibrated = costs.estimate(schedule, dataclasses.replace(market, cost_model="calibrated"))
    linear = costs.estimate(schedule, dataclasses.replace(market, cost_model="linear"))

    n, v = shares / slices, slice_market_volume(order, market)
    y, p, sigma = market.power_coefficient, market.power_exponent, market.sigma_usd_per_sqrt_day
    assert calibrated.temporary_usd == pytest.approx(y * sigma * np.sum(n * (n / v) ** p), rel=1e-9)
    assert linear.temporary_usd == pytest.approx(market.eta_usd_day_per_share2 * shares**2 / horizon, rel=1e-9)
    kappa, rho = market.transient_strength_usd_per_share2, market.transient_decay_per_day
    rate = shares / horizon
    hold = -math.expm1(-rho * horizon) / rho
    assert calibrated.transient_usd == pytest.approx(kappa * rate**2 * (horizon - hold) / rho, rel=1e-9)
    assert linear.transient_usd == 0.0
    assert calibrated.spread_usd == linear.spread_usd and calibrated.permanent_usd == linear.permanent_usd
    assert calibrated.transient_usd > 0.05 * calibrated.expected_usd  # the planted transient impact matters here
    assert calibrated.expected_usd != pytest.approx(linear.expected_usd, rel=0.01)


def test_the_json_of_a_run_carries_its_market_model(calibrations):
    out = calibrations["SYN-CONCAVE"].to_json()
    model = out["market_model"]
    assert model["power_exponent"]["value"] == out["parameters"]["power_exponent"]["value"]
    assert {"value", "unit", "stderr", "source"} <= model["transient_decay_per_day"].keys()
    assert model["volume_profile"]["value"] == 390
    assert market_model.MULTISCALE + "fast_scale_epsilon" in model
