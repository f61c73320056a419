"""A tab open on Plan follows a calibration accepted from the command line while the app runs (issue 12)."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from optexec.store.sample import build_sample_database
from tests.cli_processes import bars_file, instruments_file, run
from tests.e2e.server import running_app, wait_idle

pytestmark = pytest.mark.browser


def _header(page) -> str:
    """The Plan page's order line (side, size, symbol, horizon, slices, price, notional, % of ADV)."""
    lines = page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer']", has_text="notional")
    return lines.first.inner_text()


def _shares(header: str) -> float:
    """The order size in the header: 'SELL 76,000 NEW over ...' -> 76000."""
    return float(header.split()[1].replace(",", ""))


def _sidebar_price(page) -> str:
    """The sidebar's price box: its placeholder shows the calibrated price while nothing is typed."""
    sidebar = page.locator("[data-testid='stSidebar']")
    box = sidebar.get_by_label("Price ($)", exact=True)
    if not box.is_visible():
        sidebar.get_by_text("Market parameters").first.click()
    assert box.input_value() == ""  # no override typed
    return box.get_attribute("placeholder") or ""


def _table_prices(page, strategies=("Immediate", "TWAP")) -> dict[str, float]:
    """The arrival price each cost-table row is priced at: E ($) x 1e4 / (E (bps) x shares)."""
    cells = page.locator("[data-testid='stDataFrame'] [role='gridcell']").all_inner_texts()
    shares = _shares(_header(page))
    prices = {}
    for name in strategies:
        i = cells.index(name)  # the columns: strategy, max participation, participation, E (bps), E ($), ...
        prices[name] = float(cells[i + 4].replace(",", "")) * 1e4 / (float(cells[i + 3]) * shares)
    return prices


def _calibrate(store, *window: str) -> float:
    code, out, err = run(store, "calibrate", "--symbol", "NEW", *window, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["accepted"] is True, err
    return result["parameters"]["price_usd"]["value"]


def test_a_calibration_accepted_from_the_command_line_reaches_an_open_tab(browser, tmp_path):
    store = tmp_path / "live.duckdb"
    build_sample_database(store)
    shutil.copy(store, tmp_path / "pristine.duckdb")  # SYN-MID's bars to make NEW's from
    source = tmp_path / "pristine.duckdb"
    assert run(store, "load", str(instruments_file(tmp_path / "inst.csv", "NEW")))[0] == 0
    assert run(store, "load", str(bars_file(source, tmp_path / "first.csv", "NEW", scale=2.0)))[0] == 0
    first_price = _calibrate(store)

    with running_app(store, tmp_path / "st.log") as url:
        page = browser.new_page(viewport={"width": 1500, "height": 2200})
        try:
            page.goto(f"{url}/?symbol=NEW")
            wait_idle(page)
            cells = "[data-testid='stDataFrame'] [role='gridcell']"
            page.wait_for_selector(cells, state="attached", timeout=60_000)
            assert f"arrival price ${first_price:,.2f} ·" in _header(page)
            assert _sidebar_price(page).startswith(f"{first_price:.2f}")
            assert _table_prices(page) == pytest.approx({"Immediate": first_price, "TWAP": first_price}, rel=1e-3)

            # from a terminal, while the tab stays open: the same weeks a year later, at a higher price
            later = bars_file(source, tmp_path / "later.csv", "NEW", scale=3.0, shift_days=364)
            code, out, err = run(store, "load", str(later))
            assert code == 0 and "24,180 rows loaded into bars" in out, err
            new_price = _calibrate(store, "--start", "2025-12-01")
            assert abs(new_price - first_price) > 10

            slices = page.get_by_label("Slices", exact=True)  # a widget change reruns the page
            slices.fill("100")
            slices.press("Enter")
            deadline = time.time() + 60
            while "in 100 slices" not in _header(page) and time.time() < deadline:
                page.wait_for_timeout(200)
            wait_idle(page)
            header = _header(page)
            assert "in 100 slices" in header
            assert f"arrival price ${new_price:,.2f} ·" in header and "(override)" not in header
            assert _sidebar_price(page).startswith(f"{new_price:.2f}")
            # the grid's cells are redrawn by the browser after the run; a loaded machine can lag a moment
            expected = pytest.approx({"Immediate": new_price, "TWAP": new_price}, rel=1e-3)
            deadline = time.time() + 10
            while _table_prices(page) != expected and time.time() < deadline:
                page.wait_for_timeout(200)
            assert _table_prices(page) == expected
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            page.close()
