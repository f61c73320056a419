"""Exports of a plan: the schedule as CSV and the pre-trade report as one self-contained HTML file (issue 17).

The report is a document a PM sends (optexec.report_content says what it holds): a one-page summary first, then the
costs of every strategy, the settings the shown strategies use, the market parameters and where they come from, the
schedule in whole shares at exchange-local clock times, and charts. It prints on A4 or Letter landscape with
nothing cut off (the page is at most ``PAGE_WIDTH_PX`` wide, tables wrap and split between pages, charts are drawn
at the page's width) and reads on a phone (tables become one card per row). The chart library, plotly.js, is in
the file once, gzip-compressed and unpacked by the browser (``DecompressionStream``), so the file opens offline
and weighs about 2 MB instead of 5; the report states its own size.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gzip
import html
import json
import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from optexec.planning import Plan
from optexec.report_content import PlanNotes, ReportContent, labelled_schedule, plan_notes, report_content

__all__ = ["PlanNotes", "plan_notes", "report_html", "schedule_csv", "spreadsheet_cell", "spreadsheet_safe"]

#: a spreadsheet reads a cell that starts with one of these as a formula (or, for tab and CR, skips to one)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A text cell a spreadsheet will show as text: one starting with = + - @ tab or CR gets a leading apostrophe
    (the OWASP CSV-injection rule); numbers and other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are ``spreadsheet_cell``-safe (numbers untouched)."""
    safe = frame.rename(columns=spreadsheet_cell)
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(spreadsheet_cell)
    return safe


def table_csv(frame: pd.DataFrame) -> str:
    """A table as CSV text for a spreadsheet (``spreadsheet_safe``)."""
    return spreadsheet_safe(frame).to_csv(index=False, float_format="%.10g")


#: characters a spreadsheet of some locale may split a cell on, written as escapes in the symbol's cell so that no
#: part of a symbol such as ``A;=1+1`` becomes a cell of its own (and a formula)
_SPLITTERS = {",": "\\x2c", ";": "\\x3b", "\t": "\\t", '"': "\\x22", "\r": "\\r", "\n": "\\n", "\\": "\\\\"}


def schedule_frame(plan: Plan) -> pd.DataFrame:
    """Every shown strategy's schedule, one row per strategy and slice (``report_content.labelled_schedule``):
    the order's symbol (separators as escapes, ``\\x2c`` for a comma ...) and side, strategy labels, exchange-local
    clock times and their zone (when the order has a clock), trading days, whole shares, participation in %."""
    table, _ = labelled_schedule(plan)
    if table.empty:
        return table
    table.insert(0, "symbol", "".join(_SPLITTERS.get(char, char) for char in plan.order.symbol))
    table.insert(1, "side", plan.order.side)
    if plan.clock is not None and "start_time_local" in table:
        table.insert(table.columns.get_loc("end_time_local") + 1, "time_zone", plan.clock.time_zone)
    return table


def schedule_csv(plan: Plan) -> str:
    """The schedule as CSV text: one header row, the unit of every column in its name, clock times, whole shares
    (``schedule_frame``); no cell a spreadsheet would read as a formula (``spreadsheet_safe``)."""
    return table_csv(schedule_frame(plan))


#: the report's width on screen and on paper: A4 landscape (277 mm inside 10 mm margins) and Letter landscape
#: (259 mm) both hold 960 CSS px (96 px an inch), so what fits the screen fits the page
PAGE_WIDTH_PX = 960

