"""The ``calibrate`` sub-command of ``optexec`` (DESIGN.md section 7).

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


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _fmt(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.6g}"


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``calibrate --symbol S [--start D] [--end D] [--json]``: run, save, accept (when acceptable) and print."""
    from optexec.calibration import run
    from optexec.store import db

    path = getattr(args, "db", None)
    try:
        with db.reading(path) if args.dry_run else db.writing(path) as con:
            if args.symbol not in db.list_symbols(con):
                known = ", ".join(db.list_symbols(con)) or "none"
                return _fail(f"unknown symbol {args.symbol!r}: the store holds {known}")
            result = run.calibrate(con, args.symbol, args.start, args.end)
            reasons = result.not_acceptable
            accept = not (args.dry_run or args.no_accept) and (args.accept or not reasons)
            if not args.dry_run:
                result = run.save(con, result, accept=accept, insist=args.accept)
    except ValueError as exc:
        return _fail(str(exc))
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


def configure(p: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``calibrate`` sub-command's options (optexec.cli.COMMANDS)."""
    p.add_argument("--symbol", required=True, help="symbol in the store")
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
