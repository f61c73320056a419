"""The command line and the app on one store at once, with real processes (optexec.store.db, optexec.cli).

Each test works on its own copy of the bundled sample database. The plans run as ``python -m optexec`` processes,
as a trader would run them from terminals next to the app.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optexec.store import sample
from optexec.store.db import WAIT_ENV_VAR
from tests.cli_processes import bars_file, finish, instruments_file, run, start
from tests.e2e.server import running_app, wait_idle

PLAN = ["plan", "--symbol", "SYN-LARGE", "--side", "buy", "--shares", "200000", "--horizon-days", "1", "--slices",
        "10", "--json"]  # fmt: skip
MARKET = ["--price", "50", "--sigma", "0.95", "--spread", "0.125", "--adv", "5e6"]
PARALLEL = 16

# a process that holds the database file read-write until killed (it prints "held" once it has it)
HOLDER = "import duckdb, sys, time\ncon = duckdb.connect(sys.argv[1])\nprint('held', flush=True)\ntime.sleep(600)\n"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    sample.build_sample_database(path)
    return path


@pytest.fixture
def store(sample_db, tmp_path) -> Path:
    """A private copy of the sample database."""
    path = tmp_path / "store.duckdb"
    shutil.copy(sample_db, path)
    return path


@pytest.fixture
def holder(store):
    """Another process holding the store read-write (as a long load would)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(store)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait(30)


@pytest.mark.parametrize("market", [[], MARKET], ids=["stored", "price-sigma-spread-adv-given"])
def test_sixteen_parallel_plans_give_one_answer(store, market):
    procs = [start(store, *PLAN, *market) for _ in range(PARALLEL)]
    results = [finish(p) for p in procs]
    assert [code for code, _, _ in results] == [0] * PARALLEL, [err for _, _, err in results if err]
    outputs = {out for _, out, _ in results}
    assert len(outputs) == 1
    planted = sample.planted_market_params("SYN-LARGE")
    used = json.loads(outputs.pop())["market"]
    # the stored (planted) impact, never the rules of thumb spread/(1% ADV) = 2.5e-6 for the MARKET values
    assert used["eta_usd_day_per_share2"] == pytest.approx(planted.eta_usd_day_per_share2)
    assert used["gamma_usd_per_share2"] == pytest.approx(planted.gamma_usd_per_share2)
    assert used["price_usd"] == (50.0 if market else pytest.approx(planted.price_usd))


def test_plans_during_a_load_wait_or_fail_loudly_never_differ(store, tmp_path):
    reference = run(store, *PLAN, *MARKET)
    assert reference[0] == 0, reference[2]
    big = bars_file(store, tmp_path / "new.csv", "NEW", copies=8)  # 193,440 rows
    load = start(store, "load", str(big))
    plans = []
    for _ in range(PARALLEL):
        plans.append(start(store, *PLAN, *MARKET))
        time.sleep(0.05)
    load_code, load_out, load_err = finish(load)
    assert load_code == 0, load_err
    assert "193,440 rows loaded into bars" in load_out
    for code, out, err in map(finish, plans):
        if code == 0:
            assert out == reference[1]
        else:  # gave up waiting: says so in one line, prints no numbers
            assert code == 2 and out == "" and "busy" in err and len(err.strip().splitlines()) == 1
    assert json.loads(run(store, "db", "info", "--json")[1])["tables"]["bars"]["symbols"] == 4 + 8


@pytest.mark.parametrize("market", [[], MARKET], ids=["stored", "price-sigma-spread-adv-given"])
def test_a_store_held_past_the_wait_is_an_error_not_a_fallback(store, holder, market):
    started = time.monotonic()
    code, out, err = run(store, *PLAN, *market, **{WAIT_ENV_VAR: "0.5"})
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"is busy: process {holder.pid}" in err and "open for writing" in err
    assert "stop the app" not in err
    assert time.monotonic() - started < 60


def test_a_plan_waits_for_a_short_hold_and_a_writer_says_it_waits(store, tmp_path):
    reference = run(store, *PLAN)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(store)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    try:
        plan = start(store, *PLAN)
        load = start(store, "load", str(instruments_file(tmp_path / "inst.csv", "NEW")))
        notice = load.stderr.readline()  # the load is waiting (and the plan, started first, too)
        time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait(30)
    assert notice.startswith(f"waiting for the database {store}: held by process {proc.pid}")
    assert finish(plan) == reference  # the same plan, and nothing on stderr
    code, out, err = finish(load)
    assert code == 0 and "1 rows loaded into instruments" in out and err == "", err


def test_a_missing_or_broken_store_is_an_error_even_with_every_value_given(tmp_path):
    for path in (tmp_path / "missing.duckdb", tmp_path / "broken.duckdb"):
        if path.name == "broken.duckdb":
            path.write_text("not a database\n" * 100)
        code, out, err = run(path, *PLAN, *MARKET, "--eta", "1e-7", "--gamma", "1e-8")
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "cannot read the symbol's parameters" in err and str(path) in err
    assert not (tmp_path / "missing.duckdb").exists()  # a reader creates nothing


@pytest.mark.browser
def test_the_command_line_works_while_the_app_runs(store, tmp_path, browser):
    with running_app(store, tmp_path / "st.log") as url:
        page = browser.new_page()
        try:
            page.goto(url)
            wait_idle(page)
            page.wait_for_selector("[data-testid='stMetricValue']", timeout=60_000)  # the app read the store
            instruments = instruments_file(tmp_path / "inst.csv", "NEW")
            code, out, err = run(store, "load", str(instruments))
            assert code == 0 and "1 rows loaded into instruments" in out, err
            code, out, err = run(store, "load", str(bars_file(store, tmp_path / "new.csv", "NEW")))
            assert code == 0 and "24,180 rows loaded into bars" in out, err
            code, out, err = run(store, "calibrate", "--symbol", "NEW", "--json")
            assert code == 0, err
            assert json.loads(out)["accepted"] is True
            code, out, err = run(store, "db", "info", "--json")
            assert code == 0 and json.loads(out)["tables"]["bars"]["symbols"] == 5, err
            page.reload()  # the app reads the store again between the command-line runs
            wait_idle(page)
            page.wait_for_selector("[data-testid='stMetricValue']", timeout=60_000)
            code, out, err = run(store, "plan", "--symbol", "NEW", "--side", "sell", "--shares", "1e5",
                                 "--horizon-days", "1", "--slices", "5", "--json")  # fmt: skip
            assert code == 0, err
            assert json.loads(out)["market"]["price_usd"] > 0
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            page.close()
    assert "Traceback" not in (tmp_path / "st.log").read_text()
