"""The mapping from a calibration's estimates to the market model (optexec.calibration.market_model)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from optexec import costs
from optexec.calibration import market_model
from optexec.calibration.results import Estimate
from optexec.models import MarketParams, Order, Schedule, slice_market_volume

ADV = 2e6
SIGMA_USD = 1.2


def _estimates(**over) -> dict[str, Estimate]:
    e = {
        "price_usd": Estimate("price_usd", 60.0),
        "sigma_usd_per_sqrt_day": Estimate("sigma_usd_per_sqrt_day", SIGMA_USD, 0.05, "yang-zhang"),
        "spread": Estimate("spread", 0.03, 1e-4, "quotes"),
        "adv_shares": Estimate("adv_shares", ADV, 5e4, "mean daily volume"),
        "eta": Estimate("eta", 6e-8, 2e-9, "weighted propagator fit"),
        "gamma": Estimate("gamma", 1.5e-6, 5e-7, "weighted propagator fit"),
        "power_coefficient": Estimate("power_coefficient", 0.04, 0.003, "power fit"),
        "power_exponent": Estimate("power_exponent", 0.6, 0.02, "profile least squares"),
        "transient_kappa_usd_per_share2": Estimate("transient_kappa_usd_per_share2", 7.5e-6, 8e-7, "transient part"),
        "transient_decay_per_day": Estimate("transient_decay_per_day", 13.0, 4.0, "profile least squares"),
        "fast_scale_epsilon": Estimate("fast_scale_epsilon", 0.05, 0.008, "1 / fast rate"),
        "slow_scale_delta": Estimate("slow_scale_delta", 0.3, 0.01, "slow rate"),
    }
    e.update(over)
    return e


def _market(**over) -> MarketParams:
    return market_model.market_params(_estimates(**over), np.full(390, 1 / 390), np.ones(390), "calibration of X")


def _source(market: MarketParams, name: str):
    return next(s for s in market.sources if s.name == name)


def test_power_law_charges_what_the_fit_measured():
    """Y = h_ref 10^p / sigma: on a flat profile the model's per-share temporary cost of a constant rate v is the
    fitted h(v) = h_ref (v / v_ref)^p, v_ref = 10% of ADV (module docstring)."""
    h_ref = Estimate("h", 0.0116, 0.0004, "power curve", 1000)
    p = Estimate("p", 0.6, 0.013)
    sigma = Estimate("s", SIGMA_USD, 0.04)
    y, exponent = market_model.power_law(h_ref, p, sigma)
    assert exponent.value == 0.6
    rel = math.hypot(0.0004 / 0.0116, math.log(10) * 0.013, 0.04 / SIGMA_USD)
    assert y.stderr == pytest.approx(y.value * rel)
    market = dataclasses.replace(
        _market(), power_coefficient=y.value, power_exponent=0.6, cost_model="calibrated",
        transient_strength_usd_per_share2=None, gamma_usd_per_share2=0.0, spread_usd=0.0,
    )  # fmt: skip
    order = Order("X", "buy", 100_000, 0.5, 10)
    schedule = Schedule.from_trades("twap", order, market, np.full(10, 10_000.0))
    rate = 100_000 / 0.5
    fitted = 0.0116 * (rate / (0.1 * ADV)) ** 0.6
    assert costs.estimate(schedule).temporary_usd == pytest.approx(fitted * 100_000, rel=1e-9)


def test_power_law_not_identified_is_none_and_athl_is_a_visible_fallback():
    assert market_model.power_law(Estimate("h", 0.01, 0.01), Estimate("p", 0.6, 0.1), Estimate("s", 1.0)) is None
    y, p = market_model.athl_power_law("the power-law temporary impact is not significant")
    assert (y.value, p.value, y.fallback, p.fallback) == (0.142, 0.6, True, True)
    market = market_model.market_params(
        {k: v for k, v in _estimates().items() if not k.startswith("power")}, np.ones(390), np.ones(390), "run R"
    )
    assert (market.power_coefficient, market.power_exponent) == (0.142, 0.6)
    assert _source(market, "power_coefficient").source.startswith("run R, fallback: ATHL 2005")


def test_a_run_saved_before_y_and_p_were_stored_gets_them_from_its_power_curve():
    old = {k: v for k, v in _estimates().items() if not k.startswith("power")}
    old["power_impact_at_10pct_adv_usd"] = Estimate("power_impact_at_10pct_adv_usd", 0.0116, 0.0004, "power curve")
    old["power_p"] = Estimate("power_p", 0.6, 0.013, "power temporary curve")
    market = market_model.market_params(old, np.ones(390), np.ones(390), "run R")
    assert market.power_coefficient == pytest.approx(0.0116 * 10**0.6 / SIGMA_USD)
    assert market.power_exponent == 0.6


def test_every_parameter_has_a_source_with_unit_and_stderr():
    market = _market()
    names = {s.name for s in market.sources}
    assert {
        "price_usd", "sigma_usd_per_sqrt_day", "spread_usd", "adv_shares", "eta_usd_day_per_share2",
        "gamma_usd_per_share2", "power_coefficient", "power_exponent", "transient_strength_usd_per_share2",
        "transient_decay_per_day", "drift_usd_per_day", "volume_profile",
    } <= names  # fmt: skip
    for s in market.sources:
        assert s.unit and s.source
        if not s.name.startswith(("multiscale.", "volume_profile", "drift")):
            field = {"spread_usd": "spread_usd"}.get(s.name, s.name)
            assert getattr(market, field) == pytest.approx(s.value), s.name
    assert _source(market, "eta_usd_day_per_share2").stderr == 2e-9
    assert market.transient_strength_usd_per_share2 == 7.5e-6 and market.transient_decay_per_day == 13.0
    assert market.cost_model == "linear"  # the ticket chooses the cost model


def test_unidentified_transient_is_left_to_the_defaults_and_says_why():
    market = _market(
        transient_kappa_usd_per_share2=Estimate("k", 7e-7, 5e-7, "transient part"),
        transient_decay_per_day=Estimate("d", 8.1, 1.0, "fallback: default half-life", fallback=True),
    )
    assert market.transient_strength_usd_per_share2 is None and market.transient_decay_per_day is None
    strength = _source(market, "transient_strength_usd_per_share2")
    assert strength.value == 0.0 and "not identified" in strength.source and "7e-07" in strength.source
    decay = _source(market, "transient_decay_per_day")
    assert decay.value == pytest.approx(market.transient_decay)  # the model's default, ln 2 / 30 minutes


def test_negative_gamma_is_used_as_zero_and_the_source_says_so():
    market = _market(gamma=Estimate("gamma", -2e-7, 5e-7, "weighted propagator fit"))
    assert market.gamma_usd_per_share2 == 0.0
    assert "negative" in _source(market, "gamma_usd_per_share2").source


def test_a_profile_of_buckets_is_resampled_to_minutes_keeping_each_bucket_mass():
    shares = np.linspace(2.0, 1.0, 13)
    shares /= shares.sum()
    per_minute = market_model.minute_profile(shares, np.full(13, 30.0))
    assert per_minute.size == 390
    np.testing.assert_allclose(per_minute.reshape(13, 30).sum(axis=1), shares)
    market = market_model.market_params(_estimates(), shares, np.full(13, 30.0), "run R")
    assert market.session_minutes == 390
    # a slice that is exactly bucket 4 holds that bucket's share of the day; half a bucket holds half of it
    order = Order("X", "buy", 1000, 30 / 390, 2, start_minutes_after_open=120)
    np.testing.assert_allclose(slice_market_volume(order, market), [ADV * shares[4] / 2] * 2)
    profile = _source(market, "volume_profile")
    assert "13 buckets of 30 minutes (native), resampled to 390 minutes exactly" in profile.source
    with pytest.raises(ValueError, match="whole minutes"):
        market_model.minute_profile(np.ones(2), np.array([1.5, 1.0]))


def test_multiscale_settings_come_from_the_volatility_factors():
    market = _market()
    assert market_model.multiscale_settings(market) == {
        "fast_scale_epsilon": 0.05,
        "fast_mean_reversion_per_day": 1.0,
        "slow_scale_delta": 0.3,
    }
    assert "unless set on the ticket" in _source(market, "multiscale.fast_scale_epsilon").source
    failed = _market(fast_scale_epsilon=Estimate("fast_scale_epsilon", float("nan")))
    assert market_model.multiscale_settings(failed) == {}
    assert market_model.multiscale_settings(MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)) == {}