#: the style of every HTML report: a document at most PAGE_WIDTH_PX wide, tables that wrap and split across pages,
#: a warning box (``.warn``), and on a phone (or any screen under 640 px) tables of class ``cards`` become one card
#: per row with each cell's column name beside it
REPORT_CSS = f"""
@page {{ size: landscape; margin: 10mm; }}
* {{ box-sizing: border-box; }}
body {{ font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 1.5rem auto;
       max-width: {PAGE_WIDTH_PX}px; padding: 0 1rem; color: #1d2733; line-height: 1.35; }}
h1 {{ font-size: 1.6rem; margin: 0 0 0.3rem; }}
h2 {{ font-size: 1.2rem; margin: 1.4rem 0 0.4rem; border-bottom: 2px solid #1d2733; }}
p, li {{ overflow-wrap: anywhere; }}
table {{ border-collapse: collapse; margin: 0.4rem 0 1rem; width: 100%; font-size: 0.85rem; }}
th, td {{ padding: 3px 6px; text-align: right; border-bottom: 1px solid #dde3ea; vertical-align: top; }}
th {{ background: #f1f4f7; font-weight: 600; }}
th:first-child, td:first-child, td.text, th.text {{ text-align: left; }}
td.num {{ white-space: nowrap; font-variant-numeric: tabular-nums; }}
tr {{ break-inside: avoid; }}
thead {{ display: table-header-group; }}
.muted {{ color: #5b6673; font-size: 0.85rem; }}
.warn {{ background: #fff4e5; border-left: 4px solid #e8a33d; padding: 0.4rem 0.8rem; }}
.star {{ background: #eef6ee; border-left: 4px solid #2e7d32; padding: 0.5rem 0.8rem; margin: 0.6rem 0; }}
.star .pick {{ font-size: 1.15rem; font-weight: 700; }}
.two {{ display: flex; gap: 1.5rem; flex-wrap: wrap; }}
.two > div {{ flex: 1 1 20rem; min-width: 0; }}
.chart {{ width: 100%; min-height: 200px; break-inside: avoid; }}
.summary-page {{ break-after: page; }}
section {{ break-inside: auto; }}
@media print {{
  body {{ margin: 0 auto; padding: 0; font-size: 10pt; }}
  table {{ font-size: 8.5pt; }}
  a {{ color: inherit; }}
}}
@media screen and (max-width: 640px) {{
  body {{ margin: 0.5rem auto; padding: 0 0.6rem; font-size: 0.95rem; }}
  h1 {{ font-size: 1.3rem; }}
  table.cards, table.cards tbody, table.cards tr, table.cards td {{ display: block; width: 100%; }}
  table.cards thead {{ display: none; }}
  table.cards tr {{ border: 1px solid #dde3ea; border-radius: 6px; margin-bottom: 0.5rem; padding: 0.2rem 0.4rem; }}
  table.cards td {{ border: none; text-align: right; padding: 2px 0; white-space: normal; }}
  table.cards td::before {{ content: attr(data-label); float: left; text-align: left; color: #5b6673;
                            padding-right: 0.6rem; max-width: 60%; }}
  table.cards td:first-child {{ font-weight: 600; text-align: left; }}
  table.cards td:first-child::before {{ content: none; }}
}}
"""


def html_page(title: str, body: str) -> str:
    """A self-contained HTML report page: ``title`` (escaped here) in the head, ``body`` as it is (HTML the caller
    escaped), the shared ``REPORT_CSS``, and a viewport for phones."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{REPORT_CSS}</style></head><body>
{body}</body></html>
"""


