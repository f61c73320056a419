"""Feedback policies: limit-order ladder, regime-adaptive, POV on realised volume, multiscale and nonlinear adapters."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optexec.models import MarketParams, Order, u_shaped_volume_profile
from optexec.monte_carlo import SimulationConfig, run_policy, run_schedule, simulate_strategies
from optexec.simulation.market import LiquidityRegimes, MarketModel, generate_market_paths
from optexec.strategies import policies, registry
from optexec.strategies.base import StepState, Strategy
from optexec.strategies.benchmarks import POVParams, pov, pov_policy
from optexec.strategies.multiscale import (
    MultiscaleParams,
    fast_correction_per_share,
    multiscale,
    multiscale_policy,
    order_problem,
)
from optexec.strategies.policies import (
    LadderParams,
    LadderPolicy,
    RegimeParams,
    RegimePolicy,
    detection_probabilities,
    ladder_expected_spread_usd,
    limit_ladder,
    regime_adaptive,
)

QUIET = MarketModel(volume_noise=0.0, spread_noise=0.0, regimes=LiquidityRegimes(enabled=False))
LADDER, REGIME = policies.STRATEGIES


def intraday(slices: int = 39) -> tuple[Order, MarketParams]:
    order = Order("DEMO", "sell", 250_000, 1.0, slices)
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile())
    return order, market


def run(strategy, settings, paths=2000, seed=0, model=None, names_twap=True):
    order, market = intraday()
    config = SimulationConfig(paths=paths, seed=seed, model=model or MarketModel())
    strategies = [registry.get("twap"), strategy] if names_twap else [strategy]
    return simulate_strategies(order, market, strategies, settings, config)


def test_ladder_without_fills_is_twap_on_every_path():
    result = run(LADDER, {"ladder_touch_fill_probability": 0.0})
    twap_run, ladder_run = result.runs
    assert ladder_run.kind == "policy"
    assert np.max(np.abs(ladder_run.cost_usd - twap_run.cost_usd)) < 1e-6


def test_ladder_always_filled_at_the_touch_saves_the_whole_spread():
    result = run(LADDER, {"ladder_touch_fill_probability": 1.0, "ladder_levels": 1})
    twap_run, ladder_run = result.runs
    assert ladder_run.components_usd["spread"] == pytest.approx(0.0, abs=1e-9)
    saving = twap_run.components_usd["spread"]
    assert np.max(np.abs(ladder_run.cost_usd - (twap_run.cost_usd - saving))) < 1e-6


def test_ladder_expected_spread_saving():
    """E[spread] = (s/2) X (1 - mean p_j) - X s spacing (1/L) sum_j j p_j (fills independent of the spread)."""
    result = run(LADDER, {}, paths=20_000, seed=4)
    spread_cost = result.runs[1].components_usd["spread"]
    order, market = intraday()
    expected = ladder_expected_spread_usd(order, market, LadderParams())
    # p = 0.5 e^{-0.7 j}, j = 0..2: mean p = 0.29053, mean j p = 0.16496; spacing 0.5
    assert expected == pytest.approx(0.02 * 250_000 * (0.5 * (1 - 0.29053) - 0.5 * 0.16496), rel=1e-4)
    assert abs(spread_cost.mean() - expected) < 3 * spread_cost.std() / math.sqrt(spread_cost.size)
    assert result.runs[1].paired_difference_usd < 0


def test_ladder_carrying_unfilled_shares_matches_its_expected_schedule():
    order, market = intraday()
    params = LadderParams(ladder_cross_unfilled=False)
    schedule = limit_ladder(order, market, params)
    assert schedule.trades_shares[0] == pytest.approx(params.expected_fill_fraction * order.shares / order.slices)
    paths = 5000
    market_paths = generate_market_paths(order, market, MarketModel(), paths, 8)
    holdings = run_policy(LadderPolicy(order, market, params), order, market, market_paths, paths)[5]
    mean, stderr = holdings.mean(axis=0), holdings.std(axis=0) / math.sqrt(paths)
    assert np.all(np.abs(mean - schedule.holdings_shares) <= 4 * stderr + 1e-6 * order.shares)
    assert holdings[:, -1] == pytest.approx(0.0, abs=1e-6)  # the rest goes at market at the horizon
    assert np.all(np.diff(holdings, axis=1) <= 1e-9)


def speed_path(order, speed):
    """Holdings of a constant speed f: x_k = x_{k-1} (1 - min(1, f / (N - k + 1))), the last slice finishing."""
    n = order.slices
    keep = 1.0 - np.minimum(1.0, speed / (n - np.arange(n - 1)))
    return order.shares * np.concatenate([[1.0], np.cumprod(keep), [0.0]])


def test_regime_without_regimes_trades_the_base_rate_times_the_high_speed():
    order, market = intraday()
    params = RegimeParams(max_participation=1.0)
    market_paths = generate_market_paths(order, market, QUIET, 10, 0)
    holdings = run_policy(RegimePolicy(order, market, params), order, market, market_paths, 10)[5]
    assert holdings[0] == pytest.approx(speed_path(order, 1.5), rel=1e-12)


@pytest.mark.parametrize("speed", [0.75, 1.0, 1.5, 3.0])
def test_regime_speed_path_is_defined_in_time(speed):
    """At a constant speed f the holdings converge to X ((T - t) / T)^f as the grid is refined (module docstring):
    the same trajectory in time on every grid, within an error that shrinks with the slices."""
    errors = []
    for slices in (24, 78, 390):
        order = Order("DEMO", "sell", 250_000, 1.0, slices)
        continuous = order.shares * (1.0 - order.times_days / order.horizon_days) ** speed
        errors.append(np.max(np.abs(speed_path(order, speed) - continuous)) / order.shares)
    if speed == 1.0:
        assert max(errors) < 1e-12  # f = 1 is TWAP of the remainder: a straight line on any grid
    else:
        assert errors[-1] < 0.02 and errors[1] < errors[0] and errors[2] < errors[1]


def test_regime_on_the_table1_order_finishes_within_the_horizon_at_its_speed():
    """Sell 1M over 5 days in 5 slices (the issue: the old per-15-minute fractions sold 97.5% in the first slice):
    the first slice sells between 0.75 x 20% and 1.5 x 20% of the order."""
    order = Order("DEMO", "sell", 1e6, 5.0, 5)
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
    first = regime_adaptive(order, market, RegimeParams(liquidity_model=MarketModel())).trades_shares[0]
    assert 0.15 * 1e6 <= first <= 0.30 * 1e6


def test_regime_detection_is_perfect_without_noise():
    order, market = intraday()
    model = MarketModel(volume_noise=0.0, spread_noise=0.0)
    assert detection_probabilities(RegimeParams(), model) == pytest.approx([0.0, 1.0])
    market_paths = generate_market_paths(order, market, model, 500, 2)
    policy = RegimePolicy(order, market, RegimeParams())
    low = market_paths.low_liquidity
    assert 0 < low.mean() < 1
    for k in (0, 10, 30):
        state = _state(market_paths, market, k)
        assert np.array_equal(policy.detect_low(state), low[:, k])


def _state(market_paths, market, k):
    count = market_paths.paths
    return StepState(
        k, market_paths.volume_shares.shape[1], float(market_paths.times_days[k]), 1 / 39, np.ones(count),
        np.zeros(count), np.zeros(count), np.zeros(count), np.zeros(count), market_paths.volume_shares[:, k],
        float(market_paths.expected_volume_shares[k]), market_paths.spread_usd[:, k], market.spread_usd,
        market_paths.fill_uniform[:, k], market_paths.volume_shares[:, :k],
    )  # fmt: skip


def test_regime_expected_schedule_matches_the_simulated_mean():
    """The build's Markov recursion is the mean of the policy under the default market model (4 SE)."""
    order, market = intraday()
    params = RegimeParams(max_participation=1.0, liquidity_model=MarketModel())
    schedule = regime_adaptive(order, market, params)
    paths = 8000
    market_paths = generate_market_paths(order, market, MarketModel(), paths, 6)
    holdings = run_policy(RegimePolicy(order, market, params), order, market, market_paths, paths)[5]
    mean, stderr = holdings.mean(axis=0), holdings.std(axis=0) / math.sqrt(paths)
    assert np.all(np.abs(mean - schedule.holdings_shares) <= 4 * stderr + 1e-9 * order.shares)
    # low liquidity slows it down: between the all-high and all-low speed paths
    assert np.all(schedule.holdings_shares[1:-1] > speed_path(order, 1.5)[1:-1])
    assert np.all(schedule.holdings_shares[1:-1] < speed_path(order, 0.75)[1:-1])


