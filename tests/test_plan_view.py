"""Background planning of the risk-aversion slider's neighbouring notches (optexec.ui.plan_view)."""

import dataclasses

import pytest

from optexec.models import Order
from optexec.ui import plan_view
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
    assert order[:4] == ["best", "strategy", "max_participation", "participation_note"]
    table = cost_table(make_plan(table1_order, table1_market, {}, ["twap"]))
    assert set(table.columns) | {"best"} == set(COST_COLUMNS)


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
