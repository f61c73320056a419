"""The charts read at a glance: outliers named off scale, full log ticks, same schedules found by their numbers."""

import numpy as np
import pytest

from optexec.models import Order
from optexec.planning import make_plan
from optexec.sensitivity import sweep
from optexec.strategies import registry
from optexec.strategies.almgren_chriss import default_frontier_risk_aversions, efficient_frontier
from optexec.ui import chart_layout as cl
from optexec.ui import charts
from optexec.ui.markets import demo_market

#: a big DEMO order over one day: the immediate block costs about four times the others' (about 2,290 bps)
BIG = Order("DEMO", "sell", 1e6, 1.0, 390, 0.0)


@pytest.fixture(scope="module")
def plan():
    return make_plan(BIG, demo_market(), {})


def _bps(plan, name: str) -> float:
    row = next(row for row in plan.planned if row.strategy.name == name)
    return row.cost.to_bps(row.cost.expected_usd)


def test_off_scale_flags_a_planted_outlier_only():
    levels = np.array([140.0, 150.0, 160.0, 300.0, 48_762.0, np.nan])
    assert cl.off_scale(levels).tolist() == [False, False, False, False, True, False]
    assert not cl.off_scale([1.0, 1e6]).any()  # two values: no median to judge by
    assert not cl.off_scale([0.0, 0.0, 0.0, 5.0]).any()  # a median of 0 says nothing about scale


@pytest.mark.parametrize("low, high", [(1e-8, 1e-4), (100.0, 50_000.0), (120.0, 300.0), (140.0, 150.0),
                                       (6.25e-7, 1e-5), (1e-9, 1e2), (0.01, 0.5)])  # fmt: skip
def test_log_ticks_read_in_full(low, high):
    axis = cl.log_ticks(low, high)
    values, texts = np.array(axis["tickvals"]), axis["ticktext"]
    assert axis["type"] == "log" and 2 <= len(values) <= 7  # few enough to sit side by side on a phone
    assert np.all(np.diff(values) > 0)
    assert np.all(values >= low * 0.999) and np.all(values <= high * 1.001)
    for value, text in zip(values, texts, strict=True):  # every label is the whole number, not its first digit
        assert float(text.replace(",", "")) == pytest.approx(value, rel=5e-3)
    with pytest.raises(ValueError):
        cl.log_ticks(0.0, 1.0)


def test_same_schedules_are_found_by_their_numbers_not_their_names():
    shares = 1000.0
    line = np.linspace(shares, 0.0, 11)
    bent = line.copy()
    bent[5] += 10.0  # 1% of the order apart: a different schedule
    close = line.copy()
    close[5] += 0.5  # 0.05%: the same schedule on the chart
    groups = cl.same_schedule_groups(["a", "b", "c", "a"], [line, bent, close, bent], shares)
    assert groups == [[0, 2], [1, 3]]
    note = cl.same_schedule_note(["A", "B", "C", "D"], groups)
    assert note is not None and "A = C" in note.replace("<br>", " ") and "B = D" in note.replace("<br>", " ")
    assert cl.same_schedule_note(["A", "B"], [[0], [1]]) is None


def test_the_plan_groups_identical_schedules_and_draws_the_later_ones_dashed(plan):
    groups = charts.same_schedules(plan)
    for group in groups:
        first = group[0].schedule.holdings_shares
        for row in group[1:]:
            assert np.max(np.abs(row.schedule.holdings_shares - first)) <= cl.SAME_SCHEDULE_SHARE * BIG.shares
    leaders = [group[0].schedule.holdings_shares for group in groups]
    for i, a in enumerate(leaders):  # different groups are different schedules
        for b in leaders[i + 1 :]:
            assert np.max(np.abs(a - b)) > cl.SAME_SCHEDULE_SHARE * BIG.shares
    figure = charts.schedule_figure(plan, ["holdings"])
    dash = {trace.name: trace.line.dash for trace in figure.data}
    shared = [group for group in groups if len(group) > 1]
    assert shared, "DEMO's AC variants plan the same schedule"
    text = " ".join(a.text for a in figure.layout.annotations).replace("<br>", " ")
    for group in shared:
        assert dash[group[0].strategy.label] == "solid" and dash[group[1].strategy.label] != "solid"
        assert " = ".join(row.strategy.label for row in group) in text
    assert {trace.name for trace in figure.data} == {row.strategy.label for row in plan.planned}


