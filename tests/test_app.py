"""The Streamlit app runs end to end (AppTest), and the ticket drives the plan."""

import datetime as dt
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.shown import plotted, shown


@pytest.fixture
def app() -> AppTest:
    return AppTest.from_file("app_entry.py", default_timeout=60).run()


def _figure(at: AppTest, index: int) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def test_app_runs_and_shows_every_strategy(app):
    assert not app.exception
    assert not app.error
    table = app.dataframe[0].value
    from optexec.strategies import registry

    assert list(table["strategy"]) == [s.label for s in registry.STRATEGIES.values()]
    assert len(app.get("plotly_chart")) == 1
    names = {trace["name"] for trace in _figure(app, 0)["data"]}
    assert names == {s.label for s in registry.STRATEGIES.values()}


def test_risk_aversion_moves_the_almgren_chriss_cost(app):
    before = app.dataframe[0].value.set_index("strategy").loc["Almgren–Chriss", "expected_cost_usd"]
    app.select_slider(key="risk_aversion").set_value(1e-4).run()
    after = app.dataframe[0].value.set_index("strategy").loc["Almgren–Chriss", "expected_cost_usd"]
    assert after > before  # more urgency costs more impact


def test_schedule_panel_switch_shows_child_orders(app):
    assert _figure(app, 0)["layout"]["yaxis"]["title"]["text"] == "shares"
    next(b for b in app.get("button_group") if b.key == "plan_panel").set_value("trades").run()
    assert _figure(app, 0)["layout"]["yaxis"]["title"]["text"] == "shares per slice"
    next(b for b in app.get("button_group") if b.key == "plan_panel").set_value("all").run()
    layout = _figure(app, 0)["layout"]
    assert [layout[f"yaxis{s}"]["title"]["text"] for s in ("", "2", "3")] == [
        "shares",
        "shares per slice",
        "% of volume",
    ]
    assert layout["xaxis"]["matches"] == layout["xaxis2"]["matches"] == "x3"  # one time axis for the three


def test_zero_shares_shows_an_error_not_a_traceback(app):
    app.number_input(key="shares.SYN-LARGE").set_value(0.0).run()
    assert not app.exception
    message = "Shares = 0 is not valid (> 0, ≤ 1,000,000,000,000): the plan is not updated until it is fixed."
    assert any(message in shown(e.value) for e in app.error)


@pytest.fixture
def ticket_draws(monkeypatch) -> list[int]:
    """Counts full runs: every full run draws the sidebar ticket once, a fragment rerun does not."""
    from optexec.ui import state

    draws: list[int] = []
    draw = state.order_ticket
    monkeypatch.setattr(state, "order_ticket", lambda: draws.append(1) or draw())
    return draws


def test_model_sliders_rerun_only_the_plan_results(app, ticket_draws):
    """A model slider reruns the results fragment alone (AppTest then holds only that fragment's elements)."""
    app.number_input(key="max_participation").set_value(100.0).run()  # urgent schedules are not capped here
    ticket_draws.clear()
    costs = app.dataframe[0].value.set_index("strategy")["expected_cost_usd"]
    app.select_slider(key="risk_aversion").set_value(1e-4).run()
    assert not ticket_draws and not app.sidebar  # the ticket was not drawn again
    urgent = app.dataframe[0].value.set_index("strategy")["expected_cost_usd"]
    assert urgent["Almgren–Chriss"] > costs["Almgren–Chriss"]
    app.run()  # a full run keeps the slider's value
    assert len(ticket_draws) == 1 and app.select_slider(key="risk_aversion").value == 1e-4
    app.slider(key="set_current_vol_ratio").set_value(2.0).run()
    assert len(ticket_draws) == 1
    high_vol = app.dataframe[0].value.set_index("strategy")["expected_cost_usd"]
    assert high_vol["Multiscale stochastic vol"] != urgent["Multiscale stochastic vol"]
    app.run()
    app.number_input(key="shares.SYN-LARGE").set_value(300_000.0).run()
    assert len(ticket_draws) == 3  # an order field reruns everything
    assert "300,000" in shown(app.markdown[0].value)


def test_model_sliders_rerun_the_whole_page_without_a_live_view(app, ticket_draws):
    from pathlib import Path

    app.switch_page(str(Path(__file__).resolve().parents[1] / "pages" / "simulate.py")).run()
    assert not app.exception
    draws = len(ticket_draws)
    app.select_slider(key="risk_aversion").set_value(1e-4).run()
    assert not app.exception
    assert len(ticket_draws) == draws + 1


def _holdings(at: AppTest, label: str) -> np.ndarray:
    """The plotted holdings (shares left) of one strategy on the Plan page."""

    return plotted(next(t for t in _figure(at, 0)["data"] if t["name"] == label)["y"])


def _cost(at: AppTest, label: str, column: str) -> float:
    return float(at.dataframe[0].value.set_index("strategy").loc[label, column])


def _note(at: AppTest, label: str) -> str:
    return str(at.dataframe[0].value.set_index("strategy").loc[label, "participation_note"])


MULTISCALE = "Multiscale stochastic vol"


