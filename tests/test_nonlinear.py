"""Static nonlinear-impact allocator: docs/MATH.md section 9 T8, KKT conditions, SLSQP agreement, limits, policy; its
per-slice costs are the market model's separable parts (docs/MATH.md section 11)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optexec import costs as cost_estimates
from optexec.models import MarketParams, Order, flat_volume_profile, slice_market_volume, u_shaped_volume_profile
from optexec.strategies import registry
from optexec.strategies.almgren_chriss import ACParams, ac_discrete
from optexec.strategies.nonlinear import (
    STRATEGIES,
    NonlinearParams,
    NonlinearPolicy,
    PeriodCosts,
    allocate,
    differential_evolution_allocation,
    exact_allocation,
    nonlinear,
    period_costs,
    slsqp_allocation,
    value_at_risk_usd,
    var_limited_allocation,
)
from optexec.strategies.waterfill import (
    project_capped_simplex,
    solve_with_risk,
    waterfill,
    waterfill_batch,
)


def market(profile=None, gamma=2.5e-7, cost_model="calibrated", **kwargs) -> MarketParams:
    """$50, sigma $1/day, 2-cent spread, 5M ADV; the calibrated model (spread + ATHL power law 0.142, 0.6) unless
    said otherwise."""
    return MarketParams(
        50.0, 1.0, 0.02, 5e6, 2.5e-6, gamma, volume_profile=profile or flat_volume_profile(), cost_model=cost_model,
        **kwargs,
    )  # fmt: skip


def random_problem(rng, n, exponent, capped=True, total=100.0):
    """Random a_t, c_t, caps holding 1.2-3x the total (so caps bind somewhere)."""
    a = rng.uniform(0.0, 2.0, n)
    c = rng.uniform(0.2, 3.0, n)
    caps = rng.uniform(0.2, 1.0, n)
    caps *= total * rng.uniform(1.2, 3.0) / caps.sum() if capped else np.inf
    return a, c, caps


def kkt_violation(x, a, c, p, caps, nu):
    """Largest KKT violation relative to nu: g' = nu inside, g'(0) >= nu at 0, g'(cap) <= nu at the cap."""
    slope = a + p * c * x ** (p - 1)
    scale = max(abs(nu), 1.0)
    at_zero = x <= 1e-12 * x.sum()
    at_cap = x >= caps * (1 - 1e-12)
    inside = ~at_zero & ~at_cap
    worst = np.max(np.abs(slope[inside] - nu), initial=0.0)
    worst = max(worst, np.max(nu - slope[at_zero], initial=0.0))
    worst = max(worst, np.max(slope[at_cap] - nu, initial=0.0))
    return worst / scale


# ---- docs/MATH.md section 9 T8 --------------------------------------------------------------------------------------


def test_t8_quadratic():
    result = waterfill(3.0, [1, 2, 3], [1, 1, 1], 2.0)
    np.testing.assert_allclose(result.trades_shares, [1.5, 1.0, 0.5], rtol=0, atol=1e-14)
    assert result.multiplier_usd_per_share == pytest.approx(4.0, abs=1e-14)
    assert result.cost_usd == pytest.approx(8.5, abs=1e-13)


def test_t8_quadratic_with_cap():
    result = waterfill(3.0, [1, 2, 3], [1, 1, 1], 2.0, [1.0, np.inf, np.inf])
    np.testing.assert_allclose(result.trades_shares, [1.0, 1.25, 0.75], rtol=0, atol=1e-14)
    assert result.multiplier_usd_per_share == pytest.approx(4.5, abs=1e-14)


def test_t8_power():
    result = waterfill(7.0, 0.0, [1, 2, 4], 2.0)
    np.testing.assert_allclose(result.trades_shares, [4.0, 2.0, 1.0], rtol=0, atol=1e-14)
    assert result.multiplier_usd_per_share == pytest.approx(8.0, abs=1e-13)
    assert result.cost_usd == pytest.approx(28.0, abs=1e-12)


