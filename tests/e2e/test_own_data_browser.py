"""A new user's own data end to end in a real browser (issues 13 and 14): real SPY minute bars uploaded on the Data
page, calibrated on the Calibrate page, planned on Plan, shared by link, exported as report and CSV.

The data are LEAN minute trade bars of SPY from ../shared/marketdata (test use only, never copied into the
repository; skipped when absent): 6 days in October 2013 and 2023-08-03. The whole span is a gap of ten years, which
Calibrate must say and offer the longest stretch without a gap as the window; that stretch has 6 trading days, fewer
than the 20 an accepted run needs, so it is accepted anyway (recorded) and every plan says so. Then the numbers must
agree: the header's price is the run's last close, the cost table's TWAP and Immediate rows, the report's table and
the shared link's table show the same E (bps) and E ($), the model card names the run, the CSV holds the order.
Screenshots at 1440 px and 390 px go to tests/e2e/screenshots/own_data_*.png.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.conftest import screenshot
from tests.e2e.server import running_app, wait_idle

pytestmark = pytest.mark.browser

MARKETDATA = next(
    (p / "shared" / "marketdata" for p in Path(__file__).resolve().parents if (p / "shared" / "marketdata").exists()),
    None,
)
SPY = MARKETDATA / "lean_equity_usa" / "minute" / "spy" if MARKETDATA else None
FILES = sorted(SPY.glob("*_trade.zip")) if SPY and SPY.exists() else []
needs_data = pytest.mark.skipif(len(FILES) < 7, reason="../shared/marketdata (LEAN SPY minute trade bars) is absent")
STRATEGIES = ("TWAP", "Immediate")


def _wait_for(check, timeout_s: float = 60, what: str = "") -> None:
    deadline = time.time() + timeout_s
    while not check():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _alerts(page, kind: str) -> list[str]:
    return page.locator(f"[data-testid='stAlertContent{kind}'] [data-testid='stMarkdownContainer']").all_inner_texts()


def _upload(page, path: Path) -> str:
    """Upload one file on the Data page's Load tab, wait for its validation, press Load; the success line."""
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    _wait_for(lambda: page.get_by_text(f"File: {path.name} (").count() > 0, what=f"{path.name} to be shown")
    load = page.get_by_role("button", name="Load", exact=True)
    load.wait_for(timeout=60_000)
    wait_idle(page)
    load.click()
    _wait_for(lambda: any(t.startswith("Loaded ") for t in _alerts(page, "Success")), what=f"{path.name} loaded")
    wait_idle(page)
    return next(t for t in _alerts(page, "Success") if t.startswith("Loaded "))


def _dates(main, which: str) -> str:
    return "-".join(main.get_by_role("spinbutton", name=f"{p}, {which}").inner_text() for p in ("year", "month", "day"))


def _run_calibration(page) -> None:
    page.get_by_role("button", name="Run calibration").click()
    page.get_by_role("button", name="Accept as SPY's parameters").wait_for(timeout=120_000)
    wait_idle(page)


def _header(page) -> str:
    lines = page.locator("[data-testid='stMain'] [data-testid='stMarkdownContainer']", has_text="notional")
    return lines.first.inner_text()


def _table(page) -> dict[str, tuple[float, float]]:
    """The cost table's E (bps) and E ($) of STRATEGIES (columns: ★, strategy, max part., note, E bps, E $)."""
    grid = page.locator("[data-testid='stDataFrame']").first
    cells = grid.locator("[role='gridcell']").all_inner_texts()
    return {
        s: (float(cells[cells.index(s) + 3]), float(cells[cells.index(s) + 4].replace(",", ""))) for s in STRATEGIES
    }


def _notional_usd(header: str) -> float:
    return float(re.search(r"notional \$([\d,.]+)", header).group(1).replace(",", ""))


def _plan_ready(page, wide: bool = True) -> None:
    """Wait until the run has finished and, on a wide page (where the grid draws its cost columns: on a phone it
    draws only the first ones), the cost table is the header's order's: the grid can show the previous order's cells
    for a moment after the run ends (its data is drawn after the rest), so its TWAP row's E ($) must be its E (bps)
    of the notional the header shows."""
    page.wait_for_selector("[data-testid='stDataFrame'] [role='gridcell']", state="attached", timeout=90_000)
    wait_idle(page)
    cells = page.locator("[data-testid='stDataFrame']").first.locator("[role='gridcell']")
    _wait_for(lambda: set(STRATEGIES) <= set(cells.all_inner_texts()), what="the cost table")
    if not wide:
        return

    def drawn_for_header() -> bool:
        try:
            bps, usd = _table(page)["TWAP"]
        except (ValueError, IndexError):  # the grid's cells are being drawn
            return False
        return abs(usd - bps * 1e-4 * _notional_usd(_header(page))) <= max(1.0, 2e-3 * usd)

    _wait_for(drawn_for_header, what="the cost table of the order in the header")


