"""Sensitivity sweeps (closed forms) and the Sensitivity page."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from optexec.cli import main
from optexec.models import MarketParams, Order
from optexec.sensitivity import ORDER_FRACTION_OF_ADV, sweep
from optexec.strategies import almgren_chriss

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "sensitivity.py")


def test_risk_aversion_sweep_traces_the_frontier(table1_order, table1_market):
    lambdas = [0.0, 1e-7, 1e-6, 1e-5]
    result = sweep(table1_order, table1_market, {}, "risk_aversion_per_usd", lambdas, ["ac_discrete", "twap"])
    frontier = almgren_chriss.efficient_frontier(table1_order, table1_market, lambdas)
    np.testing.assert_allclose(result.expected_usd["ac_discrete"], frontier.expected_usd, rtol=1e-12)
    np.testing.assert_allclose(result.std_usd["ac_discrete"], frontier.std_usd, rtol=1e-12)
    assert np.all(result.expected_usd["twap"] == result.expected_usd["twap"][0])  # TWAP ignores λ
    assert result.expected_usd["ac_discrete"][2] == pytest.approx(911_226.99, abs=0.005)  # docs/MATH.md T4


def test_order_size_sweep_scales_impact_quadratically(table1_market):
    order = Order("DEMO", "sell", 1e6, 5.0, 5)
    result = sweep(order, table1_market, {}, ORDER_FRACTION_OF_ADV, [0.1, 0.2], ["twap"])
    # TWAP cost: eps X + (1/2 gamma + eta~/T) X^2 (docs/MATH.md section 8) -> doubling X
    eps, quad = 0.0625, 0.5 * 2.5e-7 + (2.5e-6 - 0.5 * 2.5e-7) / 5.0
    expected = [eps * x + quad * x**2 for x in (5e5, 1e6)]
    np.testing.assert_allclose(result.expected_usd["twap"], expected, rtol=1e-12)


def test_failed_points_are_nan_with_a_reason(table1_order, table1_market):
    result = sweep(table1_order, table1_market, {}, "participation_rate", [0.1, 1.5], ["pov"])
    assert np.isfinite(result.expected_usd["pov"][0]) and np.isnan(result.expected_usd["pov"][1])
    assert "participation rate must be in (0, 1]" in result.errors["pov"][0]


def test_unknown_parameter_is_refused(table1_order, table1_market):
    with pytest.raises(ValueError, match="cannot sweep"):
        sweep(table1_order, table1_market, {}, "colour", [1.0])


def test_fractional_slices_are_refused_not_truncated(table1_order, table1_market):
    with pytest.raises(ValueError, match="slices must be whole numbers, got 2.5"):
        sweep(table1_order, table1_market, {}, "slices", [2.0, 2.5, 4.0])


def test_sweep_cli_json(capsys):
    args = ["sweep", "--symbol", "D", "--side", "buy", "--shares", "1e6", "--horizon-days", "5", "--slices", "5",
            "--price", "50", "--sigma", "0.95", "--spread", "0.125", "--adv", "5e6",
            "--param", "sigma_usd_per_sqrt_day", "--values", "0.5,1.0", "--json"]  # fmt: skip
    assert main(args) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["param"] == "sigma_usd_per_sqrt_day" and output["values"] == [0.5, 1.0]
    ac = next(s for s in output["strategies"] if s["name"] == "ac_discrete")
    assert ac["std_cost_usd"][1] > ac["std_cost_usd"][0]
    assert main([*args[:-3], "--values", "a,b"]) == 2


def test_sensitivity_page_runs_and_follows_the_parameter():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception and not at.error
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["layout"]["xaxis"]["title"]["text"] == "risk aversion λ (1/$)"
    at.selectbox(key="sweep_param").set_value("horizon_days").run()
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["layout"]["xaxis"]["title"]["text"] == "horizon (trading days of 6.5 h)"
    at.number_input(key="sweep_low_horizon_days_days").set_value(9.0).run()
    assert any("larger than" in e.value for e in at.error)


def test_market_fields_can_be_swept():
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
    result = sweep(Order("D", "buy", 1e5, 1.0, 10), market, {}, "spread_usd", [0.0, 0.25], ["twap"])
    assert result.expected_usd["twap"][1] - result.expected_usd["twap"][0] == pytest.approx(0.125 * 1e5)


def test_simulated_sweep_agrees_with_the_closed_form_for_static_schedules(table1_order):
    """In a quiet market (sigma = 0, no volume or spread noise, no regimes) the simulated shortfall of a static
    schedule is its closed-form cost (docs/MATH.md sections 2, 8)."""
    from optexec.monte_carlo import SimulationConfig
    from optexec.simulation.market import LiquidityRegimes, MarketModel

    quiet = MarketModel(volume_noise=0.0, spread_noise=0.0, regimes=LiquidityRegimes(enabled=False))
    market = MarketParams(50.0, 0.0, 0.125, 5e6, 2.5e-6, 2.5e-7)
    args = (table1_order, market, {}, "risk_aversion_per_usd", [1e-7, 1e-6], ["ac_discrete", "twap"])
    closed = sweep(*args)
    steps = []
    simulated = sweep(*args, simulation=SimulationConfig(paths=200, seed=3, model=quiet), progress=steps.append)
    for name in ("ac_discrete", "twap"):
        np.testing.assert_allclose(simulated.expected_usd[name], closed.expected_usd[name], rtol=1e-6)
    assert steps == [0.0, 0.5]


def test_simulated_sweep_cli(capsys):
    args = ["sweep", "--symbol", "D", "--side", "buy", "--shares", "1e5", "--horizon-days", "1", "--slices", "20",
            "--price", "50", "--sigma", "0.95", "--spread", "0.125", "--adv", "5e6", "--strategy", "limit_ladder",
            "--param", "risk_aversion_per_usd", "--values", "1e-6", "--paths", "300", "--seed", "2",
            "--json"]  # fmt: skip
    assert main(args) == 0
    ladder = json.loads(capsys.readouterr().out)["strategies"][0]
    assert ladder["name"] == "limit_ladder" and ladder["expected_cost_usd"][0] is not None


def test_the_swept_settings_come_from_the_parameters_own_labels_and_ranges():
    from optexec.sensitivity import setting_sweep_ranges, sweepable_parameters

    ranges = setting_sweep_ranges({"multiscale_unknown": 1.0})
    assert ranges["participation_rate"] == ("POV participation (%)", 0.01, 1.0, False)
    assert ranges["nonlinear_risk_aversion_per_usd"][0] == "Nonlinear risk aversion λ (1/$)"
    assert ranges["regime_high_speed"][1:] == (0.55, 5.0, False)  # its own slider's range
    assert "seed" not in ranges and "method" not in ranges and "ladder_cross_unfilled" not in ranges
    assert "risk_aversion_per_usd" not in ranges  # shared: the page lists it with the order and market inputs
    assert set(ranges) <= set(sweepable_parameters()) and "_resolved_rl_agent" not in sweepable_parameters()
