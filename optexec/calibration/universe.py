"""Calibrate a universe of symbols: one pure task per symbol, on the serial engine or a Dask cluster (issue 18).

``calibrate_task(source, symbol, start, end)`` reads the symbol's data through its source and returns a
``SymbolOutcome`` (the ``run.Calibration``, or the reason it failed); it writes nothing. Two sources:

* ``LakeSource(directory)``: a Parquet lake (``optexec.store.lake``) on a folder every worker sees. The task opens
  the lake itself and reads only its symbol's partitions (the symbol filter reaches the folders).
* ``SymbolRows``: the symbol's rows of the DuckDB store (instruments, bars, trades, quotes), read in the client (one
  query per table and symbol, in key order) and shipped to the task, which loads them into an in-memory DuckDB with
  the store's tables. The store file is never opened on a worker: a worker may be on another machine without the
  file, and while the client saves the results DuckDB lets no other process open the file, not even read-only. The
  client reads lazily: only the rows of the tasks in flight (``engines.run_tasks``) are held at a time.

Either way the task runs ``run.calibrate``, the same code as ``calibrate --symbol``, so the numbers are those of the
serial engine (which runs the same task in a loop) and of a single-symbol run. ``save_universe`` writes every
successful calibration in one transaction (``storage.save_many``); a failed symbol is reported with its reason and
the others go on.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from optexec.calibration import run
from optexec.calibration.run import Calibration
from optexec.engines import EngineChoice, engine_client, run_tasks, single_threaded_blas
from optexec.store.db import fetch
from optexec.store.schema import TABLES

#: the store tables a calibration reads
CALIBRATION_TABLES = ("instruments", "bars", "trades", "quotes")


@dataclass(frozen=True)
class LakeSource:
    """A lake folder that the client and every worker can read."""

    directory: str

    def describe(self) -> str:
        return f"the lake {self.directory}"


@dataclass(frozen=True)
class SymbolRows:
    """One symbol's rows of the store's calibration tables (Arrow tables by table name), shipped to a task."""

    symbol: str
    tables: dict[str, Any]

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())


@dataclass(frozen=True)
class SymbolOutcome:
    """One symbol's task: its calibration or why it failed, the seconds, where it ran and that process's peak RSS."""

    symbol: str
    calibration: Calibration | None
    error: str | None
    seconds: float
    worker: str
    peak_rss_bytes: int

    @property
    def ok(self) -> bool:
        return self.calibration is not None


def read_symbol_rows(con, symbol: str) -> SymbolRows:
    """The symbol's rows of the calibration tables from the store behind ``con`` (in key order)."""
    tables = {}
    for name in CALIBRATION_TABLES:
        table = TABLES[name]
        order = ", ".join(table.key)
        cur = con.cursor()
        try:
            tables[name] = cur.sql(
                f"SELECT {', '.join(table.column_names)} FROM {name} WHERE symbol = ? ORDER BY {order}", params=[symbol]
            ).to_arrow_table()
        finally:
            cur.close()
    return SymbolRows(symbol, tables)


def _rows_connection(rows: SymbolRows):
    """An in-memory DuckDB with the store's calibration tables holding the shipped rows (and the others empty)."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    for name, table in TABLES.items():
        con.execute(table.ddl().replace("CREATE TABLE IF NOT EXISTS", "CREATE TABLE"))
        if name in rows.tables:
            con.register("shipped", rows.tables[name])
            con.execute(f"INSERT INTO {name} SELECT * FROM shipped")
            con.unregister("shipped")
    return con


def _where() -> str:
    """The Dask worker running this task, else this process."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return str(get_worker().address)
        except ValueError:
            pass
    return f"process {os.getpid()}"


