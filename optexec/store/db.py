"""The per-process DuckDB handle, cursors per thread, and what the database holds.

DESIGN.md section 4: one database handle per process, a cursor per thread; a second process
that finds the file locked gets a clear message (``DatabaseBusyError``), never a hang.
The database path comes from the argument, else ``OPTEXEC_DB``, else ``data/optexec.duckdb``
in the repository. A missing default database is built from the bundled sample in ``data/`` first.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from optexec.store.schema import TABLES, create_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
DEFAULT_DB_PATH = DATA_DIR / "optexec.duckdb"
ENV_VAR = "OPTEXEC_DB"

_lock = threading.RLock()
_handles: dict[tuple[str, bool], tuple[int, duckdb.DuckDBPyConnection]] = {}
_write_locks: dict[str, threading.RLock] = {}
_local = threading.local()


class DatabaseBusyError(ValueError):
    """Another process holds the database file open for writing."""


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """The database file to use: ``path``, else ``$OPTEXEC_DB``, else ``data/optexec.duckdb``."""
    chosen = path or os.environ.get(ENV_VAR) or DEFAULT_DB_PATH
    return Path(chosen).expanduser().resolve()


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = re.search(r"PID (\d+)", text)
            who = f" (process {pid.group(1)})" if pid else ""
            raise DatabaseBusyError(
                f"the database {path} is in use by another program{who}; close it (e.g. stop the app) "
                "or choose another database with --db"
            ) from None
        raise ValueError(f"cannot open the database {path}: {text.splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise ValueError(f"cannot open the database {path}: {str(exc).splitlines()[0]}") from None
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    if not read_only:
        create_schema(con)
    return con


def open_database(path: str | os.PathLike, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a new (uncached) connection with the schema in place; the caller closes it."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return _open(path, read_only)


def connect(
    path: str | os.PathLike | None = None, read_only: bool = False, build_sample: bool | None = None
) -> duckdb.DuckDBPyConnection:
    """The process-wide handle on the database (created once per process and path).

    Parameters
    ----------
    path : database file; default ``$OPTEXEC_DB`` or ``data/optexec.duckdb``.
    read_only : open for reading only (other read-only processes may then open it too).
    build_sample : load the bundled sample when the file does not exist yet (default: only for the
        default database ``data/optexec.duckdb``; any other new file starts empty).

    Share the handle between threads only through ``cursor()``: a DuckDB connection object
    is not safe for concurrent use, its cursors are.
    """
    resolved = resolve_path(path)
    key = (str(resolved), bool(read_only))
    with _lock:
        pid, con = _handles.get(key, (None, None))
        if con is not None and pid == os.getpid():
            return con
        if not resolved.exists():
            if build_sample is None:
                build_sample = resolved == DEFAULT_DB_PATH.resolve()
            if build_sample:
                from optexec.store.sample import build_sample_database

                build_sample_database(resolved)
            elif read_only:
                raise ValueError(f"the database {resolved} does not exist")
        con = open_database(resolved, read_only=read_only)
        _handles[key] = (os.getpid(), con)
        return con


def cursor(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A cursor on the process handle for the calling thread (one per thread, reused)."""
    con = connect(path, read_only)
    cache = getattr(_local, "cursors", None)
    if cache is None:
        cache = _local.cursors = {}
    key = id(con)
    cur = cache.get(key)
    if cur is None:
        cur = cache[key] = con.cursor()
    return cur


