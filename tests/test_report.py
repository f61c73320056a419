"""Exports: the schedule CSV and the self-contained HTML pre-trade report."""

import dataclasses
import datetime as dt
import io
import re
from html import unescape

import pandas as pd
import pytest

from optexec.planning import make_plan
from optexec.report import report_html, schedule_csv
from optexec.ui.charts import schedule_figure


@pytest.fixture
def plan(table1_order, table1_market):
    return make_plan(table1_order, table1_market, {"risk_aversion_per_usd": 1e-6}, ["twap", "ac_discrete"])


def test_schedule_csv_has_one_header_row_whole_shares_and_units(plan):
    text = schedule_csv(plan)
    assert text.splitlines()[0].startswith("symbol,side,strategy,slice,start_days,end_days,child_order_shares,")
    assert "#" not in text and "participation_pct" in text.splitlines()[0]
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.groupby("strategy").size()) == [5, 5]
    ac = frame[frame["strategy"] == "Almgren–Chriss"]
    # MATH.md §9 T4 child orders (458044.45, 252101.33, ...) in whole shares: the cumulative rounded
    assert ac["child_order_shares"].tolist() == [458044, 252102, 141957, 85755, 62142]
    assert (frame.groupby("strategy")["child_order_shares"].sum() == 1_000_000).all()
    assert ac["shares_left_after"].iloc[-1] == 0


def test_schedule_csv_has_exchange_clock_times_with_a_clock(plan):
    from optexec.clock import OrderClock

    days = tuple(dt.date(2026, 3, d) for d in (2, 3, 4, 5, 6, 9))
    clocked = dataclasses.replace(plan, clock=OrderClock("America/New_York", days, (570,) * 6, 100, "test"))
    frame = pd.read_csv(io.StringIO(schedule_csv(clocked)))
    twap = frame[frame["strategy"] == "TWAP"]
    assert twap["start_time_local"].iloc[0] == "2026-03-02 09:30"
    assert twap["end_time_local"].tolist()[:2] == ["2026-03-02 16:00", "2026-03-03 16:00"]
    assert twap["end_time_local"].iloc[-1] == "2026-03-06 16:00" and set(frame["time_zone"]) == {"America/New_York"}
    assert (twap["child_order_shares"] % 100 == 0).all() and twap["child_order_shares"].sum() == 1_000_000


def test_schedule_clock_times_carry_seconds_when_slices_are_shorter_than_a_minute(table1_market):
    """390 slices over 3 hours is one child order every 27.7 s: to the minute the first read "09:30 to 09:30"."""
    from optexec.clock import OrderClock
    from optexec.models import Order

    order = Order("DEMO", "sell", 390_000, 3 / 6.5, 390)
    plan = make_plan(order, table1_market, {}, ["twap"])
    clocked = dataclasses.replace(plan, clock=OrderClock("America/New_York", (dt.date(2026, 3, 2),), (570,), 100, "t"))
    frame = pd.read_csv(io.StringIO(schedule_csv(clocked)))
    assert frame["start_time_local"].tolist()[:3] == ["2026-03-02 09:30:00", "2026-03-02 09:30:27",
                                                      "2026-03-02 09:30:55"]  # fmt: skip
    assert (frame["start_time_local"] != frame["end_time_local"]).all()
    assert frame["end_time_local"].iloc[-1] == "2026-03-02 12:30:00"


def _text(html: str) -> str:
    body = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_report_is_self_contained_and_complete(plan):
    html = report_html(plan, [schedule_figure(plan)], "Parameters: test source", dt.datetime(2026, 1, 2, 3, 4))
    text = _text(html)
    assert "Pre-trade report: sell 1,000,000 DEMO" in html
    assert "Parameters: test source" in text and "Generated 2026-01-02 03:04 UTC" in text
    assert "$911,227" in text  # the AC expected cost of MATH.md section 9 T4
    assert "541,956" in text  # the AC holdings after day 1 (whole shares), in the schedule table
    assert html.count('id="plotly-js"') == 1 and not re.search(r"<script[^>]+src=", html)  # nothing fetched
    size = int(re.search(r"this file (\d+\.\d) MB", text).group(1).replace(".", "")) * 1e5
    assert abs(size - len(html.encode())) <= 0.06e6 and len(html.encode()) < 3e6  # the size it says, not 5 MB