def test_regime_warns_when_much_is_left_for_the_last_slice():
    order, market = intraday()
    slow = regime_adaptive(order, market, RegimeParams(regime_high_speed=0.6, regime_low_speed=0.55,
                                                       liquidity_model=MarketModel()))  # fmt: skip
    assert slow.warnings and "last slice" in slow.warnings[0]
    assert not regime_adaptive(order, market, RegimeParams(liquidity_model=MarketModel())).warnings


def test_regime_trades_less_in_low_liquidity_than_pov_and_costs_are_finite():
    result = run(REGIME, {}, paths=1000)
    regime_run = result.runs[1]
    assert np.all(np.isfinite(regime_run.cost_usd)) and regime_run.unfinished_share == 0


def test_pov_policy_on_steady_volume_equals_the_static_pov_schedule():
    order, market = intraday()
    market_paths = generate_market_paths(order, market, QUIET, 50, 1)
    schedule = pov(order, market, POVParams(0.2))
    static = run_schedule(schedule, market, market_paths, 1)[0]
    looped = run_policy(pov_policy(order, market, POVParams(0.2)), order, market, market_paths, 1)
    assert looped[0] == pytest.approx(static, rel=1e-9)


def test_pov_policy_follows_realised_volume():
    order, market = intraday()
    model = MarketModel()
    market_paths = generate_market_paths(order, market, model, 200, 1)
    for rate in (0.02, 0.05):
        policy = pov_policy(order, market, POVParams(rate))
        _, _, mean_part, max_part, unfinished, holdings = run_policy(policy, order, market, market_paths, 200,
                                                                     force_finish=False)  # fmt: skip
        wanted = np.minimum(np.cumsum(rate * market_paths.volume_shares, axis=1), order.shares)
        assert order.shares - holdings[:, 1:] == pytest.approx(wanted, rel=1e-9)
        assert unfinished == np.mean(wanted[:, -1] < order.shares * (1 - 1e-9))
        assert max_part == pytest.approx(rate)
    assert 0 < unfinished < 1  # 5% of one day's volume is about the order: some paths finish, some do not
    assert mean_part < 0.05  # the finishing slice is a partial one