def test_t8_batch_matches():
    x = waterfill_batch([7.0, 0.0], 0.0, [1, 2, 4], 2.0)
    np.testing.assert_allclose(x, [[4.0, 2.0, 1.0], [0, 0, 0]], atol=1e-14)


# ---- closed forms and derived limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1.5, 1.6, 2.0, 3.0])
def test_power_no_caps_closed_form(p):
    """docs/MATH.md section 6: x_t = S c_t^(-1/(p-1)) / sum_j c_j^(-1/(p-1)), nu = p c_t x_t^(p-1)."""
    c = np.random.default_rng(1).uniform(0.1, 5.0, 40)
    result = waterfill(1000.0, 0.0, c, p)
    weights = c ** (-1 / (p - 1))
    expected = 1000.0 * weights / weights.sum()
    np.testing.assert_allclose(result.trades_shares, expected, rtol=1e-12)
    np.testing.assert_allclose(p * c * expected ** (p - 1), result.multiplier_usd_per_share, rtol=1e-12)


def test_p2_cumulative_closed_form_with_linear_terms():
    """p = 2, no caps, all periods trade: nu = (S + sum a/(2c)) / sum 1/(2c) and x = (nu - a)/(2c)."""
    a = np.array([0.1, 0.3, 0.2, 0.05])
    c = np.array([1.0, 2.0, 0.5, 4.0])
    nu = (10.0 + np.sum(a / (2 * c))) / np.sum(1 / (2 * c))
    result = waterfill(10.0, a, c, 2.0)
    np.testing.assert_allclose(result.trades_shares, (nu - a) / (2 * c), rtol=1e-13)
    assert result.multiplier_usd_per_share == pytest.approx(nu, rel=1e-14)


def test_expensive_period_gets_nothing():
    """A period whose marginal cost at 0 exceeds the optimal nu trades nothing (KKT lower bound)."""
    result = waterfill(1.0, [0.0, 0.0, 100.0], [1.0, 1.0, 1.0], 2.0)
    assert result.trades_shares[2] == 0.0
    np.testing.assert_allclose(result.trades_shares[:2], [0.5, 0.5], rtol=1e-14)


