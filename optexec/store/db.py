"""Short-lived connections to the DuckDB store, shared safely by the app, the command line and their threads.

DESIGN.md section 5. DuckDB lets one process hold a database file read-write, or any number of processes hold it
read-only; within one process a read-only and a read-write connection to the same file cannot coexist. So:

- ``reading(path)`` opens a read-only connection for the ``with`` block and closes it; ``writing(path)`` a read-write
  one. Blocks of one process on one path share one connection (a cursor each) while they overlap: readers join an
  open reader or writer, a writer waits until this process's readers are done (and new readers wait behind it).
- ``connect(path)`` is the long-lived handle of a command-line run or a test: kept until ``close_all()``; blocks on
  the same path join it.
- Opening while another process holds the file retries with backoff for up to ``OPTEXEC_DB_WAIT_SECONDS`` (default
  10 s), then raises ``DatabaseBusyError`` naming the holder's process id.

The database path comes from the argument, else ``OPTEXEC_DB``, else ``~/.local/share/optexec/optexec.duckdb``
(``$XDG_DATA_HOME/optexec`` when that is set): not inside the package or a checkout. A missing default database is
built from the bundled sample (``optexec/sample_data``, package data) first.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import duckdb

from optexec.store import connections
from optexec.store.connections import (
    DEFAULT_WAIT_SECONDS,
    WAIT_ENV_VAR,
    DatabaseBusyError,
    database_file,
    fetch,
    open_database,
    set_wait_notice,
    wait_seconds,
    write_lock,
)
from optexec.store.queries import list_symbols
from optexec.store.schema import TABLES

#: the store's connection API (what opens a file lives in optexec.store.connections; callers use db.<name>)
__all__ = [
    "DEFAULT_WAIT_SECONDS",
    "WAIT_ENV_VAR",
    "DatabaseBusyError",
    "bars_local",
    "close_all",
    "connect",
    "database_file",
    "info",
    "list_symbols",
    "load_history",
    "notices",
    "open_database",
    "open_handles",
    "reading",
    "release_handles",
    "resolve_path",
    "set_wait_notice",
    "symbol_summary",
    "version",
    "wait_seconds",
    "write_lock",
    "writing",
]

#: the user's own data folder, wherever the package is installed: $XDG_DATA_HOME/optexec, else ~/.local/share/optexec
USER_DATA_DIR = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "optexec"
DEFAULT_DB_PATH = USER_DATA_DIR / "optexec.duckdb"
ENV_VAR = "OPTEXEC_DB"


@dataclasses.dataclass
class _Entry:
    """This process's connection on one database file while anyone uses it (``con`` is None while it opens)."""

    read_only: bool
    con: duckdb.DuckDBPyConnection | None = None
    users: int = 0
    pinned: bool = False  # a connect() handle: kept until close_all()
    pid: int = dataclasses.field(default_factory=os.getpid)

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection (``_acquire`` returns an entry once it is open; it is closed at exit)."""
        if self.con is None:
            raise ValueError("the database connection is closed (the program is exiting)")
        return self.con


_cond = threading.Condition(threading.Lock())
_entries: dict[str, _Entry] = {}
_writers_waiting: Counter[str] = Counter()
_local = threading.local()  # .held: Counter of the paths this thread is inside a reading/writing block of


def resolve_path(path: str | os.PathLike | None = None) -> Path:
    """The database file to use: ``path``, else ``$OPTEXEC_DB``, else ``DEFAULT_DB_PATH`` (the user's data folder)."""
    chosen = path or os.environ.get(ENV_VAR) or DEFAULT_DB_PATH
    return Path(chosen).expanduser().resolve()


_notices: list[str] = []


def notices() -> list[str]:
    """What this process did to a database on its own (a stale sample database rebuilt), for pages to show."""
    return list(_notices)


def _prepare_file(path: Path, write: bool, build_sample: bool | None) -> None:
    """Build a missing default database from the sample (or ``build_sample``); a reader needs an existing file.

    An existing default database (or any built from the sample, with its stamp) is checked against the bundled
    sample files first (``sample.refresh_if_stale``): what was done is printed to stderr and kept in ``notices``."""
    if path.exists():
        from optexec.store import sample

        if path == DEFAULT_DB_PATH.resolve() or sample.stamp_path(path).exists():
            said = sample.refresh_if_stale(path)
            if said and said not in _notices:
                _notices.append(said)
                print(f"note: {said}", file=sys.stderr)
        return
    if build_sample is None:
        build_sample = path == DEFAULT_DB_PATH.resolve()
    if build_sample:
        from optexec.store.sample import build_sample_database

        build_sample_database(path)
    elif not write:
        raise ValueError(f"the database {path} does not exist")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)


def _held() -> Counter[str]:
    held = getattr(_local, "held", None)
    if held is None:
        held = _local.held = Counter()
    return held


