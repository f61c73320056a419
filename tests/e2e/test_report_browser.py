"""The pre-trade report in a real browser (issue 17 items 1 and 6): downloaded from the Plan page, opened at desktop
(1440 px) and phone (390 px) widths and as printed (A4 landscape, print media), with no element wider than the page;
screenshots in tests/e2e/screenshots/report_*.png."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.server import wait_idle

#: elements whose right edge goes past the page's width (1 px of rounding allowed)
_TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .map((el) => `${el.tagName}.${el.className}: ${Math.round(el.getBoundingClientRect().right)} > ${width}`)
    .slice(0, 10);
}"""
#: A4 landscape inside the report's 10 mm margins, in CSS px (277 mm at 96 px an inch)
A4_PRINT_WIDTH_PX = 1047


@pytest.fixture(scope="module")
def downloads(browser, app_url, tmp_path_factory) -> dict[str, Path]:
    """The HTML report and the workbook downloaded from the Plan page of the default order."""
    folder = tmp_path_factory.mktemp("report")
    context = browser.new_context(viewport={"width": 1440, "height": 1800}, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(app_url)
        wait_idle(page)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        files = {}
        for key, button in (("html", "Pre-trade report (HTML)"), ("xlsx", "Pre-trade report (Excel)")):
            with page.expect_download(timeout=60_000) as info:
                page.get_by_role("button", name=button).click()
            files[key] = folder / info.value.suggested_filename
            info.value.save_as(files[key])
        return files
    finally:
        context.close()


def _open(browser, path: Path, width: int, print_media: bool = False):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    if print_media:
        page.emulate_media(media="print")
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-charts='drawn']", timeout=60_000)
    page.wait_for_timeout(300)
    return context, page


@pytest.mark.parametrize(("name", "width", "print_media"), [("desktop", 1440, False), ("phone", 390, False),
                                                           ("print_a4", A4_PRINT_WIDTH_PX, True)])  # fmt: skip
def test_the_report_fits_the_page_at_every_width(browser, downloads, name, width, print_media):
    context, page = _open(browser, downloads["html"], width, print_media)
    try:
        assert page.evaluate(_TOO_WIDE) == []
        text = page.inner_text("body")
        assert "★ Recommended:" in text and "Urgency:" in text and "this file" in text
        assert page.locator(".js-plotly-plot").count() >= 1  # the charts drew offline, from the file alone
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"report_{name}.png"), full_page=True)
    finally:
        context.close()


def test_the_report_prints_to_a4_landscape_and_is_small(browser, downloads):
    context, page = _open(browser, downloads["html"], A4_PRINT_WIDTH_PX, print_media=True)
    try:
        pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
    finally:
        context.close()
    (SCREENSHOTS / "report_print.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 2  # the summary page, then the details
    assert downloads["html"].stat().st_size < 3e6  # plotly.js once, compressed (5.2 MB before)


def test_the_workbook_has_the_reports_sheets(downloads):
    with zipfile.ZipFile(downloads["xlsx"]) as book:
        names = book.read("xl/workbook.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    for sheet in ("Summary", "Costs", "Schedule", "Settings", "Market"):
        assert f'name="{sheet}"' in names
    assert "Recommended" in strings and "Times are exchange-local" in strings  # a stored symbol has a clock
