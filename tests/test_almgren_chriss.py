"""Almgren–Chriss: docs/MATH.md section 9 T4, limits and a direct numerical minimisation."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from optexec import costs
from optexec.models import MarketParams, Order, u_shaped_volume_profile
from optexec.strategies import almgren_chriss
from optexec.strategies.almgren_chriss import (
    ACParams,
    ac_continuous,
    ac_discrete,
    ac_drift,
    eta_tilde,
    kappa_discrete,
    static_holding_shares,
)
from optexec.strategies.benchmarks import NoParams, TWAPParams, immediate, twap

LAMBDA = 1e-6


def test_t4_table1_values(table1_order, table1_market):
    """docs/MATH.md section 9 T4, relative tolerance 1e-8 (values given to the digits printed there)."""
    assert eta_tilde(table1_order, table1_market) == pytest.approx(2.375e-6, rel=1e-12)
    kappa = kappa_discrete(table1_order, table1_market, LAMBDA)
    assert kappa == pytest.approx(0.607076, rel=1e-6)
    assert kappa * 5 == pytest.approx(3.0354, rel=2e-5)
    assert 1 / kappa == pytest.approx(1.6472, rel=3e-5)
    schedule = ac_discrete(table1_order, table1_market, ACParams(LAMBDA, max_participation=1.0))
    np.testing.assert_allclose(
        schedule.holdings_shares, [1e6, 541955.55, 289854.22, 147897.49, 62141.80, 0], rtol=1e-8, atol=0.005
    )
    np.testing.assert_allclose(
        schedule.trades_shares, [458044.45, 252101.33, 141956.73, 85755.69, 62141.80], rtol=1e-8, atol=0.005
    )
    cost = costs.estimate(schedule, table1_market)
    assert cost.expected_usd == pytest.approx(911_226.99, abs=0.005)
    assert cost.variance_usd2 == pytest.approx(3.641286e11, rel=1e-6)
    assert cost.std_usd == pytest.approx(603_430.67, abs=0.005)
    assert cost.objective_usd(LAMBDA) == pytest.approx(1_275_355.56, abs=0.005)


def test_table1_static_holding_with_drift(table1_order, table1_market):
    """x_bar = alpha / (2 lambda sigma^2) = 11,080 shares for alpha = 0.02 (docs/MATH.md section 2, eq 25)."""
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, drift_usd_per_day=0.02)
    assert static_holding_shares(table1_order, market, LAMBDA) == pytest.approx(11_080.33, abs=0.01)


@pytest.mark.parametrize("lam", [0.0, 1e-9, 1e-7, 1e-6, 1e-5, 1e-3])
def test_closed_form_equals_sums(table1_market, lam):
    """Eq 20 closed-form E and V equal the sums over the schedule (docs/MATH.md section 2)."""
    for order in (Order("DEMO", "sell", 1e6, 5.0, 5), Order("DEMO", "buy", 2e5, 1.0, 390)):
        expected, variance = almgren_chriss.ac_closed_form(order, table1_market, lam)
        cost = costs.estimate(ac_discrete(order, table1_market, ACParams(lam, max_participation=1.0)), table1_market)
        assert cost.expected_usd == pytest.approx(expected, rel=1e-9)
        assert cost.variance_usd2 == pytest.approx(variance, rel=1e-9)


def test_lambda_zero_is_twap(table1_order, table1_market):
    ac = ac_discrete(table1_order, table1_market, ACParams(0.0, max_participation=1.0))
    flat = twap(table1_order, table1_market, TWAPParams())
    np.testing.assert_allclose(ac.holdings_shares, flat.holdings_shares, rtol=1e-12)
    tiny = ac_discrete(table1_order, table1_market, ACParams(1e-14, max_participation=1.0))
    np.testing.assert_allclose(tiny.holdings_shares, flat.holdings_shares, rtol=1e-6)


def test_lambda_infinity_approaches_immediate(table1_order, table1_market):
    """lambda -> inf: everything in the first slice, worked over it: eps X + eta X^2 / tau (the AC limit; the
    Immediate strategy is one block that sweeps the order book instead, docs/MATH.md section 11)."""
    now = 0.0625 * 1e6 + 2.5e-6 * 1e12 / table1_order.slice_days
    assert immediate(table1_order, table1_market, NoParams()).blocks_shares[0] == 1e6
    previous_first_trade = 0.0
    for lam in (1e-4, 1e-2, 1.0, 1e4):
        schedule = ac_discrete(table1_order, table1_market, ACParams(lam, max_participation=1.0))
        assert schedule.trades_shares[0] > previous_first_trade
        previous_first_trade = schedule.trades_shares[0]
    assert schedule.trades_shares[0] == pytest.approx(1e6, rel=1e-6)
    assert costs.estimate(schedule, table1_market).expected_usd == pytest.approx(now, rel=1e-5)
    huge = ac_discrete(table1_order, table1_market, ACParams(1e300, max_participation=1.0))
    assert huge.trades_shares[0] == 1e6


def _numerical_minimum(order, market, lam):
    """Minimise E + lambda V (with drift) over the interior holdings directly, in units of X."""
    n, tau, X = order.slices, order.slice_days, order.shares
    eta, gamma, sigma = market.eta_usd_day_per_share2, market.gamma_usd_per_share2, market.sigma_usd_per_sqrt_day
    alpha = -order.side_sign * market.drift_usd_per_day

    def objective(interior):
        x = np.concatenate([[1.0], interior, [0.0]]) * X
        trades = -np.diff(x)
        e = 0.5 * gamma * X**2 + market.half_spread_usd * np.abs(trades).sum()
        e += (eta - 0.5 * gamma * tau) / tau * trades @ trades - alpha * tau * x[1:].sum()
        return (e + lam * sigma**2 * tau * x[1:] @ x[1:]) / (market.half_spread_usd * X)

    start = np.linspace(1, 0, n + 1)[1:-1]
    result = minimize(objective, start, method="BFGS", options={"gtol": 1e-13, "maxiter": 10_000})
    return np.concatenate([[1.0], result.x, [0.0]]) * X


@pytest.mark.parametrize("lam", [0.0, 3e-7, 1e-6, 2e-5])
@pytest.mark.parametrize("drift", [0.0, 0.02, -0.05])
def test_discrete_schedule_equals_numerical_minimisation(lam, drift):
    """The closed form equals a direct minimisation of E + lambda V to 1e-6 relative (of the order size).

    The closed form assumes child orders of one sign (spread cost eps X); when a strong drift makes the
    optimum trade both ways, the strategy must say so instead.
    """
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, drift_usd_per_day=drift)
    for side in ("sell", "buy"):
        order = Order("DEMO", side, 1e6, 5.0, 12)
        build = ac_drift if drift else ac_discrete
        schedule = build(order, market, ACParams(lam, max_participation=1.0))
        if np.any(schedule.trades_shares < 0):
            assert "trades against the order" in schedule.warnings[0]
            continue
        expected = _numerical_minimum(order, market, lam)
        np.testing.assert_allclose(schedule.holdings_shares, expected, rtol=0, atol=1e-6 * order.shares)


def test_continuous_converges_to_discrete(table1_market):
    order = Order("DEMO", "sell", 1e6, 5.0, 5000)
    gap = np.max(
        np.abs(
            ac_continuous(order, table1_market, ACParams(LAMBDA, max_participation=1.0)).holdings_shares
            - ac_discrete(order, table1_market, ACParams(LAMBDA, max_participation=1.0)).holdings_shares
        )
    )
    assert gap < 1e-3 * order.shares
    # E and V of the continuous trajectory (docs/MATH.md section 8 integrals)
    market = table1_market
    kappa = math.sqrt(LAMBDA * market.sigma_usd_per_sqrt_day**2 / market.eta_usd_day_per_share2)
    X, T = order.shares, order.horizon_days
    int_xdot2 = X**2 * kappa**2 * (T / 2 + math.sinh(2 * kappa * T) / (4 * kappa)) / math.sinh(kappa * T) ** 2
    int_x2 = X**2 * (math.sinh(2 * kappa * T) / (4 * kappa) - T / 2) / math.sinh(kappa * T) ** 2
    cost = costs.estimate(ac_continuous(order, market, ACParams(LAMBDA, max_participation=1.0)), market)
    assert cost.variance_usd2 == pytest.approx(market.sigma_usd_per_sqrt_day**2 * int_x2, rel=1e-3)
    assert cost.temporary_usd + cost.permanent_usd - 0.5 * market.gamma_usd_per_share2 * X**2 == pytest.approx(
        market.eta_usd_day_per_share2 * int_xdot2, rel=1e-3
    )


def test_buy_and_sell_mirror(table1_market):
    profile_market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())
    for market in (table1_market, profile_market):
        sell = ac_discrete(Order("D", "sell", 1e6, 5.0, 20), market, ACParams(LAMBDA, max_participation=1.0))
        buy = ac_discrete(Order("D", "buy", 1e6, 5.0, 20), market, ACParams(LAMBDA, max_participation=1.0))
        np.testing.assert_array_equal(sell.holdings_shares, buy.holdings_shares)
        assert costs.estimate(sell, market).expected_usd == costs.estimate(buy, market).expected_usd


def test_drift_sign_for_buys_and_sells():
    """A rising price makes a seller wait (hold more) and a buyer hurry (hold less)."""
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, drift_usd_per_day=0.05)
    sell = ac_drift(Order("D", "sell", 1e6, 5.0, 10), market, ACParams(LAMBDA, max_participation=1.0)).holdings_shares
    buy = ac_drift(Order("D", "buy", 1e6, 5.0, 10), market, ACParams(LAMBDA, max_participation=1.0)).holdings_shares
    plain = ac_discrete(
        Order("D", "sell", 1e6, 5.0, 10), market, ACParams(LAMBDA, max_participation=1.0)
    ).holdings_shares
    assert np.all(sell[1:-1] > plain[1:-1]) and np.all(buy[1:-1] < plain[1:-1])


def test_too_long_slices_are_refused():
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 1e-7, 2.5e-7)
    with pytest.raises(ValueError, match="slices are too long"):
        ac_discrete(Order("D", "sell", 1e6, 5.0, 5), market, ACParams(LAMBDA, max_participation=1.0))


@pytest.mark.parametrize("lam", [1e-24, 1e-20, 1e-16])
def test_drift_schedule_is_continuous_as_risk_aversion_vanishes(lam):
    """Tiny lambda must give the lambda = 0 parabola, not digits lost in arccosh(1 + d) or in x_bar terms."""
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, drift_usd_per_day=0.02)
    order = Order("DEMO", "sell", 1e6, 5.0, 5)
    limit = ac_drift(order, market, ACParams(0.0, max_participation=1.0)).holdings_shares
    np.testing.assert_allclose(
        ac_drift(order, market, ACParams(lam, max_participation=1.0)).holdings_shares, limit, rtol=0, atol=1e-3
    )
