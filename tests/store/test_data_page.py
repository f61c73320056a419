"""The Data page under streamlit's AppTest, against a temporary database chosen by OPTEXEC_DB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from optexec.store import db
from optexec.store.loading import load_file

from .conftest import BAR_HEADER, bar_lines

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "data.py")


@pytest.fixture
def page_db(tmp_path, monkeypatch):
    path = tmp_path / "page.duckdb"
    con = db.open_database(path)
    for symbol in ("PAGE-A", "PAGE-B"):
        csv = tmp_path / f"{symbol}.csv"
        csv.write_text(BAR_HEADER + bar_lines(symbol, 30))
        load_file(con, csv)
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
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert at.dataframe[0].value["symbol"].tolist() == ["PAGE-A", "PAGE-B", "UPL"]


def test_upload_of_an_unusable_file_shows_an_error(page_db):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.get("file_uploader")[0].set_value(("x.csv", b"foo,bar\n1,2\n", "text/csv")).run()
    assert not at.exception
    assert any("cannot tell which table" in e.value for e in at.error)
