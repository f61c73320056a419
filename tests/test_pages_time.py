"""Every page speaks the ticket's time (issue 17 item 4): a 2-hour order starting 14:00 opened from a link reads
"over 2 hours (0.308 trading days) … starts 14:00 America/New_York" on Plan, Compare, Sensitivity, Simulate and
the RL page, and the costs the pages show agree with Plan's."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.shown import open_app, order_header, shown

PAGES = Path(__file__).resolve().parents[1] / "pages"
LINK = {"horizon": "2", "horizon_unit": "hours", "start": "14:00", "slices": "26"}
HORIZON = "over 2 hours (0.308 trading days) in 26 slices"
START = "starts 14:00 America/New_York"


@pytest.fixture(scope="module")
def plan() -> AppTest:
    at = open_app(**LINK)
    assert not at.exception and not at.error
    return at


def _page(name: str, **extra: str) -> AppTest:
    at = open_app(**LINK, **extra)
    at.switch_page(str(PAGES / f"{name}.py")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def _texts(at: AppTest) -> list[str]:
    return [shown(m.value) for m in at.markdown] + [shown(c.value) for c in at.caption]


def _plan_bps(plan: AppTest) -> dict[str, float]:
    return plan.dataframe[0].value.set_index("strategy")["expected_cost_bps"].to_dict()


def _values(data) -> np.ndarray:
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data, dtype=float)


def test_the_plan_header_says_the_horizon_and_start_as_typed(plan):
    header = order_header(plan)
    assert HORIZON in header and header.endswith(START)


@pytest.mark.parametrize("page", ["compare", "sensitivity", "simulate", "rl"])
def test_every_page_heads_the_order_with_the_ticket_horizon_and_start(page):
    at = _page(page)
    heading = next(text for text in _texts(at) if text.startswith("**SELL ") or text.startswith("SELL "))
    assert f"{HORIZON} · {START}" in heading
    assert "0.307692" not in heading and "0.3077 trading days" not in heading


def test_compare_costs_and_times_agree_with_plan(plan):
    at = _page("compare")
    table = at.dataframe[0].value.set_index("")
    plan_bps = _plan_bps(plan)
    for column in [c for c in table.columns if c.endswith(" (bps)") and not c.startswith("B − A")]:
        label = column.removesuffix(" (bps)")
        assert table.loc["expected cost", column] == pytest.approx(plan_bps[label], abs=1e-9)
    half = next(text for text in _texts(at) if text.startswith("Half of the order is done after"))
    assert "America/New_York)" in half and " days" not in half  # a duration in words and a clock time


def test_sensitivity_sweeps_the_horizon_in_hours_and_its_point_at_two_hours_is_plans_cost(plan):
    at = _page("sensitivity", sweep_param="horizon_days")
    at.number_input(key="sweep_low_horizon_days_hours").set_value(1.0).run()
    at.number_input(key="sweep_high_horizon_days_hours").set_value(3.0).run()
    at.slider(key="sweep_points").set_value(3).run()
    assert not at.exception and not at.error
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["layout"]["xaxis"]["title"]["text"] == "horizon (hours)"
    twap = next(t for t in figure["data"] if t["name"] == "TWAP")
    np.testing.assert_allclose(_values(twap["x"]), [1.0, 2.0, 3.0])
    assert _values(twap["y"])[1] == pytest.approx(_plan_bps(plan)["TWAP"], rel=1e-9)
    assert any("The ticket's horizon: 2 hours (0.308 trading days)" in text for text in _texts(at))
