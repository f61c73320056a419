"""End to end in a real browser: open the app, change the order and a slider, share the link, download the CSV."""

import time

import pandas as pd

from optexec.strategies import registry
from tests.e2e.conftest import screenshot
from tests.e2e.server import metric_values, wait_idle


def _wait_for_change(page, before: list[str], timeout_s: float = 30) -> list[str]:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        wait_idle(page)
        now = metric_values(page)
        if now and now != before:
            return now
        time.sleep(0.05)
    raise AssertionError(f"the plan did not change: {before}")


def test_plan_page_end_to_end(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    page.wait_for_selector("[data-testid='stMetricValue']")
    assert page.get_by_text("Pre-trade plan").is_visible()
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)  # the schedule chart is drawn
    assert page.locator("[data-testid='stException']").count() == 0
    first = metric_values(page)
    screenshot(page, "01_plan_default")

    # change the order: a bigger size costs more bps
    shares = page.get_by_label("Shares", exact=True)
    shares.fill("1000000")
    shares.press("Enter")
    bigger = _wait_for_change(page, first)
    assert float(bigger[1].split()[0]) > float(first[1].split()[0])
    screenshot(page, "02_bigger_order")

    # move the risk-aversion slider one notch up with the keyboard
    slider = page.get_by_role("slider", name="Risk aversion λ (1/$)")
    slider.focus()
    slider.press("ArrowRight")
    urgent = _wait_for_change(page, bigger)
    screenshot(page, "03_risk_aversion_up")

    # the URL now holds the plan: a fresh browser context shows the same numbers
    shared_url = page.url
    assert "shares.SYN-LARGE=1000000" in shared_url and "risk_aversion=" in shared_url
    other = page.context.browser.new_context(viewport={"width": 1500, "height": 2200})
    try:
        shared = other.new_page()
        shared.goto(shared_url)
        wait_idle(shared)
        shared.wait_for_selector("[data-testid='stMetricValue'] >> nth=3")
        deadline = time.time() + 30
        while metric_values(shared) != urgent and time.time() < deadline:
            shared.wait_for_timeout(100)
        assert metric_values(shared) == urgent
        screenshot(shared, "04_shared_link")
    finally:
        other.close()

    # download the schedule
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Schedule (CSV)").click()
    path = download_info.value.path()
    assert open(path).readline().startswith("# optexec schedule: sell 1000000 SYN-LARGE")
    schedule = pd.read_csv(path, comment="#")
    refused = " ".join(page.locator("[data-testid='stAlertContentWarning']").all_inner_texts())
    for strategy in registry.STRATEGIES.values():  # every strategy is in the CSV or says why it could not plan
        assert (strategy.name in set(schedule["strategy"])) != (f"{strategy.label}: not planned" in refused)
    assert (schedule.groupby("strategy").size() == 390).all()
    sums = schedule.groupby("strategy")["child_order_shares"].sum()
    assert ((sums - 1e6).abs() < 1e-3).all()


def test_bad_input_shows_a_message_not_a_traceback(page, app_url):
    page.goto(f"{app_url}/?horizon_days=0")
    wait_idle(page)
    page.wait_for_selector("[data-testid='stAlertContentError']")
    assert "horizon (days) must be > 0" in page.locator("[data-testid='stAlertContentError']").first.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "05_bad_input")
