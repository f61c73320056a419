"""The multi-asset Almgren–Chriss solver and the basket risk (docs/MATH.md sections 2, 9 and 10).

Checks against the single-asset closed form (Table 1 of Almgren & Chriss 2000), the uncorrelated limit, a perfect
hedge, a direct numerical minimisation of E + lambda V (scipy), and additivity of the risk contributions.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from optexec import costs
from optexec.baskets import solve
from optexec.baskets.correlation import Correlation
from optexec.baskets.input import BasketRow
from optexec.baskets.markets import OrderMarket
from optexec.baskets.plan import INDEPENDENT, JOINT, TWAP, plan_orders
from optexec.baskets.risk import basket_risk, covariance
from optexec.models import MarketParams, Order
from optexec.strategies.almgren_chriss import ACParams, ac_discrete

# Almgren & Chriss (2000) Table 1 (docs/MATH.md section 9)
TABLE1 = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)


def _order(symbol: str, side: str, shares: float, market: MarketParams, horizon: float | None = None) -> OrderMarket:
    return OrderMarket(BasketRow(2, symbol, side, "shares", shares, horizon), shares, market, "test")


def _random_problem(seed: int, m: int, n: int):
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(m, 2))
    cov_returns = factors @ factors.T + np.diag(rng.uniform(0.2, 1.0, m))
    std = np.sqrt(np.diag(cov_returns))
    corr = cov_returns / np.outer(std, std)
    sigma = rng.uniform(0.2, 2.0, m)
    h = rng.uniform(1e-7, 3e-6, m)
    y0 = rng.choice([-1.0, 1.0], m) * rng.uniform(1e4, 1e6, m)
    return corr, covariance(sigma, corr), h, y0, 1.0 / n


def test_one_order_basket_is_the_single_order_almgren_chriss_plan_and_table_1():
    order = _order("AC", "sell", 1e6, TABLE1, 5.0)
    plan = plan_orders([order], Correlation(("AC",), np.ones((1, 1)), "one name"), 5.0, 5, 1e-6)
    joint = plan.strategy(JOINT)
    single = ac_discrete(Order("AC", "sell", 1e6, 5.0, 5), TABLE1, ACParams(1e-6))
    np.testing.assert_allclose(joint.holdings_shares[:, 0], single.holdings_shares, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(joint.holdings_shares[:, 0],
                               [1e6, 541955.55, 289854.22, 147897.49, 62141.80, 0], rtol=0, atol=0.01)  # fmt: skip
    assert joint.expected_usd == pytest.approx(911_226.99, abs=0.01)
    assert joint.risk.variance_usd2 == pytest.approx(3.641286e11, rel=1e-7)
    assert joint.risk.variance_usd2 == pytest.approx(costs.estimate(single).variance_usd2, rel=1e-12)
    assert joint.expected_usd + 1e-6 * joint.risk.variance_usd2 == pytest.approx(1_275_355.56, abs=0.01)
    np.testing.assert_allclose(plan.strategy(INDEPENDENT).holdings_shares, joint.holdings_shares, rtol=1e-12)


@pytest.mark.parametrize("ends", [None, [8, 3, 8, 5]])
def test_uncorrelated_joint_equals_independent(ends):
    markets = [MarketParams.from_rules_of_thumb(p, 0.02 * p, 0.01 * p / 10, adv) for p, adv in
               [(20, 2e6), (75, 5e5), (140, 1e6), (9, 8e6)]]  # fmt: skip
    horizons = [None] * 4 if ends is None else [e / 8 for e in ends]
    orders = [
        _order(f"S{i}", side, shares, m, h)
        for i, (side, shares, m, h) in enumerate(
            zip(["buy", "sell", "buy", "sell"], [2e5, 5e4, 1e5, 4e5], markets, horizons, strict=True)
        )
    ]
    symbols = tuple(o.row.symbol for o in orders)
    plan = plan_orders(orders, Correlation(symbols, np.eye(4), "none"), 1.0, 8, 2e-6)
    joint, independent = plan.strategy(JOINT), plan.strategy(INDEPENDENT)
    scale = np.array([o.shares for o in orders])
    np.testing.assert_allclose(joint.holdings_shares / scale, independent.holdings_shares / scale, atol=1e-10)
    assert joint.risk.variance_usd2 == pytest.approx(joint.risk.variance_uncorrelated_usd2, rel=1e-12)
    if ends is not None:
        assert list(plan.grid.end_slices) == ends
        for i, end in enumerate(ends):
            assert np.all(joint.holdings_shares[end:, i] == 0) and joint.holdings_shares[end - 1, i] > 0


def test_perfectly_correlated_buy_and_sell_with_equal_dollar_risk_hedge():
    """Buy A, sell B, rho = 1, sigma_A X_A = sigma_B X_B: any schedule that keeps the two in proportion has
    V = tau sum (sigma_A x_A - sigma_B x_B)^2 = 0; the uncorrelated sum is twice the TWAP variance of one order,
    (1/3) sigma^2 X^2 T (1 - 1/N)(1 - 1/(2N)) (docs/MATH.md section 8)."""
    a = MarketParams(50.0, 1.0, 0.02, 1e6, 2e-6, 2e-7)
    b = MarketParams(25.0, 0.5, 0.02, 2e6, 1e-6, 1e-7)  # half the sigma and eta: twice the shares, same $ risk
    orders = [_order("A", "buy", 1e5, a), _order("B", "sell", 2e5, b)]
    T, N = 2.0, 10
    for rho in (1.0, 0.6):
        corr = np.array([[1.0, rho], [rho, 1.0]])
        plan = plan_orders(orders, Correlation(("A", "B"), corr, "test"), T, N, 1e-5, strategies=(JOINT, TWAP))
        twap = plan.strategy(TWAP)
        single = (1e5) ** 2 * T / 3 * (1 - 1 / N) * (1 - 1 / (2 * N))
        assert twap.risk.variance_uncorrelated_usd2 == pytest.approx(2 * single, rel=1e-12)
        assert twap.risk.variance_usd2 == pytest.approx((2 - 2 * rho) * single, rel=1e-9, abs=1e-6 * single)
        contribution = twap.risk.contribution_usd2
        assert contribution == pytest.approx([(1 - rho) * single] * 2, rel=1e-9, abs=1e-6 * single)
    # rho = 1: the hedged spread has no risk (mu = 0), so the joint optimum is the risk-free TWAP of the pair
    plan = plan_orders(orders, Correlation(("A", "B"), np.ones((2, 2)), "test"), T, N, 1e-5)
    joint = plan.strategy(JOINT)
    np.testing.assert_allclose(joint.holdings_shares, plan.strategy(TWAP).holdings_shares, rtol=1e-9, atol=1e-6)
    assert joint.risk.variance_usd2 < 1e-12 * joint.risk.variance_uncorrelated_usd2


@pytest.mark.parametrize("ends", [None, [10, 4, 10, 7, 2]])
def test_exact_solution_equals_a_direct_minimisation_of_e_plus_lambda_v(ends):
    corr, cov, h, y0, tau = _random_problem(3, 5, 10)
    lam = 3e-6
    end_slices = np.full(5, 10) if ends is None else np.array(ends)
    exact = solve.JointProblem(y0, h, cov, tau, end_slices).holdings(lam)
    free = np.zeros_like(exact, dtype=bool)
    for i, end in enumerate(end_slices):
        free[1:end, i] = True
    scale = np.broadcast_to(np.abs(y0), exact.shape)[free]

    def path(v):
        y = np.zeros_like(exact)
        y[0] = y0
        y[free] = v * scale
        return y

    # E + lambda V is a sum of squares of affine residuals of the free holdings: (1/tau) |H^(1/2) dy_k|^2 and
    # lambda tau |L^T y_k|^2 with C = L L^T; its minimiser by scipy's least squares, built from the objective alone
    root_cov = np.linalg.cholesky(cov)

    def residuals(v):
        y = path(v)
        return np.concatenate([(np.sqrt(h / tau) * np.diff(y, axis=0)).ravel(),
                               (np.sqrt(lam * tau) * y[1:] @ root_cov).ravel()])  # fmt: skip

    base = residuals(np.zeros(free.sum()))
    design = np.column_stack([residuals(e) - base for e in np.eye(free.sum())])
    found = scipy.linalg.lstsq(design, -base)[0]
    assert float(residuals(found) @ residuals(found)) == pytest.approx(
        solve.objective_usd(path(found), h, cov, tau, lam), rel=1e-10
    )
    best = solve.objective_usd(exact, h, cov, tau, lam)
    assert best == pytest.approx(solve.objective_usd(path(found), h, cov, tau, lam), rel=1e-9)
    np.testing.assert_allclose(exact[free], found * scale, rtol=1e-6, atol=1e-9 * np.abs(y0).max())
    # and a general-purpose minimiser (BFGS) of the objective finds nothing lower
    reference = solve.objective_usd(path(np.zeros(free.sum())), h, cov, tau, lam)
    bfgs = minimize(lambda v: solve.objective_usd(path(v), h, cov, tau, lam) / reference, np.zeros(free.sum()),
                    method="BFGS", options={"gtol": 1e-12, "maxiter": 50_000})  # fmt: skip
    assert best <= bfgs.fun * reference * (1 + 1e-12)
    assert best == pytest.approx(bfgs.fun * reference, rel=1e-6)


def test_eigen_and_kkt_agree_and_stay_finite_for_large_kappa_t():
    corr, cov, h, y0, tau = _random_problem(5, 6, 40)
    for lam in (0.0, 1e-6, 1e-2):  # up to kappa T of several hundred
        problem = solve.JointProblem(y0, h, cov, tau, np.full(6, 40))
        eigen, kkt = problem.eigen_over_lambda([lam])[0], problem.kkt(lam)
        assert np.all(np.isfinite(eigen))
        np.testing.assert_allclose(eigen, kkt, rtol=0, atol=1e-8 * np.abs(y0).max())
    kappa = solve.mode_kappas(np.linalg.eigvalsh(cov / np.sqrt(np.outer(h, h))), tau, 1e-2)
    assert kappa.max() * 40 * tau > 100


def test_risk_contributions_add_up_and_equal_the_quadratic_form():
    corr, cov, h, y0, tau = _random_problem(11, 7, 12)
    rng = np.random.default_rng(0)
    holdings = np.abs(y0) * rng.uniform(0, 1, (13, 7))
    holdings[0], holdings[-1] = np.abs(y0), 0.0
    signs = np.sign(y0)
    risk = basket_risk(holdings, signs, cov, tau)
    direct = tau * sum(float((signs * x) @ cov @ (signs * x)) for x in holdings[1:])
    assert risk.variance_usd2 == pytest.approx(direct, rel=1e-12)
    assert risk.contribution_usd2.sum() == pytest.approx(risk.variance_usd2, rel=1e-12)
    assert risk.std_contribution_usd.sum() == pytest.approx(risk.std_usd, rel=1e-12)
    own = tau * sum(float(np.sum(np.diag(cov) * x**2)) for x in holdings[1:])
    assert risk.variance_uncorrelated_usd2 == pytest.approx(own, rel=1e-12)
    assert risk.remaining_variance_usd2[0] == pytest.approx(risk.variance_usd2, rel=1e-12)
    assert risk.remaining_variance_usd2[-1] == 0 and np.all(np.diff(risk.remaining_variance_usd2) <= 0)
    # Euler: contribution_i = d std / d (scale of order i) at scale 1
    bump = 1e-6
    scaled = holdings.copy()
    scaled[:, 2] *= 1 + bump
    numeric = (basket_risk(scaled, signs, cov, tau).std_usd - risk.std_usd) / bump
    assert risk.std_contribution_usd[2] == pytest.approx(numeric, rel=1e-4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    m=st.integers(1, 6),
    n=st.integers(1, 30),
    lam=st.sampled_from([0.0, 1e-9, 1e-6, 1e-4, 1e-2]),
    staggered=st.booleans(),
)
def test_random_valid_baskets_are_finite_and_end_at_zero(seed, m, n, lam, staggered):
    rng = np.random.default_rng(seed)
    orders, horizons = [], []
    for i in range(m):
        price = float(rng.uniform(2, 500))
        market = MarketParams.from_rules_of_thumb(price, price * rng.uniform(0.005, 0.05), price * 1e-3,
                                                  float(rng.uniform(1e5, 5e7)))  # fmt: skip
        horizon = float(rng.integers(1, n + 1)) / n if staggered else None
        horizons.append(horizon)
        orders.append(_order(f"S{i}", str(rng.choice(["buy", "sell"])), float(rng.uniform(1e2, 1e6)), market, horizon))
    a = rng.normal(size=(m, m))
    cov = a @ a.T + 0.1 * np.eye(m)
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    symbols = tuple(o.row.symbol for o in orders)
    plan = plan_orders(orders, Correlation(symbols, corr, "random"), 1.0, n, lam)
    for result in plan.strategies:
        assert result.error is None, result.error
        x = result.holdings_shares
        assert np.all(np.isfinite(x))
        np.testing.assert_allclose(x[0], [o.shares for o in orders])
        assert np.all(x[-1] == 0)
        for i, end in enumerate(plan.grid.end_slices):
            assert np.all(x[end:, i] == 0)
        assert np.isfinite(result.expected_usd) and np.isfinite(result.risk.variance_usd2)
        assert result.risk.variance_usd2 >= -1e-9 * result.risk.variance_uncorrelated_usd2
        assert result.risk.contribution_usd2.sum() == pytest.approx(result.risk.variance_usd2, rel=1e-9, abs=1e-9)
