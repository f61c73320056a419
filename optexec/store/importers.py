"""Importers for real market-data formats: LOBSTER and LEAN (AlgoSeek) files.

Both are read by DuckDB (``read_csv`` with explicit column types) into our tables and then go
through the same validation and single-transaction insert as any CSV (``loading.load_source``).

* LOBSTER (lobsterdata.com): ``<TICKER>_<YYYY-MM-DD>_<start>_<end>_message_<L>.csv`` plus the
  matching ``orderbook`` file, no header; time in seconds after midnight New York time, prices in
  $ x 10,000. Trades = executions (type 4 visible: the aggressor is the opposite of the resting
  order's direction; type 5 hidden: side unknown). Quotes = level 1 of the order book, one row
  per change, rows with an empty side left out.
* LEAN / AlgoSeek zips: ``<YYYYMMDD>_<ticker>_<minute|second|tick>_<trade|quote>.csv`` inside
  ``<YYYYMMDD>_<trade|quote>.zip``; milliseconds after midnight New York time, prices / 10,000.
  Minute/second trade bars -> bars, quote bars -> quotes (the closing bid/ask at the bar's end),
  tick trades -> trades (side unknown). Tick quotes (one side per exchange) are not supported.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

from optexec.store.loading import LoadError, LoadReport, Source, load_source

EXCHANGE_TZ = "America/New_York"
_LOBSTER_RE = re.compile(r"([A-Za-z0-9.\-]+)_(\d{4}-\d{2}-\d{2})_\d+_\d+_message_(\d+)\.csv$")
_WORDS = "minute|second|hour|tick|trade|quote"
_LEAN_RE = re.compile(rf"(\d{{8}})_([a-z0-9.\-]+)_({_WORDS})_({_WORDS})\.csv$", re.IGNORECASE)
_LOBSTER_EMPTY = 9_999_999_999


def _local_ts(day_param: str, offset_sql: str) -> str:
    """SQL for a New York wall-clock time (the day + an interval) as TIMESTAMPTZ."""
    return f"timezone('{EXCHANGE_TZ}', CAST(${day_param} AS TIMESTAMP) + {offset_sql})"


def _extract(zf: zipfile.ZipFile, member: str, directory: str) -> Path:
    target = Path(directory) / Path(member).name
    with zf.open(member) as src, open(target, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    return target


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
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            message = next((n for n in names if _LOBSTER_RE.search(Path(n).name)), None)
            if message is None:
                raise LoadError(f"{path.name} holds no LOBSTER message file (<TICKER>_<date>_..._message_<L>.csv)")
            book = message.replace("_message_", "_orderbook_")
            if book not in names:
                raise LoadError(f"{path.name} holds {Path(message).name} but not its orderbook file")
            return _extract(zf, message, tmp), _extract(zf, book, tmp), _LOBSTER_RE.search(Path(message).name)
    match = _LOBSTER_RE.search(path.name)
    if match is None:
        raise LoadError(f"{path.name} is not named like a LOBSTER message file (<TICKER>_<date>_..._message_<L>.csv)")
    book = path.with_name(path.name.replace("_message_", "_orderbook_"))
    if not book.exists():
        raise LoadError(f"the orderbook file {book.name} is missing beside {path.name}")
    return path, book, match


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
    read = "read_csv($file, header=false, auto_detect=false, delim=',', columns=$cols)"

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
        from_sql = "(SELECT rowid + 1 AS _line, * FROM _lob_msg WHERE type IN (4, 5))"
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
            "(SELECT * FROM (SELECT m.rowid + 1 AS _line, m.time, b.ask_px1, b.ask_sz1, b.bid_px1, b.bid_sz1, "
            "(b.ask_px1, b.ask_sz1, b.bid_px1, b.bid_sz1) IS DISTINCT FROM lag((b.ask_px1, b.ask_sz1, b.bid_px1, "
            "b.bid_sz1)) OVER (ORDER BY m.rowid) AS changed FROM _lob_msg m JOIN _lob_book b ON m.rowid = b.rowid) "
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
    options["tz"] = options.get("tz") or EXCHANGE_TZ
    return load_source(con, table, source, source_name=message.name, format="lobster", **options)


# --------------------------------------------------------------------------------------------
# LEAN / AlgoSeek


def _load_lean(con, path: Path, table: str | None, tmp: str, symbol=None, **options) -> LoadReport:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if _LEAN_RE.search(Path(n).name)]
            if len(members) != 1:
                raise LoadError(
                    f"{path.name} should hold one LEAN csv named <YYYYMMDD>_<ticker>_<minute|tick>_<trade|quote>.csv"
                )
            csv_path = _extract(zf, members[0], tmp)
    except zipfile.BadZipFile:
        raise LoadError(f"{path.name} is not a readable zip file") from None
    day, ticker, *words = _LEAN_RE.search(csv_path.name).groups()
    words = {w.lower() for w in words}
    kind = "quote" if "quote" in words else "trade"
    resolution = next((w for w in ("tick", "second", "minute", "hour") if w in words), "")
    if not resolution or len(words) != 2:
        raise LoadError(f"cannot tell the resolution and kind of {csv_path.name}")
    symbol = symbol or ticker.upper()
    natural = {"trade": "trades" if resolution == "tick" else "bars", "quote": "quotes"}[kind]
    table = table or natural
    if resolution == "tick" and kind == "quote":
        raise LoadError("LEAN tick quotes (one side per exchange) are not supported; load minute quote bars instead")
    if table != natural:
        raise LoadError(f"{path.name} holds {resolution} {kind} data, which loads into {natural}, not {table}")
    day_iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
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
    from_sql = (
        "read_csv($path, header=false, auto_detect=false, delim=',', columns=$columns, store_rejects=true, "
        "rejects_table='_optexec_rej', rejects_scan='_optexec_rejscan')"
    )
    source = Source(
        from_sql,
        {"path": str(csv_path), "columns": cols, "day": day_iso, "sym": symbol},
        exprs,
        {k: k for k in exprs},
        line_sql="(rowid + 1)",
        file_columns=tuple(cols),
        first_line=1,
    )
    options["tz"] = options.get("tz") or EXCHANGE_TZ
    return load_source(
        con,
        table,
        source,
        source_name=f"{path.name}:{csv_path.name}",
        format="lean",
        structural_rejects=True,
        **options,
    )