def calibrate_task(
    source: LakeSource | SymbolRows, symbol: str, start: dt.date | None = None, end: dt.date | None = None
) -> SymbolOutcome:
    """Calibrate one symbol from its source (module docstring); a ValueError of the data becomes the outcome's error.

    Pure: it writes nothing; the client saves the results.
    """
    t0 = time.perf_counter()
    calibration, error = None, None
    try:
        if isinstance(source, LakeSource):
            from optexec.store.lake import open_lake

            con = open_lake(source.directory, [symbol])  # only its own partitions
        else:
            con = _rows_connection(source)
        try:
            if not fetch(con, "SELECT 1 FROM instruments WHERE symbol = ? UNION SELECT 1 FROM bars WHERE symbol = ?",
                          [symbol, symbol]):  # fmt: skip
                raise ValueError(f"{symbol} is not in {_describe(source)}")
            with single_threaded_blas():  # the same rounding on every engine (optexec.engines)
                calibration = run.calibrate(con, symbol, start, end)
        finally:
            con.close()
    except ValueError as exc:
        error = str(exc)
    return SymbolOutcome(symbol, calibration, error, time.perf_counter() - t0, _where(), peak_rss_bytes())


def peak_rss_bytes() -> int:
    """This process's peak resident memory: VmHWM (Linux; ``ru_maxrss`` keeps the peak of the process that forked
    this one across exec), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:  # pragma: no cover - not Linux
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _describe(source: LakeSource | SymbolRows) -> str:
    return source.describe() if isinstance(source, LakeSource) else "the store"


Done = Callable[[SymbolOutcome, int, int], None]


def stderr_progress(outcome: SymbolOutcome, done: int, total: int) -> None:
    """One line per symbol done on stderr: ``[3/200] SYM ok 1.23 s`` or the reason it failed."""
    state = f"ok {outcome.seconds:.2f} s" if outcome.ok else f"failed: {outcome.error}"
    print(f"[{done}/{total}] {outcome.symbol} {state} ({outcome.worker})", file=sys.stderr, flush=True)


def calibrate_symbols(
    symbols: list[str],
    choice: EngineChoice,
    lake: str | None = None,
    store=None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    on_done: Done | None = None,
) -> list[SymbolOutcome]:
    """Calibrate ``symbols`` on the chosen engine, from the lake folder ``lake`` or the store connection ``store``.

    Returns one outcome per symbol, in the order of ``symbols``; nothing is saved (``save_universe``).
    ``on_done(outcome, done, total)`` is called in this process as each symbol ends.
    """
    symbols = list(dict.fromkeys(symbols))
    if not symbols:
        raise ValueError("no symbols to calibrate")
    if (lake is None) == (store is None):
        raise ValueError("calibrate from a lake or from the store, one of the two")
    if lake is not None:
        source = LakeSource(str(lake))

        def arguments() -> Iterator[tuple[Any, ...]]:
            for symbol in symbols:
                yield source, symbol, start, end
    else:

        def arguments() -> Iterator[tuple[Any, ...]]:
            for symbol in symbols:  # read lazily: at most the tasks in flight are held
                yield read_symbol_rows(store, symbol), symbol, start, end

    outcomes: dict[int, SymbolOutcome] = {}
    with engine_client(choice) as client:
        for index, outcome, error in run_tasks(calibrate_task, arguments(), choice, client, scatter=lake is None):
            if error is not None:  # the task itself broke (a bug, a worker lost): the symbol fails alone
                outcome = SymbolOutcome(symbols[index], None, f"the task failed: {type(error).__name__}: {error}",
                                        0.0, "?", 0)  # fmt: skip
            outcomes[index] = outcome
            if on_done:
                on_done(outcome, len(outcomes), len(symbols))
    return [outcomes[i] for i in range(len(symbols))]


@dataclass(frozen=True)
class UniverseResult:
    """A universe calibrated and saved: each symbol's outcome, which runs were accepted, the engine and the time."""

    outcomes: tuple[SymbolOutcome, ...]
    accepted: dict[str, bool]
    engine: str
    source: str
    seconds: float
    saved: bool

    @property
    def failed(self) -> list[SymbolOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def to_frame(self) -> pd.DataFrame:
        """One row per symbol: status, window, the main parameters (units in the names), warnings, seconds, worker."""
        rows = []
        for o in self.outcomes:
            row: dict[str, Any] = {"symbol": o.symbol, "status": "ok" if o.ok else "failed"}
            c = o.calibration
            if c is not None:
                e = c.estimates
                row.update(
                    days=c.days,
                    window_start=c.window_start,
                    window_end=c.window_end,
                    price_usd=e["price_usd"].value,
                    sigma_daily=e["sigma_daily"].value,
                    adv_shares=e["adv_shares"].value,
                    spread_usd=e["spread"].value,
                    eta=e["eta"].value,
                    gamma=e["gamma"].value,
                    accepted=self.accepted.get(o.symbol, False),
                    not_acceptable="; ".join(c.not_acceptable),
                    warnings="; ".join(c.warnings),
                    error="",
                )
            else:
                row.update(accepted=False, error=o.error)
            row.update(seconds=o.seconds, worker=o.worker)
            rows.append(row)
        return pd.DataFrame(rows)

    def to_json(self) -> dict[str, Any]:
        """``calibrate --symbols/--all --json``: each symbol's ``calibrate --json`` (or its error), and a summary."""
        symbols = []
        for o in self.outcomes:
            if o.calibration is not None:
                out = o.calibration.to_json()
                out["accepted"] = self.accepted.get(o.symbol, False)
            else:
                out = {"symbol": o.symbol, "error": o.error}
            out["task_seconds"] = o.seconds
            out["worker"] = o.worker
            symbols.append(out)
        return {
            "engine": self.engine,
            "source": self.source,
            "seconds": self.seconds,
            "saved": self.saved,
            "calibrated": sum(o.ok for o in self.outcomes),
            "failed": [{"symbol": o.symbol, "error": o.error} for o in self.failed],
            "symbols": symbols,
        }


def save_universe(
    con, outcomes: list[SymbolOutcome], accept: bool = True, insist: bool = False
) -> tuple[list[SymbolOutcome], dict[str, bool]]:
    """Save every successful calibration in ONE transaction (``storage.save_many``); each run accepted when
    ``accept`` and its data support it (``Calibration.not_acceptable``), or when ``insist``. Returns the outcomes
    with their run times and whether each symbol's run was accepted."""
    from dataclasses import replace

    from optexec.calibration import storage

    good = [(o, o.calibration) for o in outcomes if o.calibration is not None]
    decided = {o.symbol: accept and (insist or not c.not_acceptable) for o, c in good}
    saved = storage.save_many(con, [(c, decided[o.symbol]) for o, c in good], insist=insist)
    by_symbol = {c.symbol: c for c in saved}
    return [replace(o, calibration=by_symbol[o.symbol]) if o.ok else o for o in outcomes], decided


def calibrate_universe(
    symbols: list[str],
    choice: EngineChoice,
    store_path: str | None = None,
    lake: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    save: bool = True,
    accept: bool = True,
    insist: bool = False,
    on_done: Done | None = None,
) -> UniverseResult:
    """Calibrate ``symbols`` (from ``lake`` or the store at ``store_path``) and save the results into that store in
    one transaction (unless ``save`` is False). The command line and the Calibrate page call this."""
    from optexec.store import db

    t0 = time.perf_counter()
    source = f"the lake {lake}" if lake else f"the store {db.resolve_path(store_path)}"
    if lake:
        outcomes = calibrate_symbols(symbols, choice, lake=lake, start=start, end=end, on_done=on_done)
        if save:
            with db.writing(store_path) as con:
                outcomes, accepted = save_universe(con, outcomes, accept, insist)
    else:  # the store is read while the tasks run (other processes may read it too) and written once at the end
        with db.reading(store_path) as con:
            outcomes = calibrate_symbols(symbols, choice, store=con, start=start, end=end, on_done=on_done)
        if save:
            with db.writing(store_path) as con:
                outcomes, accepted = save_universe(con, outcomes, accept, insist)
    if not save:
        accepted = {}
    return UniverseResult(tuple(outcomes), accepted, choice.describe(), source, time.perf_counter() - t0, save)
