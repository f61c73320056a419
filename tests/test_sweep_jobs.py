"""The Sensitivity page's sweeps kept per process, shown with progress and computed ahead in idle time
(optexec.ui.sweep_jobs), and the words of a sweep's failed points (optexec.ui.sweep_words)."""

import threading
import time

import numpy as np
import pytest

from optexec.models import MarketParams, Order
from optexec.sensitivity import Sweep, sweep
from optexec.ui import sweep_jobs, sweep_words
from tests.e2e.server import run_coroutine

MARKET = MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7)
ORDER = Order("DEMO", "sell", 1e6, 1.0, 13)
NAMES = ("twap", "ac_discrete", "multiscale")


def _request(values=(1e-7, 1e-6, 1e-5), names=NAMES) -> sweep_jobs.Request:
    return sweep_jobs.Request(ORDER, MARKET, (), "risk_aversion_per_usd", tuple(values), names)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    sweep_jobs.forget_all()
    monkeypatch.setattr(sweep_jobs, "IDLE_S", 0.2)
    yield
    sweep_jobs.forget_all()


def _same(a: Sweep, b: Sweep) -> None:
    for name in b.labels:
        np.testing.assert_array_equal(a.expected_usd[name], b.expected_usd[name])
        np.testing.assert_array_equal(a.std_usd[name], b.std_usd[name])


def test_a_sweep_is_computed_once_with_its_progress_then_kept():
    request = _request()
    shown: list[float] = []
    first = sweep_jobs.sweep_with_progress(request, shown.append)
    assert shown == pytest.approx([0.0, 1 / 3, 2 / 3])  # before each of the three points
    _same(first, sweep(ORDER, MARKET, {}, "risk_aversion_per_usd", [1e-7, 1e-6, 1e-5], NAMES))
    again: list[float] = []
    assert sweep_jobs.sweep_with_progress(request, again.append) is first
    assert again == []  # kept: no progress bar
    assert sweep_jobs.kept(request) and not sweep_jobs.kept(_request(values=(1e-7, 1e-6)))


def test_a_sweep_that_cannot_run_raises_its_reason_every_time():
    request = sweep_jobs.Request(ORDER, MARKET, (), "risk_aversion_per_usd", (float("nan"),), NAMES)
    for _ in range(2):
        with pytest.raises(ValueError, match="finite values"):
            sweep_jobs.sweep_with_progress(request, lambda done: None)


def test_the_prefetch_waits_while_a_page_runs_and_until_the_server_is_idle():
    request = _request()
    with sweep_jobs.busy():
        assert sweep_jobs.prefetch(request)
        assert not sweep_jobs.prefetch(request)  # asked for already
        time.sleep(0.5)
        assert not sweep_jobs.kept(request)  # a page runs: nothing computed meanwhile
    deadline = time.monotonic() + 30
    while not sweep_jobs.kept(request) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sweep_jobs.kept(request)
    shown: list[float] = []
    _same(sweep_jobs.sweep_with_progress(request, shown.append), sweep_jobs.Request.compute(request))
    assert shown == []  # the page reads it: nothing computed twice


def test_a_page_waits_for_the_prefetch_it_needs_even_while_it_runs_itself():
    request = _request()
    with sweep_jobs.busy():  # the page's own run would pause the prefetch: asking for it lifts the pause
        sweep_jobs.prefetch(request)
        shown: list[float] = []
        result = sweep_jobs.sweep_with_progress(request, shown.append)
    _same(result, request.compute())


def test_a_newer_prefetch_drops_an_older_one_no_page_asked_for():
    older, newer = _request(), _request(values=(1e-6, 1e-5))
    with sweep_jobs.busy():
        sweep_jobs.prefetch(older)
        time.sleep(0.2)  # the worker waits on the older one
        sweep_jobs.prefetch(newer)
    deadline = time.monotonic() + 30
    while not sweep_jobs.kept(newer) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sweep_jobs.kept(newer) and not sweep_jobs.kept(older)
    shown: list[float] = []
    _same(sweep_jobs.sweep_with_progress(older, shown.append), older.compute())  # computed when asked for
    assert len(shown) == 3


def test_the_prefetch_runs_then_after_the_sweep():
    seen = threading.Event()
    sweep_jobs.prefetch(_request(), then=lambda result: seen.set() if "twap" in result.labels else None)
    assert seen.wait(30)


def test_session_request_is_the_pages_first_sweep_or_the_sessions_choice():
    request, label, log_x = sweep_jobs.session_request(ORDER, MARKET, {}, {})
    assert request.param == "risk_aversion_per_usd" and log_x and len(request.values) == sweep_words.DEFAULT_POINTS
    assert request.values[0] == pytest.approx(1e-8) and request.values[-1] == pytest.approx(1e-4)
    assert "risk aversion" in label
    chosen, _, log_x = sweep_jobs.session_request(
        ORDER, MARKET, {}, {"sweep_param": "spread_usd", "sweep_points": 4, "sweep_names": ["twap"]}
    )
    assert chosen.param == "spread_usd" and chosen.names == ("twap",) and len(chosen.values) == 4 and not log_x
    assert sweep_jobs.session_request(ORDER, MARKET, {}, {"sweep_simulate": True}) is None
    assert sweep_jobs.session_request(ORDER, MARKET, {}, {"sweep_param": "horizon_days"}) is None


def _failed_sweep(param: str, values: list[float]) -> Sweep:
    grid = np.asarray(values)
    nan = np.full(grid.size, np.nan)
    failures = {"twap": [(values[0], "the order is too short")]}
    return Sweep(param, grid, {"twap": "TWAP"}, {"twap": nan}, {"twap": nan}, {"twap": nan}, grid, failures)


def test_a_failed_horizon_point_is_said_in_the_tickets_unit():
    axis = sweep_words.horizon_axis("minutes", 390, 1.0)
    notes = sweep_words.failure_notes(_failed_sweep("horizon_days", [15 / 390, 1.0]), axis.label, axis)
    assert notes == ["TWAP: no plan at 1 of 2 points; the first at a horizon of 15 minutes: the order is too short"]
    hours = sweep_words.horizon_axis("hours", 390, 1.0)
    assert "a horizon of 1 hour:" in sweep_words.failure_notes(_failed_sweep("horizon_days", [60 / 390]), "", hours)[0]
    assert "horizon_days" not in notes[0]


def test_a_failed_point_of_another_parameter_is_said_with_its_label():
    result = sweep(ORDER, MARKET, {}, "participation_rate", [0.1, 1.5], ["pov"])
    notes = sweep_words.failure_notes(result, "participation rate (fraction of volume)")
    assert notes[0].startswith("POV: no plan at 1 of 2 points; the first at participation rate (fraction of volume)")
    assert "1.5: participation rate must be in (0, 1]" in notes[0]
    assert result.errors["pov"][0].startswith("participation_rate = 1.5: ")  # the command line's words unchanged


def test_an_http_request_marks_the_server_busy_while_it_is_served():
    seen: list[int] = []

    async def app(scope, receive, send):
        seen.append(sweep_jobs._activity["running"])

    marked = sweep_jobs.MarkRequests(app)
    run_coroutine(marked({"type": "http"}, None, None))
    run_coroutine(marked({"type": "websocket"}, None, None))  # the script runs mark themselves
    assert seen == [1, 0] and sweep_jobs._activity["running"] == 0
    assert not sweep_jobs._idle()  # the request just ended: IDLE_S to go