def _wait(key: str, deadline: float) -> None:
    """Wait (``_cond`` held) for this process's other users of ``key``; DatabaseBusyError past the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DatabaseBusyError(
            f"the database {key} is still in use elsewhere in this program after {wait_seconds():g} s; try again "
            f"(or wait longer with {WAIT_ENV_VAR}=SECONDS)"
        )
    _cond.wait(min(remaining, 1.0))


def _acquire(path: Path, write: bool, pin: bool = False, build_sample: bool | None = None) -> _Entry:
    """Join or open this process's connection on ``path`` for a reader or a writer (module docstring)."""
    key = str(path)
    deadline = time.monotonic() + wait_seconds()
    mine = _held()[key] > 0  # this thread is already inside a block on this path: join, never wait for itself
    with _cond:
        while True:
            entry = _entries.get(key)
            if entry is not None and entry.pid != os.getpid():  # inherited through fork: not this process's
                del _entries[key]
                entry = None
            if entry is not None and entry.con is None:  # another thread is opening it
                _wait(key, deadline)
                continue
            if entry is not None and write and entry.read_only:
                if entry.pinned or mine:
                    raise ValueError(
                        f"cannot write to the database {key}: this program holds it open read-only "
                        f"({'db.connect(read_only=True)' if entry.pinned else 'inside a reading block'})"
                    )
                _writers_waiting[key] += 1
                try:
                    _wait(key, deadline)
                finally:
                    _writers_waiting[key] -= 1
                continue
            if entry is not None:
                if entry.read_only and _writers_waiting[key] and not (mine or entry.pinned):
                    _wait(key, deadline)  # a writer of this process is waiting for the readers: queue behind it
                    continue
                entry.pinned = entry.pinned or pin
                entry.users += 0 if pin else 1
                return entry
            if not write and _writers_waiting[key] and not mine:
                _wait(key, deadline)
                continue
            entry = _entries[key] = _Entry(read_only=not write, pinned=pin, users=0 if pin else 1)
            break
    try:  # open outside the lock: it may wait for another process
        _prepare_file(path, write, build_sample)
        try:
            con = connections.open_connection(path, entry.read_only, deadline)
        except connections.OtherModeError:
            if write:
                raise
            con = connections.open_connection(
                path, False, deadline
            )  # an unmanaged read-write connection of this process: join it
            entry.read_only = False
    except BaseException:
        with _cond:
            del _entries[key]
            _cond.notify_all()
        raise
    with _cond:
        entry.con = con
        _cond.notify_all()
    return entry


def _release(path: Path, entry: _Entry) -> None:
    with _cond:
        entry.users -= 1
        if entry.users == 0 and not entry.pinned and _entries.get(str(path)) is entry:
            del _entries[str(path)]
            entry.connection().close()
            _cond.notify_all()


