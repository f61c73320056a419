"""End to end in a real browser: open the app, change the order and a slider, share the link, download the CSV."""

import socket
import time
import urllib.parse
import urllib.request

import pandas as pd
import pytest
from playwright.sync_api import expect

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
    assert open(path).readline().startswith("symbol,side,strategy,slice,start_time_local,")  # one header row
    schedule = pd.read_csv(path)
    assert set(schedule["symbol"]) == {"SYN-LARGE"} and set(schedule["side"]) == {"sell"}
    refused = " ".join(page.locator("[data-testid='stAlertContentWarning']").all_inner_texts())
    for strategy in registry.STRATEGIES.values():  # every strategy is in the CSV or says why it could not plan
        assert (strategy.label in set(schedule["strategy"])) != (f"{strategy.label}: not planned" in refused)
    assert (schedule.groupby("strategy").size() == 390).all()
    sums = schedule.groupby("strategy")["child_order_shares"].sum()
    assert (sums == 1_000_000).all()  # whole shares, the last child order taking the remainder


def _alerts(page, kind: str) -> list[str]:
    """The texts of the page's alerts of one kind (Warning, Error, ...), without their icons."""
    return page.locator(f"[data-testid='stAlertContent{kind}'] [data-testid='stMarkdownContainer']").all_inner_texts()


def _header(page) -> str:
    """The Plan page's order line (side, size, symbol, horizon, slices, price, notional, % of ADV)."""
    lines = page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer']", has_text="notional")
    return lines.first.inner_text()


def test_bad_input_shows_a_message_not_a_traceback(page, app_url):
    page.goto(f"{app_url}/?horizon_days=0")
    wait_idle(page)
    page.wait_for_selector("[data-testid='stMetricValue']")
    assert "Link value horizon_days=0 is not valid (one second (4.27e-05) to 252 trading days): using 1." in _alerts(
        page, "Warning"
    )
    assert "SELL 250,000 SYN-LARGE over 1 trading day" in _header(page)
    assert "horizon_days" not in page.url  # the link now holds the plan on the screen
    shares = page.get_by_label("Shares", exact=True)
    shares.fill("-5000")
    shares.press("Enter")
    page.wait_for_selector("[data-testid='stAlertContentError']")
    wait_idle(page)
    assert any("Shares = −5,000 is not valid (> 0, ≤ 1,000,000,000,000): the plan is not updated until it" in e
               for e in _alerts(page, "Error"))  # fmt: skip
    assert page.locator("[data-testid='stMetricValue']").count() == 0  # no stale plan left standing
    assert page.locator("[data-testid='stException']").count() == 0
    screenshot(page, "05_bad_input")


