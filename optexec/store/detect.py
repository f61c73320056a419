"""Recognising a file: its format, its table, and which of its columns are ours.

Files are addressed by column position (``c0``, ``c1``, ...) so that the user's column names never
enter SQL text; the names are only compared here, in Python, against our names and common aliases.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Mapping
from pathlib import Path

import duckdb

from optexec.store import archives
from optexec.store.reports import LoadError, Source
from optexec.store.schema import TABLES, Table, normalise_name

FORMATS = ("csv", "parquet", "lobster", "lean")
LEAN_CSV_RE = re.compile(r"\d{8}_[a-z0-9.\-]+_(minute|second|hour|tick)_(trade|quote)\.csv$")


def detect_format(path: str | Path) -> str:
    """The file format from the name (and, for zips, the members): csv, parquet, lobster or lean."""
    name = Path(path).name.lower()
    if name.endswith((".parquet", ".pq", ".parq")):
        return "parquet"
    if name.endswith(".zip"):
        with archives.open_zip(Path(path)) as zf:
            members = " ".join(zf.namelist()).lower()
        return "lobster" if "_message_" in members else "lean"
    if "_message_" in name and name.endswith(".csv"):
        return "lobster"
    if LEAN_CSV_RE.match(name):  # a LEAN csv taken out of its zip (it has no header line)
        return "lean"
    return "csv"


def resolve_columns(
    names: list[str], table: Table, mapping: Mapping[str, str] | None = None, symbol_given: bool = False
) -> dict[str, int]:
    """Match the file's columns to the table's: our column -> position in the file.

    ``mapping`` maps the file's names to ours and wins over detection; otherwise a column matches
    by its own name or a common alias (``timestamp``/``time``/``datetime``, ``px``/``price``, ...).
    Raises LoadError naming what is missing or ambiguous.
    """
    norm = [normalise_name(n) for n in names]
    found: dict[str, int] = {}
    for theirs, ours in (mapping or {}).items():
        if ours not in table.column_names:
            known = ", ".join(table.column_names)
            raise LoadError(f"column mapping: {ours!r} is not a column of {table.name} (its columns: {known})")
        matches = [i for i, n in enumerate(names) if n == theirs or norm[i] == normalise_name(theirs)]
        if not matches:
            raise LoadError(f"column mapping: the file has no column {theirs!r} (its columns: {', '.join(names)})")
        found[ours] = matches[0]
    used = set(found.values())
    for col in table.columns:
        if col.name in found:
            continue
        for candidate in (col.name, *col.aliases):
            hits = [i for i, n in enumerate(norm) if n == candidate and i not in used]
            if len(hits) > 1:
                cols = " and ".join(repr(names[i]) for i in hits)
                raise LoadError(f"columns {cols} both look like {col.name}; say which one with a column mapping")
            if hits:
                found[col.name] = hits[0]
                used.add(hits[0])
                break
    missing = [c.name for c in table.columns if c.required and c.name not in found]
    if symbol_given and "symbol" in missing:
        missing.remove("symbol")
    if missing:
        hint = "; ".join(
            f"{m} (also accepted: {', '.join(table.column(m).aliases[:5]) or 'no other name'})" for m in missing
        )
        extra = " or give --symbol" if "symbol" in missing else ""
        raise LoadError(
            f"the file has no column for {hint}; its columns are: {', '.join(names) or '(none)'}. "
            f"Map them with --map FILE_COLUMN=OUR_COLUMN{extra}"
        )
    return found


def detect_table(names: list[str], symbol_given: bool = False) -> str:
    """The table whose required columns the file has (the best match when several do)."""
    scores = []
    for table in TABLES.values():
        try:
            found = resolve_columns(names, table, None, symbol_given)
        except LoadError:
            continue
        scores.append((table.name != "instruments", len(found), table.name))
    if not scores:
        raise LoadError(f"cannot tell which table the columns {', '.join(names)} belong to; choose one with --table")
    scores.sort(reverse=True)
    if len(scores) > 1 and scores[0][:2] == scores[1][:2]:
        raise LoadError(f"the file could be {scores[0][2]} or {scores[1][2]}; choose one with --table")
    return scores[0][2]


def read_header(path: Path) -> tuple[list[str], str]:
    """The column names on a CSV file's first line and its delimiter (, ; tab or |)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(65536)
    except (OSError, EOFError) as exc:
        raise LoadError(f"cannot read {path.name}: {exc}") from None
    if not head.strip():
        raise LoadError(f"{path.name} is empty")
    if b"\x00" in head or head.startswith(b"PAR1"):
        raise LoadError(f"{path.name} is not a text (CSV) file; for Parquet use a .parquet name or --format parquet")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0]
    delim = max([",", ";", "\t", "|"], key=first.count)
    if first.count(delim) == 0:
        delim = ","
    names = next(csv.reader(io.StringIO(first), delimiter=delim))
    names = [n.strip() for n in names]
    if any(not n for n in names):
        raise LoadError(f"{path.name}: the first line must name every column (found an empty name)")
    return names, delim


