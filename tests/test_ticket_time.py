"""The ticket's horizon unit and clock start in the app (AppTest): links new and old open the same order, typed
values that cannot be used stop the plan with an error naming the control, "now" says what it chose, DEMO starts in
minutes after the open, and the Plan page's chart shows whole shares."""

from __future__ import annotations

import base64
import datetime as dt
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.shown import open_app, order_header, shown


def _costs(at: AppTest):
    return at.dataframe[0].value.set_index("strategy")[["expected_cost_usd", "std_cost_usd"]]


def _errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


def test_an_old_horizon_days_link_opens_the_same_order_as_the_new_units():
    old = open_app(horizon_days="0.5", slices="26")
    hours = open_app(horizon="3.25", horizon_unit="hours", slices="26")  # half of a 6.5-hour session
    minutes = open_app(horizon="195", horizon_unit="minutes", slices="26")
    for at in (old, hours, minutes):
        assert not at.exception and not at.error
    assert "over 0.5 trading days in 26 slices" in order_header(old)
    assert "over 3.25 hours (0.5 trading days) in 26 slices" in order_header(hours)
    assert "over 195 minutes (0.5 trading days) in 26 slices" in order_header(minutes)
    assert _costs(old).equals(_costs(hours)) and _costs(old).equals(_costs(minutes))
    assert old.number_input(key="horizon").value == 0.5 and old.selectbox(key="horizon_unit").value == "days"
    assert "horizon_days" not in old.query_params and old.query_params["horizon"] == "0.5"  # written the new way


def test_a_horizon_in_hours_round_trips_through_the_link():
    at = open_app()
    at.number_input(key="horizon").set_value(2.0).run()
    at.selectbox(key="horizon_unit").set_value("hours").run()
    assert not at.exception and not at.error
    assert "over 2 hours (0.308 trading days)" in order_header(at)
    link = {k: at.query_params[k] for k in ("horizon", "horizon_unit")}
    assert link == {"horizon": "2", "horizon_unit": "hours"}
    again = open_app(**link)
    assert order_header(again) == order_header(at) and _costs(again).equals(_costs(at))


@pytest.mark.parametrize(
    "value, unit, message",
    [
        (0.0, "hours", ("Horizon (hours) = 0 is not valid (one second (0.000278) to 1,638 hours (252 trading days)): "
         "the plan is not updated until it is fixed.")),
        (-5.0, "minutes", ("Horizon (minutes) = −5 is not valid (one second (0.0167) to 98,280 minutes (252 trading "
         "days)): the plan is not updated until it is fixed.")),
        (1e308, "minutes", "Horizon (minutes) = 1e+308 is not valid"),
        (253.0, "days", "Horizon (trading days) = 253 is not valid (one second (4.27e-05) to 252 trading days)"),
    ],
)  # fmt: skip
def test_a_horizon_that_cannot_be_used_is_an_error_naming_the_control(value, unit, message):
    at = open_app()
    at.selectbox(key="horizon_unit").set_value(unit).run()
    at.number_input(key="horizon").set_value(value).run()
    assert not at.exception
    assert any(e.startswith(message) for e in _errors(at)), _errors(at)
    assert not at.dataframe and not at.get("plotly_chart")  # no stale plan
    assert at.number_input(key="horizon").value == value  # what was typed stays, to be fixed


def test_slices_shorter_than_a_minute_are_said_and_one_a_minute_is_a_click():
    at = open_app(horizon="30", horizon_unit="minutes")
    captions = [shown(c.value) for c in at.sidebar.caption]
    assert any(c.startswith("390 slices in 30 minutes: one child order every 4.6 seconds") for c in captions)
    assert "in 390 slices" in order_header(at)  # kept as asked, not changed behind the user's back
    at.button(key="one_slice_a_minute").click().run()
    assert "in 30 slices" in order_header(at) and at.query_params["slices"] == "30"
    assert not any("slices in 30 minutes" in shown(c.value) for c in at.sidebar.caption)


