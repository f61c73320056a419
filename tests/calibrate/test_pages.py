"""The Calibrate and Post-trade pages under streamlit's AppTest, on a temporary sample database (OPTEXEC_DB)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from optexec.calibrate import run
from optexec.store import db

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
    assert {"sigma_daily", "adv_shares", "spread", "eta", "gamma"} <= set(table["parameter"])
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
    at.date_input(key="cal_start").set_value(dt.date(2030, 1, 1))
    at.date_input(key="cal_end").set_value(dt.date(2030, 2, 1))
    at.button(key="cal_run").click().run()
    assert not at.exception
    assert at.error and "no regular-session bars" in at.error[0].value


def test_posttrade_page_decomposes_and_updates(page_db):
    at = AppTest.from_file(POSTTRADE, default_timeout=60).run()
    assert not at.exception and not at.error
    at.selectbox(key="pt_symbol").set_value("SYN-LARGE").run()
    orders = at.dataframe[0].value
    assert orders["order_id"].tolist() == ["SAMPLE-1", "SAMPLE-2"]
    assert at.info and "no accepted calibration" in at.info[0].value  # must calibrate first
    con = db.connect()
    run.save(con, run.calibrate(con, "SYN-LARGE"), accept=True)
    at.run()
    weeks = at.dataframe[1].value
    assert len(weeks) == 2
    at.button(key="pt_apply").click().run()
    assert not at.exception and at.success
    history = at.dataframe[-1].value
    assert len(history) == 2 and history["value"].iloc[-1] == pytest.approx(weeks["after"].iloc[-1])
