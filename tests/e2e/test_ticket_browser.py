"""The sidebar ticket shows the order the results are for, however late the browser draws it (a real browser).

A page's button (Run simulation, Run calibration) can be pressed before the browser has drawn the sidebar's boxes: on
a busy machine each widget's script loads after the button's. The test makes that happen every time by holding back
the select box's and the number box's scripts for a few seconds, presses the button as soon as it shows, and checks
the boxes once the results are drawn: before optexec.ui.ticket held its inputs, the symbol box showed the store's
first symbol (SYN-LARGE) and Slices showed 0 while the results were for the link's SYN-MID in 120 slices, and the
next run planned what the boxes showed.
"""

import urllib.parse

from playwright.sync_api import expect

from tests.e2e.server import wait_idle

LINK = {"symbol": "SYN-MID", "slices": "120", "price.SYN-MID": "120"}
HELD_BACK = ("Selectbox", "NumberInput")  # the scripts of the ticket's symbol box and number boxes


def _open_and_press(browser, app_url: str, path: str, button: str):
    """Open ``path`` with the link, its widget scripts held back; press ``button`` before the ticket's boxes are
    drawn, then let the scripts load."""
    context = browser.new_context(viewport={"width": 1500, "height": 2200})
    page = context.new_page()
    held = []
    for widget in HELD_BACK:
        page.route(f"**/static/js/{widget}.*.js", lambda route: held.append(route))  # answered after the press
    page.goto(f"{app_url}/{path}?{urllib.parse.urlencode(LINK)}")
    press = page.get_by_role("button", name=button)
    press.wait_for(timeout=60_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    assert held, "the widgets' scripts were not held back"
    assert sidebar.locator("input[aria-label='Symbol']").count() == 0, "the symbol box was drawn before the press"
    wait_idle(page)  # the first run (the one that tells the browser the link's values) has finished
    press.click()
    page.wait_for_timeout(300)  # the press has reached the server
    for route in held:
        route.continue_()
    page.unroute_all()
    return context, page, sidebar


def _expect_ticket(sidebar, where: str) -> None:
    expect(sidebar.locator("input[aria-label='Symbol']"), where).to_have_value("SYN-MID", timeout=30_000)
    expect(sidebar.get_by_label("Slices", exact=True), where).to_have_value("120")
    expect(sidebar.get_by_text("Market parameters · 1 override"), where).to_be_visible()  # the link's price.SYN-MID


def _heading(page) -> str:
    return page.locator(
        "[data-testid='stMain'] [data-testid='stMarkdownContainer']", has_text="slices"
    ).first.inner_text()


def test_run_simulation_pressed_before_the_sidebar_is_drawn(browser, app_url):
    context, page, sidebar = _open_and_press(browser, app_url, "simulate", "Run simulation")
    try:
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        wait_idle(page)
        heading = _heading(page)
        assert "SYN-MID" in heading and "in 120 slices" in heading, heading
        _expect_ticket(sidebar, "after Run simulation")
        page.get_by_role("button", name="Run simulation").click()  # the next run: the order stays the one shown
        wait_idle(page)
        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
        heading = _heading(page)
        assert "SYN-MID" in heading and "in 120 slices" in heading, heading
        _expect_ticket(sidebar, "after the next run")
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()


def test_run_calibration_pressed_before_the_sidebar_is_drawn(browser, app_url):
    context, page, sidebar = _open_and_press(browser, app_url, "calibrate", "Run calibration")
    try:
        page.wait_for_selector("[data-testid='stMain'] h3", timeout=120_000)
        wait_idle(page)
        _expect_ticket(sidebar, "after Run calibration")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)  # the link still holds the order
        assert query.get("symbol") == ["SYN-MID"] and query.get("slices") == ["120"], page.url
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()
