"""The plan as a link (AppTest of the whole app): every bad link value is named with what is used instead, the
plan shown is that plan, valid link values are taken, reset really resets, the side is always buy or sell and a
bad typed value stops the plan with an error instead of being repaired."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from tests.shown import open_app, order_header, shown

T12, T13 = "1,000,000,000,000", "10,000,000,000,000"  # the ticket's bounds of shares and ADV
H = "one second (4.27e-05) to 252 trading days"  # the ticket's horizon rule


def _notes(at: AppTest) -> list[str]:
    return [shown(w.value) for w in at.warning if shown(w.value).startswith("Link ")]


@pytest.mark.parametrize(
    "key, value, note, shown",
    [
        ("slices", "100000000", "Link value slices=100000000 is not valid (1–5,000): using 390.", "in 390 slices"),
        ("slices", "0", "Link value slices=0 is not valid (1–5,000): using 390.", "in 390 slices"),
        ("horizon_days", "-1", f"Link value horizon_days=-1 is not valid ({H}): using 1.", "over 1 trading day"),
        ("side", "hold", "Link value side=hold is not valid (buy or sell): using sell.", "**SELL 250,000"),
        ("shares.SYN-LARGE", "abc", ("Link value shares.SYN-LARGE=abc is not valid (a number > 0, ≤ "
         "1,000,000,000,000): using 5% of ADV."),
         "**SELL 250,000 SYN-LARGE**"),
        ("shares.SYN-LARGE", "-5000", ("Link value shares.SYN-LARGE=-5000 is not valid (> 0, ≤ 1,000,000,000,000): "
         "using 5% of ADV."),
         "**SELL 250,000 SYN-LARGE**"),
        ("price.SYN-LARGE", "0", ("Link value price.SYN-LARGE=0 is not valid (> 0, ≤ 10,000,000): using SYN-LARGE's "
         "own value."),
         "arrival price $100.00 ·"),
        ("shares.SYN-MID", "5000", ("Link value shares.SYN-MID=5000 is for SYN-MID, not the link's symbol SYN-LARGE: "
         "ignored."), "**SELL 250,000 SYN-LARGE**"),
        ("bogus", "1", "Link parameter bogus=1 is not one optexec knows: ignored.", "**SELL 250,000 SYN-LARGE**"),
    ],
)  # fmt: skip
def test_a_bad_link_value_is_named_and_the_plan_is_the_one_it_says(key, value, note, shown):
    at = open_app(**{key: value})
    assert not at.exception
    assert note in _notes(at)
    assert shown in order_header(at)
    assert key not in at.query_params  # the link now holds the plan on the screen
    assert len(at.dataframe[0].value) > 10  # and that plan is shown


@pytest.mark.parametrize(
    "key, value, note, widget, used",
    [
        ("risk_aversion", "nan", ("Link value risk_aversion=nan is not valid (a notch of the slider: 0, 1e-09, 2e-09, "
         "5e-09 … 0.001): using 1e-06."), ("select_slider", "risk_aversion"), 1e-6),
        ("start_minutes", "999", "Link value start_minutes=999 is not valid (0–389): using 0 (the open).",
         ("time_input", "start_time"), dt.time(9, 30)),
        ("set_participation_rate", "500", ("Link value set_participation_rate=500 is not valid (1–100): using the "
         "default 10."), ("slider", "set_participation_rate"), 10.0),
        ("set_method", "magic", "Link value set_method=magic is not valid (one of", ("selectbox", "set_method"),
         "waterfill"),
        ("eta_x", "7", "Link value eta_x=7 is not valid (a notch of the slider", ("select_slider", "eta_x"), 1.0),
    ],
)  # fmt: skip
def test_a_bad_link_setting_is_named_and_the_default_is_used(key, value, note, widget, used):
    at = open_app(**{key: value})
    assert not at.exception
    assert any(n.startswith(note) for n in _notes(at)), _notes(at)
    kind, widget_key = widget
    assert getattr(at, kind)(key=widget_key).value == used


def test_an_unknown_symbol_is_not_replaced_by_another():
    at = open_app(symbol="NOPE", slices="78")
    assert not at.exception
    assert at.selectbox(key="symbol").value == "NOPE"
    assert any(
        "Symbol NOPE is not in this store" in shown(e.value) and "no plan is shown" in shown(e.value) for e in at.error
    )
    assert not at.dataframe  # no plan of some other symbol
    assert at.query_params["symbol"] == "NOPE"  # the link keeps what it was sent with
    at.selectbox(key="symbol").set_value("SYN-MID").run()
    assert not at.error and "SYN-MID" in order_header(at) and "in 78 slices" in order_header(at)


def test_valid_link_values_give_that_plan_and_stay_in_the_link():
    at = open_app(**{"symbol": "SYN-MID", "side": "buy", "shares.SYN-MID": "123000", "slices": "78",
                  "horizon_days": "2", "risk_aversion": "1e-05", "price.SYN-MID": "42.5"})  # fmt: skip
    assert not at.exception and not _notes(at)
    expected_header = "**BUY 123,000 SYN-MID** over 2 trading days in 78 slices · arrival price $42.50 (override)"
    assert expected_header in order_header(at)
    assert at.select_slider(key="risk_aversion").value == 1e-5
    expected = {"symbol": "SYN-MID", "side": "buy", "shares.SYN-MID": "123000", "slices": "78", "price.SYN-MID": "42.5"}
    assert {k: at.query_params[k] for k in expected} == expected


def test_notes_are_shown_once_at_the_top_and_can_be_dismissed():
    at = open_app(slices="-3")
    assert _notes(at) == ["Link value slices=-3 is not valid (1–5,000): using 390."]
    at.run()
    assert len(_notes(at)) == 1  # still there on the next run, once
    at.button(key="dismiss_link_notes").click().run()
    assert not _notes(at)


def test_reset_restores_the_defaults_and_clears_the_link():
    link = {"side": "buy", "shares.SYN-LARGE": "123000", "slices": "78", "risk_aversion": "1e-05",
            "price.SYN-LARGE": "120", "set_participation_rate": "20", "eta_x": "2", "plan_panel": "trades"}  # fmt: skip
    at = open_app(**link)
    assert "**BUY 123,000 SYN-LARGE** over 1 trading day in 78 slices · arrival price $120.00" in order_header(at)
    assert len(at.query_params) == 8
    at.button(key="reset_ticket").click().run()
    assert not at.exception
    assert dict(at.query_params) == {}
    assert "**SELL 250,000 SYN-LARGE** over 1 trading day in 390 slices · arrival price $100.00 ·" in order_header(at)
    assert at.select_slider(key="risk_aversion").value == 1e-6
    assert at.slider(key="set_participation_rate").value == 10.0
    assert at.number_input(key="price.SYN-LARGE").value is None
    assert at.select_slider(key="eta_x").value == 1.0
    assert next(b for b in at.get("button_group") if b.key == "plan_panel").value == "holdings"


def test_the_side_cannot_be_deselected():
    at = open_app()
    side = next(b for b in at.get("button_group") if b.key == "side")
    side.set_value("buy").run()
    assert "**BUY" in order_header(at) and at.query_params["side"] == "buy"
    next(b for b in at.get("button_group") if b.key == "side").set_value(None).run()  # the selected side clicked again
    assert next(b for b in at.get("button_group") if b.key == "side").value == "buy"
    assert "**BUY" in order_header(at) and at.query_params["side"] == "buy"


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("shares.SYN-LARGE", -5000.0, "Shares = −5,000 is not valid (> 0, ≤ 1,000,000,000,000): the plan is not"),
        ("horizon", 0.0, f"Horizon (trading days) = 0 is not valid ({H}): the plan is not updated"),
        ("slices", 0, "Slices = 0 is not valid (1–5,000): the plan is not updated until it is fixed."),
        ("adv.SYN-LARGE", -1.0, "ADV (shares/day) = −1 is not valid (> 0, ≤ 10,000,000,000,000): the plan is not"),
    ],
)  # fmt: skip
def test_an_invalid_typed_value_stops_the_plan_with_an_error(key, value, message):
    at = open_app()
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert any(shown(e.value).startswith(message) for e in at.error), [shown(e.value) for e in at.error]
    assert not at.dataframe and not at.get("plotly_chart")  # no stale plan left standing
    assert at.number_input(key=key).value == value  # what was typed stays, to be fixed


def test_a_bad_page_value_in_the_link_is_named_on_its_page():
    at = open_app(plan_panel="pie")
    assert any(shown(w.value).startswith("Link value plan_panel=pie is not valid (schedule panel: one of holdings, "
                                         "trades, participation, all): using Shares left to trade.")
               for w in at.warning)  # fmt: skip
    assert next(b for b in at.get("button_group") if b.key == "plan_panel").value == "holdings"
    assert "plan_panel" not in at.query_params


def test_a_good_page_value_in_the_link_is_taken():
    at = open_app(plan_panel="trades")
    assert next(b for b in at.get("button_group") if b.key == "plan_panel").value == "trades"
    assert at.query_params["plan_panel"] == "trades"
    assert not _notes(at)


def test_a_bad_simulation_value_in_the_link_is_named_on_the_simulate_page():
    from pathlib import Path

    at = open_app(sim_paths="5")
    at.switch_page(str(Path(__file__).resolve().parents[1] / "pages" / "simulate.py")).run()
    assert not at.exception
    assert any(
        shown(w.value) == "Link value sim_paths=5 is not valid (Paths: 100–100,000): using 2,000." for w in at.warning
    )
    assert at.number_input(key="sim_paths").value == 2_000


@pytest.mark.parametrize(
    "query, note",
    [
        ({"shares.SYN-LARGE": "1e308"}, (f"Link value shares.SYN-LARGE=1e308 is not valid (> 0, ≤ {T12}): using 5% "
                                         "of ADV.")),
        ({"price.SYN-LARGE": "1e308"}, ("Link value price.SYN-LARGE=1e308 is not valid (> 0, ≤ 10,000,000): using "
                                        "SYN-LARGE's own value.")),
        ({"adv.SYN-LARGE": "1e308"}, (f"Link value adv.SYN-LARGE=1e308 is not valid (> 0, ≤ {T13}): using "
                                      "SYN-LARGE's own value.")),
        ({"size_mode": "% of ADV", "pct_adv": "1e308"}, ("Link value pct_adv=1e308 is not valid (> 0, ≤ 10,000): "
                                                         "using 5.")),
        ({"horizon_days": "1e-9"}, f"Link value horizon_days=1e-9 is not valid ({H}): using 1."),
        ({"horizon_days": "1e308"}, f"Link value horizon_days=1e308 is not valid ({H}): using 1."),
        ({"drift_bps": "1e308"}, "Link value drift_bps=1e308 is not valid (-10,000–10,000): using 0."),
        ({"set_signal_usd_per_day": "1e308"}, ("Link value set_signal_usd_per_day=1e308 is not valid "
                                               f"(-{T12}–{T12}): using the default 0.")),
        ({"set_ladder_levels": "1e308"}, f"Link value set_ladder_levels=1e308 is not valid (-{T12}–{T12}): using"),
    ],
)  # fmt: skip
def test_a_huge_link_value_is_named_and_never_an_exception_box(query, note):
    """Issue 14 item 4: 1e308 for shares, price or ADV showed an exception box (an OverflowError in the cost model)."""
    at = open_app(**query)
    assert not at.exception
    assert any(n.startswith(note) for n in _notes(at)), _notes(at)
    assert len(at.dataframe[0].value) > 10  # the plan on the values used instead
    assert "inf" not in " ".join(shown(s.value) for s in at.success)  # no "−inf bps" recommendation


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("shares.SYN-LARGE", 1e308, f"Shares = 1e+308 is not valid (> 0, ≤ {T12}): the plan is not updated"),
        ("price.SYN-LARGE", 1e308, "Price ($) = 1e+308 is not valid (> 0, ≤ 10,000,000): the plan is not updated"),
        ("adv.SYN-LARGE", 1e308, f"ADV (shares/day) = 1e+308 is not valid (> 0, ≤ {T13}): the plan is not"),
        ("drift_bps", 1e308, "Expected drift (bps/day) = 1e+308 is not valid (-10,000–10,000): the plan is not"),
    ],
)  # fmt: skip
def test_a_huge_typed_value_is_an_error_not_an_exception_box(key, value, message):
    at = open_app()
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert any(shown(e.value).startswith(message) for e in at.error), [shown(e.value) for e in at.error]


def test_an_overflow_in_the_model_is_a_message_not_an_exception_box(monkeypatch):
    """Whatever the bounds miss: arithmetic the model cannot do is said on the page (the safety net of live views)."""
    from optexec.ui import plan_view

    def overflowing(*args, **kwargs):
        raise OverflowError("(34, 'Numerical result out of range')")

    monkeypatch.setattr(plan_view, "make_plan", overflowing)
    at = open_app(slices="77")  # a plan no other test has cached
    assert not at.exception
    assert any("beyond what the cost model can compute" in shown(e.value) for e in at.error)


def test_a_link_with_a_cost_model_reproduces_that_plan():
    chosen = open_app()
    chosen.selectbox(key="cost_model").set_value("calibrated").run()
    link = open_app(cost_model="calibrated")
    assert not link.exception and not _notes(link)
    assert link.selectbox(key="cost_model").value == "calibrated"
    assert link.query_params["cost_model"] == "calibrated"  # and it stays in the link
    costs = [at.dataframe[0].value.set_index("strategy")["expected_cost_usd"] for at in (chosen, link)]
    assert costs[0].equals(costs[1])


def test_a_bad_cost_model_or_limit_in_the_link_is_named():
    at = open_app(cost_model="quadratic", max_participation="250")
    assert not at.exception
    notes = _notes(at)
    assert ("Link value cost_model=quadratic is not valid (linear or linear+transient or calibrated): using linear "
            "(the default for SYN-LARGE).") in notes  # fmt: skip
    assert any(
        n.startswith("Link value max_participation=250 is not valid (") and n.endswith("using 25.") for n in notes
    )
    assert at.selectbox(key="cost_model").value == "linear" and at.number_input(key="max_participation").value == 25
    assert "cost_model" not in at.query_params and "max_participation" not in at.query_params


def test_a_link_with_a_participation_limit_reaches_the_table():
    at = open_app(max_participation="1")
    assert not at.exception and not _notes(at)
    assert at.number_input(key="max_participation").value == 1
    notes = at.dataframe[0].value.set_index("strategy")["participation_note"]
    assert "max participation of 1%" in notes["TWAP"]
    assert at.query_params["max_participation"] == "1"
