"""RL execution agent: environment = simulator accounting, DP optimum = Almgren–Chriss, agents, storage, registry."""

import dataclasses
import math

import numpy as np
import pytest

from optexec.market import BUCKETS, SliceStep, cost_model
from optexec.models import MarketParams, Order, u_shaped_volume_profile
from optexec.monte_carlo import SimulationConfig, run_policy, simulate_strategies
from optexec.rl import storage
from optexec.rl.agents import (
    CrossEntropyAgent,
    QLearningAgent,
    Stage,
    agent_from_dict,
    calm_model,
    run_greedy,
    train_curriculum,
)
from optexec.rl.dp import DPAgent, solve_dp, solve_dp_fractions
from optexec.rl.env import BatchExecutionEnv, EnvConfig, period_bounds, tile_paths
from optexec.rl.evaluate import agent_strategy, evaluate
from optexec.rl.policy import AgentPolicy
from optexec.rl.training import regime
from optexec.simulation.market import MarketModel, generate_market_paths
from optexec.strategies import rl_agent
from optexec.strategies.registry import get as registry_get
from tests.shown import shown

T4_OBJECTIVE = 1_275_355.56  # docs/MATH.md section 9, T4: E + lambda V at lambda = 1e-6
T4_HOLDINGS = [1e6, 541955.55, 289854.22, 147897.49, 62141.80, 0.0]


def intraday(slices: int = 78, side: str = "sell", **costs) -> tuple[Order, MarketParams]:
    """An intraday order; ``costs``: the market's cost model and its parameters (MarketParams fields)."""
    order = Order("DEMO", side, 250_000, 1.0, slices)
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile(), **costs)
    return order, market


def test_episode_cost_is_the_simulators_shortfall_on_the_same_paths():
    """(Every cost model, bucket by bucket: tests/test_model_consistency.py.)"""
    order, market = intraday(side="buy", cost_model="linear+transient", transient_strength_usd_per_share2=1e-7)
    model = MarketModel(fast_vol_of_vol_per_sqrt_day=1.0, initial_vol_ratio=1.3)
    agent = CrossEntropyAgent(10, [0.3, -1.0, 0.2, 1.0, 0.5, 0.3, 0.2])
    env = BatchExecutionEnv(order, market, EnvConfig(10, 0.0, model))
    cost, penalty = run_greedy(agent, env, 300, 3)
    paths = generate_market_paths(order, market, model, 300, 3)
    simulated = run_policy(AgentPolicy(order, market, agent), order, market, paths, 0)[0]
    assert np.max(np.abs(cost - simulated)) < 1e-6 * order.shares * market.price_usd * 1e-4
    assert np.all(penalty == 0.0)
    assert np.std(cost) > 0  # the paths really differ


def test_twap_agent_costs_exactly_what_the_twap_schedule_costs_in_the_simulator():
    order, market = intraday(slices=80)  # 8 slices a period: the agent's even split is TWAP's
    twap_agent = CrossEntropyAgent(10)  # theta = [0, -1, 0, ...]: a = 1 / periods left
    fractions = [twap_agent.fractions(np.ones((1, 6)), j, 10)[0] for j in range(9)]
    assert fractions == pytest.approx([1 / (10 - j) for j in range(9)], rel=1e-12)
    result = simulate_strategies(order, market, [registry_get("twap"), agent_strategy("cem", "CEM", twap_agent)],
                                 config=SimulationConfig(500, 1))  # fmt: skip
    twap, agent = result.runs
    assert agent.kind == "policy"
    assert np.max(np.abs(agent.cost_usd - twap.cost_usd)) < 1e-6


