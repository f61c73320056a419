"""The market of real files (../shared/marketdata, read only): LEAN SPY and AAPL minute bars, LOBSTER, crypto."""

from __future__ import annotations

import pandas as pd
import pytest

from optexec.store.loading import LoadError, load_file
from optexec.store.sessions import instrument_session

from .conftest import MARKETDATA

LEAN = MARKETDATA / "lean_equity_usa" / "minute"
needs_data = pytest.mark.skipif(not MARKETDATA.exists(), reason=f"{MARKETDATA} is not present")


def lean_days(ticker: str) -> list:
    return sorted(p for p in (LEAN / ticker).glob("20*_trade.zip") if not p.name.startswith("2023"))


@needs_data
@pytest.mark.parametrize("ticker", ["spy", "aapl"])
def test_lean_minute_files_are_xnys_with_extended_hours_counted(con, tmp_path, ticker):
    symbol = ticker.upper()
    outside = inside = 0
    for k, path in enumerate(lean_days(ticker)):
        report = load_file(con, path)
        (note,) = report.markets
        if k == 0:
            assert note.source == "the LEAN format"
            assert note.sentence.startswith("XNYS, America/New_York, 09:30–16:00 from the LEAN format (")
        else:
            assert note.source == "the instrument already stored"
        assert report.rows_off_calendar == 0
        inside, outside = inside + report.rows_in_session, outside + report.rows_outside_session
    local = con.execute(
        "SELECT CAST(timezone('America/New_York', timezone('UTC', ts)) AS VARCHAR) FROM bars WHERE symbol = ?",
        [symbol],
    ).fetchall()
    minutes = pd.to_datetime([r[0] for r in local])
    minute_of_day = minutes.hour * 60 + minutes.minute
    regular = (minute_of_day >= 570) & (minute_of_day < 960)
    assert (inside, outside) == (int(regular.sum()), int((~regular).sum()))
    assert outside > 0 and minute_of_day.min() >= 4 * 60 and minute_of_day.max() < 20 * 60  # 04:00–20:00 files
    assert instrument_session(con, symbol).calendar == "XNYS"
    # the same bars written with UTC offsets, as a new symbol: the market is inferred from the volume
    rows = con.execute(
        "SELECT strftime(ts, '%Y-%m-%d %H:%M:%S+00:00'), open, high, low, close, volume FROM bars WHERE symbol = ?",
        [symbol],
    ).fetchall()
    csv = tmp_path / "again.csv"
    csv.write_text(
        "symbol,ts,open,high,low,close,volume\n" + "".join(f"{symbol}-CSV,{','.join(map(str, r))}\n" for r in rows)
    )
    report = load_file(con, csv)
    (note,) = report.markets
    assert note.source == "inferred from the volume by time of day"
    assert note.sentence.startswith("inferred XNYS, America/New_York, 09:30–16:00 from the volume by time of day")
    assert (report.rows_in_session, report.rows_outside_session) == (inside, outside)


@needs_data
def test_lobster_is_nasdaq(con):
    report = load_file(con, MARKETDATA / "lobster_2012-06-21" / "LOBSTER_SampleFile_AAPL_2012-06-21_1.zip")
    (note,) = report.markets
    assert (note.market.calendar, note.market.time_zone, note.source) == (
        "XNAS",
        "America/New_York",
        "the LOBSTER format",
    )
    assert report.rows_outside_session == 0 and report.rows_in_session == report.rows_loaded  # 09:30–16:00 files


@needs_data
def test_crypto_round_the_clock_naive_times_ask_for_their_zone_then_24_7_is_inferred(con):
    path = MARKETDATA / "crypto" / "ftx_btc-perp_20211231-20220201_1m.csv.gz"
    with pytest.raises(LoadError, match=r"fit 24/7, UTC, 00:00–24:00 read in several zones \(America/New_York, "):
        load_file(con, path, symbol="BTC-PERP")  # round the clock, naive: nothing tells their zone
    report = load_file(con, path, symbol="BTC-PERP", tz="UTC")
    (note,) = report.markets
    assert note.sentence.startswith("inferred 24/7, UTC, 00:00–24:00 from the volume by time of day")
    assert note.source == "inferred from the volume by time of day (time zone given)"
    assert "read as they are (UTC) (given)" in report.time_zone_note
    assert report.rows_outside_session == 0 and report.rows_off_calendar == 0
