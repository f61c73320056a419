"""Issue 14 items 4 and 6: the domain of an order and a market, and the plan's warnings outside the model's range."""

import json

import numpy as np
import pytest

from optexec import models, planning
from optexec.cli import main
from optexec.models import MarketParams, Order
from optexec.planning import best_row, make_plan, plan_to_json, recommendation, within_limit

FAST = ["twap", "vwap", "ac_discrete", "immediate", "pov"]


def _market(**changes) -> MarketParams:
    values = {"price_usd": 50.0, "sigma_usd_per_sqrt_day": 0.95, "spread_usd": 0.125, "adv_shares": 5e6}
    values.update(changes)
    return MarketParams.from_rules_of_thumb(**values)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"shares": 1e200}, ["order size", "1e+200", "at most 1e+12"]),
        ({"shares": float("inf")}, ["order size", "finite"]),
        ({"horizon_days": 1e-9}, ["horizon", "1e-09", "one second", "1000"]),
        ({"horizon_days": 1e9}, ["horizon", "1e+09", "1000 trading days"]),
        ({"start_minutes_after_open": 1e308}, ["start", "1e+308", "at most 1440"]),
    ],
)
def test_an_order_outside_its_domain_is_refused_naming_the_value_and_the_range(changes, words):
    values = {"symbol": "X", "side": "buy", "shares": 1e6, "horizon_days": 1.0, "slices": 10, **changes}
    with pytest.raises(ValueError) as error:
        Order(**values)
    assert all(word in str(error.value) for word in words), str(error.value)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("price_usd", 1e308, ["price", "1e+308", "at most 1e+07"]),
        ("sigma_usd_per_sqrt_day", 1e200, ["volatility", "1e+200"]),
        ("spread_usd", 1e300, ["spread", "1e+300"]),
        ("adv_shares", 1e300, ["average daily volume", "1e+300"]),
        ("eta_usd_day_per_share2", 1e300, ["temporary impact", "1e+300"]),
        ("gamma_usd_per_share2", 1e300, ["permanent impact", "1e+300"]),
        ("drift_usd_per_day", 1e300, ["drift", "1e+300", "at least -1e+07"]),
        ("drift_usd_per_day", -1e300, ["drift", "-1e+300"]),
    ],
)
def test_market_parameters_outside_their_domain_are_refused(field, value, words):
    values = {
        "price_usd": 50.0, "sigma_usd_per_sqrt_day": 0.95, "spread_usd": 0.125, "adv_shares": 5e6,
        "eta_usd_day_per_share2": 2.5e-6, "gamma_usd_per_share2": 2.5e-7, field: value,
    }  # fmt: skip
    with pytest.raises(ValueError) as error:
        MarketParams(**values)
    assert all(word in str(error.value) for word in words), str(error.value)


def test_the_largest_allowed_order_still_prices_finitely():
    order = Order("X", "buy", models.MAX_ORDER_SHARES, models.MIN_HORIZON_DAYS, 10)
    plan = make_plan(order, _market(price_usd=1e7, sigma_usd_per_sqrt_day=1e7, drift_usd_per_day=1e7), names=FAST)
    assert plan.planned
    json.dumps(plan_to_json(plan), allow_nan=False)  # every number finite


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 1e308])
def test_the_risk_aversion_is_checked(value):
    with pytest.raises(ValueError, match="risk aversion"):
        make_plan(Order("X", "buy", 1e6, 1.0, 10), _market(), {"risk_aversion_per_usd": value}, FAST)


def test_an_order_within_the_model_has_no_domain_warnings(table1_order, table1_market):
    """Table 1 is within the model for every worked schedule; only the instant sweep of 20% of ADV (Immediate, a
    block through Table 1's book, kappa = rho eta) is priced above 2,000 bps and flagged."""
    plan = make_plan(table1_order, table1_market, names=FAST)
    assert plan.warnings == ()
    assert [row.strategy.name for row in plan.planned if row.outside_model] == ["immediate"]
    assert not recommendation(plan).startswith("Caution")
    assert plan_to_json(plan)["recommendation"]["outside_model"] is False


def test_an_order_of_100_times_adv_warns_on_the_order_every_schedule_and_the_recommendation():
    """Issue 14: 100x ADV was priced at 60,000-250,000 bps and 20-100x market volume with only POV warning."""
    plan = make_plan(Order("X", "buy", 5e8, 1.0, 10), _market(), names=FAST)
    assert len(plan.warnings) == 1 and "10000% of the average daily volume" in plan.warnings[0]
    assert f"{planning.MAX_ORDER_ADV_SHARE:.0%}" in plan.warnings[0]
    for row in plan.planned:
        assert row.outside_model, row.strategy.name
        assert any("of the expected market volume" in w and "more than the whole market" in w for w in row.warnings)
        assert any(f"above {planning.MAX_EXPECTED_COST_BPS:,.0f} bps" in w for w in row.warnings)
    text = recommendation(plan)
    assert text.startswith("Caution: this plan is outside the model's range")
    assert "No strategy plans this order within the model's range" in text
    data = plan_to_json(plan)
    assert data["warnings"] == list(plan.warnings)
    assert data["recommendation"]["outside_model"] is True and data["recommendation"]["text"] == text
    assert any("bps" in w for w in data["recommendation"]["warnings"])
    assert all(s["outside_model"] for s in data["strategies"])


