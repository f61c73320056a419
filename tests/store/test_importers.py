"""LOBSTER and LEAN importers: on small fixtures written here, and on ../shared/marketdata if present."""

from __future__ import annotations

import bisect
import io
import zipfile
from datetime import datetime, timedelta

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
    with pytest.raises(LoadError, match="loads into trades, not bars"):
        load_file(con, ticks, table="bars")


# LEAN tick quotes: ms, bid, bid_size, ask, ask_size, exchange, condition, suspicious (one side per row)
TICK_QUOTES = [
    (34200000, 1000000, 100, 0, 0, "P", 1, 0),  # 1 bid 100.00 x 100; no ask yet: no quote
    (34200100, 0, 0, 1001000, 200, "Q", 1, 0),  # 2 ask 100.10 x 200 -> 100.00/100.10
    (34200200, 1000500, 300, 0, 0, "Q", 1, 1),  # 3 suspicious: dropped
    (34200300, 1000500, 300, 0, 0, "N", 1, 0),  # 4 bid 100.05 x 300 -> 100.05/100.10
    (34200400, 1002000, 100, 0, 0, "N", 1, 0),  # 5 bid 100.20 > ask 100.10: crossed, no quote
    (34200500, 0, 0, 1002500, 400, "P", 1, 0),  # 6 ask 100.25 x 400 -> 100.20/100.25
    (34200600, 1002000, 100, 0, 0, "P", 1, 0),  # 7 the same bid again: unchanged, no quote
    (34200700, 1001000, 200, 0, 0, "Q", 1, 0),  # 8 bid 100.10 x 200 and, in the same ms,
    (34200700, 0, 0, 1001500, 100, "Q", 1, 0),  # 9 ask 100.15 x 100 -> one quote 100.10/100.15
    (34200800, 1002000, 100, 0, 0, "N", 1, 0),  # 10 bid 100.20 (above 100.15 only until
    (34200800, 0, 0, 1003000, 100, "N", 1, 0),  # 11 the ask 100.30 of the same ms) -> 100.20/100.30
    (34200900, 0, 0, 0, 0, "Z", 1, 0),  # 12 neither side: dropped
    (34201000, 1003000, 500, 0, 0, "Z", 1, 0),  # 13 bid 100.30 x 500: locked, kept -> 100.30/100.30
]
TICK_QUOTES_EXPECTED = [  # 09:30 EDT = 13:30 UTC
    (datetime(2013, 10, 7, 13, 30, 0, 100000), 100.0, 100.0, 100.1, 200.0),
    (datetime(2013, 10, 7, 13, 30, 0, 300000), 100.05, 300.0, 100.1, 200.0),
    (datetime(2013, 10, 7, 13, 30, 0, 500000), 100.2, 100.0, 100.25, 400.0),
    (datetime(2013, 10, 7, 13, 30, 0, 700000), 100.1, 200.0, 100.15, 100.0),
    (datetime(2013, 10, 7, 13, 30, 0, 800000), 100.2, 100.0, 100.3, 100.0),
    (datetime(2013, 10, 7, 13, 30, 1), 100.3, 500.0, 100.3, 100.0),
]


def quote_rows(con) -> list[tuple]:
    return con.execute("SELECT ts, bid, bid_size, ask, ask_size FROM quotes ORDER BY ts, seq").fetchall()


def test_lean_tick_quotes_consolidated(con, tmp_path):
    report = load_file(con, lean_zip(tmp_path, "20131007_xyz_Quote_Tick.csv", TICK_QUOTES))
    assert (report.table, report.symbols, report.rows_read, report.rows_loaded) == ("quotes", ("XYZ",), 13, 6)
    assert report.rows_rejected == 0
    assert quote_rows(con) == TICK_QUOTES_EXPECTED
    text = "\n".join(report.warnings)
    assert "13 rows -> 6 level-1 quotes" in text
    assert "1 rows flagged suspicious were dropped (first at line 3)" in text
    assert "1 rows without a time or a valid bid or ask" in text and "(first at line 12)" in text
    assert "1 rows came before both a bid and an ask were known" in text and "(first at line 1)" in text
    assert "1 rows left the consolidated quote crossed (bid > ask) in 1 milliseconds" in text
    assert "(first at line 5)" in text
    again = load_file(con, lean_zip(tmp_path, "20131007_xyz_Quote_Tick.csv", TICK_QUOTES))
    assert (again.rows_loaded, again.rows_already_present) == (0, 6)  # idempotent


def test_lean_tick_quotes_bad_lines_and_nothing_two_sided(con, tmp_path):
    rows = [(34199999, "oops", 1, 0, 0, "P", 1, 0), *TICK_QUOTES]
    path = lean_zip(tmp_path, "20131007_xyz_Quote_Tick.csv", rows)
    with pytest.raises(LoadError, match="line 1"):
        load_file(con, path)
    assert count(con, "quotes") == 0
    report = load_file(con, path, skip_bad_rows=True)
    assert (report.rows_read, report.rows_rejected, report.rows_loaded) == (14, 1, 6)
    assert [r.line for r in report.rejects] == [1]
    assert any("suspicious were dropped (first at line 4)" in w for w in report.warnings)  # file lines
    assert quote_rows(con) == TICK_QUOTES_EXPECTED
    one_sided = lean_zip(tmp_path, "20131008_xyz_Quote_Tick.csv", [(34200000, 1000000, 100, 0, 0, "P", 1, 0)])
    with pytest.raises(LoadError, match="no two-sided, uncrossed quote"):
        load_file(con, one_sided)


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


@needs_data
def test_real_lean_ibm_tick_quotes_match_minute_quote_bars(con):
    tick = MARKETDATA / "lean_equity_usa" / "tick" / "ibm" / "20131007_quote.zip"
    if not tick.exists():
        pytest.skip(f"{tick} is not present")
    report = load_file(con, tick)
    assert report.rows_rejected == 0 and report.symbols == ("IBM",) and report.seconds < 10
    assert report.rows_read > 100_000 and report.rows_loaded > 10_000
    n, crossed = con.execute("SELECT count(*), count(*) FILTER (WHERE bid > ask) FROM quotes").fetchone()
    assert n == report.rows_loaded and crossed == 0
    (spread,) = con.execute(
        "SELECT median(ask - bid) FROM quotes WHERE ts BETWEEN TIMESTAMP '2013-10-07 13:30' AND '2013-10-07 20:00'"
    ).fetchone()
    assert 0.005 < spread < 0.10  # a few cents for IBM
    # LEAN's own minute quote bars are built from these ticks: each bar's closing bid/ask is our last quote
    minute = MARKETDATA / "lean_equity_usa" / "minute" / "ibm" / "20131007_quote.zip"
    if not minute.exists():
        return
    with zipfile.ZipFile(minute) as zf:
        bars = [line.split(",") for line in zf.read(zf.namelist()[0]).decode().split()]
    quotes = quote_rows(con)
    times = [q[0] for q in quotes]
    midnight_utc = datetime(2013, 10, 7, 4)  # midnight EDT
    for bar in bars:
        end = midnight_utc + timedelta(milliseconds=int(bar[0]) + 60_000)
        k = bisect.bisect_left(times, end) - 1  # the last quote before the bar's end
        assert k >= 0 and quotes[k][1:] == (
            int(bar[4]) / 10000,
            float(bar[5]),
            int(bar[9]) / 10000,
            float(bar[10]),
        ), bar
