"""The ``load``, ``db info``, ``db market``, ``db init`` and ``export`` sub-commands of ``optexec`` (DESIGN.md 7).

``configure_load``, ``configure_db`` and ``configure_export`` add their options to the parsers optexec.cli makes;
each handler returns an exit code: 0 on success, 2 on a user error (one plain line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse

from optexec import json_output
from optexec.store.schema import LOADABLE_TABLES


def _print_json(kind: str, document: dict) -> None:
    print(json_output.dumps(json_output.stamped(kind, document)))


def _mapping(items: list[str] | None) -> dict[str, str]:
    mapping = {}
    for item in items or []:
        theirs, sep, ours = item.partition("=")
        if not sep or not theirs.strip() or not ours.strip():
            raise ValueError(f"--map expects FILE_COLUMN=OUR_COLUMN, got {item!r}")
        mapping[theirs.strip()] = ours.strip()
    return mapping


def cmd_load(args: argparse.Namespace) -> int:
    """``load PATH --table T``: validate and load one file; prints the report."""
    from optexec.store import db, loading

    try:
        with db.writing(getattr(args, "db", None)) as con:
            report = loading.load_file(
                con,
                args.path,
                table=args.table,
                format=args.format,
                mapping=_mapping(args.map),
                symbol=args.symbol,
                tz=args.tz,
                calendar=args.calendar,
                session=args.session,
                skip_bad_rows=args.skip_bad_rows,
                on_conflict=args.on_conflict,
            )
    except loading.LoadError as exc:
        if args.json and exc.report is not None:
            _print_json("load", {**exc.report.to_json(), "error": str(exc)})
        raise
    if args.json:
        _print_json("load", report.to_json())
        return 0
    print(summary_line(report))
    for note in report.notes():
        print(f"  {note}")
    for reject in report.rejects[:20]:
        column = f" [{reject.column}]" if reject.column else ""
        print(f"  line {reject.line}{column}: {reject.reason}")
    if report.rows_rejected > 20:
        print(f"  ... {report.rows_rejected - 20:,} more rejected rows (see --json)")
    for conflict in report.conflicts[:20] if report.on_conflict != "replace" else ():  # replace: the changes say it
        print(f"  conflict: {conflict.sentence()}")
    if report.rows_conflicting > 20:
        print(f"  ... {report.rows_conflicting - 20:,} more conflicting rows (see --json)")
    for change in report.changes[:50]:
        print(f"  changed: {change}")
    for warning in report.warnings:
        print(f"  warning: {warning}")
    return 0


def summary_line(report) -> str:
    """One line saying what a load did with every row of the file, and the on-conflict policy."""
    parts = [f"{report.rows_already_present:,} already there"]
    if report.rows_replaced:
        parts.append(f"{report.rows_replaced:,} replaced stored values")
    if report.rows_kept:
        parts.append(f"{report.rows_kept:,} conflicting rows kept as stored")
    if report.rows_new_prints:
        parts.append(f"{report.rows_new_prints:,} further prints at stored times")
    parts.append(f"{report.rows_rejected:,} rejected")
    return (
        f"{report.source}: {report.rows_loaded:,} rows loaded into {report.table} ({', '.join(parts)}; "
        f"on conflict: {report.on_conflict}) in {report.seconds:.2f} s"
    )


def cmd_db_market(args: argparse.Namespace) -> int:
    """``db market SYMBOL [--calendar C] [--tz Z] [--session HH:MM-HH:MM]``: show or correct a symbol's market."""
    from optexec.store import db, instruments

    change = any(v is not None for v in (args.calendar, args.tz, args.session))
    if change:
        with db.writing(getattr(args, "db", None)) as con:
            result = instruments.set_market(
                con, args.symbol, calendar=args.calendar, tz=args.tz, session=args.session,
                source="set with db market",
            )  # fmt: skip
    else:
        with db.reading(getattr(args, "db", None)) as con:
            result = instruments.market_of(con, args.symbol)
    if args.json:
        _print_json("db-market", result)
    else:
        print(result["message"] if change else f"{args.symbol}: {result['describe']} ({result['source']})")
    return 0


def cmd_db_init(args: argparse.Namespace) -> int:
    """``db init [--sample]``: a database with the schema; with ``--sample`` the bundled sample loaded into it."""
    from optexec.store import db, sample

    path = db.resolve_path(getattr(args, "db", None))
    with db.writing(path) as con:
        added = sample.init_sample(con) if args.sample else {}
    if args.json:
        _print_json("db-init", {"path": str(path), "sample": bool(args.sample), "rows_added": added})
        return 0
    if not args.sample:
        print(f"{path}: the schema is in place (no data loaded; add the bundled sample with db init --sample)")
        return 0
    listed = ", ".join(f"{table} {n:,}" for table, n in added.items())
    print(f"{path}: the bundled synthetic sample loaded; rows added: {listed}")
    if not any(added.values()):
        print("  nothing added: the sample was already there")
    return 0


