"""The Data page under streamlit's AppTest, against a temporary database chosen by OPTEXEC_DB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from optexec.store import db
from optexec.store.loading import load_file
from tests.shown import shown

from .conftest import BAR_HEADER, bar_lines

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "data.py")


@pytest.fixture
def page_db(tmp_path, monkeypatch):
    path = tmp_path / "page.duckdb"
    con = db.open_database(path)
    for symbol in ("PAGE-A", "PAGE-B"):
        csv = tmp_path / f"{symbol}.csv"
        csv.write_text(BAR_HEADER + bar_lines(symbol, 30))
        load_file(con, csv, calendar="XNYS")
    con.close()
    monkeypatch.setenv("OPTEXEC_DB", str(path))
    yield path
    db.close_all()


def test_page_shows_loaded_symbols_and_chart(page_db):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert not at.error
    table = at.dataframe[0].value
    assert table["symbol"].tolist() == ["PAGE-A", "PAGE-B"]
    assert table["bars"].tolist() == [30, 30]
    labels = {key: config.get("label") for key, config in json.loads(at.dataframe[0].proto.columns).items()}
    assert labels["first_bar_local"] == "First bar (local)" and labels["time_zone"] == "Time zone"
    assert not table.isna().any().any()  # no "None" cell: an instrument without a name shows a dash
    assert at.selectbox(key="data_symbol").options == ["PAGE-A", "PAGE-B"]
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert [trace["name"] for trace in spec["data"]] == ["close", "volume"]
    at.selectbox(key="data_symbol").set_value("PAGE-B").run()
    assert not at.exception and len(at.get("plotly_chart")) == 1


def test_page_on_an_empty_database(tmp_path, monkeypatch):
    path = tmp_path / "empty.duckdb"
    db.open_database(path).close()
    monkeypatch.setenv("OPTEXEC_DB", str(path))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert any("No market data loaded yet" in info.value for info in at.info)
    db.close_all()


def test_upload_validate_and_load(page_db):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.text_input(key="data_calendar").input("XNYS")
    at.text_input(key="data_tz").input("UTC")
    content = (BAR_HEADER + bar_lines("UPL", 5) + "UPL,2025-01-03 14:30:00,1,1,2,1,1\n").encode()
    at.get("file_uploader")[0].set_value(("upload.csv", content, "text/csv")).run()
    assert not at.exception
    assert any("6 rows into **bars**: 5 good, 1 rejected" in m.value for m in at.markdown)
    rejects = at.dataframe[-1].value
    assert rejects["line"].tolist() == [7] and "below low" in rejects["reason"].iloc[0]
    at.button(key="data_load_button").click().run()
    assert any("nothing was loaded" in e.value for e in at.error)  # the bad row refuses the file
    at.checkbox(key="data_skip").check().run()
    at.button(key="data_load_button").click().run()
    assert any("Loaded 5 rows into bars" in s.value for s in at.success)
    assert any(shown(i.value).startswith("market given: XNYS, America/New_York, 09:30–16:00") for i in at.info)
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert at.dataframe[0].value["symbol"].tolist() == ["PAGE-A", "PAGE-B", "UPL"]


def test_upload_of_an_unusable_file_shows_an_error(page_db):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.get("file_uploader")[0].set_value(("x.csv", b"foo,bar\n1,2\n", "text/csv")).run()
    assert not at.exception
    assert any("cannot tell which table" in e.value for e in at.error)


def test_markets_tab_shows_and_corrects_an_instrument(page_db):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    markets = at.dataframe[1].value
    assert markets["symbol"].tolist() == ["PAGE-A", "PAGE-B"]
    assert markets[["time zone", "open", "close", "calendar", "from"]].iloc[0].tolist() == [
        "America/New_York",
        "09:30",
        "16:00",
        "XNYS",
        "given",
    ]
    at.selectbox(key="market_symbol").set_value("PAGE-B").run()
    at.text_input(key="market_session_PAGE-B").input("16:00-09:30")
    at.button(key="market_save").click().run()
    assert any("closes (09:30) before it opens (16:00)" in shown(e.value) for e in at.error)
    at.text_input(key="market_session_PAGE-B").input("09:30-13:00")
    at.text_input(key="market_calendar_PAGE-B").input("")
    at.button(key="market_save").click().run()
    assert not at.error
    (success,) = at.success
    assert (
        "the next calibration of PAGE-B uses every weekday (no exchange calendar), America/New_York, 09:30–13:00"
        in shown(success.value)
    )
    assert "the accepted calibration is unchanged until you recalibrate" in shown(success.value)
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    row = at.dataframe[1].value.set_index("symbol").loc["PAGE-B"]
    assert (row["close"], row["calendar"], row["from"]) == (
        "13:00",
        "none (every weekday)",
        "corrected on the Data page",
    )


def test_a_file_the_page_cannot_place_asks_in_the_pages_words(page_db):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    content = (BAR_HEADER + bar_lines("NEW", 5)).encode()
    at.get("file_uploader")[0].set_value(("new.csv", content, "text/csv")).run()
    (error,) = at.error
    assert shown(error.value).startswith("cannot tell the market of this file")
    assert "the Calendar input (e.g. XNYS)" in shown(error.value) and "--" not in shown(error.value)
    at.text_input(key="data_calendar").input("XNYS").run()
    assert not at.error
    assert any("Validation" in h.value for h in at.subheader)


def test_extended_hours_counts_are_shown(page_db):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.text_input(key="data_calendar").input("XNYS")
    early = "EXT,2025-01-02T12:30:00Z,10,11,9,10.5,10\nEXT,2025-01-02T12:31:00Z,10,11,9,10.5,10\n"  # 07:30 New York
    content = (BAR_HEADER + bar_lines("EXT", 3) + early).encode()
    at.get("file_uploader")[0].set_value(("ext.csv", content, "text/csv")).run()
    assert any(
        shown(i.value).startswith(
            "2 of 5 rows are outside the regular session (pre-/post-market) and 0 on days outside"
        )
        for i in at.info
    )
