"""Importers for real market-data formats: LOBSTER and LEAN (AlgoSeek) files.

Both are read by DuckDB (``read_csv`` with explicit column types) into our tables and then go
through the same validation and single-transaction insert as any CSV (``staging.load_source``).

* LOBSTER (lobsterdata.com): ``<TICKER>_<YYYY-MM-DD>_<start>_<end>_message_<L>.csv`` plus the
  matching ``orderbook`` file, no header; time in seconds after midnight New York time (a new symbol's
  market: XNAS, "the LOBSTER format"), prices in
  $ x 10,000. Trades = executions (type 4 visible: the aggressor is the opposite of the resting
  order's direction; type 5 hidden: side unknown). Quotes = level 1 of the order book, one row
  per change, rows with an empty side left out.
* LEAN / AlgoSeek zips: ``<YYYYMMDD>_<ticker>_<minute|second|tick>_<trade|quote>.csv`` inside
  ``<YYYYMMDD>_<trade|quote>.zip``; milliseconds after midnight New York time, prices / 10,000 (a new
  symbol's market: XNYS, America/New_York, 09:30–16:00, "the LEAN format"; minute files run 04:00–20:00,
  the extended hours are counted in the report).
  Minute/second trade bars -> bars, quote bars -> quotes (the closing bid/ask at the bar's end),
  tick trades -> trades (side unknown), tick quotes -> quotes (consolidated, below).

LEAN tick quotes (``ms, bid, bid_size, ask, ask_size, exchange, condition, suspicious``) update ONE
side per row (the other side's price and size are 0), tagged with the exchange that quoted it. They
become a level-1 stream entirely in DuckDB SQL, by the rule LEAN itself uses to build its quote
bars from these ticks (checked: it reproduces every close of IBM's 2013-10-07 minute quote bars):

1. Rows flagged ``suspicious`` (anything but 0 / false / empty), rows without a time and rows with
   no valid side (a side is quoted when its price or size is non-zero; it is valid when its price
   is > 0 and its size >= 0) are dropped.
2. The latest bid (price, size) and the latest ask are carried forward, whichever exchange sent
   them. In this data the rows behave like changes of the national best bid or ask rather than
   full per-exchange quotes (in regular hours an exchange's other side is mostly not repeated), so
   a per-exchange book with best bid = max over exchanges keeps stale quotes: on IBM 2013-10-07 it
   is crossed for 99% of the rows, against 72 of 109,067 (in 21 milliseconds) with this rule.
3. Rows sharing a millisecond (a time) are applied together, in file order: the quote of a
   millisecond is the state after its last row.
4. No quote is emitted until both a bid and an ask are known, nor while the bid is above the ask
   (crossed; a locked quote, bid == ask, is kept); the last emitted quote then stands. A quote is
   emitted only when (bid, bid_size, ask, ask_size) differs from the last one emitted, stamped with
   that millisecond; its line (for messages) is the last file row of that millisecond.

Dropped rows are counted by reason in the report's warnings (with the first file line of each);
unreadable lines are rejects, as for every LEAN file. ``rows_read`` counts the file's rows and
``rows_loaded`` the consolidated quotes.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import typing
from pathlib import Path

from optexec.store import archives
from optexec.store.reports import LoadError, LoadReport, Source
from optexec.store.staging import load_source

EXCHANGE_TZ = "America/New_York"
_LOBSTER_RE = re.compile(r"([A-Za-z0-9.\-]+)_(\d{4}-\d{2}-\d{2})_\d+_\d+_message_(\d+)\.csv$")
_WORDS = "minute|second|hour|tick|trade|quote"
_LEAN_RE = re.compile(rf"(\d{{8}})_([a-z0-9.\-]+)_({_WORDS})_({_WORDS})\.csv$", re.IGNORECASE)
_LOBSTER_EMPTY = 9_999_999_999


def _local_ts(day_param: str, offset_sql: str) -> str:
    """SQL for a New York wall-clock time (the day + an interval) as TIMESTAMPTZ."""
    return f"timezone('{EXCHANGE_TZ}', CAST(${day_param} AS TIMESTAMP) + {offset_sql})"


def load(con, path: Path, fmt: str, table: str | None, **options) -> LoadReport:
    """Load a LOBSTER or LEAN file (``fmt``) into ``table`` (default: the file's natural table)."""
    with tempfile.TemporaryDirectory(prefix="optexec-import-") as tmp:
        if fmt == "lobster":
            return _load_lobster(con, path, table or "trades", tmp, **options)
        return _load_lean(con, path, table, tmp, **options)


# --------------------------------------------------------------------------------------------
# LOBSTER


def _lobster_files(path: Path, tmp: str) -> tuple[Path, Path, re.Match]:
    if path.suffix.lower() == ".zip":
        with archives.open_zip(path) as zf:
            names = zf.namelist()
            message = next((n for n in names if _LOBSTER_RE.search(Path(n).name)), None)
            if message is None:
                raise LoadError(f"{path.name} holds no LOBSTER message file (<TICKER>_<date>_..._message_<L>.csv)")
            book = message.replace("_message_", "_orderbook_")
            if book not in names:
                raise LoadError(f"{path.name} holds {Path(message).name} but not its orderbook file")
            found = _LOBSTER_RE.search(Path(message).name)
            assert found is not None  # ``message`` was chosen because it matches
            return archives.extract(zf, path.name, message, tmp), archives.extract(zf, path.name, book, tmp), found
    match = _LOBSTER_RE.search(path.name)
    if match is None:
        raise LoadError(f"{path.name} is not named like a LOBSTER message file (<TICKER>_<date>_..._message_<L>.csv)")
    book_path = path.with_name(path.name.replace("_message_", "_orderbook_"))
    if not book_path.exists():
        raise LoadError(f"the orderbook file {book_path.name} is missing beside {path.name}")
    return path, book_path, match


def _format_market(fmt: str) -> tuple:
    """The market a file format implies for a new symbol: LEAN is US equities (NYSE calendar), LOBSTER NASDAQ."""
    from optexec.store.sessions import from_calendar

    return (
        (from_calendar("XNYS"), "the LEAN format") if fmt == "lean" else (from_calendar("XNAS"), "the LOBSTER format")
    )


def _load_lobster(con, path: Path, table: str, tmp: str, symbol=None, **options) -> LoadReport:
    if table not in ("trades", "quotes"):
        raise LoadError("LOBSTER files load into trades or quotes")
    message, book, match = _lobster_files(path, tmp)
    ticker, day, levels = match.group(1), match.group(2), int(match.group(3))
    symbol = symbol or ticker.upper()
    msg_cols = {
        "time": "DOUBLE",
        "type": "INTEGER",
        "order_id": "BIGINT",
        "size": "BIGINT",
        "price": "BIGINT",
        "direction": "INTEGER",
    }
    book_cols = {
        f"{k}{lvl}": "BIGINT" for lvl in range(1, levels + 1) for k in ("ask_px", "ask_sz", "bid_px", "bid_sz")
    }
    # each row numbered as the reader returns it (file order), never by a table's rowid
    read = (
        "(SELECT row_number() OVER () AS _n, * FROM "
        "read_csv($file, header=false, auto_detect=false, delim=',', columns=$cols))"
    )

    def prepare(cur) -> None:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _lob_msg AS SELECT * FROM {read}", {"file": str(message), "cols": msg_cols}
        )
        if table == "quotes":
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE _lob_book AS SELECT * FROM {read}",
                {"file": str(book), "cols": book_cols},
            )
            n_msg, n_book = cur.execute(
                "SELECT (SELECT count(*) FROM _lob_msg), (SELECT count(*) FROM _lob_book)"
            ).fetchone()
            if n_msg != n_book:
                raise LoadError(f"{message.name} has {n_msg} rows but {book.name} has {n_book}; they must match")

    ts = _local_ts("day", "to_microseconds(CAST(round(time * 1e6) AS BIGINT))")
    params = {"day": day, "sym": symbol}
    if table == "trades":
        from_sql = "(SELECT _n AS _line, * FROM _lob_msg WHERE type IN (4, 5))"
        exprs = {
            "symbol": "$sym",
            "ts": ts,
            "price": "price / 10000.0",
            "size": "size",
            # direction = side of the resting order; executing a sell limit order (-1) is a buy
            "side": "CASE WHEN type = 4 AND direction = -1 THEN 'buy' WHEN type = 4 AND direction = 1 THEN 'sell' END",
            "_row": "_line",
        }
    else:
        empty = _LOBSTER_EMPTY
        from_sql = (
            "(SELECT * FROM (SELECT m._n AS _line, m.time, b.ask_px1, b.ask_sz1, b.bid_px1, b.bid_sz1, "
            "(b.ask_px1, b.ask_sz1, b.bid_px1, b.bid_sz1) IS DISTINCT FROM lag((b.ask_px1, b.ask_sz1, b.bid_px1, "
            "b.bid_sz1)) OVER (ORDER BY m._n) AS changed FROM _lob_msg m JOIN _lob_book b ON m._n = b._n) "
            f"WHERE changed AND abs(ask_px1) < {empty} AND abs(bid_px1) < {empty} ORDER BY _line)"
        )
        exprs = {
            "symbol": "$sym",
            "ts": ts,
            "bid": "bid_px1 / 10000.0",
            "bid_size": "bid_sz1",
            "ask": "ask_px1 / 10000.0",
            "ask_size": "ask_sz1",
            "_row": "_line",
        }
    labels = {k: k for k in exprs if k != "_row"}
    source = Source(from_sql, params, exprs, labels, line_sql="_row", first_line=1, prepare=prepare)
    options["format_market"] = _format_market("lobster")
    return load_source(con, table, source, source_name=message.name, format="lobster", **options)