@contextlib.contextmanager
def reading(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to read the database with, for the length of the ``with`` block (the app's way in)."""
    yield cursor(path)


@contextlib.contextmanager
def writing(path: str | os.PathLike | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to write the database with, for the length of the ``with`` block (the app's way in)."""
    yield connect(path)


def version(path: str | os.PathLike | None = None) -> str:
    """A stamp that changes whenever the database file changes (size and modification time of the file and its
    write-ahead log); cheap, and takes no lock. Caches of what the store holds are keyed on it."""
    resolved = resolve_path(path)
    parts = []
    for file in (resolved, Path(f"{resolved}.wal")):
        try:
            st = file.stat()
        except FileNotFoundError:
            parts.append("-")
        else:
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return f"{resolved}|{'|'.join(parts)}"


def write_lock(con: duckdb.DuckDBPyConnection) -> threading.RLock:
    """The in-process lock that serialises loads into one database (reads need none)."""
    name = database_file(con)
    with _lock:
        return _write_locks.setdefault(name, threading.RLock())


def database_file(con: duckdb.DuckDBPyConnection) -> str:
    """The file behind a connection (``:memory:`` for in-memory databases)."""
    cur = con.cursor()
    try:
        row = cur.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    finally:
        cur.close()
    return row[0] if row and row[0] else ":memory:"


def close_all() -> None:
    """Close every cached handle of this process (tests; the app never needs it)."""
    with _lock:
        for pid, con in _handles.values():
            if pid == os.getpid():
                con.close()
        _handles.clear()
        _local.__dict__.clear()


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None, how: str = "all") -> Any:
    """Run one query on a fresh cursor, fetch everything, close the cursor."""
    cur = con.cursor()
    try:
        result = cur.execute(sql, params)
        return result.df() if how == "df" else result.fetchall()
    finally:
        cur.close()


def list_symbols(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every symbol the store knows (instruments plus any symbol with bars), sorted."""
    rows = _fetch(con, "SELECT symbol FROM instruments UNION SELECT DISTINCT symbol FROM bars ORDER BY symbol")
    return [r[0] for r in rows]


def info(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Row counts, symbol counts and time range (UTC, ISO 8601) of every table (``db info``)."""
    tables: dict[str, Any] = {}
    for table in TABLES.values():
        time_col = table.time_column
        span = f"min({time_col}), max({time_col})" if time_col else "NULL, NULL"
        ((rows, symbols, start, end),) = _fetch(
            con, f"SELECT count(*), count(DISTINCT symbol), {span} FROM {table.name}"
        )
        tables[table.name] = {
            "rows": int(rows),
            "symbols": int(symbols),
            "start": start.isoformat() + "Z" if start is not None else None,
            "end": end.isoformat() + "Z" if end is not None else None,
        }
    return {"path": database_file(con), "tables": tables}


def symbol_summary(con: duckdb.DuckDBPyConnection):
    """One row per symbol: time zone, row counts per table and first/last bar in local time."""
    sql = """
        WITH s AS (SELECT symbol FROM instruments UNION SELECT DISTINCT symbol FROM bars),
        b AS (SELECT symbol, count(*) AS bars, min(ts) AS first_utc, max(ts) AS last_utc FROM bars GROUP BY symbol),
        t AS (SELECT symbol, count(*) AS trades FROM trades GROUP BY symbol),
        q AS (SELECT symbol, count(*) AS quotes FROM quotes GROUP BY symbol),
        f AS (SELECT symbol, count(*) AS fills FROM fills GROUP BY symbol)
        SELECT s.symbol, coalesce(i.time_zone, 'UTC') AS time_zone, i.name,
               coalesce(b.bars, 0) AS bars, coalesce(t.trades, 0) AS trades,
               coalesce(q.quotes, 0) AS quotes, coalesce(f.fills, 0) AS fills,
               timezone(coalesce(i.time_zone, 'UTC'), timezone('UTC', b.first_utc)) AS first_bar_local,
               timezone(coalesce(i.time_zone, 'UTC'), timezone('UTC', b.last_utc)) AS last_bar_local,
               (SELECT count(DISTINCT CAST(timezone(coalesce(i.time_zone, 'UTC'), timezone('UTC', x.ts)) AS DATE))
                  FROM bars x WHERE x.symbol = s.symbol) AS days
        FROM s LEFT JOIN instruments i USING (symbol) LEFT JOIN b USING (symbol) LEFT JOIN t USING (symbol)
        LEFT JOIN q USING (symbol) LEFT JOIN f USING (symbol)
        ORDER BY s.symbol
    """
    return _fetch(con, sql, how="df")


def bars_local(con: duckdb.DuckDBPyConnection, symbol: str, days: int | None = None):
    """A symbol's bars with ``ts_local`` in the instrument's time zone (the last ``days`` trading days)."""
    sql = """
        WITH i AS (SELECT coalesce(max(time_zone), 'UTC') AS tz FROM instruments WHERE symbol = $symbol),
        b AS (SELECT timezone(i.tz, timezone('UTC', ts)) AS ts_local, open, high, low, close, volume
              FROM bars, i WHERE symbol = $symbol),
        d AS (SELECT DISTINCT CAST(ts_local AS DATE) AS day FROM b ORDER BY day DESC LIMIT $days)
        SELECT b.* FROM b WHERE CAST(ts_local AS DATE) IN (SELECT day FROM d) ORDER BY ts_local
    """
    return _fetch(con, sql, {"symbol": symbol, "days": int(days) if days else 1_000_000}, how="df")
