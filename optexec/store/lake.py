"""A market-data lake: the store's market tables as hive-partitioned Parquet, read back through DuckDB (issue 18).

Layout (one folder per table, written by DuckDB's ``COPY ... (FORMAT parquet, PARTITION_BY (...))``)::

    DIR/lake.json                                 what was exported: tables, rows, symbols, bytes, when, from where
    DIR/instruments/symbol=S/data_0.parquet       one row per instrument
    DIR/bars/symbol=S/date=YYYY-MM-DD/*.parquet   bars, trades, quotes (and fills): one folder per symbol and UTC day

A symbol is written as DuckDB escapes it in a folder name (``A/B`` -> ``symbol=A%2FB``) and read back unchanged.
The ``date`` partition is the UTC calendar day of ``ts`` (the store keeps UTC instants, DESIGN.md section 4); it is
a typed DATE when read (``hive_types``), not text, and is not one of the store's columns. Times keep their type
(``TIMESTAMP``, UTC, as in the store).

``open_lake(DIR)`` is an in-memory DuckDB connection whose views carry the store's table names and columns over
``read_parquet('DIR/table/**/*.parquet', hive_partitioning = true)``, so the same SQL (calibration's) runs on either
source. A filter on ``symbol`` is pushed down to the partition folders: ``EXPLAIN`` of a calibration query shows
``File Filters: symbol = ...`` and scans only that symbol's files (``tests/test_lake.py`` checks it). A filter on
``ts`` does not prune ``date`` folders (DuckDB prunes on partition columns only); it skips row groups by their
statistics. ``open_lake(DIR, symbols)`` goes further for a task: its views read only those symbols' folders, so the
rest of the lake is neither listed nor opened. A table the lake does not hold (not exported, or empty) is an empty
table with the store's columns.
Remote folders (``s3://...``) work where DuckDB's httpfs extension is installed; nothing here installs it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from optexec.store.db import fetch
from optexec.store.schema import TABLES

#: the tables ``export --lake`` writes by default: what calibration and the Data page read
MARKET_TABLES = ("instruments", "bars", "trades", "quotes")
#: every table a lake may hold, and how it is partitioned
PARTITIONS = {
    "instruments": ("symbol",),
    "bars": ("symbol", "date"),
    "trades": ("symbol", "date"),
    "quotes": ("symbol", "date"),
    "fills": ("symbol", "date"),
}
MANIFEST = "lake.json"


@dataclass(frozen=True)
class ExportReport:
    """What ``export`` wrote: rows and Parquet bytes per table, the symbols, the folder and the seconds taken."""

    directory: str
    rows: dict[str, int]
    bytes: dict[str, int]
    symbols: tuple[str, ...]
    seconds: float

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "lake": self.directory,
            "tables": {t: {"rows": self.rows[t], "parquet_bytes": self.bytes[t]} for t in self.rows},
            "symbols": list(self.symbols),
            "parquet_bytes": self.total_bytes,
            "seconds": self.seconds,
        }


def _quote(text: object) -> str:
    """A SQL string literal (paths cannot be bound as parameters of COPY or of a view's read_parquet)."""
    return "'" + str(text).replace("'", "''") + "'"


def _folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet")) if path.exists() else 0


def partition_folder(symbol: str) -> str:
    """The folder name of a symbol's partition, as DuckDB writes it (``symbol=`` and the escaped value)."""
    return "symbol=" + urllib.parse.quote(symbol, safe="")


def export_lake(
    con: duckdb.DuckDBPyConnection,
    directory: str | os.PathLike,
    tables: tuple[str, ...] | list[str] = MARKET_TABLES,
    symbols: list[str] | None = None,
) -> ExportReport:
    """Write ``tables`` of the store behind ``con`` (all symbols, or ``symbols``) to the lake in ``directory``.

    Re-exporting a symbol replaces its partitions of the tables written; other symbols already in the lake are kept.
    ValueError for an unknown table or symbol.
    """
    import time

    t0 = time.perf_counter()
    unknown = [t for t in tables if t not in PARTITIONS]
    if unknown:
        raise ValueError(f"a lake holds the tables {', '.join(PARTITIONS)}; not {', '.join(unknown)}")
    known = [r[0] for r in fetch(con, "SELECT symbol FROM instruments UNION SELECT DISTINCT symbol FROM bars")]
    if symbols is not None:
        missing = sorted(set(symbols) - set(known))
        if missing:
            raise ValueError(f"the store holds no symbol {', '.join(missing)}")
        chosen = sorted(dict.fromkeys(symbols))
    else:
        chosen = sorted(known)
    root = Path(directory).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    rows, sizes = {}, {}
    for table in tables:
        folder = root / table
        for symbol in chosen:  # the exported symbols' partitions are replaced, the others kept
            shutil.rmtree(folder / partition_folder(symbol), ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        columns = ", ".join(TABLES[table].column_names)
        date = ", CAST(ts AS DATE) AS date" if "date" in PARTITIONS[table] else ""
        query = f"SELECT {columns}{date} FROM {table} WHERE list_contains($symbols, symbol)"
        (count,) = fetch(con, f"SELECT count(*) FROM ({query})", {"symbols": chosen})[0]
        rows[table] = int(count)
        if count:
            cur = con.cursor()
            try:
                cur.execute(
                    f"COPY ({query}) TO {_quote(folder)} (FORMAT parquet, COMPRESSION zstd, "
                    f"PARTITION_BY ({', '.join(PARTITIONS[table])}), OVERWRITE_OR_IGNORE)",
                    {"symbols": chosen},
                )
            finally:
                cur.close()
        sizes[table] = _folder_bytes(folder)
    report = ExportReport(str(root), rows, sizes, tuple(chosen), time.perf_counter() - t0)
    _write_manifest(root, con, report)
    return report


def _write_manifest(root: Path, con, report: ExportReport) -> None:
    from optexec.store.db import database_file

    path = root / MANIFEST
    old = json.loads(path.read_text()) if path.exists() else {}
    symbols = sorted(set(old.get("symbols", [])) | set(report.symbols))
    manifest = {
        "description": "optexec market-data lake: hive-partitioned Parquet (see optexec/store/lake.py)",
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "source": database_file(con),
        "symbols": symbols,
        "last_export": report.to_json(),
        "partitions": {t: list(PARTITIONS[t]) for t in PARTITIONS},
    }
    path.write_text(json.dumps(manifest, indent=1) + "\n")


def is_lake(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` holds a lake written by ``export_lake`` (its manifest)."""
    return (Path(directory).expanduser() / MANIFEST).exists()


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and next(folder.rglob("*.parquet"), None) is not None


def _globs(folder: Path, symbols: list[str] | None) -> list[str]:
    """The Parquet globs of a table: all of it, or only the folders of ``symbols`` (those that exist)."""
    if symbols is None:
        return [f"{folder}/**/*.parquet"] if _has_files(folder) else []
    chosen = [folder / partition_folder(s) for s in dict.fromkeys(symbols)]
    return [f"{f}/**/*.parquet" for f in chosen if _has_files(f)]


def open_lake(directory: str | os.PathLike, symbols: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose views carry the store's table names over the lake's Parquet files.

    The views have exactly the store's columns and types; the SQL of calibration runs on it unchanged (module
    docstring). With ``symbols`` the views read only those symbols' folders: a task for one symbol then neither
    lists nor opens the rest of the lake (listing a lake of 36,000 files took seconds per task). ValueError when
    ``directory`` is not a lake. The caller closes the connection.
    """
    root = Path(directory).expanduser().resolve()
    if not is_lake(root):
        raise ValueError(f"{root} is not a market-data lake (no {MANIFEST}): write one with `export --lake {root}`")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        for name, table in TABLES.items():
            globs = _globs(root / name, symbols) if name in PARTITIONS else []
            if globs:
                types = ", ".join(f"'{p}': {'DATE' if p == 'date' else 'VARCHAR'}" for p in PARTITIONS[name])
                columns = ", ".join(table.column_names)
                glob = "[" + ", ".join(_quote(g) for g in globs) + "]"
                try:
                    con.execute(
                        f"CREATE VIEW {name} AS SELECT {columns} FROM read_parquet({glob}, hive_partitioning = true, "
                        f"hive_types = {{{types}}})"
                    )
                except duckdb.Error as error:
                    raise ValueError(
                        f"the lake's {name} files do not have the store's columns ({', '.join(table.column_names)}): "
                        f"{str(error).splitlines()[0]}; export the table again"
                    ) from None
            else:
                con.execute(table.ddl().replace("CREATE TABLE IF NOT EXISTS", "CREATE TABLE"))
    except BaseException:
        con.close()
        raise
    return con


def lake_symbols(directory: str | os.PathLike) -> list[str]:
    """The symbols of a lake (instruments plus any symbol with bars), sorted."""
    con = open_lake(directory)
    try:
        return [r[0] for r in con.execute(
            "SELECT symbol FROM instruments UNION SELECT DISTINCT symbol FROM bars ORDER BY symbol"
        ).fetchall()]  # fmt: skip
    finally:
        con.close()


def explain(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> str:
    """DuckDB's physical plan of a query as text (to check that a symbol filter reaches the partitions)."""
    return "\n".join(str(row[1]) for row in fetch(con, f"EXPLAIN {sql}", params))