def test_caps_equal_to_total_fill_every_cap():
    result = waterfill(6.0, 0.0, [1.0, 5.0, 9.0], 1.5, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(result.trades_shares, [1.0, 2.0, 3.0])


def test_infeasible_caps_raise_plain_message():
    with pytest.raises(ValueError, match="at most 3 shares"):
        waterfill(10.0, 0.0, [1, 1, 1], 2.0, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("p", [1.0, 0.67])
def test_concave_exponent_refused_by_waterfill(p):
    with pytest.raises(ValueError, match="not convex"):
        waterfill(1.0, 0.0, [1.0, 2.0], p)


# ---- invariants on random instances (hypothesis) ------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    p=st.sampled_from([1.2, 1.5, 1.6, 2.0, 2.5, 4.0]),
    capped=st.booleans(),
    same_linear=st.booleans(),
)
def test_waterfill_kkt_sum_and_caps(seed, n, p, capped, same_linear):
    rng = np.random.default_rng(seed)
    a, c, caps = random_problem(rng, n, p, capped)
    if same_linear:
        a = np.full(n, a[0])
    result = waterfill(100.0, a, c, p, caps)
    x = result.trades_shares
    assert abs(x.sum() - 100.0) <= 1e-9 * 100.0
    assert np.all(x >= 0) and np.all(x <= caps * (1 + 1e-12))
    assert kkt_violation(x, a, c, p, caps, result.multiplier_usd_per_share) < 1e-9
    if same_linear:  # the exact batch solver agrees
        np.testing.assert_allclose(waterfill_batch([100.0], a[0], c, p, caps)[0], x, rtol=1e-9, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from([1.5, 1.6, 2.0, 3.0]))
def test_waterfill_equals_slsqp(seed, p):
    """Water-filling is exact: never above SLSQP, and SLSQP converges to it (1e-6 relative objective)."""
    rng = np.random.default_rng(seed)
    a, c, caps = random_problem(rng, 30, p)
    costs = PeriodCosts(a, c, p, caps)
    exact = waterfill(100.0, a, c, p, caps)
    slsqp = slsqp_allocation(100.0, costs)
    assert exact.cost_usd <= slsqp.cost_usd * (1 + 1e-9)
    assert slsqp.cost_usd == pytest.approx(exact.cost_usd, rel=1e-6)


def test_projection_onto_capped_simplex():
    rng = np.random.default_rng(3)
    caps = rng.uniform(0.5, 2.0, 20)
    y = rng.normal(size=(7, 20))
    x = project_capped_simplex(y, 10.0, caps)
    np.testing.assert_allclose(x.sum(axis=1), 10.0, rtol=1e-12)
    assert np.all(x >= 0) and np.all(x <= caps + 1e-12)
    # Euclidean projection = water-filling of min sum (x - y)^2, i.e. a = -2y, c = 1, p = 2
    for row in range(7):
        exact = waterfill(10.0, -2 * y[row], 1.0, 2.0, caps)
        np.testing.assert_allclose(x[row], exact.trades_shares, atol=1e-9)


def test_differential_evolution_feasible_and_not_better_than_exact():
    rng = np.random.default_rng(5)
    a, c, caps = random_problem(rng, 12, 1.6)
    costs = PeriodCosts(a, c, 1.6, caps)
    exact = waterfill(100.0, a, c, 1.6, caps)
    de = differential_evolution_allocation(100.0, costs, seed=1, max_generations=50, population_factor=5)
    assert de.trades_shares.sum() == pytest.approx(100.0, rel=1e-12)
    assert np.all(de.trades_shares <= caps + 1e-9) and np.all(de.trades_shares >= 0)
    assert de.cost_usd >= exact.cost_usd * (1 - 1e-12)
    assert de.cost_usd == pytest.approx(exact.cost_usd, rel=0.05)  # a crude global method, but in the right place
    again = differential_evolution_allocation(100.0, costs, seed=1, max_generations=50, population_factor=5)
    np.testing.assert_array_equal(de.trades_shares, again.trades_shares)  # fixed seed


# ---- risk term -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 2.5e-7])
def test_linear_model_with_risk_reproduces_almgren_chriss(gamma):
    """Under the linear model the separable parts are eps x + (eta / tau - gamma / 2) x^2 = eps x + (eta~ / tau)
    x^2 (eq 8), so with risk aversion and no binding caps the optimum is AC's discrete sinh schedule (eq 17)."""
    order = Order("X", "sell", 1e6, 5.0, 5)
    table1 = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, gamma)
    params = NonlinearParams(max_participation=1.0, risk_aversion_per_usd=1e-6)
    schedule = nonlinear(order, table1, params)
    expected = ac_discrete(order, table1, ACParams(1e-6, max_participation=1.0))
    # the flat profile gives 1 day of volume per slice: the 100% participation cap (5e6 shares) never binds
    np.testing.assert_allclose(schedule.holdings_shares, expected.holdings_shares, rtol=1e-7, atol=1e-3)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from([1.0, 1.5, 2.0]))
def test_risk_solver_equals_slsqp(seed, p):
    rng = np.random.default_rng(seed)
    a, c, caps = random_problem(rng, 25, p)
    mu = rng.uniform(0.0005, 0.02)
    costs = PeriodCosts(a, c, p, caps, mu)
    exact = solve_with_risk(100.0, a, c, p, caps, mu)
    slsqp = slsqp_allocation(100.0, costs)
    assert exact.trades_shares.sum() == pytest.approx(100.0, rel=1e-12)
    assert np.all(exact.trades_shares <= caps * (1 + 1e-12))
    assert exact.cost_usd <= slsqp.cost_usd * (1 + 1e-9)
    assert exact.cost_usd == pytest.approx(slsqp.cost_usd, rel=1e-6)


