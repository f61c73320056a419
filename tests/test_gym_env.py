"""The Gymnasium execution environment (optexec.rl.gym_env): Gymnasium's checker, registration and keyword
arguments, seeding, the simulator's shortfall for the same trades on the same path, and the docs example."""

import dataclasses
import importlib
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

import optexec.rl
from optexec.market import BUCKETS
from optexec.models import MarketParams, Order, Schedule, u_shaped_volume_profile
from optexec.monte_carlo import run_policy
from optexec.rl import ENV_ID
from optexec.rl.agents import calm_model
from optexec.rl.env import DISCRETE_ACTIONS, FEATURES, period_bounds
from optexec.rl.gym_env import ExecutionEnv
from optexec.simulation.market import MarketModel, generate_market_paths
from optexec.strategies.base import SchedulePolicy

DOC = Path(__file__).resolve().parents[1] / "docs" / "gymnasium.md"
CALIBRATED = {"cost_model": "calibrated", "power_exponent": 0.5, "power_coefficient": 1.0,
              "transient_strength_usd_per_share2": 1e-7}  # fmt: skip
BUSY = MarketModel(fast_vol_of_vol_per_sqrt_day=1.0, initial_vol_ratio=1.3)  # stochastic volatility: a risk term


def intraday(slices: int = 78, side: str = "sell", **costs) -> tuple[Order, MarketParams]:
    """An intraday order of 5% ADV on the Almgren–Chriss Table 1 stock (docs/MATH.md section 2)."""
    order = Order("DEMO", side, 250_000, 1.0, slices)
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=u_shaped_volume_profile(), **costs)
    return order, market


def episode(env, seed, actions):
    """(observations, rewards, infos) of one episode from reset(seed) with the given actions, in order (the last
    one repeated when the episode is longer)."""
    obs, info = env.reset(seed=seed)
    observations, rewards, infos = [obs], [], [info]
    for j in range(env.unwrapped.periods):
        obs, reward, terminated, truncated, info = env.step(actions[min(j, len(actions) - 1)])
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        assert not truncated
        if terminated:
            break
    assert terminated
    return observations, rewards, infos


@pytest.mark.parametrize("discrete", [False, True])
def test_gymnasiums_checker_passes_with_every_warning_an_error(discrete):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gymnasium.make(ENV_ID, discrete=discrete)
        check_env(env.unwrapped)
    assert env.unwrapped.observation_space.dtype == np.float32
    assert env.unwrapped.observation_space.shape == (len(FEATURES),)
    assert np.all(np.isfinite(env.unwrapped.observation_space.low))
    assert np.all(np.isfinite(env.unwrapped.observation_space.high))
    if discrete:
        assert env.unwrapped.action_space == spaces.Discrete(len(DISCRETE_ACTIONS))
    else:
        assert env.unwrapped.action_space == spaces.Box(0.0, 1.0, (1,), np.float32)


def test_the_checker_as_run_here_does_flag_a_fault():
    """The test above could fail: the same checker, warnings as errors, rejects infinite observation bounds."""

    class Unbounded(ExecutionEnv):
        def __init__(self):
            super().__init__()
            self.observation_space = spaces.Box(-np.inf, np.inf, (len(FEATURES),), np.float32)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="infinity"):
            check_env(Unbounded())


def test_registration_survives_a_second_import_without_a_warning():
    spec = gymnasium.spec(ENV_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(optexec.rl)
    assert gymnasium.spec(ENV_ID) == spec
    assert spec.entry_point == "optexec.rl.gym_env:ExecutionEnv"
    assert isinstance(gymnasium.make(ENV_ID).unwrapped, ExecutionEnv)


@pytest.mark.parametrize(
    "code",
    [
        "import gymnasium, optexec.rl; gymnasium.make('optexec/Execution-v0').reset(seed=0)",
        "import gymnasium; gymnasium.make('optexec.rl:optexec/Execution-v0').reset(seed=0)",  # make imports it
    ],
)
def test_a_fresh_process_makes_the_environment_without_a_warning(code):
    root = Path(__file__).resolve().parents[1]
    environ = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], cwd=root, env=environ, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_make_passes_its_keyword_arguments_to_the_environment():
    order, market = intraday(slices=40, side="buy")
    env = gymnasium.make(ENV_ID, order=dataclasses.asdict(order), market=market, periods=4,
                         risk_aversion_per_usd=2e-6, model=BUSY, cost_model="linear+transient", discrete=True,
                         reward_unit="usd", seed=3)  # fmt: skip
    inner = env.unwrapped
    assert inner.order == order
    assert inner.market == dataclasses.replace(market, cost_model="linear+transient")
    config = inner.engine.config
    assert inner.periods == 4 and config.risk_aversion_per_usd == 2e-6 and config.model == BUSY
    assert inner.discrete and inner.reward_unit == "usd"
    # the constructor's seed seeds the first reset without one: the same episode as reset(seed=3)
    obs, info = env.reset()
    again = gymnasium.make(ENV_ID, order=order, market=market, periods=4, model=BUSY, cost_model="linear+transient")
    assert np.array_equal(obs, again.reset(seed=3)[0])
    assert info["market_seed"] == again.unwrapped.market_seed


