"""The basket as an Excel workbook (.xlsx, XlsxWriter): sheets Orders, Strategies, Roll-ups (by side, by liquidity
bucket, by group) and Warnings (the orders above the participation limit first), the unit of every column in its
header (issue 15 item 6).

Text is always written as a text cell, never as a formula; text starting with = + - @ tab or CR (a formula to a
spreadsheet, optexec.report.FORMULA_STARTS) is written with Excel's quote prefix too, so that editing the cell does
not turn it into one either.
"""

from __future__ import annotations

import io
import math
import numbers

import pandas as pd
import xlsxwriter

from optexec.baskets.plan import BasketPlan
from optexec.report import FORMULA_STARTS

#: the unit each column's name ends with, as a header shows it
_SUFFIXES = (("_usd_uncorrelated", "$, without the correlation"), ("_usd", "$"), ("_bps", "bps"),
             ("_days", "trading days"))  # fmt: skip
#: columns whose unit is not in a suffix
_UNITS = {
    "shares": "shares",
    "pct_adv": "% of ADV",
    "max_participation": "fraction of the market's volume",
    "risk_share": "fraction of the std",
    "cost_share": "fraction of the cost",
    "orders": "count",
    "orders_over_participation_limit": "count",
}


def header(column: str) -> str:
    """A column name as a header with its unit: ``expected_cost_usd`` -> ``expected cost ($)``."""
    for suffix, unit in _SUFFIXES:
        if column.endswith(suffix):
            return f"{column[: -len(suffix)].replace('_', ' ')} ({unit})"
    if column in _UNITS:
        return f"{column.replace('_', ' ')} ({_UNITS[column]})"
    return column.replace("_", " ")


def write_table(sheet, frame: pd.DataFrame, first_row: int, styles: dict) -> int:
    """Write a header row and the rows of ``frame`` from ``first_row``; the next free row."""
    for col, name in enumerate(frame.columns):
        sheet.write_string(first_row, col, header(str(name)), styles["header"])
        sheet.set_column(col, col, max(12, min(40, len(header(str(name))) + 2)))
    for row, values in enumerate(frame.itertuples(index=False), start=first_row + 1):
        for col, value in enumerate(values):
            if value is None or (isinstance(value, float) and not math.isfinite(value)) or value is pd.NA:
                sheet.write_blank(row, col, None)
            elif isinstance(value, bool):
                sheet.write_boolean(row, col, value)
            elif isinstance(value, numbers.Real):
                sheet.write_number(row, col, float(value))
            else:
                text = str(value)
                sheet.write_string(row, col, text, styles["quoted"] if text.startswith(FORMULA_STARTS) else None)
    return first_row + len(frame) + 1


def new_workbook() -> tuple[io.BytesIO, xlsxwriter.Workbook, dict]:
    """An in-memory workbook that writes every text as text (no formulas, links or numbers read from strings), with
    the header, quoted-text and note styles ``write_table`` and the notes use."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False, "nan_inf_to_errors": False})  # fmt: skip
    styles = {"header": book.add_format({"bold": True, "text_wrap": True}), "quoted": book.add_format(),
              "note": book.add_format({"italic": True, "font_color": "#5b6673"})}  # fmt: skip
    styles["quoted"].set_quote_prefix()
    return buffer, book, styles


def basket_xlsx(plan: BasketPlan, basket_id: str | None = None) -> bytes:
    """The workbook of a priced basket under its shown strategy: Orders, Strategies, Roll-ups (by side, by
    liquidity bucket and, with a grouping column, by group) and Warnings; ``basket_id`` in a note on the Orders
    sheet, which also names how many orders go above the participation limit."""
    name = plan.shown
    buffer, book, styles = new_workbook()
    orders = book.add_worksheet("Orders")
    note = f"Orders under {plan.strategy(name).label}; costs positive = money lost."
    if basket_id:
        note += f" Basket id {basket_id} (the Basket page opens it with ?basket={basket_id} once it is shared)."
    table = plan.order_table(name)
    over = int((~table["within_participation_limit"]).sum())
    if over:
        note += (f" {over} order(s) go above the {plan.max_participation:.0%} participation limit (not capped): see "
                 "the Warnings sheet.")  # fmt: skip
    orders.write_string(0, 0, note, styles["note"])
    write_table(orders, table, 2, styles)
    strategies = plan.strategy_table()
    if strategies["error"].isna().all():
        strategies = strategies.drop(columns=["error"])
    write_table(book.add_worksheet("Strategies"), strategies, 0, styles)
    rollups = book.add_worksheet("Roll-ups")
    row = 0
    for by, title in (("side", "By side"), ("liquidity", "By liquidity bucket (% of ADV)"), ("group", "By group")):
        if by == "group" and not plan.group_column:
            continue
        label = title if by != "group" else f"By group ({plan.group_column})"
        rollups.write_string(row, 0, label, styles["header"])
        row = write_table(rollups, plan.rollup(by, name), row + 1, styles) + 1
    participation = plan.participation_warnings
    rest = [w for w in plan.warnings if w not in participation]
    notes = pd.DataFrame({"kind": ["participation"] * len(participation) + ["other"] * len(rest),
                          "warning": [*participation, *rest]})  # fmt: skip
    sheet = book.add_worksheet("Warnings")
    write_table(sheet, notes, 0, styles)
    sheet.set_column(1, 1, 120)
    book.close()
    return buffer.getvalue()
