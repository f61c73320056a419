"""A new symbol's market on load: inferred from planted bars in every timestamp style, DST, questions, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optexec.store.loading import LoadError, load_file
from optexec.store.sessions import instrument_session

from .planted import HEADER, WEEKEND_BARS, bar_rows, planted_bars, stamp, write_bars


def stored_utc(con, symbol="PLNT") -> np.ndarray:
    rows = con.execute("SELECT CAST(ts AS VARCHAR) FROM bars WHERE symbol = ? ORDER BY ts", [symbol]).fetchall()
    return pd.to_datetime([r[0] for r in rows]).to_numpy()


def truth_utc(bars: pd.DataFrame) -> np.ndarray:
    return bars["ts_utc"].dt.tz_localize(None).to_numpy()


@pytest.fixture(scope="module")
def truth():
    bars = planted_bars()
    return bars, bars["place"].value_counts().to_dict()


@pytest.mark.parametrize("style", ["utc_offset", "local_offset", "naive_local", "naive_utc", "zone_name"])
def test_every_style_infers_xnys_and_stores_the_true_instants(con, tmp_path, truth, style):
    bars, places = truth
    path, _ = write_bars(tmp_path / f"{style}.csv", style)
    report = load_file(con, path)
    assert report.rows_loaded == len(bars) and report.rows_rejected == 0
    (note,) = report.markets
    assert note.source == "inferred from the volume by time of day"
    assert note.sentence.startswith("inferred XNYS, America/New_York, 09:30–16:00 from the volume by time of day (")
    assert "XTSE has the same hours but its trading days fit the data less well" in note.sentence  # said, not hidden
    assert (report.rows_in_session, report.rows_outside_session, report.rows_off_calendar) == (
        places["regular"],
        places["outside"],
        WEEKEND_BARS,
    )
    notes = " | ".join(report.notes())
    assert "kept in the store and calibration ignores them" in notes
    if style == "naive_local":
        assert "read as America/New_York local time" in report.time_zone_note
    elif style == "naive_utc":
        assert "read as they are (UTC)" in report.time_zone_note
    else:
        assert report.time_zone_note == ""  # every time carries its zone
    np.testing.assert_array_equal(stored_utc(con), truth_utc(bars))
    market = instrument_session(con, "PLNT")
    assert (market.time_zone, market.open_local, market.close_local, market.calendar) == (
        "America/New_York",
        "09:30",
        "16:00",
        "XNYS",
    )
    assert con.execute("SELECT market_source FROM instruments").fetchone()[0] == note.source


def test_share_inside_is_stated(con, tmp_path, truth):
    bars, _ = truth
    path, _ = write_bars(tmp_path / "b.csv", "utc_offset")
    note = load_file(con, path).markets[0].sentence
    share = bars.loc[bars["place"] == "regular", "volume"].sum() / bars["volume"].sum()
    assert f"({share:.1%} of volume inside the session" in note


def test_spring_forward_time_is_rejected_by_line(con, tmp_path):
    extra = "PLNT,2025-03-09 02:30:00,10,10,10,10,5\n"
    path, bars = write_bars(tmp_path / "f.csv", "naive_local", extra)
    with pytest.raises(LoadError) as err:
        load_file(con, path)
    bad_line = len(bars) + 2
    assert f"line {bad_line}" in str(err.value)
    assert "02:30 does not exist in America/New_York on 2025-03-09: clocks moved forward" in str(err.value)
    report = load_file(con, path, skip_bad_rows=True)
    assert report.rows_loaded == len(bars) and report.rows_rejected == 1
    assert report.rejects[0].line == bad_line and report.rejects[0].column == "ts"
    np.testing.assert_array_equal(stored_utc(con), truth_utc(bars))  # nothing shifted to 03:30


def test_autumn_repeated_hour_once_is_ambiguous_twice_is_resolved(con, tmp_path):
    once = "PLNT,2025-11-02 01:30:00,10,10,10,10,5\n"
    path, bars = write_bars(tmp_path / "g.csv", "naive_local", once)
    with pytest.raises(LoadError, match=r"ambiguous: 01:30 occurs twice in America/New_York on 2025-11-02"):
        load_file(con, path)
    twice = "OTHER,2025-11-02 01:30:00,10,10,10,10,5\nOTHER,2025-11-02 01:30:00,10,10,10,10,6\n"
    path, bars = write_bars(tmp_path / "g2.csv", "naive_local", twice)
    report = load_file(con, path, calendar="XNYS")
    assert report.rows_rejected == 0
    got = con.execute("SELECT CAST(ts AS VARCHAR), volume FROM bars WHERE symbol = 'OTHER' ORDER BY ts").fetchall()
    assert got == [("2025-11-02 05:30:00", 5.0), ("2025-11-02 06:30:00", 6.0)]  # EDT first, then EST


def test_written_zone_names_are_honoured_or_rejected(con, tmp_path):
    text = HEADER + (
        "Z,2025-02-03 09:36:00 EST,10,10,10,10,1\n"
        "Z,2025-02-03 09:37:00 America/New_York,10,10,10,10,1\n"
        "Z,2025-02-03 15:38:00 CET,10,10,10,10,1\n"
        "Z,2025-02-03 09:39:00 XYZ,10,10,10,10,1\n"
        "Z,2025-02-03 09:40:00 IST,10,10,10,10,1\n"
    )
    path = tmp_path / "z.csv"
    path.write_text(text)
    report = load_file(con, path, calendar="XNYS", skip_bad_rows=True)
    assert report.rows_loaded == 3
    assert [(r.line, r.column) for r in report.rejects] == [(5, "ts"), (6, "ts")]
    assert "unknown time zone 'XYZ'" in report.rejects[0].reason
    assert "'IST' is ambiguous" in report.rejects[1].reason
    got = [r[0] for r in con.execute("SELECT CAST(ts AS VARCHAR) FROM bars ORDER BY ts").fetchall()]
    assert got == ["2025-02-03 14:36:00", "2025-02-03 14:37:00", "2025-02-03 14:38:00"]


def test_a_tiny_file_gets_a_question(con, tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text(HEADER + "".join(f"T,2025-01-06 14:{30 + k}:00+00:00,10,10,10,10,100\n" for k in range(20)))
    with pytest.raises(LoadError) as err:
        load_file(con, path)
    text = str(err.value)
    assert text.startswith("cannot tell the market of this file")
    assert "Best candidates: XNYS, America/New_York, 09:30–16:00" in text and "--calendar" in text
    assert con.execute("SELECT count(*) FROM instruments").fetchone()[0] == 0


def test_flat_weekday_volume_round_the_clock_fits_no_calendar(con, tmp_path):
    stamps = pd.date_range("2025-01-06", "2025-01-31 23:59", freq="min", tz="UTC")
    stamps = stamps[stamps.day_of_week < 5]
    path = tmp_path / "flat.csv"
    path.write_text(HEADER + bar_rows(list(stamps.strftime("%Y-%m-%d %H:%M:%S+00:00")), np.full(len(stamps), 50)))
    with pytest.raises(LoadError, match="fits no candidate market"):
        load_file(con, path)


def test_given_market_is_used_and_said(con, tmp_path, truth):
    bars, places = truth
    path, _ = write_bars(tmp_path / "b.csv", "naive_utc")
    report = load_file(con, path, tz="UTC", calendar="XNYS")
    assert report.markets[0].source == "given"
    assert report.markets[0].sentence.startswith("market given: XNYS, America/New_York, 09:30–16:00 (")
    assert "read as they are (UTC) (given)" in report.time_zone_note
    np.testing.assert_array_equal(stored_utc(con), truth_utc(bars))
    path2, _ = write_bars(tmp_path / "c.csv", "utc_offset", symbol="HALF")
    report = load_file(con, path2, tz="America/New_York", session="09:30-13:00")
    market = instrument_session(con, "HALF")
    assert (market.open_local, market.close_local) == ("09:30", "13:00")
    assert report.rows_outside_session > places["outside"]  # the afternoons are outside a 09:30–13:00 session


def test_stored_market_is_used_and_a_disagreeing_option_refused(con, tmp_path, truth):
    bars, _ = truth
    path, _ = write_bars(tmp_path / "b.csv", "utc_offset")
    load_file(con, path)
    again = load_file(con, path)
    assert again.markets[0].source == "the instrument already stored"
    assert again.markets[0].sentence.startswith("PLNT: the stored market XNYS, America/New_York, 09:30–16:00")
    with pytest.raises(LoadError) as err:
        load_file(con, path, tz="Europe/London")
    assert "PLNT is stored with the market XNYS, America/New_York, 09:30–16:00" in str(err.value)
    assert "python -m optexec db market PLNT --tz Europe/London" in str(err.value)
    # and the other meaning: the file's times are London wall-clock times (the stored calendar makes it so)
    assert str(err.value).endswith("or give the stored calendar too: --tz Europe/London --calendar XNYS")
    with pytest.raises(LoadError, match="--session 09:00-17:00 disagrees"):
        load_file(con, path, session="09:00-17:00")
    # naive UTC times of a stored New York symbol: read as UTC because that puts the volume in the session
    path2, _ = write_bars(tmp_path / "n.csv", "naive_utc")
    report = load_file(con, path2)
    assert report.rows_loaded == 0 and report.rows_already_present == len(bars)
    assert report.time_zone_note.startswith("times written without an offset are read as they are (UTC) (inferred")


def test_bad_options_are_refused(con, tmp_path):
    path, _ = write_bars(tmp_path / "b.csv", "utc_offset")
    for options, message in (
        ({"calendar": "NOPE"}, "unknown trading calendar 'NOPE'"),
        ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"session": "16:00-09:30"}, "closes"),
        ({"session": "9.30-16"}, "HH:MM"),
    ):
        with pytest.raises(LoadError if "tz" in options else ValueError, match=message):
            load_file(con, path, **options)


def test_trades_and_quotes_infer_from_sizes_and_counts(con, tmp_path, truth):
    bars, places = truth
    stamps = bars["ts_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    trades = tmp_path / "t.csv"
    trades.write_text(
        "symbol,ts,price,size\n" + "".join(f"TRD,{t},10,{v:.0f}\n" for t, v in zip(stamps, bars["volume"], strict=True))
    )
    report = load_file(con, trades)
    assert report.table == "trades" and report.markets[0].market.calendar == "XNYS"
    assert report.rows_outside_session == places["outside"]
    regular = bars[bars["place"] == "regular"]["ts_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    quotes = tmp_path / "q.csv"
    quotes.write_text("symbol,ts,bid,ask\n" + "".join(f"QTE,{t},9.9,10.1\n" for t in regular))
    report = load_file(con, quotes)
    assert report.table == "quotes" and report.markets[0].market.calendar == "XNYS"
    assert report.rows_outside_session == 0 and report.rows_in_session == len(regular)


def test_a_few_naive_fills_of_a_stored_symbol_read_in_its_zone_and_say_so(con, tmp_path):
    path, _ = write_bars(tmp_path / "b.csv", "utc_offset")
    load_file(con, path)
    fills = tmp_path / "f.csv"
    fills.write_text("order_id,symbol,ts,side,qty,price\nO1,PLNT,2025-11-03 10:00:00,buy,100,10\n")
    report = load_file(con, fills)
    assert report.time_zone_note.startswith(
        "times written without an offset are read as America/New_York local time (the stored market's time zone: "
        "the rows cannot tell"
    )
    assert con.execute("SELECT CAST(ts AS VARCHAR) FROM fills").fetchone()[0] == "2025-11-03 15:00:00"
    bars = tmp_path / "few.csv"
    bars.write_text(HEADER + "PLNT,2025-11-03 10:00:00,10,10,10,10,5\n")
    with pytest.raises(LoadError, match="cannot tell how the times written without an offset read"):
        load_file(con, bars)  # market data must not be guessed


def test_each_symbol_of_a_file_is_placed_in_its_own_market(con, tmp_path, truth):
    """New symbols are inferred together and every symbol's rows are placed in its own market: one file of two new
    symbols (naive New York times) and a stored Tokyo one counts what the three count when loaded one by one."""
    bars, places = truth
    tokyo_path, _ = write_bars(tmp_path / "t.csv", "naive_local", symbol="TKYO")
    tokyo = load_file(con, tokyo_path, tz="America/New_York", calendar="XTKS")  # NY hours: outside Tokyo's session
    assert tokyo.rows_outside_session > 0
    stamps = stamp(bars["ts_utc"], "naive_local")
    body = "".join(bar_rows(stamps, bars["volume"], s) for s in ("NEWA", "TKYO", "NEWB"))
    (tmp_path / "all.csv").write_text(HEADER + body)
    report = load_file(con, tmp_path / "all.csv")
    assert report.rows_already_present == len(bars) and report.rows_loaded == 2 * len(bars)
    new = next(n for n in report.markets if n.source != "the instrument already stored")
    assert new.symbols == ("NEWA", "NEWB") and new.market.calendar == "XNYS"
    assert "read as America/New_York local time" in report.time_zone_note
    assert (report.rows_in_session, report.rows_outside_session, report.rows_off_calendar) == (
        2 * places["regular"] + tokyo.rows_in_session,
        2 * places["outside"] + tokyo.rows_outside_session,
        2 * WEEKEND_BARS + tokyo.rows_off_calendar,
    )
    for symbol in ("NEWA", "NEWB"):
        np.testing.assert_array_equal(stored_utc(con, symbol), truth_utc(bars))
