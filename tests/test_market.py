"""The one market model (optexec.market, docs/MATH.md section 11): every component's static expected cost equals the
sum of its slice charges, the transient sum equals the Obizhaeva–Wang values, and costs do not depend on the grid."""

import dataclasses
import math

import numpy as np
import pytest

from optexec import constants
from optexec.market import (
    SliceStep,
    StaticTrades,
    conditional_value_at_risk_usd,
    cost_model,
    expected_cost,
    value_at_risk_usd,
)
from optexec.models import MarketParams, Order, Schedule, u_shaped_volume_profile
from optexec.strategies.transient import ow_continuous, ow_discrete_cost_usd

MODELS = ("linear", "linear+transient", "calibrated")


def _market(model: str, **extra) -> MarketParams:
    base = MarketParams(
        50.0, 1.0, 0.02, 2e6, 1e-6, 1e-7, volume_profile=u_shaped_volume_profile(), cost_model=model, **extra
    )
    if model == "calibrated":
        return dataclasses.replace(base, transient_strength_usd_per_share2=5e-5, transient_decay_per_day=40.0)
    return base


def _stepped(schedule: Schedule) -> dict[str, float]:
    """The slice charges of a static schedule on one path with the expected volume and a constant spread."""
    model = cost_model(schedule.market)
    trades, blocks = schedule.trades_shares, schedule.block_trades_shares
    volume = schedule.market_volume_shares
    totals = dict.fromkeys(("spread", "temporary", "permanent", "transient"), 0.0)
    level, done = np.zeros(1), 0.0
    for k in range(schedule.order.slices):
        step = SliceStep(
            block_shares=np.array([blocks[k]]),
            worked_shares=np.array([trades[k] - blocks[k]]),
            crossing_shares=np.array([trades[k]]),
            volume_shares=np.array([volume[k]]),
            spread_usd=np.array([schedule.market.spread_usd]),
            done_before_shares=np.array([done]),
            transient_usd=level,
            slice_days=schedule.order.slice_days,
        )
        charges, level = model.charge(step)
        for name, value in charges.items():
            totals[name] += float(np.sum(value))
        done += trades[k]
    return totals


@pytest.mark.parametrize("model", MODELS)
def test_static_expected_cost_is_the_sum_of_the_slice_charges(model):
    order = Order("X", "buy", 150_000, 0.5, 39)
    rng = np.random.default_rng(3)
    trades = rng.dirichlet(np.ones(order.slices)) * order.shares
    blocks = trades * rng.uniform(0, 1, order.slices) * (rng.uniform(size=order.slices) < 0.3)
    schedule = Schedule.from_trades("test", order, _market(model), trades, blocks_shares=blocks)
    expected = expected_cost(schedule).buckets_usd
    stepped = _stepped(schedule)
    for name in stepped:
        assert float(expected[name]) == pytest.approx(stepped[name], rel=1e-10, abs=1e-9), name
    assert stepped["transient"] > 0  # blocks move the book in every model


@pytest.mark.parametrize("slices", [24, 78, 390])
def test_memoryless_models_keep_the_book_a_block_sweeps(slices):
    """Linear model (docs/MATH.md section 11): worked flow alone leaves the book as it is; a block b at the start
    costs kappa b^2 / 2 and the rate u that works the rest over T then pays what is left of its displacement,
    u kappa b (1 - e^{-rho T}) / rho, on any grid (a sweep without that memory was a second, free pool of liquidity)."""
    market = _market("linear")
    kappa, rho = market.transient_strength, market.transient_decay
    order = Order("X", "buy", 40_000, 2 / 6.5, slices)
    twap = Schedule.from_trades("twap", order, market, np.full(slices, order.shares / slices))
    assert float(expected_cost(twap).buckets_usd["transient"]) == 0.0
    block = 10_000.0
    worked = np.full(slices, (order.shares - block) / slices)
    blocks = np.zeros(slices)
    blocks[0] = block
    schedule = Schedule.from_trades("ow-like", order, market, worked + blocks, blocks_shares=blocks)
    rate = (order.shares - block) / order.horizon_days
    recovered = -math.expm1(-rho * order.horizon_days) / rho
    want = 0.5 * kappa * block**2 + rate * kappa * block * recovered
    assert float(expected_cost(schedule).buckets_usd["transient"]) == pytest.approx(want, rel=1e-12)
    # and the same worked flow without the block pays only its linear temporary cost
    buckets = expected_cost(schedule).buckets_usd
    eta_cost = market.eta_usd_day_per_share2 * rate**2 * order.horizon_days
    assert float(buckets["temporary"]) == pytest.approx(eta_cost, rel=1e-12)


