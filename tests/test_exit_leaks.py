"""Nothing is left for DuckDB's bindings to report at exit (issue 16): no "nanobind: leaked ..." text on stderr
after a process that opened the store and planned, nor after the app ran (it freezes the garbage collector)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PLAN = """
import threading
from optexec.models import Order
from optexec.planning import make_plan
from optexec.store import db
from optexec import market_source

con = db.connect(read_only=True)  # a command line's long-lived handle, never closed by the script
symbol = db.list_symbols(con)[0]
reader = db.open_database(db.resolve_path(), read_only=True)  # a caller's own connection, left open too
market = market_source.symbol_params(con, symbol).market
plan = make_plan(Order(symbol, "buy", 10_000, 1.0, 13), market, {}, ["twap", "ac_discrete"])
assert plan.rows and all(row.error is None for row in plan.rows), plan.rows
threading.Thread(target=threading.Event().wait, daemon=True).start()  # a thread still alive at exit
print("planned", len(plan.rows))
"""

APP = f"""
from optexec.store import db

db.open_database(db.resolve_path(), read_only=True).close()  # duckdb first: its objects are then frozen too
from streamlit.testing.v1 import AppTest

at = AppTest.from_file({str(ROOT / "tests" / "app_entry.py")!r}, default_timeout=120).run()
assert not at.exception, at.exception
print("app ran")
"""


def _run(code: str, database: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPTEXEC_DB": str(database)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_a_process_that_opens_the_store_and_plans_leaks_nothing_at_exit(_private_sample_database):
    done = _run(PLAN, _private_sample_database)
    assert done.returncode == 0, done.stderr
    assert "planned 2" in done.stdout
    assert "leaked" not in done.stderr, done.stderr[:2000]


def test_the_app_leaks_nothing_at_exit(_private_sample_database):
    done = _run(APP, _private_sample_database)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "app ran" in done.stdout
    assert "leaked" not in done.stderr, done.stderr[:2000]
