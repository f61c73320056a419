"""benchmarks.bench_desks_protocol's protocol desk against a real `streamlit run app.py`: it receives the figure the
app draws, one level of the benchmark (one desk, two moves, one join) runs without errors, and a move's BackMsg is
the one chromium sends."""

from __future__ import annotations

import argparse
import os

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg

from benchmarks import bench_desks_protocol as bench
from benchmarks.bench_desks import SLIDER, Desk, streamlit_server
from optexec.store.sample import build_sample_database
from tests.e2e.server import ROOT, free_port, run_coroutine, wait_idle


def test_protocol_desk_receives_the_apps_figures_and_times_its_moves(tmp_path):
    db_path = tmp_path / "db.duckdb"
    build_sample_database(db_path)
    env = {**os.environ, "OPTEXEC_DB": str(db_path)}
    with streamlit_server(ROOT / "app.py", free_port(), tmp_path / "app.log", env) as (url, pid):
        checked = run_coroutine(bench.check_figures(url, db_path, moves=2))
        args = argparse.Namespace(moves=2, think=0.1)
        desk, joiner = Desk("SYN-SMALL", "buy", 24_300, 0.5, 11), Desk("SYN-MID", "sell", 51_200, 1.0, 7)
        level = run_coroutine(bench.run_level(url, pid, [pid], True, [desk], [joiner], args))
    log = (tmp_path / "app.log").read_text()
    # a first load and two moves up from the page's default λ, each figure equal to AppTest's at that notch
    assert [notch for notch, _ in checked] == [10, 11, 12]
    assert all(same for _, same in checked), checked
    result = level.result
    assert result.errors == [], result.errors
    assert len(result.loads_s) == 1 and len(result.joins_s) == 1 and len(result.moves_s) >= 2
    assert all(0 < s < bench.MOVE_TIMEOUT_S for s in result.moves_s + result.loads_s + result.joins_s)
    # each move received at least the schedule chart again (a delta of tens of kB, or a reference to the cache)
    assert result.move_bytes > 1000 * len(result.moves_s)
    assert result.move_cpu_s["server"] > 0
    assert "Traceback" not in log


@pytest.mark.browser
def test_protocol_desk_sends_what_chromium_sends_for_a_move(browser, app_url):
    """The same link, the slider one notch up: the rerun BackMsg of the protocol desk carries the same query string,
    page, browser context and widget states (every widget's id and value) as chromium's."""
    link = "/?symbol=SYN-MID&side=buy&shares.SYN-MID=64300&horizon_days=2.0&risk_aversion=1e-06"
    page = browser.new_page()
    sent: list[bytes] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    page.goto(app_url + link)
    wait_idle(page)
    page.wait_for_selector(".main-svg")
    slider = page.get_by_role("slider", name=SLIDER)
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stCaptionContainer']\")]"
                           ".some(e => e.innerText.includes('λ = 2e-06 per'))", timeout=60_000)  # fmt: skip
    wait_idle(page)
    page.close()
    reruns = []
    for payload in sent:
        message = BackMsg()
        message.ParseFromString(payload)
        if message.WhichOneof("type") == "rerun_script":
            reruns.append(message.rerun_script)
    assert len(reruns) == 2, [r.query_string for r in reruns]  # the first run, then the move

    async def desk_move() -> BackMsg:
        desk = bench.ProtocolDesk(app_url, link)
        try:
            await desk.open()
            await desk.move(1, True)
        finally:
            await desk.close()
        return desk.sent

    mine = run_coroutine(desk_move()).rerun_script
    chromium = reruns[1]
    for name in ("query_string", "page_script_hash", "page_name", "context_info"):
        assert getattr(mine, name) == getattr(chromium, name), name
    widgets = {w.id: w for w in mine.widget_states.widgets}
    theirs = {w.id: w for w in chromium.widget_states.widgets}
    assert widgets.keys() == theirs.keys()
    assert [i for i in widgets if widgets[i] != theirs[i]] == []
    assert any(
        w.id.endswith("-risk_aversion") and list(w.string_array_value.data) == ["2e-06"] for w in widgets.values()
    )
