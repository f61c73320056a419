"""LOBSTER and LEAN importers: on small fixtures written here, and on ../shared/marketdata if present."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import pytest

from optexec.store.loading import LoadError, load_file

from .conftest import MARKETDATA, count

# LOBSTER: time (s after midnight NY), type, order id, size, price ($ x 1e4), direction
MESSAGES = [
    (34200.000001, 1, 1, 100, 1000000, 1),  # submit buy limit @ 100.00
    (34200.5, 1, 2, 200, 1001000, -1),  # submit sell limit @ 100.10
    (34201.25, 4, 2, 50, 1001000, -1),  # execution of the sell limit: buyer-initiated
    (34202.0, 4, 1, 30, 1000000, 1),  # execution of the buy limit: seller-initiated
    (34202.0, 5, 9, 10, 1000500, 1),  # hidden execution: side unknown
    (34203.0, 3, 1, 70, 1000000, 1),  # delete the bid: empty bid side
]
EMPTY = 9999999999
BOOK = [
    (1001000 + 0 * EMPTY, 0, 1000000, 100),  # after msg 1 the ask is empty -> fixed below
    (1001000, 200, 1000000, 100),
    (1001000, 150, 1000000, 100),
    (1001000, 150, 1000000, 70),
    (1001000, 150, 1000000, 70),  # unchanged: no new quote
    (1001000, 150, -EMPTY, 0),  # empty bid: left out
]
BOOK[0] = (EMPTY, 0, 1000000, 100)


def lobster_zip(tmp_path, name="TEST_2012-06-21_34200000_57600000_{}_1.csv"):
    path = tmp_path / "LOBSTER_SampleFile_TEST_2012-06-21_1.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name.format("message"), "".join(",".join(map(str, m)) + "\n" for m in MESSAGES))
        zf.writestr(name.format("orderbook"), "".join(",".join(map(str, b)) + "\n" for b in BOOK))
    return path


def lean_zip(tmp_path, member: str, rows: list[tuple]) -> object:
    path = tmp_path / (member.split("_")[0] + ("_quote.zip" if "quote" in member.lower() else "_trade.zip"))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_lobster_trades_sides_and_times(con, tmp_path):
    report = load_file(con, lobster_zip(tmp_path), table="trades")
    assert report.format == "lobster" and report.rows_loaded == 3
    rows = con.execute("SELECT symbol, ts, seq, price, size, side FROM trades ORDER BY ts, seq").fetchall()
    assert rows[0] == ("TEST", datetime(2012, 6, 21, 13, 30, 1, 250000), 0, 100.1, 50.0, "buy")
    assert [r[5] for r in rows] == ["buy", "sell", None]
    assert [r[2] for r in rows[1:]] == [0, 1]  # same microsecond: numbered in file order
    assert con.execute("SELECT time_zone FROM instruments").fetchone() == ("America/New_York",)
    assert load_file(con, lobster_zip(tmp_path), table="trades").rows_loaded == 0  # idempotent


def test_lobster_level1_quotes(con, tmp_path):
    report = load_file(con, lobster_zip(tmp_path), table="quotes")
    rows = con.execute("SELECT bid, bid_size, ask, ask_size FROM quotes ORDER BY ts").fetchall()
    assert rows == [(100.0, 100.0, 100.1, 200.0), (100.0, 100.0, 100.1, 150.0), (100.0, 70.0, 100.1, 150.0)]
    assert report.rows_loaded == 3


def test_lobster_needs_its_orderbook(con, tmp_path):
    path = tmp_path / "X_2012-06-21_1_2_message_1.csv"
    path.write_text("34200.1,4,1,1,1000000,1\n")
    with pytest.raises(LoadError, match="orderbook file .* is missing"):
        load_file(con, path)
    assert count(con, "trades") == 0


def test_lean_minute_trade_and_quote_bars(con, tmp_path):
    trade = lean_zip(
        tmp_path,
        "20140605_abc_minute_trade.csv",
        [(34200000, 6448000, 6450000, 6440000, 6449000, 90), (34260000, 6449000, 6449000, 6449000, 6449000, 10)],
    )
    report = load_file(con, trade)
    assert (report.table, report.rows_loaded, report.symbols) == ("bars", 2, ("ABC",))
    first = con.execute("SELECT ts, open, high, low, close, volume FROM bars ORDER BY ts").fetchone()
    assert first == (datetime(2014, 6, 5, 13, 30), 644.8, 645.0, 644.0, 644.9, 90.0)  # 09:30 EDT
    quote = lean_zip(
        tmp_path, "20140605_abc_minute_quote.csv", [(34200000, 1, 1, 1, 6440000, 100, 1, 1, 1, 6450000, 200)]
    )
    assert load_file(con, quote).rows_loaded == 1
    assert con.execute("SELECT ts, bid, bid_size, ask, ask_size FROM quotes").fetchone() == (
        datetime(2014, 6, 5, 13, 31),
        644.0,
        100.0,
        645.0,
        200.0,
    )


def test_lean_tick_trades_and_bad_rows(con, tmp_path):
    ticks = lean_zip(
        tmp_path,
        "20131007_xyz_Trade_Tick.csv",
        [
            (34200001, 1815200, 283, "P", 2000, 0),
            (34200001, 1815300, 100, "Q", 2000, 0),
            (34200002, "oops", 100, "Q", 2000, 0),
            (34200003, 0, 100, "Q", 2000, 0),
        ],
    )
    with pytest.raises(LoadError):
        load_file(con, ticks)
    assert count(con, "trades") == 0
    report = load_file(con, ticks, skip_bad_rows=True)
    assert report.rows_loaded == 2 and {r.line for r in report.rejects} == {3, 4}
    with pytest.raises(LoadError, match="not supported"):
        load_file(con, lean_zip(tmp_path, "20131007_xyz_Quote_Tick.csv", [(1, 0, 0, 1, 1, "P", 1, 0)]))
    with pytest.raises(LoadError, match="loads into trades, not bars"):
        load_file(con, ticks, table="bars")


def test_not_a_zip(con, tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"not a zip")
    with pytest.raises(LoadError, match="not a readable zip"):
        load_file(con, path)


# ---------------------------------------------------------------------------------------------
# real files (third-party; only read, never copied)
needs_data = pytest.mark.skipif(not MARKETDATA.exists(), reason=f"{MARKETDATA} is not present")


@needs_data
def test_real_lobster_aapl(con):
    zip_path = MARKETDATA / "lobster_2012-06-21" / "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip"
    with zipfile.ZipFile(zip_path) as zf:
        name = next(n for n in zf.namelist() if "_message_" in n)
        lines = zf.read(name).decode().splitlines()
    assert lines[0] == "34200.004241176,1,16113575,18,5853300,1"
    kinds = [line.split(",")[1] for line in lines]
    report = load_file(con, zip_path, table="trades")
    assert report.rows_loaded == kinds.count("4") + kinds.count("5") and report.rows_rejected == 0
    sides = dict(con.execute("SELECT coalesce(side, '?'), count(*) FROM trades GROUP BY ALL").fetchall())
    assert sides["?"] == kinds.count("5") and sides["buy"] + sides["sell"] == kinds.count("4")
    start, end = con.execute("SELECT min(ts), max(ts) FROM trades").fetchone()
    assert start >= datetime(2012, 6, 21, 13, 30) and end <= datetime(2012, 6, 21, 20, 0)
    quotes = load_file(con, zip_path, table="quotes")
    assert quotes.rows_loaded > 10_000 and quotes.rows_rejected == 0


@needs_data
def test_real_lean_spy_minute_volume_matches_daily(con):
    minute = MARKETDATA / "lean_equity_usa" / "minute" / "spy" / "20131007_trade.zip"
    report = load_file(con, minute)
    assert report.rows_rejected == 0 and report.symbols == ("SPY",)
    regular = con.execute(
        "SELECT sum(volume) FROM bars WHERE CAST(timezone('America/New_York', timezone('UTC', ts)) AS TIME) "
        "BETWEEN TIME '09:30:00' AND TIME '15:59:00'"
    ).fetchone()[0]
    with zipfile.ZipFile(MARKETDATA / "lean_equity_usa" / "daily" / "spy.zip") as zf:
        text = zf.read(zf.namelist()[0]).decode()
    daily = next(line for line in io.StringIO(text) if line.startswith("20131007"))
    assert regular == float(daily.strip().split(",")[-1])
    quotes = load_file(
        con, MARKETDATA / "lean_equity_usa" / "minute" / "spy" / "20131007_quote.zip", skip_bad_rows=True
    )
    assert quotes.rows_loaded > 300


@needs_data
def test_real_lean_ibm_ticks(con):
    report = load_file(con, MARKETDATA / "lean_equity_usa" / "tick" / "ibm" / "20131007_trade.zip", skip_bad_rows=True)
    assert report.rows_loaded > 10_000
    lo, hi = con.execute("SELECT min(price), max(price) FROM trades").fetchone()
    assert 150 < lo <= hi < 200  # IBM traded near $180 in October 2013
