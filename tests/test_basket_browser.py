"""The Basket page in a real browser (issue 15), served by app.py at /basket: upload a basket, edit a row, see the
totals change, download the report, share it, and open the link (?basket=ID, saved in the store) in a fresh browser
to see the same basket."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.server import metric_values, running_app, wait_idle

#: where a failed run leaves its screenshot (git-ignored)
FAILURE_SHOT = Path(__file__).resolve().parent / "e2e" / "screenshots" / "failed_basket.png"

pytestmark = pytest.mark.browser

BASKET = (
    "symbol,side,shares,notional_usd,pct_adv,sector\n"
    "SYN-LARGE,buy,200000,,,tech\n"
    "SYN-MID,sell,,5000000,,tech\n"
    "SYN-SMALL,buy,,,5,fin\n"
)


#: true once the basket grid holds the keyboard focus (its first cell clicked)
GRID_HAS_FOCUS = "() => document.querySelector(\"[data-testid='stDataFrame']\")?.contains(document.activeElement)"
#: true once the first metric (the gross notional) shows the given text
FIRST_METRIC_IS = "(text) => document.querySelector(\"[data-testid='stMetricValue']\")?.innerText === text"


@pytest.fixture
def app_root(tmp_path):
    """The Basket page of the app (``streamlit run app.py``) on a private copy of the sample database."""
    with running_app(tmp_path / "optexec.duckdb", tmp_path / "streamlit.log") as url:
        yield url


def test_upload_edit_and_download_the_basket_report(browser, app_root, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, accept_downloads=True)
    page = context.new_page()
    try:
        # the app's address first: a fresh server asked for /basket before app.py ever ran serves pages/ alone
        page.goto(app_root, timeout=120_000)
        wait_idle(page, 180_000)
        page.goto(f"{app_root}/basket", timeout=120_000)
        wait_idle(page, 180_000)
        assert "Basket pre-trade" in page.locator("h1").first.inner_text()
        path = tmp_path / "rebalance.csv"
        path.write_text(BASKET)
        page.get_by_text("Gross notional").first.wait_for(timeout=60_000)
        assert metric_values(page)[0] == "$27,040,000"  # the example basket, before the upload
        page.locator("input[type='file']").first.set_input_files(str(path))
        # the uploaded basket priced: 200,000 x $100 + $5,000,000 + 5% of ADV x $12 (waited for, not slept on)
        page.wait_for_function(FIRST_METRIC_IS, arg="$25,240,000", timeout=180_000)
        wait_idle(page, 180_000)
        before = metric_values(page)
        # edit the first order's shares in the grid (a canvas): each step waits for what it needs, no retry. Focus
        # the first cell and wait until the grid holds the keyboard focus; move to shares and open the editor; wait
        # for the editor (the grid's textarea) to show that very cell's value; replace it; wait for the new total.
        grid = page.locator("[data-testid='stDataFrame']").first
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)
        page.wait_for_function(GRID_HAS_FOCUS, timeout=60_000)
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")  # opens the cell's editor
        editor = page.locator("textarea.gdg-input")
        editor.wait_for(state="visible", timeout=60_000)
        assert editor.input_value() == "200000"  # the shares cell of SYN-LARGE, not another one
        editor.fill("400000")
        editor.press("Enter")
        editor.wait_for(state="hidden", timeout=60_000)
        page.wait_for_function(FIRST_METRIC_IS, arg="$45,240,000", timeout=180_000)
        wait_idle(page, 180_000)
        after = metric_values(page)
        assert after[0] == "$45,240,000" and after[1] != before[1]
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Basket report (HTML)").click()
        text = download.value.path().read_text()
        assert text.startswith("<!doctype html>") and "SYN-MID" in text and "45,240,000" in text
        page.screenshot(path=str(tmp_path / "basket.png"), full_page=True)
        report_id = re.search(r"Basket ([0-9a-f]{12}), saved in the store", text).group(1)
        page.get_by_role("button", name="Share: save the basket and show its link").click()
        page.locator("[data-testid='stCode']").first.wait_for(timeout=60_000)
        wait_idle(page, 180_000)
        link = page.locator("[data-testid='stCode']").first.inner_text().strip()
        assert link.endswith(f"/basket?basket={report_id}")  # the report names the id its link opens
        assert f"basket={report_id}" in page.url  # and the address bar holds it too
    except Exception as error:
        # a wait that timed out says little by itself: keep what the page showed and what the server logged
        FAILURE_SHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(FAILURE_SHOT), full_page=True)
        log_tail = "".join((tmp_path / "streamlit.log").read_text().splitlines(keepends=True)[-30:])
        metrics = page.locator("[data-testid='stMetricValue']").all_inner_texts()
        raise AssertionError(
            f"{error}\nmetrics shown: {metrics}\nscreenshot: {FAILURE_SHOT}\nserver log (last lines):\n{log_tail}"
        ) from error
    finally:
        context.close()
    other = browser.new_context(viewport={"width": 1400, "height": 2000})
    try:
        fresh = other.new_page()
        fresh.goto(link, timeout=120_000)
        wait_idle(fresh, 180_000)
        fresh.get_by_text("Gross notional").first.wait_for(timeout=60_000)
        assert metric_values(fresh)[:2] == after[:2]  # the edited basket, from the store by its id
        assert fresh.locator("[data-testid='stCode']").first.inner_text().strip() == link
    finally:
        other.close()