def test_risk_solver_with_closed_periods_equals_slsqp():
    """Periods with a zero cap keep the previous holdings, which still carry risk."""
    rng = np.random.default_rng(8)
    a, c, caps = random_problem(rng, 30, 1.6)
    caps[[0, 3, 4, 5, 17, 29]] = 0.0
    caps *= 100.0 * 2.0 / caps.sum()
    costs = PeriodCosts(a, c, 1.6, caps, 0.01)
    exact = solve_with_risk(100.0, a, c, 1.6, caps, 0.01)
    slsqp = slsqp_allocation(100.0, costs)
    assert np.all(exact.trades_shares[caps == 0] == 0)
    assert exact.cost_usd == pytest.approx(float(costs.objective_usd(exact.trades_shares, 100.0)), rel=1e-12)
    assert exact.cost_usd <= slsqp.cost_usd * (1 + 1e-9)
    assert exact.cost_usd == pytest.approx(slsqp.cost_usd, rel=1e-6)


def test_risk_solver_without_risk_is_waterfill():
    rng = np.random.default_rng(11)
    a, c, caps = random_problem(rng, 50, 1.6)
    exact = waterfill(100.0, a, c, 1.6, caps)
    barrier = solve_with_risk(100.0, a, c, 1.6, caps, 0.0)
    assert barrier.cost_usd == pytest.approx(exact.cost_usd, rel=1e-10)
    np.testing.assert_allclose(barrier.trades_shares, exact.trades_shares, atol=1e-6)


def test_risk_front_loads():
    order = Order("X", "buy", 200_000, 1.0, 78)
    m = market(u_shaped_volume_profile())
    neutral = nonlinear(order, m, NonlinearParams())
    averse = nonlinear(order, m, NonlinearParams(risk_aversion_per_usd=1e-5))
    assert np.all(averse.holdings_shares[1:-1] < neutral.holdings_shares[1:-1])


# ---- the market mapping and the registry strategy ----------------------------------------------------------------


@pytest.mark.parametrize("cost_model", ["linear", "linear+transient", "calibrated"])
def test_uniform_volumes_give_twap(cost_model):
    order = Order("X", "buy", 100_000, 0.5, 39)
    schedule = nonlinear(order, market(cost_model=cost_model), NonlinearParams())
    np.testing.assert_allclose(schedule.trades_shares, 100_000 / 39, rtol=1e-10)


def test_calibrated_power_law_gives_vwap_without_binding_caps():
    """The calibrated model's coefficient Y sigma v_t^(-p) makes x_t proportional to v_t (docs/MATH.md section 8 note);
    the linear model's eta / tau does not depend on the volume, so it gives TWAP."""
    order = Order("X", "buy", 100_000, 1.0, 390)
    m = market(u_shaped_volume_profile())
    schedule = nonlinear(order, m, NonlinearParams())
    volume = slice_market_volume(order, m)
    np.testing.assert_allclose(schedule.trades_shares, 100_000 * volume / volume.sum(), rtol=1e-9)
    linear = nonlinear(order, market(u_shaped_volume_profile(), cost_model="linear"), NonlinearParams())
    np.testing.assert_allclose(linear.trades_shares, 100_000 / 390, rtol=1e-9)