def cmd_db_info(args: argparse.Namespace) -> int:
    """``db info``: rows, symbols and time range per table."""
    from optexec.store import db

    con = db.connect(getattr(args, "db", None), read_only=True)
    summary = db.info(con)
    if args.json:
        _print_json("db-info", summary)
        return 0
    print(f"database: {summary['path']}")
    print(f"{'table':24s}{'rows':>12s}{'symbols':>9s}  {'start (UTC)':28s}{'end (UTC)':28s}")
    for name, t in summary["tables"].items():
        print(f"{name:24s}{t['rows']:>12,}{t['symbols']:>9}  {t['start'] or '-':28s}{t['end'] or '-':28s}")
    loads = summary.get("loads") or []
    print(f"latest loads ({len(loads)} shown):" if loads else "no loads recorded")
    for h in loads:
        print(
            f"  {h['loaded_at']}  {h['file']} -> {h['table_name']}: read {h['rows_read']:,}, loaded "
            f"{h['rows_loaded']:,}, already there {h['rows_already_present']:,}, conflicts {h['rows_conflicting']:,} "
            f"(replaced {h['rows_replaced']:,}, kept {h['rows_kept']:,}), rejected {h['rows_rejected']:,}; "
            f"on conflict: {h['on_conflict']}"
            + (f"; {h['outcome']}" if (h.get("outcome") or "loaded") != "loaded" else "")
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``export --lake DIR [--tables T,...] [--symbols S,...]``: the store's market tables as Parquet (a lake)."""
    from optexec.store import db, lake

    tables = _names(args.tables) if args.tables else list(lake.MARKET_TABLES)
    symbols = _names(args.symbols) if args.symbols else None
    with db.reading(getattr(args, "db", None)) as con:
        report = lake.export_lake(con, args.lake, tables, symbols)
    if args.json:
        _print_json("export", report.to_json())
        return 0
    print(f"{report.directory}: {len(report.symbols):,} symbols exported in {report.seconds:.2f} s")
    for table, rows in report.rows.items():
        print(f"  {table:12s}{rows:>14,} rows{report.bytes[table] / 1e6:>12.2f} MB of Parquet")
    return 0


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _outcome_text(entry: dict) -> str:
    """ "; refused: ..." for a refused load of the history (nothing for a committed one)."""
    outcome = entry.get("outcome") or "loaded"
    return "" if outcome == "loaded" else f"; {outcome}"


def configure_load(load: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``load`` sub-command's options (optexec.cli.COMMANDS)."""
    load.add_argument("path", help="CSV (.csv/.csv.gz), Parquet, LOBSTER (zip or message csv) or LEAN zip")
    load.add_argument("--table", choices=LOADABLE_TABLES, help="target table (detected from the columns if omitted)")
    load.add_argument(
        "--format", choices=("csv", "parquet", "lobster", "lean"), help="file format (default: from name)"
    )
    load.add_argument("--symbol", help="symbol of every row, for files without a symbol column")
    load.add_argument(
        "--tz",
        help="time zone of times written without an offset, and of a new symbol's market unless --calendar is given "
        "(default: inferred from the data and stated)",
    )
    load.add_argument("--calendar", help="a new symbol's exchange calendar, e.g. XNYS (its zone and session)")
    load.add_argument("--session", metavar="HH:MM-HH:MM", help="a new symbol's regular session, local time")
    load.add_argument("--map", action="append", metavar="FILE_COLUMN=OUR_COLUMN", help="name a column (repeatable)")
    load.add_argument("--skip-bad-rows", action="store_true", help="load the good rows and report the bad ones")
    load.add_argument(
        "--on-conflict",
        choices=("refuse", "replace", "keep"),
        default=None,
        help="rows whose key is stored with other values: refuse the file (default; instruments files: replace), "
        "replace the stored values, or keep them",
    )
    load.set_defaults(func=cmd_load)


def configure_db(database: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``db`` sub-command and its own sub-commands (optexec.cli.COMMANDS); ``parent`` holds the global
    options, accepted after ``db info`` etc. too."""
    db_sub = database.add_subparsers(dest="db_command", required=True, parser_class=type(database))
    info = db_sub.add_parser("info", help="rows, symbols and time range per table", parents=[parent])
    info.set_defaults(func=cmd_db_info)
    market = db_sub.add_parser(
        "market", help="show or correct an instrument's market (time zone, session, calendar)", parents=[parent]
    )
    market.add_argument("symbol")
    market.add_argument("--calendar", help="exchange calendar code, e.g. XNYS (sets the zone and session too)")
    market.add_argument("--tz", help="exchange time zone, e.g. America/New_York")
    market.add_argument("--session", metavar="HH:MM-HH:MM", help="regular session, local time")
    market.set_defaults(func=cmd_db_market)
    init = db_sub.add_parser(
        "init", help="create the database (schema); --sample loads the bundled sample into it", parents=[parent]
    )
    init.add_argument("--sample", action="store_true", help="load the bundled synthetic sample")
    init.set_defaults(func=cmd_db_init)


def configure_export(export: argparse.ArgumentParser, parent: argparse.ArgumentParser) -> None:
    """The ``export`` sub-command's options (optexec.cli.COMMANDS)."""
    export.add_argument("--lake", required=True, metavar="DIR", help="the lake's folder (created if missing)")
    export.add_argument(
        "--tables", metavar="T,...", help="tables to write (default: instruments,bars,trades,quotes; also fills)"
    )
    export.add_argument(
        "--symbols", metavar="S,...", help="symbols to write (default: all); their partitions are replaced"
    )
    export.set_defaults(func=cmd_export)
