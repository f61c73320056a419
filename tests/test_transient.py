"""Obizhaeva–Wang transient impact: docs/MATH.md section 9 T6, a direct QP, limits and the slice-grid mapping; the
transient cost of any schedule is the market model's (optexec.market.TransientImpact)."""

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import minimize

from optexec import costs
from optexec.market import StaticTrades, TransientImpact
from optexec.market import expected_cost as model_cost
from optexec.models import MarketParams, Order, u_shaped_volume_profile
from optexec.strategies.benchmarks import NoParams, TWAPParams, immediate, twap, vwap
from optexec.strategies.transient import (
    STRATEGIES,
    TransientParams,
    obizhaeva_wang,
    ow_continuous,
    ow_discrete_cost_usd,
    ow_discrete_trades,
)


def schedule_transient_cost_usd(schedule, market):
    """The transient bucket of a schedule priced under the one model with transient impact (optexec.market)."""
    priced = dataclasses.replace(schedule, market=dataclasses.replace(market, cost_model="linear+transient"))
    return costs.estimate(priced).transient_usd


def market(**kwargs) -> MarketParams:
    return MarketParams(
        50.0, 1.0, 0.02, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile(), cost_model="linear+transient",
        **kwargs,
    )  # fmt: skip


def transient_cost_usd(trades, times, kappa, rho):
    """The market model's transient cost of blocks at equally spaced times (``times`` t_0, t_0 + tau, ...)."""
    trades = np.asarray(trades, dtype=float)
    tau = float(times[1] - times[0]) if len(times) > 1 else 1.0
    static = StaticTrades(trades, trades, tau, np.ones(trades.shape[-1]), float(np.sum(trades, axis=-1).max()))
    return TransientImpact(kappa, rho).expected_usd(static)


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


# ---- the registry strategy on the slice grid --------------------------------------------------------------------


@pytest.mark.parametrize("slices", [2, 26, 390])
def test_strategy_cost_is_the_continuous_optimum_over_the_grid(slices):
    """Blocks at the start of the first and last slice and a constant rate between: the market model's transient
    cost is exactly the continuous OW cost kappa X^2 / (rho T' + 2) over T' = (N - 1) tau (module docstring)."""
    order = Order("X", "buy", 100_000, 1.0, slices)
    m = market(transient_strength_usd_per_share2=2e-5, transient_decay_per_day=20.0)
    schedule = obizhaeva_wang(order, m, TransientParams(max_participation=1.0))
    horizon = (slices - 1) * order.slice_days
    ow = ow_continuous(1e5, horizon, 2e-5, 20.0)
    assert float(model_cost(schedule).buckets_usd["transient"]) == pytest.approx(ow.transient_cost_usd, rel=1e-10)
    assert schedule_transient_cost_usd(schedule, m) == pytest.approx(ow.transient_cost_usd, rel=1e-10)
    blocks = schedule.blocks_shares
    assert blocks[0] == pytest.approx(ow.block_shares, rel=1e-12) and blocks[-1] == pytest.approx(blocks[0])
    np.testing.assert_allclose(blocks[1:-1], 0.0)
    worked = schedule.trades_shares - blocks
    np.testing.assert_allclose(worked[:-1], ow.rate_shares_per_day * order.slice_days, rtol=1e-12)
    assert worked[-1] == pytest.approx(0.0, abs=1e-6)


def test_strategy_cost_converges_to_the_continuous_optimum():
    """As the grid is refined the strategy's transient cost falls to kappa X^2 / (rho T + 2), with an error
    kappa X^2 rho tau / (rho T + 2)^2 to first order."""
    m = market(transient_strength_usd_per_share2=2e-5, transient_decay_per_day=20.0)
    limit = ow_continuous(1e5, 1.0, 2e-5, 20.0).transient_cost_usd
    errors = []
    for slices in (24, 78, 390, 1560):
        schedule = obizhaeva_wang(Order("X", "buy", 100_000, 1.0, slices), m, TransientParams(max_participation=1.0))
        errors.append(float(model_cost(schedule).buckets_usd["transient"]) / limit - 1.0)
        assert errors[-1] == pytest.approx(20.0 / slices / 22.0, rel=0.1)
    assert all(np.diff(errors) < 0) and errors[-1] > 0


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_optimum_beats_twap_vwap_and_immediate(side):
    order = Order("X", side, 100_000, 1.0, 39)
    m = market()
    best = schedule_transient_cost_usd(obizhaeva_wang(order, m, TransientParams()), m)
    for other in (twap(order, m, TWAPParams()), vwap(order, m, NoParams()), immediate(order, m, NoParams())):
        assert best < schedule_transient_cost_usd(other, m)
    # immediate = one block: kappa X^2 / 2
    assert schedule_transient_cost_usd(immediate(order, m, NoParams()), m) == pytest.approx(
        0.5 * m.transient_strength * 1e10, rel=1e-12
    )


def test_kappa_and_rho_are_the_markets():
    m = market()
    assert m.transient_decay == pytest.approx(math.log(2) * 390 / 30, rel=1e-12)  # 30-minute half-life
    assert m.transient_strength == pytest.approx(m.transient_decay * 2.5e-6, rel=1e-12)  # kappa = rho eta
    schedule = obizhaeva_wang(Order("X", "buy", 1000, 0.5, 10), m, TransientParams())
    assert schedule.params["resilience_per_day"] == m.transient_decay
    assert schedule.params["transient_impact_usd_per_share2"] == m.transient_strength
    fitted = market(transient_decay_per_day=3.0)
    slower = obizhaeva_wang(Order("X", "buy", 1000, 0.5, 10), fitted, TransientParams())
    assert slower.blocks_shares[0] == pytest.approx(1000 / (3.0 * 0.45 + 2), rel=1e-12)


def test_default_strength_makes_a_slow_rate_cost_the_linear_temporary_cost():
    """kappa = rho eta: a constant rate v over T costs (kappa v^2/rho)(T - (1 - e^{-rho T})/rho) in continuous
    time, i.e. eta v^2 T less the build-up (the model prices a constant rate exactly on any grid)."""
    m = market()
    order = Order("X", "buy", 5e5, 5.0, 50)
    cost = schedule_transient_cost_usd(twap(order, m, TWAPParams(max_participation=1.0)), m)
    v, rho = 1e5, m.transient_decay
    assert cost == pytest.approx(2.5e-6 * v**2 * (5 - (1 - math.exp(-5 * rho)) / rho), rel=1e-12)


def test_one_slice_is_one_block():
    order = Order("X", "sell", 1000, 0.1, 1)
    schedule = obizhaeva_wang(order, market(), TransientParams())
    np.testing.assert_allclose(schedule.trades_shares, [1000.0])
    np.testing.assert_allclose(schedule.blocks_shares, [1000.0])


def test_params_validation():
    with pytest.raises(ValueError, match="maximum participation"):
        TransientParams(max_participation=0.0)


def test_registry_entry():
    (strategy,) = STRATEGIES
    assert strategy.name == "obizhaeva_wang"
    assert "kappa and rho" in strategy.optimises_under(market())
    schedule = strategy.schedule(Order("X", "buy", 1000, 0.5, 10), market(), {"max_participation": 0.5})
    assert schedule.params["max_participation"] == 0.5
