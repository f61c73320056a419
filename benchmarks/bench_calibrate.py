"""Benchmark: a full calibration of one symbol over 250 days of one-minute bars (target: under 2 s).

Generates 250 trading days of the synthetic SYN-LARGE (bars, trades, quotes; the generator of the bundled
sample) into a temporary DuckDB file, then times ``optexec.calibration.calibrate`` and prints a table.
Run: ``python -m benchmarks.bench_calibrate [--days 250] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from optexec.calibration import run
from optexec.store import db, synthetic


def build(path: Path, days: int, symbol_index: int = 0) -> tuple[str, dict[str, int]]:
    """Write ``days`` days of one synthetic symbol into a new database; returns the symbol and row counts."""
    p = synthetic.SYMBOLS[symbol_index]
    rng = np.random.default_rng(synthetic.SEED)
    trading = pd.bdate_range(synthetic.FIRST_DAY, periods=days)
    opens = (trading + pd.Timedelta(hours=9, minutes=30)).tz_localize(synthetic.TIME_ZONE).tz_convert("UTC")
    open_utc = opens.tz_localize(None).values.astype("datetime64[us]").astype(np.int64)
    tables = synthetic.generate_symbol(p, rng, open_utc)
    con = db.open_database(path)
    counts = {}
    try:
        con.execute(
            "INSERT INTO instruments VALUES (?, 'USD', ?, 0.01, 1, ?, ?)",
            [p.symbol, synthetic.TIME_ZONE, p.adv_shares * 200, p.name],
        )
        for name in ("bars", "trades", "quotes"):
            frame = tables[name]
            if "seq" not in frame and name != "bars":
                frame = frame.assign(seq=frame.groupby("ts").cumcount())
            columns = [c.name for c in __import__("optexec.store.schema", fromlist=["TABLES"]).TABLES[name].columns]
            frame = frame.reindex(columns=columns)
            con.register("frame", frame)
            con.execute(f"INSERT INTO {name} SELECT * FROM frame")
            con.unregister("frame")
            counts[name] = len(frame)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return p.symbol, counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-calibrate-") as folder:
        path = Path(folder) / "bench.duckdb"
        t = time.perf_counter()
        symbol, counts = build(path, args.days)
        build_s = time.perf_counter() - t
        con = db.open_database(path, read_only=True)
        try:
            times, stages = [], []
            for _ in range(args.repeat):
                result = run.calibrate(con, symbol)
                times.append(result.seconds)
                stages.append(result.timings)
        finally:
            con.close()
    print(
        f"data: {symbol}, {args.days} days, {counts['bars']:,} bars, {counts['trades']:,} trades, "
        f"{counts['quotes']:,} quotes (built in {build_s:.1f} s)"
    )
    print(f"{'stage':14s}{'median s':>10s}{'min s':>10s}")
    for stage in stages[0]:
        values = [s[stage] for s in stages]
        print(f"{stage:14s}{statistics.median(values):>10.3f}{min(values):>10.3f}")
    print(
        f"{'total':14s}{statistics.median(times):>10.3f}{min(times):>10.3f}   target < 2 s: "
        f"{'met' if statistics.median(times) < 2 else 'NOT met'}"
    )
    e = result.estimates
    print(
        f"check: sigma_daily {e['sigma_daily'].value:.4f}, eta {e['eta'].value:.3g} ({e['eta'].method[:40]}), "
        f"gamma {e['gamma'].value:.3g}, days {result.days}"
    )


if __name__ == "__main__":
    main()