def test_the_allocator_minimises_the_cost_the_plan_prices():
    """The allocation's objective is the model's expected cost of the schedule up to a constant (gamma X^2 / 2 in
    the linear model), so the allocator's schedule costs no more than any other schedule worked at a rate."""
    order = Order("X", "buy", 400_000, 1.0, 78)
    for cost_model in ("linear", "calibrated"):
        m = market(u_shaped_volume_profile(), cost_model=cost_model)
        best = cost_estimates.estimate(nonlinear(order, m, NonlinearParams())).expected_usd
        for name in ("twap", "vwap", "ac_discrete", "pov"):
            other = registry.get(name).schedule(order, m, {"risk_aversion_per_usd": 0.0})
            if other.blocks_shares is None:
                assert best <= cost_estimates.estimate(other).expected_usd * (1 + 1e-12)
    # the calibrated model's permanent part -(gamma/2) sum x^2 has another exponent: it is left out, and said so
    left_out = "left out: order-book sweep of blocks (recovering) + linear permanent"
    assert left_out in STRATEGIES[0].optimises_under(market())
    assert "spread + linear temporary + linear permanent" in STRATEGIES[0].optimises_under(market(cost_model="linear"))


def test_caps_bind_and_are_respected():
    order = Order("X", "buy", 200_000, 1.0, 390)
    m = market(u_shaped_volume_profile())
    params = NonlinearParams(max_child_order_shares=1000.0)
    schedule = nonlinear(order, m, params)
    caps = period_costs(order, m, params).caps_shares
    assert np.all(schedule.trades_shares <= caps * (1 + 1e-12))
    assert np.any(schedule.trades_shares >= caps * (1 - 1e-9))  # the 1000-share cap binds somewhere
    assert abs(schedule.trades_shares.sum() - 200_000) <= 1e-9 * 200_000


def test_period_cost_units():
    """calibrated: g_t(x) = eps x + Y sigma x (x / v_t)^p; linear: eps x + (eta / tau - gamma / 2) x^2."""
    order = Order("X", "buy", 10_000, 1.0, 10)
    m = market(power_coefficient=1.0, power_exponent=0.5)
    v = slice_market_volume(order, m)[0]
    power = period_costs(order, m, NonlinearParams())
    x = 0.09 * v
    # Y = 1, sigma_daily = 1/50 = 2%, participation 9%: 60 bp of price per share (docs/MATH.md section 9 T7)
    assert power.exponent == 1.5
    assert power.cost_usd(np.r_[x, np.zeros(9)]) == pytest.approx(0.01 * x + 0.0060 * 50.0 * x, rel=1e-12)
    quad = period_costs(order, market(cost_model="linear"), NonlinearParams())
    expected = 0.01 * x + (2.5e-6 / 0.1 - 0.5 * 2.5e-7) * x**2
    assert quad.cost_usd(np.r_[x, np.zeros(9)]) == pytest.approx(expected, rel=1e-12)


def test_slices_too_long_for_the_linear_model_raise():
    """eta / tau <= gamma / 2: the quadratic part is not convex (eta~ <= 0), as for Almgren–Chriss."""
    with pytest.raises(ValueError, match="slices are too long"):
        nonlinear(Order("X", "buy", 1e5, 100.0, 4), market(cost_model="linear"), NonlinearParams())


def test_order_too_big_for_the_participation_caps_says_it_cannot_respect_them():
    order = Order("X", "buy", 1e6, 0.1, 39)  # 25% of 0.1 day of 5M = 125,000 shares at most
    schedule = nonlinear(order, market(), NonlinearParams())
    # capped at the lowest participation that finishes instead: 1e6 of 500,000 expected shares, 200% of each slice
    np.testing.assert_allclose(schedule.trades_shares, 2.0 * slice_market_volume(order, market()), rtol=1e-9)
    assert "the slices hold at most 125,000 shares at that limit" in schedule.warnings[-1]
    assert "capped at 200%, the lowest participation that finishes" in schedule.warnings[-1]
    assert "cannot respect the max participation of 25%" in schedule.warnings[-1]
    with pytest.raises(ValueError, match="cannot be completed under the caps: they allow at most 39,000 shares"):
        nonlinear(order, market(), NonlinearParams(max_participation=1.0, max_child_order_shares=1000.0))


