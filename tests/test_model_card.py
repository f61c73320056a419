"""The model a plan is priced with (optexec.model_card) and the plan table's model and participation columns."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest

from optexec.model_card import choose_cost_model, model_parameters, with_sources
from optexec.models import ParameterSource
from optexec.planning import NOT_STATED, cost_table, make_plan, optimises_under, participation_note


def test_the_default_model_follows_the_calibration_and_a_choice_wins():
    assert choose_cost_model(None, True, "X", "")[0] == "calibrated"
    assert choose_cost_model(None, False, "X", "")[0] == "linear"
    name, reason = choose_cost_model("linear+transient", True, "X", "on the ticket")
    assert name == "linear+transient" and reason == "linear+transient: chosen on the ticket"
    with pytest.raises(ValueError, match="the cost model must be one of linear, linear\\+transient, calibrated"):
        choose_cost_model("quadratic", True, "X", "")


def test_a_strategy_says_what_it_optimises_or_the_table_says_it_does_not(table1_market):
    market = dataclasses.replace(table1_market, cost_model="calibrated")
    assert optimises_under(SimpleNamespace(optimises="linear Almgren–Chriss"), market) == "linear Almgren–Chriss"
    assert optimises_under(SimpleNamespace(optimises=lambda m: f"the {m.cost_model} model"), market) == (
        "the calibrated model"
    )
    assert optimises_under(SimpleNamespace(), market) == NOT_STATED == "not stated"


def test_the_participation_column_shows_the_strategys_warning_and_a_peak_above_the_limit(table1_order, table1_market):
    """TWAP of Table 1 takes 200,000 of 5e6 shares a day: 4% of the expected volume."""
    row = make_plan(table1_order, table1_market, {"max_participation": 0.03}, ["twap"]).rows[0]
    assert participation_note(row, 0.03).startswith("cannot respect the max participation of 3%")
    assert "capped at 4%, the lowest participation that finishes" in participation_note(row, 0.03)
    within = make_plan(table1_order, table1_market, {"max_participation": 0.05}, ["twap"]).rows[0]
    assert participation_note(within, 0.05) == ""
    row = within
    said = "could not keep within the participation limit in 2 slices"
    warned = dataclasses.replace(row, schedule=dataclasses.replace(row.schedule, warnings=(said, "unrelated")))
    assert participation_note(warned, 0.05) == said  # the strategy's own warning, even within the limit
    plan = make_plan(table1_order, table1_market, {"max_participation": 0.03}, ["twap"])
    (note,) = cost_table(plan)["participation_note"].tolist()
    assert note.startswith("cannot respect the max participation of 3%")


def test_a_bad_participation_limit_is_refused(table1_order, table1_market):
    for value in (0.0, 1.2, float("nan")):
        with pytest.raises(ValueError, match="max participation"):
            make_plan(table1_order, table1_market, {"max_participation": value}, ["twap"])


def test_the_cost_table_prices_transient_impact_under_the_one_model(table1_order, table1_market):
    """TWAP is a constant rate u = X / T: its transient cost is kappa u^2 / rho (T - (1 - e^{-rho T}) / rho)
    (docs/MATH.md section 11), exactly on any grid; the table has no second-model column."""
    market = dataclasses.replace(table1_market, cost_model="linear+transient")
    table = cost_table(make_plan(table1_order, market, {}, ["twap"]))
    assert "transient_model_usd" not in table.columns
    kappa, rho, horizon = market.transient_strength, market.transient_decay, table1_order.horizon_days
    rate = table1_order.shares / horizon
    exact = kappa * rate**2 / rho * (horizon - (1 - math.exp(-rho * horizon)) / rho)
    assert table["transient_usd"].iloc[0] == pytest.approx(exact, rel=1e-9)
    assert table["priced_under"].iloc[0] == (
        "linear+transient: spread + linear temporary + linear permanent + transient"
    )


def test_sources_are_recorded_replaced_and_kept_in_their_own_units(table1_market):
    fitted = ParameterSource("sigma_daily", 0.019, "fraction of price", 0.001, "calibration run 1 (Yang–Zhang)")
    market = dataclasses.replace(table1_market, sources=(fitted,))
    sigma = next(p for p in model_parameters(market) if p.name == "sigma_usd_per_sqrt_day")
    assert sigma.source == "calibration run 1 (Yang–Zhang)" and sigma.unit == "$/share/√day"
    assert sigma.value == 0.95 and sigma.stderr == pytest.approx(0.001 * 0.95 / 0.019)  # same relative error
    kept = with_sources(market, {"sigma_usd_per_sqrt_day": "planted"}, replace=False)
    assert kept.sources == market.sources
    typed = with_sources(market, {"sigma_usd_per_sqrt_day": "set on the ticket"})
    sigma = next(p for p in model_parameters(typed) if p.name == "sigma_usd_per_sqrt_day")
    assert sigma.source == "set on the ticket" and sigma.stderr is None