def per_slice_episode(order, market, config, paths, fractions):
    """The environment's accounting written out one slice and one path array at a time with the cost model's
    ``charge`` (no copies, no (copies, paths) views): per period the rewards and the shares left, (P, B) each;
    then the cost, risk penalty and transient displacement per path after the episode."""
    model = cost_model(market)
    bounds = period_bounds(order.slices, config.periods)
    sign, tau, lam = order.side_sign, order.slice_days, config.risk_aversion_per_usd
    sigma2 = market.sigma_usd_per_sqrt_day**2
    remaining, level = np.full(paths.paths, order.shares), np.zeros(paths.paths)
    total_cost, total_penalty, rewards, left = 0.0, 0.0, [], []
    for j in range(len(bounds) - 1):
        fraction = np.ones(paths.paths) if j == len(bounds) - 2 else np.clip(fractions[j], 0.0, 1.0)
        per_slice = fraction * remaining / (bounds[j + 1] - bounds[j])
        cost, penalty = np.zeros(paths.paths), np.zeros(paths.paths)
        for k in range(bounds[j], bounds[j + 1]):
            traded = remaining.copy() if k == order.slices - 1 else np.minimum(per_slice, remaining)
            step = SliceStep(0.0, traded, traded, paths.volume_shares[:, k], paths.spread_usd[:, k],
                             order.shares - remaining, level, tau)  # fmt: skip
            charges, level = model.charge(step)
            for name in BUCKETS:
                cost += charges[name]
            remaining = remaining - traded
            cost += sign * remaining * (paths.mid_usd[:, k + 1] - paths.mid_usd[:, k])
            variance = np.maximum(paths.fast_variance[:, k] + paths.slow_variance[:, k] - sigma2, 0.0)
            penalty += lam * variance * tau * remaining**2
        total_cost, total_penalty = total_cost + cost, total_penalty + penalty
        rewards.append(-(cost + penalty))
        left.append(remaining)
    return np.array(rewards), np.array(left), total_cost, total_penalty, np.broadcast_to(level, remaining.shape)


