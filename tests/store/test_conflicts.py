"""Data that already exists: already there, conflicts (refuse | replace | keep), further prints, the load history.

Issue 14, item 2: a corrected bar was "already there" and lost, a new print at a stored time was lost, an instruments
file's time zone was ignored; the same for quotes, fills and orders.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from optexec.store import db
from optexec.store.loading import LoadError, load_file

from .conftest import run_command as run

BARS = "symbol,ts,open,high,low,close,volume\n"


def bars(*closes: float) -> str:
    return BARS + "".join(f"AAA,2025-01-02T14:{30 + k}:00Z,10,11,9,{c},100\n" for k, c in enumerate(closes))


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def rows(con, sql: str):
    return con.execute(sql).fetchall()


def test_identical_rows_are_already_there(con, tmp_path):
    path = write(tmp_path, "b.csv", bars(10.5, 10.5, 10.5))
    assert load_file(con, path, calendar="XNYS").rows_loaded == 3
    again = load_file(con, path)
    assert (again.rows_loaded, again.rows_already_present, again.rows_conflicting) == (0, 3, 0)


def test_a_corrected_bar_is_refused_by_default_naming_the_line_and_the_stored_value(con, tmp_path):
    load_file(con, write(tmp_path, "b1.csv", bars(10.5, 10.5, 10.5, 10.5, 10.5)), calendar="XNYS")
    corrected = write(tmp_path, "b2.csv", bars(10.5, 10.5, 10.8, 10.5, 10.5))
    with pytest.raises(LoadError) as err:
        load_file(con, corrected)
    message = str(err.value)
    assert "1 row has the key of a row already in bars but different values" in message
    assert "line 4 (AAA, 2025-01-02 14:32:00): close 10.8, stored 10.5" in message
    assert "nothing was loaded" in message and "--on-conflict replace" in message
    assert err.value.report.rows_conflicting == 1 and err.value.report.conflicts[0].line == 4
    assert rows(con, "SELECT close FROM bars WHERE ts = '2025-01-02 14:32:00'") == [(10.5,)]


@pytest.mark.parametrize(("policy", "close", "replaced", "kept"), [("replace", 10.8, 1, 0), ("keep", 10.5, 0, 1)])
def test_replace_stores_the_correction_and_keep_keeps_the_stored_value(con, tmp_path, policy, close, replaced, kept):
    load_file(con, write(tmp_path, "b1.csv", bars(10.5, 10.5, 10.5, 10.5, 10.5)), calendar="XNYS")
    corrected = write(tmp_path, "b2.csv", bars(10.5, 10.5, 10.8, 10.5, 10.5, 10.5))  # and one new bar
    report = load_file(con, corrected, on_conflict=policy)
    assert (report.rows_already_present, report.rows_conflicting) == (4, 1)
    assert (report.rows_replaced, report.rows_kept, report.on_conflict) == (replaced, kept, policy)
    assert report.rows_loaded == 1 + replaced  # the new bar, and the corrected one when replaced
    assert rows(con, "SELECT close FROM bars WHERE ts = '2025-01-02 14:32:00'") == [(close,)]
    assert rows(con, "SELECT count(*) FROM bars") == [(6,)]
    if policy == "replace":
        assert report.changes == ("AAA, 2025-01-02 14:32:00: close 10.5 -> 10.8",)
    else:
        assert report.changes == ()
    again = load_file(con, corrected, on_conflict=policy)  # replaced: all there now; kept: the conflict stays
    assert (again.rows_loaded, again.rows_conflicting) == (0, kept)


def test_an_unknown_policy_is_refused(con, tmp_path):
    with pytest.raises(LoadError, match="unknown on-conflict policy 'overwrite'; use one of refuse, replace, keep"):
        load_file(con, write(tmp_path, "b.csv", bars(10.5)), calendar="XNYS", on_conflict="overwrite")


def test_a_dry_run_counts_conflicts_instead_of_refusing(con, tmp_path):
    load_file(con, write(tmp_path, "b1.csv", bars(10.5, 10.5)), calendar="XNYS")
    report = load_file(con, write(tmp_path, "b2.csv", bars(10.5, 10.9)), dry_run=True)
    assert (report.rows_conflicting, report.committed) == (1, False)
    assert report.conflicts[0].differences == "close 10.9, stored 10.5"


TRADES = "symbol,ts,price,size\n"


def test_a_new_print_at_a_stored_time_is_a_further_print(con, tmp_path):
    """No seq column: two prints at one time are two prints, across files too; a re-load adds nothing."""
    first = write(tmp_path, "t1.csv", TRADES + "AAA,2025-01-02T14:30:00Z,10,100\n" * 2)  # two identical prints
    assert load_file(con, first, table="trades", calendar="XNYS").rows_loaded == 2
    assert load_file(con, first, table="trades").rows_already_present == 2
    second = write(tmp_path, "t2.csv", TRADES + "AAA,2025-01-02T14:30:00Z,10,100\nAAA,2025-01-02T14:30:00Z,10.1,50\n")
    report = load_file(con, second, table="trades")
    assert (report.rows_loaded, report.rows_already_present, report.rows_new_prints) == (1, 1, 1)
    assert any("further prints" in w and "first at line 3" in w for w in report.warnings), report.warnings
    stored = rows(con, "SELECT seq, price, size FROM trades ORDER BY seq")
    assert stored == [(0, 10.0, 100.0), (1, 10.0, 100.0), (2, 10.1, 50.0)]
    again = load_file(con, second, table="trades")
    assert (again.rows_loaded, again.rows_already_present) == (0, 2)


def test_seqless_replace_swaps_the_prints_of_a_time_that_differs(con, tmp_path):
    load_file(con, write(tmp_path, "t1.csv", TRADES + "AAA,2025-01-02T14:30:00Z,10,100\n"), table="trades",
              calendar="XNYS")  # fmt: skip
    fixed = write(tmp_path, "t2.csv", TRADES + "AAA,2025-01-02T14:30:00Z,10.2,100\nAAA,2025-01-02T14:31:00Z,10,9\n")
    report = load_file(con, fixed, table="trades", on_conflict="replace")
    assert rows(con, "SELECT ts, seq, price FROM trades ORDER BY ts, seq") == [
        (datetime(2025, 1, 2, 14, 30), 0, 10.2),
        (datetime(2025, 1, 2, 14, 31), 0, 10.0),
    ]
    assert report.rows_replaced == 1 and any("replaced the 1 stored prints at 1 times" in w for w in report.warnings)


def test_an_instruments_file_updates_the_market_and_says_what_changed(con, tmp_path):
    first = "symbol,time_zone,calendar,session_open,session_close\nJP1,UTC,XNYS,09:30,16:00\n"
    load_file(con, write(tmp_path, "i1.csv", first), table="instruments")
    update = "symbol,time_zone,calendar,session_open,session_close\nJP1,Asia/Tokyo,XTKS,09:00,15:30\n"
    report = load_file(con, write(tmp_path, "i2.csv", update), table="instruments")
    assert report.on_conflict == "replace" and report.rows_replaced == 1
    assert report.changes == (
        "JP1: time_zone UTC -> Asia/Tokyo",
        "JP1: calendar XNYS -> XTKS",
        "JP1: session_open 09:30 -> 09:00",
        "JP1: session_close 16:00 -> 15:30",
    )
    stored = rows(con, "SELECT time_zone, calendar, session_open, session_close, market_source FROM instruments")
    assert stored == [("Asia/Tokyo", "XTKS", "09:00", "15:30", "the instruments file")]


def test_an_empty_instruments_cell_leaves_the_stored_value_and_keep_changes_nothing(con, tmp_path):
    load_file(con, write(tmp_path, "i1.csv", "symbol,time_zone,tick_size\nJP1,UTC,0.01\n"), table="instruments")
    report = load_file(con, write(tmp_path, "i2.csv", "symbol,time_zone,tick_size\nJP1,,0.5\n"), table="instruments")
    assert report.changes == ("JP1: tick_size 0.01 -> 0.5",)
    assert rows(con, "SELECT time_zone, tick_size FROM instruments") == [("UTC", 0.5)]
    kept = load_file(
        con, write(tmp_path, "i3.csv", "symbol,time_zone\nJP1,Asia/Tokyo\n"), table="instruments", on_conflict="keep"
    )
    assert (kept.rows_kept, kept.changes) == (1, ())
    assert kept.conflicts[0].differences == "time_zone Asia/Tokyo, stored UTC"
    assert rows(con, "SELECT time_zone FROM instruments") == [("UTC",)]


OTHER_TABLES = {
    "quotes": (
        "symbol,ts,seq,bid,bid_size,ask,ask_size\nQ1,2025-01-02T14:30:00Z,0,9.99,300,10.01,200\n",
        "symbol,ts,seq,bid,bid_size,ask,ask_size\nQ1,2025-01-02T14:30:00Z,0,9.98,300,10.01,200\n",
        "bid 9.98, stored 9.99",
        "SELECT bid FROM quotes",
        9.98,
    ),
    "fills": (
        "order_id,symbol,ts,seq,side,qty,price\nF-1,F1,2025-01-02T14:30:00Z,0,buy,100,10.02\n",
        "order_id,symbol,ts,seq,side,qty,price\nF-1,F1,2025-01-02T14:30:00Z,0,buy,100,10.03\n",
        "price 10.03, stored 10.02",
        "SELECT price FROM fills",
        10.03,
    ),
    "orders": (
        "order_id,symbol,side,shares,start,end\nO-1,O1,sell,5000,2025-01-02T14:30:00Z,2025-01-02T21:00:00Z\n",
        "order_id,symbol,side,shares,start,end\nO-1,O1,sell,6000,2025-01-02T14:30:00Z,2025-01-02T21:00:00Z\n",
        "shares 6000.0, stored 5000.0",
        "SELECT shares FROM orders",
        6000.0,
    ),
}


@pytest.mark.parametrize("table", list(OTHER_TABLES))
def test_quotes_fills_and_orders_follow_the_same_policy(con, tmp_path, table):
    old, new, difference, query, corrected = OTHER_TABLES[table]
    load_file(con, write(tmp_path, "a.csv", old), table=table, calendar="XNYS")
    path = write(tmp_path, "b.csv", new)
    with pytest.raises(LoadError, match="1 row has the key of a row already in"):
        load_file(con, path, table=table)
    kept = load_file(con, path, table=table, on_conflict="keep")
    assert kept.rows_kept == 1 and kept.conflicts[0].differences == difference
    assert rows(con, query) != [(corrected,)]
    replaced = load_file(con, path, table=table, on_conflict="replace")
    assert replaced.rows_replaced == 1 and rows(con, query) == [(corrected,)]


def test_every_load_is_in_the_history_and_db_info_shows_it(con, tmp_path):
    load_file(con, write(tmp_path, "b1.csv", bars(10.5, 10.5)), calendar="XNYS")
    load_file(con, write(tmp_path, "b2.csv", bars(10.5, 10.7, 10.5)), on_conflict="replace")
    load_file(con, write(tmp_path, "b3.csv", bars(10.5)), dry_run=True)  # a dry run is no load
    history = db.load_history(con)
    assert [(h["file"], h["table_name"], h["on_conflict"]) for h in history] == [
        ("b2.csv", "bars", "replace"),
        ("b1.csv", "bars", "refuse"),
    ]
    latest = history[0]
    assert (latest["rows_read"], latest["rows_loaded"], latest["rows_already_present"]) == (3, 2, 1)
    assert (latest["rows_conflicting"], latest["rows_replaced"], latest["rows_kept"]) == (1, 1, 0)
    assert latest["loaded_at"].endswith("Z")
    assert db.info(con)["loads"] == history


def test_the_command_line_refuses_in_one_line_and_replaces_on_request(tmp_path, capsys):
    dbfile = str(tmp_path / "cli.duckdb")
    first = write(tmp_path, "b1.csv", bars(10.5, 10.5))
    assert run(["--db", dbfile, "load", str(first), "--calendar", "XNYS"], capsys)[0] == 0
    second = write(tmp_path, "b2.csv", bars(10.5, 10.8))
    code, out, err = run(["--db", dbfile, "load", str(second)], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "line 3 (AAA, 2025-01-02 14:31:00): close 10.8, stored 10.5" in err
    code, out, err = run(["--db", dbfile, "load", str(second), "--on-conflict", "replace", "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and (doc["rows_replaced"], doc["on_conflict"], doc["rows_conflicting"]) == (1, "replace", 1)
    code, out, _ = run(["--db", dbfile, "load", str(second)], capsys)
    assert code == 0 and "0 rows loaded into bars (2 already there, 0 rejected; on conflict: refuse)" in out
    code, out, _ = run(["--db", dbfile, "db", "info", "--json"], capsys)
    loads = json.loads(out)["loads"]
    assert [(h["file"], h["on_conflict"], h["rows_replaced"], h["outcome"][:8]) for h in loads] == [
        ("b2.csv", "refuse", 0, "loaded"),
        ("b2.csv", "replace", 1, "loaded"),
        ("b2.csv", "refuse", 0, "refused:"),  # the refusal is in the history too
        ("b1.csv", "refuse", 0, "loaded"),
    ]
    code, out, _ = run(["--db", dbfile, "db", "info"], capsys)
    assert code == 0 and "b2.csv -> bars: read 2, loaded 1, already there 1, conflicts 1 (replaced 1, kept 0)" in out


def test_a_refused_load_is_recorded_in_the_history_with_why(con, tmp_path):
    """Every choice reaches the load history: a file refused for a conflict or for bad rows is recorded (its own
    transaction: nothing of the file is stored), a dry run is not."""
    load_file(con, write(tmp_path, "b1.csv", bars(10.5, 10.5, 10.5)), calendar="XNYS")
    with pytest.raises(LoadError):
        load_file(con, write(tmp_path, "b2.csv", bars(10.5, 10.8, 10.5)))
    with pytest.raises(LoadError):
        load_file(con, write(tmp_path, "b3.csv", bars(10.5, 10.5, 10.5) + "AAA,2025-01-02T15:00:00Z,10,11,9,x,100\n"))
    load_file(con, write(tmp_path, "b4.csv", bars(10.5, 10.9)), dry_run=True)
    history = db.load_history(con)
    assert [h["file"] for h in history] == ["b3.csv", "b2.csv", "b1.csv"]
    assert history[2]["outcome"] == "loaded" and history[1]["rows_loaded"] == 0
    assert history[1]["outcome"].startswith("refused: 1 row has the key of a row already in bars")
    assert history[1]["on_conflict"] == "refuse" and history[1]["rows_conflicting"] == 1
    assert history[0]["outcome"].startswith("refused: 1 of 4 rows are bad") and history[0]["rows_rejected"] == 1
    assert rows(con, "SELECT count(*) FROM bars") == [(3,)]