def test_multiscale_feedback_tracks_its_expected_schedule():
    order, market = intraday(78)
    params = MultiscaleParams()
    schedule = multiscale(order, market, params)
    market_paths = generate_market_paths(order, market, QUIET, 4, 0)
    holdings = run_policy(multiscale_policy(order, market, params), order, market, market_paths, 4)[5]
    assert np.ptp(holdings, axis=0) == pytest.approx(0.0, abs=1e-6)  # no impact state, no signal: deterministic
    assert holdings[0, -1] == pytest.approx(0.0, abs=1e-6)
    # the simulated policy trades the planned schedule the plan prices (docs/MATH.md section 11, the simulator)
    np.testing.assert_allclose(holdings[0], schedule.holdings_shares, rtol=0, atol=1e-9 * order.shares)


def test_multiscale_feedback_slows_down_in_high_vol():
    """Starting vol above the half-step threshold halves the rate (docs/MATH.md section 0 half-step rule)."""
    order, market = intraday(78)
    params = MultiscaleParams()
    calm = run_policy(multiscale_policy(order, market, params), order, market,
                      generate_market_paths(order, market, QUIET, 2, 0), 1)[5][0]  # fmt: skip
    stormy_model = dataclasses.replace(QUIET, initial_vol_ratio=1.5)
    stormy = run_policy(multiscale_policy(order, market, params), order, market,
                        generate_market_paths(order, market, stormy_model, 2, 0), 1)[5][0]  # fmt: skip
    problem = order_problem(order, market, params)
    sigma2 = market.sigma_usd_per_sqrt_day**2
    fast = fast_correction_per_share(2.25 * sigma2, sigma2, params.fast_scale_epsilon, problem.risk_aversion,
                                     params.fast_mean_reversion_per_day, problem.cost_k)  # fmt: skip
    calm_traded = order.shares - calm[1]
    # the planned child order plus tau x (half of (the calm rate + the fast correction's extra speed) - the calm
    # rate), docs/MATH.md sections 1.6 and 11: the feedback reacts to the vol it sees around the planned schedule
    calm_rate = float(multiscale_policy(order, market, params).inner.rate_shares_per_day(
        0.0, order.shares, 0.0, 0.0, sigma2, sigma2))  # fmt: skip
    stormy_rate = 0.5 * (calm_rate - fast * order.shares)
    expected = calm_traded + (stormy_rate - calm_rate) * order.slice_days
    assert fast < 0 and order.shares - stormy[1] == pytest.approx(expected, rel=1e-9)
    assert order.shares - stormy[1] < 0.6 * calm_traded  # about half speed


