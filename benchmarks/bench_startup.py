"""Benchmark of the command line's start-up and of a whole-process load, side by side with bare references.

Each row is a fresh process, timed from start to exit (median of ``--repeat`` runs): wall seconds and CPU seconds
(user + system, of the child). References: bare Python (``python -c pass``), Python importing DuckDB, and a bare
DuckDB insert of the same CSV of one-minute bars in a fresh process. Targets (issue 16): ``optexec --help`` under
0.3 s, ``optexec db info`` under 0.6 s, a whole-process ``optexec load`` of 1,000,000 bars within 2x the bare
whole-process insert. A last row loads the same file with its times read as New York local time (``--tz
America/New_York``: each time checked against the DST changes).

A load naming a calendar reads its trading days from a table built from ``exchange_calendars`` on first use and
cached (``optexec.store.calendars``; the benchmark uses cache folders of its own): a load with an empty cache, which
builds that table, is shown on a row of its own; the timed load rows after it find it cached.

    python -m benchmarks.bench_startup [--rows 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.bench_store import MAKE_BARS

ROOT = Path(__file__).resolve().parents[1]

BARE_INSERT = """
import sys, duckdb
sys.path.insert(0, sys.argv[1])
from optexec.store.schema import TABLES
con = duckdb.connect(sys.argv[3])
con.execute(TABLES["bars"].ddl())
columns = {c.name: c.sql_type for c in TABLES["bars"].columns}
con.execute("INSERT INTO bars SELECT * FROM read_csv($p, header=true, columns=$c)", {"p": sys.argv[2], "c": columns})
con.close()
"""


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one process run to its end; a failing run stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(repeat: int, make_argv, env) -> tuple[float, float]:
    runs = [timed(make_argv(k), env) for k in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="bars in the load rows")
    parser.add_argument("--repeat", type=int, default=5, help="runs per row (the median is shown)")
    args = parser.parse_args()
    py, optexec = sys.executable, [sys.executable, "-m", "optexec"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = work / "store.duckdb"
        cache = work / "cache"  # the calendars' tables, for the rows before the loads
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OPTEXEC_DB": str(store), "OPTEXEC_CACHE_DIR": str(cache)}
        subprocess.run([*optexec, "db", "init", "--sample"], env=env, check=True, stdout=subprocess.DEVNULL)
        csv = work / "bars.csv"
        con = duckdb.connect()
        con.execute(f"COPY ({MAKE_BARS.replace('$rows', str(args.rows))}) TO '{csv}' (HEADER)")
        con.close()
        order = ["--symbol", "SYN-LARGE", "--side", "buy", "--shares", "2e5", "--horizon-days", "0.5", "--slices", "13"]
        rows = [
            ("bare Python (python -c pass)", lambda k: [py, "-c", "pass"], None),
            ("Python + import duckdb", lambda k: [py, "-c", "import duckdb"], None),
            ("optexec --help", lambda k: [*optexec, "--help"], 0.3),
            ("optexec db info", lambda k: [*optexec, "db", "info"], 0.6),
            ("optexec plan ... --json", lambda k: [*optexec, "plan", *order, "--json"], None),
        ]

        def load(zone: str, name: str):
            return lambda k: [*optexec, "load", str(csv), "--table", "bars", "--tz", zone, "--calendar", "XNYS",
                              "--db", str(work / f"{name}{k}.duckdb")]  # fmt: skip

        load_rows = [
            (f"optexec load, {args.rows:,}, empty cache", load("UTC", "first")),
            (
                f"bare DuckDB insert, {args.rows:,} bars",
                lambda k: [py, "-c", BARE_INSERT, str(ROOT), str(csv), str(work / f"bare{k}.duckdb")],
            ),  # fmt: skip
            (f"optexec load, {args.rows:,} bars", load("UTC", "load")),
            # the same file's times read as New York local time: every one is checked against the DST changes
            (f"optexec load --tz America/New_York, {args.rows:,}", load("America/New_York", "local")),
        ]
        print(f"{'process':44s}{'wall s':>9s}{'CPU s':>9s}{'target':>10s}")
        for label, make, target in rows:
            wall, cpu = median_of(args.repeat, make, env)
            goal = f"< {target:g} s" if target else ""
            print(f"{label:44s}{wall:9.3f}{cpu:9.3f}{goal:>10s}")
        results = {}
        # the first load has an empty cache folder of its own: it builds the calendar's table, which the timed loads
        # then find there
        loads = {**env, "OPTEXEC_CACHE_DIR": str(work / "load-cache")}
        for n, (label, make) in enumerate(load_rows):
            results[label] = median_of(1 if n == 0 else max(1, args.repeat // 2), make, loads)
            print(f"{label:44s}{results[label][0]:9.3f}{results[label][1]:9.3f}")
        (first_wall, _), (bare_wall, _), (load_wall, _), (local_wall, _) = results.values()
        print(f"\nwhole-process load / bare whole-process insert = {load_wall / bare_wall:.2f}x (target <= 2x)")
        print(f"the same with New York local times / bare insert = {local_wall / bare_wall:.2f}x")
        print(f"the first load (building the calendar's cached table) / bare insert = {first_wall / bare_wall:.2f}x")
        print(f"machine load average at the end: {os.getloadavg()[0]:.2f} (a quiet 2-core machine reads < 0.3)")


if __name__ == "__main__":
    main()