def test_an_override_and_a_link_message_on_desktop_and_phone(browser, app_url):
    """A link with an override and a bad value, at 1440 px and 390 px: the message on top, the override marked in
    the header and in the sidebar (screenshots 06_* and 07_*)."""
    for width, height in ((1440, 1100), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(f"{app_url}/?price.SYN-LARGE=120&slices=100000000")
            wait_idle(page)
            page.wait_for_selector("[data-testid='stMetricValue']")
            assert "Link value slices=100000000 is not valid (1–5,000): using 390." in _alerts(page, "Warning")
            header = _header(page)
            assert "in 390 slices" in header and "arrival price $120.00 (override)" in header
            assert "price.SYN-LARGE=120" in page.url and "slices" not in page.url
            screenshot(page, f"06_link_message_{width}px", full_page=False)
            if width < 800:
                page.locator("[data-testid='stExpandSidebarButton']").click()
            sidebar = page.locator("[data-testid='stSidebar']")
            market = sidebar.get_by_text("Market parameters · 1 override")
            market.scroll_into_view_if_needed()
            assert sidebar.get_by_role("button", name="Clear: back to $100.00").is_visible()
            screenshot(page, f"07_override_{width}px", full_page=False)
        finally:
            context.close()


def test_a_calibration_accepted_from_the_command_line_shows_in_an_open_tab(browser, tmp_path):
    """The app and the CLI on one store: `optexec calibrate` accepts a run while a tab shows SYN-LARGE on its planted
    parameters; the tab's next run (here a risk-aversion notch, which reruns only the results otherwise) shows the
    calibrated price, and its link records the run."""
    import json
    import subprocess
    import sys

    from tests.e2e.server import ROOT, running_app

    path = tmp_path / "live.duckdb"
    with running_app(path, tmp_path / "st.log") as url:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        try:
            page = context.new_page()
            page.goto(url)
            wait_idle(page)
            page.wait_for_selector("[data-testid='stMetricValue']")
            assert "arrival price $100.00 ·" in _header(page)  # the planted parameters
            done = subprocess.run(
                [sys.executable, "-m", "optexec", "--db", str(path), "calibrate", "--symbol", "SYN-LARGE", "--json"],
                capture_output=True, text=True, cwd=ROOT, timeout=120,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            price = json.loads(done.stdout)["parameters"]["price_usd"]["value"]
            slider = page.get_by_role("slider", name="Risk aversion λ (1/$)")
            slider.focus()
            slider.press("ArrowRight")
            deadline = time.time() + 30
            while f"arrival price ${price:,.2f} ·" not in _header(page) and time.time() < deadline:
                page.wait_for_timeout(200)
            assert f"arrival price ${price:,.2f} ·" in _header(page)
            assert "cal=" in page.url
        finally:
            context.close()


def test_a_symbol_with_markdown_or_html_fetches_nothing_and_links_nowhere(browser, tmp_path):
    """Issue 14 item 5 in a real browser: a store whose symbols are a Markdown image and link, and an HTML image
    with bare addresses. On Plan, Simulate and Calibrate the browser sends no request to 127.0.0.1:9, no link or
    image points there, and the symbol is shown as the characters it is."""
    from tests.e2e.server import running_app
    from tests.test_injection import EVIL, EVIL_HTML, build_evil_store

    db_path = build_evil_store(tmp_path / "evil.duckdb", (EVIL, EVIL_HTML))
    requests: list[str] = []
    with running_app(db_path, tmp_path / "st.log") as url:
        context = browser.new_context(viewport={"width": 1500, "height": 2200})
        try:
            page = context.new_page()
            page.on("request", lambda request: requests.append(request.url))
            for symbol in (EVIL, EVIL_HTML):
                for path in ("", "simulate", "calibrate"):
                    query = urllib.parse.urlencode({"symbol": symbol})
                    page.goto(f"{url}/{path}?{query}")
                    wait_idle(page)
                    box = page.locator("[data-testid='stSidebar'] input[aria-label='Symbol']")
                    if path == "calibrate":
                        page.get_by_role("button", name="Run calibration").click()
                        page.wait_for_selector("[data-testid='stMain'] h3", timeout=60_000)
                    elif path == "simulate":  # Simulate runs when asked
                        page.get_by_role("button", name="Run simulation").click()
                        page.wait_for_selector(".js-plotly-plot", timeout=120_000)
                    else:
                        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
                    wait_idle(page)
                    page.wait_for_timeout(500)
                    where = f"{path or 'plan'} with {symbol}"
                    assert page.locator("[data-testid='stException']").count() == 0, where
                    main = page.locator("[data-testid='stMain']")
                    visible = main.inner_text().replace("\u2060", "")  # the word joiners that keep addresses text
                    assert symbol in visible, where  # shown, character for character
                    assert page.locator("a[href*='127.0.0.1:9/'], img[src*='127.0.0.1:9/']").count() == 0, where
                    assert page.locator("[data-testid='stMain'] a[href*='example.com']").count() == 0, where
                    # the ticket's symbol box: plain text, and the symbol the results are for, also after Run
                    # simulation or calibration pressed before the box was drawn (it showed the store's first symbol,
                    # the previous one here: tests/e2e/test_ticket_browser.py)
                    expect(box).to_have_value(symbol, timeout=30_000)
                    screenshot(page, f"08_injection_{path or 'plan'}_{(EVIL, EVIL_HTML).index(symbol)}")
        finally:
            context.close()
    assert requests, "the browser made requests (the test saw them)"
    hosts = {urllib.parse.urlsplit(request).netloc for request in requests}
    assert not hosts & {"127.0.0.1:9", "www.example.com"}, hosts


def _outward_address() -> str | None:
    """This machine's address on its outward interface (not loopback), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: no packet is sent, this only picks the outward interface
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_the_server_listens_on_loopback_only(app_url):
    """Issue 14 item 7: .streamlit/config.toml binds the server to 127.0.0.1; the same port on this machine's
    outward address refuses the connection (Streamlit bound every interface before)."""
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    port = urllib.parse.urlsplit(app_url).port
    with socket.socket() as sock:
        sock.settimeout(3)
        assert sock.connect_ex((address, port)) != 0, f"the app answers on {address}:{port}"
    with socket.socket() as sock:  # and it does answer on loopback
        sock.settimeout(3)
        assert sock.connect_ex(("127.0.0.1", port)) == 0


def test_responses_carry_the_security_headers_and_the_app_still_works(page, app_url):
    """Issue 14 item 7: X-Frame-Options and a Content-Security-Policy on the app's responses (app.py serves itself
    through an st.App with optexec.ui.headers), and the policy blocks nothing the app needs."""
    from optexec.ui.headers import CONTENT_SECURITY_POLICY

    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text
            else None)  # fmt: skip
    response = page.goto(app_url)
    headers = response.headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    wait_idle(page)
    page.wait_for_selector("[data-testid='stMetricValue']")
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)
    assert not violations, violations
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=5) as health:  # every route, not just the page
        assert health.headers["X-Frame-Options"] == "DENY"


def test_horizon_unit_and_clock_start_on_desktop_and_phone(browser, app_url):
    """Issue 17 item 4: the horizon typed as 2 hours and the start as a clock time in the exchange's zone, at 1440 px
    and 390 px: the header says both, the link holds them (horizon=2, horizon_unit=hours, start=10:30), and "now"
    says what it chose (screenshots 09_* and 10_*)."""
    for width, height in ((1440, 1100), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(f"{app_url}/?slices=120")
            wait_idle(page)
            page.wait_for_selector("[data-testid='stMetricValue']")
            if width < 800:
                page.locator("[data-testid='stExpandSidebarButton']").click()
            sidebar = page.locator("[data-testid='stSidebar']")
            horizon = sidebar.get_by_label("Horizon", exact=True)
            horizon.fill("2")
            horizon.press("Enter")
            wait_idle(page)
            sidebar.locator("input[aria-label='Unit']").click()
            page.get_by_role("option", name="hours", exact=True).click()
            wait_idle(page)
            start = sidebar.get_by_role("group", name="Start time (America/New_York)")
            for part, text in (("hour", "10"), ("minute", "30")):  # the time box: an hour and a minute field
                sidebar.get_by_role("spinbutton", name=f"{part}, Start time (America/New_York)").click()
                page.keyboard.type(text)
            page.keyboard.press("Enter")
            deadline = time.time() + 30
            while "starts 10:30" not in _header(page) and time.time() < deadline:
                page.wait_for_timeout(200)
            header = _header(page)
            assert "over 2 hours (0.308 trading days) in 120 slices" in header, header
            assert "starts 10:30 America/New_York" in header
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
            assert query["horizon"] == ["2"] and query["horizon_unit"] == ["hours"] and query["start"] == ["10:30"]
            assert page.locator("[data-testid='stException']").count() == 0
            horizon.scroll_into_view_if_needed()
            for box in (horizon, start):  # the controls fit the sidebar (nothing cut off on a phone)
                bounds, panel = box.bounding_box(), sidebar.bounding_box()
                assert bounds["x"] >= panel["x"] and bounds["x"] + bounds["width"] <= panel["x"] + panel["width"] + 1
            screenshot(page, f"09_horizon_hours_start_{width}px", full_page=False)
            sidebar.locator("[data-testid='stButtonGroup'] button").filter(has_text="now").click()
            wait_idle(page)
            said = sidebar.locator("[data-testid='stCaptionContainer']", has_text="starts").first.inner_text()
            assert said.startswith(("Now: starts", "Before the open: starts at the open", "Market closed: starts"))
            deadline = time.time() + 30
            while "start=now" not in page.url and time.time() < deadline:
                page.wait_for_timeout(200)
            assert "start=now" in page.url
            screenshot(page, f"10_start_now_{width}px", full_page=False)
        finally:
            context.close()
