"""Times outside 1970-01-01 .. 2100-01-01 are rejected with their line; ``db info`` never fails on what is stored.

Issue 14, item 4: ``10000-01-01``, ``294247-01-01`` and ``0044-03-15 BC`` were accepted, then ``db info`` failed with
``AttributeError ... isoformat``.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from optexec.store import db
from optexec.store.loading import LoadError, load_file

from .conftest import run_command as run

BARS = "symbol,ts,open,high,low,close,volume\n"
FAR = {  # line -> the time written there
    3: "10000-01-01T00:00:00Z",
    4: "294247-01-01T00:00:00Z",
    5: "0044-03-15 BC",
    6: "1969-12-31T23:59:59Z",
    7: "2100-01-01T00:00:00Z",
    8: "10000-01-01",
}


def far_csv(tmp_path):
    lines = {2: "2025-01-02T14:30:00Z", **FAR, 9: "2025-01-02T14:31:00Z"}
    text = BARS + "".join(f"AAA,{lines[k]},10,11,9,10.5,100\n" for k in sorted(lines))
    path = tmp_path / "far.csv"
    path.write_text(text)
    return path


def test_far_out_times_in_a_csv_are_rejected_with_their_lines(con, tmp_path):
    path = far_csv(tmp_path)
    with pytest.raises(LoadError, match=r"6 of 8 rows are bad \(first: line 3, column ts: the time 10000-01-01"):
        load_file(con, path, calendar="XNYS", tz="UTC")
    report = load_file(con, path, calendar="XNYS", tz="UTC", skip_bad_rows=True)
    assert {r.line for r in report.rejects} == set(FAR)
    reasons = {r.line: r.reason for r in report.rejects}
    assert reasons[3] == "the time 10000-01-01 00:00:00 (UTC) is outside 1970-01-01 to 2100-01-01"
    assert reasons[6] == "the time 1969-12-31 23:59:59 (UTC) is outside 1970-01-01 to 2100-01-01"
    assert reasons[7] == "the time 2100-01-01 00:00:00 (UTC) is outside 1970-01-01 to 2100-01-01"
    assert "BC" in reasons[5]  # not a time this store reads: refused with its line
    assert report.rows_loaded == 2
    assert con.execute("SELECT count(*) FROM bars WHERE ts < '1970-01-01' OR ts >= '2100-01-01'").fetchone() == (0,)


def test_far_out_times_in_a_parquet_file_are_rejected_with_their_rows(con, tmp_path):
    path = tmp_path / "far.parquet"
    duckdb.connect().execute(
        "COPY (SELECT 'AAA' AS symbol, unnest([TIMESTAMP '2025-01-02 14:31:00', TIMESTAMP '10000-01-01', "
        "TIMESTAMP '0044-03-15 (BC) 00:00:00', TIMESTAMP '1900-01-01']) AS ts, 10.0 AS open, 11.0 AS high, "
        f"9.0 AS low, 10.5 AS close, 100.0 AS volume) TO '{path}'"
    )
    report = load_file(con, path, calendar="XNYS", tz="UTC", skip_bad_rows=True)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (2, "the time 10000-01-01 00:00:00 (UTC) is outside 1970-01-01 to 2100-01-01"),
        (3, "the time 0044-03-15 (BC) 00:00:00 (UTC) is outside 1970-01-01 to 2100-01-01"),
        (4, "the time 1900-01-01 00:00:00 (UTC) is outside 1970-01-01 to 2100-01-01"),
    ]
    assert report.rows_loaded == 1


def test_the_window_holds_for_every_time_column(con, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,symbol,side,shares,start,end\n"
        "O-1,O1,sell,5000,2025-01-02T14:30:00Z,2025-01-02T21:00:00Z\n"
        "O-2,O1,sell,5000,2025-01-02T14:30:00Z,10000-01-01T00:00:00Z\n"
    )
    report = load_file(con, path, table="orders", calendar="XNYS", skip_bad_rows=True)
    assert [(r.line, r.column) for r in report.rejects] == [(3, "end")]


def test_db_info_never_fails_on_a_stored_far_out_time(tmp_path, capsys):
    """A database written before the window (or by other tools) holding times Python cannot represent."""
    path = tmp_path / "old.duckdb"
    con = db.open_database(path)
    con.execute(
        "INSERT INTO bars VALUES ('ZZZ', TIMESTAMP '0044-03-15 (BC) 00:00:00', 1, 1, 1, 1, 1), "
        "('ZZZ', TIMESTAMP '2025-01-02 14:30:00', 1, 1, 1, 1, 1), ('ZZZ', TIMESTAMP '294247-01-01', 1, 1, 1, 1, 1)"
    )
    con.close()
    code, out, err = run(["--db", str(path), "db", "info", "--json"], capsys)
    assert code == 0 and err == ""
    bars = json.loads(out)["tables"]["bars"]
    assert bars["start"] == "0044-03-15 (BC) 00:00:00 (outside Python's date range)"
    assert bars["end"] == "294247-01-01 00:00:00 (outside Python's date range)"
    code, out, err = run(["--db", str(path), "db", "info"], capsys)
    assert code == 0 and "294247-01-01" in out and err == ""