# --------------------------------------------------------------------------------------------
# LEAN / AlgoSeek


def _lean_csv(path: Path, tmp: str) -> Path:
    """The LEAN csv of ``path``: the file itself (unzipped), or the one member of the zip, extracted into ``tmp``."""
    if path.suffix.lower() != ".zip":
        if not _LEAN_RE.search(path.name):
            raise LoadError(
                f"{path.name} is not named like a LEAN csv (<YYYYMMDD>_<ticker>_<minute|tick>_<trade|quote>.csv)"
            )
        return path
    with archives.open_zip(path) as zf:
        members = [n for n in zf.namelist() if _LEAN_RE.search(Path(n).name)]
        if len(members) != 1:
            raise LoadError(
                f"{path.name} should hold one LEAN csv named <YYYYMMDD>_<ticker>_<minute|tick>_<trade|quote>.csv"
            )
        return archives.extract(zf, path.name, members[0], tmp)


def _lean_name(path: Path, csv_path: Path) -> str:
    """The source's name in reports: the zip and its member, or the csv."""
    return path.name if csv_path == path else f"{path.name}:{csv_path.name}"


def _load_lean(con, path: Path, table: str | None, tmp: str, symbol=None, **options) -> LoadReport:
    csv_path = _lean_csv(path, tmp)
    named = _LEAN_RE.search(csv_path.name)
    if named is None:  # _lean_csv checked the name
        raise LoadError(
            f"{csv_path.name} is not named like a LEAN file (<YYYYMMDD>_<ticker>_<minute|...>_<trade|quote>.csv)"
        )
    day, ticker, *parts = named.groups()
    words = {w.lower() for w in parts}
    kind = "quote" if "quote" in words else "trade"
    resolution = next((w for w in ("tick", "second", "minute", "hour") if w in words), "")
    if not resolution or len(words) != 2:
        raise LoadError(f"cannot tell the resolution and kind of {csv_path.name}")
    symbol = symbol or ticker.upper()
    natural = {"trade": "trades" if resolution == "tick" else "bars", "quote": "quotes"}[kind]
    table = table or natural
    if table != natural:
        raise LoadError(f"{path.name} holds {resolution} {kind} data, which loads into {natural}, not {table}")
    day_iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    if resolution == "tick" and kind == "quote":
        return _load_lean_tick_quotes(con, path, csv_path, day_iso, symbol, **options)
    ts = _local_ts("day", "to_milliseconds(ms)")
    if table == "bars":
        cols = {
            "ms": "BIGINT",
            "open": "BIGINT",
            "high": "BIGINT",
            "low": "BIGINT",
            "close": "BIGINT",
            "volume": "BIGINT",
        }
        exprs = {"ts": ts, **{k: f"{k} / 10000.0" for k in ("open", "high", "low", "close")}, "volume": "volume"}
    elif table == "quotes":
        names = ["ms"] + [f"{s}_{k}" for s in ("bid", "ask") for k in ("open", "high", "low", "close", "size")]
        cols = dict.fromkeys(names, "BIGINT")
        end = _local_ts("day", f"to_milliseconds(ms + {60_000 if resolution == 'minute' else 1_000})")
        exprs = {
            "ts": end,
            "bid": "bid_close / 10000.0",
            "bid_size": "bid_size",
            "ask": "ask_close / 10000.0",
            "ask_size": "ask_size",
        }
    else:
        cols = {
            "ms": "BIGINT",
            "price": "BIGINT",
            "size": "BIGINT",
            "exchange": "VARCHAR",
            "condition": "VARCHAR",
            "suspicious": "VARCHAR",
        }
        exprs = {"ts": ts, "price": "price / 10000.0", "size": "size"}
    exprs["symbol"] = "$sym"
    exprs["_row"] = "_n"  # the row's number as the reader returns it (file order), never a table's rowid
    from_sql = (
        "(SELECT row_number() OVER () AS _n, * FROM read_csv($path, header=false, auto_detect=false, delim=',', "
        "columns=$columns, store_rejects=true, rejects_table='_optexec_rej', rejects_scan='_optexec_rejscan'))"
    )
    source = Source(
        from_sql,
        {"path": str(csv_path), "columns": cols, "day": day_iso, "sym": symbol},
        exprs,
        {k: k for k in exprs if k != "_row"},
        line_sql="_row",
        file_columns=tuple(cols),
        first_line=1,
    )
    options["format_market"] = _format_market("lean")
    return load_source(
        con,
        table,
        source,
        source_name=_lean_name(path, csv_path),
        format="lean",
        structural_rejects=True,
        **options,
    )


