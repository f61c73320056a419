"""Volatility estimators (docs/MATH.md section 7): section 9 T9 values, hand-computed cases, simulated GBM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optexec.calibration import volatility as v

O = np.array([100, 101, 99.5, 102, 101.5])
H = np.array([102, 103, 101, 104, 103])
L = np.array([99, 100, 98, 100.5, 100])
C = np.array([101, 100.5, 100.8, 103, 102])
PREV = np.array([99.8, 101, 100.5, 100.8, 103])


def test_t9_close_to_close_and_parkinson():
    cc = v.close_to_close_variance(C, PREV)
    pk = v.parkinson_variance(H, L)
    assert cc == pytest.approx(1.6065542163e-4, abs=1e-12)
    assert pk == pytest.approx(3.4045877071e-4, abs=1e-12)
    assert math.sqrt(252 * cc) == pytest.approx(0.2012092599, abs=1e-9)
    assert v.annualised(math.sqrt(pk)) == pytest.approx(0.2929088770, abs=1e-9)


def test_hand_computed_single_bars():
    # one bar O=100, H=110, L=100, C=110: ln(H/L) = ln(C/O) = ln 1.1 = x
    x = math.log(1.1)
    o, h, lo, c = (np.array([a]) for a in (100.0, 110.0, 100.0, 110.0))
    assert v.garman_klass_variance(o, h, lo, c) == pytest.approx(0.5 * x * x - (2 * math.log(2) - 1) * x * x)
    # RS: ln(H/C) = 0 and ln(L/O) = 0, so the bar contributes 0 (pure drift is not variance)
    assert v.rogers_satchell_variance(o, h, lo, c) == pytest.approx(0.0, abs=1e-15)
    assert v.parkinson_variance(h, lo) == pytest.approx(x * x / (4 * math.log(2)))


def test_yang_zhang_combines_its_parts():
    n = len(C)
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    s_o = np.var(np.log(O / PREV), ddof=1)
    s_c = np.var(np.log(C / O), ddof=1)
    rs = np.mean(np.log(H / C) * np.log(H / O) + np.log(L / C) * np.log(L / O))
    assert v.yang_zhang_variance(O, H, L, C, PREV) == pytest.approx(s_o + k * s_c + (1 - k) * rs, rel=1e-12)


def test_estimators_are_scale_free_and_zero_on_flat_prices():
    for scale in (0.01, 3.0):
        assert v.yang_zhang_variance(O * scale, H * scale, L * scale, C * scale, PREV * scale) == pytest.approx(
            v.yang_zhang_variance(O, H, L, C, PREV), rel=1e-10
        )
    flat = np.full(5, 50.0)
    assert v.garman_klass_variance(flat, flat, flat, flat) == 0.0
    assert v.rogers_satchell_variance(flat, flat, flat, flat) == 0.0


def simulated_minutes(sigma_daily: float, days: int = 120, seed: int = 7):
    """GBM minute bars (6 steps a minute) with daily vol sigma_daily and no overnight gap."""
    rng = np.random.default_rng(seed)
    steps = 390 * 6
    shocks = rng.standard_normal(days * steps) * sigma_daily / math.sqrt(steps)
    logp = (np.log(100.0) + np.cumsum(shocks)).reshape(days, steps)
    start = np.concatenate([[np.log(100.0)], logp[:-1, -1]])
    path = np.concatenate([start[:, None], logp], axis=1)
    bars = path[:, :-1].reshape(days, 390, 6)
    nxt = path[:, 6::6]
    o = np.exp(bars[:, :, 0])
    c = np.exp(nxt)
    h = np.exp(np.maximum(bars.max(axis=2), nxt))
    lo = np.exp(np.minimum(bars.min(axis=2), nxt))
    return o, h, lo, c


def test_every_estimator_recovers_a_simulated_vol_within_three_stderrs():
    sigma = 0.02
    est = v.vol_estimates(*simulated_minutes(sigma))
    assert set(est) == {f"{n}" for n in v.ESTIMATORS}
    for name, e in est.items():
        assert e.observations >= 100
        assert 0 < e.stderr < 0.2 * sigma, name
        # range estimators on a discretely sampled path see a slightly smaller range: allow 5% bias
        assert abs(e.value - sigma) < 3 * e.stderr + 0.05 * sigma, (name, e.value, e.stderr)


def test_realised_variance_ignores_the_overnight_gap():
    o, h, lo, c = simulated_minutes(0.01, days=40)
    jumped = c * np.exp(np.arange(40) * 0.05)[:, None]  # a 5% gap every night
    assert v.realised_variance(jumped, 15)[0] == pytest.approx(v.realised_variance(c, 15)[0], rel=1e-9)


def test_fewer_than_three_days_leave_only_realised_variance():
    o, h, lo, c = simulated_minutes(0.01, days=2)
    est = v.vol_estimates(o, h, lo, c)
    assert math.isnan(est["yang_zhang"].value) and "at least 3 trading days" in est["yang_zhang"].warnings[0]
    assert abs(est["realised_15min"].value - 0.01) < 3 * est["realised_15min"].stderr
    with pytest.raises(ValueError, match="needs bars"):
        v.vol_estimates(*(np.full((1, 5), np.nan),) * 4)


def test_a_gap_in_the_data_is_not_read_as_one_days_return():
    """Two stretches of 60 days with the price 2.6x higher in the second (years later, as SPY 2013 and 2023 in the
    store): the daily estimators told which rows follow their previous trading day use only returns inside a
    stretch and recover sigma; told nothing, the one 'overnight' return of +160% inflates Yang–Zhang."""
    sigma = 0.02
    o, h, lo, c = simulated_minutes(sigma, days=120)
    later = np.exp(np.where(np.arange(120) >= 60, math.log(2.6), 0.0))[:, None]
    o, h, lo, c = (x * later for x in (o, h, lo, c))
    follows = np.ones(120, dtype=bool)
    follows[[0, 60]] = False
    joined = v.vol_estimates(o, h, lo, c)["yang_zhang"]
    split = v.vol_estimates(o, h, lo, c, follows)
    assert joined.value > 3 * sigma  # the +160% step read as a day's return
    assert split["yang_zhang"].observations == split["close_to_close"].observations == 118
    for name in v.ESTIMATORS:
        e = split[name]
        assert abs(e.value - sigma) < 3 * e.stderr + 0.05 * sigma, (name, e.value, e.stderr)


def test_days_without_a_consecutive_predecessor_leave_only_realised_variance():
    o, h, lo, c = simulated_minutes(0.01, days=4)
    est = v.vol_estimates(o, h, lo, c, np.array([False, False, True, False]))  # one return inside a stretch
    assert math.isnan(est["yang_zhang"].value)
    assert "at least 2 returns between consecutive trading days, the window has 1" in est["yang_zhang"].warnings[0]
    assert math.isfinite(est["realised_15min"].value)
