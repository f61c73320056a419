"""The command line contract of DESIGN.md section 7: plan, --json, errors with exit status 2."""

import json
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
    assert market["eta_usd_day_per_share2"] == pytest.approx(0.125 / 5e4)  # spread / (1% ADV), MATH.md section 7
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