def test_the_defaults_are_the_demo_order_and_market():
    inner = gymnasium.make(ENV_ID).unwrapped
    order, market = intraday()
    assert inner.order == order and inner.market == market
    assert inner.periods == 10 and inner.reward_unit == "bps" and not inner.discrete


def test_the_same_seed_gives_the_same_episode_and_another_seed_another():
    env = gymnasium.make(ENV_ID, model=BUSY)
    actions = [np.array([0.2], np.float32)]
    first = episode(env, 4, actions)
    again = episode(gymnasium.make(ENV_ID, model=BUSY), 4, actions)  # a new environment, too
    for a, b in zip(first, again, strict=True):
        assert all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, b, strict=True))
    other = episode(env, 5, actions)
    assert other[1] != first[1]
    # the seed starts a stream: reset(seed) then reset() replays as well
    env.reset(seed=9)
    follow = env.reset()[0]
    env.reset(seed=9)
    assert np.array_equal(env.reset()[0], follow)


def the_twap_like_episode(env):
    """Fractions 1/(P - j) of the shares left at period j, as actions, and the child orders they send per slice:
    X / P in each period, even over its slices."""
    order, periods = env.order, env.periods
    bounds = period_bounds(order.slices, periods)
    actions = [np.array([1.0 / (periods - j)]) for j in range(periods)]  # float64: the fractions exactly
    trades = np.concatenate(
        [np.full(b - a, order.shares / periods / (b - a)) for a, b in zip(bounds, bounds[1:], strict=False)]
    )
    return actions, trades


@pytest.mark.parametrize("side", ["buy", "sell"])
@pytest.mark.parametrize(
    "slices, costs",
    [
        (80, {}),
        (78, {"cost_model": "linear+transient", "transient_strength_usd_per_share2": 1e-7}),
        (78, CALIBRATED),
    ],
)
def test_an_episodes_dollar_rewards_are_minus_the_simulators_shortfall_and_the_risk_penalty(side, slices, costs):
    order, market = intraday(slices, side, **costs)
    lam = 1e-6
    env = ExecutionEnv(order, market, periods=10, risk_aversion_per_usd=lam, model=BUSY, reward_unit="usd")
    actions, trades = the_twap_like_episode(env)
    _, rewards, infos = episode(env, 21, actions)
    # the same trades on the same market path (drawn again from the episode's seed) in the simulator
    paths = generate_market_paths(order, market, BUSY, 1, infos[0]["market_seed"])
    schedule = Schedule.from_trades("twap-like", order, market, trades)
    shortfall, components, *_ = run_policy(SchedulePolicy(schedule), order, market, paths, 0)
    holdings = schedule.holdings_shares[1:]  # x_{k+1}
    sigma2 = market.sigma_usd_per_sqrt_day**2
    variance = np.maximum(paths.fast_variance[0, :-1] + paths.slow_variance[0, :-1] - sigma2, 0.0)  # v_k
    penalty = lam * order.slice_days * np.sum(variance * holdings**2)  # lambda sum_k v_k tau x_{k+1}^2
    assert penalty > 0 and np.ptp(variance) > 0  # the risk term is there and the volatility moves
    assert sum(rewards) == pytest.approx(-(shortfall[0] + penalty), rel=1e-9)
    played = infos[1:]
    assert infos[-1]["episode_shortfall_usd"] == pytest.approx(shortfall[0], rel=1e-9)
    assert sum(i["cost_usd"] for i in played) == pytest.approx(shortfall[0], rel=1e-9)
    assert sum(i["risk_penalty_usd"] for i in played) == pytest.approx(penalty, rel=1e-9)
    for name in BUCKETS:  # component by component (the transient bucket is 0 without transient impact)
        assert sum(i[f"{name}_usd"] for i in played) == pytest.approx(components[name][0], rel=1e-9, abs=1e-6)
    assert sum(i["market_move_usd"] for i in played) == pytest.approx(components["timing"][0], rel=1e-9, abs=1e-6)
    # the default reward is the same in bps of the arrival notional
    bps = episode(ExecutionEnv(order, market, 10, lam, BUSY), 21, actions)[1]
    notional = order.shares * market.price_usd
    assert np.allclose(np.array(bps) * notional / 1e4, rewards, rtol=1e-12, atol=0)