@contextlib.contextmanager
def _block(path: str | os.PathLike | None, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    resolved = resolve_path(path)
    entry = _acquire(resolved, write)
    held = _held()
    held[str(resolved)] += 1
    try:
        cur = entry.connection().cursor()
        try:
            yield cur
        finally:
            cur.close()
    finally:
        held[str(resolved)] -= 1
        _release(resolved, entry)


def reading(path: str | os.PathLike | None = None) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A connection to read the database with, for the length of the ``with`` block, then closed (module docstring).

    Waits up to ``wait_seconds()`` while another process writes to the file, then raises ``DatabaseBusyError``;
    ValueError when the file does not exist (the default database is built from the sample first) or is not a
    database. Inside a block of ``writing`` or of a ``connect()`` handle on the same path it joins that connection.
    """
    return _block(path, write=False)


def writing(path: str | os.PathLike | None = None) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
    """A connection to write the database with, for the length of the ``with`` block, then closed.

    Waits (up to ``wait_seconds()``) for other processes and for this process's open readers; creates a missing
    file (the default database from the sample).
    """
    return _block(path, write=True)


def connect(
    path: str | os.PathLike | None = None, read_only: bool = False, build_sample: bool | None = None
) -> duckdb.DuckDBPyConnection:
    """The long-lived handle of a command-line run or a test on the database, kept until ``close_all()``.

    Parameters
    ----------
    path : database file; default ``$OPTEXEC_DB`` or ``DEFAULT_DB_PATH``.
    read_only : open for reading only (other read-only processes may then open it too); an open read-write handle
        of this process is returned as it is.
    build_sample : load the bundled sample when the file does not exist yet (default: only for the
        default database ``DEFAULT_DB_PATH``; any other new file starts empty).

    Waits like ``reading``/``writing``. The app never calls it (it would hold the file while idle). Share the
    handle between threads only through ``con.cursor()``.
    """
    return _acquire(resolve_path(path), write=not read_only, pin=True, build_sample=build_sample).connection()


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
            parts.append(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}")
    return f"{resolved}|{'|'.join(parts)}"


def open_handles() -> frozenset[str]:
    """The database files this process has a ``connect()`` handle on."""
    with _cond:
        return frozenset(key for key, entry in _entries.items() if entry.pinned and entry.pid == os.getpid())


def release_handles(keep: Collection[str] = ()) -> None:
    """Let go of this process's ``connect()`` handles but those on the files in ``keep`` (see ``open_handles``);
    one still in use by a block closes when that block ends (the command line, when a command is done)."""
    with _cond:
        for key, entry in list(_entries.items()):
            if entry.pinned and key not in keep and entry.pid == os.getpid():
                entry.pinned = False
                if entry.users == 0 and entry.con is not None:
                    del _entries[key]
                    entry.con.close()
        _cond.notify_all()


def close_all() -> None:
    """Close every connection this process holds through this module (tests); one that a block of another
    thread is using right now (a background plan reading the store) closes when that block ends."""
    with _cond:
        for key, entry in list(_entries.items()):
            if entry.pid == os.getpid() and entry.users > 0:
                entry.pinned = False  # _release closes it
                continue
            del _entries[key]
            if entry.pid == os.getpid() and entry.con is not None:
                entry.con.close()
        _cond.notify_all()


def _iso(value: Any) -> str | None:
    """A stored time as ISO 8601 UTC text; one Python cannot hold (year > 9999 or before year 1) as DuckDB writes it."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat() + "Z"
    return f"{value} (outside Python's date range)"


def _close_at_exit() -> None:
    """At exit, close and drop every connection this process holds here, even one a block of a daemon thread is
    still using (that thread ends with the process): a DuckDB connection alive at shutdown makes DuckDB's bindings
    print "nanobind: leaked ..." (issue 16)."""
    locked = _cond.acquire(timeout=1.0)  # never hang the exit on a thread stuck inside the lock
    try:
        entries = [entry for entry in _entries.values() if entry.pid == os.getpid()]
        _entries.clear()
    finally:
        if locked:
            _cond.release()
    for entry in entries:
        con, entry.con = entry.con, None
        if con is not None:
            with contextlib.suppress(duckdb.Error):
                con.close()


atexit.register(_close_at_exit)


#: the load history rows ``db info`` shows (the latest first)
HISTORY_SHOWN = 20


def info(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Row counts, symbol counts and time range (UTC, ISO 8601) of every table, and the latest loads (``db info``).

    A stored time outside what Python can represent is shown as text, never an error.
    """
    tables: dict[str, Any] = {}
    for table in TABLES.values():
        time_col = table.time_column
        span = f"min({time_col}), max({time_col})" if time_col else "NULL, NULL"
        ((rows, symbols, start, end),) = fetch(
            con, f"SELECT count(*), count(DISTINCT symbol), {span} FROM {table.name}"
        )
        tables[table.name] = {"rows": int(rows), "symbols": int(symbols), "start": _iso(start), "end": _iso(end)}
    return {"path": database_file(con), "tables": tables, "loads": load_history(con, HISTORY_SHOWN)}


def load_history(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[dict[str, Any]]:
    """The committed loads, latest first: file, time (UTC), table, rows read/loaded/already there/conflicting/
    replaced/kept/rejected and the on-conflict policy (empty for a database made before the history existed)."""
    exists = fetch(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'load_history' AND NOT temporary")
    if not exists[0][0]:
        return []
    cur = con.cursor()
    try:
        result = cur.execute(
            "SELECT * FROM load_history ORDER BY loaded_at DESC, rowid DESC LIMIT $n", {"n": limit or 2**62}
        )
        names = [d[0] for d in result.description]
        rows = result.fetchall()
    finally:
        cur.close()
    out = []
    for row in rows:
        entry = dict(zip(names, row, strict=True))
        entry["loaded_at"] = _iso(entry["loaded_at"])
        out.append(entry)
    return out


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
    return fetch(con, sql, how="df")


def bars_local(con: duckdb.DuckDBPyConnection, symbol: str, days: int | None = None):
    """A symbol's bars with ``ts_local`` in the instrument's time zone (the last ``days`` trading days)."""
    sql = """
        WITH i AS (SELECT coalesce(max(time_zone), 'UTC') AS tz FROM instruments WHERE symbol = $symbol),
        b AS (SELECT timezone(i.tz, timezone('UTC', ts)) AS ts_local, open, high, low, close, volume
              FROM bars, i WHERE symbol = $symbol),
        d AS (SELECT DISTINCT CAST(ts_local AS DATE) AS day FROM b ORDER BY day DESC LIMIT $days)
        SELECT b.* FROM b WHERE CAST(ts_local AS DATE) IN (SELECT day FROM d) ORDER BY ts_local
    """
    return fetch(con, sql, {"symbol": symbol, "days": int(days) if days else 1_000_000}, how="df")
