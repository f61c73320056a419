"""Monte Carlo simulator: closed forms (docs/MATH.md sections 2, 4, 8, 11), exact limits, pairing, seeds, statistics.

Every cost model against its closed form is in tests/test_model_consistency.py."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optexec.costs import estimate
from optexec.models import MarketParams, Order, Schedule, u_shaped_volume_profile
from optexec.monte_carlo import (
    COMPONENTS,
    SimulationConfig,
    StrategyRun,
    run_policy,
    run_schedule,
    simulate,
    simulate_strategies,
)
from optexec.simulation.market import LiquidityRegimes, MarketModel, _regime_path, generate_market_paths
from optexec.strategies import registry
from optexec.strategies.almgren_chriss import ACParams, ac_discrete
from optexec.strategies.base import SchedulePolicy
from optexec.strategies.benchmarks import NoParams, POVPolicy, TWAPParams, immediate, twap

QUIET = MarketModel(volume_noise=0.0, spread_noise=0.0, regimes=LiquidityRegimes(enabled=False))


def intraday() -> tuple[Order, MarketParams]:
    order = Order("DEMO", "buy", 250_000, 1.0, 39)
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile())
    return order, market


def strategy_of(name, build, params_type):
    return registry.Strategy(name, name, params_type, build, name)


def test_static_linear_mean_and_variance_match_closed_form(table1_order, table1_market):
    """docs/MATH.md section 9 T4 (E = 911,226.99, V = 3.641286e11): simulated mean and variance within 3 SE."""
    schedule = ac_discrete(table1_order, table1_market, ACParams(1e-6))
    closed = estimate(schedule, table1_market)
    assert closed.expected_usd == pytest.approx(911_226.99, abs=0.01)
    assert closed.variance_usd2 == pytest.approx(3.641286e11, rel=1e-6)
    paths = 20_000
    market_paths = generate_market_paths(table1_order, table1_market, QUIET, paths, seed=7)
    cost = run_schedule(schedule, table1_market, market_paths, 0)[0]
    stderr_mean = math.sqrt(closed.variance_usd2 / paths)
    assert abs(cost.mean() - closed.expected_usd) < 3 * stderr_mean
    stderr_var = closed.variance_usd2 * math.sqrt(2 / (paths - 1))  # the cost is normal here
    assert abs(cost.var(ddof=1) - closed.variance_usd2) < 3 * stderr_var


def test_drift_and_every_component_match_closed_form_when_sigma_is_zero():
    """sigma = 0, constant spread: every path costs exactly E, component by component (docs/MATH.md section 8)."""
    order, market = intraday()
    market = dataclasses.replace(market, sigma_usd_per_sqrt_day=0.0, drift_usd_per_day=0.4)
    schedule = ac_discrete(order, market, ACParams(1e-6))
    closed = estimate(schedule, market)
    market_paths = generate_market_paths(order, market, QUIET, 50, seed=1)
    total, parts, *_ = run_schedule(schedule, market, market_paths, 0)
    assert total == pytest.approx(np.full(50, closed.expected_usd), rel=1e-12)
    assert parts["spread"] == pytest.approx(closed.spread_usd, rel=1e-12)
    assert parts["temporary"] == pytest.approx(closed.temporary_usd, rel=1e-12)
    assert parts["permanent"] == pytest.approx(closed.permanent_usd, rel=1e-12)
    assert parts["timing"] == pytest.approx(closed.drift_usd, rel=1e-9)
    assert closed.drift_usd > 0  # a buy into a rising price costs


def test_geometric_prices_keep_the_mean():
    """Geometric mid with the -v/2 correction is a martingale: the mean cost is still E (within 3 SE)."""
    order, market = intraday()
    model = dataclasses.replace(QUIET, price_model="geometric")
    schedule = twap(order, market, TWAPParams())
    cost = run_schedule(schedule, market, generate_market_paths(order, market, model, 20_000, 3), 0)[0]
    closed = estimate(schedule, market)
    assert abs(cost.mean() - closed.expected_usd) < 3 * cost.std(ddof=1) / math.sqrt(cost.size)
    assert cost.std() == pytest.approx(closed.std_usd, rel=0.03)


@pytest.mark.parametrize("cost_model", ["linear", "linear+transient", "calibrated"])
def test_policy_loop_equals_the_vectorised_schedule(cost_model):
    """The same schedule through run_policy and run_schedule: identical costs (every cost model, noise on)."""
    order, market = intraday()
    market = dataclasses.replace(market, cost_model=cost_model, transient_strength_usd_per_share2=1e-6)
    model = MarketModel(price_model="geometric")
    schedule = ac_discrete(order, market, ACParams(1e-5))
    market_paths = generate_market_paths(order, market, model, 300, seed=5)
    static = run_schedule(schedule, market, market_paths, 5)
    looped = run_policy(SchedulePolicy(schedule), order, market, market_paths, 5)
    assert looped[0] == pytest.approx(static[0], rel=1e-10)
    for name in COMPONENTS:
        assert looped[1][name] == pytest.approx(static[1][name], rel=1e-9, abs=1e-6), name
    assert looped[2:5] == pytest.approx(static[2:5], rel=1e-12)
    assert looped[5] == pytest.approx(static[5])
    assert (static[1]["transient"][0] > 0) == (cost_model != "linear")  # calibrated: a transient strength is given
    assert (static[1]["temporary"].std() > 0) == (cost_model == "calibrated")  # the power law sees the volume


#: kappa = rho = 1, no spread, (almost) no temporary and no permanent impact: the transient cost alone
TRANSIENT_ONLY = MarketParams(1.0, 0.0, 0.0, 1e6, 1e-12, 0.0, cost_model="linear+transient",
                              transient_strength_usd_per_share2=1.0, transient_decay_per_day=1.0)  # fmt: skip


def test_transient_cost_of_a_constant_rate_is_exact():
    """u = X/T from D = 0: cost = kappa X^2/(rho T)^2 (rho T - 1 + e^{-rho T}), for any number of slices."""
    market = TRANSIENT_ONLY
    for slices in (1, 7, 100):
        order = Order("T", "sell", 1.0, 1.0, slices)
        schedule = twap(order, market, TWAPParams())
        parts = run_schedule(schedule, market, generate_market_paths(order, market, QUIET, 2, 0), 0)[1]
        assert parts["transient"] == pytest.approx(math.exp(-1.0), rel=1e-12)


def test_transient_cost_of_obizhaeva_wang_matches_math_section_4():
    """docs/MATH.md section 9 T6: kappa = rho = T = X = 1, blocks X/3 at both ends, rate 1/3 between: cost -> 1/3
    (the end blocks worked over one slice here; as blocks, tests/test_model_consistency.py)."""
    market = TRANSIENT_ONLY
    gaps = []
    for slices in (1000, 4000):
        order = Order("T", "buy", 1.0, 1.0, slices)
        trades = np.full(slices, (1 / 3) / (slices - 2))
        trades[0] = trades[-1] = 1 / 3
        schedule = Schedule.from_trades("ow", order, market, trades)
        parts = run_schedule(schedule, market, generate_market_paths(order, market, QUIET, 2, 0), 0)[1]
        gaps.append(parts["transient"][0] - 1 / 3)
    assert abs(gaps[1]) < 1e-3  # the blocks are spread over one slice: an O(tau) difference
    assert gaps[0] / gaps[1] == pytest.approx(4.0, rel=0.05)  # first order: 4x the slices, 1/4 the gap


def test_seed_makes_a_run_reproducible():
    order, market = intraday()
    names = ["twap", "ac_discrete"]
    config = SimulationConfig(paths=400, seed=11)
    first = simulate(order, market, {}, names, config)
    again = simulate(order, market, {}, names, config)
    other = simulate(order, market, {}, names, dataclasses.replace(config, seed=12))
    for a, b, c in zip(first.runs, again.runs, other.runs, strict=True):
        assert np.array_equal(a.cost_usd, b.cost_usd)
        assert not np.allclose(a.cost_usd, c.cost_usd)


def test_common_random_numbers_make_differences_paired():
    order, market = intraday()
    result = simulate(order, market, {"risk_aversion_per_usd": 1e-6}, ["twap", "ac_discrete"],
                      SimulationConfig(paths=4000, seed=2))  # fmt: skip
    twap_run, ac_run = result.runs
    assert twap_run.paired_difference_usd == 0 and twap_run.paired_stderr_usd == 0
    unpaired = math.sqrt(twap_run.std_usd**2 + ac_run.std_usd**2) / math.sqrt(4000)
    assert ac_run.paired_stderr_usd < 0.3 * unpaired
    closed_gap = (
        estimate(ac_discrete(order, market, ACParams(1e-6)), market).expected_usd
        - estimate(twap(order, market, TWAPParams()), market).expected_usd
    )
    # spread noise and regimes average out for static schedules: the paired gap is the closed-form gap
    assert abs(ac_run.paired_difference_usd - closed_gap) < 3 * ac_run.paired_stderr_usd + 1e-6 * abs(closed_gap)


def test_statistics_of_a_known_sample():
    costs = np.arange(1.0, 101.0)
    run = StrategyRun("x", "X", "schedule", 1e4, costs, {}, np.zeros(100), 0.1, 0.2, 0.0, np.zeros((1, 2)))
    assert run.mean_usd == 50.5
    assert run.var95_usd == pytest.approx(95.05)
    assert run.cvar95_usd == pytest.approx(98.0)  # mean of 96..100
    assert run.stderr_mean_usd == pytest.approx(np.std(costs, ddof=1) / 10)
    assert run.bps(50.5) == pytest.approx(50.5)
    assert run.paired_difference_usd == 50.5


def test_unfinished_orders_pay_the_opportunity_cost():
    """POV at 1% cannot finish: unfinished share 1, timing = remaining x impact at the horizon (sigma = 0)."""
    order, market = intraday()
    market = dataclasses.replace(market, sigma_usd_per_sqrt_day=0.0)
    market_paths = generate_market_paths(order, market, QUIET, 3, 0)
    total, parts, _, _, unfinished, holdings = run_policy(
        POVPolicy(0.01), order, market, market_paths, 3, force_finish=False
    )
    traded = 0.01 * market_paths.expected_volume_shares
    left = order.shares - traded.sum()
    assert unfinished == 1.0 and holdings[0, -1] == pytest.approx(left)
    done = traded.sum()
    assert parts["timing"] == pytest.approx(left * market.gamma_usd_per_share2 * done, rel=1e-9)
    finished = run_policy(POVPolicy(0.01), order, market, market_paths, 3, force_finish=True)
    assert finished[4] == 0.0 and finished[5][0, -1] == pytest.approx(0.0, abs=1e-6)


def test_market_averages_to_its_parameters():
    """Volume and spread average to the MarketParams values; the regime spends low_share of the time low."""
    order, market = intraday()
    model = MarketModel()
    market_paths = generate_market_paths(order, market, model, 20_000, 4)
    volume_ratio = market_paths.volume_shares / market_paths.expected_volume_shares
    assert abs(volume_ratio.mean() - 1) < 3 * volume_ratio.std() / math.sqrt(volume_ratio.shape[0])
    spread_ratio = market_paths.spread_usd / market.spread_usd
    assert abs(spread_ratio.mean() - 1) < 3 * spread_ratio.std() / math.sqrt(spread_ratio.shape[0])
    assert market_paths.low_liquidity.mean() == pytest.approx(0.3, abs=0.01)
    # regimes persist: a low slice is followed by a low slice far more often than 30% of the time
    low = market_paths.low_liquidity
    assert (low[:, 1:] & low[:, :-1]).sum() / low[:, :-1].sum() > 0.6


def per_slice_regimes(rng, paths, steps, regimes, tau, session_minutes):
    """The liquidity chain one slice at a time (the loop that ``_regime_path`` replaced)."""
    low = np.zeros((paths, steps), dtype=bool)
    if not regimes.active:
        return low
    uniform = rng.random((paths, steps), dtype=np.float32)
    to_low, stay_low = regimes.transition(tau, session_minutes)
    low[:, 0] = uniform[:, 0] < regimes.low_share
    for k in range(1, steps):
        low[:, k] = uniform[:, k] < to_low + (stay_low - to_low) * low[:, k - 1]
    return low


@pytest.mark.parametrize(
    "regimes",
    [LiquidityRegimes(), LiquidityRegimes(low_share=0.6, mean_low_minutes=2.0),
     LiquidityRegimes(low_share=0.05, mean_low_minutes=600.0), LiquidityRegimes(enabled=False)],
)  # fmt: skip
def test_regime_paths_and_signal_are_the_per_slice_chains(regimes):
    """Bit for bit the slice-by-slice liquidity chain and signal recursion, for the same seeds."""
    for steps in (1, 2, 39, 390):
        for seed in range(3):
            tau = 1.0 / steps
            vectorised = _regime_path(np.random.default_rng(seed), 200, steps, regimes, tau, 390)
            looped = per_slice_regimes(np.random.default_rng(seed), 200, steps, regimes, tau, 390)
            np.testing.assert_array_equal(vectorised, looped)
    order, market = intraday()
    market = dataclasses.replace(market, drift_usd_per_day=0.37)
    model = MarketModel(signal_mean_reversion_per_day=3.0, regimes=regimes)
    signal = generate_market_paths(order, market, model, 5, 1).signal_usd_per_day
    expected = np.empty((1, order.slices + 1))
    expected[:, 0] = market.drift_usd_per_day
    for k in range(order.slices):
        expected[:, k + 1] = math.exp(-3.0 * order.slice_days) * expected[:, k]
    np.testing.assert_array_equal(signal, expected)


def test_stochastic_vol_factors():
    """Fast and slow factors average to sigma^2; the mean cost of a static schedule does not move (3 SE)."""
    order, market = intraday()
    model = dataclasses.replace(QUIET, fast_vol_of_vol_per_sqrt_day=0.5, slow_vol_of_vol_per_sqrt_day=0.3)
    market_paths = generate_market_paths(order, market, model, 20_000, 9)
    sigma2 = market.sigma_usd_per_sqrt_day**2
    fast_end = market_paths.fast_variance[:, -1]
    assert abs(fast_end.mean() - sigma2) < 4 * fast_end.std() / math.sqrt(fast_end.size)
    assert fast_end.std() > 0.05 * sigma2 and market_paths.slow_variance[:, -1].std() > 0
    schedule = twap(order, market, TWAPParams())
    cost = run_schedule(schedule, market, market_paths, 0)[0]
    assert abs(cost.mean() - estimate(schedule, market).expected_usd) < 3 * cost.std() / math.sqrt(cost.size)


def test_simulate_every_registered_strategy_and_report_errors():
    order, market = intraday()
    result = simulate(order, market, {}, None, SimulationConfig(paths=200, seed=0))
    assert {run.name for run in result.runs} | set(result.errors) == set(registry.STRATEGIES)
    assert not result.errors
    for run in result.runs:
        assert np.all(np.isfinite(run.cost_usd)), run.name
        assert run.unfinished_share == 0.0
        assert sum(run.component_means_usd().values()) == pytest.approx(run.mean_usd, rel=1e-9, abs=1e-6)
    bad = simulate(order, market, {"small_impact_theta": 0.25}, ["twap", "multiscale"], SimulationConfig(paths=50))
    assert [run.name for run in bad.runs] == ["twap"] and "0.2" in bad.errors["multiscale"]
    table = result.table()
    assert list(table["strategy"]) == [run.label for run in result.runs]
    assert {"mean_cost_bps", "cvar95_usd", "vs_twap_stderr_usd", "unfinished_share", "transient_usd"} <= set(table)


def test_json_layout_of_design_section_7():
    order, market = intraday()
    result = simulate(order, market, {}, ["twap", "immediate"], SimulationConfig(paths=100, seed=3))
    output = result.to_json()
    for strategy in output["strategies"]:
        assert {"name", "mean_cost_usd", "std_cost_usd", "var95_usd", "cvar95_usd", "mean_cost_bps",
                "stderr_mean_usd"} <= set(strategy)  # fmt: skip
    assert output["strategies"][1]["mean_cost_usd"] > output["strategies"][0]["mean_cost_usd"]


def test_every_run_states_its_plans_closed_form_and_its_expectation_in_the_simulated_market():
    """Each run carries the closed form of the schedule its strategy plans (the planner's number) and that
    schedule's expected cost in the simulated market (docs/MATH.md section 11, the simulator): with the default
    noise on a calibrated market they differ by the Jensen term of the power law; in the table and the JSON."""
    order, market = intraday()
    market = dataclasses.replace(market, cost_model="calibrated")
    config = SimulationConfig(paths=100, seed=1)
    result = simulate(order, market, {}, ["twap", "pov", "multiscale"], config)
    multiplier = config.model.inverse_volume_moment(market.power_exponent)
    for run in result.runs:
        schedule = registry.get(run.name).schedule(order, market, {})
        closed = estimate(schedule)
        assert run.closed_form_usd == pytest.approx(closed.expected_usd, rel=1e-12), run.name
        jensen = (multiplier - 1) * closed.temporary_usd
        assert run.expected_usd - run.closed_form_usd == pytest.approx(jensen, rel=1e-9), run.name
        assert jensen > 0.01 * closed.expected_usd, run.name
    table = result.table()
    np.testing.assert_allclose(table["expected_usd"], [run.expected_usd for run in result.runs], rtol=1e-12)
    assert table["closed_form_bps"][0] == pytest.approx(result.runs[0].bps(result.runs[0].closed_form_usd))
    output = result.to_json()["strategies"]
    assert [s["closed_form_usd"] for s in output] == [run.closed_form_usd for run in result.runs]


def test_a_policy_whose_schedule_cannot_be_built_still_runs_and_the_notes_say_why():
    """simulate_strategies without the resolved inputs (the regime's liquidity model): the regime policy runs,
    its run has no closed form (NaN) and the notes name the strategy and the reason."""
    order, market = intraday()
    result = simulate_strategies(order, market, [registry.get("regime_adaptive")], {}, SimulationConfig(paths=20))
    (run,) = result.runs
    assert run.kind == "policy" and math.isnan(run.closed_form_usd) and math.isnan(run.expected_usd)
    assert any("Regime-adaptive" in note and "market model" in note for note in result.notes)
    assert result.to_json()["strategies"][0]["closed_form_usd"] is None


def test_progress_is_reported():
    order, market = intraday()
    seen = []
    simulate(order, market, {}, ["twap", "vwap"], SimulationConfig(paths=20), lambda f, label: seen.append(f))
    assert seen == [0.0, 0.5, 1.0]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SimulationConfig(paths=1), "number of paths"),
        (lambda: SimulationConfig(seed=-1), "seed"),
        (lambda: MarketModel(price_model="lognormal"), "price model"),
        (lambda: MarketModel(volume_noise=-0.1), "volume noise"),
        (lambda: LiquidityRegimes(low_share=1.0), "low liquidity"),
        (lambda: LiquidityRegimes(low_spread_factor=0.5), "spread factor"),
    ],
)
def test_bad_settings_are_plain_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_setting_is_an_error():
    order, market = intraday()
    with pytest.raises(ValueError, match="unknown setting"):
        simulate(order, market, {"no_such_thing": 1}, ["twap"], SimulationConfig(paths=10))


def test_immediate_costs_its_closed_form():
    order, market = intraday()
    schedule = immediate(order, market, NoParams())
    run = simulate_strategies(order, market, [strategy_of("immediate", immediate, NoParams)], {},
                              SimulationConfig(paths=2000, seed=1)).runs[0]  # fmt: skip
    not_spread = run.cost_usd - run.components_usd["spread"]  # a block at the arrival mid: only the spread is random
    assert np.ptp(not_spread) <= 1e-9 * abs(not_spread.mean())
    assert abs(run.mean_usd - estimate(schedule, market).expected_usd) < 3 * run.stderr_mean_usd


def test_simulate_page_runs_and_its_widgets_change_the_output():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = str(Path(__file__).resolve().parents[1] / "pages" / "simulate.py")
    at = AppTest.from_file(page, default_timeout=120)
    at.session_state["slices"] = 39
    at.run()
    assert not at.exception and not at.error
    assert not at.dataframe and not at.get("plotly_chart")  # nothing simulated before it is asked for
    assert any("press Run simulation" in i.value for i in at.info)
    at.button(key="sim_run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert "TWAP" in list(table["strategy"]) and table["mean_cost_bps"].notna().all()
    assert len(at.get("plotly_chart")) == 3
    first = table["mean_cost_usd"].to_numpy()
    at.number_input(key="sim_seed").set_value(5)
    at.button[0].click().run()
    assert not at.exception
    assert not np.array_equal(at.dataframe[0].value["mean_cost_usd"].to_numpy(), first)
    at.number_input(key="adv.SYN-LARGE").set_value(0.0).run()
    shown = [e.value.replace("\\", "") for e in at.error]  # messages are escaped as text (Markdown off)
    assert any("ADV (shares/day) = 0 is not valid" in text for text in shown), shown


def _cli(argv):
    from optexec import cli

    return cli.main(argv)


TABLE1_SIM = [
    "simulate", "--symbol", "DEMO", "--side", "sell", "--shares", "1e6", "--horizon-days", "5", "--slices", "5",
    "--price", "50", "--sigma", "0.95", "--spread", "0.125", "--eta", "2.5e-6", "--gamma", "2.5e-7",
    "--adv", "5e6", "--risk-aversion", "1e-6", "--paths", "4000", "--seed", "3",
]  # fmt: skip


def test_simulate_cli_json_and_table(capsys):
    import json

    assert _cli([*TABLE1_SIM, "--json", "--strategy", "ac_discrete", "--no-regimes", "--spread-noise", "0"]) == 0
    output = json.loads(capsys.readouterr().out)
    (ac,) = output["strategies"]
    assert ac["name"] == "ac_discrete" and output["paths"] == 4000 and output["seed"] == 3
    # docs/MATH.md section 9 T4: E = 911,226.99, sd = 603,430.67 (the mean within 3 standard errors)
    assert abs(ac["mean_cost_usd"] - 911_226.99) < 3 * ac["stderr_mean_usd"]
    assert ac["std_cost_usd"] == pytest.approx(603_430.67, rel=0.05)
    assert ac["mean_cost_bps"] == pytest.approx(ac["mean_cost_usd"] / 5e7 * 1e4)
    assert ac["var95_usd"] < ac["cvar95_usd"]
    assert _cli([*TABLE1_SIM[:-4], "--paths", "200", "--strategy", "twap", "--strategy", "pov"]) == 0
    text = capsys.readouterr().out
    assert "TWAP" in text and "POV" in text and "policy" in text


def test_simulate_cli_user_errors(capsys):
    assert _cli([*TABLE1_SIM[:-2], "--seed", "-1"]) == 2
    assert capsys.readouterr().err == "error: the seed must be a whole number >= 0, got -1\n"
    assert _cli([*TABLE1_SIM[:-4], "--paths", "1", "--seed", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "number of paths" in err and err.count("\n") == 1


@settings(max_examples=25, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30).filter(lambda w: sum(w) > 1e-3),
    side=st.sampled_from(["buy", "sell"]),
    drift=st.floats(-1.0, 1.0),
)
def test_any_static_schedule_costs_its_closed_form_without_noise(weights, side, drift):
    """sigma = 0 and a constant spread: each path's cost is costs.estimate's E, for any schedule (docs/MATH.md 2, 8)."""
    order = Order("H", side, 100_000, 0.5, len(weights))
    market = MarketParams.from_rules_of_thumb(20.0, 0.0, 0.01, 2e6, drift_usd_per_day=drift)
    trades = order.shares * np.asarray(weights) / sum(weights)
    schedule = Schedule.from_trades("any", order, market, trades)
    total = run_schedule(schedule, market, generate_market_paths(order, market, QUIET, 3, 0), 0)[0]
    looped = run_policy(SchedulePolicy(schedule), order, market, generate_market_paths(order, market, QUIET, 3, 0),
                        0)[0]  # fmt: skip
    expected = estimate(schedule, market).expected_usd
    assert total == pytest.approx(np.full(3, expected), rel=1e-9, abs=1e-6)
    assert looped == pytest.approx(total, rel=1e-9, abs=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# Bounded memory (issue 14 item 3): paths simulated in chunks, the same numbers whatever the chunking
# ----------------------------------------------------------------------------------------------------------------

BUSY = MarketModel(fast_vol_of_vol_per_sqrt_day=1.0, slow_vol_of_vol_per_sqrt_day=0.3, initial_vol_ratio=1.5,
                   signal_vol_usd_per_day_per_sqrt_day=0.5, signal_mean_reversion_per_day=2.0)  # fmt: skip
#: the busy market is priced by the calibrated cost model: power-law temporary and transient impact
BUSY_COSTS = {"cost_model": "calibrated", "transient_strength_usd_per_share2": 1e-8}


@pytest.mark.parametrize("model", [MarketModel(), BUSY], ids=["default", "busy"])
def test_a_draw_in_chunks_is_the_rows_of_one_draw(model):
    from optexec.simulation.market import market_streams

    order, market = intraday()
    whole = generate_market_paths(order, market, model, 23, 4)
    streams = market_streams(4)
    parts = [generate_market_paths(order, market, model, count, None, streams) for count in (1, 5, 17)]
    for field in dataclasses.fields(whole):
        value = getattr(whole, field.name)
        if value.ndim == 2 and value.shape[0] == 23:
            np.testing.assert_array_equal(np.concatenate([getattr(p, field.name) for p in parts]), value)


@pytest.mark.parametrize("model", [MarketModel(), BUSY], ids=["default", "busy"])
def test_every_number_is_the_same_whatever_the_chunking(model):
    """Every strategy with its policy (the nonlinear one aside: its adaptive policy groups the paths of a chunk by
    their realised volume, and says so), on one chunk and on chunks of 7 and 40 paths."""
    order, market = intraday()
    if model is BUSY:
        market = dataclasses.replace(market, **BUSY_COSTS)
    names = [name for name in registry.STRATEGIES if name != "nonlinear"]

    def run(chunk):
        config = SimulationConfig(paths=101, seed=9, model=model, sample_paths=12, chunk_paths=chunk)
        return simulate(order, market, {}, names, config)

    whole = run(None)
    assert whole.notes == () and not whole.errors
    for chunk in (7, 40):
        chunked = run(chunk)
        assert "chunks" in chunked.notes[0] and not chunked.errors
        np.testing.assert_array_equal(chunked.sample_mid_usd, whole.sample_mid_usd)
        for a, b in zip(whole.runs, chunked.runs, strict=True):
            np.testing.assert_array_equal(a.cost_usd, b.cost_usd, err_msg=a.name)
            np.testing.assert_array_equal(a.reference_cost_usd, b.reference_cost_usd)
            for name in COMPONENTS:
                np.testing.assert_array_equal(a.components_usd[name], b.components_usd[name], err_msg=name)
            np.testing.assert_array_equal(a.sample_holdings_shares, b.sample_holdings_shares, err_msg=a.name)
            assert (a.mean_participation, a.max_participation, a.unfinished_share) == (
                b.mean_participation, b.max_participation, b.unfinished_share,
            ), a.name  # fmt: skip


def test_chunks_stay_under_the_memory_budget_or_the_request_is_refused():
    from optexec.simulation import engine as sim

    order = Order("BIG", "sell", 1e6, 60.0, 23_400)
    chunk = sim.chunk_paths(order, MarketModel(), 10_000, 14, 20)
    kept = 10_000 * 14 * sim.KEPT_BYTES_PER_PATH_RUN + 15 * 20 * 23_401 * 8
    assert 100 < chunk < 10_000
    assert kept + chunk * 23_400 * sim.working_bytes_per_path_slice(MarketModel()) <= sim.MEMORY_BUDGET_BYTES
    with pytest.raises(ValueError, match=r"1,000,000 paths over 1,000,000 slices needs about .* GB .* memory budget"):
        sim.chunk_paths(Order("BIG", "sell", 1e6, 60.0, 1_000_000), MarketModel(), 1_000_000, 14, 20)


def test_working_memory_per_path_and_slice_is_within_the_stated_bound():
    """tracemalloc's peak of one chunk (every strategy but the RL agent, whose training is not per path) against
    working_bytes_per_path_slice, for the default model and a busy one."""
    import tracemalloc

    from optexec.simulation import engine as sim

    order, market = Order("M", "sell", 1e6, 3.0, 1_170), MarketParams.from_rules_of_thumb(50, 0.95, 0.125, 5e6)
    strategies = [s for name, s in registry.STRATEGIES.items() if name != "rl_agent"]
    for model in (MarketModel(), BUSY):
        market = dataclasses.replace(market, **BUSY_COSTS) if model is BUSY else market
        config = SimulationConfig(paths=300, seed=1, model=model, sample_paths=0, chunk_paths=300)
        simulate_strategies(order, market, strategies[:2], {}, config)  # imports and caches outside the count
        tracemalloc.start()
        simulate_strategies(order, market, strategies, {}, config)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        kept = 300 * (len(strategies) + 1) * sim.KEPT_BYTES_PER_PATH_RUN
        assert (peak - kept) / (300 * 1_170) < sim.working_bytes_per_path_slice(model)


def test_simulate_23400_slices_peak_memory_follows_the_budget(tmp_path):
    """A child process simulates 1,000 paths x 23,400 slices (TWAP and POV on realised volume) under a 150 MB
    budget: its peak RSS stays near the budget plus the interpreter (it was 1.1 GB before the paths were chunked)."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "run.py"
    script.write_text(
        "import re, optexec.monte_carlo as sim, optexec.simulation.engine as engine\n"
        "from optexec.models import MarketParams, Order\n"
        "def rss_mb(field):\n"
        "    return int(re.search(field + r':\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)) // 1024\n"
        "engine.MEMORY_BUDGET_BYTES = 150_000_000\n"
        "order = Order('BIG', 'sell', 1e6, 60.0, 23_400)\n"
        "market = MarketParams.from_rules_of_thumb(50, 0.95, 0.125, 5e6)\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # the peak RSS restarts from now (the parent's is inherited)\n"
        "before = rss_mb('VmRSS')\n"
        "result = sim.simulate(order, market, {}, ['twap', 'pov'], sim.SimulationConfig(paths=1000, seed=0))\n"
        "after = rss_mb('VmHWM')\n"
        "print(before, after, result.runs[1].mean_usd)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    before_mb, after_mb, _ = done.stdout.split()
    assert int(after_mb) - int(before_mb) < 150 + 100, done.stdout  # the budget, and numpy's slack
    assert int(after_mb) < 600, done.stdout  # the child's own peak