_REJECTS = "store_rejects=true, rejects_table='_optexec_rej', rejects_scan='_optexec_rejscan'"
_TICK_QUOTE_COLUMNS = {
    "ms": "DOUBLE",  # AlgoSeek's own example shows fractional milliseconds (14400009.367)
    "bid": "BIGINT",
    "bid_size": "BIGINT",
    "ask": "BIGINT",
    "ask_size": "BIGINT",
    "exchange": "VARCHAR",
    "condition": "VARCHAR",
    "suspicious": "VARCHAR",
}
# one statement per step of the rule in the module docstring; only fixed text, the file travels as $path
_TICK_QUOTE_SQL = (
    (
        "CREATE OR REPLACE TEMP TABLE _tq_file AS SELECT row_number() OVER () AS _n, * FROM read_csv($path, "
        f"header=false, auto_detect=false, delim=',', columns=$columns, {_REJECTS})"
    ),
    # 1. classify every row: why it is dropped (NULL = kept) and which sides it quotes
    """CREATE OR REPLACE TEMP TABLE _tq_rows AS
    SELECT _line, ms, bid, bid_size, ask, ask_size, has_bid, has_ask,
      CASE WHEN ms IS NULL THEN 'time'
           WHEN lower(trim(coalesce(suspicious, ''))) NOT IN ('', '0', 'false', 'f') THEN 'suspicious'
           WHEN NOT (has_bid OR has_ask) OR (has_bid AND NOT (bid > 0 AND bid_size >= 0))
                OR (has_ask AND NOT (ask > 0 AND ask_size >= 0)) THEN 'invalid' END AS reason
    FROM (SELECT _n AS _line, ms,
            coalesce(bid, 0) AS bid, coalesce(bid_size, 0) AS bid_size,
            coalesce(ask, 0) AS ask, coalesce(ask_size, 0) AS ask_size,
            coalesce(bid, 0) <> 0 OR coalesce(bid_size, 0) <> 0 AS has_bid,
            coalesce(ask, 0) <> 0 OR coalesce(ask_size, 0) <> 0 AS has_ask, suspicious
          FROM _tq_file)""",
    # 2./3. the last bid and ask of each millisecond, carried forward to the following milliseconds
    """CREATE OR REPLACE TEMP TABLE _tq_state AS
    SELECT ms,
      last_value(bid IGNORE NULLS) OVER w AS bid, last_value(bsz IGNORE NULLS) OVER w AS bid_size,
      last_value(ask IGNORE NULLS) OVER w AS ask, last_value(asz IGNORE NULLS) OVER w AS ask_size
    FROM (SELECT ms,
            arg_max(bid, _line) FILTER (WHERE has_bid) AS bid, arg_max(bid_size, _line) FILTER (WHERE has_bid) AS bsz,
            arg_max(ask, _line) FILTER (WHERE has_ask) AS ask, arg_max(ask_size, _line) FILTER (WHERE has_ask) AS asz
          FROM _tq_rows WHERE reason IS NULL GROUP BY ms)
    WINDOW w AS (ORDER BY ms ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)""",
    # 4. per millisecond: its rows, last line and status; the emitted (changed, uncrossed) quotes
    """CREATE OR REPLACE TEMP TABLE _tq_times AS
    SELECT s.*, r.n, r.first_line, r._line,
      CASE WHEN s.bid IS NULL OR s.ask IS NULL THEN 'one_sided' WHEN s.bid > s.ask THEN 'crossed' END AS status
    FROM _tq_state s JOIN (SELECT ms, count(*) AS n, min(_line) AS first_line, max(_line) AS _line
                           FROM _tq_rows WHERE reason IS NULL GROUP BY ms) r USING (ms)""",
    """CREATE OR REPLACE TEMP TABLE _tq_out AS
    SELECT ms, _line, bid, bid_size, ask, ask_size FROM (
      SELECT *, (bid, bid_size, ask, ask_size) IS DISTINCT FROM
                lag((bid, bid_size, ask, ask_size)) OVER (ORDER BY ms) AS changed
      FROM _tq_times WHERE status IS NULL)
    WHERE changed ORDER BY ms""",
)
_TICK_QUOTE_COUNTS = """
SELECT 'suspicious', count(*), min(_line), 0 FROM _tq_rows WHERE reason = 'suspicious'
UNION ALL SELECT 'invalid', count(*), min(_line), 0 FROM _tq_rows WHERE reason IN ('invalid', 'time')
UNION ALL SELECT 'one_sided', sum(n), min(first_line), count(*) FROM _tq_times WHERE status = 'one_sided'
UNION ALL SELECT 'crossed', sum(n), min(first_line), count(*) FROM _tq_times WHERE status = 'crossed'
UNION ALL SELECT 'kept', sum(n), 0, count(*) FROM _tq_times WHERE status IS NULL
UNION ALL SELECT 'emitted', count(*), 0, 0 FROM _tq_out
UNION ALL SELECT 'rows', count(*), 0, 0 FROM _tq_file
UNION ALL SELECT 'backwards', count(*), min(_line), 0 FROM (
  SELECT _line, ms < lag(ms) OVER (ORDER BY _line) AS back FROM _tq_rows WHERE reason IS NULL) WHERE back
"""


