"""One market model (issue 13): the simulator charges what the cost model's closed form prices, and the RL
environment and the DP charge what the simulator charges (docs/MATH.md sections 2, 8 and 11).

With volume and spread noise and liquidity regimes off, arithmetic prices and constant volatility, a static
schedule's charges (spread, temporary, permanent, transient) are the same on every path and the market move is
normal with variance sigma^2 tau sum x_k^2, so the simulated cost is normal with exactly ``costs.estimate``'s mean
and variance: the mean is tested within 3 standard errors of the closed form (sqrt(V / n)) and the sample variance
s^2 within 3 of its standard deviations, V sqrt(2 / (n - 1)) (for a normal sample (n - 1) s^2 / V is chi-square with
n - 1 degrees of freedom; at n = 4,000 its normal approximation is within 1% of the chi-square quantiles).

What the closed form does NOT include when the noise is on: the power-law temporary impact Y sigma |n| (|n| / v)^p
is charged against the realised volume v = vbar f_j e^{s Z - s^2/2}, so its mean is the closed form (against vbar)
times E[(v / vbar)^-p] = (sum_j pi_j f_j^-p) e^{p (1 + p) s^2 / 2} (``MarketModel.inverse_volume_moment``): 1.0441
from the default lognormal noise s = 0.3, 1.0474 from the default regimes, 1.0937 together, at the ATHL p = 0.6.
The planner's numbers do not include it (they price against the expected volume); the DP does, exactly. The
linear model, the block sweep, the permanent and the transient impact do not see the volume, and the
spread noise and regimes average to the MarketParams spread, so their means are exact with the noise on.
"""

import dataclasses
import math

import numpy as np
import pytest

from optexec.costs import estimate
from optexec.market import BUCKETS
from optexec.models import MarketParams, Order, Schedule, slice_market_volume, u_shaped_volume_profile
from optexec.monte_carlo import run_policy, run_schedule
from optexec.planning import resolve_inputs
from optexec.rl.agents import CrossEntropyAgent, calm_model, run_greedy
from optexec.rl.dp import PeriodCost, solve_dp
from optexec.rl.env import BatchExecutionEnv, EnvConfig
from optexec.rl.policy import AgentPolicy
from optexec.simulation.expectation import market_expectation
from optexec.simulation.market import LiquidityRegimes, MarketModel, generate_market_paths
from optexec.strategies import registry
from optexec.strategies.base import SchedulePolicy

QUIET = MarketModel(volume_noise=0.0, spread_noise=0.0, regimes=LiquidityRegimes(enabled=False))
#: the cost models of a ticket; "calibrated" with and without a transient strength
COST_MODELS = {
    "linear": {"cost_model": "linear"},
    "linear+transient": {"cost_model": "linear+transient"},
    "calibrated": {"cost_model": "calibrated"},
    "calibrated+transient": {"cost_model": "calibrated", "transient_strength_usd_per_share2": 2e-6},
}
PATHS = 4_000


def order_and_market(cost_model: str) -> tuple[Order, MarketParams]:
    order = Order("DEMO", "buy", 250_000, 1.0, 39)
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile(),
                                              drift_usd_per_day=0.05, **COST_MODELS[cost_model])  # fmt: skip
    return order, market


def static_schedules(order: Order, market: MarketParams) -> dict[str, Schedule]:
    """Every registry strategy's static schedule, and two schedules with blocks (the block sweep, the transient
    impact of a block): the order as one block, and Obizhaeva–Wang's shape (blocks at both ends, a rate between)."""
    strategies = list(registry.STRATEGIES.values())
    resolved = resolve_inputs(order, market, {}, strategies)  # the RL agent, the regime's liquidity model
    schedules = {strategy.name: strategy.schedule(order, market, resolved) for strategy in strategies}
    n, x = order.slices, order.shares
    one = np.zeros(n)
    one[0] = x
    schedules["one block"] = Schedule.from_trades("block", order, market, one, blocks_shares=one)
    trades = np.full(n, x / 3 / n)
    blocks = np.zeros(n)
    blocks[0] = blocks[-1] = x / 3
    schedules["blocks at both ends"] = Schedule.from_trades("ends", order, market, trades + blocks,
                                                            blocks_shares=blocks)  # fmt: skip
    return schedules


