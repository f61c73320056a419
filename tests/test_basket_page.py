"""AppTest of the Basket page (issue 15): it prices the example basket, editing a row changes the totals, a bad
cell shows its line and column until the bad rows are dropped, and the report downloads."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.shown import shown, warning_texts

PAGE = Path(__file__).resolve().parents[1] / "pages" / "basket.py"
EDITOR = "basket_table_"  # the data editor's key when nothing is uploaded


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _edit(at: AppTest, edited_rows: dict, editor: str = EDITOR) -> AppTest:
    at.session_state[editor] = {"edited_rows": edited_rows, "added_rows": [], "deleted_rows": []}
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
    from optexec.baskets.input import parse_basket
    from optexec.baskets.plan import plan_basket
    from optexec.store import db
    from optexec.ui import basket_view

    basket = parse_basket(basket_view.EXAMPLE)
    with db.reading() as con:
        plan = plan_basket(basket, con, 1.0, 13, 1e-6)
    import datetime as dt

    text = basket_view.report_html(plan, [basket_view.bubble_figure(plan)], dt.datetime(2026, 1, 1), "abcdef012345")
    assert "Basket abcdef012345, saved in the store" in text and "?basket=abcdef012345" in text
    unsaved = basket_view.report_html(plan, [], dt.datetime(2026, 1, 1), None, "the store is busy")
    assert "not saved in the store (no link): the store is busy" in unsaved and "?basket=" not in unsaved
    assert text.startswith("<!doctype html>") and "SYN-MID" in text and "By sector" not in text
    assert "By group" in text and "plotly" in text.lower() and "<script src=" not in text
    csv = basket_view.spreadsheet_csv(plan)
    assert csv.splitlines()[0].startswith("symbol,side,group,shares")


def test_share_saves_the_basket_and_its_link_reopens_the_same_totals_and_settings():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.number_input(key="basket_horizon").set_value(2.0).run()
    at.number_input(key="basket_slices").set_value(52).run()
    _edit(at, {0: {"shares": 123_000.0}})
    assert not at.exception and not at.error and "basket" not in at.query_params
    totals = [m.value for m in at.metric]
    at.button(key="basket_share").click().run()
    assert not at.exception and not at.error
    written = at.query_params["basket"]
    ident = written if isinstance(written, str) else written[-1]
    assert len(ident) == 12 and f"?basket={ident}" in at.code[0].value
    opened = AppTest.from_file(str(PAGE), default_timeout=120)
    opened.query_params["basket"] = ident
    opened.run()
    assert not opened.exception and not opened.error
    assert [m.value for m in opened.metric] == totals
    assert opened.dataframe[2].value["shares"].iloc[0] == 123_000.0
    assert opened.number_input(key="basket_horizon").value == 2.0
    assert opened.number_input(key="basket_slices").value == 52
    assert f"?basket={ident}" in opened.code[0].value  # the reopened basket is the saved one: its link stays
    _edit(opened, {0: {"shares": 124_000.0}}, editor="basket_table_link_1")  # the editor of the opened basket
    assert opened.dataframe[2].value["shares"].iloc[0] == 124_000.0
    assert "basket" not in opened.query_params  # changed since: the address no longer names a saved basket


def test_an_unknown_or_malformed_basket_id_is_named_on_the_page_not_a_traceback():
    for ident, words in (
        ("0123456789ab", "no basket 0123456789ab"),
        ("eJyrVkrLz1eyUkpKLFKqBQAcPAS5", "not a basket id"),
    ):
        at = AppTest.from_file(str(PAGE), default_timeout=120)
        at.query_params["basket"] = ident
        at.run()
        assert not at.exception and at.error and words in at.error[0].value
        assert _metric(at, "Gross notional")  # the page still prices the example below the message


def test_slices_too_long_for_the_impact_show_which_order_and_fall_back_to_what_planned():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.number_input(key="basket_horizon").set_value(2.0).run()
    at.number_input(key="basket_slices").set_value(4).run()  # half-day slices: eta - gamma tau / 2 < 0
    assert not at.exception
    assert any("Joint Almgren–Chriss (multi-asset): not planned: SYN-LARGE: the slices are too long" in shown(w.value)
               for w in at.warning)  # fmt: skip
    assert at.caption[1].value.startswith("Totals under TWAP")


def test_a_link_saved_with_an_uploaded_correlation_reopens_with_that_matrix_and_says_so():
    from optexec.baskets import storage
    from optexec.baskets.correlation import from_file
    from optexec.baskets.input import parse_basket
    from optexec.baskets.plan import plan_basket
    from optexec.store import db
    from optexec.ui import basket_view, formats

    matrix = (b",SYN-LARGE,SYN-MID,SYN-SMALL,SYN-CONCAVE\nSYN-LARGE,1,0.8,0.8,0.8\nSYN-MID,0.8,1,0.8,0.8\n"
              b"SYN-SMALL,0.8,0.8,1,0.8\nSYN-CONCAVE,0.8,0.8,0.8,1\n")  # fmt: skip
    table = basket_view.EXAMPLE.copy()
    settings = storage.link_settings(1.0, 26, 1e-6, False, [], 0.25, storage.correlation_setting("corr.csv", matrix))
    ident = storage.save_basket(table, settings)  # what Share saves after an upload of corr.csv
    basket = parse_basket(table)
    with db.reading() as con:
        joint = plan_basket(basket, con, 1.0, 26, 1e-6, from_file(matrix, basket.symbols)).strategy("joint_ac")
        from_store = plan_basket(basket, con, 1.0, 26, 1e-6).strategy("joint_ac")
    opened = AppTest.from_file(str(PAGE), default_timeout=120)
    opened.query_params["basket"] = ident
    opened.run()
    assert not opened.exception and not opened.error
    assert _metric(opened, "Std with correlation") == formats.usd(joint.risk.std_usd)
    assert _metric(opened, "VaR 95%") == formats.usd(joint.var95_usd)
    assert formats.usd(from_store.risk.std_usd) != formats.usd(joint.risk.std_usd)
    captions = " ".join(shown(c.value) for c in opened.caption)
    assert f"correlation matrix saved with basket {ident} (uploaded as corr.csv)" in captions
    assert "the correlation matrix it was priced with is saved with it" in captions
    assert f"?basket={ident}" in opened.code[0].value  # the same settings, the matrix included: the link stays
    opened.button(key="basket_forget_correlation").click().run()
    assert _metric(opened, "Std with correlation") == formats.usd(from_store.risk.std_usd)
    assert "basket" not in opened.query_params  # priced otherwise now: the address no longer names the saved one


def test_the_participation_limit_flags_the_orders_above_it_and_does_not_cap_them():
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    # 26 slices: joint_ac keeps within 25% (TWAP's half-day SYN-MID does not)
    assert not any(w.startswith("joint_ac: ") for w in warning_texts(at))
    assert any(w.startswith("twap: 1 of 4 orders go above the 25% participation limit") for w in warning_texts(at))
    orders = at.dataframe[2].value
    assert orders["within_participation_limit"].all()
    std = _metric(at, "Std with correlation")
    at.number_input(key="basket_max_participation").set_value(5.0).run()
    assert not at.exception and not at.error
    orders = at.dataframe[2].value
    over = orders.loc[orders["max_participation"] > 0.05, "symbol"].tolist()
    assert over and orders.loc[~orders["within_participation_limit"], "symbol"].tolist() == over
    joint = [w for w in warning_texts(at) if w.startswith("joint_ac: ")]
    assert len(joint) == 1 and "above the 5% participation limit" in joint[0] and "unconstrained optimum" in joint[0]
    assert all(symbol in joint[0] for symbol in over)
    assert _metric(at, "Std with correlation") == std  # flagged, not capped: the schedule is the same
