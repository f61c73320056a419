"""Validated insertion of a staged source into the store, one transaction per file (``load_source``).

DESIGN.md section 4. A file's rows, read by DuckDB itself (``optexec.store.loading`` for CSV and Parquet,
``optexec.store.importers`` for LOBSTER and LEAN), go into a temporary staging table, every row is checked with
vectorised SQL (a reason per row and column), and the good rows go into the store table in one transaction:
the whole file, or with ``skip_bad_rows`` the good rows plus a report of the rejected ones.
Every reported line is the file's own: lines DuckDB's reader drops are accounted for, and the first occurrence of
a repeated key is the one kept. Rows already in the store with the same values are "already there" (loading twice
adds nothing); rows with a stored key and other values are conflicts, refused by default or replaced/kept on
request (``optexec.store.merge``). Every committed load is recorded in ``load_history``.
User text (paths, symbols, column names, time zones) never enters SQL text: values travel as
parameters and file columns are addressed by position.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
import numpy as np

from optexec.store import merge, timestamps
from optexec.store.checks import TIME_WINDOW, raw_text, row_checks, typed_sql
from optexec.store.connections import write_lock
from optexec.store.inference import Histogram
from optexec.store.markets import STORED, Decision, MarketRequest, decide, place_counts
from optexec.store.reports import MAX_REJECTS_LISTED, LoadError, LoadReport, Progress, Reject, Source
from optexec.store.schema import TABLES, Table
from optexec.store.sessions import MarketSession


def load_source(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    source: Source,
    *,
    source_name: str,
    format: str,
    symbol: str | None = None,
    tz: str | None = None,
    calendar: str | None = None,
    session: str | None = None,
    format_market: tuple[MarketSession, str] | None = None,
    skip_bad_rows: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    structural_rejects: bool = False,
    on_conflict: str | None = None,
) -> LoadReport:
    """Stage, validate and insert a ``Source`` into ``table_name`` in one transaction.

    ``tz``, ``calendar`` and ``session`` (``HH:MM-HH:MM``) say what the user knows of the market; the rest is
    decided by ``optexec.store.markets.decide``. ``format_market`` is the market a file format implies (LEAN).
    ``on_conflict`` is what to do with rows whose key is stored with other values (``optexec.store.merge``).
    """
    started = time.perf_counter()
    table = TABLES[table_name]
    policy = merge.check_policy(on_conflict, table)
    request = MarketRequest.parse(tz, calendar, session)
    step = progress or (lambda fraction, text: None)
    with write_lock(con):
        cur = con.cursor()
        try:
            return _load(
                cur,
                table,
                source,
                source_name,
                format,
                symbol,
                request,
                format_market,
                skip_bad_rows,
                dry_run,
                step,
                structural_rejects,
                started,
                policy,
            )
        except LoadError as error:
            if not dry_run:
                _record_refusal(cur, error, policy)
            raise
        finally:
            cur.close()


def _record_refusal(cur, error: LoadError, policy: str) -> None:
    """A refused load in ``load_history`` (its own transaction: the load's was rolled back), with why. A refusal
    before the file was read (no report) or on a store that cannot be written is not recorded; the refusal itself
    still reaches the user."""
    report = getattr(error, "report", None)
    if report is None:
        return
    reason = str(error).split(": ", 1)[-1]
    try:
        cur.execute("BEGIN TRANSACTION")
        merge.record(cur, report, policy, f"refused: {reason}"[:500])
        cur.execute("COMMIT")
    except duckdb.Error:
        try:
            cur.execute("ROLLBACK")
        except duckdb.Error:
            pass


#: the column whose value measures activity when the market is inferred (other tables: one per row)
ACTIVITY = {"bars": "volume", "trades": "size", "fills": "qty"}


def _layers(table: Table, source: Source, params: dict) -> tuple[str, list[str]]:
    """SQL reading the source with every timestamp worked out (see ``timestamps``), and the ts columns."""
    raw = [f"{expr} AS _raw_{name}" for name, expr in source.exprs.items() if name != "_row"]
    if "symbol_const" in params:
        raw.append("CAST($symbol_const AS VARCHAR) AS _raw_symbol")
    if "_row" in source.exprs:
        raw.append(f"{source.exprs['_row']} AS _row")
    ts_cols = [c.name for c in table.columns if c.kind == "ts" and c.name in source.exprs]
    sql = f"(SELECT {', '.join(raw)} FROM {source.from_sql})"
    parts = [p for n in ts_cols for p in timestamps.parts_sql(n)]
    if parts:
        sql = f"(SELECT *, {', '.join(parts)} FROM {sql})"
    return sql, ts_cols


def _activity_histogram(cur, table: Table, present: set[str], ts_cols: list[str]) -> tuple[Histogram, list[str]]:
    """Activity per symbol and minute (UTC when the time says its zone, wall clock when naive) for ``decide``,
    from the staged rows (``_stage``: ``_naive_<t>`` and ``_m_<t>``, see ``_stage_sql``), and the symbols it has.

    The symbols not stored yet get one market together (``markets.decide``), so their rows are counted together,
    under the first of them: one row per minute for a file of many symbols trading the same minutes. A stored
    symbol keeps rows of its own.
    """
    t = table.time_column
    if t is None or t not in ts_cols or "symbol" not in present:
        return Histogram.empty(), []
    weight = "1.0"
    if table.name in ACTIVITY and ACTIVITY[table.name] in present:
        w = ACTIVITY[table.name]
        weight = f"CASE WHEN isfinite({w}) AND {w} > 0 THEN {w} ELSE 0 END"
    rows = (
        f"SELECT symbol, _naive_{t} AS naive, _m_{t} AS minute, {weight} AS weight FROM _stage "
        f"WHERE _m_{t} >= TIMESTAMP '{TIME_WINDOW[0]}' AND _m_{t} < TIMESTAMP '{TIME_WINDOW[1]}' "
        "AND symbol IS NOT NULL"
    )  # times outside the window are rejected: they say nothing of the market
    symbols = [r[0] for r in cur.execute(f"SELECT DISTINCT symbol FROM ({rows}) ORDER BY 1").fetchall()]
    if not symbols:
        return Histogram.empty(), []
    stored = [
        r[0]
        for r in cur.execute(
            "SELECT symbol FROM instruments WHERE symbol IN (SELECT unnest($s)) ORDER BY 1", {"s": symbols}
        ).fetchall()
    ]
    pooled = next((s for s in symbols if s not in set(stored)), symbols[0])
    sql = (
        "SELECT coalesce(k._stored, $pooled) AS symbol, r.naive, r.minute, sum(r.weight) AS weight, "
        f"count(*) AS rows FROM ({rows}) r LEFT JOIN (SELECT unnest($stored) AS _stored) k "
        "ON r.symbol = k._stored GROUP BY ALL"
    )
    return _symbol_histogram(cur, sql, {"pooled": pooled, "stored": stored}), symbols


def _has_naive_times(cur, ts_cols: list[str]) -> bool:
    """Whether a staged row has a time written without an offset or a zone (read in the naive zone)."""
    if not ts_cols:
        return False
    any_naive = " OR ".join(f"_naive_{n}" for n in ts_cols)
    (found,) = cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM _stage WHERE {any_naive} LIMIT 1)").fetchone()
    return found > 0


def _run_stage(cur, stage_sql, params: dict) -> None:
    """Stage the rows: ``stage_sql(distinct)`` is the statement (``_stage_sql``); the zone readings are worked out
    per distinct wall time when naive times are read in a zone other than UTC (``_zone_readings``), row by row
    otherwise (where they cost little, and gathering distinct times would cost more)."""
    sql = stage_sql(params["naive_tz"] != "UTC")
    cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _stage_sql(
    table: Table,
    source: Source,
    params: dict,
    read_sql: str,
    ts_cols: list[str],
    bad_any: str,
    distinct_readings: bool = False,
) -> str:
    """The statement that reads the source into ``_stage``: every column typed, each row flagged ``_bad`` when a
    check fails, its file line ``_line``; per time column ``<t>`` the raw text ``r_<t>`` of an unread time, the
    reason ``_why_<t>``, the ambiguous pair, the wall clock, whether it was naive (``_naive_<t>``) and the minute
    the market's evidence counts it in (``_m_<t>``: UTC when the time says its zone, wall clock when naive)."""
    typed = []
    outer = []
    for col in table.columns:
        name = col.name
        if name in source.exprs or (name == "symbol" and "symbol_const" in params):
            if col.kind == "ts":
                typed += timestamps.final_sql(name)
                typed += [f"_w_{name}", f"_raw_{name}", f"_k_{name} = 'naive' AS _naive_{name}"]
                typed.append(
                    f"date_trunc('minute', CASE WHEN _k_{name} = 'naive' THEN _w_{name} ELSE "
                    f"{timestamps.known_utc_sql(name)} END) AS _m_{name}"
                )
                outer.append(
                    f"{name}, CASE WHEN {name} IS NULL THEN {raw_text('_raw_' + name)} END AS r_{name}, "
                    f"_why_{name}, _amb_{name}, _early_{name}, _late_{name}, _w_{name}, _naive_{name}, _m_{name}"
                )
                continue
            typed.append(f"{typed_sql(col, '_raw_' + name)} AS {name}")
            if col.kind in ("symbol", "text", "tz"):
                outer.append(f"{name}, NULL AS r_{name}")
            else:
                typed.append(f"_raw_{name}")
                outer.append(f"{name}, CASE WHEN {name} IS NULL THEN {raw_text('_raw_' + name)} END AS r_{name}")
        else:
            outer.append(f"CAST({col.default_sql} AS {col.sql_type}) AS {name}, NULL AS r_{name}")
    if "_row" in source.exprs:
        typed.append("_row")
        outer.append("_row")
    layer2, with_sql = read_sql, ""
    if ts_cols and distinct_readings:
        layer2, with_sql = _zone_readings(read_sql, ts_cols)
    elif ts_cols:
        for depth in range(len(timestamps.candidate_layers("x"))):
            items = [item for n in ts_cols for item in timestamps.candidate_layers(n)[depth]]
            layer2 = f"(SELECT *, {', '.join(items)} FROM {layer2})"
    return (
        f"CREATE OR REPLACE TEMP TABLE _stage AS {with_sql}SELECT *, ({bad_any}) AS _bad, {source.line_sql} AS _line "
        f"FROM (SELECT {', '.join(outer)} FROM (SELECT {', '.join(typed)} FROM {layer2}))"
    )


def _zone_readings(read_sql: str, ts_cols: list[str]) -> tuple[str, str]:
    """The candidate layers of ``timestamps`` (the zone, the two readings of the wall time in it, whether each
    reads back), worked out once per distinct zone and wall time and joined to the rows: a file of many symbols
    repeats its times, and the zone conversions are the dearest part of staging. Rows without a zone to check
    (times with an offset, naive times read as UTC) or without a wall time match nothing and get NULL readings,
    which is what the layers give them row by row. Returns the FROM item and the WITH clause it needs."""
    zone_items = [item for n in ts_cols for item in timestamps.candidate_layers(n)[0]]
    ctes = [f"_l1 AS MATERIALIZED (SELECT *, {', '.join(zone_items)} FROM {read_sql})"]
    joined, picked = "_l1", []
    for k, n in enumerate(ts_cols):
        inner = f"(SELECT DISTINCT _z_{n}, _w_{n} FROM _l1 WHERE _z_{n} IS NOT NULL AND _w_{n} IS NOT NULL)"
        for depth in range(1, len(timestamps.candidate_layers(n))):
            inner = f"(SELECT *, {', '.join(timestamps.candidate_layers(n)[depth])} FROM {inner})"
        ctes.append(f"_c{k} AS ({inner})")
        joined += f" LEFT JOIN _c{k} ON _l1._z_{n} = _c{k}._z_{n} AND _l1._w_{n} = _c{k}._w_{n}"
        picked += [f"_c{k}._a_{n}", f"_c{k}._b_{n}", f"_c{k}._aok_{n}", f"_c{k}._bok_{n}"]
    return f"(SELECT _l1.*, {', '.join(picked)} FROM {joined})", f"WITH {', '.join(ctes)} "


def _symbol_histogram(cur, grouped_sql: str, params: dict | None = None) -> Histogram:
    """The rows of ``grouped_sql`` (``symbol`` not NULL, ``naive``, ``minute``, ``weight``, ``rows``) as a
    ``Histogram``: DuckDB returns each symbol as a small integer code, which is several times faster than a million
    Python strings, and every column as a numpy array (no pandas)."""
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _grouped AS {grouped_sql}", params)
    try:
        symbols = [r[0] for r in cur.execute("SELECT DISTINCT symbol FROM _grouped ORDER BY 1").fetchall()]
        got = cur.execute(
            "SELECT c._code, g.naive, g.minute, g.weight, g.rows FROM _grouped g JOIN (SELECT unnest($s) AS _symbol, "
            "unnest(range(CAST(len($s) AS BIGINT))) AS _code) c ON g.symbol = c._symbol",
            {"s": symbols},
        ).fetchnumpy()
    finally:
        cur.execute("DROP TABLE IF EXISTS _grouped")
    if not len(got["_code"]):
        return Histogram.empty()
    return Histogram(
        np.array(symbols, dtype=object)[np.asarray(got["_code"], dtype=np.int64)],
        np.asarray(got["naive"], dtype=bool),
        np.asarray(got["minute"]).astype("datetime64[ns]"),
        np.asarray(got["weight"], dtype=float),
        np.asarray(got["rows"], dtype=np.int64),
    )


def _load(
    cur,
    table: Table,
    source: Source,
    source_name,
    fmt,
    symbol,
    request: MarketRequest,
    format_market,
    skip_bad_rows,
    dry_run,
    step,
    structural_rejects,
    started,
    policy,
) -> LoadReport:
    cur.execute("SET TimeZone = 'UTC'")
    timestamps.create_macros(cur)
    params = dict(source.params)
    present = set(source.exprs) - {"_row"}
    if symbol is not None and "symbol" not in present and "symbol" in table.column_names:
        params["symbol_const"] = symbol
    step(0.02, "reading the file")
    try:
        if source.prepare is not None:
            source.prepare(cur)
        read_sql, ts_cols = _layers(table, source, params)
    except duckdb.Error as exc:
        raise LoadError(f"cannot read {source_name}: {str(exc).splitlines()[0]}") from None
    present_all = present | ({"symbol"} if "symbol_const" in params else set())
    required_now = {c.name for c in table.columns if c.required} | ({"seq"} & present)
    checks = row_checks(table, present_all, required_now)

    # one pass flags the bad rows; the reasons are worked out afterwards for the flagged rows only
    def flag(col: str, cond: str) -> str:  # a required column is bad when NULL, whatever the reason
        return f"{col} IS NULL" if col in required_now and cond.startswith(f"{col} IS NULL AND r_{col}") else cond

    flags = dict.fromkeys(flag(col, cond) for col, cond, _ in checks)  # ordered, without repeats
    bad_any = f"coalesce({' OR '.join(f'({c})' for c in flags)}, false)" if flags else "false"

    def stage_sql(distinct_readings: bool) -> str:
        return _stage_sql(table, source, params, read_sql, ts_cols, bad_any, distinct_readings)

    # The file is read once, straight into the staged rows, with times written without an offset read in the zone
    # given (or UTC); the market's evidence is then read from the staged rows. When the market decided from it
    # reads those times in another zone, the rows are staged again in that zone (times with an offset or a zone
    # name read the same in any case).
    assumed = request.tz or "UTC"
    params["naive_tz"] = assumed
    params["zone_names"] = timestamps.zone_names(cur)
    try:
        _run_stage(cur, stage_sql, params)
        hist, hist_symbols = _activity_histogram(cur, table, present_all, ts_cols)
    except duckdb.Error as exc:
        raise LoadError(f"cannot read {source_name}: {str(exc).splitlines()[0]}") from None
    decision = decide(cur, hist, request, format_market, table.name, symbols=hist_symbols)
    params["naive_tz"] = decision.naive_zone or "UTC"
    if params["naive_tz"] != assumed and _has_naive_times(cur, ts_cols):
        try:
            _run_stage(cur, stage_sql, params)
        except duckdb.Error as exc:
            raise LoadError(f"cannot read {source_name}: {str(exc).splitlines()[0]}") from None
    cur.execute("DROP TABLE IF EXISTS _numbered")  # the rows as read (a CSV's, numbered): staged now
    step(0.45, "checking every row")
    early = list(source.early_rejects)
    structural_lines = structural_problems = 0
    if structural_rejects:  # lines DuckDB's reader dropped: counted in SQL, the first ones listed
        structural_lines, structural_problems = cur.execute(
            "SELECT count(DISTINCT line), count(*) FROM _optexec_rej"
        ).fetchone()
        rows = cur.execute(
            "SELECT line, column_name, error_type, error_message FROM _optexec_rej ORDER BY line LIMIT $n",
            {"n": MAX_REJECTS_LISTED},
        ).fetchall()
        for ln, colname, etype, message in rows:
            position = int(colname[1:]) if colname and colname[1:].isdigit() else None
            label = (
                source.file_columns[position] if position is not None and position < len(source.file_columns) else ""
            )
            early.append(Reject(int(ln), label, f"{str(etype).lower()}: {message}"))
    if structural_lines:  # (with none dropped every row's line is its reader's number already)
        _move_past_dropped_lines(cur, "SELECT line FROM _optexec_rej", source.first_line)
    try:
        _resolve_repeated_hour(cur, table, ts_cols, bad_any)
    except duckdb.Error as exc:
        raise LoadError(f"cannot read {source_name}: {str(exc).splitlines()[0]}") from None
    n_staged, n_bad = cur.execute("SELECT count(*), count(*) FILTER (WHERE _bad) FROM _stage").fetchone()
    step(0.5, "checking for duplicate keys")
    n_dups, key = _duplicates(cur, table, present)
    # every problem stays in DuckDB: counted there, and only the first ones come to Python
    problems_sql = [
        f"SELECT _line AS line, '{col}' AS col, {msg} AS reason FROM _stage WHERE _bad AND coalesce({cond}, false)"
        for col, cond, msg in checks
    ]
    repeat = f"'repeats the key ({', '.join(key)}) of line ' || first_line || '; the first is kept'"
    problems_sql.append(f"SELECT line, '{key[-1]}' AS col, {repeat} AS reason FROM _dups")
    union_sql = " UNION ALL ".join(problems_sql)
    n_problem_lines, n_problems = (0, 0)
    listed = []
    if n_bad or n_dups:
        n_problem_lines, n_problems = cur.execute(
            f"SELECT count(DISTINCT line), count(*) FROM ({union_sql})"
        ).fetchone()
        listed = cur.execute(
            f"SELECT * FROM ({union_sql}) ORDER BY line, col LIMIT $n", {"n": MAX_REJECTS_LISTED}
        ).fetchall()
    rejects = early + [Reject(int(ln), source.labels.get(col, col), reason) for ln, col, reason in listed]
    rejects.sort(key=lambda r: (r.line, r.column))
    other_lines = len({r.line for r in source.early_rejects})
    n_rejected = int(n_problem_lines) + int(structural_lines) + other_lines
    n_problems_all = int(n_problems) + int(structural_problems) + len(source.early_rejects)
    skipped_rows = int(structural_lines)
    good = "NOT _bad" + (" AND _line NOT IN (SELECT line FROM _dups)" if n_dups else "")
    step(0.55, "checking the time order")
    warnings = _order_warnings(cur, table, good)
    if table.name == "instruments":
        warnings += _instrument_warnings(cur, present)
    if symbol is not None and "symbol" in present and "symbol" in table.column_names:
        warnings.append("the file has its own symbol column; --symbol was not used")
    symbols = ()
    if "symbol" in table.column_names:
        symbols = tuple(
            r[0] for r in cur.execute(f"SELECT DISTINCT symbol FROM _stage WHERE {good} ORDER BY 1").fetchall()
        )
    report = LoadReport(
        table=table.name,
        source=source_name,
        format=fmt,
        columns={**source.labels, **({"symbol": "--symbol"} if "symbol_const" in params else {})},
        rows_read=int(n_staged) + skipped_rows,
        rows_rejected=n_rejected,
        problems=n_problems_all,
        rejects=tuple(rejects[:MAX_REJECTS_LISTED]),
        warnings=tuple(warnings),
        symbols=symbols,
        markets=tuple(n for n in decision.notes if set(n.symbols) & set(symbols)),
        time_zone_note=decision.zone_sentence,
        on_conflict=policy,
        **_place_counts(cur, table, decision, good),
    )
    if n_staged + skipped_rows == 0:
        raise LoadError(f"{source_name} holds no data rows", report)
    if rejects and not skip_bad_rows:
        first = rejects[0]
        where = f"line {first.line}" + (f", column {first.column}" if first.column else "")
        raise LoadError(
            f"{source_name}: {n_rejected} of {report.rows_read} rows are bad (first: {where}: {first.reason}); "
            "nothing was loaded (use --skip-bad-rows to load the good rows)",
            report,
        )
    step(0.58, "comparing with the stored rows")
    may_overlap = _may_conflict(cur, table, symbols)
    seqless = table.has_seq and "seq" not in present_all
    merge.stage_incoming(cur, table, present_all, good, materialise=may_overlap or seqless)
    comparison = merge.compare(cur, table, present_all, policy, may_overlap)
    report = LoadReport(
        **{
            **report.__dict__,
            "rows_conflicting": comparison.conflicting,
            "conflicts": comparison.conflicts,
            "changes": comparison.changes,
            "rows_already_present": comparison.same,
            "warnings": report.warnings + comparison.notes,
        }
    )
    if comparison.conflicting and policy == "refuse" and not dry_run:
        raise LoadError(merge.refusal(source_name, comparison), report)
    step(0.6, "writing to the store")
    cur.begin()
    try:
        new, replaced, kept = merge.write(cur, comparison)
        if table.name != "instruments":
            _register_instruments(cur, decision, symbols)
        report = LoadReport(
            **{
                **report.__dict__,
                "rows_loaded": 0 if dry_run else new + (replaced if not comparison.seqless else 0),
                "rows_replaced": 0 if dry_run else replaced,
                "rows_kept": kept,
                "rows_new_prints": comparison.new_prints,
                "committed": not dry_run,
                "seconds": time.perf_counter() - started,
            }
        )
        if not dry_run:
            merge.record(cur, report, policy)
        step(0.9, "committing")
        if dry_run:
            cur.rollback()
        else:
            cur.commit()
    except BaseException as exc:
        try:
            cur.rollback()
        except duckdb.Error:
            pass  # the failed statement already ended the transaction
        if isinstance(exc, duckdb.Error):
            raise LoadError(
                f"the store refused {source_name}: {str(exc).splitlines()[0]}; nothing was loaded"
            ) from None
        raise
    finally:
        cur.execute("DROP TABLE IF EXISTS _dups; DROP TABLE IF EXISTS _match; DROP TABLE IF EXISTS _groups")
        merge.drop_incoming(cur)  # (a view of _stage: before it)
        cur.execute("DROP TABLE IF EXISTS _stage; DROP TABLE IF EXISTS _numbered")
    step(1.0, "done")
    return report


def _move_past_dropped_lines(cur, skipped_sql: str, first_line: int) -> None:
    """Move every staged row's line in the file, ``_line`` (the reader's row number, ``Source.line_sql``), past the
    lines DuckDB's CSV reader dropped (``skipped_sql`` selects their ``line``; they are reported with their own
    lines)."""
    # the j-th dropped line (from 0) has (its index - j) kept rows before it; a kept row moves down by the number
    # of dropped lines whose count of kept rows before them is at most its own index
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _skip AS SELECT before, max(n) AS n FROM (SELECT line - $first - "
        "(row_number() OVER (ORDER BY line) - 1) AS before, row_number() OVER (ORDER BY line) AS n "
        f"FROM (SELECT DISTINCT line FROM ({skipped_sql}))) GROUP BY before",
        {"first": int(first_line)},
    )
    cur.execute(
        "UPDATE _stage SET _line = _stage._line + j.n FROM (SELECT s.rowid AS rid, k.n FROM _stage s "
        f"ASOF JOIN _skip k ON s._line - {int(first_line)} >= k.before) j WHERE _stage.rowid = j.rid"
    )
    cur.execute("DROP TABLE _skip")


def _duplicates(cur, table: Table, present: set[str]) -> tuple[int, list[str]]:
    """Rows repeating the key of an earlier good row of the file, in ``_dups(line, first_line)``: their number and
    the key's columns.

    The first occurrence (lowest line) is kept. A file without seq numbers its prints from their order, so its rows
    cannot collide. Everything stays in DuckDB (a file of a million identical rows costs no Python memory).
    """
    key = list(table.key)
    cur.execute("CREATE OR REPLACE TEMP TABLE _dups (line BIGINT, first_line BIGINT)")
    if "seq" in key and "seq" not in present:
        return 0, key
    key_sql = ", ".join(key)
    cur.execute(
        f"INSERT INTO _dups WITH s AS (SELECT _line, {key_sql} FROM _stage WHERE NOT _bad), "
        f"d AS (SELECT {key_sql}, min(_line) AS first_line FROM s GROUP BY ALL HAVING count(*) > 1) "
        f"SELECT s._line, d.first_line FROM s JOIN d USING ({key_sql}) WHERE s._line > d.first_line"
    )
    (n,) = cur.execute("SELECT count(*) FROM _dups").fetchone()
    return int(n), key


def _resolve_repeated_hour(cur, table: Table, ts_cols: list[str], bad_any: str) -> None:
    """Ambiguous wall times held exactly twice by a symbol: the first (file order) is the earlier instant.

    See ``timestamps``: any other ambiguous time stays rejected with its reason.
    """
    group = "symbol, " if "symbol" in table.column_names else ""
    for n in ts_cols:
        (count_amb,) = cur.execute(f"SELECT count(*) FROM _stage WHERE _amb_{n}").fetchone()
        if not count_amb:
            continue
        cur.execute(
            f"UPDATE _stage SET {n} = CASE WHEN x.k = 1 THEN _early_{n} ELSE _late_{n} END, _why_{n} = NULL, "
            f"r_{n} = NULL FROM (SELECT rowid AS rid, row_number() OVER (PARTITION BY {group}_w_{n} ORDER BY _line) "
            f"AS k, count(*) OVER (PARTITION BY {group}_w_{n}) AS n FROM _stage WHERE _amb_{n}) x "
            "WHERE _stage.rowid = x.rid AND x.n = 2"
        )
        cur.execute(f"UPDATE _stage SET _bad = ({bad_any}) WHERE _amb_{n}")


def _instrument_warnings(cur, present: set[str]) -> list[str]:
    """New instruments of a file without a time zone or a session: named, with what is used until they are set.

    A symbol already stored keeps its stored market for what the file leaves empty.
    """
    zone = "UTC" if "time_zone" in present else "America/New_York"
    rows = cur.execute(
        "SELECT symbol FROM _stage WHERE NOT _bad AND (time_zone IS NULL OR session_open IS NULL "
        "OR session_close IS NULL) AND symbol NOT IN (SELECT symbol FROM instruments) ORDER BY symbol"
    ).fetchall()
    if not rows:
        return []
    names = ", ".join(r[0] for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
    text = (
        f"{len(rows)} instruments have no time zone or regular session in the file ({names}): until they are set "
        f"(python -m optexec db market SYMBOL --calendar CODE) they use {zone} for a missing time zone and "
        "09:30–16:00 for a missing session"
    )
    return [text]


def _register_instruments(cur, decision: Decision, symbols) -> None:
    """Insert the new symbols of a load into instruments with their market and where it came from."""
    rows = [
        (s, "USD", m.time_zone, m.calendar, m.open_local, m.close_local, source)
        for s, (m, source) in decision.markets.items()
        if s in symbols and source != STORED
    ]
    if rows:
        cur.executemany(
            "INSERT INTO instruments (symbol, currency, time_zone, calendar, session_open, session_close, "
            "market_source) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )


def _place_counts(cur, table: Table, decision: Decision, good: str) -> dict[str, Any]:
    """The report's counts of good rows in, outside the regular session and on days outside the calendar."""
    if table.time_column != "ts" or "symbol" not in table.column_names or not decision.markets:
        return {}
    # counted per market and minute (symbols of one market share their minutes): each market's rows are placed once
    markets = list(dict.fromkeys(m for m, _ in decision.markets.values()))
    symbols = list(decision.markets)
    got = cur.execute(
        "SELECT k._market AS market, date_trunc('minute', s.ts) AS minute, count(*) AS rows FROM _stage s "
        "JOIN (SELECT unnest($symbols) AS _symbol, unnest($markets) AS _market) k ON s.symbol = k._symbol "
        f"WHERE {good} AND s.ts IS NOT NULL GROUP BY ALL",
        {"symbols": symbols, "markets": [markets.index(decision.markets[s][0]) for s in symbols]},
    ).fetchnumpy()
    counts = place_counts(got["market"], got["minute"], got["rows"], markets)
    return {
        "rows_in_session": counts["regular"],
        "rows_outside_session": counts["outside"],
        "rows_off_calendar": counts["off_day"],
    }


def _may_conflict(cur, table: Table, symbols: tuple[str, ...]) -> bool:
    """Whether a staged row can share its key with a stored row (if not, a plain INSERT is faster).

    Loads are serialised per database (``write_lock``) and other processes cannot hold the file,
    so nothing can be inserted between this check and the insert.
    """
    if cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table.name} LIMIT 1)").fetchone()[0] == 0:
        return False
    if table.time_column != "ts" or "symbol" not in table.key:
        return True
    (overlap,) = cur.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {table.name} WHERE symbol IN (SELECT unnest($symbols)) "
        "AND ts BETWEEN (SELECT min(ts) FROM _stage) AND (SELECT max(ts) FROM _stage) LIMIT 1)",
        {"symbols": list(symbols)},
    ).fetchone()
    return overlap > 0


def _order_warnings(cur, table: Table, good: str) -> list[str]:
    """Warn when a good row's time is earlier than the previous good row's (in file order) of its symbol or order."""
    group = "order_id" if table.name == "fills" else "symbol"
    if table.time_column != "ts" or group not in table.column_names:
        return []
    count, first = cur.execute(
        f"SELECT count(*), min(_line) FROM (SELECT _line, ts, lag(ts) OVER (PARTITION BY {group} ORDER BY _line) "
        f"AS previous FROM _stage WHERE {good}) WHERE ts < previous"
    ).fetchone()
    if not count:
        return []
    return [f"{count} rows have a timestamp earlier than the row before them (first at line {first}); loaded anyway"]
