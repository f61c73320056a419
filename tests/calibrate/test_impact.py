"""Impact: docs/MATH.md section 9 values (T5, T7, rules of thumb), a simulated propagator, the planted sample."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optexec.calibration import impact


def test_rules_of_thumb_match_almgren_chriss():
    eta, gamma = impact.rules_of_thumb(1 / 8, 5e6)  # docs/MATH.md section 7 example
    assert eta.value == pytest.approx(2.5e-6) and gamma.value == pytest.approx(2.5e-7)
    with pytest.raises(ValueError, match="positive spread"):
        impact.rules_of_thumb(0.0, 5e6)


def test_t5_athl_dri():
    v, theta, sigma = 1_929_000, 168e6, 0.0226
    for duration, k, j in ((0.1, 32.092, 42.931), (0.2, 21.173, 32.012), (0.5, 12.218, 23.058)):
        out = impact.athl_cost_bps(0.1 * v, v, sigma, duration, theta)
        assert out["permanent_bps"] == pytest.approx(21.679, abs=1e-3)
        assert out["temporary_bps"] == pytest.approx(k, abs=1e-3)
        assert out["realised_bps"] == pytest.approx(j, abs=1e-3)


def test_athl_in_ac_units_matches_its_law():
    price, sigma, adv, theta = 50.0, 0.02, 1e6, 1.6e7
    eta, gamma = impact.athl_impact(sigma, adv, price, theta)
    # trading 10% of ADV per day: temporary impact h = 0.142 sigma 0.1^0.6 of the price = eta * v
    assert eta.value * 0.1 * adv == pytest.approx(price * 0.142 * sigma * 0.1**0.6)
    assert gamma.value * adv == pytest.approx(price * 0.314 * sigma * 16**0.25)
    assert eta.fallback and gamma.fallback and not gamma.warnings
    assert impact.athl_impact(sigma, adv, price, None)[1].warnings  # Theta unknown: said


def test_t7_square_root_law():
    assert impact.sqrt_law_bps(1.0, 0.02, 9, 100) == pytest.approx(60.0)


def simulate(eta, gamma, kappa, decay_per_day, exponent=1.0, days=40, seed=3, noise=0.02):
    """Minute closes and signed flow from the model of optexec.calibration.impact, written out longhand."""
    rng = np.random.default_rng(seed)
    q = np.round(rng.standard_normal((days, 390)) * 2000)
    a = math.exp(-decay_per_day / 390)
    v_ref = 1e5
    close = np.empty((days, 390))
    for d in range(days):
        efficient, transient = 100.0, 0.0
        for m in range(390):
            efficient += noise * rng.standard_normal() + gamma * q[d, m]
            v = 390 * q[d, m]
            temporary = eta * v_ref * math.copysign(abs(v / v_ref) ** exponent, v)
            close[d, m] = efficient + transient + temporary
            transient = a * transient + kappa * q[d, m]
    high, low = close + 0.01, close - 0.01
    return close, q, high, low


@pytest.fixture(scope="module")
def linear_fit():
    close, q, high, low = simulate(eta=2e-8, gamma=2e-6, kappa=4e-6, decay_per_day=20.0)
    return impact.fit_propagator(close, q, high, low, 100.0, 0.02, 1e6)


def test_simulated_linear_model_is_recovered(linear_fit):
    fit = linear_fit
    assert fit.best_form in ("linear", "power")
    lin = fit.curves["linear"]
    assert abs(lin.params["eta"] - 2e-8) < 2 * lin.stderrs["eta"] + 1e-10
    assert abs(fit.gamma.value - 2e-6) < 2 * fit.gamma.stderr
    assert abs(fit.kappa.value - 4e-6) < 2 * fit.kappa.stderr
    assert fit.kappa.identified
    lo, hi = fit.decay.interval
    assert lo <= 20.0 <= hi and hi / lo < 20
    assert abs(fit.curves["power"].params["p"] - 1.0) <= 0.1
    # the binned partial residuals (chart data) follow the fitted h(v) = eta v
    bins = fit.bins
    slope = np.polyfit(bins["rate_shares_per_day"], bins["impact_usd"], 1)[0]
    assert slope == pytest.approx(lin.params["eta"], rel=0.05)
    assert sum(bins["count"]) == fit.observations


def test_simulated_concave_model_picks_the_power_law():
    close, q, high, low = simulate(eta=3e-8, gamma=1e-6, kappa=0.0, decay_per_day=20.0, exponent=0.5, days=30)
    fit = impact.fit_propagator(close, q, high, low, 100.0, 0.02, 1e6)
    assert fit.best_form == "power"
    pw = fit.curves["power"]
    assert abs(pw.params["p"] - 0.5) < max(2 * pw.stderrs["p"], 0.05)
    h_true = 3e-8 * 1e5  # h at v_ref = 10% ADV = 1e5 shares/day
    assert abs(pw.params["h_ref"] - h_true) < 2 * pw.stderrs["h_ref"] + 0.02 * h_true
    assert not fit.kappa.identified or fit.kappa.value < 3 * fit.kappa.stderr


def test_kyle_lambda_on_a_pure_permanent_market():
    rng = np.random.default_rng(5)
    q = rng.standard_normal((20, 390)) * 1000
    close = 50 + np.cumsum(1e-5 * q + 0.001 * rng.standard_normal(q.shape), axis=1)
    k = impact.kyle_lambda(close, q)
    assert abs(k.value - 1e-5) < 3 * k.stderr and k.stderr < 1e-6


def test_too_little_flow_is_a_plain_error():
    close, q, high, low = simulate(2e-8, 2e-6, 0.0, 20.0, days=1)
    with pytest.raises(ValueError, match="at least 200 minutes"):
        impact.fit_propagator(close[:, :100], q[:, :100], high[:, :100], low[:, :100], 100.0, 0.02, 1e6)


# ------------------------------------------------------------------------- the planted sample (2 stderrs)


@pytest.mark.parametrize("symbol", ["SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE"])
def test_planted_impact_is_recovered(calibrations, planted, symbol):
    cal, p = calibrations[symbol], planted[symbol]
    fit = cal.impact
    e = cal.estimates["eta"]
    v_ref = 0.1 * cal.estimates["adv_shares"].value
    # planted eta is the secant slope at v_ref = 10% of the planted ADV; at our v_ref it is
    true_eta = p["eta_usd_day_per_share2"] * (v_ref / p["reference_rate_shares_per_day"]) ** (
        p["temporary_exponent"] - 1
    )
    assert not e.fallback
    assert abs(e.value - true_eta) < 2 * e.stderr, (e.value, e.stderr, true_eta)
    # gamma: the fit's estimate (identified or not) lies within 2 stderrs of the planted value
    assert abs(fit.gamma.value - p["gamma_usd_per_share2"]) < 2 * fit.gamma.stderr
    assert abs(fit.kappa.value - p["transient_kappa_usd_per_share2"]) < 2 * fit.kappa.stderr
    lo, hi = fit.decay.interval
    assert lo <= p["transient_decay_per_day"] <= hi
    pw = fit.curves["power"]
    assert abs(pw.params["p"] - p["temporary_exponent"]) < max(2 * pw.stderrs["p"], 0.05)
    assert (fit.best_form == "power") == (p["temporary_exponent"] != 1.0)


def test_unidentified_parameters_fall_back_visibly(calibrations):
    for cal in calibrations.values():
        for name in ("eta", "gamma", "transient_decay_per_day"):
            e = cal.estimates[name]
            assert e.fallback == (not e.method.startswith(("weighted", "power", "profile")))
            if e.fallback:
                assert e.warnings and any(name in w for w in cal.warnings)