def _file_line(row: int, skipped: tuple[int, ...]) -> int:
    """The file line (1 = first) of the reader's ``row``-th row when its reader dropped the lines ``skipped``."""
    line = row
    for dropped in sorted(skipped):
        if dropped <= line:
            line += 1
    return line


def _tick_quote_warnings(counts: dict[str, tuple[int, int, int]], skipped: tuple[int, ...]) -> list[str]:
    """The report's lines about the consolidation: what was dropped, why, and the first file line of each."""

    def line(k: str) -> int:
        return _file_line(counts[k][1], skipped)

    kept, n_ms = counts["kept"][0], counts["kept"][2]
    summary = (
        f"tick quotes consolidated: {counts['rows'][0]} rows -> {counts['emitted'][0]} level-1 quotes "
        f"(the latest bid and the latest ask carried forward, any exchange; {kept} rows in {n_ms} uncrossed "
        "milliseconds, a quote only when it changed)"
    )
    out = [summary]
    if counts["suspicious"][0]:
        out.append(
            f"{counts['suspicious'][0]} rows flagged suspicious were dropped (first at line {line('suspicious')})"
        )
    if counts["invalid"][0]:
        out.append(
            f"{counts['invalid'][0]} rows without a time or a valid bid or ask (price > 0, size >= 0) were dropped "
            f"(first at line {line('invalid')})"
        )
    if counts["one_sided"][0]:
        out.append(
            f"{counts['one_sided'][0]} rows came before both a bid and an ask were known: no quote for them "
            f"(first at line {line('one_sided')})"
        )
    if counts["crossed"][0]:
        out.append(
            f"{counts['crossed'][0]} rows left the consolidated quote crossed (bid > ask) in {counts['crossed'][2]} "
            f"milliseconds: no quote for them (first at line {line('crossed')})"
        )
    if counts["backwards"][0]:
        out.append(
            f"{counts['backwards'][0]} rows have a time earlier than the row before them (first at line "
            f"{line('backwards')}); rows were applied in time order"
        )
    return out


