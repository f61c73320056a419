"""``calibrate --symbols A,B,... | --all [--engine serial|dask] [--scheduler ADDRESS] [--workers N] [--lake DIR]``.

Every symbol is one task (optexec.calibration.universe); one line per symbol done goes to stderr as it ends; the
successful runs are saved to the store (``--db``) in one transaction, each accepted when its data support it (as
``calibrate --symbol``: ``--accept`` insists, ``--no-accept`` saves without accepting, ``--dry-run`` saves nothing).
A symbol that fails is listed with its reason and the others go on; the exit status is 0 when at least one symbol
was calibrated, 2 when none was.
"""

from __future__ import annotations

import argparse
import math
import sys

from optexec import json_output


def _symbols(args: argparse.Namespace) -> list[str]:
    """The symbols asked for: the list given, or every symbol of the lake or the store."""
    if args.symbols:
        names = [s.strip() for s in args.symbols.split(",") if s.strip()]
        if not names:
            raise ValueError("--symbols needs at least one symbol, e.g. --symbols AAA,BBB")
        return names
    if args.lake:
        from optexec.store.lake import lake_symbols

        return lake_symbols(args.lake)
    from optexec.store import db

    with db.reading(getattr(args, "db", None)) as con:
        return db.list_symbols(con)


def _number(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.4g}"


def cmd_universe(args: argparse.Namespace) -> int:
    """Calibrate the symbols, save them in one transaction, print a table (or the JSON)."""
    from optexec.calibration import universe
    from optexec.engines import EngineChoice

    choice = EngineChoice(args.engine or "serial", args.workers, args.scheduler)
    symbols = _symbols(args)
    if not symbols:
        raise ValueError("the source holds no symbols")
    print(f"calibrating {len(symbols):,} symbols on {choice.describe()}", file=sys.stderr)
    result = universe.calibrate_universe(
        symbols,
        choice,
        store_path=getattr(args, "db", None),
        lake=args.lake,
        start=args.start,
        end=args.end,
        save=not args.dry_run,
        accept=not args.no_accept,
        insist=args.accept,
        on_done=universe.stderr_progress,
    )
    ok = len(result.outcomes) - len(result.failed)
    if args.json:
        print(json_output.dumps(json_output.stamped("calibrate-universe", result.to_json())))
    else:
        print(f"{ok:,} of {len(result.outcomes):,} symbols calibrated from {result.source} on {result.engine} "
              f"in {result.seconds:.1f} s")  # fmt: skip
        print(f"{'symbol':16s}{'days':>6s}{'sigma/day':>11s}{'ADV (sh)':>12s}{'spread $':>10s}{'eta':>11s}"
              f"{'gamma':>11s}  state")  # fmt: skip
        for row in result.to_frame().to_dict("records"):
            if row["status"] != "ok":
                print(f"{row['symbol']:16s}failed: {row['error']}")
                continue
            state = "accepted" if row["accepted"] else ("not saved" if args.dry_run else "saved, not accepted")
            print(f"{row['symbol']:16s}{int(row['days']):>6d}{_number(row['sigma_daily']):>11s}"
                  f"{_number(row['adv_shares']):>12s}{_number(row['spread_usd']):>10s}{_number(row['eta']):>11s}"
                  f"{_number(row['gamma']):>11s}  {state}")  # fmt: skip
            if row["not_acceptable"] and not args.dry_run:
                print(f"{'':16s}not acceptable: {row['not_acceptable']}")
    return 0 if ok else 2
