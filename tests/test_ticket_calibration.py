"""Every page follows the accepted calibration (AppTest of the whole app on a temporary store): the header, the
sidebar, the table and the link use the calibrated market; typed overrides are marked and clearable; a newer
accepted run shows on the next run; a link priced with an older run says so and offers both; an empty store offers
the bundled sample; a store that cannot be read is said so and the link keeps its symbol."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from optexec.calibration import run
from optexec.models import Order
from optexec.planning import make_plan
from optexec.store import db
from tests.shown import open_app, order_header, shown

SYMBOL = "SYN-LARGE"


@pytest.fixture(scope="module")
def calibrated_template(_private_sample_database, tmp_path_factory):
    """A copy of the sample store with two accepted calibrations of SYN-LARGE: an older one on the first 42 days
    and the latest on all 62 (different prices and ADVs)."""
    path = tmp_path_factory.mktemp("calibrated") / "store.duckdb"
    shutil.copy(_private_sample_database, path)
    con = db.open_database(path)
    try:
        full = run.calibrate(con, SYMBOL)
        older = run.save(con, run.calibrate(con, SYMBOL, full.window_start, full.window_end - dt.timedelta(days=28)),
                         accept=True)  # fmt: skip
        latest = run.save(con, full, accept=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path, older, latest


@pytest.fixture
def store(calibrated_template, tmp_path, monkeypatch):
    """A private copy of the calibrated store for one test; yields (path, older run, latest run)."""
    template, older, latest = calibrated_template
    path = tmp_path / "store.duckdb"
    shutil.copy(template, path)
    monkeypatch.setenv("OPTEXEC_DB", str(path))
    yield path, older, latest
    db.close_all()


def _size_caption(at: AppTest) -> str:
    return next(shown(c.value) for c in at.sidebar.caption if "of ADV" in shown(c.value))


def test_the_plan_uses_the_accepted_calibration_everywhere(store):
    _, older, latest = store
    market = latest.market_params()
    assert abs(market.price_usd - older.market_params().price_usd) > 0.5  # the two runs really differ
    at = open_app()
    assert not at.exception and not at.error
    shares = round(0.05 * market.adv_shares, -3)
    assert f"**SELL {shares:,.0f} {SYMBOL}**" in order_header(at)
    assert f"arrival price ${market.price_usd:,.2f} ·" in order_header(at) and "5.0% of ADV" in order_header(at)
    assert _size_caption(at) == f"= 5.0% of ADV ({market.adv_shares:,.0f} sh/day)"
    price_box = at.number_input(key=f"price.{SYMBOL}")
    assert price_box.value is None and price_box.proto.placeholder == f"{market.price_usd:,.2f} · calibrated"
    assert any(
        f"run {latest.run_ts:%Y-%m-%d %H:%M:%S} UTC" in shown(c.value) for c in at.caption
    )  # where they come from
    order = Order(SYMBOL, "sell", shares, 1.0, 390, 0.0)
    assert at.selectbox(key="cost_model").value == "calibrated"  # the default for an accepted calibration
    calibrated = dataclasses.replace(market, cost_model="calibrated")
    expected = make_plan(order, calibrated, {"risk_aversion_per_usd": 1e-6}, ["twap"]).rows[0].cost.expected_usd
    table = at.dataframe[0].value.set_index("strategy")
    assert table.loc["TWAP", "expected_cost_usd"] == pytest.approx(round(expected), abs=1)
    assert at.query_params["cal"] == latest.run_ts.isoformat()  # the link records the run


def test_a_typed_override_is_marked_in_the_link_and_cleared_by_its_button(store):
    _, _, latest = store
    calibrated = latest.market_params().price_usd
    at = open_app()
    at.number_input(key=f"price.{SYMBOL}").set_value(120.0).run()
    assert "arrival price $120.00 (override)" in order_header(at)
    assert any(e.label == "Market parameters · 1 override" for e in at.sidebar.expander)
    assert any(f"override] calibrated \\${calibrated:,.2f}" in c.value for c in at.sidebar.caption)
    assert any(f"price $120.00 (own value ${calibrated:,.2f})" in c.value.replace("\\", "") for c in at.caption)
    assert at.query_params[f"price.{SYMBOL}"] == "120"
    at.button(key=f"clear_price.{SYMBOL}").click().run()
    assert at.number_input(key=f"price.{SYMBOL}").value is None
    assert f"arrival price ${calibrated:,.2f} ·" in order_header(at)
    assert f"price.{SYMBOL}" not in at.query_params


def test_clear_all_overrides(store):
    at = open_app(**{f"price.{SYMBOL}": "120", f"adv.{SYMBOL}": "1000000", "eta_x": "2"})
    assert any(e.label == "Market parameters · 3 overrides" for e in at.sidebar.expander)
    assert "(ADV override)" in order_header(at) and _size_caption(at).endswith("(1,000,000 sh/day)")
    at.button(key="clear_all_overrides").click().run()
    assert not any("override" in e.label for e in at.sidebar.expander)
    assert set(at.query_params) == {"cal"}


def test_a_newer_accepted_calibration_shows_on_the_next_run(store):
    path, _, latest = store
    at = open_app()
    assert f"${latest.market_params().price_usd:,.2f}" in order_header(at)
    with db.writing(path) as con:  # as the Calibrate page would (background planning may be reading)
        window = run.calibrate(con, SYMBOL, latest.window_start, latest.window_end - dt.timedelta(days=10))
        newer = run.save(con, window, accept=True)
    at.run()
    assert f"arrival price ${newer.market_params().price_usd:,.2f} ·" in order_header(at)
    assert at.query_params["cal"] == newer.run_ts.isoformat()


def test_a_link_priced_with_an_older_run_says_so_and_offers_both(store):
    _, older, latest = store
    at = open_app(cal=older.run_ts.isoformat(), **{f"shares.{SYMBOL}": "300000"})
    assert not at.exception
    said = f"This link was priced with {SYMBOL}'s calibration run of {older.run_ts:%Y-%m-%d %H:%M:%S} UTC"
    assert any(said in shown(w.value) for w in at.warning)
    assert f"arrival price ${older.market_params().price_usd:,.2f} ·" in order_header(at)  # what the sender saw
    assert at.query_params["cal"] == older.run_ts.isoformat()
    at.radio(key="cal_choice").set_value("latest").run()
    assert f"arrival price ${latest.market_params().price_usd:,.2f} ·" in order_header(at)
    assert at.query_params["cal"] == latest.run_ts.isoformat()
    at.radio(key="cal_choice").set_value("link").run()
    assert f"arrival price ${older.market_params().price_usd:,.2f} ·" in order_header(at)


def test_a_link_whose_run_is_gone_says_so(store):
    _, _, latest = store
    at = open_app(cal="2020-01-02T03:04:05.000006")
    assert any("calibration run of 2020-01-02 03:04:05 UTC, which this store does not hold" in shown(w.value)
               for w in at.warning)  # fmt: skip
    assert f"${latest.market_params().price_usd:,.2f}" in order_header(at)
    assert at.query_params["cal"] == latest.run_ts.isoformat()


def test_a_link_with_the_latest_run_shows_no_message(store):
    _, _, latest = store
    at = open_app(cal=latest.run_ts.isoformat())
    assert not [w for w in at.warning if "priced with" in shown(w.value) or shown(w.value).startswith("Link")]


def test_an_empty_store_offers_the_bundled_sample(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTEXEC_DB", str(tmp_path / "new.duckdb"))
    try:
        at = open_app()
        assert not at.exception
        assert any("is empty" in shown(i.value) and "made up" in shown(i.value) for i in at.info)
        assert not any(str(tmp_path) in shown(i.value) for i in at.info)  # no path of the server in the browser
        assert at.selectbox(key="symbol").options == ["DEMO · made-up example"]
        assert len(at.dataframe[0].value) > 10  # DEMO still plans, labelled as made up
        at.button(key="load_sample").click().run()
        assert not at.exception
        assert any(
            "Loaded the bundled sample" in shown(s.value) and "now plans SYN-LARGE" in shown(s.value)
            for s in at.success
        )
        assert "SYN-LARGE" in at.selectbox(key="symbol").options
        assert at.selectbox(key="symbol").value == "SYN-LARGE" and "SYN-LARGE" in order_header(at)
        assert not any("is empty" in shown(i.value) for i in at.info)
    finally:
        db.close_all()


def test_a_store_that_cannot_be_read_keeps_the_links_symbol(store, monkeypatch):
    from optexec.ui import markets

    def busy(*args, **kwargs):
        raise db.DatabaseBusyError("the database is in use by another program (process 4242)")

    monkeypatch.setattr(markets.db, "reading", busy)
    at = open_app(symbol="SYN-MID", slices="78")
    assert not at.exception
    assert at.selectbox(key="symbol").value == "SYN-MID"
    said = [shown(w.value) for w in at.warning if "cannot be read now" in shown(w.value)]
    assert said and "another process" in said[0] and "4242" not in said[0]  # no process id in the browser
    assert any("Cannot read SYN-MID's parameters now" in shown(e.value) for e in at.error)
    assert not at.dataframe  # nothing planned on other parameters
    assert at.query_params["symbol"] == "SYN-MID" and at.query_params["slices"] == "78"  # the link is not rewritten
    monkeypatch.undo()
    monkeypatch.setenv("OPTEXEC_DB", str(store[0]))
    at.button(key="store_retry").click().run()
    assert not at.error and "SYN-MID" in order_header(at) and "in 78 slices" in order_header(at)


def test_a_model_slider_after_a_store_change_redraws_the_whole_app(store, monkeypatch):
    """A control of the results reruns them alone, but not on a store that changed since: the ticket is drawn
    again with the new accepted run (a file stat in the fragment, no store read)."""
    from optexec.ui import state

    draws: list[int] = []
    draw = state.order_ticket
    monkeypatch.setattr(state, "order_ticket", lambda: draws.append(1) or draw())
    path, _, latest = store
    at = open_app()
    at.select_slider(key="risk_aversion").set_value(2e-6).run()
    assert len(draws) == 1  # the slider reran the results alone
    with db.writing(path) as con:  # this process's background planning may be reading the store right now
        newer = run.save(con, run.calibrate(con, SYMBOL, latest.window_start, latest.window_end - dt.timedelta(days=5)),
                         accept=True)  # fmt: skip
    next(b for b in at.get("button_group") if b.key == "plan_panel").set_value("trades").run()  # in the results too
    assert len(draws) == 2
    assert f"arrival price ${newer.market_params().price_usd:,.2f} ·" in order_header(at)
    assert at.select_slider(key="risk_aversion").value == 2e-6
