"""Every registered strategy: invariants with hypothesis, validation, and the benchmark schedules."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optexec import costs
from optexec.models import MarketParams, Order, flat_volume_profile, slice_market_volume, u_shaped_volume_profile
from optexec.planning import resolve_inputs
from optexec.strategies import almgren_chriss, registry
from optexec.strategies.benchmarks import NoParams, POVParams, TWAPParams, pov, twap, vwap

orders = st.builds(
    Order,
    symbol=st.just("SYM"),
    side=st.sampled_from(["buy", "sell"]),
    shares=st.floats(1.0, 1e9),
    horizon_days=st.floats(0.01, 20.0),
    slices=st.integers(1, 600),
    start_minutes_after_open=st.floats(0.0, 389.0),
)
markets = st.builds(
    MarketParams,
    price_usd=st.floats(0.01, 1e5),
    sigma_usd_per_sqrt_day=st.floats(0.0, 100.0),
    spread_usd=st.floats(0.0, 10.0),
    adv_shares=st.floats(1e3, 1e10),
    eta_usd_day_per_share2=st.floats(1e-12, 1e-2),
    gamma_usd_per_share2=st.floats(0.0, 1e-9),
    drift_usd_per_day=st.floats(-1.0, 1.0),
    volume_profile=st.sampled_from([flat_volume_profile(), u_shaped_volume_profile()]),
)
SLOW = ["multiscale", "rl_agent"]  # they solve a Riccati problem or train an agent per plan: fewer examples
FAST = [name for name in registry.STRATEGIES if name not in SLOW]
strategy_settings = st.fixed_dictionaries(
    {
        "risk_aversion_per_usd": st.one_of(st.just(0.0), st.floats(1e-12, 1.0)),
        "participation_rate": st.floats(0.001, 1.0),
        "randomize_fraction": st.floats(0.0, 0.99),
        "seed": st.integers(0, 2**31),
    }
)


def _resolved_plan(order, market, settings_, names=None):
    """registry.plan with what the strategies need resolved by their caller (planning.resolve_inputs)."""
    chosen = [registry.get(n) for n in names] if names else list(registry.STRATEGIES.values())
    return registry.plan(order, market, {**settings_, **resolve_inputs(order, market, settings_, chosen)}, names)


def _check_plans(order, market, settings_, names):
    for result in _resolved_plan(order, market, settings_, names):
        if result.schedule is None:  # a refusal must be a sentence, never a number or a crash
            assert isinstance(result.error, str) and len(result.error.split()) >= 5
            continue
        schedule = result.schedule
        gross = np.abs(schedule.trades_shares).sum()
        if gross > order.shares * (1 + 1e-8):
            # Only a strong drift may make a schedule trade against the order, and it must say so; the
            # telescoping sum then carries rounding relative to the gross volume traded.
            assert "trades against the order" in schedule.warnings[0]
            assert schedule.trades_shares.sum() == pytest.approx(order.shares, rel=1e-9 * gross / order.shares)
        else:
            assert schedule.trades_shares.sum() == pytest.approx(order.shares, rel=1e-9)
        assert schedule.holdings_shares[0] == order.shares and schedule.holdings_shares[-1] == 0
        assert np.all(np.isfinite(schedule.holdings_shares)) and np.all(np.isfinite(schedule.participation))
        cost = costs.estimate(schedule, market)
        assert np.isfinite([cost.expected_usd, cost.variance_usd2, cost.to_bps(cost.expected_usd)]).all()
        assert cost.variance_usd2 >= 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=orders, market=markets, settings_=strategy_settings)
def test_every_schedule_sums_to_the_order_and_is_finite(order, market, settings_):
    _check_plans(order, market, settings_, FAST)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=orders, market=markets, settings_=strategy_settings)
def test_slow_strategies_sum_to_the_order_and_are_finite(order, market, settings_):
    _check_plans(order, market, settings_, SLOW)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Order("SYM", "buy", 0, 1.0, 10), "order size"),
        (lambda: Order("SYM", "buy", -5, 1.0, 10), "order size"),
        (lambda: Order("SYM", "hold", 5, 1.0, 10), "side"),
        (lambda: Order("", "buy", 5, 1.0, 10), "symbol"),
        (lambda: Order("SYM", "buy", 5, 0.0, 10), "horizon"),
        (lambda: Order("SYM", "buy", 5, float("nan"), 10), "horizon"),
        (lambda: Order("SYM", "buy", 5, 1.0, 0), "slices"),
        (lambda: Order("SYM", "buy", 5, 1.0, 2.5), "slices"),
        (lambda: Order("SYM", "buy", float("inf"), 1.0, 10), "order size"),
        (lambda: MarketParams(0, 1, 0.1, 1e6, 1e-6, 1e-7), "price"),
        (lambda: MarketParams(10, -1, 0.1, 1e6, 1e-6, 1e-7), "volatility"),
        (lambda: MarketParams(10, 1, -0.1, 1e6, 1e-6, 1e-7), "spread"),
        (lambda: MarketParams(10, 1, 0.1, 0, 1e-6, 1e-7), "average daily volume"),
        (lambda: MarketParams(10, 1, 0.1, 1e6, 0, 1e-7), "temporary impact"),
        (lambda: MarketParams(10, 1, 0.1, 1e6, 1e-6, -1e-7), "permanent impact"),
        (lambda: MarketParams(10, 1, 0.1, 1e6, 1e-6, 1e-7, volume_profile=(0.0, 0.0)), "volume profile"),
        (lambda: POVParams(0.0), "participation rate"),
        (lambda: POVParams(1.5), "participation rate"),
        (lambda: TWAPParams(randomize_fraction=1.0), "randomisation"),
        (lambda: TWAPParams(seed=-1), "seed"),
        (lambda: registry.get("ac_discrete").make_params({"risk_aversion_per_usd": -1}), "risk aversion"),
        (lambda: registry.get("nope"), "unknown strategy"),
    ],
)
def test_invalid_input_raises_a_plain_message(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@settings(max_examples=60, deadline=None)
@given(shares=st.floats(-1e9, 0.0) | st.just(float("nan")), slices=st.integers(-100, 0))
def test_invalid_orders_always_raise(shares, slices):
    with pytest.raises(ValueError, match="order size"):
        Order("SYM", "sell", shares, 1.0, 10)
    with pytest.raises(ValueError, match="slices"):
        Order("SYM", "sell", 100, 1.0, slices)


def test_immediate_trades_everything_first(table1_order, table1_market):
    schedule = registry.get("immediate").schedule(table1_order, table1_market)
    assert schedule.trades_shares.tolist() == [1e6, 0, 0, 0, 0]
    assert schedule.blocks_shares.tolist() == [1e6, 0, 0, 0, 0]  # one block, whatever the grid
    cost = costs.estimate(schedule, table1_market)
    # docs/MATH.md section 11: one block of X sweeps the book, eps X + kappa X^2 / 2 with kappa = rho eta, and walks
    # through its own permanent impact, gamma X^2 / 2; V = 0; the same on any slice grid
    kappa = table1_market.transient_decay * table1_market.eta_usd_day_per_share2
    expected = 0.0625 * 1e6 + 0.5 * kappa * 1e12 + 0.5 * table1_market.gamma_usd_per_share2 * 1e12
    assert cost.expected_usd == pytest.approx(expected, rel=1e-12)
    assert cost.variance_usd2 == 0
    finer = registry.get("immediate").schedule(Order("DEMO", "sell", 1e6, 5.0, 390), table1_market)
    assert costs.estimate(finer).expected_usd == pytest.approx(cost.expected_usd, rel=1e-12)


def test_twap_closed_form(table1_order, table1_market):
    """docs/MATH.md section 8: E = 1/2 gamma X^2 + eps X + eta~ X^2 / T, V = 1/3 sigma^2 X^2 T (1 - 1/N)(1 - 1/(2N))."""
    for n in (1, 5, 390):
        order = Order("DEMO", "sell", 1e6, 5.0, n)
        cost = costs.estimate(twap(order, table1_market, TWAPParams()), table1_market)
        eta_t = 2.5e-6 - 0.5 * 2.5e-7 * 5.0 / n
        assert cost.expected_usd == pytest.approx(0.5 * 2.5e-7 * 1e12 + 0.0625e6 + eta_t * 1e12 / 5.0, rel=1e-12)
        variance = 0.95**2 * 1e12 * 5.0 / 3 * (1 - 1 / n) * (1 - 1 / (2 * n))
        assert cost.variance_usd2 == pytest.approx(variance, rel=1e-12, abs=1e-6)


def test_randomised_twap_is_reproducible():
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
    order = Order("DEMO", "buy", 123_457, 1.0, 50)
    first = twap(order, market, TWAPParams(0.3, seed=7)).trades_shares
    again = twap(order, market, TWAPParams(0.3, seed=7)).trades_shares
    other = twap(order, market, TWAPParams(0.3, seed=8)).trades_shares
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert first.sum() == pytest.approx(order.shares, rel=1e-12)
    mean_slice = order.shares / order.slices
    assert np.all(np.abs(first / mean_slice - 1) < 0.3 / 0.7 + 1e-9)  # within the rescaled band


def test_vwap_follows_the_volume_profile_and_its_closed_form():
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())
    order = Order("DEMO", "sell", 1e6, 1.0, 13)
    schedule = vwap(order, market, NoParams())
    volume = slice_market_volume(order, market)
    np.testing.assert_allclose(schedule.trades_shares / order.shares, volume / volume.sum(), rtol=1e-12)
    assert schedule.trades_shares[0] > schedule.trades_shares[6] < schedule.trades_shares[-1]  # U-shaped
    np.testing.assert_allclose(schedule.participation, order.shares / market.adv_shares, rtol=1e-9)
    # docs/MATH.md section 8: V = sigma^2 tau X^2 sum (1 - W_k)^2
    w = volume / volume.sum()
    variance = 0.95**2 * order.slice_days * 1e12 * np.sum((1 - np.cumsum(w)) ** 2)
    assert costs.estimate(schedule, market).variance_usd2 == pytest.approx(variance, rel=1e-10)
    flat_market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
    np.testing.assert_allclose(
        vwap(order, flat_market, NoParams()).holdings_shares,
        twap(order, flat_market, TWAPParams()).holdings_shares,
        rtol=1e-12,
    )


def test_pov_finishes_early_or_says_what_is_left():
    market = MarketParams(50.0, 0.95, 0.125, 1e6, 2.5e-6, 2.5e-7)
    quick = pov(Order("D", "buy", 50_000, 1.0, 10), market, POVParams(0.1))
    np.testing.assert_allclose(quick.trades_shares, [10_000] * 5 + [0] * 5, rtol=1e-12)
    assert quick.warnings == ()
    slow = pov(Order("D", "buy", 150_000, 1.0, 10), market, POVParams(0.1, max_participation=1.0))
    assert slow.trades_shares[:-1].tolist() == pytest.approx([10_000] * 9)
    assert slow.trades_shares[-1] == pytest.approx(60_000)
    assert slow.blocks_shares.tolist() == pytest.approx([0] * 9 + [50_000])  # the rest: one final block
    assert "50,000 shares (33.3% of the order) are left" in slow.warnings[0]
    # at the default 25% limit the final block (50% of its slice's volume) breaks it, and the row says so; the
    # last slice's worked 10,000 shares move to the slice before (room: 15,000)
    limited = pov(Order("D", "buy", 150_000, 1.0, 10), market, POVParams(0.1))
    assert limited.trades_shares.tolist() == pytest.approx([10_000] * 8 + [20_000, 50_000])
    assert "cannot respect the max participation of 25%" in limited.warnings[-1]
    assert "its maximum participation is 50%" in limited.warnings[-1]


def test_slice_market_volume_wraps_across_days():
    market = MarketParams(50.0, 0.95, 0.125, 1e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile())
    two_days = slice_market_volume(Order("D", "buy", 1, 2.0, 7, start_minutes_after_open=100), market)
    assert two_days.sum() == pytest.approx(2e6, rel=1e-12)
    one_day = slice_market_volume(Order("D", "buy", 1, 1.0, 390), market)
    np.testing.assert_allclose(one_day, 1e6 * np.array(market.volume_profile), rtol=1e-9)


def test_every_strategy_lies_on_or_above_the_frontier(table1_market):
    """No schedule worked at a rate beats the AC optimum at any risk aversion: E_s + lambda V_s >= E*(lambda) +
    lambda V*(lambda). Schedules with blocks (immediate, Obizhaeva–Wang, POV's final sweep) are priced by the block
    law, which Almgren–Chriss does not model, so the frontier does not bound them."""
    order = Order("DEMO", "sell", 1e6, 5.0, 20)
    lambdas = almgren_chriss.default_frontier_risk_aversions(order, table1_market)
    frontier = almgren_chriss.efficient_frontier(order, table1_market, lambdas)
    best = frontier.expected_usd + lambdas * frontier.std_usd**2
    assert np.all(np.diff(frontier.expected_usd) > 0) and np.all(np.diff(frontier.std_usd) < 0)
    for result in _resolved_plan(order, table1_market, {"risk_aversion_per_usd": 1e-6, "max_participation": 1.0}):
        if result.schedule.blocks_shares is not None:
            continue
        cost = costs.estimate(result.schedule, table1_market)
        assert np.all(cost.expected_usd + lambdas * cost.variance_usd2 >= best * (1 - 1e-12))


def test_var_and_objective(table1_order, table1_market):
    cost = costs.estimate(registry.get("ac_discrete").schedule(table1_order, table1_market), table1_market)
    assert cost.var_usd(0.95) == pytest.approx(911_226.99 + 1.6448536269514722 * 603_430.67, abs=0.01)
    assert cost.to_bps(cost.expected_usd) == pytest.approx(cost.expected_usd / 50e6 * 1e4, rel=1e-12)
    assert cost.to_bps(cost.expected_usd) == pytest.approx(182.2454, abs=1e-4)
    with pytest.raises(ValueError, match="confidence"):
        cost.var_usd(1.0)


def test_schedules_that_do_not_trade_the_order_are_refused(table1_order, table1_market):
    """Rounding is absorbed; a real shortfall is an error, never pushed into the last slice."""
    from optexec.models import Schedule

    nearly = Schedule.from_trades("x", table1_order, table1_market, [2e5, 2e5, 2e5, 2e5, 2e5 * (1 + 1e-12)])
    assert nearly.holdings_shares[-1] == 0 and nearly.trades_shares.sum() == pytest.approx(1e6, rel=1e-15)
    with pytest.raises(ValueError, match="does not trade the whole order"):
        Schedule.from_trades("x", table1_order, table1_market, [1e5] * 5)
    with pytest.raises(ValueError, match="does not trade the whole order"):
        Schedule.from_holdings("x", table1_order, table1_market, [0, 0, 0, 0, 0, 7e5])


# ----------------------------------------------------------------------------------------------------------------
# The RL agent's plan at many slices (issue 14 item 3): faster, and the same numbers to the last bit
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slices", [1, 7, 39, 400])
def test_agent_holdings_are_run_policys_to_the_last_bit(slices):
    """The plan's RL schedule no longer steps the simulator slice by slice; every holding is the same number."""
    from optexec.monte_carlo import run_policy
    from optexec.rl.agents import CrossEntropyAgent
    from optexec.rl.policy import AgentPolicy, agent_holdings
    from optexec.simulation.market import MarketModel, generate_market_paths

    order = Order("RL", "buy", 250_000, 1.5, slices, 30.0)
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile())
    agent = CrossEntropyAgent(min(10, slices), theta=[0.3, -0.8, 0.2, 0.5, -0.4, 0.3, 0.6])
    for model in (MarketModel(), MarketModel(fast_vol_of_vol_per_sqrt_day=1.0, initial_vol_ratio=1.5)):
        draw = generate_market_paths(order, market, model, 17, 3)
        looped = run_policy(AgentPolicy(order, market, agent), order, market, draw, 17)[5]
        np.testing.assert_array_equal(agent_holdings(AgentPolicy(order, market, agent), draw), looped)


