"""benchmarks.bench_desks_protocol's protocol desk against a real `streamlit run app.py`: it receives the figure the
app draws, and one level of the benchmark (one desk, two moves, one join) runs without errors."""

from __future__ import annotations

import argparse
import asyncio
import os

from benchmarks import bench_desks_protocol as bench
from benchmarks.bench_desks import Desk, streamlit_server
from optexec.store.sample import build_sample_database
from tests.e2e.server import ROOT, free_port


def test_protocol_desk_receives_the_apps_figures_and_times_its_moves(tmp_path):
    db_path = tmp_path / "db.duckdb"
    build_sample_database(db_path)
    env = {**os.environ, "OPTEXEC_DB": str(db_path)}
    with streamlit_server(ROOT / "app.py", free_port(), tmp_path / "app.log", env) as (url, pid):
        checked = asyncio.run(bench.check_figures(url, db_path, moves=2))
        args = argparse.Namespace(moves=2, think=0.1)
        desk, joiner = Desk("SYN-SMALL", "buy", 24_300, 0.5, 11), Desk("SYN-MID", "sell", 51_200, 1.0, 7)
        level = asyncio.run(bench.run_level(url, pid, [pid], True, [desk], [joiner], args))
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
