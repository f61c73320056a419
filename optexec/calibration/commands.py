"""The ``calibrate`` sub-command of ``optexec`` (DESIGN.md section 7).

``--lake DIR`` reads the market data from a Parquet lake (optexec.store.lake) instead of the store; the run is still
saved to the store (``--db``). ``--symbols A,B`` / ``--all`` calibrate many symbols, one task each, on the serial
engine or on Dask (optexec.calibration.universe_commands).

``configure(parser, parent)`` adds its options to the parser optexec.cli makes; the handler returns 0 on success and
2 on a user error (one plain line on stderr, never a traceback). The run is saved to the calibration tables (runs,
parameters, profiles) and accepted as the symbol's parameters unless ``--no-accept`` (or ``--dry-run``: nothing
saved), or unless the data do not support it (``Calibration.not_acceptable``: fewer than 20 trading days, bars
missing from the session's first or last hour on many days, sparse bars); such a run is saved but not accepted,
the reasons go to stderr, and ``--accept`` insists (the override is recorded with the run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys

from optexec import json_output


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _fmt(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.6g}"


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``calibrate --symbol S [--start D] [--end D] [--json]``: run, save, accept (when acceptable) and print."""
    if args.symbols or args.all:
        from optexec.calibration.universe_commands import cmd_universe

        return cmd_universe(args)
    if args.symbol is None:
        raise ValueError("name the symbol to calibrate: --symbol S, or several with --symbols A,B or --all")
    if args.engine or args.scheduler or args.workers:
        raise ValueError("--engine, --scheduler and --workers calibrate many symbols: use --symbols A,B or --all")
    from optexec.calibration import run
    from optexec.engines import single_threaded_blas
    from optexec.store import db

    path = getattr(args, "db", None)
    with db.reading(path) if args.dry_run else db.writing(path) as con:
        source = _source(args, con)  # the store itself, or a lake (the results still go to the store)
        try:
            if args.symbol not in db.list_symbols(source):
                known = ", ".join(db.list_symbols(source)) or "none"
                where = f"the lake {args.lake}" if args.lake else "the store"
                raise ValueError(f"unknown symbol {args.symbol!r}: {where} holds {known}")
            with single_threaded_blas():  # the rounding of --symbols on any engine (optexec.engines)
                result = run.calibrate(source, args.symbol, args.start, args.end)
        finally:
            if source is not con:
                source.close()
        reasons = result.not_acceptable
        accept = not (args.dry_run or args.no_accept) and (args.accept or not reasons)
        if not args.dry_run:
            result = run.save(con, result, accept=accept, insist=args.accept)
    if reasons and not (args.dry_run or args.no_accept):
        if accept:
            print(f"accepted despite (--accept): {'; '.join(reasons)}", file=sys.stderr)
        else:
            print(f"not accepted: {'; '.join(reasons)} (--accept overrides)", file=sys.stderr)
    if args.json:
        out = result.to_json()
        out["accepted"] = accept
        print(json_output.dumps(json_output.stamped("calibrate", out)))
        return 0
    print(f"{result.symbol}: {result.days} days {result.window_start} to {result.window_end} ({result.seconds:.2f} s)")
    if result.coverage is not None:
        print(f"data: {result.coverage.summary()}")
    print(f"{'parameter':32s}{'value':>14s}{'stderr':>14s}  method")
    for name, e in result.estimates.items():
        flag = " (fallback)" if e.fallback else ""
        print(f"{name:32s}{_fmt(e.value):>14s}{_fmt(e.stderr):>14s}  {e.method}{flag}")
    for warning in result.warnings:
        print(f"  warning: {warning}")
    if args.dry_run:
        print("not saved (--dry-run)")
    else:
        state = "saved and accepted" if accept else "saved (not accepted)"
        if accept and reasons:
            state = "saved and accepted despite the reasons above (--accept)"
        print(f"{state} as run {result.run_ts.isoformat()}Z" if result.run_ts else state)
    return 0


def _source(args: argparse.Namespace, con):
    """Where the market data are read: the store's connection, or a lake's (``--lake DIR``)."""
    if not args.lake:
        return con
    from optexec.store.lake import open_lake

    return open_lake(args.lake)


def configure(p: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``calibrate`` sub-command's options (optexec.cli.COMMANDS)."""
    which = p.add_mutually_exclusive_group()
    which.add_argument("--symbol", help="symbol in the store (or the lake)")
    which.add_argument("--symbols", metavar="A,B,...", help="calibrate these symbols, one task each")
    which.add_argument("--all", action="store_true", help="calibrate every symbol of the store (or the lake)")
    p.add_argument("--lake", metavar="DIR", help="read the market data from this Parquet lake (export --lake)")
    p.add_argument("--engine", choices=("serial", "dask"), help="many symbols: run here one by one, or on Dask")
    p.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", type=int, help="worker processes of the local Dask cluster (default: one per core)")
    p.add_argument("--start", type=_date, help="first local trading date of the window (YYYY-MM-DD)")
    p.add_argument("--end", type=_date, help="last local trading date of the window (YYYY-MM-DD)")
    p.add_argument("--no-accept", action="store_true", help="save the run without making it the symbol's parameters")
    p.add_argument(
        "--accept",
        action="store_true",
        help="accept even a run the data do not support (too few trading days, bars missing from the session's "
        "first or last hour, sparse bars): the override is recorded with the run",
    )
    p.add_argument("--dry-run", action="store_true", help="do not save the run")
    p.set_defaults(func=cmd_calibrate)
