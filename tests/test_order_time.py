"""The ticket's horizon units and clock start without Streamlit: conversions against the session's length, the link
values (new and old), "now" against the XNYS calendar, the clock's slice starts at a close, and whole lots."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import numpy as np
import pytest

from optexec import clock
from optexec.clock import OrderClock, whole_lots
from optexec.models import MIN_HORIZON_DAYS, Order
from optexec.planning import make_plan, schedule_table, whole_lot_plan
from optexec.store.sessions import MarketSession, start_now, trading_days_from
from optexec.ui import order_time

NY = zoneinfo.ZoneInfo("America/New_York")
XNYS = MarketSession("America/New_York", calendar="XNYS")
WEEKDAYS = MarketSession("America/New_York")  # the bundled sample's market: every weekday, no calendar


@pytest.mark.parametrize(
    "value, unit, session_minutes, days",
    [
        (1.0, "hours", 390, 1 / 6.5),  # the help text's 1 h = 1/6.5 trading days on a 09:30–16:00 session
        (2.0, "hours", 390, 120 / 390),
        (390.0, "minutes", 390, 1.0),
        (30.0, "minutes", 480, 30 / 480),  # a longer session: the same minutes are fewer days
        (2.5, "days", 390, 2.5),
        (8.0, "hours", 480, 1.0),
    ],
)
def test_a_horizon_in_minutes_or_hours_is_converted_by_the_session_length(value, unit, session_minutes, days):
    assert clock.to_days(value, unit, session_minutes) == pytest.approx(days, rel=1e-15)


@pytest.mark.parametrize("unit", order_time.UNITS)
def test_the_horizon_bounds_are_the_same_days_in_every_unit(unit):
    spec = order_time.horizon_spec(unit, 390)
    assert clock.to_days(spec.low, unit, 390) == pytest.approx(MIN_HORIZON_DAYS, rel=1e-12)
    assert clock.to_days(spec.high, unit, 390) == pytest.approx(order_time.MAX_UI_HORIZON_DAYS, rel=1e-12)
    for bad in (0.0, -1.0, 1e308, float("nan"), spec.high * 1.001):
        assert spec.problem(bad) is not None
    assert spec.problem(spec.high) is None and spec.problem(spec.low) is None
    assert spec.label == f"Horizon ({order_time.UNIT_LABELS[unit]})"


def test_the_help_says_how_hours_become_trading_days():
    assert order_time.hours_per_day_text(390) == "1 h = 1/6.5 trading days"
    assert "1 h = 1/6.5 trading days on XNYS" in order_time.horizon_help(390, "XNYS, 09:30–16:00 America/New_York")


def test_the_header_says_the_horizon_as_typed_and_in_days():
    assert order_time.horizon_text(1.0, "days", 1.0) == "1 trading day"
    assert order_time.horizon_text(2.0, "hours", 2 / 6.5) == "2 hours (0.308 trading days)"
    assert order_time.horizon_text(1.0, "minutes", 1 / 390) == "1 minute (0.00256 trading days)"


@pytest.mark.parametrize(
    "raw, values",
    [
        ({"horizon_days": "0.5"}, {"horizon": 0.5, "horizon_unit": "days"}),  # an old link: the same order
        ({"horizon": "2", "horizon_unit": "hours"}, {"horizon": 2.0, "horizon_unit": "hours"}),
        ({"horizon": "45", "horizon_unit": "minutes"}, {"horizon": 45.0, "horizon_unit": "minutes"}),
        ({"horizon": "3"}, {"horizon": 3.0}),  # trading days, the default unit
    ],
)
def test_link_horizons_new_and_old_are_taken(raw, values):
    seeded, notes = order_time.seed_horizon(raw, 390)
    assert seeded == values and notes == []


@pytest.mark.parametrize(
    "raw, note",
    [
        ({"horizon": "0", "horizon_unit": "hours"}, ("Link value horizon=0 is not valid (one second (0.000278) to "
         "1,638 hours (252 trading days)): using 1 hour.")),
        ({"horizon": "-5", "horizon_unit": "minutes"}, ("Link value horizon=-5 is not valid (one second (0.0167) to "
         "98,280 minutes (252 trading days)): using 1 minute.")),
        ({"horizon": "1e308"}, ("Link value horizon=1e308 is not valid (one second (4.27e-05) to 252 trading days): "
         "using 1 trading day.")),
        ({"horizon": "1639", "horizon_unit": "hours"}, ("Link value horizon=1639 is not valid (one second (0.000278) "
         "to 1,638 hours (252 trading days)): using 1 hour.")),
        ({"horizon_days": "-1"}, ("Link value horizon_days=-1 is not valid (one second (4.27e-05) to 252 trading "
         "days): using 1.")),
        ({"horizon": "2", "horizon_unit": "weeks"}, ("Link value horizon_unit=weeks is not valid (minutes or hours or "
         "days): using days (trading days).")),
        ({"horizon": "2", "horizon_days": "5"}, ("Link value horizon_days=5 is not used: the link also gives horizon=2 "
         "trading days.")),
    ],
)  # fmt: skip
def test_a_bad_link_horizon_is_named_never_repaired(raw, note):
    seeded, notes = order_time.seed_horizon(raw, 390)
    assert note in notes
    assert seeded.get("horizon") in (None, 2.0)  # a bad value is not taken (the default stays)


def test_link_starts_new_and_old():
    assert order_time.seed_start({"start": "10:30"}, XNYS, 390) == (
        {"start_mode": "time", "start_time": dt.time(10, 30)},
        [],
    )
    assert order_time.seed_start({"start": "now"}, XNYS, 390) == ({"start_mode": "now"}, [])
    # an old link's minutes after the open: the same start as a clock time, or as minutes without a clock
    assert order_time.seed_start({"start_minutes": "60"}, XNYS, 390)[0]["start_time"] == dt.time(10, 30)
    assert order_time.seed_start({"start_minutes": "60"}, None, 390) == ({"start_minutes": 60}, [])
    for text in ("16:00", "09:29", "25:00", "noon"):
        values, notes = order_time.seed_start({"start": text}, XNYS, 390)
        assert values == {}
        assert notes == [(f"Link value start={text} is not valid (HH:MM 09:30–15:59 America/New_York, inside the "
                         "session, or now): using 09:30.")]  # fmt: skip
    values, notes = order_time.seed_start({"start": "10:30"}, None, 390)
    assert values == {} and "no exchange clock" in notes[0]


def _at(year, month, day, hour, minute) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=NY)


@pytest.mark.parametrize(
    "now, day, minutes, note",
    [
        (_at(2026, 3, 3, 10, 47), dt.date(2026, 3, 3), 77, "now: starts 10:47 America/New_York"),
        (_at(2026, 3, 3, 8, 0), dt.date(2026, 3, 3), 0, "before the open: starts at the open 09:30 today"),
        (_at(2026, 3, 3, 16, 0), dt.date(2026, 3, 4), 0, ("market closed: starts at the next open 09:30 on Wed "
         "2026-03-04 (America/New_York)")),
        (_at(2026, 3, 7, 12, 0), dt.date(2026, 3, 9), 0, ("market closed: starts at the next open 09:30 on Mon "
         "2026-03-09 (America/New_York)")),  # a Saturday
        (_at(2025, 12, 25, 11, 0), dt.date(2025, 12, 26), 0, ("market closed: starts at the next open 09:30 on Fri "
         "2025-12-26 (America/New_York)")),  # Christmas
        (_at(2025, 11, 28, 13, 30), dt.date(2025, 12, 1), 0, ("market closed: starts at the next open 09:30 on Mon "
         "2025-12-01 (America/New_York)")),  # after the half day's 13:00 close
        (_at(2025, 11, 28, 12, 59), dt.date(2025, 11, 28), 209, "now: starts 12:59 America/New_York"),
    ],
)  # fmt: skip
def test_now_is_the_exchange_time_or_the_next_open(now, day, minutes, note):
    start = start_now(XNYS, now.astimezone(dt.UTC))
    assert (start.day, start.minutes_after_open, start.note) == (day, minutes, note)


def test_now_without_a_calendar_trades_every_weekday():
    start = start_now(WEEKDAYS, _at(2025, 12, 25, 11, 0))  # no holidays without a calendar
    assert (start.day, start.minutes_after_open) == (dt.date(2025, 12, 25), 90)


def _clock(days: int = 6) -> OrderClock:
    table = trading_days_from(XNYS, dt.date(2026, 3, 2), days)
    return OrderClock("America/New_York", tuple(table["day"]), tuple(int(m) for m in table["open_minute"]))


def test_a_slice_starting_at_the_close_starts_at_the_next_open():
    starts, ends = _clock().slice_times(np.array([0.0, 0.5, 1.0, 1.5, 2.0]), 0.0, 390)
    assert [t.strftime("%m-%d %H:%M") for t in starts] == ["03-02 09:30", "03-02 12:45", "03-03 09:30", "03-03 12:45"]
    assert [t.strftime("%m-%d %H:%M") for t in ends] == ["03-02 12:45", "03-02 16:00", "03-03 12:45", "03-03 16:00"]


def test_a_schedule_that_runs_past_the_close_goes_on_at_the_next_open():
    """Start 12:45 (195 minutes in) for one trading day in 6 slices of 65 minutes: the fourth starts exactly at
    the close, so at the next open; and from 13:00 a slice across the close goes on after the next open."""
    starts, ends = _clock().slice_times(np.linspace(0.0, 1.0, 7), 195.0, 390)
    assert [t.strftime("%m-%d %H:%M") for t in starts] == [
        "03-02 12:45", "03-02 13:50", "03-02 14:55", "03-03 09:30", "03-03 10:35", "03-03 11:40",
    ]  # fmt: skip
    later = _clock().slice_times(np.linspace(0.0, 1.0, 7), 210.0, 390)[0]
    assert later[3].strftime("%m-%d %H:%M") == "03-03 09:45"  # 15:10 + 65 minutes = 50 today, 15 tomorrow
    assert ends[2].strftime("%m-%d %H:%M") == "03-02 16:00" and ends[-1].strftime("%m-%d %H:%M") == "03-03 12:45"


@pytest.mark.parametrize("start_minutes, horizon_days, slices", [(0, 1.0, 390), (210, 2.0, 13), (195, 0.5, 1)])
def test_every_slice_starts_inside_the_session_and_before_it_ends(start_minutes, horizon_days, slices, table1_market):
    market = dataclasses.replace(table1_market)
    order = Order("X", "sell", 100_000, horizon_days, slices, start_minutes)
    plan = dataclasses.replace(make_plan(order, market, {}, ["twap"]), clock=_clock())
    table = schedule_table(plan)
    local = table["start_time"].dt.hour * 60 + table["start_time"].dt.minute
    assert ((local >= 570) & (local < 960)).all()  # 09:30 <= start < 16:00
    assert (table["start_time"] < table["end_time"]).all()


def test_the_drawn_plan_has_the_whole_lots_of_the_table(table1_order, table1_market):
    plan = make_plan(table1_order, table1_market, {"risk_aversion_per_usd": 1e-6})
    lots = dataclasses.replace(plan, clock=dataclasses.replace(_clock(), lot_shares=100))
    drawn = whole_lot_plan(lots)
    table = schedule_table(lots)
    for row, before in zip(drawn.planned, lots.planned, strict=True):
        trades = row.schedule.trades_shares
        assert np.array_equal(trades, whole_lots(before.schedule.trades_shares, 100))
        expected = table[table["strategy"] == row.strategy.name]["child_order_shares"].to_numpy()
        assert np.array_equal(trades, expected) and trades.sum() == table1_order.shares
        assert row.cost == before.cost  # the costs stay the model's


def test_a_fractional_order_keeps_its_size_in_the_drawn_plan(table1_market):
    order = Order("X", "buy", 12_345.6, 1.0, 7)
    drawn = whole_lot_plan(make_plan(order, table1_market, {}, ["twap", "immediate"]))
    for row in drawn.planned:
        trades = row.schedule.trades_shares
        assert np.all(trades[:-1] == np.round(trades[:-1])) and trades.sum() == pytest.approx(12_345.6, abs=1e-9)


def test_slices_shorter_than_a_minute_are_said_with_one_a_minute_offered():
    text, suggested = order_time.slice_hint(390, 30 / 390, 390)
    assert text.startswith("390 slices in 30 minutes: one child order every 4.6 seconds") and suggested == 30
    assert order_time.slice_hint(390, 1.0, 390) is None and order_time.slice_hint(30, 30 / 390, 390) is None
