"""Issue 14 item 4: every number of an order and a setting is checked, and `--json` is valid JSON (no NaN/Infinity).

The extreme inputs are generated here (overflowing, tiny, signed, not-a-number); each run must end either with exit
status 0 and strict JSON, or with exit status 2 and one line on stderr, never a traceback.
"""

import dataclasses
import json
import math

import numpy as np
import pytest

from optexec.cli import main
from optexec.models import MarketParams, Order
from optexec.planning import make_plan, plan_to_json
from optexec.strategies import registry

ORDER = ["--symbol", "FUZZ", "--side", "buy", "--shares", "1e6", "--horizon-days", "1", "--slices", "10"]
MARKET = ["--price", "50", "--sigma", "0.95", "--spread", "0.125", "--adv", "5e6"]
FAST = ["--strategy", "twap", "--strategy", "ac_discrete", "--strategy", "vwap", "--strategy", "immediate"]


def _strict_json(text: str):
    """json.loads that refuses the NaN, Infinity and -Infinity tokens Python's json accepts by default."""

    def refuse(token: str):
        raise ValueError(f"invalid JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _with(args: list[str], flag: str, value: str) -> list[str]:
    """``args`` with ``flag`` set to ``value`` (replaced when present, else added)."""
    if flag in args:
        i = args.index(flag)
        return [*args[: i + 1], value, *args[i + 2 :]]
    return [*args, flag, value]


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_contract(code: int, out: str, err: str) -> None:
    """Exit 0 with strict JSON, or exit 2 with exactly one line on stderr."""
    if code == 0:
        _strict_json(out)
    else:
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err


def test_plan_with_overflowing_shares_is_one_line_naming_value_and_range(capsys):
    code, out, err = _run(["plan", *_with(ORDER, "--shares", "1e200"), *MARKET], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "order size" in err and "1e+200" in err and "1e+12" in err


def test_plan_json_with_huge_drift_fails_with_a_message_not_nan(capsys):
    code, out, err = _run(["plan", *ORDER, *MARKET, "--drift", "1e300", "--json"], capsys)
    assert code == 2 and out == ""
    assert "drift" in err and "1e+300" in err and len(err.strip().splitlines()) == 1


def test_simulate_json_with_overflowing_shares_fails_with_a_message(capsys):
    argv = ["simulate", *_with(ORDER, "--shares", "1e200"), *MARKET, "--paths", "20", "--json", *FAST]
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == "" and "order size" in err


def test_horizon_of_a_billionth_of_a_day_is_refused_with_the_allowed_range(capsys):
    code, _, err = _run(["plan", *_with(ORDER, "--horizon-days", "1e-9"), *MARKET, "--json"], capsys)
    assert code == 2 and "horizon" in err and "1e-09" in err and "one second" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e308"])
def test_simulate_checks_the_risk_aversion(capsys, value):
    argv = ["simulate", *ORDER, *MARKET, "--paths", "20", "--json", "--risk-aversion", value, *FAST]
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == "" and "risk aversion" in err


EXTREMES = ["1e308", "-1e308", "1e200", "1e12", "1e7", "1e3", "1", "1e-5", "1e-300", "0", "-0", "nan", "inf", "-inf"]
NUMBERS = [
    "--shares", "--horizon-days", "--price", "--sigma", "--spread", "--adv", "--eta", "--gamma", "--drift",
    "--risk-aversion", "--start-minutes",
]  # fmt: skip


@pytest.mark.parametrize("flag", NUMBERS)
def test_every_number_of_a_plan_at_every_extreme_keeps_the_contract(capsys, flag):
    for value in EXTREMES:
        code, out, err = _run(["plan", *_with([*ORDER, *MARKET], flag, value), "--json", *FAST], capsys)
        _assert_contract(code, out, err)
        if code == 0:
            data = _strict_json(out)
            assert all(math.isfinite(s["expected_cost_usd"]) for s in data["strategies"]), (flag, value)


@pytest.mark.parametrize("flag", ["--shares", "--drift", "--sigma", "--adv", "--risk-aversion"])
def test_every_number_of_a_simulation_at_every_extreme_keeps_the_contract(capsys, flag):
    for value in EXTREMES[::2]:
        argv = ["simulate", *_with([*ORDER, *MARKET], flag, value), "--paths", "20", "--json", *FAST]
        code, out, err = _run(argv, capsys)
        _assert_contract(code, out, err)


def test_every_strategy_at_the_edges_of_the_domain_keeps_the_contract(capsys):
    """All strategies (their own solvers included) at the largest and smallest allowed numbers."""
    edges = [("--shares", "1e12"), ("--horizon-days", "4.3e-5"), ("--sigma", "1e7"), ("--drift", "-1e7")]
    for flag, value in edges:
        code, out, err = _run(["plan", *_with([*ORDER, *MARKET], flag, value), "--json"], capsys)
        _assert_contract(code, out, err)


def _numeric_settings() -> dict[str, list[str]]:
    """Every numeric strategy setting of the registry and the strategies that take it (the RL agent aside: its
    only number is the risk aversion, fuzzed above)."""
    users: dict[str, list[str]] = {}
    for name, strategy in registry.STRATEGIES.items():
        if name == "rl_agent":
            continue
        for field in dataclasses.fields(strategy.params_type):
            if isinstance(field.default, (int, float)) and not isinstance(field.default, bool):
                users.setdefault(field.name, []).append(name)
    return users


@pytest.mark.parametrize(("setting", "strategies"), sorted(_numeric_settings().items()))
def test_strategy_settings_at_extremes_keep_the_contract(capsys, setting, strategies):
    chosen = [x for name in strategies for x in ("--strategy", name)]
    for value in ["1e308", "-1e308", "nan", "inf", "0", "1e-300", "1e12"]:
        code, out, err = _run(["plan", *ORDER, *MARKET, "--set", f"{setting}={value}", "--json", *chosen], capsys)
        _assert_contract(code, out, err)


def test_dump_json_names_the_first_non_finite_number():
    from optexec.cli.common import UserError, dump_json

    with pytest.raises(UserError, match=r"strategies\[1\]\.mean_cost_usd = nan"):
        dump_json("plan", {"strategies": [{"mean_cost_usd": 1.0}, {"mean_cost_usd": float("nan")}]})
    assert _strict_json(dump_json("plan", {"x": [1.0, None]})) == {"schema": "optexec.plan/1", "x": [1.0, None]}


def test_participation_where_no_volume_is_expected_is_null_with_a_reason():
    """A profile with silent minutes (e.g. a lunch break): a slice there has no expected volume, so the
    participation of a child order in it is undefined; the JSON says null and why, never Infinity."""
    profile = np.ones(390)
    profile[:195] = 0.0  # no volume in the first half of the session
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, volume_profile=tuple(profile))
    # Immediate's block is never moved by the participation limit (a worked schedule's child orders leave the silent
    # slices), so it trades where no volume is expected
    plan = make_plan(Order("GAP", "buy", 1e5, 1.0, 10), market, names=["immediate"])
    data = _strict_json(json.dumps(plan_to_json(plan), allow_nan=False))
    immediate = data["strategies"][0]
    assert immediate["participation"][0] is None and immediate["participation"][-1] is not None
    assert "no market volume" in immediate["participation_null"]
