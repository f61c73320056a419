"""Reject reports name the file's own lines, in every layout and size (issue 14, item 1).

Files are generated here (never committed): trades with a seq column or bars, one or many symbols, symbols of 1 to
100 characters, rows blocked by symbol or interleaved, from a few rows to 200,000. Bad values, unreadable lines and
repeated keys are planted at known lines; the report must name exactly those lines, the first occurrence of a
repeated key must be the one stored, and no "out of order" warning may appear (the planted files are in order).
"""

from __future__ import annotations

import random
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optexec.store import db
from optexec.store.loading import LoadError, load_file

BAD_KINDS = ("negative_size", "unreadable_price", "unreadable_time", "extra_field", "far_time")


@dataclass
class Planted:
    """A generated file and the truth about it."""

    table: str
    text: str
    rows: int  # data rows
    bad: dict[int, str] = field(default_factory=dict)  # line -> kind
    dups: dict[int, int] = field(default_factory=dict)  # line -> line of the first occurrence of its key
    first_values: dict[tuple, float] = field(default_factory=dict)  # key -> price/close of the first occurrence


def _stamp(second: int) -> str:
    """A UTC time from 14:30 on 2025-01-02 on, six hours of seconds per day (the New York session, in winter)."""
    day, rest = divmod(second, 6 * 3600)
    when = datetime(2025, 1, 2, 14, 30) + timedelta(days=day, seconds=rest)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_file(seed: int, rows: int, symbol_length: int, symbols: int, interleaved: bool, table: str) -> Planted:
    """A trades (with seq or without: ``trades_noseq``) or bars file with bad lines and repeated keys planted at
    random lines (a file without seq has no repeated keys: two prints at one time are two prints)."""
    rng = random.Random(seed)
    names = [f"{chr(65 + k)}{'X' * (symbol_length - 1)}"[:symbol_length] for k in range(symbols)]
    order = [k % symbols for k in range(rows)] if interleaved else [k * symbols // rows for k in range(rows)]
    header = {
        "trades": "symbol,ts,seq,price,size\n",
        "trades_noseq": "symbol,ts,price,size\n",
        "bars": "symbol,ts,open,high,low,close,volume\n",
    }[table]
    counters = [0] * symbols
    lines: list[str] = []
    keys: list[tuple] = []
    for k in range(rows):
        s = order[k]
        n = counters[s]
        counters[s] += 1
        if table == "trades":
            key = (names[s], _stamp(n // 4), n % 4)
            lines.append(f"{key[0]},{key[1]},{key[2]},{100 + n % 7}.25,{100 + n % 50}")
        elif table == "trades_noseq":
            key = (names[s], _stamp(n // 4))
            lines.append(f"{key[0]},{key[1]},{100 + n % 7}.25,{100 + n % 50}")
        else:
            key = (names[s], _stamp(60 * n))
            lines.append(f"{key[0]},{key[1]},10,11,9,{10 + n % 9 / 10:.1f},{100 + n % 50}")
        keys.append(key)
    planted = Planted("trades" if table == "trades_noseq" else table, "", rows)
    count = max(1, min(rows // 50, rng.randint(1, 12)))
    positions = rng.sample(range(rows), min(rows, 2 * count + 1))
    bad_positions, dup_positions = positions[:count], positions[count : 2 * count] if table != "trades_noseq" else []
    for k in bad_positions:
        kind = rng.choice(BAD_KINDS)
        cells = lines[k].split(",")
        if kind == "negative_size":
            cells[-1] = "-1"
        elif kind == "unreadable_price":
            cells[{"trades": 3, "trades_noseq": 2, "bars": 5}[table]] = "abc"
        elif kind == "unreadable_time":
            cells[1] = "not a time"
        elif kind == "far_time":
            cells[1] = rng.choice(["10000-01-01T00:00:00Z", "1900-01-01T00:00:00Z", "2150-06-01T00:00:00Z"])
        else:
            cells.append("surplus")
        lines[k] = ",".join(cells)
        planted.bad[k + 2] = kind
    # repeated keys: a later line takes the key of an earlier good line, with other values
    good_sources = sorted(set(range(rows)) - set(bad_positions) - set(dup_positions))
    for k in sorted(dup_positions):
        earlier = [j for j in good_sources if j < k]
        if not earlier:
            continue
        j = rng.choice(earlier)
        key = keys[j]
        if table == "trades":
            lines[k] = f"{key[0]},{key[1]},{key[2]},99.99,1"
        else:
            lines[k] = f"{key[0]},{key[1]},10,11,9,9.5,1"
        planted.dups[k + 2] = j + 2
    for first in planted.dups.values():
        cells = lines[first - 2].split(",")
        key = (cells[0], cells[1], int(cells[2])) if table == "trades" else (cells[0], cells[1])
        planted.first_values[key] = float(cells[3] if table == "trades" else cells[5])
    planted.text = header + "\n".join(lines) + "\n"
    return planted


def check_report(con, path: Path, planted: Planted) -> None:
    """The refusal names the first planted line; with skip_bad_rows exactly the planted lines, first kept."""
    expected = set(planted.bad) | set(planted.dups)
    with pytest.raises(LoadError) as err:
        load_file(con, path, table=planted.table, calendar="XNYS")
    assert re.search(rf"\(first: line {min(expected)}[,:]", str(err.value)), (str(err.value), sorted(expected)[:5])
    report = load_file(con, path, table=planted.table, calendar="XNYS", skip_bad_rows=True)
    reported = {r.line for r in report.rejects}
    assert reported == expected, (sorted(reported - expected)[:5], sorted(expected - reported)[:5])
    for reject in report.rejects:
        if reject.line in planted.dups:
            assert f"of line {planted.dups[reject.line]}; the first is kept" in reject.reason, reject
    assert report.rows_rejected == len(expected)
    assert report.rows_loaded == planted.rows - len(expected)
    assert not [w for w in report.warnings if "earlier than the row before" in w], report.warnings
    value = "price" if planted.table == "trades" else "close"
    where = "symbol = ? AND ts = CAST(? AS TIMESTAMPTZ)" + (" AND seq = ?" if planted.table == "trades" else "")
    for key, first_value in planted.first_values.items():
        (stored,) = con.execute(f"SELECT {value} FROM {planted.table} WHERE {where}", list(key)).fetchone()
        assert stored == first_value, (key, stored, first_value)


def _run(planted: Planted, threads: int = 8) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "planted.csv"
        path.write_text(planted.text)
        con = db.open_database(Path(tmp) / "t.duckdb")
        try:
            con.execute(f"SET threads = {threads}")  # more threads than cores: a parallel reader, if any, reorders
            check_report(con, path, planted)
        finally:
            con.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    rows=st.integers(60, 3000),
    symbol_length=st.sampled_from([1, 4, 12, 40, 69, 100]),
    symbols=st.integers(1, 4),
    interleaved=st.booleans(),
    table=st.sampled_from(["trades", "trades_noseq", "bars"]),
)
def test_reported_lines_are_the_planted_lines(seed, rows, symbol_length, symbols, interleaved, table):
    _run(make_file(seed, rows, symbol_length, symbols, interleaved, table))


@pytest.mark.parametrize(
    ("rows", "symbol_length", "table"),
    [(82_014, 69, "trades"), (82_014, 100, "trades"), (200_000, 40, "trades"), (20_000, 69, "bars")],
)
def test_reported_lines_are_exact_in_large_files(rows, symbol_length, table):
    """The layouts where the staging table's rowid was not the file's order (issue 14: lines off by thousands)."""
    _run(make_file(rows + symbol_length, rows, symbol_length, 1, False, table))


def test_the_issue_case_line_2_and_the_last_line(tmp_path):
    """82,014 trades of a 69-character symbol: line 2 bad, the last line repeats line 3's key (issue 14)."""
    symbol = "S" * 69
    rows = [f"{symbol},{_stamp(k // 10)},{k % 10},100.0,100" for k in range(82_014)]
    rows[0] = rows[0].rsplit(",", 1)[0] + ",-1"
    rows.append(f"{symbol},{_stamp(0)},1,99.99,100")  # line 82,016 repeats the key of line 3
    path = tmp_path / "trades.csv"
    path.write_text("symbol,ts,seq,price,size\n" + "\n".join(rows) + "\n")
    con = db.open_database(tmp_path / "t.duckdb")
    try:
        with pytest.raises(LoadError, match=r"first: line 2, column size: size must be > 0"):
            load_file(con, path, table="trades", calendar="XNYS")
        report = load_file(con, path, table="trades", calendar="XNYS", skip_bad_rows=True)
        assert [(r.line, r.reason) for r in report.rejects] == [
            (2, "size must be > 0, got -1.0"),
            (82_016, "repeats the key (symbol, ts, seq) of line 3; the first is kept"),
        ]
        assert report.warnings == ()
        (price,) = con.execute("SELECT price FROM trades WHERE seq = 1 AND ts = '2025-01-02 14:30:00'").fetchone()
        assert price == 100.0  # the first occurrence, not the repeat's 99.99
    finally:
        con.close()


def test_a_file_of_repeated_rows_is_counted_in_duckdb_not_in_python(tmp_path):
    """300,000 copies of one bar: every repeat is counted and the first ones listed, without a Python list of them."""
    import tracemalloc

    path = tmp_path / "same.csv"
    path.write_text("symbol,ts,open,high,low,close,volume\n" + "AAA,2025-01-02T14:30:00Z,10,11,9,10.5,100\n" * 300_000)
    con = db.open_database(tmp_path / "t.duckdb")
    try:
        tracemalloc.start()
        report = load_file(con, path, table="bars", calendar="XNYS", skip_bad_rows=True)
        _, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        con.close()
    assert (report.rows_loaded, report.rows_rejected, report.problems) == (1, 299_999, 299_999)
    assert len(report.rejects) == 1000 and report.rejects[0].line == 3
    assert report.rejects[0].reason == "repeats the key (symbol, ts) of line 2; the first is kept"
    assert peak_bytes < 40e6, f"{peak_bytes / 1e6:.0f} MB of Python objects"


def test_a_time_out_of_order_is_warned_at_its_own_line(tmp_path):
    """The warning stays when it is true, and names the file's line (a long symbol, many rows)."""
    symbol = "L" * 70
    rows = [f"{symbol},{_stamp(k)},10,100" for k in range(30_000)]
    rows[20_000], rows[20_001] = rows[20_001], rows[20_000]  # line 20,003 is earlier than line 20,002
    path = tmp_path / "trades.csv"
    path.write_text("symbol,ts,price,size\n" + "\n".join(rows) + "\n")
    con = db.open_database(tmp_path / "t.duckdb")
    try:
        report = load_file(con, path, table="trades", calendar="XNYS")
    finally:
        con.close()
    assert report.warnings == (
        "1 rows have a timestamp earlier than the row before them (first at line 20003); loaded anyway",
    )