def test_linear_model_reproduces_almgren_chriss_table1(table1_order, table1_market):
    """T4 (docs/MATH.md section 9): the AC optimum at lambda = 1e-6, E = 911,226.99 and V = 3.641286e11."""
    holdings = np.array([1e6, 541955.55, 289854.22, 147897.49, 62141.80, 0.0])
    schedule = Schedule.from_holdings("ac", table1_order, table1_market, holdings)
    cost = expected_cost(schedule)
    assert float(cost.expected_usd) == pytest.approx(911_226.99, rel=1e-6)
    assert float(cost.variance_usd2) == pytest.approx(3.641286e11, rel=1e-6)


def test_transient_sum_matches_obizhaeva_wang_for_blocks():
    """Blocks only: the model's transient sum is the exponential-kernel sum of docs/MATH.md section 4, and on the OW
    optimum it is the published discrete cost (T6: kappa = 1, rho T = 1, N = 4 intervals gives 0.33390944)."""
    order = Order("X", "buy", 1.0, 5.0, 5)  # child orders at t_0..t_4: four intervals of 1 day
    a = math.exp(-0.25)
    x0 = 1.0 / (3 * (1 - a) + 2)
    trades = np.array([x0, x0 * (1 - a), x0 * (1 - a), x0 * (1 - a), x0])
    market = MarketParams(
        10.0, 0.0, 0.0, 1e6, 1e-9, 0.0, cost_model="linear+transient", transient_strength_usd_per_share2=1.0,
        transient_decay_per_day=0.25,
    )  # fmt: skip
    schedule = Schedule.from_trades("ow", order, market, trades, blocks_shares=trades)
    transient = float(expected_cost(schedule).buckets_usd["transient"])
    assert transient == pytest.approx(ow_discrete_cost_usd(1.0, 4, 4.0, 1.0, 0.25), rel=1e-12)
    assert transient == pytest.approx(0.33390944, rel=1e-7)
    # blocks at 0 and T with a constant rate between (continuous OW over T = 4 days): kappa X^2 / (rho T + 2)
    ow = ow_continuous(1.0, 4.0, 1.0, 0.25)
    blocks = np.array([ow.block_shares, 0.0, 0.0, 0.0, ow.block_shares])
    continuous = blocks + np.array([1.0, 1.0, 1.0, 1.0, 0.0]) * ow.rate_shares_per_day
    schedule = Schedule.from_trades("ow", order, market, continuous, blocks_shares=blocks)
    transient = float(expected_cost(schedule).buckets_usd["transient"])
    assert transient == pytest.approx(ow.transient_cost_usd, rel=1e-12)


def test_transient_of_a_steady_rate_is_the_almgren_chriss_temporary_cost():
    """kappa = rho eta (the default strength): a constant rate v over T costs int v D dt with
    D(t) = (kappa v / rho)(1 - e^{-rho t}), i.e. eta v^2 (T - (1 - e^{-rho T}) / rho): the linear temporary cost
    eta v^2 T less the build-up (docs/MATH.md section 4 default)."""
    market = MarketParams(50.0, 1.0, 0.02, 2e6, 1e-6, 0.0, cost_model="linear+transient")
    order = Order("X", "buy", 200_000, 5.0, 390 * 5)
    schedule = Schedule.from_trades("twap", order, market, np.full(order.slices, order.shares / order.slices))
    buckets = expected_cost(schedule).buckets_usd
    rate = order.shares / order.horizon_days
    steady = market.eta_usd_day_per_share2 * rate**2 * order.horizon_days
    rho_t = market.transient_decay * order.horizon_days
    assert float(buckets["transient"]) == pytest.approx(steady * (1 + math.expm1(-rho_t) / rho_t), rel=1e-9)
    assert float(buckets["temporary"]) == pytest.approx(steady, rel=1e-9)


@pytest.mark.parametrize("model", MODELS)
def test_costs_of_a_schedule_defined_in_time_do_not_depend_on_the_grid(model):
    """TWAP (worked) and an immediate block of the same 2-hour buy at 24, 78 and 390 slices (issue 13, item 4)."""
    market = _market(model)
    costs_twap, costs_block = [], []
    for slices in (24, 78, 390):
        order = Order("X", "buy", 40_000, 2 / 6.5, slices)
        twap = Schedule.from_trades("twap", order, market, np.full(slices, order.shares / slices))
        trades = np.zeros(slices)
        trades[0] = order.shares
        block = Schedule.from_trades("immediate", order, market, trades, blocks_shares=trades)
        costs_twap.append(float(expected_cost(twap).expected_usd))
        costs_block.append(float(expected_cost(block).expected_usd))
    assert max(costs_block) - min(costs_block) <= 1e-9 * max(costs_block)
    # TWAP: discretisation error only (the profile is resampled; the permanent term carries gamma X^2 / (2N))
    assert max(costs_twap) / min(costs_twap) - 1 < 0.02
    assert abs(costs_twap[2] - costs_twap[1]) < abs(costs_twap[1] - costs_twap[0]) + 1e-9 * costs_twap[0]