@pytest.mark.parametrize("cost_model", list(COST_MODELS))
def test_every_static_schedule_charges_its_closed_form_on_every_path(cost_model):
    """No noise: each path's buckets are the closed form's, to rounding, for every schedule, run as a schedule and
    (without blocks: a policy's decision has none) as a policy; with sigma = 0 the market move is the drift term."""
    order, market = order_and_market(cost_model)
    paths = generate_market_paths(order, market, QUIET, 5, 1)
    still = dataclasses.replace(market, sigma_usd_per_sqrt_day=0.0)
    still_paths = generate_market_paths(order, still, QUIET, 5, 1)
    for name, schedule in static_schedules(order, market).items():
        closed = estimate(schedule)
        parts = run_schedule(schedule, market, paths, 0)[1]
        runs = [parts]
        if schedule.blocks_shares is None:
            runs.append(run_policy(SchedulePolicy(schedule), order, market, paths, 0)[1])
        for run in runs:
            for bucket in BUCKETS:
                value = getattr(closed, f"{bucket}_usd")
                np.testing.assert_allclose(run[bucket], value, rtol=1e-9, atol=1e-9, err_msg=f"{name} {bucket}")
        timing = run_schedule(dataclasses.replace(schedule, market=still), still, still_paths, 0)[1]["timing"]
        np.testing.assert_allclose(timing, closed.drift_usd, rtol=1e-9, err_msg=name)
        # blocks move the book in every model; worked flow only where the model has transient impact
        moves_book = "transient" in cost_model or schedule.blocks_shares is not None
        assert moves_book == (estimate(schedule).transient_usd > 0), name


@pytest.mark.parametrize("cost_model", list(COST_MODELS))
def test_every_static_schedule_mean_and_variance_match_the_closed_form(cost_model):
    """Monte Carlo mean within 3 standard errors and sample variance within 3 of its standard deviations of the
    closed form (module docstring), for every registry schedule and the block schedules."""
    order, market = order_and_market(cost_model)
    paths = generate_market_paths(order, market, QUIET, PATHS, 11)
    for name, schedule in static_schedules(order, market).items():
        closed = estimate(schedule)
        cost = run_schedule(schedule, market, paths, 0)[0]
        rounding = 1e-9 * abs(closed.expected_usd)  # a schedule done in its first slice has no price risk
        assert abs(cost.mean() - closed.expected_usd) <= 3 * math.sqrt(closed.variance_usd2 / PATHS) + rounding, name
        bound = 3 * closed.variance_usd2 * math.sqrt(2 / (PATHS - 1))
        assert abs(cost.var(ddof=1) - closed.variance_usd2) <= bound + rounding**2, name
        assert closed.variance_usd2 > 0 or name in ("immediate", "one block"), name


def test_the_power_law_mean_with_noise_is_the_closed_form_times_the_jensen_multiplier():
    """Default noise and regimes: the power-law temporary cost's mean is the closed form times
    E[(v / vbar)^-p] = 1.0937 (within 3 standard errors), clearly not the closed form itself; the other buckets'
    means stay exact (spread within 3 standard errors: its noise averages to 1)."""
    order, market = order_and_market("calibrated")
    model = MarketModel()
    multiplier = model.inverse_volume_moment(market.power_exponent)
    assert multiplier == pytest.approx(
        (0.7 * (1 / 0.85) ** -0.6 + 0.3 * (0.5 / 0.85) ** -0.6) * math.exp(0.5 * 0.6 * 1.6 * 0.09), rel=1e-12
    )
    assert multiplier == pytest.approx(1.0937, abs=1e-4)
    schedule = registry.get("twap").schedule(order, market, {})
    closed = estimate(schedule)
    parts = run_schedule(schedule, market, generate_market_paths(order, market, model, 20_000, 3), 0)[1]
    temporary = parts["temporary"]
    stderr = temporary.std(ddof=1) / math.sqrt(temporary.size)
    assert abs(temporary.mean() - multiplier * closed.temporary_usd) < 3 * stderr
    assert temporary.mean() - closed.temporary_usd > 20 * stderr  # the Jensen term is real
    spread = parts["spread"]
    assert abs(spread.mean() - closed.spread_usd) < 3 * spread.std(ddof=1) / math.sqrt(spread.size)
    np.testing.assert_allclose(parts["permanent"], closed.permanent_usd, rtol=1e-12)


