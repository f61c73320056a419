"""Results asked for stay on their page until an input changes (issue 17, item 5): Simulate's "Run simulation"
result and the RL page's learning curve and "Saved" message survive reruns that change nothing they depend on and
a visit to another page in the same session (the sidebar's navigation, no reload)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from optexec.store.sample import build_sample_database
from tests.shown import shown

ENTRY = str(Path(__file__).resolve().parent / "app_entry.py")


@pytest.fixture
def own_store(tmp_path, monkeypatch):
    """A store of this test's own: the RL page saves its policy there, not in the other tests' store."""
    path = tmp_path / "optexec.duckdb"
    build_sample_database(path)
    monkeypatch.setenv("OPTEXEC_DB", str(path))
    return path


def _on(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"../pages/{page}.py")
    return at.run()


def _simulated(at: AppTest) -> bool:
    """The simulation's result is shown (its charts), not the "press Run simulation" note."""
    return bool(at.get("plotly_chart")) and not any("press Run simulation" in shown(i.value) for i in at.info)


def test_a_simulation_stays_until_an_input_changes():
    at = AppTest.from_file(ENTRY, default_timeout=300).run()
    _on(at, "simulate")
    assert not at.exception and not _simulated(at)
    at.number_input(key="sim_paths").set_value(200)
    at.button(key="sim_run").click().run()
    assert not at.exception and _simulated(at)
    drawn = [chart.proto.spec for chart in at.get("plotly_chart")]
    at.run()  # a rerun that changes nothing
    assert _simulated(at) and [chart.proto.spec for chart in at.get("plotly_chart")] == drawn
    _on(at, "plan")
    _on(at, "simulate")  # back through the navigation, in the same session
    assert not at.exception and _simulated(at)
    assert [chart.proto.spec for chart in at.get("plotly_chart")] == drawn
    at.number_input(key="shares.SYN-LARGE").set_value(123_000.0).run()  # a new order: the old result goes
    assert not at.exception and not _simulated(at)
    assert any("changed since the last run" in shown(i.value) for i in at.info)


def test_a_trained_agent_and_its_saved_message_stay_until_an_input_changes(own_store):
    at = AppTest.from_file(ENTRY, default_timeout=300).run()
    _on(at, "rl")
    at.number_input(key="rl_iterations").set_value(2)
    at.text_input(key="rl_name").set_value("persist-test")
    at.button[0].click().run()
    assert not at.exception and not at.error

    def result_shown() -> bool:
        saved = any("persist-test" in shown(s.value) for s in at.success)
        return saved and any("shortfall" in chart.proto.spec for chart in at.get("plotly_chart"))

    assert result_shown()
    at.number_input(key="rl_paths").set_value(700).run()  # an input of the evaluation only
    assert not at.exception and result_shown()
    _on(at, "compare")
    _on(at, "rl")
    assert not at.exception and result_shown()
    at.number_input(key="shares.SYN-LARGE").set_value(123_000.0).run()  # a new order: the trained agent's result goes
    assert not at.exception and not result_shown()
