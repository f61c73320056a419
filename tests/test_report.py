"""Exports: the schedule CSV and the self-contained HTML pre-trade report."""

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


def test_schedule_csv_holds_every_slice_of_every_strategy(plan):
    text = schedule_csv(plan)
    assert text.startswith("# optexec schedule: sell 1000000 DEMO, horizon 5 days, 5 slices")
    frame = pd.read_csv(io.StringIO(text), comment="#")
    assert list(frame.groupby("strategy").size()) == [5, 5]
    ac = frame[frame["strategy"] == "ac_discrete"]
    assert ac["child_order_shares"].tolist() == pytest.approx([458044.45, 252101.33, 141956.73, 85755.69, 62141.80],
                                                               abs=0.0051)  # docs/MATH.md §9 T4  # fmt: skip
    assert ac["shares_left_after"].iloc[-1] == 0


def test_report_is_self_contained_and_complete(plan):
    html = report_html(plan, [schedule_figure(plan)], "Parameters: test source", dt.datetime(2026, 1, 2, 3, 4))
    text = re.sub(r"<[^>]+>", " ", html)
    assert "Pre-trade report: sell 1,000,000 DEMO" in html
    assert "Parameters: test source" in text and "Generated 2026-01-02 03:04 UTC" in text
    assert "911,227.0" in text  # the AC expected cost of docs/MATH.md section 9 T4, in the cost table
    assert "541,956" in text  # the AC holdings after day 1, in the schedule table
    assert "Plotly" in html and not re.search(r"<script[^>]+src=", html)  # plotly.js inlined, nothing fetched


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
    items = re.findall(r"<li>([^<]*)</li>", html.split("Warnings and notes")[1])
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
    assert "Cost model" in text and f"Why this model: {model}: chosen on the ticket." in text
    assert f"every strategy priced under {model}: spread + " in text
    for parameter in model_parameters(market):
        assert f"{parameter.words[:1].upper()}{parameter.words[1:]}: {parameter.value:.6g}" in text
        assert parameter.source in text
    assert ("power-law temporary impact exponent p: 0.6 ± 0.038" in text.lower()) == (model == "calibrated")
    assert "linear temporary impact η" in text.lower()  # calibrated too: η sets the book (κ = ρη) blocks sweep
    assert "Max participation" in text and "20.0%" in text  # Immediate: the order against one day's volume
