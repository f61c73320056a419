"""The Basket page's horizon in minutes, hours or trading days (optexec.ui.order_time): the same basket typed in
hours prices as in days, a link saved in hours reopens in hours, an old link's horizon_days still opens, and a bad
saved value is named on the page instead of being replaced silently."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from optexec import clock
from optexec.baskets import storage
from optexec.ui import basket_view, order_time
from tests.shown import shown, warning_texts

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "basket.py")


def _open(ident: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if ident:
        at.query_params["basket"] = ident
    return at.run()


def _strategies(at: AppTest):
    return at.dataframe[1].value


def test_a_horizon_in_hours_prices_the_basket_as_the_same_trading_days():
    days = _open()
    days.number_input(key="basket_horizon").set_value(0.5).run()
    hours = _open()
    hours.selectbox(key="basket_horizon_unit").set_value("hours").run()
    hours.number_input(key="basket_horizon").set_value(3.25).run()  # half of a 6.5-hour session
    for at in (days, hours):
        assert not at.exception and not at.error
    assert _strategies(days).equals(_strategies(hours))
    assert any("Horizon: 3.25 hours (0.5 trading days)" in shown(c.value) for c in hours.caption)
    other = _open()
    other.selectbox(key="basket_horizon_unit").set_value("hours").run()
    other.number_input(key="basket_horizon").set_value(2.0).run()
    assert not _strategies(other).equals(_strategies(hours))  # the hours reach the plan


def test_a_horizon_outside_the_range_stops_the_basket_with_an_error_naming_the_box():
    at = _open()
    at.selectbox(key="basket_horizon_unit").set_value("minutes").run()
    at.number_input(key="basket_horizon").set_value(-5.0).run()
    assert not at.exception
    expected = (
        "Horizon (minutes) = −5 is not valid (one second (0.0167) to 98,280 minutes (252 trading days)): the basket "
        "is not updated until it is fixed."
    )
    assert [shown(e.value) for e in at.error] == [expected]
    assert not at.metric and len(at.dataframe) == 1  # nothing priced: only the order editor


def test_a_link_saved_in_hours_reopens_in_hours_with_the_same_totals():
    at = _open()
    at.selectbox(key="basket_horizon_unit").set_value("hours").run()
    at.number_input(key="basket_horizon").set_value(2.0).run()
    totals = [m.value for m in at.metric]
    at.button(key="basket_share").click().run()
    written = at.query_params["basket"]
    ident = written if isinstance(written, str) else written[-1]
    saved = storage.load_basket(ident)
    assert saved.settings["horizon_unit"] == "hours"
    assert saved.settings["horizon_days"] == clock.to_days(2.0, "hours", 390)  # priced in trading days
    opened = _open(ident)
    assert not opened.exception and not opened.error
    assert not [w for w in warning_texts(opened) if "Link value" in w]
    assert opened.selectbox(key="basket_horizon_unit").value == "hours"
    assert opened.number_input(key="basket_horizon").value == 2.0
    assert [m.value for m in opened.metric] == totals


def test_an_old_link_with_horizon_days_opens_in_days_and_keeps_its_id():
    table = basket_view.EXAMPLE.copy()
    settings = storage.link_settings(0.5, 26, 1e-6, False, [])
    assert "horizon_unit" not in settings
    ident = storage.save_basket(table, settings)
    opened = _open(ident)
    assert not opened.exception and not opened.error
    assert not [w for w in warning_texts(opened) if "Link value" in w]
    assert opened.selectbox(key="basket_horizon_unit").value == "days"
    assert opened.number_input(key="basket_horizon").value == 0.5
    assert opened.code and f"?basket={ident}" in opened.code[0].value  # the same settings: the same id


def test_a_bad_saved_horizon_is_named_and_what_is_used_instead_said():
    table = basket_view.EXAMPLE.copy()
    settings = storage.link_settings(1.0, 26, 1e-6, False, []) | {"horizon_days": 900.0, "horizon_unit": "weeks"}
    ident = storage.save_basket(table, settings)
    opened = _open(ident)
    assert not opened.exception
    notes = warning_texts(opened)
    assert "Link value horizon_unit=weeks is not valid (minutes or hours or days): using trading days." in notes
    assert any(n.startswith("Link value horizon_days=900.0 is not valid (") and n.endswith("using 1 trading day.")
               for n in notes)  # fmt: skip
    assert opened.number_input(key="basket_horizon").value == 1.0
    assert opened.selectbox(key="basket_horizon_unit").value == "days"


def test_saved_horizon_reads_units_and_days():
    assert order_time.saved_horizon({"horizon_days": 0.5}, 390) == ({"horizon_unit": "days", "horizon": 0.5}, [])
    values, notes = order_time.saved_horizon({"horizon_days": 2 / 6.5, "horizon_unit": "hours"}, 390)
    assert values == {"horizon_unit": "hours", "horizon": 2.0} and notes == []
    values, notes = order_time.saved_horizon({"horizon_days": "abc"}, 390)
    assert values == {"horizon_unit": "days", "horizon": 1.0} and notes[0].startswith("Link value horizon_days=abc")
