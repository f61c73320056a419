"""Validated loading of a market-data file into the store, one transaction per file (``load_file``).

DESIGN.md section 4. The format (CSV, Parquet, LOBSTER, LEAN) and the table are detected or given; CSV and Parquet
files are read by DuckDB itself (``read_csv`` with explicit columns, ``read_parquet``; CSV rows numbered on the
reader's output, so every reported line is the file's own), LOBSTER and LEAN files by ``optexec.store.importers``;
every source then goes through the same validation and single-transaction insert (``optexec.store.staging``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from optexec.store import importers
from optexec.store.detect import (
    FORMATS,
    csv_source,
    detect_format,
    detect_table,
    parquet_source,
    preview_file,
    read_header,
    resolve_columns,
)
from optexec.store.reports import LoadError, LoadReport, Progress, Reject, Source
from optexec.store.schema import TABLES
from optexec.store.staging import load_source

__all__ = [
    "FORMATS",
    "LoadError",
    "LoadReport",
    "Reject",
    "Source",
    "detect_format",
    "detect_table",
    "load_file",
    "preview_file",
    "resolve_columns",
]


def _numbered(source: Source) -> Source:
    """A CSV source whose rows carry their number in the file (``_row``, 1 = the first data row).

    The number is taken on the reader's own output, in file order, before anything can reorder the rows (a
    staging table's ``rowid`` need not follow the file); rows DuckDB's reader drops are accounted for later.
    Numbering in file order runs on one thread, so the numbered rows (as read, text) are written to a table of
    their own first (``_numbered``, by ``Source.prepare``): the checks over them then run on every thread, and a
    second staging (another zone for naive times) does not read the file again.
    """
    numbered_sql = f"SELECT row_number() OVER () AS _file_row, * FROM {source.from_sql}"
    read_params = dict(source.params)

    def prepare(cur) -> None:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _numbered AS {numbered_sql}", read_params)

    return dataclasses.replace(
        source,
        from_sql="_numbered",
        params={},
        prepare=prepare,
        exprs={**source.exprs, "_row": "_file_row"},
        line_sql=f"(_row + {source.first_line - 1})",
    )


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    table: str | None = None,
    format: str | None = None,
    *,
    mapping: Mapping[str, str] | None = None,
    symbol: str | None = None,
    tz: str | None = None,
    calendar: str | None = None,
    session: str | None = None,
    skip_bad_rows: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    on_conflict: str | None = None,
) -> LoadReport:
    """Validate a file and load it into a store table in one transaction (DESIGN.md section 4).

    Parameters
    ----------
    con : the database handle (``optexec.store.db.connect()``).
    path : a CSV (optionally .gz), Parquet, LOBSTER or LEAN file.
    table : bars, trades, quotes, fills, orders, calibration_runs, calibration_parameters, calibration_profiles or
        instruments; detected from the columns when omitted (CSV/Parquet).
    format : csv, parquet, lobster or lean; detected from the name when omitted.
    mapping : the file's column names -> ours, for columns detection does not recognise.
    symbol : the symbol of every row, for files without a symbol column.
    tz : time zone of timestamps written without an offset, and of a new symbol's market unless ``calendar``
        is given (default: inferred, see ``optexec.store.markets``).
    calendar : a new symbol's exchange calendar (``XNYS``): its zone and regular session.
    session : a new symbol's regular session, ``HH:MM-HH:MM`` local time.
    skip_bad_rows : load the good rows and report the bad ones, instead of refusing the file.
    dry_run : validate and count, then roll back (the Data page's preview); conflicts are counted and listed
        in the report, never raised.
    progress : ``progress(fraction, text)`` callback.
    on_conflict : rows whose key is stored with other values: ``"refuse"`` the file (the default; instruments
        files: ``"replace"``), ``"replace"`` the stored values with the file's, or ``"keep"`` the stored ones
        (see ``optexec.store.merge``). Identical rows are "already there" whatever the policy.

    Returns
    -------
    LoadReport. Raises LoadError (a ValueError) when the file cannot be loaded; nothing is then written.
    """
    path = Path(path)
    if not path.is_file():
        raise LoadError(f"no such file: {path}")
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise LoadError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if table is not None and table not in TABLES:
        raise LoadError(f"unknown table {table!r}; use one of {', '.join(TABLES)}")
    if symbol is not None and not str(symbol).strip():
        raise LoadError("the symbol must not be empty")
    options: dict[str, Any] = dict(
        symbol=symbol,
        tz=tz,
        calendar=calendar,
        session=session,
        skip_bad_rows=skip_bad_rows,
        dry_run=dry_run,
        progress=progress,
        on_conflict=on_conflict,
    )
    if fmt in ("lobster", "lean"):
        return importers.load(con, path, fmt, table, **options)
    cur = con.cursor()
    try:
        if fmt == "csv":
            names, _ = read_header(path)
            table = table or detect_table(names, symbol is not None)
            source = _numbered(csv_source(cur, path, TABLES[table], mapping, symbol)[0])
        else:
            if table is None:
                described = cur.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": str(path)}).fetchall()
                table = detect_table([r[0] for r in described], symbol is not None)
            source, _ = parquet_source(cur, path, TABLES[table], mapping, symbol)
    except duckdb.Error as exc:
        raise LoadError(f"cannot read {path.name} as {fmt}: {str(exc).splitlines()[0]}") from None
    finally:
        cur.close()
    return load_source(
        con, table, source, source_name=path.name, format=fmt, structural_rejects=(fmt == "csv"), **options
    )
