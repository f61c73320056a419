"""Universe calibration (optexec.calibration.universe, issue 18): serial and Dask give the same numbers, a symbol with
bad data fails alone, a real scheduler and worker started as separate processes, one transaction for the results."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optexec.calibration import run, universe
from optexec.cli import main
from optexec.engines import EngineChoice, single_threaded_blas
from optexec.store import db, lake

ROOT = Path(__file__).resolve().parents[1]
GOOD = ("SYN-MID", "SYN-SMALL", "SYN-LARGE")
BAD = "SYN-BAD"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A copy of the sample store with one more symbol whose bars all fall outside its session (bad data)."""
    path = tmp_path_factory.mktemp("universe") / "store.duckdb"
    shutil.copy(db.resolve_path(), path)
    con = db.open_database(path)
    try:
        con.execute(
            "INSERT INTO instruments (symbol, time_zone, session_open, session_close) "
            "VALUES (?, 'America/New_York', '09:30', '16:00')",
            [BAD],
        )
        con.execute(  # 03:00 UTC is 22:00 in New York: every bar outside the regular session
            "INSERT INTO bars SELECT ?, TIMESTAMP '2025-01-03 03:00' + INTERVAL (i) MINUTE, 10, 10, 10, 10, 100 "
            "FROM range(30) t(i)",
            [BAD],
        )
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def lake_dir(store, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("universe") / "lake"
    with db.reading(store) as con:
        lake.export_lake(con, folder, symbols=[*GOOD[:2], BAD])
    return folder


def _same(a: run.Calibration, b: run.Calibration) -> None:
    assert a.estimates.keys() == b.estimates.keys()
    for name, e in a.estimates.items():
        f = b.estimates[name]
        for x, y in ((e.value, f.value), (e.stderr, f.stderr)):
            assert (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0), (a.symbol, name)
    assert (a.volume_profile.share == b.volume_profile.share).all()
    assert a.warnings == b.warnings


def _check(outcomes: list[universe.SymbolOutcome], symbols: tuple[str, ...]) -> dict[str, universe.SymbolOutcome]:
    by = {o.symbol: o for o in outcomes}
    assert [o.symbol for o in outcomes] == list(symbols)
    assert not by[BAD].ok and "no regular-session bars" in by[BAD].error
    assert all(by[s].ok for s in symbols if s != BAD)
    return by


def test_serial_and_a_local_dask_cluster_agree_and_the_bad_symbol_fails_alone(store):
    symbols = (GOOD[0], BAD, GOOD[1], GOOD[2])
    seen: list[tuple[str, int, int]] = []
    with db.reading(store) as con:
        serial = universe.calibrate_symbols(list(symbols), EngineChoice("serial"), store=con)

        def note(outcome, done, total):
            seen.append((outcome.symbol, done, total))

        parallel = universe.calibrate_symbols(list(symbols), EngineChoice("dask", workers=2), store=con, on_done=note)
        with single_threaded_blas():  # calibrate --symbol's way: the store's own connection
            single = run.calibrate(con, GOOD[0])
    a, b = _check(serial, symbols), _check(parallel, symbols)
    assert sorted(s for s, _, _ in seen) == sorted(symbols) and [d for _, d, _ in seen] == [1, 2, 3, 4]
    assert all(t == 4 for _, _, t in seen)
    assert {b[s].worker for s in GOOD} <= {o.worker for o in parallel} and b[GOOD[0]].worker.startswith("tcp://")
    for s in GOOD:
        _same(a[s].calibration, b[s].calibration)
    _same(single, a[GOOD[0]].calibration)
    assert a[BAD].error == b[BAD].error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scheduler_address():
    """A real ``dask scheduler`` and one ``dask worker`` as separate processes on 127.0.0.1, stopped afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)]
    try:
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "1",
                  "--no-dashboard"]  # fmt: skip
        procs.append(subprocess.Popen(worker, **quiet))
        import distributed

        deadline = time.monotonic() + 60
        while True:
            try:
                with distributed.Client(address, timeout=5) as client:
                    client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_a_real_scheduler_and_worker_calibrate_from_the_lake(store, lake_dir, scheduler_address, tmp_path, capsys):
    target = tmp_path / "results.duckdb"
    symbols = f"{GOOD[0]},{BAD},{GOOD[1]}"
    argv = ["calibrate", "--db", str(target), "--lake", str(lake_dir), "--symbols", symbols, "--engine", "dask",
            "--scheduler", scheduler_address, "--json"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["engine"] == f"Dask, the scheduler at {scheduler_address}"
    assert out["calibrated"] == 2 and [f["symbol"] for f in out["failed"]] == [BAD]
    assert all(s["worker"].startswith("tcp://127.0.0.1:") for s in out["symbols"])
    assert sum(f"] {s} " in captured.err for s in (GOOD[0], BAD, GOOD[1])) == 3  # one progress line per symbol
    with db.reading(store) as con, single_threaded_blas():
        expected = {s: run.calibrate(con, s) for s in GOOD[:2]}
    with db.reading(target) as con:
        for s, calibration in expected.items():
            stored = run.latest_calibration(con, s)
            assert stored is not None
            for name, value in stored.values.items():
                assert math.isclose(value, calibration.estimates[name].value, rel_tol=1e-12), (s, name)
        assert run.latest_run(con, BAD) is None


def test_the_results_are_saved_in_one_transaction(store, tmp_path):
    path = tmp_path / "copy.duckdb"
    shutil.copy(store, path)
    with db.reading(path) as con:
        outcomes = universe.calibrate_symbols([GOOD[0], BAD, GOOD[1]], EngineChoice("serial"), store=con)
    short = outcomes[0].calibration
    from dataclasses import replace

    refused = replace(short, days=3)  # too few days to accept: the whole batch must be refused, nothing written
    with db.writing(path) as con:
        before = con.execute("SELECT count(*) FROM calibration_runs").fetchone()[0]
        from optexec.calibration import storage

        with pytest.raises(ValueError, match="not acceptable"):
            storage.save_many(con, [(outcomes[2].calibration, True), (refused, True)])
        assert con.execute("SELECT count(*) FROM calibration_runs").fetchone()[0] == before
        saved, accepted = universe.save_universe(con, outcomes)
        assert con.execute("SELECT count(*) FROM calibration_runs").fetchone()[0] == before + 2
        assert accepted == {GOOD[0]: True, GOOD[1]: True}
        assert all(o.calibration.run_ts is not None for o in saved if o.ok)


def test_the_command_line_lists_each_symbol_and_exits_2_when_none_calibrates(store, tmp_path, capsys):
    path = tmp_path / "copy.duckdb"
    shutil.copy(store, path)
    with db.reading(path) as con:
        before = con.execute("SELECT count(*) FROM calibration_runs").fetchone()[0]
    assert main(["calibrate", "--db", str(path), "--symbols", f"{GOOD[1]},{BAD},NOPE", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "1 of 3 symbols calibrated" in captured.out
    assert f"{BAD:16s}failed: " in captured.out and "NOPE is not in the store" in captured.out
    assert "[3/3]" in captured.err
    with db.reading(path) as con:  # --dry-run: nothing saved
        assert con.execute("SELECT count(*) FROM calibration_runs").fetchone()[0] == before
    assert main(["calibrate", "--db", str(path), "--symbols", BAD]) == 2
    assert main(["calibrate", "--db", str(path), "--symbols", BAD, "--engine", "serial", "--workers", "2"]) == 2
    assert "--workers and --scheduler need --engine dask" in capsys.readouterr().err


def test_tasks_run_with_one_blas_thread_and_the_thread_counts_come_back():
    from optexec import engines

    libraries = engines._blas_libraries()
    assert libraries, "numpy's OpenBLAS is loaded and found"
    before = [get() for get, _ in libraries]
    with engines.single_threaded_blas():
        assert [get() for get, _ in libraries] == [1] * len(libraries)
    assert [get() for get, _ in libraries] == before


def test_the_calibrate_page_calibrates_many_symbols_on_dask(store, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from optexec.ui import universe_view

    path = tmp_path / "page.duckdb"
    shutil.copy(store, path)
    db.close_all()
    monkeypatch.setenv("OPTEXEC_DB", str(path))
    try:
        at = AppTest.from_file(str(ROOT / "pages" / "calibrate.py"), default_timeout=180).run()
        assert not at.exception and not at.error
        assert at.button(key="uni_run").disabled  # nothing chosen yet
        at.multiselect(key="uni_symbols").set_value([GOOD[1], BAD])
        at.radio(key="uni_engine").set_value(universe_view.DASK).run()
        at.number_input(key="uni_workers").set_value(1)
        at.button(key="uni_run").click().run()
        assert not at.exception and not at.error
        tables = [d.value for d in at.dataframe if "ran on" in d.value.columns and "status" in d.value.columns]
        table = tables[-1].set_index("symbol")
        assert list(table.index) == [GOOD[1], BAD]
        assert table.loc[GOOD[1], "status"] == "ok" and table.loc[BAD, "status"] == "failed"
        assert "no regular-session bars" in table.loc[BAD, "failed because"]
        assert {"warnings", "σ (fraction of price/√day)", "ADV (shares/day)"} <= set(table.columns)
        assert table.loc[GOOD[1], "ran on"].startswith("tcp://")
        said = [m.value.replace("\\", "") for m in at.markdown]  # the page escapes markdown punctuation
        assert any(f"{BAD} failed: " in w.value.replace("\\", "") for w in at.warning)
        assert any("on Dask, a local cluster of 1 worker processes" in m for m in said), said
        progress = [d.value for d in at.dataframe if "state" in d.value.columns]
        assert progress and sorted(progress[-1]["symbol"]) == sorted([GOOD[1], BAD])
    finally:
        db.close_all()
    with db.reading(path) as con:
        assert run.latest_calibration(con, GOOD[1]) is not None