def _cell(value: object, money: bool, bps: bool) -> tuple[str, str]:
    """(text, class) of one cell: $ whole, bps one decimal, percent one decimal, text escaped."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return "not finite", "num"
        if money:
            return (f"${value:,.0f}" if value >= 0 else f"−${-value:,.0f}"), "num"
        if bps:
            return f"{value:,.1f}".replace("-", "−"), "num"
        return f"{value:,.1f}".replace("-", "−"), "num"
    return html.escape(str(value)), "text"


def table_html(frame: pd.DataFrame, headers: dict[str, str] | None = None, cards: bool = True) -> str:
    """A frame as an HTML table with plain headers (``headers``, else the column name): money columns (``_usd``)
    in whole dollars, bps with one decimal, text escaped; each cell carries its header for the phone's cards."""
    headers = headers or {}
    names = [headers.get(str(c), str(c)) for c in frame.columns]
    text_columns = {c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])}
    head = "".join(f'<th class="{"text" if c in text_columns else "num"}">{html.escape(n)}</th>'
                   for c, n in zip(frame.columns, names, strict=True))  # fmt: skip
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for column, name, value in zip(frame.columns, names, values, strict=True):
            text, kind = _cell(value, str(column).endswith("_usd"), str(column).endswith("_bps"))
            cells.append(f'<td class="{kind}" data-label="{html.escape(name)}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    kind = ' class="cards"' if cards else ""
    return f"<table{kind}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


@functools.cache
def plotly_bundle() -> str:
    """plotly.js (the installed plotly's minified bundle), gzip-compressed and base64-encoded, computed once."""
    source = Path(pio.__file__).resolve().parent.parent / "package_data" / "plotly.min.js"
    return base64.b64encode(gzip.compress(source.read_bytes(), 9, mtime=0)).decode("ascii")


#: unpacks plotly.js once and draws every chart at its box's width; charts are redrawn at the page's width for print
_CHART_SCRIPT = """<script>
(async () => {
  const say = (text) => document.querySelectorAll('.chart').forEach((el) => { el.textContent = text; });
  if (!('DecompressionStream' in window)) { say('The charts need a browser from 2023 or later.'); return; }
  const raw = Uint8Array.from(atob(document.getElementById('plotly-js').textContent.trim()), (c) => c.charCodeAt(0));
  const code = await new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
  const script = document.createElement('script');
  script.textContent = code;
  document.head.appendChild(script);
  const charts = JSON.parse(document.getElementById('chart-data').textContent);
  for (const chart of charts) {
    await Plotly.newPlot(chart.id, chart.figure.data, chart.figure.layout, {responsive: true, displaylogo: false});
  }
  const resize = () => charts.forEach((chart) => Plotly.Plots.resize(chart.id));
  window.addEventListener('beforeprint', resize);
  window.matchMedia('print').addEventListener('change', resize);
  document.body.dataset.charts = 'drawn';
})();
</script>"""


def charts_html(figures: list[go.Figure]) -> str:
    """The charts' boxes and the script that draws them (plotly.js once, compressed: ``plotly_bundle``)."""
    if not figures:
        return ""
    charts = []
    boxes = []
    for i, figure in enumerate(figures):
        layout = figure.to_plotly_json().get("layout", {})
        spec = json.loads(pio.to_json(figure, validate=False, engine="json"))
        spec["layout"].pop("width", None)
        spec["layout"]["autosize"] = True
        charts.append({"id": f"chart-{i}", "figure": spec})
        height = int(layout.get("height") or 450)
        boxes.append(f'<div class="chart" id="chart-{i}" style="height:{height}px"></div>')
    data = json.dumps(charts, separators=(",", ":")).replace("</", "<\\/")
    return (
        "".join(boxes)
        + '<noscript><p class="muted">The charts need JavaScript.</p></noscript>'
        + f'<script type="application/json" id="chart-data">{data}</script>'
        + f'<script type="application/octet-stream" id="plotly-js">{plotly_bundle()}</script>'
        + _CHART_SCRIPT
    )


COST_HEADERS = {
    "recommended": "★", "strategy": "Strategy", "expected_cost_bps": "Expected (bps)",
    "expected_cost_usd": "Expected ($)", "std_cost_bps": "Std (bps)", "std_cost_usd": "Std ($)",
    "var95_bps": "VaR95 (bps)", "var95_usd": "VaR95 ($)", "spread_usd": "Spread ($)",
    "temporary_usd": "Temporary impact ($)", "permanent_usd": "Permanent impact ($)",
    "transient_usd": "Transient impact ($)", "drift_usd": "Drift ($)",
    "max_participation_pct": "Peak participation (%)",
    "measure": "", "cost_bps": "bps of the notional", "cost_usd": "$", "component": "Component",
    "share_of_expected_pct": "Share of the expected cost (%)", "setting": "Setting", "value": "Value",
    "used_by": "Used by", "parameter": "Parameter", "unit": "Unit", "std_error": "Std error", "source": "Source",
}  # fmt: skip


def _list(items) -> str:
    return "".join(f"<li>{html.escape(item)}</li>" for item in items)


def _size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


def report_body(content: ReportContent, figures: list[go.Figure]) -> str:
    """The report's body (``report_html``): the summary page, then the details."""
    costs = content.costs
    if not costs.empty:
        zero = [c for c in ("transient_usd", "drift_usd") if (costs[c] == 0).all()]
        costs = costs.drop(columns=zero)
    bps_columns = ["recommended", "strategy", "expected_cost_bps", "std_cost_bps", "var95_bps",
                   "max_participation_pct"]  # fmt: skip
    usd_columns = ["recommended", "strategy", "expected_cost_usd", "std_cost_usd", "var95_usd"]
    split_columns = ["recommended", "strategy", *[c for c in costs.columns if c in
                                                  ("spread_usd", "temporary_usd", "permanent_usd", "transient_usd",
                                                   "drift_usd")]]  # fmt: skip
    tables = [table_html(costs[c], COST_HEADERS) if not costs.empty else "" for c in
              (bps_columns, usd_columns, split_columns)]  # fmt: skip
    notes = f'<div class="warn"><ul>{_list(content.notes)}</ul></div>' if content.notes else ""
    outside = (f"<div class=\"warn\"><b>Outside the model's range</b><ul>{_list(content.order_warnings)}</ul></div>"
               if content.order_warnings else "")  # fmt: skip
    count = (f'<p class="warn">{len(content.notes)} warning(s) and note(s) on this plan: listed after the cost '
             "tables.</p>" if content.notes else "")  # fmt: skip
    pick = (f'<p class="pick">★ Recommended: {html.escape(content.recommended)}</p>' if content.recommended
            else '<p class="pick">No recommendation: no strategy could plan this order.</p>')  # fmt: skip
    link = (f'<p class="muted">The same plan, live: <a href="{html.escape(content.link)}">'
            f"{html.escape(content.link)}</a></p>" if content.link else "")  # fmt: skip
    summary = table_html(content.summary, COST_HEADERS, cards=False) if not content.summary.empty else ""
    split = table_html(content.split, COST_HEADERS, cards=False) if not content.split.empty else ""
    points = table_html(content.schedule_points, {"strategy": "Strategy"}) if not content.schedule_points.empty else ""
    return f"""<div class="summary-page">
<h1>{html.escape(content.title)}</h1>
<p class="muted">Generated {content.generated} by optexec · SIZE_PLACEHOLDER. Costs are positive when they lose
money; bps of the arrival notional.</p>
<p>{html.escape(content.order_line)}</p>
{outside}
<div class="star">{pick}<p>{html.escape(content.recommendation)}</p>
<p><b>Urgency:</b> {html.escape(content.urgency)}</p></div>
<div class="two"><div><h2>Cost of the recommended strategy</h2>{summary}</div>
<div><h2>Where the expected cost comes from</h2>{split}</div></div>
{count}
<p class="muted">{html.escape(content.market_status)} {html.escape(content.model_lines[0])}</p>
{link}
</div>
<section><h2>Every strategy: cost and risk in bps</h2>{tables[0]}
<h2>Every strategy: cost and risk in $</h2>{tables[1]}
<h2>Every strategy: the expected cost split ($)</h2>{tables[2]}
<p class="muted">VaR95 = expected cost + 1.645 × standard deviation. Peak participation: the largest child order
as a share of its slice's expected market volume.</p></section>
{f"<section><h2>Warnings and notes</h2>{notes}</section>" if notes else ""}
<section><h2>Settings the strategies use</h2>{table_html(content.settings, COST_HEADERS)}</section>
<section><h2>Market parameters</h2><p><b>{html.escape(content.market_status)}</b></p>
{table_html(content.market, COST_HEADERS)}<ul class="muted">{_list(content.model_lines)}</ul></section>
<section><h2>Schedule: shares left to trade</h2><p class="muted">{html.escape(content.time_note)} Every slice of
every strategy is in the spreadsheet and the CSV of this plan.</p>{points}</section>
<section><h2>Charts</h2>{charts_html(figures)}</section>
"""


def report_html(
    plan: Plan, figures: list[go.Figure], calibration_note: str, generated: dt.datetime, link: str | None = None
) -> str:
    """The pre-trade report (module docstring) of ``plan`` with ``figures``; ``calibration_note`` says where the
    parameters come from (the calibration run, overrides typed over it), ``link`` is the app's link to the plan.
    The file names its own size."""
    content = report_content(plan, calibration_note, generated, link)
    page = html_page(content.title, report_body(content, figures))
    extra = " (most of it the chart library, once, compressed)" if figures else ""
    size = len(page.encode()) - len("SIZE_PLACEHOLDER") + len(f"this file 0.0 MB{extra}")
    return page.replace("SIZE_PLACEHOLDER", f"this file {_size_text(size)}{extra}")
