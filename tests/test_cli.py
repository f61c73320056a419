"""The command line contract of DESIGN.md section 7: plan, --json, errors with exit status 2."""

import json
import math
import subprocess
import sys

import pytest

from optexec.cli import main

TABLE1 = [
    "plan", "--symbol", "DEMO", "--side", "sell", "--shares", "1e6", "--horizon-days", "5", "--slices", "5",
    "--price", "50", "--sigma", "0.95", "--spread", "0.125", "--eta", "2.5e-6", "--gamma", "2.5e-7",
    "--adv", "5e6", "--risk-aversion", "1e-6",
]  # fmt: skip


def test_plan_json_reproduces_table1(capsys):
    assert main([*TABLE1, "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    strategies = {s["name"]: s for s in output["strategies"]}
    assert set(strategies) >= {"immediate", "twap", "vwap", "pov", "ac_discrete", "ac_continuous", "ac_drift"}
    ac = strategies["ac_discrete"]
    assert ac["holdings"] == pytest.approx([1e6, 541955.55, 289854.22, 147897.49, 62141.80, 0], abs=0.005)
    assert ac["times"] == [0, 1, 2, 3, 4, 5]
    assert ac["expected_cost_usd"] == pytest.approx(911_226.99, abs=0.005)
    assert ac["std_cost_usd"] == pytest.approx(603_430.67, abs=0.005)
    assert ac["expected_cost_bps"] == pytest.approx(911_226.99 / 5e7 * 1e4, abs=1e-5)
    for strategy in output["strategies"]:
        assert strategy["holdings"][0] == 1e6 and strategy["holdings"][-1] == 0
        assert sum(strategy["trades"]) == pytest.approx(1e6, rel=1e-9)
    assert output["order"]["shares"] == 1e6 and output["best_strategy"] == "ac_discrete"


def test_plan_table_output(capsys):
    assert main(TABLE1) == 0
    text = capsys.readouterr().out
    assert "Almgren–Chriss" in text and "911,226.99" in text and "603,430.67" in text and "541,956" in text


def test_strategy_filter_and_settings(capsys):
    assert main([*TABLE1, "--strategy", "pov", "--set", "participation_rate=0.05", "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in output["strategies"]] == ["pov"]
    assert output["strategies"][0]["trades"][0] == pytest.approx(0.05 * 5e6, rel=1e-12)


def test_rules_of_thumb_fill_in_missing_impact(capsys):
    args = [a for a in TABLE1 if a not in ("--eta", "2.5e-6", "--gamma", "2.5e-7")]
    assert main([*args, "--json"]) == 0
    market = json.loads(capsys.readouterr().out)["market"]
    assert market["eta_usd_day_per_share2"] == pytest.approx(0.125 / 5e4)  # spread / (1% ADV), docs/MATH.md section 7
    assert market["gamma_usd_per_share2"] == pytest.approx(0.125 / 5e5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--shares", "0"], "order size"),
        (["--slices", "0"], "slices"),
        (["--side", "hold"], "invalid choice"),
        (["--risk-aversion", "-1"], "risk aversion"),
        (["--set", "nonsense=1"], "unknown setting"),
        (["--set", "participation_rate=2"], None),  # POV refuses; the other strategies still plan
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, change, message):
    status = main([*TABLE1, *change])
    captured = capsys.readouterr()
    if message is None:
        assert status == 0 and "POV: not planned: participation rate must be in (0, 1]" in captured.out
        return
    assert status == 2
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err


def test_missing_market_data_is_a_plain_error(capsys):
    assert main(["plan", "--symbol", "NOPE", "--side", "buy", "--shares", "100", "--horizon-days", "1",
                 "--slices", "10"]) == 2  # fmt: skip
    assert "or give --price, --sigma, --spread, --adv" in capsys.readouterr().err


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "optexec", *TABLE1, "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["strategies"]


def test_simulate_that_cannot_fit_the_memory_budget_is_refused_in_one_line(capsys):
    """Issue 14 item 3: a simulation is chunked under its memory budget; one that cannot fit even one path at a
    time (a million paths of a million slices) is refused with what to reduce, before anything is drawn."""
    argv = [*TABLE1, "--slices", "1000000", "--paths", "1000000"]  # every strategy: 1 GB kept for the paths alone
    argv[0] = "simulate"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "1,000,000 paths over 1,000,000 slices" in err and "memory budget of 1 GB" in err


# --- the cost model and the participation limit (issue 13) ------------------------------------------------------

#: the parameters each model's components and price risk use (optexec.market.cost_model, docs/MATH.md section 11)
LINEAR = {"spread_usd", "eta_usd_day_per_share2", "gamma_usd_per_share2", "sigma_usd_per_sqrt_day",
          "transient_strength_usd_per_share2", "transient_decay_per_day", "drift_usd_per_day"}  # fmt: skip
MODEL_PARAMETERS = {
    "linear": LINEAR,
    "linear+transient": LINEAR,
    # the power law replaces eta's temporary impact; eta still sets the book (kappa = rho eta) that prices blocks
    "calibrated": LINEAR | {"power_coefficient", "power_exponent", "adv_shares"},
}


def _plan_json(capsys, argv: list[str]) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("model", sorted(MODEL_PARAMETERS))
def test_plan_json_carries_every_parameter_of_the_chosen_model(capsys, model):
    output = _plan_json(capsys, [*TABLE1, "--cost-model", model, "--strategy", "twap"])
    card = output["model"]
    assert card["name"] == model and "chosen on the command line" in card["reason"]
    assert set(card["parameters"]) == MODEL_PARAMETERS[model]
    for name, parameter in card["parameters"].items():
        assert set(parameter) == {"value", "unit", "stderr", "source"}, name
        assert math.isfinite(parameter["value"]) and parameter["unit"] and parameter["source"], name
        assert "not recorded" not in parameter["source"], name  # every value says where it comes from
    given = {"sigma_usd_per_sqrt_day": 0.95, "spread_usd": 0.125, "adv_shares": 5e6, "gamma_usd_per_share2": 2.5e-7}
    for name, value in given.items():
        if name not in card["parameters"]:  # ADV enters only the power law (calibrated)
            assert name == "adv_shares" and model != "calibrated"
            continue
        assert card["parameters"][name]["value"] == value
        assert card["parameters"][name]["source"].startswith("set on the command line (--")
    assert card["components"][0] == "spread" and output["strategies"][0]["priced_under"].startswith(model)


def test_the_models_default_parameters_say_which_default_and_why(capsys):
    calibrated = _plan_json(capsys, [*TABLE1, "--cost-model", "calibrated", "--strategy", "twap"])["model"]
    exponent = calibrated["parameters"]["power_exponent"]
    assert exponent["value"] == 0.6 and exponent["stderr"] == 0.038 and "ATHL 2005" in exponent["source"]
    transient = _plan_json(capsys, [*TABLE1, "--cost-model", "linear+transient", "--strategy", "twap"])["model"]
    decay = transient["parameters"]["transient_decay_per_day"]
    assert decay["value"] == pytest.approx(math.log(2) * 390 / 30)  # half-life 30 of the session's 390 minutes
    strength = transient["parameters"]["transient_strength_usd_per_share2"]
    assert strength["value"] == pytest.approx(decay["value"] * 2.5e-6) and "κ = ρη" in strength["source"]
    args = [a for a in TABLE1 if a not in ("--eta", "2.5e-6")]
    thumb = _plan_json(capsys, [*args, "--strategy", "twap"])["model"]["parameters"]["eta_usd_day_per_share2"]
    assert thumb["value"] == pytest.approx(0.125 / 5e4) and thumb["source"] == (
        "Almgren–Chriss rule of thumb: spread/(1% ADV)"
    )


def test_every_strategy_is_priced_under_the_chosen_model(capsys):
    """TWAP of Table 1 (five one-day slices of 200,000 shares against a flat 5e6 shares/day) in closed form:
    linear eta/tau sum n^2, power law Y sigma sum n (n / v)^p (docs/MATH.md section 11), spread and permanent the
    same under both."""
    spread, permanent = 0.0625 * 1e6, 2.5e-7 * (1e12 - 5 * 2e5**2) / 2
    costs = {}
    for model in MODEL_PARAMETERS:
        output = _plan_json(capsys, [*TABLE1, "--cost-model", model])
        costs[model] = {s["name"]: s for s in output["strategies"]}
        assert {s["priced_under"] for s in output["strategies"]} == {output["strategies"][0]["priced_under"]}
    assert costs["linear"]["twap"]["expected_cost_usd"] == pytest.approx(spread + permanent + 2.5e-6 * 5 * 2e5**2)
    power = 0.142 * 0.95 * 5 * 2e5 * (2e5 / 5e6) ** 0.6
    assert costs["calibrated"]["twap"]["expected_cost_usd"] == pytest.approx(spread + permanent + power)
    assert costs["linear"]["twap"]["components_usd"]["transient"] == 0
    transient = costs["linear+transient"]["twap"]["components_usd"]["transient"]
    assert transient > 0 and costs["linear+transient"]["twap"]["expected_cost_usd"] == pytest.approx(
        costs["linear"]["twap"]["expected_cost_usd"] + transient
    )


def test_the_default_model_is_linear_without_an_accepted_calibration(capsys):
    output = _plan_json(capsys, [*TABLE1, "--strategy", "twap"])
    assert output["model"]["name"] == "linear"
    assert "DEMO, which has no accepted calibration" in output["model"]["reason"]
    planted = _plan_json(capsys, ["plan", "--symbol", "SYN-LARGE", "--side", "buy", "--shares", "1e5",
                                  "--horizon-days", "1", "--slices", "13", "--strategy", "twap"])  # fmt: skip
    assert planted["model"]["name"] == "linear"
    assert "planted" in planted["model"]["parameters"]["sigma_usd_per_sqrt_day"]["source"]


@pytest.fixture(scope="module")
def calibrated_store(_private_sample_database, tmp_path_factory):
    """A copy of the sample store where SYN-LARGE has an accepted calibration."""
    import shutil

    from optexec.calibration import run
    from optexec.store import db

    path = tmp_path_factory.mktemp("calibrated_cli") / "store.duckdb"
    shutil.copy(_private_sample_database, path)
    con = db.open_database(path)
    try:
        run.save(con, run.calibrate(con, "SYN-LARGE"), accept=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def test_a_symbol_with_an_accepted_calibration_is_priced_under_the_calibrated_model(capsys, calibrated_store):
    argv = ["--db", str(calibrated_store), "plan", "--symbol", "SYN-LARGE", "--side", "buy", "--shares", "2e5",
            "--horizon-days", "1", "--slices", "13", "--strategy", "twap"]  # fmt: skip
    default = _plan_json(capsys, argv)
    assert default["model"]["name"] == "calibrated"
    assert "SYN-LARGE, which has an accepted calibration" in default["model"]["reason"]
    assert "power_exponent" in default["model"]["parameters"]
    for name in ("sigma_usd_per_sqrt_day", "spread_usd", "adv_shares"):
        assert "calibration" in default["model"]["parameters"][name]["source"].lower(), name
    linear = _plan_json(capsys, [*argv, "--cost-model", "linear"])
    assert linear["model"]["name"] == "linear" and "chosen on the command line" in linear["model"]["reason"]
    assert linear["strategies"][0]["expected_cost_usd"] != default["strategies"][0]["expected_cost_usd"]


def test_max_participation_reaches_the_strategies_and_flags_the_rows_above_it(capsys):
    tight = _plan_json(capsys, [*TABLE1, "--max-participation", "0.05", "--strategy", "nonlinear",
                                "--strategy", "immediate"])  # fmt: skip
    assert tight["settings"]["max_participation"] == 0.05
    rows = {s["name"]: s for s in tight["strategies"]}
    assert max(rows["nonlinear"]["participation"]) <= 0.05 * (1 + 1e-9)  # the allocator keeps within the limit
    assert rows["immediate"]["max_participation"] == pytest.approx(0.2)  # 1e6 shares against 5e6 in one day
    assert "cannot respect the max participation of 5%" in rows["immediate"]["participation_note"]
    assert rows["nonlinear"]["params"]["max_participation"] == 0.05  # the limit, not the strategy's own default
    assert main([*TABLE1, "--max-participation", "0.05", "--strategy", "immediate"]) == 0
    assert "Immediate: cannot respect the max participation of 5%" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--cost-model", "quadratic"], "argument --cost-model: invalid choice: 'quadratic'"),
        (["--max-participation", "0"], "max participation (fraction of expected volume) must be above 0"),
        (["--max-participation", "1.5"], "at most 1, got 1.5"),
        (["--max-participation", "nan"], "must be a finite number"),
        (["--max-participation", "lots"], "argument --max-participation: invalid float value"),
        (["--max-participation", "0.2", "--set", "max_participation=0.1"], "give the participation limit once"),
    ],
)
@pytest.mark.parametrize("command", ["plan", "sweep", "simulate"])
def test_a_bad_model_or_limit_exits_2_with_one_line(capsys, change, message, command):
    argv = [command, *TABLE1[1:], *change]
    if command == "sweep":
        argv += ["--param", "risk_aversion_per_usd", "--values", "1e-6"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_sweep_and_simulate_take_the_model_and_the_limit(capsys):
    sweep_args = [*TABLE1, "--strategy", "twap", "--param", "risk_aversion_per_usd", "--values", "1e-6", "--json"]
    sweep_args[0] = "sweep"
    costs = {}
    for model in ("linear", "calibrated"):
        assert main([*sweep_args, "--cost-model", model]) == 0
        output = json.loads(capsys.readouterr().out)
        assert output["model"]["name"] == model
        costs[model] = output["strategies"][0]["expected_cost_usd"][0]
    assert costs["linear"] == pytest.approx(662_500.0)  # as the plan prices it (test above)
    assert costs["calibrated"] != pytest.approx(costs["linear"])
    simulate_args = [*TABLE1, "--strategy", "twap", "--paths", "50", "--json"]
    simulate_args[0] = "simulate"
    assert main([*simulate_args, "--cost-model", "calibrated", "--max-participation", "0.3"]) == 0
    assert json.loads(capsys.readouterr().out)["strategies"][0]["name"] == "twap"


def test_simulate_text_shows_the_expectation_in_its_market_and_the_plans_closed_form(capsys):
    """Beside each mean: what a fixed schedule's mean estimates in the simulated market, and the plan's number."""
    args = [*TABLE1, "--strategy", "twap", "--paths", "200"]
    args[0] = "simulate"
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    header = next(line for line in out if line.startswith("strategy"))
    assert header.split()[-2:] == ["expected", "plan"]
    twap = next(line for line in out if line.startswith("TWAP"))
    expected, plan = (float(v.replace(",", "")) for v in twap.split()[-2:])
    assert expected == pytest.approx(plan, rel=1e-9)  # the linear model: no Jensen term, the two agree
    assert any(line.startswith("expected: the planned schedule's expected cost") for line in out)