def csv_source(cur, path: Path, table: Table, mapping, symbol: str | None) -> tuple[Source, list[str]]:
    """A CSV file as a staged source: every column read as text by position, structural errors kept.

    A gzipped CSV is first checked against the limits of ``archives`` (size and expansion).
    """
    if path.name.lower().endswith(".gz"):
        archives.check_gzip(path)
    names, delim = read_header(path)
    found = resolve_columns(names, table, mapping, symbol is not None)
    columns = {f"c{i}": "VARCHAR" for i in range(len(names))}
    from_sql = (
        "read_csv($path, delim=$delim, quote='\"', escape='\"', header=true, auto_detect=false, columns=$columns, "
        "store_rejects=true, rejects_table='_optexec_rej', rejects_scan='_optexec_rejscan')"
    )
    params = {"path": str(path), "delim": delim, "columns": columns}
    exprs = {ours: f"c{i}" for ours, i in found.items()}
    labels = {ours: names[i] for ours, i in found.items()}
    return Source(from_sql, params, exprs, labels, line_sql="(rowid + 2)", file_columns=tuple(names)), names


def parquet_source(cur, path: Path, table: Table, mapping, symbol: str | None) -> tuple[Source, list[str]]:
    """A Parquet file as a staged source: columns by position, line = row number + 1."""
    try:
        described = cur.execute("DESCRIBE SELECT * FROM read_parquet($path)", {"path": str(path)}).fetchall()
    except duckdb.Error as exc:
        raise LoadError(f"cannot read {path.name} as Parquet: {str(exc).splitlines()[0]}") from None
    names = [r[0] for r in described]
    found = resolve_columns(names, table, mapping, symbol is not None)
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    from_sql = f"read_parquet($path, file_row_number=true) AS src({aliases})"
    exprs = {ours: f"c{i}" for ours, i in found.items()}
    exprs["_row"] = "file_row_number"
    labels = {ours: names[i] for ours, i in found.items()}
    return Source(from_sql, {"path": str(path)}, exprs, labels, "(_row + 1)", file_columns=tuple(names)), names


def preview_file(con: duckdb.DuckDBPyConnection, path: str | Path, format: str | None = None, limit: int = 20):
    """The first rows of a CSV or Parquet file as read (text), for a preview before loading."""
    path = Path(path)
    fmt = format or detect_format(path)
    cur = con.cursor()
    try:
        if fmt == "csv":
            names, delim = read_header(path)
            columns = {f"c{i}": "VARCHAR" for i in range(len(names))}
            frame = cur.execute(
                "SELECT * FROM read_csv($p, delim=$d, header=true, auto_detect=false, columns=$c, ignore_errors=true) "
                "LIMIT $n",
                {"p": str(path), "d": delim, "c": columns, "n": int(limit)},
            ).df()
            frame.columns = names
            return frame
        if fmt == "parquet":
            return cur.execute("SELECT * FROM read_parquet($p) LIMIT $n", {"p": str(path), "n": int(limit)}).df()
        return None
    except duckdb.Error as exc:
        raise LoadError(f"cannot read {path.name} as {fmt}: {str(exc).splitlines()[0]}") from None
    finally:
        cur.close()