def test_report_summary_first_with_the_recommendation_and_units(table1_order, table1_market):
    from optexec.planning import best_row

    plan = make_plan(table1_order, table1_market, {"risk_aversion_per_usd": 1e-6})
    html = report_html(plan, [], "Parameters: test", dt.datetime(2026, 1, 2))
    summary = _text(html.split("<section>")[0])
    best = best_row(plan)
    cost = best.cost
    assert f"★ Recommended: {best.strategy.label}" in summary
    assert "Urgency:" in summary and "λ = 1e-06 per $" in summary and "of the horizon" in summary
    for usd in (cost.expected_usd, cost.std_usd, cost.var_usd(0.95)):  # bps and $ of E, std and VaR95
        assert f"${usd:,.0f}" in summary and f"{cost.to_bps(usd):,.1f}" in summary
    assert "Temporary impact" in summary and "Half the bid–ask spread" in summary  # the cost split
    text = _text(html)
    assert not re.search(r"\b(True|False|None)\b", text)  # no raw values
    assert not re.search(r"[A-Za-z]+ page\b", text)  # no references to the app's pages
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)  # no raw names


def test_report_settings_are_only_those_of_the_shown_strategies(table1_order, table1_market):
    from optexec.strategies import registry

    plan = make_plan(table1_order, table1_market, {"risk_aversion_per_usd": 1e-6}, ["twap", "limit_ladder"])
    text = _text(report_html(plan, [], "Parameters: test", dt.datetime(2026, 1, 2)))
    section = text.split("Settings the strategies use")[1].split("Market parameters")[0]
    for name, setting in registry.SETTINGS.items():
        used = bool({"twap", "limit_ladder"} & set(setting.strategies))
        assert (setting.spec.label in section) == used, name
    assert "Ladder cross unfilled yes" in section and "TWAP randomisation 0% TWAP" in section


def test_report_xlsx_has_the_sheets_and_the_numbers(table1_order, table1_market):
    import zipfile

    from optexec.report_content import report_content
    from optexec.report_xlsx import report_xlsx

    plan = make_plan(table1_order, table1_market, {"risk_aversion_per_usd": 1e-6}, ["twap", "ac_discrete"])
    data = report_xlsx(report_content(plan, "Parameters: test", dt.datetime(2026, 1, 2)))
    with zipfile.ZipFile(io.BytesIO(data)) as book:  # openpyxl is not installed: read the workbook's XML
        names = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
        strings = unescape(book.read("xl/sharedStrings.xml").decode())
        schedule = book.read("xl/worksheets/sheet3.xml").decode()
    assert names == ["Summary", "Costs", "Schedule", "Settings", "Market"]
    assert "★ Recommended: Almgren–Chriss." in strings and "child order shares (shares)" not in strings
    assert "Not calibrated" in strings or "Calibrated" in strings
    numbers = [float(v) for v in re.findall(r"<v>([^<]+)</v>", schedule)]
    for shares in (458044, 252102, 141957, 85755, 62142):  # AC's whole-share child orders (MATH.md §9 T4)
        assert float(shares) in numbers


def test_report_names_the_parameters_source_its_overrides_and_the_link(plan):
    note = "Parameters: calibration of DEMO run 2026-01-02 03:04:05 UTC. Overrides typed in the ticket: price $60.00."
    link = "http://localhost:8501/?symbol=DEMO&price.DEMO=60&cal=2026-01-02T03:04:05"
    html = report_html(plan, [], note, dt.datetime(2026, 1, 2, 3, 4), link)
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Overrides typed in the ticket: price $60.00." in text
    assert f'href="{link.replace("&", "&amp;")}"' in html
    assert "The same plan in the app" not in report_html(plan, [], note, dt.datetime(2026, 1, 2, 3, 4))