def test_a_clock_start_reaches_the_plan_and_the_link():
    at = open_app()
    assert at.time_input(key="start_time").value == dt.time(9, 30) and "start" not in at.query_params
    at.time_input(key="start_time").set_value(dt.time(13, 30)).run()
    assert not at.exception and not at.error
    assert "starts 13:30 America/New_York" in order_header(at)
    assert at.query_params["start"] == "13:30"
    old = open_app(start_minutes="240")  # an old link: 240 minutes after the 09:30 open
    assert old.time_input(key="start_time").value == dt.time(13, 30)
    assert _costs(old).equals(_costs(at)) and old.query_params["start"] == "13:30"
    assert "start_minutes" not in old.query_params


@pytest.mark.parametrize("value", [dt.time(16, 0), dt.time(9, 0), dt.time(20, 15)])
def test_a_start_outside_the_session_is_an_error_naming_the_control(value):
    at = open_app()
    at.time_input(key="start_time").set_value(value).run()
    assert not at.exception
    message = (f"Start time (America/New_York) = {value:%H:%M} is not valid (09:30–15:59 America/New_York, inside "
               "the session): the plan is not updated until it is fixed.")  # fmt: skip
    assert message in _errors(at)
    assert not at.dataframe


@pytest.mark.parametrize(
    "now, said, header",
    [
        (dt.datetime(2026, 3, 3, 15, 47, tzinfo=dt.UTC), "Now: starts 10:47 America/New_York", "now: starts 10:47"),
        (dt.datetime(2026, 3, 3, 22, 0, tzinfo=dt.UTC), ("Market closed: starts at the next open 09:30 on Wed "
         "2026-03-04 (America/New_York)"), "market closed: starts at the next open 09:30"),
    ],
)  # fmt: skip
def test_now_takes_the_exchange_time_or_says_the_market_is_closed(monkeypatch, now, said, header):
    from optexec.ui import order_time

    monkeypatch.setattr(order_time, "now", lambda: now)
    at = open_app(start="now", slices="39")
    assert not at.exception and not at.error
    assert at.get("button_group")[[b.key for b in at.get("button_group")].index("start_mode")].value == "now"
    assert said in [shown(c.value) for c in at.sidebar.caption]
    assert header in order_header(at) and at.query_params["start"] == "now"


def test_now_starts_the_schedule_at_the_exchange_time(monkeypatch):
    """Now at 10:47 is the same plan as a start typed at 10:47."""
    from optexec.ui import order_time

    monkeypatch.setattr(order_time, "now", lambda: dt.datetime(2026, 3, 3, 15, 47, tzinfo=dt.UTC))
    now = open_app(start="now", slices="39")
    typed = open_app(start="10:47", slices="39")
    assert _costs(now).equals(_costs(typed))


def test_demo_has_no_clock_and_starts_in_minutes_after_the_open():
    at = open_app(symbol="DEMO", start_minutes="60")
    assert not at.exception and not at.error
    assert at.slider(key="start_minutes").value == 60
    assert any("DEMO has no exchange clock" in shown(c.value) for c in at.sidebar.caption)
    assert at.query_params["start_minutes"] == "60" and "start" not in at.query_params
    assert "60 min after the open" in order_header(at)


def _trace_values(at: AppTest, label: str) -> np.ndarray:
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    y = next(t for t in figure["data"] if t["name"] == label)["y"]
    return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]) if isinstance(y, dict) else np.array(y)


def test_the_plan_chart_shows_whole_shares_with_the_remainder_last():
    """1,000,001 shares in 7 TWAP slices: 142,857.29 a slice in the model, whole shares on the chart."""
    at = open_app(**{"shares.SYN-LARGE": "1000001", "slices": "7", "max_participation": "100"})
    holdings = _trace_values(at, "TWAP")
    assert holdings[0] == 1_000_001 and holdings[-1] == 0
    assert np.array_equal(holdings, np.round(holdings))  # whole shares at every slice boundary
    trades = -np.diff(holdings)
    assert set(trades) <= {142_857.0, 142_858.0}
