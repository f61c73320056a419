"""Nothing is left for DuckDB's bindings to report at exit (issue 16): no "nanobind: leaked ..." text on stderr
after a process that opened the store and planned, nor after the app ran (it freezes the garbage collector), nor
after a test run where Hypothesis kept a page module an in-process app run had left behind (tests/conftest.py)."""

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


#: a page run, a property test (Hypothesis reads its constants from that page's module and keeps the module), a
#: second page run (which replaces the first page's module in sys.modules); the last test checks the first page's
#: module, DuckDB cursor in its globals, is still alive then: the case the test run's end must let go of
PAGE_RUNS = """
import gc
import sys
import types
from pathlib import Path

from hypothesis import given, settings, strategies
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).with_name("store_page.py"))


def test_a_page_runs():
    assert not AppTest.from_file(PAGE, default_timeout=120).run().exception


@settings(max_examples=5, database=None, derandomize=True)
@given(strategies.lists(strategies.integers(), min_size=100, max_size=100))
def test_a_property(numbers):  # 500 draws: Hypothesis reads the modules' constants for one in 20 draws
    assert len(numbers) == 100


def test_a_second_page_run_leaves_the_first_page_module_behind():
    assert not AppTest.from_file(PAGE, default_timeout=120).run().exception
    gc.collect()
    left = [m for m in gc.get_objects() if isinstance(m, types.ModuleType) and m.__name__ == "__main__"
            and m is not sys.modules["__main__"] and getattr(m, "__file__", None) == PAGE]
    assert left and "DuckDBPyConnection" in {type(v).__name__ for v in vars(left[0]).values()}
"""


def _run(code: str, database: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPTEXEC_DB": str(database)}
    command = [sys.executable, *args] if args else [sys.executable, "-c", code]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


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


#: a page that reads the store at its top level, so its module keeps the cursor in its globals (``with db.reading()
#: as con`` leaves ``con``), as the app's pages did until their reads moved into cached functions; beside the test
#: file, not under tests/ (Hypothesis reads no constants from files there)
STORE_PAGE = """
import streamlit as st

from optexec.store import db

with db.reading() as con:
    symbols = db.list_symbols(con)
st.write(f"{len(symbols)} symbols")
"""


def test_a_test_run_that_left_a_page_module_behind_leaks_nothing_at_exit(_private_sample_database, tmp_path):
    tests = tmp_path / "test_page_runs.py"
    tests.write_text(PAGE_RUNS)
    (tmp_path / "store_page.py").write_text(STORE_PAGE)
    done = _run("", _private_sample_database, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                "--rootdir", str(tmp_path), str(tests))  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout
    assert "leaked" not in done.stderr, done.stderr[:2000]