def _report_table(text: str) -> dict[str, tuple[float, float]]:
    """E (bps) and E ($) of STRATEGIES in the report's cost tables (cells labelled "Expected (bps)" and "Expected
    ($)", one table each; formatted {:,.1f} and {:,.0f})."""
    found: dict[str, dict[str, float]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", text, re.S):
        labelled = re.findall(r'<td[^>]*data-label="([^"]*)"[^>]*>(.*?)</td>', row, re.S)
        cells = {html.unescape(label): html.unescape(value).strip() for label, value in labelled}
        strategy = cells.get("Strategy")
        for label in ("Expected (bps)", "Expected ($)"):
            if strategy in STRATEGIES and label in cells:
                found.setdefault(strategy, {})[label] = float(cells[label].replace(",", "").replace("$", ""))
    return {name: (v["Expected (bps)"], v["Expected ($)"]) for name, v in found.items() if len(v) == 2}


@needs_data
def test_spy_minute_files_uploaded_calibrated_planned_shared_and_exported(browser, tmp_path):
    from optexec.calibration import run
    from optexec.store import db
    from optexec.store.sample import build_sample_database

    store = build_sample_database(tmp_path / "own.duckdb")  # a new user's store: the bundled sample only
    seen: dict = {}
    with running_app(store, tmp_path / "st.log") as url:
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        try:
            # 1. Data page: upload every SPY minute trade file
            page.goto(f"{url}/data")
            wait_idle(page)
            page.get_by_role("tab", name="Load a file").click()
            loaded = [_upload(page, path) for path in FILES]
            seen["loaded"] = loaded
            screenshot(page, "own_data_01_data_loaded", full_page=False)

            # 2. Calibrate: the span's gap is said, the longest stretch offered and used, accepted anyway
            page.goto(f"{url}/calibrate")
            wait_idle(page)
            main = page.locator("[data-testid='stMain']")
            main.get_by_role("combobox", name="Symbol").click()
            page.get_by_role("option", name="SPY", exact=True).click()
            _wait_for(lambda: _dates(main, "From") == "2013-10-04", what="SPY's first day in From")
            assert _dates(main, "To") == "2023-08-03"
            _run_calibration(page)
            seen["gap_reasons"] = " ".join(_alerts(page, "Warning"))
            use = page.get_by_role("button", name="Use the window 2013-10-04 to 2013-10-11 (the longest stretch")
            use.click()
            wait_idle(page)
            _wait_for(lambda: _dates(main, "To") == "2013-10-11", what="the stretch in To")
            _run_calibration(page)
            seen["reasons"] = [t for t in _alerts(page, "Warning") if t.startswith("Not acceptable")]
            page.get_by_text("Accept anyway", exact=True).click()
            wait_idle(page)
            page.get_by_role("button", name="Accept as SPY's parameters").click()
            _wait_for(lambda: any("Saved and accepted" in t for t in _alerts(page, "Success")), what="accepted")
            screenshot(page, "own_data_02_calibrated", full_page=False)

            # 3. Plan: choose SPY in the sidebar ticket
            page.goto(url)
            wait_idle(page)
            sidebar = page.locator("[data-testid='stSidebar']")
            sidebar.get_by_role("combobox", name="Symbol").click()
            page.get_by_role("option", name="SPY", exact=True).click()
            _wait_for(lambda: "SPY" in _header(page), what="the SPY plan")
            _plan_ready(page)
            seen["header"] = _header(page)
            seen["table"] = _table(page)
            seen["metrics"] = page.locator("[data-testid='stMetric']").all_inner_texts()
            seen["captions"] = " ".join(main.locator("[data-testid='stCaptionContainer']").all_inner_texts())
            seen["model_line"] = main.get_by_text("Priced under the").first.inner_text()
            main.get_by_text("model's parameters and where they come from").click()
            params = main.locator("[data-testid='stExpander'] [data-testid='stDataFrame']").first
            params.wait_for()
            source = params.locator("[role='gridcell']", has_text="calibration of SPY run")
            _wait_for(lambda: source.count() > 0, what="the model parameters' sources")
            seen["parameters"] = params.locator("[role='gridcell']").all_inner_texts()
            screenshot(page, "own_data_03_plan_1440px")
            with page.expect_download() as report:
                page.get_by_role("button", name="Pre-trade report (HTML)").click()
            seen["report"] = Path(report.value.path()).read_text()
            with page.expect_download() as csv:
                page.get_by_role("button", name="Schedule (CSV)").click()
            seen["csv"] = Path(csv.value.path()).read_text()
            seen["link"] = page.url
        finally:
            context.close()

        # 4. the link in a fresh browser context, at 1440 px and on a phone
        for width, height in ((1440, 1000), (390, 844)):
            other = browser.new_context(viewport={"width": width, "height": height})
            try:
                shared = other.new_page()
                shared.goto(seen["link"])
                _plan_ready(shared, wide=width == 1440)
                seen[f"link_header_{width}"] = _header(shared)
                if width == 1440:
                    seen["link_table"] = _table(shared)
                seen[f"link_metrics_{width}"] = shared.locator("[data-testid='stMetric']").all_inner_texts()
                assert shared.locator("[data-testid='stException']").count() == 0
                screenshot(shared, f"own_data_04_link_{width}px", full_page=False)
            finally:
                other.close()

    con = db.open_database(store, read_only=True)
    try:
        stored = run.latest_calibration(con, "SPY")
        bars = con.execute("SELECT count(*) FROM bars WHERE symbol = 'SPY'").fetchone()[0]
    finally:
        con.close()

    # every file loaded (each one's own row count), nothing left out
    counts = [int(re.match(r"Loaded ([\d,]+) rows into bars", t).group(1).replace(",", "")) for t in seen["loaded"]]
    assert len(counts) == len(FILES) and sum(counts) == bars
    # the ten-year gap is said with the window to choose; the chosen window is short, and said so
    assert "2,467 of the 2,474 XNYS trading days from 2013-10-04 to 2023-08-03 have no bars" in seen["gap_reasons"]
    assert "split" not in seen["gap_reasons"]
    assert len(seen["reasons"]) == 1
    assert "only 6 trading days with bars in the window 2013-10-04 to 2013-10-11" in seen["reasons"][0]
    assert stored is not None and (stored.window_start.date(), stored.window_end.date()) == (
        dt.date(2013, 10, 4),
        dt.date(2013, 10, 11),
    )
    price = stored.values["price_usd"]

    # header, ticket, link: the run's price, the calibrated model, the acceptance said
    header = seen["header"]
    assert f"arrival price ${price:,.2f} ·" in header and "(override)" not in header
    assert header == seen["link_header_1440"] == seen["link_header_390"]
    assert f"cal={stored.run_ts:%Y-%m-%dT%H}" in seen["link"].replace("%3A", ":")
    assert seen["model_line"].startswith("Priced under the calibrated cost model")
    assert (
        f"calibration of SPY run {stored.run_ts:%Y-%m-%d %H:%M:%S} UTC on data from 2013-10-04 to 2013-10-11"
        in (seen["captions"])
    )
    assert "accepted despite: only 6 trading days" in seen["captions"]
    cells = seen["parameters"]
    assert any(f"calibration of SPY run {stored.run_ts:%Y-%m-%d %H:%M:%S} UTC" in c for c in cells), cells[:60]

    # the cost table, the link's table and the report's table: the same E (bps) and E ($)
    shares = float(header.split()[1].replace(",", ""))
    table, report = seen["table"], _report_table(seen["report"])
    assert seen["link_table"] == table
    assert seen["metrics"] == seen["link_metrics_1440"]
    for name in STRATEGIES:
        bps, usd = table[name]
        assert usd == pytest.approx(bps * 1e-4 * shares * price, rel=2e-3, abs=1.0)  # bps of the arrival notional
        assert report[name][0] == pytest.approx(bps, abs=0.051)  # the page rounds to 0.1 bps
        assert report[name][1] == pytest.approx(usd, abs=0.51)  # the page to $1, the report to $0.1
    assert f"${price:,.2f}" in seen["report"]  # the report's arrival price is the run's
    assert f"calibration of SPY run {stored.run_ts:%Y-%m-%d %H:%M:%S} UTC" in html.unescape(seen["report"])

    # the schedule CSV: one header row, the order in its columns, every strategy's whole-share child orders sum to it
    schedule = pd.read_csv(io.StringIO(seen["csv"]))
    assert set(schedule["symbol"]) == {"SPY"} and set(schedule["side"]) == {"sell"}
    sums = schedule.groupby("strategy")["child_order_shares"].sum()
    assert (sums == round(shares)).all() and {"TWAP", "Immediate"} <= set(sums.index)
