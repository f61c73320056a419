"""The Plan page's helpers (optexec.ui.plan_view, optexec.ui.charts): background planning of the risk-aversion slider's
neighbouring notches, the cost table's columns, the schedule chart's vertices and what a slider move sends."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from optexec.models import Order
from optexec.ui import charts, plan_view
from optexec.ui.markets import demo_market


@pytest.fixture
def planned(monkeypatch) -> list[float]:
    """The risk aversions the prefetcher plans (cost_frame replaced by a recorder)."""
    seen: list[float] = []
    record = lambda order, market, items: seen.append(dict(items)["risk_aversion_per_usd"])  # noqa: E731
    monkeypatch.setattr(plan_view, "cost_frame", record)
    monkeypatch.setattr(plan_view, "_recent_sessions", {})  # no other desk on the server (pages run before)
    return seen


ORDER = Order("DEMO", "sell", 250_000, 1.0, 390, 0.0)
PAGES = Path(__file__).resolve().parents[1] / "pages"


def test_the_two_neighbouring_notches_are_planned(planned, monkeypatch):
    monkeypatch.setattr(plan_view, "PREFETCH_DELAY_S", 0.0)
    futures = plan_view.prefetch_neighbouring_risk_aversions(ORDER, demo_market(), {"risk_aversion_per_usd": 1e-6})
    assert [future.result(timeout=30) for future in futures] == [True, True]
    assert planned == [2e-6, 5e-7]


def test_a_newer_request_drops_the_waiting_ones(planned, monkeypatch):
    monkeypatch.setattr(plan_view, "PREFETCH_DELAY_S", 0.3)
    older = plan_view.prefetch_neighbouring_risk_aversions(ORDER, demo_market(), {"risk_aversion_per_usd": 1e-6})
    newer = plan_view.prefetch_neighbouring_risk_aversions(ORDER, demo_market(), {"risk_aversion_per_usd": 1e-3})
    assert [future.result(timeout=30) for future in older + newer] == [False, False, True]
    assert planned == [5e-4]  # 1e-3 is the top notch: only the one below


def test_a_risk_aversion_off_the_slider_is_not_prefetched(planned):
    assert plan_view.prefetch_neighbouring_risk_aversions(ORDER, demo_market(), {"risk_aversion_per_usd": 3e-6}) == []


def test_market_cache_key_tells_markets_apart():
    market = demo_market()
    assert plan_view._market_key(market) == plan_view._market_key(demo_market())
    reversed_profile = dataclasses.replace(market, volume_profile=tuple(reversed(market.volume_profile)))
    assert plan_view._market_key(market) != plan_view._market_key(reversed_profile)
    assert plan_view._market_key(market) != plan_view._market_key(dataclasses.replace(market, spread_usd=0.1))


def test_the_cost_table_shows_max_participation_first_and_labels_every_column(table1_order, table1_market):
    """The max participation comes right after the strategy (visible without scrolling on a 1440 px desktop: checked
    in a browser screenshot), and every column of the cost table has its label and format."""
    from optexec.planning import cost_table, make_plan
    from optexec.ui.plan_view import COST_COLUMNS

    order = list(COST_COLUMNS)
    assert order[:4] == ["best", "strategy", "max_participation", "participation"]
    table = cost_table(make_plan(table1_order, table1_market, {}, ["twap"]))
    # the page's short participation cell replaces the full note, which stays in the frame (the notes above the
    # table show it in full)
    assert set(table.columns) | {"best", "participation"} == set(COST_COLUMNS) | {"participation_note"}


def test_the_participation_cell_is_short_and_points_to_the_notes(plan):
    """The notes, up to ~350 characters, were cut off in a 1440 px column: the cell says whether the peak is above
    the limit and points to the notes above the table, which hold every strategy warning in full."""
    from optexec.report_content import plan_notes
    from optexec.ui.plan_view import PARTICIPATION_WIDTH_PX, cost_frame, participation_text

    frame = cost_frame(plan.order, plan.market, tuple(sorted(plan.settings.items()))).set_index("strategy")
    noted = frame[frame["participation_note"] != ""]
    assert len(noted) and (frame["participation"] == "").sum() == (frame["participation_note"] == "").sum()
    shown = {warning for _, warning in plan_notes(plan).schedules}
    for label, row in noted.iterrows():
        assert row["max_participation"] > 0.25 and row["participation"] == "above 25% limit · notes ↑"
        assert len("above 100% limit · notes ↑") * 7 + 16 <= PARTICIPATION_WIDTH_PX  # ~7 px a character at 14 px
        assert any(warning in row["participation_note"] for warning in shown), label
    assert participation_text(0.2, "capped at 25%", 0.25, True) == "within 25% limit · notes ↑"
    assert participation_text(0.3, "reaches 30% of the expected volume, above the 25% limit", 0.25, False) == (
        "above 25% limit"
    )
    assert participation_text(float("inf"), "x", 0.25, False) == "above 25% limit"
    assert participation_text(0.3, "", 0.25, False) == ""


def test_no_prefetch_while_several_desks_share_the_server(planned, monkeypatch):
    """A second session asking within the busy window stops the prefetching (its CPU is for the desks' own moves);
    once the window has passed with one desk left, it starts again."""
    monkeypatch.setattr(plan_view, "PREFETCH_DELAY_S", 0.0)
    monkeypatch.setattr(plan_view, "_recent_sessions", {})
    settings = {"risk_aversion_per_usd": 1e-6}
    first = plan_view.prefetch_neighbouring_risk_aversions(ORDER, demo_market(), settings, "desk-1")
    assert [f.result(timeout=30) for f in first] == [True, True]
    assert plan_view.prefetch_neighbouring_risk_aversions(ORDER, demo_market(), settings, "desk-2") == []
    assert plan_view.prefetch_neighbouring_risk_aversions(ORDER, demo_market(), settings, "desk-1") == []
    monkeypatch.setattr(plan_view, "_recent_sessions", {"desk-2": plan_view.time.monotonic() - 60})
    later = plan_view.prefetch_neighbouring_risk_aversions(ORDER, demo_market(), settings, "desk-1")
    assert len(later) == 2


# --- the Plan page's chart: the fewest vertices that draw each schedule to within a share of its panel -----------


def _drawn(x: np.ndarray, y: np.ndarray, kept: np.ndarray, shape: str) -> np.ndarray:
    """The line through the kept vertices, read at every original x (straight segments, or Plotly's "hv" steps)."""
    if shape == "hv":
        return y[kept][np.searchsorted(x[kept], x, side="right") - 1]
    return np.interp(x, x[kept], y[kept])


def test_a_run_of_one_step_is_one_vertex():
    assert list(charts.step_vertices(np.full(390, 641.0), 1e-6)) == [0, 389]
    steps = np.array([5.0, 5.0, 5.0, 2.0, 2.0, 7.0, 7.0])
    assert list(charts.step_vertices(steps, 0.0)) == [0, 3, 5, 6]  # one per level change, and the last point


@pytest.mark.parametrize("seed", range(5))
def test_the_kept_vertices_draw_every_point_within_the_tolerance(seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(0.5, 1.5, 390))
    y = np.round(rng.gamma(2.0, 50.0, 390), rng.integers(-1, 2))
    for share in (0.0, 1e-3, 1e-2, 0.2):
        tolerance = share * np.ptp(y)
        kept = charts.step_vertices(y, tolerance)
        assert kept[0] == 0 and kept[-1] == len(y) - 1 and np.all(np.diff(kept) > 0)
        assert np.max(np.abs(_drawn(x, y, kept, "hv") - y)) <= tolerance + 1e-9 * np.ptp(y)
    assert len(charts.step_vertices(y, 0.2 * np.ptp(y))) < len(charts.step_vertices(y, 0.0))


@pytest.fixture(scope="module")
def plan():
    from optexec.planning import make_plan

    return make_plan(ORDER, demo_market(), {})


@pytest.mark.parametrize("panel", list(charts.SCHEDULE_PANELS))
def test_the_page_figure_is_the_report_figure_within_a_quarter_pixel(plan, panel):
    """The Plan page draws every strategy's step lines within SCREEN_ERROR of the panel's height from vertices of the
    full schedule (the report's figure, every slice a point); a TWAP's child orders are two points; the holdings
    keep every slice."""
    full = charts.schedule_figure(plan, [panel])
    page = charts.schedule_figure(plan, [panel], charts.SCREEN_ERROR)
    assert page.layout == full.layout
    top = full.layout.yaxis.range[1] if full.layout.yaxis.range else None
    span = top or max(np.ptp(np.asarray(trace.y)) for trace in full.data)
    shape = charts.SCHEDULE_PANELS[panel][3]
    for every, drawn in zip(full.data, page.data, strict=True):
        assert (drawn.name, drawn.line, drawn.hovertemplate) == (every.name, every.line, every.hovertemplate)
        x, y = np.asarray(every.x), np.asarray(every.y)
        assert every.x0 is None and every.dx is None  # the report: every slice with its time
        drawn_x = _page_x(drawn)
        kept = np.searchsorted(x, drawn_x - 1e-9 * np.ptp(x))
        assert np.allclose(x[kept], drawn_x, rtol=0, atol=1e-9 * np.ptp(x)) and np.array_equal(y[kept], drawn.y)
        assert np.max(np.abs(_drawn(x, y, kept, shape) - y)) <= charts.SCREEN_ERROR * span * (1 + 1e-9)
        assert len(x) == ORDER.slices + (panel == "holdings")
    if panel == "holdings":
        assert all(np.array_equal(a.y, b.y) for a, b in zip(full.data, page.data, strict=True))
        # evenly spaced slices: each line's times as a start and a step, not 391 numbers
        assert all(t.x is None and t.dx > 0 for t in page.data)
        assert len(page.to_json()) < 0.6 * len(full.to_json())
        return
    if panel == "trades":
        twap = next(trace for trace in page.data if trace.name == "TWAP")
        assert len(twap.x) == 2
    assert sum(len(_page_x(t)) for t in page.data) < sum(len(t.x) for t in full.data)


def _page_x(trace) -> np.ndarray:
    """A page trace's times: its x, or its start and step (``charts._x_values``) over its points."""
    if trace.x is not None:
        return np.asarray(trace.x, dtype=float)
    return trace.x0 + trace.dx * np.arange(len(trace.y))


def test_a_slider_move_sends_the_results_and_not_the_model_sections():
    """The model's parameters and the strategies' descriptions do not change with the model sliders: they are drawn
    outside the results fragment, so a risk-aversion move (a fragment rerun: AppTest then holds only what it sent)
    sends the results and not them."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGES / "plan.py"), default_timeout=90).run()
    labels = [e.label for e in at.expander]
    assert "What each strategy does" in labels and any("model's parameters" in label for label in labels)
    before = at.dataframe[0].value.set_index("strategy").loc["Almgren–Chriss", "expected_cost_usd"]
    at.select_slider(key="risk_aversion").set_value(1e-4).run()
    assert not at.exception
    assert at.dataframe[0].value.set_index("strategy").loc["Almgren–Chriss", "expected_cost_usd"] != before
    assert len(at.get("plotly_chart")) == 1
    # only the results' own box of schedule notes, not the model's sections
    assert [e.label.split(":")[0] for e in at.expander] in ([], ["Schedules outside the model's range"],
                                                            ["Notes on the schedules"])  # fmt: skip
