"""Obizhaeva–Wang transient impact: MATH.md section 9 T6, a direct QP, limits and the slice-grid mapping."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from optexec.models import MarketParams, Order, u_shaped_volume_profile
from optexec.strategies.benchmarks import NoParams, TWAPParams, immediate, twap, vwap
from optexec.strategies.transient import (
    STRATEGIES,
    TransientParams,
    obizhaeva_wang,
    ow_continuous,
    ow_discrete_cost_usd,
    ow_discrete_trades,
    schedule_transient_cost_usd,
    transient_cost_usd,
)


def market() -> MarketParams:
    return MarketParams(50.0, 1.0, 0.02, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())


def qp_optimum(total, times, kappa, rho):
    """Direct minimisation of the transient cost (a quadratic form) subject to sum xi = X, by scipy."""
    result = minimize(
        lambda xi: float(transient_cost_usd(xi, times, kappa, rho)),
        np.full(times.size, total / times.size),
        method="SLSQP",
        constraints=[{"type": "eq", "fun": lambda xi: np.sum(xi) - total}],
        options={"ftol": 1e-14, "maxiter": 500},
    )
    return result.x, result.fun


def test_t6_continuous():
    ow = ow_continuous(1.0, 1.0, 1.0, 1.0)
    assert ow.block_shares == pytest.approx(1 / 3, abs=1e-15)
    assert ow.rate_shares_per_day == pytest.approx(1 / 3, abs=1e-15)
    assert ow.transient_cost_usd == pytest.approx(1 / 3, abs=1e-15)


def test_t6_discrete_n4():
    trades = ow_discrete_trades(1.0, 4, 1.0, 1.0)
    assert trades[0] == pytest.approx(0.375432, abs=5e-7)
    assert trades[-1] == pytest.approx(0.375432, abs=5e-7)
    np.testing.assert_allclose(trades[1:-1], 0.0830453, atol=5e-8)
    assert trades.sum() == pytest.approx(1.0, abs=1e-15)
    assert ow_discrete_cost_usd(1.0, 4, 1.0, 1.0, 1.0) == pytest.approx(0.33390944, abs=5e-9)
    # the cost of ANY schedule, applied to the optimum, gives the same number
    assert transient_cost_usd(trades, np.linspace(0, 1, 5), 1.0, 1.0) == pytest.approx(0.33390944, abs=5e-9)


def test_block_cost_by_hand():
    """Two blocks 1 and 2 at t = 0 and 0.5, kappa = 2, rho = 3: 1(0 + 1) + 2(2 e^{-1.5} + 2)."""
    cost = transient_cost_usd([1.0, 2.0], [0.0, 0.5], 2.0, 3.0)
    assert cost == pytest.approx(1.0 + 2.0 * (2.0 * math.exp(-1.5) + 2.0), rel=1e-15)


@pytest.mark.parametrize(
    ("kappa", "rho", "horizon", "intervals"), [(1.0, 1.0, 1.0, 4), (0.3, 7.0, 2.0, 9), (2.0, 0.2, 1.0, 5)]
)
def test_discrete_formula_equals_direct_qp(kappa, rho, horizon, intervals):
    times = np.linspace(0.0, horizon, intervals + 1)
    qp_trades, qp_cost = qp_optimum(10.0, times, kappa, rho)
    trades = ow_discrete_trades(10.0, intervals, horizon, rho)
    assert ow_discrete_cost_usd(10.0, intervals, horizon, kappa, rho) == pytest.approx(qp_cost, rel=1e-9)
    assert ow_discrete_cost_usd(10.0, intervals, horizon, kappa, rho) <= qp_cost * (1 + 1e-12)
    np.testing.assert_allclose(trades, qp_trades, atol=1e-5)
    # and the exact KKT solution of the quadratic form: xi = X G^-1 1 / (1' G^-1 1), G_nm = kappa e^{-rho|t_n-t_m|}
    kernel = kappa * np.exp(-rho * np.abs(times[:, None] - times[None, :]))
    solved = np.linalg.solve(kernel, np.ones(times.size))
    np.testing.assert_allclose(trades, 10.0 * solved / solved.sum(), rtol=1e-10)


def test_continuous_limit():
    costs = [ow_discrete_cost_usd(1.0, n, 1.0, 1.0, 1.0) for n in (1, 4, 16, 64, 256, 4096)]
    assert all(np.diff(costs) < 0)  # more trading times never cost more
    assert costs[-1] == pytest.approx(1 / 3, rel=1e-4)
    assert costs[-1] > 1 / 3
    trades = ow_discrete_trades(1.0, 4096, 1.0, 1.0)
    assert trades[0] == pytest.approx(1 / 3, rel=1e-3)
    assert trades[1] * 4096 == pytest.approx(1 / 3, rel=1e-3)  # interior rate -> rho X / (rho T + 2)


def test_resilience_limits():
    """rho -> 0: impact never decays, every schedule costs kappa X^2/2; rho -> inf: N+1 independent equal blocks."""
    times = np.linspace(0, 1, 6)
    assert ow_discrete_cost_usd(1.0, 5, 1.0, 1.0, 1e-9) == pytest.approx(0.5, rel=1e-8)
    assert transient_cost_usd(np.full(6, 1 / 6), times, 1.0, 1e-12) == pytest.approx(0.5, rel=1e-10)
    np.testing.assert_allclose(ow_discrete_trades(1.0, 5, 1.0, 1e4), 1 / 6, rtol=1e-12)
    assert ow_discrete_cost_usd(1.0, 5, 1.0, 1.0, 1e4) == pytest.approx(1 / 12, rel=1e-12)


def test_cost_vectorised_over_paths_and_extras():
    rng = np.random.default_rng(0)
    trades = rng.uniform(0, 1, (4, 7))
    times = np.sort(rng.uniform(0, 1, 7))
    batch = transient_cost_usd(trades, times, 0.7, 2.0, half_spread_usd=0.01, permanent_usd_per_share2=0.1)
    for path in range(4):
        single = transient_cost_usd(trades[path], times, 0.7, 2.0)
        total = trades[path].sum()
        assert batch[path] == pytest.approx(single + 0.01 * total + 0.1 * total**2 / 2, rel=1e-13)


def test_bad_times_raise():
    with pytest.raises(ValueError, match="one trade time per trade"):
        transient_cost_usd([1.0, 2.0], [0.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="increasing order"):
        transient_cost_usd([1.0, 2.0], [1.0, 0.0], 1.0, 1.0)


# ---- the registry strategy on the slice grid --------------------------------------------------------------------


def test_strategy_cost_equals_formula_on_grid():
    order = Order("X", "buy", 100_000, 1.0, 26)
    params = TransientParams(transient_impact_usd_per_share2=2e-5, resilience_per_day=20.0)
    schedule = obizhaeva_wang(order, market(), params)
    cost = schedule_transient_cost_usd(schedule, market(), params)
    expected = ow_discrete_cost_usd(1e5, 25, 25 * order.slice_days, 2e-5, 20.0)
    assert cost == pytest.approx(expected, rel=1e-12)
    assert schedule.trades_shares[0] == pytest.approx(schedule.trades_shares[-1], rel=1e-12)
    np.testing.assert_allclose(schedule.trades_shares[1:-1], schedule.trades_shares[1], rtol=1e-12)


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_optimum_beats_twap_vwap_and_immediate(side):
    order = Order("X", side, 100_000, 1.0, 39)
    m = market()
    params = TransientParams()
    best = schedule_transient_cost_usd(obizhaeva_wang(order, m, params), m, params)
    for other in (twap(order, m, TWAPParams()), vwap(order, m, NoParams()), immediate(order, m, NoParams())):
        assert best < schedule_transient_cost_usd(other, m, params)
    # immediate = one block: kappa X^2 / 2
    kappa, _ = params.resolve(m)
    assert schedule_transient_cost_usd(immediate(order, m, NoParams()), m, params) == pytest.approx(
        0.5 * kappa * 1e10, rel=1e-12
    )


def test_default_parameters_from_market():
    m = market()
    kappa, rho = TransientParams().resolve(m)
    assert rho == pytest.approx(math.log(2) * 390 / 30, rel=1e-12)  # 30-minute half-life
    assert kappa == pytest.approx(rho * 2.5e-6, rel=1e-12)  # slow constant rate costs eta v^2 per day
    # check the matching: a constant rate v over T costs (kappa v^2/rho)(T - (1 - e^{-rho T})/rho) in continuous
    # time (displacement kappa v (1 - e^{-rho t})/rho), i.e. eta v^2 T less the build-up; fine blocks approximate it
    times = np.linspace(0, 5, 50_001)
    v = 1e5
    cost = transient_cost_usd(np.full(times.size, v * 5 / times.size), times, kappa, rho)
    assert cost == pytest.approx(2.5e-6 * v**2 * (5 - (1 - math.exp(-5 * rho)) / rho), rel=1e-3)


def test_one_slice_is_one_block():
    order = Order("X", "sell", 1000, 0.1, 1)
    schedule = obizhaeva_wang(order, market(), TransientParams())
    np.testing.assert_allclose(schedule.trades_shares, [1000.0])


@pytest.mark.parametrize(
    ("field", "value"), [("transient_impact_usd_per_share2", 0.0), ("resilience_per_day", -1.0)]
)
def test_params_validation(field, value):
    with pytest.raises(ValueError, match="must be > 0"):
        TransientParams(**{field: value})


def test_registry_entry():
    (strategy,) = STRATEGIES
    assert strategy.name == "obizhaeva_wang"
    schedule = strategy.schedule(Order("X", "buy", 1000, 0.5, 10), market(), {"resilience_per_day": 5.0})
    assert schedule.params["resilience_per_day"] == 5.0


def test_uniform_grid_filter_equals_the_step_by_step_recursion():
    """The lfilter shortcut on a uniform grid gives the recursion's cost (a 1e-9 day jitter forces the loop)."""
    rng = np.random.default_rng(0)
    trades = rng.uniform(0, 1, (3, 390))
    times = np.linspace(0, 1, 391)[:-1]
    jittered = times.copy()
    jittered[5] += 1e-9
    np.testing.assert_allclose(
        transient_cost_usd(trades, times, 2.0, 9.0), transient_cost_usd(trades, jittered, 2.0, 9.0), rtol=1e-8
    )