def test_clipped_child_orders_are_marked_and_named(plan):
    figure = charts.schedule_figure(plan, ["trades"], charts.SCREEN_ERROR)
    top = figure.layout.yaxis.range[1]
    colours = charts.strategy_colours()
    arrows = [a for a in figure.layout.annotations if a.showarrow]
    header = next(a.text for a in figure.layout.annotations if a.text.startswith("Child orders"))
    clipped = [row for row in plan.planned if row.schedule.trades_shares.max() > top]
    assert any(row.strategy.name == "immediate" for row in clipped)
    assert sorted(a.arrowcolor for a in arrows) == sorted(colours[row.strategy.name] for row in clipped)
    assert all(a.y == top for a in arrows)
    header = header.replace("<br>", " ")
    for row in clipped:  # each named with its largest child order
        assert f"{row.strategy.label} up to {row.schedule.trades_shares.max():,.0f} shares" in header


def test_the_cost_bars_are_horizontal_and_name_the_off_scale_block(plan):
    figure = charts.cost_breakdown_figure(plan)
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert all(trace.orientation == "h" for trace in bars)
    assert {trace.name for trace in bars} == set(charts.COMPONENT_COLOURS)
    expected = np.sum([np.asarray(trace.x) for trace in bars], axis=0)  # the split adds up to E
    diamonds = next(trace for trace in figure.data if trace.type == "scatter")
    assert np.allclose(expected, diamonds.x)
    immediate = _bps(plan, "immediate")
    top = figure.layout.xaxis.range[1]
    assert top < immediate
    others = [row for row in plan.planned if row.strategy.name != "immediate"]
    assert all(row.cost.to_bps(row.cost.expected_usd + row.cost.std_usd) <= top for row in others)
    notes = [a.text for a in figure.layout.annotations]
    assert notes == [f"Immediate: {immediate:,.0f} bps (off scale) →"]
    assert all(len(line) <= cl.LABEL_WIDTH for label in diamonds.y for line in label.split("<br>"))


def test_the_frontier_keeps_its_scale_and_names_immediate(plan):
    frontier = efficient_frontier(BIG, plan.market, default_frontier_risk_aversions(BIG, plan.market))
    figure = charts.frontier_figure(plan, frontier)
    assert figure.layout.yaxis.type != "log"
    top = figure.layout.yaxis.range[1]
    immediate = _bps(plan, "immediate")
    assert top < immediate
    points = [trace for trace in figure.data if trace.mode == "markers" and "off scale" not in trace.name]
    assert points and all(trace.y[0] <= top for trace in points)
    assert any(f"Immediate: {immediate:,.0f} bps (off scale)" in (a.text or "") for a in figure.layout.annotations)
    names = " ".join(trace.name.replace("<br>", " ") for trace in figure.data)
    assert "Almgren–Chriss = " in names  # the twins are one point named by both


def test_the_sweep_titles_say_what_the_axes_are():
    values = np.geomspace(1e-8, 1e-4, 5)
    result = sweep(BIG, demo_market(), {}, "risk_aversion_per_usd", values, list(registry.STRATEGIES))
    figure = charts.sweep_figure(result, "risk aversion λ (1/$)", log_x=True)
    titles = [a.text for a in figure.layout.annotations]
    assert [t.split("<br>")[0] for t in titles] == ["Expected cost", "Std of cost", "VaR 95%"]
    assert not any("log" in t for t in titles)
    assert all(figure.layout[f"yaxis{s}"].type in (None, "linear", "-") for s in ("", "2", "3"))
    assert figure.layout.xaxis.type == "log" and figure.layout.xaxis.ticktext[0] == "1e-8"
    assert "Immediate" in titles[0] and "off scale" in titles[0]
    assert "Immediate" not in titles[1]  # its std of 0 is not far from the others
    top = figure.layout.yaxis.range[1]
    assert top < np.nanmin(1e4 * result.expected_usd["immediate"] / result.notional_usd)
    linear = charts.sweep_figure(result, "risk aversion λ (1/$)", log_x=False)
    assert linear.layout.xaxis.type is None and linear.layout.xaxis.tickvals is None