@pytest.mark.parametrize("side", ["buy", "sell"])
@pytest.mark.parametrize(
    "costs, model",
    [
        ({}, MarketModel()),
        ({"cost_model": "linear+transient", "transient_strength_usd_per_share2": 1e-7},
         MarketModel(fast_vol_of_vol_per_sqrt_day=1.0, initial_vol_ratio=1.3)),
        ({"cost_model": "calibrated", "transient_strength_usd_per_share2": 1e-7}, MarketModel()),
        ({"cost_model": "calibrated", "power_exponent": 0.5, "power_coefficient": 1.0},
         MarketModel(slow_vol_of_vol_per_sqrt_day=0.5)),
    ],
    ids=["linear", "transient+stochastic-vol", "power+transient", "square-root"],
)  # fmt: skip
def test_batched_episodes_equal_the_per_slice_loop(side, costs, model):
    """The batch and its copies played at once: rewards, shares left, costs, penalties and the displacement equal
    the written-out loop (the shares left exactly: the same subtractions)."""
    order, market = intraday(slices=78, side=side, **costs)  # periods of 7 and 8 slices
    config = EnvConfig(10, 1e-6, model)
    for batch, copies in ((64, 1), (1, 1), (16, 3)):
        fractions = np.random.default_rng(batch).uniform(-0.2, 1.2, (10, batch * copies))  # clipped to [0, 1]
        fractions[:, ::5] = 0.0
        fractions[:, 1::5] = 1.0
        fractions[3, 2::5] = 1.0  # finished before the last period
        paths = generate_market_paths(order, market, model, batch, 5)
        played = tile_paths(paths, copies)
        rewards, left, cost, penalty, level = per_slice_episode(order, market, config, played, fractions)
        env = BatchExecutionEnv(order, market, config)
        obs = env.reset(paths=paths, copies=copies)
        for j in range(10):
            assert not env.done
            obs, reward, _ = env.step(fractions[j])
            np.testing.assert_allclose(reward, rewards[j], rtol=1e-12, atol=1e-9)
            np.testing.assert_array_equal(env.remaining, left[j])  # the same subtractions: exactly equal
            np.testing.assert_allclose(obs[:, 0], left[j] / order.shares, rtol=1e-12, atol=1e-15)
        assert env.done and np.all(env.remaining == 0.0)
        np.testing.assert_allclose(env.cost_usd, cost, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(env.penalty_usd, penalty, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(env.level, level, rtol=1e-12, atol=1e-15)
        if batch > 1:  # the cases are there: done early, still trading late, risk penalty on every path
            assert np.any(left[3] == 0.0) and np.any(left[8] > 0) and np.all(penalty > 0)


def test_reset_with_the_same_seed_reuses_its_paths():
    order, market = intraday()
    env = BatchExecutionEnv(order, market)
    env.reset(8, 3)
    drawn = env.paths
    np.testing.assert_array_equal(drawn.mid_usd, generate_market_paths(order, market, MarketModel(), 8, 3).mid_usd)
    env.reset(paths=generate_market_paths(order, market, MarketModel(), 4, 1))
    env.reset(8, 3)
    assert env.paths is drawn
    env.reset(8, 4)
    assert env.paths is not drawn and not np.array_equal(env.paths.mid_usd, drawn.mid_usd)
    env.reset(8)
    first = env.paths
    env.reset(8)
    assert env.paths is not first  # no seed: fresh paths every time


def test_period_bounds():
    assert period_bounds(390, 10).tolist() == [0, 39, 78, 117, 156, 195, 234, 273, 312, 351, 390]
    assert period_bounds(3, 10).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="decision periods"):
        period_bounds(10, 0)


def test_dp_reproduces_almgren_chriss_table_1(table1_order, table1_market):
    """docs/MATH.md section 9, T4: the grid DP with one period per slice is the discrete AC optimum."""
    solution = solve_dp(table1_order, table1_market, EnvConfig(5, 1e-6, calm_model()), grid_points=1001)
    assert solution.objective_usd == pytest.approx(T4_OBJECTIVE, rel=1e-6)
    assert solution.objective_usd >= T4_OBJECTIVE - 0.01  # a grid cannot beat the continuous optimum
    assert np.max(np.abs(solution.holdings_path() - T4_HOLDINGS)) <= 1000.0  # one grid step


def test_dp_is_twap_when_risk_neutral_and_front_loads_against_an_adverse_drift():
    order, market = intraday(slices=10)
    flat = solve_dp(order, market, EnvConfig(10, 0.0, calm_model()), grid_points=101).holdings_path()
    assert flat == pytest.approx(np.linspace(order.shares, 0, 11), abs=1e-6)
    trending = regime("trending", order, market)[0]
    urgent = solve_dp(order, trending, EnvConfig(10, 0.0, calm_model()), grid_points=101).holdings_path()
    assert np.all(urgent[1:-1] < flat[1:-1])


def test_dp_value_is_the_mean_outcome_of_its_policy_in_the_environment():
    order, market = intraday()
    config = EnvConfig(10, 1e-6, calm_model())
    solution = solve_dp(order, market, config, grid_points=201)
    cost, penalty = run_greedy(DPAgent(solution), BatchExecutionEnv(order, market, config), 4000, 9)
    total = cost + penalty
    assert abs(total.mean() - solution.objective_usd) < 3 * total.std() / math.sqrt(total.size)


def test_trained_agents_do_not_beat_the_dp_bounds_and_cem_learns_to_front_load_a_trend():
    order, market = intraday()
    config = EnvConfig(10, 1e-6, calm_model())
    bound = solve_dp(order, market, config, grid_points=201).objective_usd
    discrete_bound = solve_dp_fractions(order, market, config).objective_usd
    assert discrete_bound > bound  # fractions in steps of 10% are a restriction
    for agent, agent_bound in ((QLearningAgent(10), discrete_bound), (CrossEntropyAgent(10), bound)):
        train_curriculum(agent, order, market, [Stage("calm", calm_model())], 4, batch=64, validation=32)
        cost, penalty = run_greedy(agent, BatchExecutionEnv(order, market, config), 2000, 77)
        total = cost + penalty
        assert total.mean() > agent_bound - 3 * total.std() / math.sqrt(total.size), agent.kind
    trending = regime("trending", order, market)[0]
    cem = CrossEntropyAgent(10)
    curve = train_curriculum(cem, order, trending, [Stage("trending", MarketModel())], 12, population=24, batch=32)
    assert curve[-1]["objective_bps"] < curve[0]["objective_bps"] - 1.0
    table = evaluate(order, market, {"cem": cem}, "trending", paths=2000, periods=10)
    rows = table.set_index("strategy")
    row = rows.loc["cem"]
    assert row.improvement_vs_twap_pct > 3 * row.improvement_stderr_pct > 0
    assert rows.loc["DP optimum", "improvement_vs_twap_pct"] > 0  # the bound front-loads against the trend too


def test_agents_round_trip_through_dicts():
    obs = np.array([[0.7, 0.3, 1.1, 0.9, 1.2, 0.0], [0.2, 0.6, 0.9, 1.3, 0.8, 0.0]])
    q = QLearningAgent(10, np.arange(120, dtype=float).reshape(10, 12) / 100)
    cem = CrossEntropyAgent(10, [0.1, -1, 0.3, 0.2, 0.1, -0.2, 0.4])
    for agent in (q, cem):
        again = agent_from_dict(agent.to_dict())
        assert np.array_equal(again.fractions(obs, 3, 10), agent.fractions(obs, 3, 10))
    with pytest.raises(ValueError, match="unknown agent kind"):
        agent_from_dict({"kind": "ppo"})


def test_policies_are_saved_and_loaded_from_the_store(tmp_path):
    from optexec.store import db

    con = db.open_database(tmp_path / "rl.duckdb")
    order, market = intraday()
    key = storage.problem_key(order, market, 1e-6, 10)
    assert key != storage.problem_key(order, market, 2e-6, 10)
    assert storage.load_policy(key, con=con) is None
    agent = CrossEntropyAgent(10, [0.1, -1, 0.3, 0.2, 0.1, -0.2, 0.4])
    storage.save_policy("first", key, agent, {"cost_bps": 1.5}, con=con)
    storage.save_policy("first", key, agent, {"cost_bps": 1.2}, con=con)  # replaces
    loaded, info = storage.load_policy(key, "cross_entropy", con=con)
    assert np.array_equal(loaded.theta, agent.theta) and info["summary"] == {"cost_bps": 1.2}
    assert storage.load_policy(key, "q_learning", con=con) is None
    assert len(storage.list_policies(con)) == 1
    with pytest.raises(ValueError, match="name"):
        storage.save_policy(" ", key, agent, con=con)
    con.close()


def test_registry_strategy_warns_without_a_stored_policy_and_uses_one_when_stored():
    from optexec.monte_carlo import simulate
    from optexec.planning import make_plan

    order, market = intraday()
    strategy = rl_agent.STRATEGIES[0]
    settings = {"rl_agent": "cross_entropy"}
    with pytest.raises(ValueError, match="no trained agent was given"):  # build is pure: the caller resolves
        strategy.schedule(order, market, settings)
    schedule = make_plan(order, market, settings, ["rl_agent"]).rows[0].schedule
    assert schedule.holdings_shares[0] == order.shares and schedule.holdings_shares[-1] == 0
    assert np.all(np.diff(schedule.holdings_shares) <= 1e-9)
    assert any("no trained cross-entropy policy" in w for w in schedule.warnings)
    key = storage.problem_key(order, market, 1e-6, 10)
    stored = CrossEntropyAgent(10, [2.0, 0, 0, 0, 0, 0, 0])  # ~88% of the remainder each period
    storage.save_policy("test-fast", key, stored)
    schedule = make_plan(order, market, settings, ["rl_agent"]).rows[0].schedule
    # the stored agent, no fallback note; ~88% of the remainder in one period goes past the 25% participation
    # limit, which its policy does not take, and the row says so
    (warning,) = schedule.warnings
    assert warning.startswith("cannot respect the max participation of 25%: its trained policy does not take")
    assert schedule.holdings_shares[8] < 0.2 * order.shares  # after one period of 8 slices
    result = simulate(order, market, settings, ["rl_agent"], SimulationConfig(200, 0))
    assert result.runs[0].kind == "policy" and result.runs[0].unfinished_share == 0.0


def test_a_new_risk_aversion_neither_reads_the_store_nor_trains(monkeypatch):
    """The default agent is trained once per order shape and market (at the shared default λ, said in the row)
    and the stored policies are read once: a slider move to a new λ spends no time training or reading."""
    from optexec.planning import make_plan
    from optexec.rl import resolve
    from optexec.rl import training as rl_training
    from optexec.store import db

    order, market = intraday(40, "buy")
    first = make_plan(order, market, {"risk_aversion_per_usd": 1e-6}, ["rl_agent"]).rows[0]
    assert first.schedule is not None and "at λ = 1e-06 /$)" in first.schedule.warnings[0]

    def forbidden(*args, **kwargs):
        raise AssertionError("a new λ read the store or trained an agent")

    monkeypatch.setattr(db, "reading", forbidden)
    monkeypatch.setattr(resolve, "train_default_agent", forbidden)
    monkeypatch.setattr(rl_training, "train_for_regime", forbidden)
    for lam in (2.5e-6, 7e-6):
        row = make_plan(order, market, {"risk_aversion_per_usd": lam}, ["rl_agent"]).rows[0]
        assert row.error is None
        assert f"not the plan's λ = {lam:g} /$" in row.schedule.warnings[0]
        np.testing.assert_array_equal(row.schedule.holdings_shares, first.schedule.holdings_shares)


def test_the_rl_row_says_while_the_default_agent_is_still_training(monkeypatch):
    import threading

    from optexec.planning import make_plan
    from optexec.rl import resolve

    release = threading.Event()
    monkeypatch.setattr(resolve, "train_default_agent", lambda *args: release.wait(30) and None)
    order, market = intraday(33)
    monkeypatch.setattr(resolve, "WAIT_SECONDS", 0.05)
    try:
        row = make_plan(order, market, {}, ["rl_agent"]).rows[0]
        assert row.schedule is None and "still training in the background" in row.error
    finally:
        release.set()
        resolve.forget_default_agents()


def test_rl_params_are_validated():
    with pytest.raises(ValueError, match="cross_entropy or q_learning"):
        rl_agent.RLParams(rl_agent="ppo")
    with pytest.raises(ValueError, match="risk aversion"):
        rl_agent.RLParams(risk_aversion_per_usd=-1.0)
    with pytest.raises(ValueError, match="transient"):
        order, market = intraday(cost_model="linear+transient")
        solve_dp(order, market, EnvConfig(10, 0.0, MarketModel()))


def test_rl_page_trains_with_a_curve_saves_and_evaluates():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = Path(__file__).resolve().parents[1] / "pages" / "rl.py"
    at = AppTest.from_file(str(page), default_timeout=120).run()
    assert not at.exception and not at.error
    at.number_input(key="rl_iterations").set_value(3)
    at.text_input(key="rl_name").set_value("page-test")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert any("page-test" in shown(s.value) for s in at.success)
    curve = at.get("plotly_chart")[0].proto.spec
    assert "shortfall" in curve
    at.number_input(key="rl_paths").set_value(300)
    at.button[1].click().run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "Strategy" in d.value.columns)
    assert list(table["Strategy"])[:5] == ["TWAP", "VWAP", "Almgren–Chriss", "DP optimum", "DP optimum (10% steps)"]
    assert table["Mean cost vs TWAP"].iloc[0] == "reference"
    # "vs TWAP" is in words, signed so that cheaper reads as cheaper: it agrees with the mean costs beside it
    twap = table["Mean cost (bps)"].iloc[0]
    for _, row in table.iloc[1:].iterrows():
        words = row["Mean cost vs TWAP"]
        if words != "the same":
            assert words.endswith("cheaper" if row["Mean cost (bps)"] < twap else "dearer"), (words, row.to_dict())
    assert table["E + λ·Var ($)"].str.startswith("$").all()
    # the learning curve and the "Saved" message stay on the page after Evaluate (until the inputs change)
    assert any("page-test" in shown(s.value) for s in at.success)
    assert "shortfall" in at.get("plotly_chart")[0].proto.spec
    policies = next(d.value for d in at.dataframe if "Name" in d.value.columns)
    assert "page-test" in set(policies["Name"])
    assert "summary" not in policies.columns and not policies.isin(["None"]).any().any()
    texts = [shown(m.value) for m in [*at.markdown, *at.caption, *at.info, *at.success]]
    assert not any("None" in t or "brief" in t or "--" in t for t in texts), texts
    at.number_input(key="shares.SYN-LARGE").set_value(123_000.0).run()  # a new order: the old agent's result goes
    assert not at.exception
    assert not any("page-test" in shown(s.value) for s in at.success) and not at.get("plotly_chart")


