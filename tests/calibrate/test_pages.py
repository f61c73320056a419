"""The Calibrate and Post-trade pages under streamlit's AppTest, on a temporary sample database (OPTEXEC_DB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from optexec.calibration import run
from optexec.store import db
from tests.shown import shown

from . import planted

ROOT = Path(__file__).resolve().parents[2]
CALIBRATE = str(ROOT / "pages" / "calibrate.py")
POSTTRADE = str(ROOT / "pages" / "posttrade.py")


@pytest.fixture
def page_db(db_copy, monkeypatch):
    db.close_all()
    monkeypatch.setenv("OPTEXEC_DB", str(db_copy))
    yield db_copy
    db.close_all()


def test_calibrate_page_runs_shows_fits_and_accepts(page_db):
    at = AppTest.from_file(CALIBRATE, default_timeout=60).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="cal_symbol").options == ["SYN-CONCAVE", "SYN-LARGE", "SYN-MID", "SYN-SMALL"]
    assert not at.get("plotly_chart")  # nothing until the run
    at.selectbox(key="cal_symbol").set_value("SYN-MID").run()
    at.button(key="cal_run").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    from optexec.ui.calibration_table import parameter_words

    words = {parameter_words(name)[0] for name in ("sigma_daily", "adv_shares", "spread", "eta", "gamma")}
    assert words <= set(table["parameter"])  # each parameter in words, with its unit beside it
    charts = at.get("plotly_chart")
    assert len(charts) == 4
    impact = json.loads(charts[2].proto.spec)
    names = [t["name"] for t in impact["data"]]
    assert names[0] == "binned data" and {n.split(" ")[0] for n in names[1:]} == {"linear", "quadratic", "power"}
    at.button(key="cal_accept").click().run()
    assert not at.exception and not at.error
    assert at.success
    db.close_all()
    con = db.open_database(page_db, read_only=True)
    try:
        params = run.latest_market_params(con, "SYN-MID")
    finally:
        con.close()
    assert params is not None and params.eta_usd_day_per_share2 > 0


def test_calibrate_page_bad_window_shows_an_error(page_db):
    import datetime as dt

    at = AppTest.from_file(CALIBRATE, default_timeout=60).run()
    symbol = at.selectbox(key="cal_symbol").value
    at.date_input(key=f"cal_start_{symbol}").set_value(dt.date(2030, 1, 1))
    at.date_input(key=f"cal_end_{symbol}").set_value(dt.date(2030, 2, 1))
    at.button(key="cal_run").click().run()
    assert not at.exception
    assert at.error and "no regular-session bars" in shown(at.error[0].value)


def test_calibrate_page_shows_the_data_and_refuses_a_misregistered_run_unless_insisted(tmp_path, monkeypatch):
    """New York bars on an instrument registered as UTC: the reasons are shown, Accept is refused until insisted."""
    path = tmp_path / "utc.duckdb"
    con = db.open_database(path)
    planted.write(con, planted.new_york_autumn(), "UTC", None, "09:30", "16:00")
    con.close()
    db.close_all()
    monkeypatch.setenv("OPTEXEC_DB", str(path))
    at = AppTest.from_file(CALIBRATE, default_timeout=60).run()
    assert not at.exception and not at.error
    assert any("Market: every weekday (no exchange calendar), UTC, 09:30–16:00" in shown(c.value) for c in at.caption)
    at.button(key="cal_run").click().run()
    assert not at.exception and not at.error
    assert any("Not acceptable as it stands" in shown(w.value) and "first hour" in shown(w.value) for w in at.warning)
    data = at.dataframe[1].value  # the bars and days used and left out
    assert data.loc[data["reason"] == "left out: extended-hours bars", "count"].item() == 15_600
    at.button(key="cal_accept").click().run()
    assert at.error and "not acceptable" in shown(at.error[0].value) and not at.success
    at.checkbox(key="cal_insist").check().run()
    at.button(key="cal_accept").click().run()
    assert not at.exception and at.success and "despite" in shown(at.success[0].value)
    at.run()  # the parameters in use now say how they were accepted
    assert any("It was accepted despite: the first hour" in shown(c.value) for c in at.caption)
    db.close_all()
    con = db.open_database(path, read_only=True)
    try:
        stored = run.latest_calibration(con, "PLNT")
    finally:
        con.close()
        db.close_all()
    assert stored.acceptance.startswith("accepted despite: ")


def test_posttrade_page_decomposes_and_updates(page_db):
    at = AppTest.from_file(POSTTRADE, default_timeout=60).run()
    assert not at.exception and not at.error
    at.selectbox(key="pt_symbol").set_value("SYN-LARGE").run()
    orders = at.dataframe[0].value
    assert orders["order_id"].tolist() == ["SAMPLE-1", "SAMPLE-2"]
    # on the exchange's clock (the store holds UTC): SAMPLE-1 ran 10:00–15:00 New York time, its fills inside
    assert [f"{t:%H:%M}" for t in orders[["start_ts", "end_ts"]].iloc[0]] == ["10:00", "15:00"]
    assert orders["strategy"].tolist() == ["TWAP", "TWAP"]  # the label, not the registry name
    labels = {key: config.get("label") for key, config in json.loads(at.dataframe[0].proto.columns).items()}
    assert labels["start_ts"] == "Start (America/New_York)" and labels["realised_cost_bps"] == "Realised cost (bps)"
    assert not any(shown(c.value).startswith("SYN-LARGE, the ticket's symbol") for c in at.caption)
    assert at.info and "no accepted calibration" in shown(at.info[0].value)  # must calibrate first
    con = db.connect()
    run.save(con, run.calibrate(con, "SYN-LARGE"), accept=True)
    at.run()
    weeks = at.dataframe[1].value
    assert len(weeks) == 2
    at.button(key="pt_apply").click().run()
    assert not at.exception and at.success
    history = at.dataframe[-1].value
    assert len(history) == 2 and history["value"].iloc[-1] == pytest.approx(weeks["after"].iloc[-1])


def test_posttrade_page_says_when_the_tickets_symbol_has_no_orders(page_db):
    """The ticket's symbol without past orders is named, with the symbol shown instead (it switched in silence)."""
    at = AppTest.from_file(POSTTRADE, default_timeout=60)
    at.session_state["symbol"] = "DEMO"
    at.run()
    assert not at.exception
    (note,) = [shown(c.value) for c in at.caption if "the ticket's symbol" in shown(c.value)]
    shown_symbol = at.selectbox(key="pt_symbol").value
    assert note.startswith(f"DEMO, the ticket's symbol, has no past orders in the store: showing {shown_symbol}.")


def test_calibrate_page_window_follows_the_symbol(page_db):
    """Choosing another symbol starts from its own data span, not the previous symbol's dates (which held no bars
    of the new one: "SPY has no regular-session bars between 2025-01-02 and 2025-03-28")."""
    import datetime as dt

    with db.writing(page_db) as con:
        planted.write(con, planted.new_york_autumn(), "America/New_York", "XNYS", "09:30", "16:00")
    at = AppTest.from_file(CALIBRATE, default_timeout=60).run()
    at.selectbox(key="cal_symbol").set_value("SYN-LARGE").run()
    assert at.date_input(key="cal_start_SYN-LARGE").value == dt.date(2025, 1, 2)
    at.selectbox(key="cal_symbol").set_value("PLNT").run()
    assert (at.date_input(key="cal_start_PLNT").value, at.date_input(key="cal_end_PLNT").value) == (
        dt.date(2024, 9, 30),
        dt.date(2024, 12, 13),
    )
    at.button(key="cal_run").click().run()
    assert not at.exception and not at.error
    assert "PLNT" in shown(at.subheader[0].value)