@pytest.mark.parametrize("discrete", [False, True])
def test_a_random_policy_finishes_the_order_within_the_periods(discrete):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the passive checker of gymnasium.make's wrappers finds nothing either
        env = gymnasium.make(ENV_ID, model=BUSY, discrete=discrete)
        env.action_space.seed(1)
        obs, info = env.reset(seed=2)
        steps, traded, terminated = 0, 0.0, False
        while not terminated:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            steps += 1
            traded += info["shares_traded"]
            assert not truncated and np.isfinite(reward) and obs in env.observation_space
            assert steps <= env.unwrapped.periods
        assert steps == env.unwrapped.periods
        assert info["shares_left"] == 0.0 and obs[0] == 0.0
        assert traded == pytest.approx(env.unwrapped.order.shares, rel=1e-12)
        with pytest.raises(ValueError, match="call reset"):
            env.step(env.action_space.sample())


def test_selling_everything_at_once_costs_the_closed_form():
    """sigma = 0, no noise: 100% in the first of 4 periods (5 slices of 20) costs eps X + eta X^2 / (m tau)
    + gamma (X^2 - m (X / m)^2) / 2 (docs/MATH.md section 8), whatever the later actions."""
    order, market = intraday(slices=20)
    market = dataclasses.replace(market, sigma_usd_per_sqrt_day=0.0)
    env = ExecutionEnv(order, market, periods=4, model=calm_model(), discrete=True, reward_unit="usd")
    _, rewards, infos = episode(env, 11, [10, 3])
    assert infos[1]["shares_left"] == 0.0 and infos[1]["fraction"] == 1.0
    x, m, tau = order.shares, 5, order.slice_days
    expected = (market.half_spread_usd * x + market.eta_usd_day_per_share2 * x**2 / (m * tau)
                + market.gamma_usd_per_share2 * (x**2 - m * (x / m) ** 2) / 2)  # fmt: skip
    assert infos[-1]["episode_shortfall_usd"] == pytest.approx(expected, rel=1e-12)
    assert sum(rewards) == pytest.approx(-expected, rel=1e-12)  # sigma = 0: no risk penalty


@pytest.mark.parametrize(
    "discrete, action",
    [(False, 1.5), (False, -0.1), (False, np.array([np.nan])), (False, [0.2, 0.3]), (False, "half"),
     (True, 11), (True, -1), (True, 2.5)],
)  # fmt: skip
def test_an_action_outside_the_space_is_refused_not_clipped(discrete, action):
    env = ExecutionEnv(discrete=discrete)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="the action must be"):
        env.step(action)
    assert env.engine.period == 0  # nothing was traded


def test_bad_settings_are_refused_or_said():
    with pytest.raises(ValueError, match="render_mode must be None"):
        ExecutionEnv(render_mode="human")
    with pytest.raises(ValueError, match="reward unit"):
        ExecutionEnv(reward_unit="eur")
    with pytest.raises(ValueError, match="cost model"):
        ExecutionEnv(cost_model="quadratic")
    with pytest.raises(ValueError, match="order"):
        ExecutionEnv(order="sell 1000 DEMO")
    with pytest.raises(ValueError, match="order size"):
        ExecutionEnv(order={"symbol": "DEMO", "side": "sell", "shares": -5, "horizon_days": 1, "slices": 10})
    with pytest.raises(ValueError, match="seed"):
        ExecutionEnv(seed=-1)
    with pytest.raises(ValueError, match="reset options"):
        ExecutionEnv().reset(options={"shares": 10})
    with pytest.warns(UserWarning, match="5 decision periods, not 10"):
        env = ExecutionEnv(order=intraday(slices=5)[0])
    assert env.periods == 5


def docs_example() -> str:
    """The first python code block of docs/gymnasium.md (the text pasted into the README)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks, f"{DOC} has no python code block"
    return blocks[0]


def test_the_docs_training_example_runs_and_beats_its_baseline(capsys):
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(docs_example(), str(DOC), "exec"), namespace)
    trained, baseline = namespace["trained_mean"], namespace["baseline_mean"]
    assert np.isfinite(trained) and np.isfinite(baseline)
    assert trained >= baseline
    assert f"{trained:.1f} bps" in capsys.readouterr().out
