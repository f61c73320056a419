"""The pre-trade report in a real browser (issue 17 items 1 and 6): downloaded from the Plan page, opened at desktop
(1440 px) and phone (390 px) widths and as printed (A4 landscape, print media), with no element wider than the page
and no table or box whose content is wider than the box (cut off or scrolled); the workbook downloaded from the same
page opens (read here with the standard library's zip and XML readers: the project writes xlsx with XlsxWriter and
has no reader) and its Schedule sheet holds the same rows as the schedule CSV; screenshots in
tests/e2e/screenshots/report_*.png."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest

from optexec.baskets.spreadsheet import header
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
#: elements whose content is wider than their own box (a table cut off by its wrapper, a box that scrolls
#: sideways), and the document itself scrolling sideways; tables are listed with their width against the page's
_CONTENT_TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > width + 1) {
    out.push(`document: ${document.documentElement.scrollWidth} > ${width}`);
  }
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    // plotly's own layers are sized by the chart (checked above), and its text-measuring svg sits off screen
    if (el.closest('.js-plotly-plot') || el.closest('#js-plotly-tester')) continue;
    if (box.left < -1) out.push(`${el.tagName}#${el.id}: left ${Math.round(box.left)} < 0`);
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') {
      out.push(`${el.tagName}.${el.className}: content ${el.scrollWidth} > box ${el.clientWidth}`);
    }
    if (el.tagName === 'TABLE' && box.width > width + 1) {
      out.push(`TABLE.${el.className}: ${Math.round(box.width)} > ${width}`);
    }
  }
  return out.slice(0, 10);
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
        buttons = (("html", "Pre-trade report (HTML)"), ("xlsx", "Pre-trade report (Excel)"), ("csv", "Schedule (CSV)"))
        for key, button in buttons:
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
        assert page.evaluate(_CONTENT_TOO_WIDE) == []
        assert page.locator("table").count() >= 3  # the checks above saw the report's tables
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


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _column(reference: str) -> int:
    """ "C12" -> 2 (the zero-based column of a cell reference)."""
    letters = re.match(r"[A-Z]+", reference).group(0)
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def _sheet_rows(book: zipfile.ZipFile, name: str) -> list[list[str | None]]:
    """The cells of sheet ``name`` as text, row by row (shared strings resolved, numbers as written)."""
    names = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
    shared = [
        "".join(t.text or "" for t in item.iter(f"{_MAIN}t"))
        for item in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).iter(f"{_MAIN}si")
    ]
    sheet = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{names.index(name) + 1}.xml"))
    rows = []
    for row in sheet.iter(f"{_MAIN}row"):
        cells: list[str | None] = []
        for cell in row.iter(f"{_MAIN}c"):
            at = _column(cell.get("r"))
            cells += [None] * (at - len(cells))
            value = cell.find(f"{_MAIN}v")
            text = None if value is None else value.text
            cells.append(shared[int(text)] if cell.get("t") == "s" and text is not None else text)
        rows.append(cells)
    return rows


def test_the_workbook_opens_and_its_schedule_sheet_holds_the_csvs_rows(downloads):
    with zipfile.ZipFile(downloads["xlsx"]) as book:
        assert book.testzip() is None  # every member reads back
        rows = _sheet_rows(book, "Schedule")
    head = next(i for i, row in enumerate(rows) if row and row[0] == "strategy")
    sheet = pd.DataFrame([r + [None] * (len(rows[head]) - len(r)) for r in rows[head + 1 :]], columns=rows[head])
    csv = pd.read_csv(io.StringIO(downloads["csv"].read_text()), dtype=str, keep_default_na=False)
    assert len(sheet) == len(csv) > 0
    checked = [column for column in csv.columns if header(column) in sheet.columns]
    for column in ("strategy", "slice", "start_time_local", "end_time_local", "child_order_shares",
                   "shares_left_after"):  # fmt: skip
        assert column in checked
    for column in checked:
        ours, theirs = sheet[header(column)].fillna(""), csv[column]
        numeric = pd.to_numeric(theirs, errors="coerce")
        if numeric.notna().all():
            pd.testing.assert_series_equal(
                pd.to_numeric(ours).rename(None), numeric.rename(None), check_dtype=False, rtol=1e-9
            )
        else:
            assert ours.tolist() == theirs.tolist(), column
