"""AppTest of the Basket page (issue 15): it prices the example basket, editing a row changes the totals, a bad
cell shows its line and column until the bad rows are dropped, and the report downloads."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.shown import shown

PAGE = Path(__file__).resolve().parents[1] / "pages" / "basket.py"
EDITOR = "basket_table_"  # the data editor's key when nothing is uploaded


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _edit(at: AppTest, edited_rows: dict) -> AppTest:
    at.session_state[EDITOR] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def test_the_basket_page_prices_the_example_and_an_edit_changes_the_totals():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception and not at.error
    gross = _metric(at, "Gross notional")
    strategies, orders = at.dataframe[1].value, at.dataframe[2].value
    assert list(strategies["strategy"]) == ["joint_ac", "independent_ac", "twap"]
    assert list(orders["symbol"]) == ["SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE"]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert {trace["name"] for trace in charts[0]["data"]} == {"buy", "sell"}
    assert len(charts) == 5  # bubble, over time, risk contributions, frontier, schedules
    _edit(at, {0: {"shares": 400_000.0}})
    assert not at.exception and not at.error
    assert at.dataframe[2].value["shares"].iloc[0] == 400_000.0
    assert _metric(at, "Gross notional") != gross


def test_a_bad_cell_shows_its_line_and_column_until_the_bad_rows_are_dropped():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    _edit(at, {1: {"side": "hold"}})
    assert not at.exception and at.error
    problems = at.dataframe[1].value
    assert list(problems.columns) == ["line", "column", "reason"]
    assert problems.iloc[0]["line"] == 2 and problems.iloc[0]["column"] == "side"
    at.toggle(key="basket_drop").set_value(True).run()
    assert not at.exception and not at.error
    assert list(at.dataframe[2].value["symbol"]) == ["SYN-LARGE", "SYN-SMALL", "SYN-CONCAVE"]
    assert any("dropped" in w.value for w in at.warning)


def test_the_basket_report_is_self_contained_html():
    from optexec.basket.input import parse_basket
    from optexec.basket.plan import plan_basket
    from optexec.store import db
    from optexec.ui import basket_view

    basket = parse_basket(basket_view.EXAMPLE)
    with db.reading() as con:
        plan = plan_basket(basket, con, 1.0, 13, 1e-6)
    import datetime as dt

    text = basket_view.report_html(plan, [basket_view.bubble_figure(plan)], dt.datetime(2026, 1, 1))
    assert text.startswith("<!doctype html>") and "SYN-MID" in text and "By sector" not in text
    assert "By group" in text and "plotly" in text.lower() and "<script src=" not in text
    csv = basket_view.spreadsheet_csv(plan)
    assert csv.splitlines()[0].startswith("symbol,side,group,shares")


def test_a_link_reopens_the_basket_and_its_settings_and_a_damaged_one_says_so():
    from optexec.ui import basket_view

    table = basket_view.EXAMPLE.iloc[:2].copy()
    table.loc[0, "shares"] = 123_000.0
    token = basket_view.link_token(table, {"horizon_days": 2.0, "slices": 52, "risk_aversion_per_usd": 3e-7})
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.query_params["basket"] = token
    at.run()
    assert not at.exception and not at.error
    orders = at.dataframe[2].value
    assert list(orders["symbol"]) == ["SYN-LARGE", "SYN-MID"] and orders["shares"].iloc[0] == 123_000.0
    assert at.number_input(key="basket_horizon").value == 2.0 and at.number_input(key="basket_slices").value == 52
    written = at.query_params["basket"]
    shared, settings = basket_view.read_link(written if isinstance(written, str) else written[-1])
    assert list(shared["symbol"]) == ["SYN-LARGE", "SYN-MID"] and settings["risk_aversion_per_usd"] == 3e-7
    damaged = AppTest.from_file(str(PAGE), default_timeout=120)
    damaged.query_params["basket"] = token[: len(token) // 2]
    damaged.run()
    assert not damaged.exception and "damaged" in damaged.error[0].value


def test_slices_too_long_for_the_impact_show_which_order_and_fall_back_to_what_planned():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.number_input(key="basket_horizon").set_value(2.0).run()
    at.number_input(key="basket_slices").set_value(4).run()  # half-day slices: eta - gamma tau / 2 < 0
    assert not at.exception
    assert any("Joint Almgren–Chriss (multi-asset): not planned: SYN-LARGE: the slices are too long" in shown(w.value)
               for w in at.warning)  # fmt: skip
    assert at.caption[1].value.startswith("Totals under TWAP")
