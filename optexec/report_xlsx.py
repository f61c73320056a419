"""The pre-trade report as an Excel workbook (.xlsx, XlsxWriter): the same content as the HTML report
(optexec.report_content) on the sheets Summary, Costs, Schedule, Settings and Market, the unit of every column in
its header (issue 17 item 1). Text is always written as text, never as a formula (optexec.baskets.spreadsheet)."""

from __future__ import annotations

from optexec.baskets.spreadsheet import new_workbook, write_table
from optexec.report_content import ReportContent

#: the summary's sentences, in the order the Summary sheet shows them
_SUMMARY_LINES = ("title", "order_line", "recommendation", "urgency", "market_status")


def report_xlsx(content: ReportContent) -> bytes:
    """The workbook of a report's content: Summary (the order, the ★ recommendation and why, the urgency, the ★
    strategy's cost in bps and $ and its split), Costs (every strategy), Schedule (every slice, clock times, whole
    shares), Settings (those the shown strategies use) and Market (each parameter and its source)."""
    buffer, book, styles = new_workbook()
    summary = book.add_worksheet("Summary")
    summary.set_column(0, 0, 60)
    row = 0
    lines = {
        "title": content.title,
        "order_line": content.order_line,
        "recommendation": f"★ Recommended: {content.recommended or 'none'}. {content.recommendation}",
        "urgency": f"Urgency: {content.urgency}",
        "market_status": f"Market parameters: {content.market_status}",
    }
    for key in _SUMMARY_LINES:
        summary.write_string(row, 0, lines[key], styles["header"] if key == "title" else None)
        row += 1
    generated = f"Generated {content.generated} by optexec; costs positive = money lost."
    summary.write_string(row, 0, generated, styles["note"])
    row += 2
    row = write_table(summary, content.summary, row, styles) + 1
    write_table(summary, content.split, row, styles)
    write_table(book.add_worksheet("Costs"), content.costs, 0, styles)
    schedule = book.add_worksheet("Schedule")
    schedule.write_string(0, 0, content.time_note, styles["note"])
    write_table(schedule, content.schedule, 2, styles)
    write_table(book.add_worksheet("Settings"), content.settings, 0, styles)
    market = book.add_worksheet("Market")
    market.write_string(0, 0, content.market_status, styles["note"])
    write_table(market, content.market, 2, styles)
    for line_row, line in enumerate(content.model_lines, start=len(content.market) + 4):
        market.write_string(line_row, 0, line, styles["note"])
    book.close()
    return buffer.getvalue()