def _load_lean_tick_quotes(con, path: Path, csv_path: Path, day_iso: str, symbol: str, **options) -> LoadReport:
    """Consolidate a LEAN tick-quote file into level-1 quotes (the rule is in the module docstring)."""
    found: dict = {}

    def prepare(cur) -> None:
        params = {"path": str(csv_path), "columns": _TICK_QUOTE_COLUMNS}
        cur.execute(_TICK_QUOTE_SQL[0], params)
        for sql in _TICK_QUOTE_SQL[1:]:
            cur.execute(sql)
        skipped = tuple(r[0] for r in cur.execute("SELECT DISTINCT line FROM _optexec_rej ORDER BY 1").fetchall())
        counts = {
            k: (int(n or 0), int(first or 0), int(m or 0))
            for k, n, first, m in cur.execute(_TICK_QUOTE_COUNTS).fetchall()
        }
        found["rows_read"] = counts["rows"][0] + len(skipped)
        found["warnings"] = _tick_quote_warnings(counts, skipped)
        if counts["rows"][0] and not counts["emitted"][0]:
            raise LoadError(f"{csv_path.name}: no two-sided, uncrossed quote; " + "; ".join(found["warnings"]))

    ts = _local_ts("day", "to_microseconds(CAST(round(ms * 1000) AS BIGINT))")
    exprs = {
        "symbol": "$sym",
        "ts": ts,
        "bid": "bid / 10000.0",
        "bid_size": "bid_size",
        "ask": "ask / 10000.0",
        "ask_size": "ask_size",
        "_row": "_line",
    }
    source = Source(
        "_tq_out",
        {"day": day_iso, "sym": symbol},
        exprs,
        {k: k for k in exprs if k != "_row"},
        line_sql="_row",
        file_columns=tuple(_TICK_QUOTE_COLUMNS),
        first_line=1,
        prepare=prepare,
    )
    options["format_market"] = _format_market("lean")

    @typing.overload
    def amend(report: LoadReport) -> LoadReport: ...
    @typing.overload
    def amend(report: None) -> None: ...
    def amend(report: LoadReport | None) -> LoadReport | None:
        if report is None or "rows_read" not in found:
            return report
        warnings = tuple(found["warnings"]) + report.warnings
        return dataclasses.replace(report, rows_read=found["rows_read"], warnings=warnings)

    try:
        report = load_source(
            con,
            "quotes",
            source,
            source_name=_lean_name(path, csv_path),
            format="lean",
            structural_rejects=True,
            **options,
        )
    except LoadError as exc:
        exc.report = amend(exc.report)
        raise
    return amend(report)