def test_the_report_shows_the_plans_warnings_and_a_caution(table1_market):
    """Issue 14 item 6 in the report: an order of 100x ADV names the order's warning on top, the recommendation as
    a caution, and each schedule warning once with the strategies that have it."""
    from optexec.models import Order

    order = Order("DEMO", "sell", 100 * table1_market.adv_shares, 0.2, 20)
    plan = make_plan(order, table1_market, {"risk_aversion_per_usd": 1e-6}, ["twap", "ac_discrete", "vwap"])
    html = report_html(plan, [], "Parameters: test source", dt.datetime(2026, 1, 2, 3, 4))
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    assert "Outside the model's range" in text and "10000% of the average daily volume" in text
    assert "Caution: this plan is outside the model's range" in text
    items = re.findall(r"<li>([^<]*)</li>", html.split("<h2>Warnings and notes</h2>")[1].split("</section>")[0])
    texts = [item.split(": ", 1)[1] for item in items]
    assert items and len(texts) == len(set(texts))  # each warning once


@pytest.mark.parametrize("model", ["linear", "linear+transient", "calibrated"])
def test_the_report_states_the_model_and_its_parameters_in_plain_words(table1_order, table1_market, model):
    """The cost model section names the model, why it was chosen, its components and every parameter it uses with
    its value and source; the cost table is priced under it and shows each strategy's max participation."""
    import dataclasses

    from optexec.model_card import model_parameters

    market = dataclasses.replace(table1_market, cost_model=model)
    plan = make_plan(table1_order, market, {"risk_aversion_per_usd": 1e-6}, ["twap", "immediate"],
                     model_reason=f"{model}: chosen on the ticket")  # fmt: skip
    html = report_html(plan, [], "Parameters: test", dt.datetime(2026, 1, 2))
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert f"Why this model: {model}: chosen on the ticket." in text
    assert f"({model}: spread + " in text
    market_section = text.split("Market parameters")[-1]
    for parameter in model_parameters(market):
        assert f"{parameter.words[:1].upper()}{parameter.words[1:]} {parameter.value:.6g}" in market_section
        assert parameter.source in market_section
    assert ("± 0.038" in market_section) == (model == "calibrated")  # the ATHL exponent's standard error
    assert "Not calibrated" in text
    assert "Peak participation (%)" in text and "20.0" in text  # Immediate: the order against one day's volume


def test_the_report_says_calibrated_for_a_calibrated_market(tmp_path):
    """A plan on a symbol with an accepted calibration: the report's market section says which run (it said "Not
    calibrated: the values below were given by hand" once the calibration's words changed)."""
    import optexec
    from optexec.calibration import run
    from optexec.models import Order
    from optexec.report_content import market_frame
    from optexec.store import db
    from optexec.store.sample import build_sample_database

    path = build_sample_database(tmp_path / "cal.duckdb")
    with db.writing(path) as con:
        saved = run.save(con, run.calibrate(con, "SYN-MID"), accept=True)
    plan = optexec.plan(Order("SYN-MID", "buy", 100_000, 0.5, 13), db=path)
    status, frame = market_frame(plan)
    run_text = f"calibration of SYN-MID run {saved.run_ts:%Y-%m-%d %H:%M:%S} UTC on data from "
    assert status.startswith(f"Calibrated: {run_text}")
    assert status.count("calibration of") == 1  # one run, named once (each parameter's own method is in the table)
    planted, _ = market_frame(optexec.plan(Order("SYN-LARGE", "buy", 100_000, 0.5, 13), db=path))
    assert planted == "Not calibrated: planted values of the bundled synthetic sample."
