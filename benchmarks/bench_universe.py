"""Benchmark: calibrate a universe of synthetic symbols from a Parquet lake, serial against a local Dask cluster.

Generates ``--symbols`` (default 200) synthetic symbols x ``--days`` (60) days of one-minute bars, trades and quotes
with the bundled sample's generator (optexec.store.synthetic, each symbol its own price, volatility, ADV and spread)
into a DuckDB store, exports it to a lake (``export --lake``), then calibrates every symbol, side by side in one run:

* serial from the lake (this machine, one process),
* Dask from the lake, a local cluster of ``--workers`` (2) worker processes,
* Dask from the DuckDB file (each symbol's rows read in the client and shipped to the workers),

each in its own child process (so that its peak memory is its own), saving the results to the store in one
transaction. It prints the data's size (rows, Parquet bytes) and, per run, the seconds in all and per symbol, the
mean task time and the peak RSS of each process that ran tasks; and one symbol over ``--long-days`` (252) days, the
per-symbol figure for a year of data. It checks that the engines give the same numbers.

Run: ``PYTHONPATH=. python -m benchmarks.bench_universe [--symbols 200] [--days 60] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from optexec.store import db, synthetic
from optexec.store.schema import TABLES

PARAMETERS = ("sigma_daily", "adv_shares", "spread", "eta", "gamma", "transient_decay_per_day")


def _opens(days: int) -> np.ndarray:
    trading = pd.bdate_range(synthetic.FIRST_DAY, periods=days)
    opens = (trading + pd.Timedelta(hours=9, minutes=30)).tz_localize(synthetic.TIME_ZONE).tz_convert("UTC")
    return opens.tz_localize(None).values.astype("datetime64[us]").astype(np.int64)


def build_store(path: Path, symbols: int, days: int, seed: int = synthetic.SEED) -> dict[str, int]:
    """``symbols`` synthetic symbols x ``days`` days into a new store; rows per table."""
    rng = np.random.default_rng(seed)
    open_utc = _opens(days)
    con = db.open_database(path)
    counts = dict.fromkeys(("instruments", "bars", "trades", "quotes"), 0)
    try:
        for k in range(symbols):
            price = float(np.exp(rng.uniform(np.log(5), np.log(300))))
            adv = float(np.exp(rng.uniform(np.log(2e5), np.log(1e7))))
            p = synthetic._symbol(
                f"SYN-U{k:04d}", "Synthetic universe member (generated, not a real security)", round(price, 2),
                float(rng.uniform(0.01, 0.04)), round(adv, -2), max(0.01, round(price * 2e-4, 2)),
            )  # fmt: skip
            tables = synthetic.generate_symbol(p, rng, open_utc)
            instrument = pd.DataFrame([{
                "symbol": p.symbol, "currency": "USD", "time_zone": synthetic.TIME_ZONE, "calendar": None,
                "session_open": "09:30", "session_close": "16:00", "market_source": synthetic.MARKET_SOURCE,
                "tick_size": synthetic.TICK_USD, "lot_size": 1.0, "shares_outstanding": p.adv_shares * 200,
                "name": p.name,
            }])  # fmt: skip
            for name, frame in (("instruments", instrument), *((n, tables[n]) for n in ("bars", "trades", "quotes"))):
                if name in ("trades", "quotes"):
                    frame = frame.assign(seq=frame.groupby("ts").cumcount())
                frame = frame.reindex(columns=list(TABLES[name].column_names))
                con.register("frame", frame)
                con.execute(f"INSERT INTO {name} SELECT * FROM frame")
                con.unregister("frame")
                counts[name] += len(frame)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts


def phase(name: str, store: str, lake: str | None, workers: int, out: str) -> None:
    """One run in this (child) process: calibrate every symbol, save, write the figures to ``out`` as JSON."""
    from optexec.calibration import universe
    from optexec.engines import EngineChoice
    from optexec.store.lake import lake_symbols

    if lake:
        symbols = lake_symbols(lake)
    else:
        with db.reading(store) as con:
            symbols = db.list_symbols(con)
    choice = EngineChoice("dask", workers) if name.startswith("dask") else EngineChoice("serial")
    done_at: list[float] = []
    t0 = time.perf_counter()
    result = universe.calibrate_universe(
        symbols, choice, store_path=store, lake=lake, on_done=lambda o, d, t: done_at.append(time.perf_counter())
    )
    seconds = time.perf_counter() - t0
    # steady state: from the first symbol done to the last (no cluster start, no first-task imports, no save)
    steady = (done_at[-1] - done_at[0]) / (len(done_at) - 1) if len(done_at) > 1 else seconds
    peaks: dict[str, int] = {}
    for o in result.outcomes:
        peaks[o.worker] = max(peaks.get(o.worker, 0), o.peak_rss_bytes)
    values = {
        o.symbol: {p: o.calibration.estimates[p].value for p in PARAMETERS if p in o.calibration.estimates}
        for o in result.outcomes
        if o.ok
    }
    Path(out).write_text(json.dumps({
        "name": name, "engine": result.engine, "source": result.source, "symbols": len(symbols),
        "ok": len(symbols) - len(result.failed), "failed": [[o.symbol, o.error] for o in result.failed],
        "seconds": seconds, "steady_seconds_per_symbol": steady, "peaks": peaks,
        "task_seconds": [o.seconds for o in result.outcomes],
        "client_peak_rss_bytes": universe.peak_rss_bytes(), "values": values,
    }))  # fmt: skip


def _child(name: str, store: Path, lake: Path | None, workers: int, folder: Path) -> dict:
    out = folder / f"{name}.json"
    cmd = [sys.executable, "-m", "benchmarks.bench_universe", "--phase", name, "--store", str(store),
           "--workers", str(workers), "--out", str(out)] + (["--lake", str(lake)] if lake else [])  # fmt: skip
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    return json.loads(out.read_text())


def _largest_difference(a: dict, b: dict) -> float:
    worst = 0.0
    for symbol, values in a.items():
        for name, x in values.items():
            y = b[symbol][name]
            if x is not None and y is not None and math.isfinite(x) and x != 0:
                worst = max(worst, abs(x - y) / abs(x))
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--long-days", type=int, default=252, help="days of the one-symbol run (0: skip it)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--lake", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        phase(args.phase, args.store, args.lake, args.workers, args.out)
        return
    from optexec.store import lake

    busy = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-universe-") as name:
        folder = Path(name)
        store, lake_dir = folder / "universe.duckdb", folder / "lake"
        t0 = time.perf_counter()
        build_store(store, args.symbols, args.days)
        built = time.perf_counter() - t0
        with db.reading(store) as con:
            report = lake.export_lake(con, lake_dir)
        runs = [
            _child("serial-lake", store, lake_dir, args.workers, folder),
            _child("dask-lake", store, lake_dir, args.workers, folder),
            _child("dask-store", store, None, args.workers, folder),
        ]
        long = None
        if args.long_days:
            long_store = folder / "long.duckdb"
            build_store(long_store, 1, args.long_days, seed=7)
            long = _child("serial-long", long_store, None, 1, folder)
        store_bytes = store.stat().st_size
        files = sum(1 for _ in lake_dir.rglob("*.parquet"))
    n, d = args.symbols, args.days
    print(
        f"bench_universe: {n} synthetic symbols x {d} days of one-minute bars; machine: {os.cpu_count()} cores, "
        f"load average {busy:.1f} at the start (other jobs were running: timings are from a busy machine)"
    )
    print(f"generated and loaded into DuckDB in {built:.1f} s ({store_bytes / 1e6:,.1f} MB file)")
    print(f"lake: {files:,} Parquet files, exported in {report.seconds:.1f} s")
    print(f"{'table':<12}{'rows':>14}{'rows/symbol/day':>17}{'Parquet MB':>12}{'bytes/row':>11}")
    for table in ("instruments", "bars", "trades", "quotes"):
        r, b = report.rows[table], report.bytes[table]
        per = f"{r / (n * d):,.0f}" if table != "instruments" else "-"
        print(f"{table:<12}{r:>14,}{per:>17}{b / 1e6:>12.2f}{b / max(r, 1):>11.1f}")
    print(f"{'all':<12}{sum(report.rows.values()):>14,}{'':>17}{report.total_bytes / 1e6:>12.2f}")
    print()
    print(f"{'run':<14}{'engine':<44}{'ok':>5}{'total s':>9}{'s/symbol':>10}{'steady':>8}{'task s':>8}  "
          "peak RSS per process (MB)")  # fmt: skip
    for r in [*runs, *([long] if long else [])]:
        peaks = ", ".join(f"{v / 1e6:,.0f}" for _, v in sorted(r["peaks"].items()))
        client = "" if r["name"].startswith("serial") else f" (client {r['client_peak_rss_bytes'] / 1e6:,.0f})"
        label = r["engine"] if r is not long else f"serial, one symbol x {args.long_days} days"
        print(
            f"{r['name']:<14}{label[:43]:<44}{r['ok']:>5}{r['seconds']:>9.1f}{r['seconds'] / r['symbols']:>10.3f}"
            f"{r['steady_seconds_per_symbol']:>8.3f}{np.mean(r['task_seconds']):>8.3f}  {peaks}{client}"
        )
        for symbol, error in r["failed"][:3]:
            print(f"    failed {symbol}: {error}")
    print(
        "total s: wall clock (cluster start and the save included); s/symbol: total / symbols; steady: wall clock "
        "from the first symbol done to the last, per symbol; task s: mean time inside one task"
    )
    print(f"largest relative difference of {', '.join(PARAMETERS)} between the runs: serial vs dask (lake) "
          f"{_largest_difference(runs[0]['values'], runs[1]['values']):.1e}, lake vs DuckDB file "
          f"{_largest_difference(runs[1]['values'], runs[2]['values']):.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
