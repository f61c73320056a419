"""Benchmark of the market-data store: loading 1,000,000 one-minute bars and a calibration query.

Prints a table: rows/s and peak memory (max RSS of a fresh process doing only that step) for
  * bare DuckDB ``read_csv`` / ``read_parquet`` insert into the same table (the reference),
  * the validated ``optexec.store.loading.load_file`` load of the same files,
and the time of the calibration-style query (median share of volume per minute of day over all days).
Targets: validated CSV load within 2x the bare CSV insert; the query under 0.5 s.

    python benchmarks/bench_store.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAKE_BARS = """
SELECT 'BENCH-' || lpad(CAST(i // 100000 AS VARCHAR), 2, '0') AS symbol,
       TIMESTAMP '2024-01-02 14:30:00' + INTERVAL 1 DAY * ((i % 100000) // 390) + INTERVAL 1 MINUTE * (i % 390) AS ts,
       round(100 + 10 * sin(i / 5000.0), 4) AS open,
       round(100 + 10 * sin(i / 5000.0) + 0.05 + 0.02 * (i % 7), 4) AS high,
       round(100 + 10 * sin(i / 5000.0) - 0.05 - 0.02 * (i % 5), 4) AS low,
       round(100 + 10 * sin((i + 1) / 5000.0), 4) AS close,
       CAST(100 + (i * 7919) % 5000 AS DOUBLE) AS volume
FROM range($rows) AS r(i)
"""

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import duckdb
from optexec.store import db, loading
from optexec.store.schema import TABLES
mode, path, db_path = sys.argv[2], sys.argv[3], sys.argv[4]
con = duckdb.connect(db_path)
con.execute(TABLES["bars"].ddl())
started = time.perf_counter()
if mode == "bare-csv":
    columns = {c.name: c.sql_type for c in TABLES["bars"].columns}
    con.execute("INSERT INTO bars SELECT * FROM read_csv($p, header=true, columns=$c)", {"p": path, "c": columns})
elif mode == "bare-parquet":
    con.execute("INSERT INTO bars SELECT * FROM read_parquet($p)", {"p": path})
else:
    con.close()
    con = db.open_database(db_path)
    started = time.perf_counter()
    report = loading.load_file(con, path, table="bars", tz="UTC", calendar="XNYS")  # a new market: say which
    assert report.rows_rejected == 0
seconds = time.perf_counter() - started
rows = con.execute("SELECT count(*) FROM bars").fetchone()[0]
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak_mb}))
"""


def run_case(mode: str, path: Path, workdir: Path, k: int) -> dict:
    db_path = workdir / f"{mode}-{k}.duckdb"
    # the calendar's table is cached in the benchmark's own folder (optexec.store.calendars): built by the first
    # validated run, read by the others (the median of the runs is shown)
    env = {**os.environ, "OPTEXEC_CACHE_DIR": str(workdir / "cache")}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), mode, str(path), str(db_path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["db"] = db_path
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="optexec-bench-") as tmp:
        workdir = Path(tmp)
        csv_path, parquet_path = workdir / "bars.csv", workdir / "bars.parquet"
        con = duckdb.connect()
        con.execute(f"COPY ({MAKE_BARS}) TO '{csv_path}' (HEADER, DELIMITER ',')", {"rows": args.rows})
        con.execute(f"COPY ({MAKE_BARS}) TO '{parquet_path}' (FORMAT parquet)", {"rows": args.rows})
        con.close()
        print(
            f"{args.rows:,} one-minute bars; CSV {csv_path.stat().st_size / 1e6:.0f} MB, "
            f"Parquet {parquet_path.stat().st_size / 1e6:.0f} MB; median of {args.repeat} runs, each in a fresh process"
        )
        results = {}
        for mode, path in (
            ("bare-csv", csv_path),
            ("validated-csv", csv_path),
            ("bare-parquet", parquet_path),
            ("validated-parquet", parquet_path),
        ):
            runs = [run_case(mode, path, workdir, k) for k in range(args.repeat)]
            assert all(r["rows"] == args.rows for r in runs), runs
            results[mode] = {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "peak_mb": max(r["peak_mb"] for r in runs),
                "db": runs[0]["db"],
            }
        print(f"\n{'step':22s}{'seconds':>9s}{'rows/s':>13s}{'peak MB':>9s}{'vs bare':>9s}")
        for mode, r in results.items():
            bare = results["bare-" + mode.split("-")[1]]["seconds"]
            print(
                f"{mode:22s}{r['seconds']:9.3f}{args.rows / r['seconds']:13,.0f}{r['peak_mb']:9.0f}"
                f"{r['seconds'] / bare:8.2f}x"
            )
        from optexec.store.queries import volume_share_by_minute

        con = duckdb.connect(str(results["validated-csv"]["db"]), read_only=True)
        volume_share_by_minute(con)  # warm-up
        times = []
        for _ in range(5):
            started = time.perf_counter()
            shares = volume_share_by_minute(con)
            times.append(time.perf_counter() - started)
        con.close()
        print(
            f"\ncalibration query (median volume share per minute of day, {len(shares):,} rows out): "
            f"median {statistics.median(times):.3f} s, best {min(times):.3f} s (target < 0.5 s)"
        )
        ratio = results["validated-csv"]["seconds"] / results["bare-csv"]["seconds"]
        print(f"validated CSV load / bare read_csv insert = {ratio:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
