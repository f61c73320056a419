"""Opening DuckDB connections to a store file: the schema in place, UTC session time, waiting for other processes.

DESIGN.md section 5. ``open_connection`` retries with backoff while another process holds the file, for up to
``OPTEXEC_DB_WAIT_SECONDS`` (default 10 s), then raises ``DatabaseBusyError`` naming the holder's process id.
``open_database`` is a connection of the caller's own; ``optexec.store.db`` shares connections within a process
and finds the default database. Connections opened here and still open when the process exits are closed then
(``atexit``), so DuckDB's bindings have nothing left to report as leaked.
"""

from __future__ import annotations

import atexit
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from optexec.store import migrations

WAIT_ENV_VAR = "OPTEXEC_DB_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 10.0
_FIRST_RETRY_SECONDS = 0.02
_LONGEST_RETRY_SECONDS = 0.5

_wait_notice: Callable[[str], None] | None = None
_write_locks: dict[str, threading.RLock] = {}
_write_locks_lock = threading.Lock()
#: every connection opened here that may still be open (closed at exit: ``close_at_exit``)
_opened: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


class DatabaseBusyError(ValueError):
    """Another process (or this one's other readers) kept the database file for longer than the wait allows."""


def wait_seconds() -> float:
    """How long an open waits for another process to let the file go: ``$OPTEXEC_DB_WAIT_SECONDS``, default 10 s."""
    text = os.environ.get(WAIT_ENV_VAR, "").strip()
    if not text:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise ValueError(f"{WAIT_ENV_VAR} must be a number of seconds >= 0, got {text!r}")
    return seconds


def set_wait_notice(notice: Callable[[str], None] | None) -> None:
    """Call ``notice(message)`` once per open that has to wait for another process (the command line prints it)."""
    global _wait_notice
    _wait_notice = notice


def _holder(message: str) -> tuple[str, bool]:
    """Who holds the file, from DuckDB's lock error: 'process N (its command line)', and whether only for reading."""
    found = re.search(r"PID (\d+)", message)
    if not found:
        return "another process", False
    pid = found.group(1)
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").replace("\0", " ")
    except OSError:
        command = ""
    command = " ".join(command.split())  # one line, whatever the holder's arguments hold
    if len(command) > 80:
        command = command[:77] + "..."
    return f"process {pid}" + (f" ({command})" if command else ""), "read-only mode" in message


def open_connection(path: Path, read_only: bool, deadline: float | None = None) -> duckdb.DuckDBPyConnection:
    """A new connection with UTC session time (and the schema, when writable); retries while another process holds
    the file, until ``deadline`` (``time.monotonic()``; default: now + ``wait_seconds()``)."""
    if deadline is None:
        deadline = time.monotonic() + wait_seconds()
    started, delay, announced = time.monotonic(), _FIRST_RETRY_SECONDS, False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            _opened.add(con)
            break
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise ValueError(f"cannot open the database {path}: {text.splitlines()[0]}") from None
            holder, reading_only = _holder(text)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                how = "reading" if reading_only else "writing"
                raise DatabaseBusyError(
                    f"the database {path} is busy: {holder} has it open for {how} and did not let go within "
                    f"{time.monotonic() - started:.1f} s; try again when it has finished (or wait longer with "
                    f"{WAIT_ENV_VAR}=SECONDS, or choose another database with --db)"
                ) from None
            if not announced and _wait_notice is not None:
                _wait_notice(f"waiting for the database {path}: held by {holder} (up to {remaining:.0f} s)")
                announced = True
            time.sleep(min(remaining, delay * random.uniform(0.5, 1.0)))
            delay = min(2 * delay, _LONGEST_RETRY_SECONDS)
        except duckdb.ConnectionException as exc:  # this process holds it in the other mode, outside this module
            raise OtherModeError(f"cannot open the database {path}: {str(exc).splitlines()[0]}") from None
        except duckdb.Error as exc:
            raise ValueError(f"cannot open the database {path}: {str(exc).splitlines()[0]}") from None
    try:
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        if not read_only:
            migrations.create_schema(con)
        migrate_first = read_only and migrations.old_layout(con)
    except BaseException:
        con.close()
        raise
    if migrate_first:  # an older calibration layout: one writable open migrates it, then it is read as asked
        con.close()
        open_connection(path, False, deadline).close()
        return open_connection(path, True, deadline)
    return con


class OtherModeError(ValueError):
    """This process already has the file open in the other mode through a connection ``optexec.store.db`` does not
    manage."""


def open_database(path: str | os.PathLike, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a new connection of the caller's own (waits like every open), with the schema in place; the caller
    closes it. It does not join this module's connections: use it where nothing else in the process has the file."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return open_connection(path, read_only)


def write_lock(con: duckdb.DuckDBPyConnection) -> threading.RLock:
    """The in-process lock that serialises loads into one database (reads need none)."""
    name = database_file(con)
    with _write_locks_lock:
        return _write_locks.setdefault(name, threading.RLock())


def database_file(con: duckdb.DuckDBPyConnection) -> str:
    """The file behind a connection (``:memory:`` for in-memory databases)."""
    cur = con.cursor()
    try:
        row = cur.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    finally:
        cur.close()
    return row[0] if row and row[0] else ":memory:"


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None, how: str = "all") -> Any:
    """Run one query on a fresh cursor, fetch everything, close the cursor."""
    cur = con.cursor()
    try:
        result = cur.execute(sql, params)
        return result.df() if how == "df" else result.fetchall()
    finally:
        cur.close()


def close_at_exit() -> None:
    """Close every connection opened here that is still open (run at exit; DuckDB reports the ones left open)."""
    for con in list(_opened):
        try:
            con.close()
        except duckdb.Error:
            pass  # already unusable: nothing to release
    _opened.clear()


atexit.register(close_at_exit)