@pytest.mark.parametrize("cost_model", ["calibrated", "calibrated+transient"])
def test_every_static_schedule_mean_with_the_default_noise_is_the_stated_expectation(cost_model):
    """Default market model (volume and spread noise, liquidity regimes): every static schedule's simulated mean
    is its stated expectation in the simulated market (``market_expectation``: the closed form plus the Jensen
    term of the power law, docs/MATH.md section 11, the simulator), within 3 standard errors. The test is sharp on
    the cost part (the shortfall less the market move, whose mean the drift gives), where the planner's closed form
    is many standard errors away for any schedule with worked flow; the whole shortfall is checked too."""
    order, market = order_and_market(cost_model)
    model = MarketModel()
    paths = generate_market_paths(order, market, model, PATHS, 13)
    for name, schedule in static_schedules(order, market).items():
        stated = market_expectation(schedule, model)
        cost, parts, *_ = run_schedule(schedule, market, paths, 0)
        expected_move = float(estimate(schedule).drift_usd) + stated.drift_usd
        charged = cost - parts["timing"]
        stderr = charged.std(ddof=1) / math.sqrt(PATHS)
        rounding = 1e-9 * abs(stated.expected_usd)
        assert abs(charged.mean() - (stated.expected_usd - expected_move)) <= 3 * stderr + rounding, name
        assert abs(cost.mean() - stated.expected_usd) <= 3 * cost.std(ddof=1) / math.sqrt(PATHS) + rounding, name
        if schedule.has_blocks and np.allclose(schedule.trades_shares, schedule.block_trades_shares):
            assert stated.volume_noise_usd == 0, name  # a block does not see the volume
        else:
            assert stated.volume_noise_usd > 10 * stderr, name  # the closed form alone is far off


def test_the_stated_expectation_follows_a_mean_reverting_signal_and_geometric_prices():
    """The market move's mean in the stated expectation is the signal's mean path x0 e^{-kappa t} (not the closed
    form's constant drift), for geometric prices too: checked on a near-zero volatility where the simulated move
    is almost deterministic (its standard error is 1e-4 of the drift term's difference)."""
    order, market = order_and_market("calibrated")
    market = dataclasses.replace(market, sigma_usd_per_sqrt_day=1e-4)
    model = dataclasses.replace(QUIET, price_model="geometric", signal_mean_reversion_per_day=3.0)
    schedule = registry.get("twap").schedule(order, market, {})
    stated = market_expectation(schedule, model)
    timing = run_schedule(schedule, market, generate_market_paths(order, market, model, 400, 2), 0)[1]["timing"]
    stderr = timing.std(ddof=1) / math.sqrt(timing.size)
    closed_drift = float(estimate(schedule).drift_usd)
    assert abs(stated.drift_usd) > 1e3 * stderr  # the constant drift is clearly not the simulated one
    assert timing.mean() == pytest.approx(closed_drift + stated.drift_usd, abs=3 * stderr + 1e-9 * abs(closed_drift))
    assert stated.volume_noise_usd == 0  # quiet volume: no Jensen term


@pytest.mark.parametrize("cost_model", list(COST_MODELS))
def test_a_policy_left_short_at_the_horizon_finishes_with_the_block_its_plan_prices(cost_model):
    """POV that cannot finish: the plan prices the rest as one block at the last slice's start; on calm paths
    (realised volume = expected) the simulated policy trades the same child orders and the simulator's forced
    finish is that block, so every path costs what the schedule costs on it (it charged the rest as worked flow
    in the last slice: 2.7 times the plan on the SPY check)."""
    from optexec.strategies.benchmarks import POVParams, pov, pov_policy

    order, market = order_and_market(cost_model)
    volume = slice_market_volume(order, market)
    params = POVParams(participation_rate=0.1)
    order = dataclasses.replace(order, shares=0.1 * (volume.sum() + volume[-1]))  # 10% of the last slice left
    schedule = pov(order, market, params)
    left = schedule.block_trades_shares[-1]
    assert left == pytest.approx(0.1 * volume[-1], rel=1e-9) and not any("moved" in w for w in schedule.warnings)
    paths = generate_market_paths(order, market, QUIET, 200, 5)
    simulated, parts, *_ = run_policy(pov_policy(order, market, params), order, market, paths, 0)
    static, static_parts, *_ = run_schedule(schedule, market, paths, 0)
    for bucket in BUCKETS:
        np.testing.assert_allclose(parts[bucket], static_parts[bucket], rtol=1e-9, atol=1e-9, err_msg=bucket)
    np.testing.assert_allclose(simulated, static, rtol=1e-9, atol=1e-9 * order.shares * market.price_usd)
    assert np.min(parts["transient"]) > 0  # the block sweeps the book in every cost model