def test_the_quick_agent_of_a_fine_grid_trains_on_390_slices_and_costs_the_same():
    """At 23,400 slices the quick agent is the one trained on 390 slices of the same horizon (its 10 decisions
    fall at the same times), says so, and its plan costs what the 390-slice plan costs."""
    from optexec.planning import cost_table, make_plan

    market = MarketParams.from_rules_of_thumb(50.0, 0.95, 0.125, 5e6)
    fine = Order("DEMO", "sell", 250_000, 1.0, 23_400)
    coarse = dataclasses.replace(fine, slices=390)
    assert rl_agent.training_order(fine) == coarse and rl_agent.training_order(coarse) == coarse
    from optexec.rl.resolve import train_default_agent

    trained = [train_default_agent(o, market, "cross_entropy").to_dict() for o in (fine, coarse)]
    assert json_equal(trained[0], trained[1])
    rows = {}
    for order in (fine, coarse):
        plan = make_plan(order, market, {"risk_aversion_per_usd": 1e-6}, ["rl_agent"])
        rows[order.slices] = cost_table(plan).iloc[0]
        warnings = plan.rows[0].schedule.warnings
        assert any("on 390 slices of the same horizon" in w for w in warnings) == (order is fine)
    assert rows[23_400]["expected_cost_bps"] == pytest.approx(rows[390]["expected_cost_bps"], abs=0.5)
    assert rows[23_400]["std_cost_bps"] == pytest.approx(rows[390]["std_cost_bps"], rel=0.02)