def test_methods_selectable_on_strategy():
    order = Order("X", "sell", 50_000, 0.25, 20)
    m = market(u_shaped_volume_profile())
    exact = cost_estimates.estimate(nonlinear(order, m, NonlinearParams())).expected_usd
    slsqp = cost_estimates.estimate(nonlinear(order, m, NonlinearParams(method="slsqp"))).expected_usd
    assert slsqp == pytest.approx(exact, rel=1e-6)
    assert exact <= slsqp * (1 + 1e-9)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("method", "newton", "solver method must be one of"),
        ("max_participation", 1.5, "maximum participation must be above 0"),
        ("max_child_order_shares", 0.0, "maximum child order must be > 0"),
        ("risk_aversion_per_usd", -1.0, "risk aversion"),
        ("var_limit_usd", -5.0, "VaR limit must be > 0"),
    ],
)
def test_params_validation(field, value, message):
    with pytest.raises(ValueError, match=message):
        NonlinearParams(**{field: value})


def test_registry_entry_keeps_its_own_risk_aversion():
    """The shared risk aversion does not reach the nonlinear allocator (default 0): its own setting does."""
    (strategy,) = STRATEGIES
    assert strategy.name == "nonlinear" and strategy.shared_settings == ("max_participation",)
    params = strategy.make_params({"risk_aversion_per_usd": 2e-6, "participation_rate": 0.3})
    assert params.risk_aversion_per_usd == 0.0
    assert strategy.make_params({"nonlinear_risk_aversion_per_usd": 2e-6}).risk_aversion_per_usd == 2e-6
    schedule = strategy.schedule(Order("X", "buy", 10_000, 0.5, 13), market(), {"nonlinear_risk_aversion_per_usd": 0.0})
    assert schedule.strategy == "nonlinear"


# ---- VaR limit ------------------------------------------------------------------------------------------------


def var_setup():
    order = Order("X", "buy", 500_000, 1.0, 39)
    m = market(u_shaped_volume_profile())
    permanent = 0.5 * m.gamma_usd_per_share2 * 5e5**2
    return order, m, period_costs(order, m, NonlinearParams(max_participation=1.0)), permanent


def test_var_limit_binding_lands_on_the_limit():
    order, m, costs, permanent = var_setup()
    neutral = exact_allocation(order.shares, costs)
    var0 = value_at_risk_usd(neutral.trades_shares, order.shares, costs, permanent)
    limit = 0.9 * var0
    allocation, lam = var_limited_allocation(order.shares, costs, limit, 0.0, permanent)
    assert lam > 0
    assert value_at_risk_usd(allocation.trades_shares, order.shares, costs, permanent) == pytest.approx(limit, rel=1e-7)
    assert costs.cost_usd(allocation.trades_shares) > costs.cost_usd(neutral.trades_shares)


def test_var_limit_is_min_expected_cost_under_the_limit():
    """Among frontier points meeting the limit, the result has the lowest expected cost (E rises with lambda)."""
    order, m, costs, permanent = var_setup()
    var0 = value_at_risk_usd(exact_allocation(order.shares, costs).trades_shares, order.shares, costs, permanent)
    allocation, lam = var_limited_allocation(order.shares, costs, 0.9 * var0, 0.0, permanent)
    weight = 1.5 * lam * costs.variance_weight_usd2_per_share2
    riskier = PeriodCosts(costs.linear_usd_per_share, costs.coefficient, costs.exponent, costs.caps_shares, weight)
    more = exact_allocation(order.shares, riskier)
    assert costs.cost_usd(more.trades_shares) > costs.cost_usd(allocation.trades_shares)


def test_var_limit_not_binding_and_unreachable():
    order, m, costs, permanent = var_setup()
    allocation, lam = var_limited_allocation(order.shares, costs, 1e12, 0.0, permanent)
    assert lam == 0.0
    with pytest.raises(ValueError, match="cannot be met: the lowest VaR"):
        var_limited_allocation(order.shares, costs, 1.0, 0.0, permanent)