def test_an_order_just_above_the_adv_share_warns_only_on_the_order():
    plan = make_plan(Order("X", "buy", 0.31 * 5e6, 5.0, 50), _market(), names=["twap"])
    assert len(plan.warnings) == 1 and "31% of the average daily volume" in plan.warnings[0]
    assert not plan.planned[0].outside_model
    assert recommendation(plan).startswith("Caution")


def test_a_horizon_shorter_than_a_bar_warns():
    plan = make_plan(Order("X", "buy", 1e4, 30 / (390 * 60), 10), _market(), names=["twap"])
    assert any("shorter than one bar" in w and "30 seconds" in w for w in plan.warnings)


def test_the_recommendation_names_the_strategies_within_the_model_when_the_best_is_outside():
    """20% of ADV in a day at a high risk aversion, without a participation cap: Immediate (a block of 200% of the
    first slice's volume, above 2,000 bps) has the lowest E + λV and Almgren–Chriss front-loads past the market's
    volume too; the text says the best is outside the model and names TWAP and VWAP, which stay within it."""
    settings = {"risk_aversion_per_usd": 1e-3, "max_participation": 1.0}  # no participation cap: it front-loads
    plan = make_plan(Order("X", "buy", 1e6, 1.0, 10), _market(), settings, names=FAST)
    rows = {row.strategy.name: row for row in plan.planned}
    assert rows["ac_discrete"].outside_model and not rows["twap"].outside_model and not rows["vwap"].outside_model
    assert plan.warnings == ()
    text = recommendation(plan)
    assert text.startswith("Caution: this plan is outside the model's range (")
    assert "Other strategies within the model's range: TWAP, VWAP." in text
    assert "Almgren–Chriss has the lowest expected cost" in text  # Immediate's 200% breaks even a 100% limit
    breaks = "above the 100% participation limit, so not recommended: Immediate (blocks done at once; 200% of a slice"
    assert breaks in text


def test_plan_json_and_text_carry_the_warnings(capsys):
    argv = ["plan", "--symbol", "X", "--side", "buy", "--shares", "5e8", "--horizon-days", "1", "--slices", "10",
            "--price", "50", "--sigma", "0.95", "--spread", "0.125", "--adv", "5e6"]  # fmt: skip
    chosen = [x for name in FAST for x in ("--strategy", name)]
    assert main([*argv, *chosen, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["warnings"] and data["recommendation"]["outside_model"]
    assert main([*argv, *chosen]) == 0
    text = capsys.readouterr().out
    assert "warning: the order is 10000% of the average daily volume" in text
    assert "(outside the model's range: see its warnings)" in text


def test_the_recommendation_keeps_within_the_participation_limit_and_names_what_breaks_it():
    """A liquid name at the default λ: the immediate sweep has the lowest E + λV but takes 900% of its slice's
    expected volume; the recommendation (and the ★) go to the best strategy within the 25% limit, and the text names
    the sweep and its peak participation."""
    market = MarketParams(100.0, 1.5, 0.01, 5e6, 4e-8, 1e-8, transient_strength_usd_per_share2=5e-7)
    plan = make_plan(Order("X", "sell", 250_000, 1.0, 390), market, names=["immediate", "twap", "ac_discrete"])
    lam = plan.risk_aversion_per_usd
    rows = {row.strategy.name: row for row in plan.planned}
    assert rows["immediate"].cost.objective_usd(lam) < rows["ac_discrete"].cost.objective_usd(lam)
    assert best_row(plan).strategy.name == "ac_discrete"
    text = recommendation(plan)
    assert text.startswith("Almgren–Chriss has the lowest expected cost")
    assert "above the 25% participation limit, so not recommended: Immediate (" in text
    alone = make_plan(plan.order, market, {"max_participation": 0.01}, ["immediate"])
    assert "No strategy keeps within the 1% participation limit: this one is among those closest" in recommendation(
        alone
    )


def test_when_no_strategy_keeps_the_limit_the_closest_without_blocks_is_recommended():
    """40% of ADV in a day against a 25% limit: every strategy breaks it; the instant sweep has the lowest E + λV
    (no risk) but is recommended last, and among the schedules capped at the lowest finishing participation the one
    with the lowest E + λV is recommended."""
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6)
    settings = {"risk_aversion_per_usd": 1e-5}
    plan = make_plan(Order("X", "buy", 2e6, 1.0, 78), market, settings, ["immediate", "twap", "pov", "ac_discrete"])
    lam = plan.risk_aversion_per_usd
    rows = {row.strategy.name: row for row in plan.planned}
    assert all(not within_limit(row, 0.25) for row in rows.values())
    assert min(rows.values(), key=lambda row: row.cost.objective_usd(lam)).strategy.name == "immediate"
    best = best_row(plan)
    assert best.strategy.name != "immediate"
    peaks = {name: float(np.max(row.schedule.participation)) for name, row in rows.items()}
    assert peaks[best.strategy.name] <= min(peaks.values()) * 1.01
    text = recommendation(plan)
    assert "among those closest to it" in text and "Immediate (blocks done at once" in text
