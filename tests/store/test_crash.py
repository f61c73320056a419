"""Crash safety: SIGKILL a loading process mid-file; the file's rows are all there or none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from .conftest import BAR_HEADER

ROWS = 200_000
CHILD = r"""
import sys, time
from optexec.store import db, loading
con = db.open_database(sys.argv[1])
def progress(fraction, text):
    print(text, flush=True)
    if sys.argv[3] == "pause" and text == "committing":
        time.sleep(600)   # rows inserted, transaction open: the parent kills us here
loading.load_file(con, sys.argv[2], progress=progress)
print("finished", flush=True)
"""


def big_csv(path: Path) -> Path:
    import numpy as np
    import pandas as pd

    ts = pd.date_range("2025-01-02 14:30", periods=ROWS, freq="min").strftime("%Y-%m-%dT%H:%M:%SZ")
    frame = pd.DataFrame(
        {"symbol": "CRASH", "ts": ts, "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.0, "volume": np.arange(ROWS)}
    )
    path.write_text(BAR_HEADER + frame.to_csv(index=False, header=False))
    return path


def rows_after_reopen(db_path: Path) -> int:
    """Rows of bars after the crash (0 when the kill came before the schema was committed)."""
    con = duckdb.connect(str(db_path))
    try:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'bars'").fetchone()[0]:
            return 0
        return con.execute("SELECT count(*) FROM bars").fetchone()[0]
    finally:
        con.close()


def run_child(db_path, csv_path, mode):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db_path), str(csv_path), mode], stdout=subprocess.PIPE, text=True, env=env
    )


def test_kill_after_insert_before_commit_leaves_nothing(tmp_path):
    csv_path = big_csv(tmp_path / "big.csv")
    db_path = tmp_path / "crash.duckdb"
    child = run_child(db_path, csv_path, "pause")
    for line in child.stdout:
        if line.strip() == "committing":
            break
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert child.returncode == -signal.SIGKILL
    assert rows_after_reopen(db_path) == 0


def test_kill_at_random_moments_is_all_or_nothing(tmp_path):
    csv_path = big_csv(tmp_path / "big.csv")
    outcomes = []
    for k, delay in enumerate((0.3, 0.8, 1.5)):
        db_path = tmp_path / f"crash{k}.duckdb"
        child = run_child(db_path, csv_path, "run")
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        n = rows_after_reopen(db_path) if db_path.exists() else 0
        assert n in (0, ROWS)
        outcomes.append(n)
    # reopening after a crash still accepts the load
    from optexec.store import db, loading

    con = db.open_database(tmp_path / "crash0.duckdb")
    report = loading.load_file(con, csv_path)
    assert report.rows_loaded + report.rows_already_present == ROWS
    con.close()