def test_a_block_sweeps_the_book_the_linear_impact_comes_from():
    """A block b pays kappa b^2 / 2 with kappa = rho eta (docs/MATH.md sections 4 and 11): the same as the transient
    component's first block, and under the linear model as under linear+transient."""
    market = MarketParams(100.0, 2.0, 0.0, 1e6, 1e-6, 0.0)
    order = Order("X", "buy", 90_000, 1.0, 4)
    trades = np.array([order.shares, 0.0, 0.0, 0.0])
    costs = {}
    for model in ("linear", "linear+transient"):
        schedule = Schedule.from_trades("immediate", order, dataclasses.replace(market, cost_model=model), trades,
                                        blocks_shares=trades)  # fmt: skip
        costs[model] = expected_cost(schedule).buckets_usd
    kappa = market.transient_decay * market.eta_usd_day_per_share2
    for model in ("linear", "linear+transient"):
        assert float(costs[model]["transient"]) == pytest.approx(0.5 * kappa * order.shares**2, rel=1e-12)
        assert float(costs[model]["temporary"]) == 0.0  # no double charge of the block


def test_immediate_is_not_cheaper_than_the_almgren_chriss_optimum_of_its_own_model(table1_order, table1_market):
    """Table 1: under the linear model the immediate block costs more than the AC optimum's E + lambda V (the
    optimum is the cheapest mean-variance plan of that model, docs/MATH.md section 2)."""
    trades = np.zeros(5)
    trades[0] = table1_order.shares
    block = expected_cost(Schedule.from_trades("immediate", table1_order, table1_market, trades, blocks_shares=trades))
    assert float(block.expected_usd) > 1_275_355.56  # E + lambda V of the AC optimum at lambda = 1e-6 (T4)


def test_separable_parts_price_like_the_model_and_their_marginals_are_gradients():
    market = _market("calibrated")
    order = Order("X", "buy", 100_000, 1.0, 13)
    schedule = Schedule.from_trades("t", order, market, np.full(13, order.shares / 13))
    model = cost_model(market)
    parts, left_out = model.separable(schedule.market_volume_shares, order.slice_days)
    assert left_out == ["TransientImpact"]
    trades = np.random.default_rng(1).uniform(1e3, 2e4, 13)
    separable = sum(float(p.cost_usd(trades)) for p in parts)
    priced = model.expected(StaticTrades(trades, np.zeros(13), order.slice_days, schedule.market_volume_shares,
                                         float(trades.sum())), 1)  # fmt: skip
    buckets = priced.buckets_usd
    constant = 0.5 * market.gamma_usd_per_share2 * trades.sum() ** 2
    assert separable + constant == pytest.approx(float(buckets["spread"] + buckets["temporary"] + buckets["permanent"]))
    for part in parts:
        h = 1e-3
        bump = np.zeros(13)
        bump[4] = h
        numeric = (float(part.cost_usd(trades + bump)) - float(part.cost_usd(trades - bump))) / (2 * h)
        assert float(part.marginal_usd_per_share(trades)[4]) == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_value_at_risk_and_conditional_value_at_risk_of_a_normal_cost():
    assert constants.normal_quantile(0.95) == pytest.approx(1.6448536269514722, rel=1e-12)
    assert value_at_risk_usd(100.0, 400.0) == pytest.approx(100 + 1.6448536269514722 * 20, rel=1e-12)
    draws = np.random.default_rng(0).normal(100.0, 20.0, 2_000_000)
    tail = draws[draws >= np.quantile(draws, 0.95)].mean()
    assert conditional_value_at_risk_usd(100.0, 400.0) == pytest.approx(tail, rel=2e-3)
    with pytest.raises(ValueError, match="confidence"):
        value_at_risk_usd(1.0, 1.0, 1.0)


def test_a_block_larger_than_its_child_order_is_refused(table1_order, table1_market):
    trades = np.full(5, 2e5)
    with pytest.raises(ValueError, match="blocks larger"):
        Schedule.from_trades("t", table1_order, table1_market, trades, blocks_shares=trades * 1.5)
    with pytest.raises(ValueError, match="cost model"):
        dataclasses.replace(table1_market, cost_model="quadratic")
