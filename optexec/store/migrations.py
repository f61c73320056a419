"""Migrations of older store layouts, run on open (``create_schema``) inside its one transaction.

The calibration layout before issue 13 kept everything in one table ``calibrations`` (symbol, run_ts,
window_start, window_end, parameter, value, std_error, method): one row per parameter, the volume profile as
rows ``volume_profile_NNN``, the data behind the run as rows ``data_*``, and two pseudo-parameters ``accepted``
and ``not_acceptable``. It becomes three plain tables (``schema.TABLES``): ``calibration_runs`` (one row per
run), ``calibration_parameters`` (one row per run and parameter) and ``calibration_profiles`` (one row per run
and one-minute bucket). Nothing is lost: every old row lands in exactly one new place, and the old table is
dropped only in the same transaction that filled the new ones.

A read-only open of an old-layout store (``db._open``) first opens it for writing once, which migrates it, then
opens it read-only as asked.
"""

from __future__ import annotations

import logging

import duckdb

from optexec.store.schema import BASKETS_DDL, LOAD_HISTORY_DDL, PARAMETER_UNITS, TABLES

log = logging.getLogger(__name__)

OLD_TABLE = "calibrations"
PROFILE_PREFIX = "volume_profile_"
DATA_PREFIX = "data_"
PSEUDO = ("accepted", "not_acceptable")


def old_layout(con) -> bool:
    """True when the connection's database has the one-table calibration layout."""
    rows = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = ? AND column_name = 'parameter' "
        "AND schema_name = 'main' AND NOT internal",
        [OLD_TABLE],
    ).fetchall()
    return bool(rows[0][0])


def _copy_sql(target: str) -> list[str]:
    """INSERT statements filling the three new tables (in schema ``target``) from the old one."""
    data = f"'{DATA_PREFIX}'"
    units = ", ".join(f"('{k}', '{v}')" for k, v in PARAMETER_UNITS.items())
    skip = ", ".join(f"'{p}'" for p in PSEUDO)
    cut = len(f"{DATA_PREFIX}ignored_bars_") + 1  # the reason after the prefix (same length for days)
    return [
        f"""
        INSERT INTO {target}.calibration_runs (symbol, run_ts, window_start, window_end, accepted_at, acceptance,
            not_acceptable, data_summary, session_minutes, bars_used, days_used, median_coverage, bars_ignored,
            days_ignored, estimators)
        SELECT symbol, run_ts, min(window_start), max(window_end),
               CASE WHEN bool_or(parameter = 'accepted') THEN run_ts END,
               max(method) FILTER (WHERE parameter = 'accepted'),
               max(method) FILTER (WHERE parameter = 'not_acceptable'),
               max(method) FILTER (WHERE parameter = {data} || 'bars_used'),
               max(value) FILTER (WHERE parameter = {data} || 'session_minutes'),
               max(value) FILTER (WHERE parameter = {data} || 'bars_used'),
               max(value) FILTER (WHERE parameter = {data} || 'days_used'),
               max(value) FILTER (WHERE parameter = {data} || 'median_coverage'),
               '{{' || string_agg(to_json(substr(parameter, {cut})) || ':' || to_json(value), ',' ORDER BY parameter)
                    FILTER (WHERE starts_with(parameter, {data} || 'ignored_bars_')) || '}}',
               '{{' || string_agg(to_json(substr(parameter, {cut})) || ':' || to_json(value), ',' ORDER BY parameter)
                    FILTER (WHERE starts_with(parameter, {data} || 'ignored_days_')) || '}}',
               'migrated from the one-table layout (estimators not recorded there)'
        FROM main.{OLD_TABLE} GROUP BY symbol, run_ts
        """,
        f"""
        INSERT INTO {target}.calibration_parameters (symbol, run_ts, name, value, stderr, unit, method, fallback)
        SELECT c.symbol, c.run_ts, c.parameter, c.value, c.std_error, u.unit, c.method,
               coalesce(c.method ILIKE 'fallback%' OR c.method ILIKE 'ATHL 2005 published%'
                        OR c.method ILIKE 'Almgren–Chriss rule of thumb%', false)
        FROM main.{OLD_TABLE} c LEFT JOIN (VALUES {units}) u(name, unit) ON u.name = c.parameter
        WHERE NOT starts_with(c.parameter, '{PROFILE_PREFIX}') AND NOT starts_with(c.parameter, {data})
          AND c.parameter NOT IN ({skip})
        """,
        f"""
        INSERT INTO {target}.calibration_profiles (symbol, run_ts, bucket, start_minute, minutes, share)
        SELECT symbol, run_ts, CAST(substr(parameter, {len(PROFILE_PREFIX) + 1}) AS BIGINT) AS bucket,
               CAST(substr(parameter, {len(PROFILE_PREFIX) + 1}) AS DOUBLE), 1.0, value
        FROM main.{OLD_TABLE} WHERE starts_with(parameter, '{PROFILE_PREFIX}')
        """,
    ]


def _summary(con) -> tuple[int, int, int, int]:
    """(runs, parameter rows, profile rows, symbols) of the old table."""
    (row,) = con.execute(
        f"SELECT count(DISTINCT (symbol, run_ts)), "
        f"count(*) FILTER (WHERE NOT starts_with(parameter, '{PROFILE_PREFIX}') "
        f"AND NOT starts_with(parameter, '{DATA_PREFIX}') AND parameter NOT IN ('accepted', 'not_acceptable')), "
        f"count(*) FILTER (WHERE starts_with(parameter, '{PROFILE_PREFIX}')), count(DISTINCT symbol) "
        f"FROM main.{OLD_TABLE}"
    ).fetchall()
    return tuple(int(x) for x in row)  # type: ignore[return-value]


def migrate(con) -> str | None:
    """Move an old-layout ``calibrations`` table into the three calibration tables and drop it.

    Runs inside the caller's transaction (``create_schema``), so the store is migrated whole or not at all.
    Returns (and logs) a message naming what was migrated, or None when there was nothing to migrate.
    """
    if not old_layout(con):
        return None
    runs, params, buckets, symbols = _summary(con)
    try:
        for sql in _copy_sql("main"):
            con.execute(sql)
        con.execute(f"DROP TABLE main.{OLD_TABLE}")
    except duckdb.Error as error:  # the caller's transaction rolls back: the store keeps its old layout
        raise ValueError(
            f"cannot migrate the calibrations table to the new calibration tables ({str(error).splitlines()[0]}); "
            "the database is unchanged"
        ) from None
    message = (
        f"migrated the calibrations table (one row per parameter) to calibration_runs, calibration_parameters and "
        f"calibration_profiles: {runs} runs of {symbols} symbols, {params} parameters, {buckets} profile buckets"
    )
    log.warning(message)
    return message


def create_schema(con) -> None:
    """Create every table (if missing) on a DuckDB connection, the load history and the saved baskets, and migrate an
    older layout (``migrate``), in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in TABLES.values():
            con.execute(table.ddl())
        con.execute(LOAD_HISTORY_DDL)
        con.execute(BASKETS_DDL)
        for column in ("calendar", "session_open", "session_close", "market_source"):  # databases made before these
            con.execute(f"ALTER TABLE instruments ADD COLUMN IF NOT EXISTS {column} VARCHAR")
        con.execute("ALTER TABLE load_history ADD COLUMN IF NOT EXISTS outcome VARCHAR")  # made before refusals were
        migrate(con)  # the one-table calibration layout of older databases, in this transaction
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