def json_equal(a, b) -> bool:
    import json

    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def test_a_curriculum_stage_may_train_under_another_cost_model():
    """Stage.cost_model switches the market's cost model for that stage (dataclasses.replace), None keeps it: the
    calibrated stage's episodes cost what the calibrated market's environment charges, not the linear one's."""
    order, market = intraday(slices=39)
    stage = Stage("calibrated", calm_model(), cost_model="calibrated")
    assert stage.market(market) == dataclasses.replace(market, cost_model="calibrated")
    assert Stage("same", calm_model()).market(market) is market
    agent = CrossEntropyAgent(10)
    costs = {}
    for name, chosen in (("linear", market), ("calibrated", stage.market(market))):
        costs[name] = run_greedy(agent, BatchExecutionEnv(order, chosen, EnvConfig(10, 0.0, calm_model())), 8, 1)[0]
    assert not np.allclose(costs["linear"], costs["calibrated"])


def test_evaluation_under_transient_impact_leaves_out_the_dp_rows_and_says_so():
    order, market = intraday()
    transient = dataclasses.replace(market, cost_model="linear+transient")
    table = evaluate(order, transient, {}, "calm", paths=200, periods=4)
    assert not table["strategy"].str.startswith("DP").any()
    (note,) = table.attrs["notes"]
    assert "does not model transient impact" in note and "linear+transient" in note
    linear = evaluate(order, market, {}, "calm", paths=200, periods=4)
    assert linear["strategy"].str.startswith("DP").sum() == 2 and linear.attrs["notes"] == []
