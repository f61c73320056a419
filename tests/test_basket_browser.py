"""The Basket page in a real browser (issue 15): upload a basket, edit a row, see the totals change, download the
report, open the link in a fresh browser and see the same basket. The page is served alone
(``streamlit run pages/basket.py``) until app.py registers it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.e2e.server import ROOT, free_port, metric_values, wait_idle

pytestmark = pytest.mark.browser

BASKET = (
    "symbol,side,shares,notional_usd,pct_adv,sector\n"
    "SYN-LARGE,buy,200000,,,tech\n"
    "SYN-MID,sell,,5000000,,tech\n"
    "SYN-SMALL,buy,,,5,fin\n"
)


@pytest.fixture
def basket_url(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # OPTEXEC_DB: the tests' private sample database
    with open(tmp_path / "streamlit.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "pages/basket.py", "--server.headless", "true",
             "--server.port", str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 120
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                        if response.read().decode().strip() == "ok":
                            break
                except OSError:
                    pass
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"streamlit did not start; see {tmp_path / 'streamlit.log'}")
                time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=20)


def test_upload_edit_and_download_the_basket_report(browser, basket_url, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(basket_url, timeout=120_000)
        wait_idle(page, 180_000)
        path = tmp_path / "rebalance.csv"
        path.write_text(BASKET)
        page.locator("input[type='file']").first.set_input_files(str(path))
        page.wait_for_timeout(1500)
        wait_idle(page, 180_000)
        page.get_by_text("Gross notional").first.wait_for(timeout=60_000)
        before = metric_values(page)
        assert before[0] == "$25,240,000"  # 200,000 x $100 + $5,000,000 + 5% of ADV x $12
        # edit the first order's shares in the grid (a canvas): select its first cell, move to shares, type, enter
        box = page.locator("[data-testid='stDataFrame']").first.bounding_box()
        page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Enter")  # opens the cell's editor
        page.wait_for_timeout(500)
        page.keyboard.press("Control+A")
        page.keyboard.type("400000")
        page.keyboard.press("Enter")
        deadline = time.time() + 180
        while time.time() < deadline:  # the rerun: wait for the new total
            page.wait_for_timeout(1000)
            after = metric_values(page)
            if after and after[0] != before[0]:
                break
        wait_idle(page, 180_000)
        after = metric_values(page)
        assert after[0] == "$45,240,000" and after[1] != before[1]
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Basket report (HTML)").click()
        text = download.value.path().read_text()
        assert text.startswith("<!doctype html>") and "SYN-MID" in text and "45,240,000" in text
        page.screenshot(path=str(tmp_path / "basket.png"), full_page=True)
        link = page.url
        assert "basket=" in link
    finally:
        context.close()
    other = browser.new_context(viewport={"width": 1400, "height": 2000})
    try:
        fresh = other.new_page()
        fresh.goto(link, timeout=120_000)
        wait_idle(fresh, 180_000)
        fresh.get_by_text("Gross notional").first.wait_for(timeout=60_000)
        assert metric_values(fresh)[:2] == after[:2]  # the edited basket, from the link alone
    finally:
        other.close()