def test_nonlinear_feedback_finishes():
    pytest.importorskip("optexec.strategies.nonlinear")
    strategy = registry.get("nonlinear")
    result = run(strategy, {}, paths=300)
    assert result.runs[1].kind == "policy" and result.runs[1].unfinished_share == 0
    assert np.all(np.isfinite(result.runs[1].cost_usd))


def test_each_module_declares_its_own_feedback_policy():
    """The policy comes from the strategy's own module (``Strategy(..., policy=...)``), never from a name map."""
    from optexec.strategies import benchmarks, multiscale, nonlinear

    with_policy = {s.name: s.policy for s in registry.STRATEGIES.values() if s.policy is not None}
    assert set(with_policy) == {"pov", "nonlinear", "multiscale", "limit_ladder", "regime_adaptive", "rl_agent"}
    for module in (benchmarks, multiscale, nonlinear, policies):
        for strategy in module.STRATEGIES:
            if strategy.policy is not None:
                assert strategy.policy.__module__ == module.__name__
                assert registry.get(strategy.name).policy is strategy.policy
    assert Strategy("x", "X", LadderParams, limit_ladder, "x").policy is None
    assert not hasattr(policies, "FEEDBACK_POLICIES") and not hasattr(policies, "attach_feedback_policies")


def test_a_new_strategy_module_with_a_policy_is_picked_up_without_a_name_map(monkeypatch):
    """One module with STRATEGIES (its own policy in it) + one line in registry._MODULES: the registry has the
    strategy with that policy and the simulator runs the policy (its half-and-half decisions), not the schedule."""
    import sys
    import types

    from optexec.strategies.base import Decision
    from optexec.strategies.benchmarks import NoParams, twap

    class HalfNow:
        def decide(self, state):
            return Decision(state.remaining_shares if state.is_last else 0.5 * state.remaining_shares)

    module = types.ModuleType("optexec.strategies.half_now")
    module.STRATEGIES = [Strategy("half_now", "Half now", NoParams, twap, "Half of what is left each slice.",
                                  policy=lambda order, market, params: HalfNow())]  # fmt: skip
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(registry, "_MODULES", (*registry._MODULES, "half_now"))
    loaded = registry._load()
    assert loaded["half_now"].policy is module.STRATEGIES[0].policy
    order, market = intraday(8)
    result = simulate_strategies(order, market, [loaded["half_now"]], {}, SimulationConfig(50, 1, model=QUIET))
    run = next(r for r in result.runs if r.name == "half_now")
    assert run.kind == "policy"
    assert run.sample_holdings_shares[0, 1] == pytest.approx(0.5 * order.shares)
    assert run.sample_holdings_shares[0, 2] == pytest.approx(0.25 * order.shares)


@settings(max_examples=30, deadline=None)
@given(
    levels=st.integers(1, 6),
    probability=st.floats(0.0, 1.0),
    decay=st.floats(0.0, 3.0),
    cross=st.booleans(),
    slices=st.integers(1, 50),
)
def test_ladder_schedule_invariants(levels, probability, decay, cross, slices):
    order, market = intraday(slices)
    params = LadderParams(levels, 0.5, probability, decay, cross)
    schedule = limit_ladder(order, market, params)
    assert schedule.holdings_shares[0] == order.shares and schedule.holdings_shares[-1] == 0
    assert np.all(np.diff(schedule.holdings_shares) <= 1e-9 * order.shares)


@settings(max_examples=30, deadline=None)
@given(high=st.floats(0.51, 5.0), low=st.floats(0.51, 5.0), slices=st.integers(1, 60))
def test_regime_schedule_invariants(high, low, slices):
    order, market = intraday(slices)
    schedule = regime_adaptive(order, market, RegimeParams(high, low, liquidity_model=MarketModel()))
    holdings = schedule.holdings_shares
    assert holdings[0] == order.shares and holdings[-1] == 0
    assert np.all(np.diff(holdings) <= 1e-9 * order.shares) and np.all(holdings >= 0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: LadderParams(ladder_levels=0), "levels"),
        (lambda: LadderParams(ladder_touch_fill_probability=1.5), "fill probability"),
        (lambda: LadderParams(ladder_spacing_spreads=-1), "spacing"),
        (lambda: RegimeParams(regime_high_speed=0.5), "high-liquidity speed"),
        (lambda: RegimeParams(regime_low_speed=6.0), "low-liquidity speed"),
        (lambda: RegimeParams(max_participation=1.5), "maximum participation"),
        (lambda: RegimeParams(regime_spread_threshold=-1.0), "spread threshold"),
    ],
)
def test_bad_policy_parameters_are_plain_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