# ----------------------------------------------------------------------------------------------------------------
# The RL environment and the DP charge what the simulator charges
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cost_model", list(COST_MODELS))
@pytest.mark.parametrize("side", ["buy", "sell"])
def test_the_environment_charges_what_the_simulator_charges_on_the_same_paths(cost_model, side):
    """The same agent's trades on the same noisy paths (regimes, volume and spread noise, stochastic volatility):
    every bucket equal to 1e-9 relative, and the shortfall equal to rounding of the notional (the environment
    marks to market slice by slice, the simulator sums the market move once)."""
    order, market = order_and_market(cost_model)
    order = dataclasses.replace(order, side=side, slices=78)
    model = MarketModel(fast_vol_of_vol_per_sqrt_day=1.0, initial_vol_ratio=1.3)
    agent = CrossEntropyAgent(10, [0.3, -1.0, 0.2, 1.0, 0.5, 0.3, 0.2])
    env = BatchExecutionEnv(order, market, EnvConfig(10, 0.0, model))
    cost, _ = run_greedy(agent, env, 300, 3)
    paths = generate_market_paths(order, market, model, 300, 3)
    simulated, parts, *_ = run_policy(AgentPolicy(order, market, agent), order, market, paths, 0)
    for bucket in BUCKETS:
        np.testing.assert_allclose(env.charges_usd[bucket], parts[bucket], rtol=1e-9, atol=1e-9, err_msg=bucket)
    notional = order.shares * market.price_usd
    assert np.max(np.abs(cost - simulated)) < 1e-12 * notional
    assert np.std(parts["temporary"]) > 0 if cost_model.startswith("calibrated") else np.std(cost) > 0
    assert (np.min(parts["transient"]) > 0) == ("transient" in cost_model)


@pytest.mark.parametrize("cost_model", ["linear", "calibrated"])
def test_the_dp_charges_what_the_simulator_charges_for_its_schedule(cost_model):
    """The DP's optimal holdings as a schedule (even trades within each period): the DP's charges along it equal
    the simulator's spread + temporary + permanent on calm paths to 1e-9 relative; with the default noise the
    DP's expected charge (the power law against the effective volume) is the simulated mean within 3 standard
    errors."""
    order, market = order_and_market(cost_model)
    for model in (calm_model(), MarketModel()):
        config = EnvConfig(10, 1e-6, model)
        solution = solve_dp(order, market, config, 101)
        cost_of = PeriodCost(order, market, config)
        x = solution.holdings_path()
        dp_charge = sum(float(cost_of.charges_usd(j, x[j], x[j + 1])) for j in range(len(x) - 1))
        bounds = solution.bounds
        trades = np.concatenate([np.full(bounds[j + 1] - bounds[j], (x[j] - x[j + 1]) / (bounds[j + 1] - bounds[j]))
                                 for j in range(len(x) - 1)])  # fmt: skip
        schedule = Schedule.from_trades("dp", order, market, trades)
        paths = generate_market_paths(order, market, model, 20_000 if model.volume_noise else 3, 5)
        parts = run_schedule(schedule, market, paths, 0)[1]
        charged = sum(parts[bucket] for bucket in BUCKETS)
        if model.volume_noise == 0:
            np.testing.assert_allclose(charged, dp_charge, rtol=1e-9)
        else:
            assert abs(charged.mean() - dp_charge) < 3 * charged.std(ddof=1) / math.sqrt(charged.size)


def test_the_dp_refuses_a_cost_model_with_transient_impact():
    order, market = order_and_market("linear+transient")
    with pytest.raises(ValueError, match="transient"):
        solve_dp(order, market, EnvConfig(10, 0.0, calm_model()))