def test_var_limit_via_strategy_warns():
    order, m, costs, permanent = var_setup()
    var0 = value_at_risk_usd(exact_allocation(order.shares, costs).trades_shares, order.shares, costs, permanent)
    schedule = nonlinear(order, m, NonlinearParams(max_participation=1.0, var_limit_usd=0.95 * var0))
    assert any("VaR limit binds" in w for w in schedule.warnings)


# ---- adaptive policy ---------------------------------------------------------------------------------------------


def policy_setup(**kwargs):
    order = Order("X", "buy", 300_000, 1.0, 78)
    m = market(u_shaped_volume_profile())
    return order, m, NonlinearParams(max_participation=0.2, **kwargs)


def run_policy(policy, order, paths, volumes=None):
    remaining = np.full(paths, order.shares)
    traded = []
    for k in range(order.slices):
        realised = None if volumes is None else volumes[..., :k]
        n = policy.trades(k, remaining, realised)
        traded.append(n)
        remaining = remaining - n
    return np.array(traded).T, remaining


@pytest.mark.parametrize("extra", [{}, {"max_child_order_shares": 5000.0}])
def test_policy_without_news_follows_the_static_plan(extra):
    order, m, params = policy_setup(**extra)
    static = nonlinear(order, m, params)
    traded, remaining = run_policy(NonlinearPolicy(order, m, params, 5), order, 3)
    np.testing.assert_allclose(traded, np.tile(static.trades_shares, (3, 1)), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(remaining, 0.0, atol=1e-6)


def test_policy_per_path_remainders_are_exact():
    order, m, params = policy_setup(max_child_order_shares=5000.0)
    policy = NonlinearPolicy(order, m, params, 5)
    policy.trades(0, np.full(2, order.shares))
    remaining = np.array([150_000.0, 60_000.0])
    got = policy.trades(10, remaining)
    tail = period_costs(order, m, params, slice_market_volume(order, m)[10:])
    for path in range(2):
        exact = waterfill(remaining[path], tail.linear_usd_per_share, tail.coefficient, tail.exponent, tail.caps_shares)
        assert got[path] == pytest.approx(exact.trades_shares[0], rel=1e-12)


def test_policy_realised_volume_without_risk_changes_nothing_while_feasible():
    """Impact ~ 1/volume and participation caps ~ volume: the optimum is x_t = min(theta v_t, child cap), the same
    plan at any volume level as long as the caps hold the remainder (derived from the KKT conditions)."""
    order, m, _ = policy_setup()
    params = NonlinearParams(max_participation=0.03, max_child_order_shares=1000.0)
    expected = slice_market_volume(order, m)
    volumes = np.stack([2.0 * expected, 0.5 * expected, expected])
    policy = NonlinearPolicy(order, m, params, 5)
    policy.trades(0, np.full(3, order.shares))
    remaining = np.array([50_000.0, 50_000.0, 50_000.0])
    policy.trades(5, remaining, volumes[:, :5])
    tail = period_costs(order, m, params, expected[5:])
    exact = waterfill(50_000.0, tail.linear_usd_per_share, tail.coefficient, tail.exponent, tail.caps_shares)
    assert np.any(exact.trades_shares >= tail.caps_shares * (1 - 1e-12))  # the child cap binds
    np.testing.assert_allclose(policy._plan, np.tile(exact.trades_shares, (3, 1)), rtol=1e-9, atol=1e-6)
    # at a quarter of the volume the caps (0.03 x volume) cannot hold the remainder: fill caps, rest in the last slice
    policy.trades(0, np.full(1, order.shares))
    policy.trades(5, np.array([50_000.0]), 0.25 * expected[None, :5])
    quarter = period_costs(order, m, params, 0.25 * expected[5:])
    np.testing.assert_allclose(policy._plan[0, :-1], quarter.caps_shares[:-1], rtol=1e-12)
    assert policy._plan[0].sum() == pytest.approx(50_000.0, rel=1e-12)


def test_policy_realised_volume_with_risk_replans():
    """With risk, twice the expected volume (cheaper impact) shifts the impact-risk balance: the re-solved plan is
    exactly the plan for the scaled volumes, and differs from the unscaled one."""
    order, m, params = policy_setup(risk_aversion_per_usd=1e-6)
    expected = slice_market_volume(order, m)
    policy = NonlinearPolicy(order, m, params, 5)
    policy.trades(0, np.full(2, order.shares))
    remaining = np.full(2, 200_000.0)
    policy.trades(5, remaining, np.tile(2.0 * expected[:5], (2, 1)))
    doubled = exact_allocation(200_000.0, period_costs(order, m, params, 2.0 * expected[5:]))
    same = exact_allocation(200_000.0, period_costs(order, m, params, expected[5:]))
    np.testing.assert_allclose(policy._plan[0], doubled.trades_shares, rtol=1e-9, atol=1e-6)
    assert np.max(np.abs(doubled.trades_shares - same.trades_shares)) > 100.0


def test_policy_with_risk_close_to_exact():
    order, m, params = policy_setup(risk_aversion_per_usd=1e-6)
    static = nonlinear(order, m, params)
    traded, remaining = run_policy(NonlinearPolicy(order, m, params, 10), order, 2)
    np.testing.assert_allclose(remaining, 0.0, atol=1e-6)
    np.testing.assert_allclose(traded[0], static.trades_shares, rtol=1e-6, atol=1e-6 * order.shares)
    # more distinct remainders than grid points: plans interpolated between exact ones stay feasible, near-optimal
    policy = NonlinearPolicy(order, m, params, 10, risk_grid_points=3)
    policy.trades(0, np.full(5, order.shares))
    remaining = np.array([200_000.0, 140_000.0, 77_000.0, 110_000.0, 190_000.0])
    policy.trades(10, remaining)
    tail = period_costs(order, m, params, slice_market_volume(order, m)[10:])
    for path in range(5):
        plan = policy._plan[path]
        exact = exact_allocation(remaining[path], tail)
        assert plan.sum() == pytest.approx(remaining[path], rel=1e-12)
        assert np.all(plan >= 0) and np.all(plan <= tail.caps_shares * (1 + 1e-12))
        assert tail.objective_usd(plan, remaining[path]) >= exact.cost_usd * (1 - 1e-9)
        assert tail.objective_usd(plan, remaining[path]) == pytest.approx(exact.cost_usd, rel=1e-3)
        if remaining[path] in (77_000.0, 200_000.0):  # the ends of the grid are solved exactly
            np.testing.assert_allclose(plan, exact.trades_shares, rtol=1e-12, atol=1e-9)


def test_policy_excess_goes_to_last_slice():
    order, m, params = policy_setup()
    policy = NonlinearPolicy(order, m, params, 5)
    policy.trades(0, np.array([order.shares]))
    capacity = period_costs(order, m, params).caps_shares[70:].sum()
    first = policy.trades(70, np.array([capacity + 1000.0]))
    assert first[0] == pytest.approx(period_costs(order, m, params).caps_shares[70], rel=1e-12)
    assert policy.trades(77, np.array([1234.0]))[0] == 1234.0


def test_policy_validation():
    order, m, params = policy_setup()
    with pytest.raises(ValueError, match="k must be >= 1"):
        NonlinearPolicy(order, m, params, 0)
    with pytest.raises(ValueError, match="slice index"):
        NonlinearPolicy(order, m, params, 5).trades(order.slices, np.ones(1))


def test_allocate_rejects_unknown_method():
    costs = PeriodCosts(np.zeros(2), np.ones(2), 2.0, np.full(2, math.inf))
    with pytest.raises(ValueError, match="solver method"):
        allocate(1.0, costs, "simplex")
