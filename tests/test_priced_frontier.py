"""The frontier on the Compare page is priced like the plan's rows (one market model): under the linear model it is
the closed-form Almgren–Chriss frontier, under any other model the plan's own AC point lies on it."""

import dataclasses

import numpy as np
import pytest

import optexec
from optexec.models import MarketParams, Order
from optexec.planning import make_plan, priced_frontier
from optexec.strategies.almgren_chriss import efficient_frontier

#: risk aversions (1/$) of the Table 1 example from TWAP-like to fast (kappa T from about 0.1 to 6)
LAMBDAS = [0.0, 1e-8, 1e-7, 1e-6, 2e-6]


def _row(plan, name):
    return next(row for row in plan.planned if row.strategy.name == name)


def test_under_the_linear_model_it_is_the_closed_form_frontier(table1_order, table1_market):
    """Linear model, no drift, a participation limit that does not bind (ADV 5e6 per day, 1e6 shares over 5 days):
    every point is the closed form of docs/MATH.md section 2, eq 20."""
    plan = make_plan(table1_order, table1_market, {"max_participation": 1.0})
    priced = priced_frontier(plan, LAMBDAS)
    closed = efficient_frontier(table1_order, table1_market, LAMBDAS)
    np.testing.assert_allclose(priced.expected_usd, closed.expected_usd, rtol=1e-9)
    np.testing.assert_allclose(priced.std_usd, closed.std_usd, rtol=1e-9)
    # and no plan's schedule lies below it: at every λ of the curve, no row has a lower E + λ V (the AC optimum
    # minimises it over static schedules under this model)
    dense = priced_frontier(plan)
    best = dense.expected_usd + dense.risk_aversion_per_usd * dense.std_usd**2
    for row in plan.planned:
        objective = row.cost.expected_usd + dense.risk_aversion_per_usd * row.cost.variance_usd2
        assert np.all(objective >= best * (1 - 1e-9)), row.strategy.name


def test_under_the_calibrated_model_the_plans_ac_point_is_on_the_curve():
    """The sample's SYN-LARGE under its calibrated model (power-law temporary, order-book sweep): the closed form
    is the linear model's and misses the plan's AC point; the priced frontier at the plan's λ is that point."""
    order = Order("SYN-LARGE", "buy", 2_000_000, 0.5, 26)  # 40% of ADV: the power law and the linear model part
    plan = optexec.plan(order, risk_aversion_per_usd=2e-6, cost_model="calibrated")
    assert plan.market.cost_model == "calibrated"
    ac = _row(plan, "ac_discrete")
    point = priced_frontier(plan, [plan.risk_aversion_per_usd])
    assert point.expected_usd[0] == pytest.approx(ac.cost.expected_usd, rel=1e-12)
    assert point.std_usd[0] == pytest.approx(ac.cost.std_usd, rel=1e-12)
    closed = efficient_frontier(order, plan.market, [plan.risk_aversion_per_usd])
    assert abs(closed.expected_usd[0] / ac.cost.expected_usd - 1) > 0.01  # the closed form is 9% off here


def test_drift_is_priced_like_the_rows(table1_order, table1_market):
    """With a price drift the rows carry a drift cost; so does the frontier (the closed form is drift-free)."""
    drifting = dataclasses.replace(table1_market, drift_usd_per_day=0.05)
    plan = make_plan(table1_order, drifting, {"max_participation": 1.0, "risk_aversion_per_usd": 1e-6})
    point = priced_frontier(plan, [1e-6])
    assert point.expected_usd[0] == pytest.approx(_row(plan, "ac_discrete").cost.expected_usd, rel=1e-12)
    assert point.expected_usd[0] != pytest.approx(efficient_frontier(table1_order, drifting, [1e-6]).expected_usd[0])


def test_a_binding_participation_limit_is_applied_as_in_the_plan():
    """A limit of 5% of each slice's volume binds on a fast schedule: the curve's point is the capped schedule's."""
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
    order = Order("DEMO", "sell", 1e6, 1.0, 10)
    plan = make_plan(order, market, {"max_participation": 0.05, "risk_aversion_per_usd": 1e-5})
    ac = _row(plan, "ac_discrete")
    assert ac.schedule.warnings  # the cap moved shares
    point = priced_frontier(plan, [1e-5])
    assert point.expected_usd[0] == pytest.approx(ac.cost.expected_usd, rel=1e-12)
