"""User strings are shown as text (issue 14, item 5): a symbol loaded from a file, or a link's value, is never read
as Markdown or HTML on any page, and spreadsheet exports never start a cell with a formula character."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from optexec.models import MarketParams, Order
from optexec.planning import make_plan
from optexec.store import sample
from tests.shown import shown

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "pages"
#: the payload of issue 14: an image the browser would fetch and a live link, both to a dead local port
EVIL = "![x](http://127.0.0.1:9/track.png) [click](http://127.0.0.1:9/phish)"
#: the same as HTML, and a bare address (GitHub-flavoured Markdown would link it)
EVIL_HTML = '<img src="http://127.0.0.1:9/html.png"> http://127.0.0.1:9/bare www.example.com'
#: what would be live if a body held it unescaped (markdown link/image, HTML, an icon or colour directive)
LIVE = re.compile(r"(?<!\\)\]\(|(?<!\\)<(img|a|script|b)\b|(?<!\\):[a-z-]+\[")
FORMULAS = ("=1+1", '=HYPERLINK("http://127.0.0.1:9/phish","click")', "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1")


def build_evil_store(path: Path, symbols: tuple[str, ...] = (EVIL,)) -> Path:
    """A store holding only ``symbols``: each SYN-LARGE's sample bars renamed, calibrated and accepted."""
    from optexec.calibration import run
    from optexec.store.db import open_database
    from optexec.store.loading import load_file

    bars = pd.read_parquet(sample.DATA_DIR / "sample_bars.parquet")
    bars = bars[bars["symbol"] == "SYN-LARGE"]
    parquet = path.with_name("evil_bars.parquet")
    pd.concat([bars.assign(symbol=symbol) for symbol in symbols]).to_parquet(parquet)
    con = open_database(path)
    try:
        load_file(con, parquet, table="bars", format="parquet", calendar="XNYS")
        for symbol in symbols:
            run.save(con, run.calibrate(con, symbol, None, None), accept=True, insist=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def evil_db(tmp_path_factory) -> Path:
    return build_evil_store(tmp_path_factory.mktemp("evil") / "evil.duckdb")


@pytest.fixture
def evil_store(evil_db, monkeypatch) -> Path:
    monkeypatch.setenv("OPTEXEC_DB", str(evil_db))
    return evil_db


def _bodies(at: AppTest) -> list[str]:
    """Every text the app handed to Streamlit's markdown: elements, alerts, widget labels and radio options."""
    bodies: list[str] = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader", "toast"):
        bodies += [element.value for element in getattr(at, kind)]
    for kind in ("metric", "button", "checkbox", "number_input", "selectbox", "radio", "slider", "select_slider",
                 "text_input", "multiselect", "date_input", "expander", "tabs"):  # fmt: skip
        bodies += [getattr(element, "label", "") or "" for element in getattr(at, kind)]
    for radio in at.radio:
        bodies += list(radio.options)
    return bodies


def _assert_shown_as_text(at: AppTest, where: str) -> None:
    assert not at.exception, where
    bodies = _bodies(at)
    live = [body for body in bodies if LIVE.search(body)]
    assert not live, f"{where}: markdown with live syntax: {live[:3]}"
    assert not any("127.0.0.1:9" in body for body in bodies), where  # the payload only ever appears escaped


def _page(name: str, symbol: str = EVIL, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=90)
    at.session_state["symbol"] = symbol
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


@pytest.mark.parametrize("name", ["plan.py", "compare.py", "sensitivity.py", "simulate.py", "rl.py"])
def test_a_loaded_symbol_is_text_on_every_ticket_page(evil_store, name):
    at = _page(name, sim_paths=200)
    if name == "simulate.py":  # it simulates when asked
        at.button(key="sim_run").click().run()
        assert at.dataframe, "the simulation ran and shows its statistics"
    _assert_shown_as_text(at, name)
    assert not at.error, [e.value for e in at.error]  # the symbol plans: the page really shows it
    assert at.selectbox(key="symbol").value == EVIL


def test_the_plan_page_shows_the_symbol_itself(evil_store):
    at = _page("plan.py")
    from optexec.ui.formats import plain

    assert plain(EVIL) in at.markdown[0].value  # the header names the symbol, every character as typed


def test_the_calibrate_page_shows_a_loaded_symbol_as_text(evil_store):
    at = _page("calibrate.py")
    at.button(key="cal_run").click().run()
    _assert_shown_as_text(at, "calibrate.py")
    assert at.subheader, "the calibration ran and its heading names the symbol"


def test_the_post_trade_page_shows_store_text_as_text(evil_store):
    at = _page("posttrade.py")
    _assert_shown_as_text(at, "posttrade.py")


def test_a_link_symbol_not_in_the_store_is_text_in_the_error():
    at = AppTest.from_file("app_entry.py", default_timeout=60)
    at.query_params["symbol"] = EVIL
    at.run()
    _assert_shown_as_text(at, "app with ?symbol=payload")
    assert any("is not in this store" in e.value for e in at.error)


def test_a_bad_link_value_is_quoted_as_text():
    at = AppTest.from_file("app_entry.py", default_timeout=60)
    at.query_params["slices"] = "![x](http://127.0.0.1:9/track.png)"
    at.query_params["bogus"] = "<img src=http://127.0.0.1:9/i.png>"
    at.run()
    _assert_shown_as_text(at, "app with payload link values")
    assert sum("Link " in w.value for w in at.warning) == 2


def _evil_plan():
    market = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
    return make_plan(Order(EVIL, "sell", 1e6, 5.0, 5), market, {"risk_aversion_per_usd": 1e-6}, ["twap"])


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _formula(cell: str) -> bool:
    """A cell a spreadsheet would read as a formula: text (not a number) starting with = + - @ tab or CR."""
    try:
        float(cell)
    except ValueError:
        return cell[:1] in ("=", "+", "-", "@", "\t", "\r")
    return False


@pytest.mark.parametrize("symbol", [EVIL, *FORMULAS, "A,=1+1", "A;=1+1", 'A"=1+1', "A\n=1+1"])
def test_the_schedule_csv_starts_no_cell_with_a_formula(symbol):
    from optexec.report import schedule_csv

    plan = _evil_plan()
    plan = make_plan(Order(symbol, "sell", 1e6, 5.0, 5), plan.market, {"risk_aversion_per_usd": 1e-6}, ["twap"])
    text = schedule_csv(plan)
    dangerous = [cell for cell in _cells(text) if _formula(cell)]
    assert not dangerous, dangerous
    for separator in (";", "\t"):  # spreadsheets in other locales split on these
        cells = [cell.strip('"') for line in text.splitlines() for cell in line.split(separator)]
        assert not [cell for cell in cells if _formula(cell)], separator
    assert text.splitlines()[0].startswith("symbol,side,strategy,slice,")  # one header row, no comment line
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert frame["slice"].tolist() == [1, 2, 3, 4, 5]
    assert len(set(frame["symbol"])) == 1  # the symbol is one cell of its row, whatever it holds


def test_spreadsheet_cells_are_neutralised_and_numbers_kept():
    from optexec.report import spreadsheet_safe

    frame = pd.DataFrame({"text": [*FORMULAS, "plain", "-", ""], "number": [-1.5] * 10})
    safe = spreadsheet_safe(frame)
    assert safe["text"].tolist() == [f"'{value}" for value in FORMULAS] + ["plain", "'-", ""]
    assert safe["number"].tolist() == [-1.5] * 10  # a negative number is a number, not a formula
    assert frame["text"].iloc[0] == "=1+1"  # the caller's frame is not changed


def test_the_report_escapes_the_symbol_and_the_note():
    from optexec.report import report_html

    html = report_html(_evil_plan(), [], f"Parameters: {EVIL} <script>alert(1)</script>", dt.datetime(2026, 1, 2))
    assert "<script>alert" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert not re.search(r"""(src|href)=["']?http://127\.0\.0\.1:9""", html)


@pytest.mark.parametrize("name", ["calibrate.py", "posttrade.py"])
def test_a_store_error_shows_no_path_or_process_id(name, monkeypatch, tmp_path):
    """Issue 14 item 7: the store's own message names its file and the process holding it; the page shows neither."""
    from optexec.store import db

    held = tmp_path / "desk" / "optexec.duckdb"

    def busy(*args, **kwargs):
        raise db.DatabaseBusyError(
            f"the database {held} is busy: process 4242 (python -m optexec load /home/trader/fills.csv) has it open "
            "for writing and did not let go within 10.0 s; try again when it has finished"
        )

    monkeypatch.setattr(db, "reading", busy)
    monkeypatch.setattr(db, "version", lambda *args, **kwargs: f"busy {tmp_path}")  # the pages cache their reads on
    # the store's version: a version no earlier run has read, so this run reads the store (and meets the busy one)
    at = AppTest.from_file(str(PAGES / name), default_timeout=60).run()
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert errors and "optexec.duckdb is busy: another process has it open for writing" in errors[0], errors
    assert not any(str(tmp_path) in e or "4242" in e or "/home/trader" in e for e in errors), errors


def test_machine_free_keeps_units_and_drops_paths_and_processes():
    from optexec.ui.formats import machine_free

    assert machine_free("cost in $/share/√day (shares/day), 1/$ and bps/day") == (
        "cost in $/share/√day (shares/day), 1/$ and bps/day"
    )
    assert machine_free("no such file: /tmp/upload-x1/bars.csv.") == "no such file: bars.csv."
    assert machine_free('lock on "/srv/a/b.duckdb": held in /usr/bin/python3 (PID 99) by user root.') == (
        'lock on "b.duckdb": held in python3 (another process).'
    )


def test_download_names_hold_no_path_or_markup():
    from optexec.ui.formats import file_name

    assert file_name("SYN-LARGE", "sell", "schedule.csv") == "SYN-LARGE_sell_schedule.csv"
    assert file_name("../../etc/x", "buy", "schedule.csv") == "_.._etc_x_buy_schedule.csv"
    assert "/" not in file_name(EVIL, "sell", "schedule.csv") and "(" not in file_name(EVIL, "sell", "a.csv")
