"""Multiscale strategy: docs/MATH.md section 9 T1, T2, section 1.3-1.7 checks, finite-horizon execution and guards."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from optexec.models import MarketParams, Order
from optexec.strategies.almgren_chriss import ACParams, ac_continuous
from optexec.strategies.multiscale import (
    STRATEGIES,
    MultiscaleModel,
    MultiscaleParams,
    MultiscalePolicy,
    core_policy,
    expected_path,
    fast_correction_per_share,
    half_step_factor,
    multiscale,
    order_problem,
    solve_core,
    stepped_path,
)
from optexec.strategies.riccati import (
    LQProblem,
    _guarded_ratio,
    finite_horizon,
    finite_horizon_slow_b,
    no_impact_coefficients,
    riccati_ode_penalty,
    slow_correction_b,
    small_impact_expansion,
    solve_care,
    variance_sensitivity,
)

T1_TOL = 1e-8


def t1_problem(lam: float, beta: float) -> LQProblem:
    """docs/MATH.md section 9 T1: K = 1, gamma = 5, rho = 0.2, kappa = 1, sigma^2 = 0.04."""
    return LQProblem(
        cost_k=1.0,
        impact_gain=lam,
        impact_decay=beta,
        risk_aversion=5.0,
        variance=0.04,
        discount_rate=0.2,
        signal_mean_reversion=1.0,
    )


# ---------------------------------------------------------------- T1: Riccati (docs/MATH.md section 1.3-1.4)


def test_t1_riccati_coefficients_with_impact():
    solution = solve_care(t1_problem(0.1, 0.1))
    expected = {
        "Aqq": 0.4235842127,
        "Aql": -0.1594952273,
        "All": 0.0589802513,
        "Aqx": 0.6512244286,
        "Axl": -0.0760447874,
        "Axx": 0.1882939272,
    }
    for name, value in expected.items():
        assert solution.coefficients[name] == pytest.approx(value, abs=T1_TOL), name
    np.testing.assert_allclose(solution.gain, [-0.3395337354, -0.1535972022, 0.6436199498], atol=T1_TOL)
    assert solution.speed == pytest.approx(0.3395337354, abs=T1_TOL)
    assert solution.aim_per_signal == pytest.approx(1.8955994139, abs=T1_TOL)
    assert solution.aim_per_impact == pytest.approx(-0.4523768515, abs=T1_TOL)


def test_t1_brief_rate_formula_matches_riccati_gain():
    """u* = (1/K)[(lambda - Aqq + lambda Aql) q + (Aql + lambda All) l + (Aqx + lambda Axl) x] (docs/MATH.md §0)."""
    lam = 0.1
    solution = solve_care(t1_problem(lam, 0.1))
    a = solution.coefficients
    brief = [lam - a["Aqq"] + lam * a["Aql"], a["Aql"] + lam * a["All"], a["Aqx"] + lam * a["Axl"]]
    np.testing.assert_allclose(solution.gain, brief, atol=1e-14)


def test_t1_six_scalar_riccati_equations_hold():
    """The CARE solution satisfies the six coefficient equations of docs/MATH.md section 1.3."""
    k, lam, beta, gamma, s2, rho, kappa = 1.0, 0.1, 0.1, 5.0, 0.04, 0.2, 1.0
    solution = solve_care(t1_problem(lam, beta))
    a = solution.coefficients
    aq, al, ax = solution.gain * k
    residuals = [
        rho * a["Aqq"] - (gamma * s2 - aq**2 / k),
        (rho + 2 * beta) * a["All"] - al**2 / k,
        (rho + 2 * kappa) * a["Axx"] - ax**2 / k,
        (rho + beta) * a["Aql"] - (-beta + aq * al / k),
        (rho + kappa) * a["Aqx"] - (1 + aq * ax / k),
        (rho + beta + kappa) * a["Axl"] - al * ax / k,
    ]
    assert max(abs(r) for r in residuals) < 1e-13


def test_t1_no_impact_values_and_closed_form():
    solution = solve_care(t1_problem(0.0, 0.0))
    a = solution.coefficients
    assert a["Aqq"] == pytest.approx(0.3582575695, abs=T1_TOL)
    assert a["Aqx"] == pytest.approx(0.6417424305, abs=T1_TOL)
    assert a["Axx"] == pytest.approx(0.1871969760, abs=T1_TOL)
    assert solution.aim_per_signal == pytest.approx(1.7912878475, abs=T1_TOL)
    speed = a["Aqq"]
    assert solution.aim_per_signal == pytest.approx((1 / 0.2) * (speed + 0.2) / (speed + 0.2 + 1.0), abs=1e-12)
    closed = no_impact_coefficients(t1_problem(0.0, 0.0))
    for name in closed:
        assert a[name] == pytest.approx(closed[name], abs=1e-12)


def test_t1_ill_posed_lambda_2_beta_0_is_refused():
    with pytest.raises(ValueError, match="ill-posed"):
        solve_care(t1_problem(2.0, 0.0))


def test_guard_refuses_growing_position():
    """docs/MATH.md section 1.3: lambda = 5, beta = 0.5 gives positive q feedback (the position grows)."""
    with pytest.raises(ValueError, match="grow without bound"):
        solve_care(t1_problem(5.0, 0.5))


def test_guard_threshold_beta_0_at_rho_lambda_equal_gamma_sigma2():
    """With beta = 0 the problem degenerates when rho lambda >= gamma sigma^2 (= 0.2: lambda >= 1)."""
    solve_care(t1_problem(0.9, 0.0))
    with pytest.raises(ValueError, match="ill-posed"):
        solve_care(t1_problem(1.1, 0.0))


def test_aim_denominator_guard():
    """|denominator| < 1e-6 -> 0 (docs/MATH.md section 0 guards)."""
    assert _guarded_ratio(1.0, 5e-7) == 0.0
    assert _guarded_ratio(1.0, -5e-7) == 0.0
    assert _guarded_ratio(1.0, 2e-6) == pytest.approx(5e5)


def test_riccati_is_optimal_against_perturbed_feedback():
    """Any other linear feedback F + dF costs more: the Lyapunov value of F + dF exceeds P (positive semidefinite)."""
    import scipy.linalg

    problem = t1_problem(0.1, 0.1)
    solution = solve_care(problem)
    _, a, b, q, n, r = problem.matrices()
    rng = np.random.default_rng(0)
    for _ in range(50):
        gain = solution.gain + 0.05 * rng.standard_normal(3)
        closed = a + b @ gain[None, :]
        if np.max(np.linalg.eigvals(closed).real) >= 0:
            continue
        running = q + n @ gain[None, :] + gain[:, None] @ n.T + r * np.outer(gain, gain)
        value = scipy.linalg.solve_continuous_lyapunov(closed.T, -running)
        assert np.min(np.linalg.eigvalsh(value - solution.p)) > -1e-10


# ---------------------------------------------------------------- small-impact expansion (docs/MATH.md section 1.5)


def test_expansion_error_is_second_order_in_theta():
    nominal = t1_problem(0.1, 0.1)
    errors = [small_impact_expansion(nominal, theta).max_abs_error for theta in (0.1, 0.01, 0.001)]
    assert errors[0] < 2e-3
    assert errors[1] / errors[0] == pytest.approx(0.01, rel=0.15)
    assert errors[2] / errors[1] == pytest.approx(0.01, rel=0.05)


def test_expansion_first_order_term_matches_finite_difference_with_k_not_1():
    """A1 = dA/dtheta at 0, checked with K = 2 (the 1/K in A1qx matters there, docs/MATH.md section 1.5)."""
    nominal = LQProblem(2.0, 0.3, 0.2, 5.0, 0.04, 0.2, 1.0)
    theta = 1e-5
    result = small_impact_expansion(nominal, theta)
    zero = no_impact_coefficients(nominal)
    for name in zero:
        slope_exact = (result.exact[name] - zero[name]) / theta
        slope_expansion = (result.expansion[name] - zero[name]) / theta
        assert slope_expansion == pytest.approx(slope_exact, abs=1e-4), name


# ---------------------------------------------------------------- T2 and the fast correction (docs/MATH.md section 1.6)


def test_t2_fast_correction_uses_fast_mean_reversion_not_small_impact_theta():
    change = fast_correction_per_share(0.06, 0.04, epsilon=0.1, gamma=5.0, fast_mean_reversion=1.0, cost_k=1.0)
    assert change == pytest.approx(-0.0100, abs=1e-12)
    wrong = fast_correction_per_share(0.06, 0.04, epsilon=0.1, gamma=5.0, fast_mean_reversion=0.1, cost_k=1.0)
    assert wrong == pytest.approx(-0.1, abs=1e-12)


def test_t2_core_policy_q_coefficient_changes_by_minus_0_01():
    model = MultiscaleModel(half_step_threshold=100.0)  # keep the half-step rule out of this check
    solution = solve_core(model)
    zeros = np.zeros(2)
    q = np.array([0.0, 0.1])

    def q_coefficient(y):
        rate = core_policy(solution, q, zeros, zeros, np.full(2, y), np.full(2, 0.04))
        return (rate[1] - rate[0]) / 0.1

    assert q_coefficient(0.04) == pytest.approx(-solution.exact.speed, abs=1e-12)
    assert q_coefficient(0.06) - q_coefficient(0.04) == pytest.approx(-0.0100, abs=1e-12)


def test_fast_correction_lowers_target_and_speeds_tracking():
    """Heston example of the secondary summary (docs/MATH.md §1.1): vol above its mean -> lower target, faster."""
    solution = solve_core(MultiscaleModel(half_step_threshold=100.0, capacity=10.0))
    x = np.array([0.2])

    def target_and_speed(y):
        at_zero = core_policy(solution, [0.0], [0.0], x, [y], [0.04])[0]
        at_one = core_policy(solution, [0.1], [0.0], x, [y], [0.04])[0]
        speed = (at_zero - at_one) / 0.1
        return at_zero / speed, speed

    target_normal, speed_normal = target_and_speed(0.04)
    target_high, speed_high = target_and_speed(0.09)
    assert speed_high > speed_normal
    assert 0 < target_high < target_normal


# ---------------------------------------------------------------- slow correction (docs/MATH.md section 1.7)


def test_variance_sensitivity_matches_finite_difference():
    h = 1e-6
    up = solve_care(dataclasses.replace(t1_problem(0.1, 0.1), variance=0.04 + h)).p
    down = solve_care(dataclasses.replace(t1_problem(0.1, 0.1), variance=0.04 - h)).p
    np.testing.assert_allclose(variance_sensitivity(solve_care(t1_problem(0.1, 0.1))), (up - down) / (2 * h), atol=1e-8)


def test_slow_correction_b_solves_the_linear_system_of_section_1_7():
    problem = t1_problem(0.1, 0.1)
    solution = solve_care(problem)
    c_z = 0.3
    b = slow_correction_b(solution, c_z)
    d_p = variance_sensitivity(solution)
    d_aqx, d_axl, d_axx = -d_p[0, 2], -d_p[1, 2], -d_p[2, 2]
    k, lam, beta, rho, kappa = 1.0, 0.1, 0.1, 0.2, 1.0
    aq, al, ax = solution.gain * k
    # unknowns Bq, Bl, Bx with b = Bq + lam Bl, written as one 3x3 linear system
    matrix = np.array(
        [
            [rho - aq / k, -lam * aq / k, 0.0],
            [-al / k, rho + beta - lam * al / k, 0.0],
            [-ax / k, -lam * ax / k, rho + kappa],
        ]
    )
    bq, bl, _ = np.linalg.solve(matrix, c_z * np.array([d_aqx, d_axl, d_axx]))
    assert b == pytest.approx(bq + lam * bl, rel=1e-12)
    assert slow_correction_b(solution, 0.0) == 0.0


def test_core_slow_correction_shifts_the_aim_not_the_speed():
    base = solve_core(MultiscaleModel(half_step_threshold=100.0))
    tilted = solve_core(MultiscaleModel(half_step_threshold=100.0, slow_correlation=-0.5))
    z = np.full(2, 0.04)
    q = np.array([0.0, 0.05])
    zeros = np.zeros(2)
    rate_base = core_policy(base, q, zeros, zeros, z, z)
    rate_tilted = core_policy(tilted, q, zeros, zeros, z, z)
    expected_shift = math.sqrt(0.5) * tilted.slow_b_per_unit_cz * (-0.5 * 1.0 * 1.0 * 0.04) / 1.0
    assert abs(expected_shift) > 1e-3
    np.testing.assert_allclose(rate_tilted - rate_base, expected_shift, atol=1e-12)
    np.testing.assert_allclose(rate_base, -base.exact.speed * q, rtol=1e-14)


def test_finite_horizon_slow_b_tends_to_stationary_b():
    problem = t1_problem(0.1, 0.1)
    b_infinite = slow_correction_b(solve_care(problem), 1.0)
    b_finite = finite_horizon_slow_b(finite_horizon(problem, 60.0, 4000))
    assert b_finite[0] == pytest.approx(b_infinite, rel=1e-7)
    assert b_finite[-1] == 0.0


# ---------------------------------------------------------------- half-step rule and core guards


def test_half_step_rule_threshold():
    mu = 0.04
    assert half_step_factor((1.2 * 0.2) ** 2 * 0.999, mu, 1.2) == 1.0
    assert half_step_factor((1.2 * 0.2) ** 2 * 1.001, mu, 1.2) == 0.5


def test_core_half_step_halves_the_rate():
    solution = solve_core(MultiscaleModel())
    q, zeros = np.array([0.3]), np.zeros(1)
    y_low, y_high = 0.0575, 0.0577  # vol 0.2398 and 0.2402 around 1.2 x 0.2
    fast_low = -fast_correction_per_share(y_low, 0.04, 0.1, 5.0, 1.0, 1.0)
    fast_high = -fast_correction_per_share(y_high, 0.04, 0.1, 5.0, 1.0, 1.0)
    speed = solution.exact.speed
    rate_low = core_policy(solution, q, zeros, zeros, [y_low], [0.04])[0]
    rate_high = core_policy(solution, q, zeros, zeros, [y_high], [0.04])[0]
    assert rate_low == pytest.approx(-(speed + fast_low) * 0.3, rel=1e-12)
    assert rate_high == pytest.approx(-0.5 * (speed + fast_high) * 0.3, rel=1e-12)


def test_core_guards_clip_target_rate_and_turnover():
    solution = solve_core(MultiscaleModel(half_step_threshold=100.0))
    speed = solution.exact.speed
    # a strong signal: the unclipped aim 1.9 x 3 is clipped to capacity 1
    rate = core_policy(solution, [0.0], [0.0], [3.0], [0.04], [0.04])[0]
    assert rate == pytest.approx(speed * 1.0, rel=1e-12)
    # very high fast variance: speed > 2/K, so the rate is clipped to 2|gap|/K
    rate = core_policy(solution, [0.2], [0.0], [0.0], [10.0], [0.04])[0]
    assert rate == pytest.approx(-2.0 * 0.2, rel=1e-12)
    # a gap of 1.9 with speed > 2: the 200% turnover cap (2 x capacity) binds
    rate = core_policy(solution, [-0.9], [0.0], [3.0], [10.0], [0.04])[0]
    assert rate == pytest.approx(2.0, rel=1e-12)


def test_theta_guard():
    with pytest.raises(ValueError, match="θ must be below 0.2"):
        MultiscaleModel(small_impact_theta=0.2)
    with pytest.raises(ValueError, match="θ must be below 0.2"):
        MultiscaleParams(small_impact_theta=0.25)
    with pytest.raises(ValueError, match="θ must be below 0.2"):
        MultiscaleParams(small_impact_theta=-0.01)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("risk_aversion_per_usd", -1e-6, "risk aversion"),
        ("fast_scale_epsilon", 0.0, "epsilon"),
        ("current_vol_ratio", 0.0, "current vol"),
        ("half_step_threshold", -1.0, "half-step"),
        ("slow_correlation", 1.5, "slow correlation"),
        ("signal_usd_per_day", float("nan"), "signal"),
        ("persistent_impact_decay_per_day", -0.1, "decay"),
    ],
)
def test_params_validation_messages(field, value, message):
    with pytest.raises(ValueError, match=message):
        MultiscaleParams(**{field: value})


def test_core_model_uses_theta_scaled_impact():
    model = MultiscaleModel()
    assert model.problem().impact_gain == pytest.approx(0.01)
    assert model.problem().impact_decay == pytest.approx(0.01)
    solution = solve_core(model)
    assert solution.expansion.exact == pytest.approx(solution.exact.coefficients, abs=1e-14)
    assert 0 < solution.expansion.max_abs_error < 2e-3  # All = O(theta^2) is the largest: 1.4e-3


# ---------------------------------------------------------------- finite horizon (execution of an order)


@pytest.fixture
def market() -> MarketParams:
    return MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)


@pytest.mark.parametrize(
    "side, shares, horizon_days, slices, risk_aversion",
    [("sell", 1e6, 5.0, 5, 1e-6), ("buy", 2e5, 1.0, 390, 1e-5), ("sell", 5e5, 2.0, 48, 3e-8)],
)
def test_reduces_to_continuous_almgren_chriss(market, side, shares, horizon_days, slices, risk_aversion):
    """lambda = beta = 0 (theta = 0), no signal, constant vol, rho = 0: x(t) = X sinh(k(T-t))/sinh(kT).

    Tolerance: 1e-10 x X (the Hamiltonian solve is exact up to rounding; measured ~2e-14).
    """
    order = Order("DEMO", side, shares, horizon_days, slices)
    params = MultiscaleParams(risk_aversion_per_usd=risk_aversion, small_impact_theta=0.0)
    mine = multiscale(order, market, params).holdings_shares
    theirs = ac_continuous(order, market, ACParams(risk_aversion)).holdings_shares
    np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-10 * shares)


def test_permanent_persistent_impact_does_not_change_the_plan(market):
    """beta = 0 and rho = 0: -int q dl = lambda X^2 / 2 is a constant, so the plan is still AC (derived)."""
    order = Order("DEMO", "sell", 1e6, 5.0, 20)
    params = MultiscaleParams(
        small_impact_theta=0.15, persistent_impact_gain_per_day=3.0, persistent_impact_decay_per_day=0.0
    )
    mine = multiscale(order, market, params).holdings_shares
    theirs = ac_continuous(order, market, ACParams(1e-6)).holdings_shares
    np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-8 * 1e6)


def test_risk_neutral_no_impact_is_twap(market):
    order = Order("DEMO", "buy", 3e5, 1.0, 13)
    mine = multiscale(order, market, MultiscaleParams(risk_aversion_per_usd=0.0, small_impact_theta=0.0))
    np.testing.assert_allclose(mine.trades_shares, 3e5 / 13, rtol=1e-10)


def test_penalty_riccati_ode_converges_to_the_exact_terminal_constraint(market):
    """solve_ivp with terminal penalty M on q: the error in P falls like 1/M (docs/MATH.md section 1.3, finite T)."""
    problem = order_problem(
        Order("DEMO", "sell", 1e6, 5.0, 5),
        market,
        MultiscaleParams(
            small_impact_theta=0.19, persistent_impact_gain_per_day=2.0, persistent_impact_decay_per_day=2.0
        ),
    )
    exact = finite_horizon(problem, 5.0, 500)
    t_eval = exact.times[:-1:50]
    reference = exact.p[:-1:50]
    errors = []
    for penalty_scale in (1e3, 1e5, 1e7):
        penalty = penalty_scale * problem.cost_k / 5.0
        approx = riccati_ode_penalty(problem, 5.0, penalty, t_eval)
        errors.append(np.max(np.abs(approx[:, 0, 0] - reference[:, 0, 0]) / reference[:, 0, 0]))
    assert errors[2] < 2e-6  # measured 8.1e-7
    assert errors[1] / errors[0] == pytest.approx(1e-2, rel=0.05)
    assert errors[2] / errors[1] == pytest.approx(1e-2, rel=0.05)


def _discretised_cost(problem: LQProblem, shares: float, x0: float, horizon: float, u: np.ndarray) -> float:
    """Cost of piecewise-constant rates u_j on a uniform grid, integrals to second order (q, l exact per step)."""
    steps = u.size
    h = horizon / steps
    q = shares + h * np.concatenate([[0.0], np.cumsum(u)])[:-1]
    lam, beta, kappa = problem.impact_gain, problem.impact_decay, problem.signal_mean_reversion
    decay = math.exp(-beta * h)
    l = np.zeros(steps)
    for j in range(steps - 1):
        l[j + 1] = decay * l[j] + lam * u[j] * (1 - decay) / beta
    l_mid = math.exp(-beta * h / 2) * l + lam * u * (1 - math.exp(-beta * h / 2)) / beta
    t = np.arange(steps) * h
    x_mid = x0 * np.exp(-kappa * (t + h / 2))
    q_mid = q + u * h / 2
    running = (
        problem.cost_k / 2 * u**2 * h
        + problem.risk_aversion * problem.variance / 2 * h * (q**2 + q * u * h + u**2 * h**2 / 3)
        - h * q_mid * x_mid
        - lam * u * h * q_mid
        + beta * h * q_mid * l_mid
    )
    return float(running.sum())


def test_finite_horizon_matches_direct_minimisation_with_persistent_impact_and_signal(market):
    """Closed-loop Riccati path = direct BFGS minimisation of the discretised cost (100 steps, lambda, beta > 0).

    Tolerance 2e-4 x X on holdings (measured 2.3e-5: the O(h^2) discretisation); the path differs from AC by ~5%,
    so the check is not vacuous.
    """
    order = Order("DEMO", "sell", 1e6, 5.0, 100)
    params = MultiscaleParams(
        small_impact_theta=0.19,
        persistent_impact_gain_per_day=2.0,
        persistent_impact_decay_per_day=2.0,
        signal_usd_per_day=-0.05,
    )
    problem = order_problem(order, market, params)
    shares, horizon, steps = 1e6, 5.0, 100
    h = horizon / steps
    x0 = MultiscalePolicy(order, market, params).favourable_signal_usd_per_day
    assert x0 == pytest.approx(-0.05)
    scale = 2.5e-6 * shares**2 / horizon

    def objective(free):
        u = np.append(free, -steps - free.sum()) * shares / horizon
        return _discretised_cost(problem, shares, x0, horizon, u) / scale

    result = minimize(objective, np.full(steps - 1, -1.0), method="BFGS", options={"gtol": 1e-10, "maxiter": 3000})
    u = np.append(result.x, -steps - result.x.sum()) * shares / horizon
    direct = shares + h * np.concatenate([[0.0], np.cumsum(u)])
    riccati = finite_horizon(problem, horizon, steps).trajectory([shares, 0.0, x0])[:, 0]
    np.testing.assert_allclose(riccati, direct, rtol=0, atol=2e-4 * shares)
    u_riccati = np.diff(riccati) / h
    assert _discretised_cost(problem, shares, x0, horizon, u_riccati) / scale == pytest.approx(result.fun, rel=1e-6)
    plan = multiscale(order, market, params).holdings_shares
    np.testing.assert_allclose(plan, riccati, atol=1e-6 * shares)
    ac = ac_continuous(order, market, ACParams(1e-6)).holdings_shares
    assert np.max(np.abs(plan - ac)) > 0.02 * shares


def test_finite_horizon_gains_tend_to_the_stationary_gains():
    problem = t1_problem(0.1, 0.1)
    solution = finite_horizon(problem, 80.0, 4000)
    gains = [solution.gain_q_scaled[0] / 80.0, solution.gain_l[0], solution.gain_x[0]]
    np.testing.assert_allclose(gains, solve_care(problem).gain, atol=1e-10)


def test_finite_horizon_refuses_unbounded_cost():
    """rho lambda >> gamma sigma^2 with slow decay: the cost is unbounded over a long horizon (conjugate point)."""
    with pytest.raises(ValueError, match="ill-posed"):
        finite_horizon(LQProblem(1.0, 5.0, 0.1, 5.0, 0.04, 0.2, 1.0), 20.0, 2000)


def test_signal_sign_for_buys_and_sells(market):
    """A rising price favours waiting on a sell and hurrying on a buy; with no signal buy = sell."""

    def holdings(side, signal):
        order = Order("DEMO", side, 1e6, 5.0, 10)
        return multiscale(order, market, MultiscaleParams(signal_usd_per_day=signal)).holdings_shares

    np.testing.assert_allclose(holdings("buy", 0.0), holdings("sell", 0.0), rtol=1e-14)
    assert np.all(holdings("sell", 0.05)[1:-1] > holdings("sell", 0.0)[1:-1])
    assert np.all(holdings("buy", 0.05)[1:-1] < holdings("buy", 0.0)[1:-1])


def test_buy_and_sell_mirror_with_the_slow_correction_on(market):
    """A buy with signal -s and correlation -rho is the mirror of a sell with (s, rho): the same schedule
    (docs/MATH.md 1.7: c_z = rho_xz eta g(z), with the signal and its correlation in price terms)."""
    slow = {"signal_vol_usd_per_day_per_sqrt_day": 0.05, "slow_vol_of_vol_per_sqrt_day": 0.5}

    def holdings(side, signal, correlation):
        params = MultiscaleParams(signal_usd_per_day=signal, slow_correlation=correlation, **slow)
        return multiscale(Order("DEMO", side, 1e6, 5.0, 10), market, params).holdings_shares

    sell = holdings("sell", 0.03, 0.6)
    np.testing.assert_allclose(holdings("buy", -0.03, -0.6), sell, rtol=0, atol=1e-6 * 1e6)
    assert np.max(np.abs(holdings("sell", 0.03, 0.0) - sell)) > 1.0  # the slow correction is really on


# ---------------------------------------------------------------- the feedback policy


def test_policy_reproduces_the_plan_and_ends_flat(market):
    order = Order("DEMO", "sell", 1e6, 5.0, 5)
    policy = MultiscalePolicy(order, market, MultiscaleParams(signal_usd_per_day=0.03))
    exact = expected_path(policy)
    times = policy.solution.times
    y = np.full(times.size, policy.long_run_variance)
    stepped = stepped_path(policy, np.array([1e6, 0.0, policy.favourable_signal_usd_per_day]), y)
    assert stepped["q"][-1] == pytest.approx(0.0, abs=1e-6)
    last_slice = times >= 4.0
    np.testing.assert_allclose(stepped["q"][~last_slice], exact["q"][~last_slice], rtol=0, atol=1e-3 * 1e6)


def test_policy_is_vectorised_and_matches_scalar_calls(market):
    order = Order("DEMO", "buy", 2e5, 1.0, 390)
    policy = MultiscalePolicy(
        order, market, MultiscaleParams(slow_correlation=-0.5, signal_vol_usd_per_day_per_sqrt_day=0.05)
    )
    rng = np.random.default_rng(1)
    n = 1000
    mu = policy.long_run_variance
    q = rng.uniform(0, 2e5, n)
    l = rng.normal(0, 0.01, n)
    x = rng.normal(0, 0.02, n)
    y = mu * rng.uniform(0.5, 2.0, n)
    z = mu * rng.uniform(0.8, 1.2, n)
    vector = policy.rate_shares_per_day(0.37, q, l, x, y, z)
    assert vector.shape == (n,)
    for i in range(0, n, 97):
        assert vector[i] == pytest.approx(float(policy.rate_shares_per_day(0.37, q[i], l[i], x[i], y[i], z[i])))
    times = rng.uniform(0, 1, n)
    per_path_t = policy.rate_shares_per_day(times, q, l, x, y, z)
    assert per_path_t[5] == pytest.approx(float(policy.rate_shares_per_day(times[5], q[5], l[5], x[5], y[5], z[5])))


def test_policy_fast_correction_and_half_step(market):
    order = Order("DEMO", "sell", 1e6, 5.0, 5)
    params = MultiscaleParams()
    policy = MultiscalePolicy(order, market, params)
    mu = policy.long_run_variance
    problem = policy.problem
    base = float(policy.rate_shares_per_day(1.0, 5e5, 0.0, 0.0, mu, mu))
    y = 1.1**2 * mu  # vol 10% above normal: below the half-step threshold
    faster = float(policy.rate_shares_per_day(1.0, 5e5, 0.0, 0.0, y, mu))
    expected_extra = 0.1 * problem.risk_aversion * (y - mu) * 5e5 / (1.0 * problem.cost_k)
    assert faster - base == pytest.approx(expected_extra, rel=1e-12)
    y_high = 1.3**2 * mu
    halved = float(policy.rate_shares_per_day(1.0, 5e5, 0.0, 0.0, y_high, mu))
    full = base + 0.1 * problem.risk_aversion * (y_high - mu) * 5e5 / problem.cost_k
    assert halved == pytest.approx(0.5 * full, rel=1e-12)
    # in the last decision step the policy finishes the order, half-step or not
    assert float(policy.rate_shares_per_day(4.5, 1e5, 0.0, 0.0, y_high, mu)) == pytest.approx(1e5 / 0.5)


def test_policy_slow_correction_matches_b_path(market):
    order = Order("DEMO", "sell", 1e6, 5.0, 5)
    params = MultiscaleParams(
        slow_correlation=-0.6, signal_vol_usd_per_day_per_sqrt_day=0.1, slow_vol_of_vol_per_sqrt_day=0.2
    )
    policy = MultiscalePolicy(order, market, params)
    plain = MultiscalePolicy(order, market, dataclasses.replace(params, slow_correlation=0.0))
    mu = policy.long_run_variance
    t = policy.solution.times[400]
    difference = float(policy.rate_shares_per_day(t, 3e5, 0.0, 0.0, mu, mu)) - float(
        plain.rate_shares_per_day(t, 3e5, 0.0, 0.0, mu, mu)
    )
    b = finite_horizon_slow_b(policy.solution)[400]
    c_z = -0.6 * 0.1 * 0.2 * mu
    assert difference == pytest.approx(-math.sqrt(0.5) * c_z * b / policy.problem.cost_k, rel=1e-9)
    assert difference != 0.0


# ---------------------------------------------------------------- the registry strategy


def test_strategy_object_and_settings(market):
    (strategy,) = STRATEGIES
    assert strategy.name == "multiscale" and strategy.params_type is MultiscaleParams
    params = strategy.make_params({"risk_aversion_per_usd": 2e-6, "participation_rate": 0.2})
    assert params.risk_aversion_per_usd == 2e-6
    schedule = strategy.schedule(Order("DEMO", "sell", 1e6, 5.0, 5), market, {"risk_aversion_per_usd": 2e-6})
    assert schedule.strategy == "multiscale"
    assert schedule.holdings_shares[0] == 1e6 and schedule.holdings_shares[-1] == 0


@pytest.mark.parametrize("shares, horizon_days, slices", [(1e6, 5.0, 5), (1e6, 1.0, 390), (5e4, 0.25, 30)])
def test_default_plans_are_sensible(market, shares, horizon_days, slices):
    """Table 1 and intraday orders: front-loaded, monotone, no warnings, close to AC (persistent impact is small)."""
    order = Order("DEMO", "sell", shares, horizon_days, slices)
    schedule = multiscale(order, market, MultiscaleParams())
    trades = schedule.trades_shares
    assert schedule.warnings == ()
    assert np.all(trades > 0)
    assert np.all(np.diff(trades) <= 1e-9 * shares)
    ac = ac_continuous(order, market, ACParams()).holdings_shares
    assert np.max(np.abs(schedule.holdings_shares - ac)) < 0.01 * shares


def test_high_vol_start_warns_and_slows_the_first_slices(market):
    order = Order("DEMO", "sell", 1e6, 1.0, 78)
    calm = multiscale(order, market, MultiscaleParams())
    stressed = multiscale(order, market, MultiscaleParams(current_vol_ratio=1.6))
    assert any("half-step" in w for w in stressed.warnings)
    assert stressed.trades_shares[0] < 0.6 * calm.trades_shares[0]
    assert stressed.holdings_shares[-1] == 0.0


def test_ill_posed_order_reports_a_plain_error(market):
    order = Order("DEMO", "sell", 1e6, 20.0, 20)
    params = MultiscaleParams(
        discount_rate_per_day=0.5,
        small_impact_theta=0.19,
        persistent_impact_gain_per_day=100.0,
        persistent_impact_decay_per_day=0.05,
        risk_aversion_per_usd=1e-8,
    )
    with pytest.raises(ValueError, match="ill-posed"):
        multiscale(order, market, params)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    risk_aversion=st.floats(1e-8, 1e-5),
    horizon=st.floats(0.1, 10.0),
    slices=st.integers(1, 60),
    theta=st.floats(0.0, 0.19),
    gain=st.floats(0.0, 2.0),
    decay=st.floats(0.0, 5.0),
)
def test_plans_trade_the_whole_order_monotonically(market, risk_aversion, horizon, slices, theta, gain, decay):
    """Without a signal and with rho = 0 a plan sells down monotonically and ends flat (hypothesis)."""
    order = Order("DEMO", "sell", 1e6, horizon, slices)
    params = MultiscaleParams(
        risk_aversion_per_usd=risk_aversion,
        small_impact_theta=theta,
        persistent_impact_gain_per_day=gain,
        persistent_impact_decay_per_day=decay,
    )
    holdings = multiscale(order, market, params).holdings_shares
    assert holdings[0] == 1e6 and holdings[-1] == 0.0
    assert np.all(np.diff(holdings) <= 1e-9 * 1e6)


# ---------------------------------------------------------------- the simulator runs the planned schedule


def test_the_simulated_policy_is_the_planned_schedule_when_the_participation_limit_binds():
    """Constant volatility and no signal: the multiscale feedback trades, on every path of the default noisy
    market (volume and spread noise, liquidity regimes), the schedule the plan prices, participation limit
    included (docs/MATH.md section 11, the simulator). Its rate alone trades 6.6% of the order in the first slice
    of this order instead of the capped 1.5%; so simulated it cost 63% more than the plan on the SPY check."""
    from optexec.monte_carlo import SimulationConfig, run_schedule, simulate_strategies
    from optexec.simulation.market import MarketModel, generate_market_paths
    from optexec.strategies import registry

    market = MarketParams.from_rules_of_thumb(150.0, 1.5, 0.01, 6e7, cost_model="calibrated")
    order = Order("DEMO", "sell", 5.9e6, 3 / 6.5, 78, start_minutes_after_open=60)
    params = MultiscaleParams(risk_aversion_per_usd=1e-6)
    schedule = multiscale(order, market, params)
    assert any("capped" in warning for warning in schedule.warnings)  # the limit binds on this order
    uncapped = expected_path(MultiscalePolicy(order, market, params))["q"]
    stride = (uncapped.size - 1) // order.slices
    assert order.shares - uncapped[stride] > 2 * schedule.trades_shares[0]  # the rate alone trades faster
    strategy = registry.get("multiscale")
    config = SimulationConfig(paths=400, seed=3, model=MarketModel(), sample_paths=400)
    result = simulate_strategies(order, market, [strategy], {"risk_aversion_per_usd": 1e-6}, config)
    (run,) = result.runs
    assert run.kind == "policy"
    np.testing.assert_allclose(
        run.sample_holdings_shares, np.broadcast_to(schedule.holdings_shares, run.sample_holdings_shares.shape),
        rtol=0, atol=1e-9 * order.shares,
    )  # fmt: skip
    paths = generate_market_paths(order, market, config.model, config.paths, config.seed)
    static_cost = run_schedule(schedule, market, paths, 0)[0]
    np.testing.assert_allclose(run.cost_usd, static_cost, rtol=1e-9, atol=1e-6)
