"""Run ``python -m optexec`` as separate processes on a store, and make the files they load (tests only)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


def start(store: Path, *args: str, **env: str) -> subprocess.Popen:
    """``python -m optexec --db STORE ARGS`` started in the background (``env``: extra environment variables)."""
    return subprocess.Popen(
        [sys.executable, "-m", "optexec", "--db", str(store), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) once the process has ended."""
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def run(store: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run one command to its end: (exit status, stdout, stderr)."""
    return finish(start(store, *args, **env))


def bars_file(store: Path, path: Path, symbol: str, scale: float = 2.0, copies: int = 1, shift_days: int = 0) -> Path:
    """A bars CSV of a new symbol made from the sample's SYN-MID bars: prices times ``scale``, times moved by
    ``shift_days`` (a multiple of 7 keeps the weekdays); ``copies`` symbols ``symbol``, ``symbol``-1, ... make a
    longer load."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        names = [symbol] + [f"{symbol}-{k}" for k in range(1, copies)]
        union = " UNION ALL ".join(
            f"SELECT '{name}' AS symbol, strftime(ts + INTERVAL {int(shift_days)} DAY, '%Y-%m-%dT%H:%M:%SZ') AS ts, "
            f"open * {float(scale)} AS open, high * {float(scale)} AS high, low * {float(scale)} AS low, "
            f"close * {float(scale)} AS close, volume FROM bars WHERE symbol = 'SYN-MID'"
            for name in names
        )  # names and numbers made by the tests themselves
        con.execute(f"COPY ({union} ORDER BY symbol, ts) TO '{path}' (HEADER)")
    finally:
        con.close()
    return path


def instruments_file(path: Path, symbol: str) -> Path:
    """An instruments CSV for one New York symbol (its market: 09:30-16:00 every weekday)."""
    path.write_text(f"symbol,time_zone,name\n{symbol},America/New_York,test instrument\n")
    return path