@pytest.mark.parametrize("slices", [1, 50, 3_000])
def test_the_environment_played_in_copies_is_the_tiled_one_to_the_last_bit(slices):
    """``reset(paths=, copies=)`` gives the rewards, observations and costs of the tiled draw (``tile_paths``),
    with every cost component switched on (the calibrated model with transient impact)."""
    from optexec.rl.env import BatchExecutionEnv, EnvConfig, tile_paths
    from optexec.simulation.market import MarketModel, generate_market_paths

    order = Order("RL", "sell", 1e6, 3.0, slices)
    market = MarketParams.from_rules_of_thumb(
        50.0,
        0.95,
        0.125,
        5e6,
        volume_profile=u_shaped_volume_profile(),
        cost_model="calibrated",
        transient_strength_usd_per_share2=1e-7,
    )
    model = MarketModel(fast_vol_of_vol_per_sqrt_day=1)
    draw = generate_market_paths(order, market, model, 6, 2)
    fractions = np.random.default_rng(0).random((10, 24))
    played = BatchExecutionEnv(order, market, EnvConfig(10, 1e-6, model))
    tiled = BatchExecutionEnv(order, market, EnvConfig(10, 1e-6, model))
    obs_a, obs_b = played.reset(paths=draw, copies=4), tiled.reset(paths=tile_paths(draw, 4))
    np.testing.assert_array_equal(obs_a, obs_b)
    period = 0
    while not played.done:
        (obs_a, reward_a, _), (obs_b, reward_b, _) = played.step(fractions[period]), tiled.step(fractions[period])
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(reward_a, reward_b)
        period += 1
    np.testing.assert_array_equal(played.cost_usd, tiled.cost_usd)