@pytest.mark.parametrize(
    "setup, widget, key, value, check",
    [
        # θ scales the persistent impact: a different multiscale schedule
        ({}, "slider", "set_small_impact_theta", 0.02,
         lambda before, after: not np.allclose(_holdings(before, MULTISCALE), _holdings(after, MULTISCALE))),
        # ε sets how fast a high starting vol relaxes: a different schedule when vol starts high
        ({"set_current_vol_ratio": 2.0}, "slider", "set_fast_scale_epsilon", 0.5,
         lambda before, after: not np.allclose(_holdings(before, MULTISCALE), _holdings(after, MULTISCALE))),
        # δ sizes the slow-vol correction, which needs a return signal correlated with slow vol
        ({"set_slow_correlation": -0.5, "set_signal_vol_usd_per_day_per_sqrt_day": 2.0, "set_signal_usd_per_day": 1.0},
         "slider", "set_slow_scale_delta", 0.0,
         lambda before, after: not np.allclose(_holdings(before, MULTISCALE), _holdings(after, MULTISCALE))),
        # h above the starting vol ratio: no half-speed trading, so the order is worked off sooner
        # (without the participation limit, which would cap the fast start either way)
        ({"set_current_vol_ratio": 2.0, "max_participation": 100.0}, "slider", "set_half_step_threshold", 2.5,
         lambda before, after: _holdings(after, MULTISCALE)[10] < _holdings(before, MULTISCALE)[10]),
        # temporary impact x2: TWAP's temporary cost doubles
        ({}, "select_slider", "eta_x", 2.0,
         lambda before, after: np.isclose(_cost(after, "TWAP", "temporary_usd"),
                                          2 * _cost(before, "TWAP", "temporary_usd"), rtol=1e-3)),
        # permanent impact x2: TWAP's permanent cost doubles
        ({}, "select_slider", "gamma_x", 2.0,
         lambda before, after: np.isclose(_cost(after, "TWAP", "permanent_usd"),
                                          2 * _cost(before, "TWAP", "permanent_usd"), rtol=1e-3)),
        # a later start: VWAP follows the rest of the day's volume profile
        ({}, "time_input", "start_time", dt.time(13, 30),
         lambda before, after: not np.allclose(_holdings(before, "VWAP"), _holdings(after, "VWAP"))),
        # fewer slices: shorter schedules
        ({}, "number_input", "slices", 78,
         lambda before, after: len(_holdings(after, "TWAP")) == 79 and len(_holdings(before, "TWAP")) == 391),
        # the calibrated model: TWAP's temporary impact is the power law against the slice volume, not eta v
        ({}, "selectbox", "cost_model", "calibrated",
         lambda before, after: not np.isclose(_cost(after, "TWAP", "temporary_usd"),
                                              _cost(before, "TWAP", "temporary_usd"), rtol=1e-3)
         and np.isclose(_cost(after, "TWAP", "spread_usd"), _cost(before, "TWAP", "spread_usd"))),
        # transient impact added: TWAP pays it on top of the linear model's costs
        ({}, "selectbox", "cost_model", "linear+transient",
         lambda before, after: _cost(before, "TWAP", "transient_usd") == 0 < _cost(after, "TWAP", "transient_usd")
         and np.isclose(_cost(after, "TWAP", "expected_cost_usd"),
                        _cost(before, "TWAP", "expected_cost_usd") + _cost(after, "TWAP", "transient_usd"), atol=2)),
        # a tight participation limit: TWAP's row says it is above it
        ({}, "number_input", "max_participation", 1.0,
         lambda before, after: not _note(before, "TWAP") and "max participation of 1%" in _note(after, "TWAP")),
        # a longer horizon: TWAP risk grows, its impact falls
        ({}, "number_input", "horizon", 2.0,
         lambda before, after: _cost(after, "TWAP", "temporary_usd") < _cost(before, "TWAP", "temporary_usd")
         and _cost(after, "TWAP", "std_cost_usd") > _cost(before, "TWAP", "std_cost_usd")),
    ],
)  # fmt: skip
def test_each_sidebar_control_changes_what_it_should(setup, widget, key, value, check):
    before = AppTest.from_file("app_entry.py", default_timeout=60)
    for setup_key, setup_value in setup.items():
        before.session_state[setup_key] = setup_value
    before.run()
    after = AppTest.from_file("app_entry.py", default_timeout=60)
    for setup_key, setup_value in setup.items():
        after.session_state[setup_key] = setup_value
    after.run()
    getattr(after, widget)(key=key).set_value(value).run()
    assert not before.exception and not after.exception and not after.error
    assert check(before, after)


def test_the_plan_says_which_model_prices_it_why_and_its_parameters(app):
    """The planted symbol defaults to the linear model and says why; choosing the calibrated one reprices every row,
    names the choice, lists the power law's parameters with their sources and goes into the link."""

    def model_line(at: AppTest) -> str:
        return next(shown(m.value) for m in at.markdown if "Priced under the" in m.value)

    assert app.selectbox(key="cost_model").value == "linear"
    assert "**Priced under the linear cost model**" in model_line(app)
    assert "SYN-LARGE, which has no accepted calibration" in model_line(app)
    assert "cost_model" not in app.query_params
    table = app.dataframe[0].value
    assert set(table["priced_under"]) == {
        "linear: spread + linear temporary + linear permanent + order-book sweep of blocks (recovering)"
    }
    linear = table.set_index("strategy")["expected_cost_usd"]
    app.selectbox(key="cost_model").set_value("calibrated").run()
    assert "**Priced under the calibrated cost model**" in model_line(app)
    assert "Calibrated: chosen on the ticket" in model_line(app)
    assert app.query_params["cost_model"] == "calibrated"
    calibrated = app.dataframe[0].value.set_index("strategy")["expected_cost_usd"]
    assert (calibrated != linear).sum() >= len(linear) - 1  # every strategy repriced (Immediate: one block)
    parameters = next(d.value for d in app.dataframe if "source" in d.value.columns).set_index("parameter")
    exponent = "power-law temporary impact exponent p"  # in words: the table shows no field names
    assert parameters.loc[exponent, "source"] and parameters.loc[exponent, "unit"] == "dimensionless"
    assert "linear temporary impact η" not in parameters.index  # the calibrated model does not use η
    assert not parameters.isin(["None", "nan"]).any().any()
