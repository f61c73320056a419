"""The load's own working tables (issue 16, item 3): a file that cannot meet stored rows is inserted straight from
the staged rows (``_incoming`` a view), one that can is copied and compared (``_incoming`` a table); either way
nothing is left behind, and a refused load's leftovers do not trouble the next load on the same connection."""

from __future__ import annotations

import pytest

from optexec.store import db
from optexec.store.loading import LoadError, load_file

HEADER = "symbol,ts,open,high,low,close,volume\n"


def _bars(path, closes, start_minute=0):
    rows = "".join(
        f"ABC,2024-03-04T{14 + (start_minute + i + 30) // 60:02d}:{(start_minute + i + 30) % 60:02d}:00Z,"
        f"10,11,9,{c},100\n"
        for i, c in enumerate(closes)
    )
    path.write_text(HEADER + rows)
    return path


def _temp_objects(con) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'temp'").fetchall()
    return {r[0] for r in rows}


def test_loads_into_new_and_stored_rows_leave_nothing_behind(tmp_path):
    con = db.open_database(tmp_path / "s.duckdb")
    try:
        first = load_file(con, _bars(tmp_path / "a.csv", [10.0] * 50), table="bars", calendar="XNYS")
        assert first.rows_loaded == 50 and first.committed
        assert not {"_stage", "_incoming", "_dups", "_match"} & _temp_objects(con)
        # overlapping: half already there, half new; the same values: nothing conflicts
        second = load_file(con, _bars(tmp_path / "b.csv", [10.0] * 50, start_minute=25), table="bars")
        assert (second.rows_already_present, second.rows_loaded) == (25, 25)
        assert not {"_stage", "_incoming", "_dups", "_match"} & _temp_objects(con)
        (n,) = con.execute("SELECT count(*) FROM bars WHERE symbol = 'ABC'").fetchone()
        assert n == 75
    finally:
        con.close()


def test_a_refused_load_does_not_trouble_the_next_one(tmp_path):
    con = db.open_database(tmp_path / "s.duckdb")
    try:
        load_file(con, _bars(tmp_path / "a.csv", [10.0] * 20), table="bars", calendar="XNYS")
        conflicting = _bars(tmp_path / "b.csv", [10.5] * 20)
        with pytest.raises(LoadError, match="20 rows have the key of a row already in bars"):
            load_file(con, conflicting, table="bars")
        # a file of new rows only (its _incoming a view) after the refusal (which left a table of that name)
        fresh = load_file(con, _bars(tmp_path / "c.csv", [10.0] * 10, start_minute=100), table="bars")
        assert fresh.rows_loaded == 10
        replaced = load_file(con, conflicting, table="bars", on_conflict="replace")
        assert replaced.rows_replaced == 20
        (close,) = con.execute("SELECT max(close) FROM bars WHERE symbol = 'ABC'").fetchone()
        assert close == 10.5
    finally:
        con.close()


def test_a_dry_run_writes_nothing(tmp_path):
    con = db.open_database(tmp_path / "s.duckdb")
    try:
        report = load_file(con, _bars(tmp_path / "a.csv", [10.0] * 30), table="bars", calendar="XNYS", dry_run=True)
        assert report.rows_read == 30 and not report.committed
        (n,) = con.execute("SELECT count(*) FROM bars WHERE symbol = 'ABC'").fetchone()
        assert n == 0
    finally:
        con.close()


def _dst_file(path):
    """Two symbols' five-minute bars across both of New York's clock changes of 2024, written as New York wall
    time (the repeated hour twice per symbol), plus a skipped time, an ambiguous one, a zone name and a bad zone."""
    import datetime as dt
    import zoneinfo

    zone = zoneinfo.ZoneInfo("America/New_York")
    lines = [HEADER.strip()]
    for start in (dt.datetime(2024, 11, 2, 12, tzinfo=dt.UTC), dt.datetime(2024, 3, 9, 12, tzinfo=dt.UTC)):
        for i in range(0, 36 * 60, 5):
            wall = (start + dt.timedelta(minutes=i)).astimezone(zone).replace(tzinfo=None)
            lines += [f"{s},{wall:%Y-%m-%d %H:%M:%S},10,11,9,10,{100 + i}" for s in ("AA", "BB")]
    lines += [
        "AA,2024-03-10 02:30:00,10,11,9,10,5",
        "CC,2024-11-03 01:30:00,10,11,9,10,5",
        "CC,2024-11-04 09:30:00 Europe/Paris,10,11,9,10,5",
        "CC,2024-11-03 01:40:00 XYZ,10,11,9,10,5",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_zone_readings_per_distinct_time_are_the_row_by_row_ones(tmp_path, monkeypatch):
    """Naive times read in New York: the readings worked out once per distinct wall time (the load's way) report
    and store exactly what the row-by-row readings do."""
    from optexec.store import staging

    path = _dst_file(tmp_path / "dst.csv")
    results = []
    real = staging._stage_sql
    for distinct in (True, False):
        monkeypatch.setattr(staging, "_stage_sql", lambda *a, d=distinct: real(*a[:6], d))
        con = db.open_database(tmp_path / f"s{distinct}.duckdb")
        try:
            report = load_file(con, path, table="bars", tz="America/New_York", calendar="XNYS", skip_bad_rows=True)
            rows = con.execute("SELECT * FROM bars ORDER BY symbol, ts").fetchall()
        finally:
            con.close()
        results.append(({k: v for k, v in report.__dict__.items() if k != "seconds"}, rows))
    (a, rows_a), (b, rows_b) = results
    assert a == b and rows_a == rows_b
    assert a["rows_rejected"] >= 2 and len(rows_a) > 1500
    reasons = " ".join(r.reason for r in a["rejects"])
    assert "does not exist in America/New_York" in reasons and "unknown time zone 'XYZ'" in reasons
