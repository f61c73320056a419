"""Validated loading: detection, time zones, idempotence, and a corpus of malformed files."""

from __future__ import annotations

import gzip

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optexec.store import loading
from optexec.store.loading import LoadError
from optexec.store.loading import load_file as _load_file

from .conftest import BAR_HEADER, bar_lines, count


def load_file(con, path, *args, **options):
    """``load_file`` with the market given (XNYS, naive times UTC): these tests are about validation."""
    options.setdefault("calendar", "XNYS")
    options.setdefault("tz", "UTC")
    return _load_file(con, path, *args, **options)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_csv_loads_and_reloading_adds_nothing(con, tmp_path):
    path = write(tmp_path, "bars.csv", BAR_HEADER + bar_lines("AAA", 50))
    report = load_file(con, path)
    assert report.table == "bars" and report.rows_loaded == 50 and report.rows_rejected == 0
    assert report.committed and report.symbols == ("AAA",)
    again = load_file(con, path)
    assert again.rows_loaded == 0 and again.rows_already_present == 50
    assert count(con, "bars") == 50
    assert con.execute("SELECT symbol, time_zone, calendar FROM instruments").fetchall() == [
        ("AAA", "America/New_York", "XNYS")
    ]


def test_detects_common_column_names_and_mapping(con, tmp_path):
    text = "Ticker;Time;PX;Qty;Aggressor\nZZ;2025-01-02 14:30:00;10.5;100;B\nZZ;2025-01-02 14:30:00;10.6;50;s\n"
    report = load_file(con, write(tmp_path, "t.csv", text))
    assert report.table == "trades"
    assert report.columns == {"symbol": "Ticker", "ts": "Time", "price": "PX", "size": "Qty", "side": "Aggressor"}
    rows = con.execute("SELECT seq, price, size, side FROM trades ORDER BY seq").fetchall()
    assert rows == [(0, 10.5, 100.0, "buy"), (1, 10.6, 50.0, "sell")]  # same microsecond: both kept
    mapped = write(tmp_path, "m.csv", "when,bidpx,askpx,weird\n2025-01-02 14:30:00,9.9,10.1,1\n")
    report = load_file(con, mapped, table="quotes", symbol="QQ", mapping={"when": "ts"})
    assert report.rows_loaded == 1 and report.columns["symbol"] == "--symbol"
    assert con.execute("SELECT symbol, bid, ask, bid_size FROM quotes").fetchall() == [("QQ", 9.9, 10.1, None)]


def test_time_zones_naive_local_and_explicit_offsets(con, tmp_path):
    text = BAR_HEADER + (
        "NY,2025-01-02 09:30:00,10,11,9,10,1\n"  # naive -> New York (EST, UTC-5)
        "NY,2025-07-02 09:30:00,10,11,9,10,1\n"  # naive -> New York (EDT, UTC-4)
        "NY,2025-01-03 09:30:00+01:00,10,11,9,10,1\n"  # offset wins
        "NY,2025-01-03T12:00:00Z,10,11,9,10,1\n"
    )
    load_file(con, write(tmp_path, "tz.csv", text), tz="America/New_York")
    got = [r[0].isoformat() for r in con.execute("SELECT ts FROM bars ORDER BY ts").fetchall()]
    assert got == ["2025-01-02T14:30:00", "2025-01-03T08:30:00", "2025-01-03T12:00:00", "2025-07-02T13:30:00"]
    assert con.execute("SELECT time_zone FROM instruments").fetchone()[0] == "America/New_York"
    with pytest.raises(LoadError, match="unknown time zone"):
        load_file(con, write(tmp_path, "tz2.csv", BAR_HEADER + bar_lines("B", 1)), tz="Mars/Olympus")


def test_parquet_and_gzip_and_dry_run(con, tmp_path):
    frame = pd.DataFrame(
        {
            "symbol": "PQ",
            "ts": pd.date_range("2025-01-02 14:30", periods=5, freq="min"),
            "open": 10.0,
            "high": [11.0, 11, 8, 11, 11],  # row 3 has high < low
            "low": 9.0,
            "close": 10.0,
            "volume": 5.0,
        }
    )
    path = tmp_path / "b.parquet"
    frame.to_parquet(path)
    with pytest.raises(LoadError) as err:
        load_file(con, path)
    assert [(r.line, r.column) for r in err.value.report.rejects][:1] == [(3, "high")]
    dry = load_file(con, path, skip_bad_rows=True, dry_run=True)
    assert (dry.rows_loaded, dry.rows_rejected, dry.committed) == (0, 1, False) and count(con, "bars") == 0
    assert load_file(con, path, skip_bad_rows=True).rows_loaded == 4
    gz = tmp_path / "b.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(BAR_HEADER + bar_lines("GZ", 7))
    assert load_file(con, gz).rows_loaded == 7


def test_out_of_order_is_a_warning_not_a_reject(con, tmp_path):
    lines = bar_lines("OO", 5).splitlines(keepends=True)
    text = BAR_HEADER + lines[0] + lines[2] + lines[1] + "".join(lines[3:])
    report = load_file(con, write(tmp_path, "o.csv", text))
    assert report.rows_loaded == 5 and report.rows_rejected == 0
    assert len(report.warnings) == 1 and "line 4" in report.warnings[0]


def test_hostile_text_stays_data(con, tmp_path):
    evil = "x'); DROP TABLE bars; --"
    path = write(
        tmp_path, "e'vil\"; DROP TABLE bars.csv", BAR_HEADER + bar_lines('"' + evil.replace('"', '""') + '"', 3)
    )
    report = load_file(con, path)
    assert report.symbols == (evil,)
    assert con.execute("SELECT DISTINCT symbol FROM bars").fetchall() == [(evil,)]
    assert con.execute("SELECT symbol FROM instruments").fetchall() == [(evil,)]
    # hostile --symbol and column names
    text = 'ts,open,high,low,close,"volume\'); DROP TABLE bars; --"\n2025-01-02 14:30:00,1,1,1,1,1\n'
    report = load_file(
        con,
        write(tmp_path, "c.csv", text),
        table="bars",
        symbol="y'; DELETE FROM bars; --",
        mapping={"volume'); DROP TABLE bars; --": "volume"},
    )
    assert report.rows_loaded == 1 and count(con, "bars") == 4


# ---------------------------------------------------------------------------------------------
# the malformed-file corpus: (name, content, expected message part, table, rows the skip mode loads)
GOOD = bar_lines("BAD", 3)
CORPUS = [
    ("empty.csv", "", "is empty", None, None),
    ("header_only.csv", BAR_HEADER, "holds no data rows", "bars", None),
    (
        "missing_column.csv",
        "symbol,ts,open,high,low,close\nA,2025-01-02 14:30:00,1,1,1,1\n",
        "no column for volume",
        "bars",
        None,
    ),
    ("unknown_columns.csv", "foo,bar\n1,2\n", "cannot tell which table", None, None),
    (
        "unparsable_price.csv",
        BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,ten,11,9,10,1\n",
        "cannot read 'ten' as a number",
        "bars",
        3,
    ),
    (
        "unparsable_time.csv",
        BAR_HEADER + GOOD + "BAD,yesterday,10,11,9,10,1\n",
        "cannot read 'yesterday' as a date",
        "bars",
        3,
    ),
    ("negative_price.csv", BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,-1,11,-2,10,1\n", "must be > 0", "bars", 3),
    (
        "zero_price.csv",
        "symbol,ts,price,size\nZ,2025-01-02 14:30:00,0,5\nZ,2025-01-02 14:31:00,1,5\n",
        "price must be > 0",
        "trades",
        1,
    ),
    (
        "high_below_low.csv",
        BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,10,9,11,10,1\n",
        "high 9.0 is below low 11.0",
        "bars",
        3,
    ),
    (
        "open_outside.csv",
        BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,12,11,9,10,1\n",
        "open 12.0 is outside [low 9.0, high 11.0]",
        "bars",
        3,
    ),
    (
        "close_outside.csv",
        BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,10,11,9,8,1\n",
        "close 8.0 is outside",
        "bars",
        3,
    ),
    (
        "negative_volume.csv",
        BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,10,11,9,10,-4\n",
        "volume must be >= 0",
        "bars",
        3,
    ),
    (
        "crossed_quote.csv",
        "symbol,ts,bid,ask\nQ,2025-01-02 14:30:00,10.02,10.01\nQ,2025-01-02 14:31:00,10,10.01\n",
        "crossed quote",
        "quotes",
        1,
    ),
    (
        "duplicate_key.csv",
        BAR_HEADER + GOOD + GOOD.splitlines(keepends=True)[1],
        "line 5, column ts: repeats the key (symbol, ts) of line 3; the first is kept",
        "bars",
        3,
    ),
    (
        "too_many_fields.csv",
        BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,10,11,9,10,1,99\n",
        "too many columns",
        "bars",
        3,
    ),
    ("too_few_fields.csv", BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,10,11\n", "missing columns", "bars", 3),
    ("missing_value.csv", BAR_HEADER + GOOD + "BAD,,10,11,9,10,1\n", "missing value", "bars", 3),
    (
        "bad_side.csv",
        "symbol,ts,price,size,side\nS,2025-01-02 14:30:00,1,5,up\nS,2025-01-02 14:31:00,1,5,sell\n",
        "side must be buy or sell, got 'up'",
        "trades",
        1,
    ),
    (
        "non_finite.csv",
        BAR_HEADER + GOOD + "BAD,2025-01-03 14:30:00,10,inf,9,10,1\n",
        "high must be a finite number",
        "bars",
        3,
    ),
    (
        "order_ends_first.csv",
        (
            "order_id,symbol,side,shares,start,end\n"
            "O1,A,buy,100,2025-01-02 15:00:00,2025-01-02 14:00:00\n"
            "O2,A,sell,5,2025-01-02 14:00:00,2025-01-02 15:00:00\n"
        ),
        "ends before it starts",
        "orders",
        1,
    ),
    ("bad_time_zone.csv", "symbol,time_zone\nA,Mars/Base\nB,UTC\n", "unknown time zone 'Mars/Base'", "instruments", 1),
    ("binary.csv", "PAR1\x00\x01garbage", "not a text (CSV) file", None, None),
    ("unterminated_quote.csv", BAR_HEADER + GOOD + '"BAD,2025-01-03 14:30:00,10,11,9,10,1\n', "", "bars", None),
]


@pytest.mark.parametrize("name, content, message, table, skip_loads", CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_corpus(con, tmp_path, name, content, message, table, skip_loads):
    path = write(tmp_path, name, content)
    with pytest.raises(LoadError) as err:
        load_file(con, path, table=table)
    assert message in str(err.value) or any(
        message in r.reason for r in (err.value.report or loading.LoadReport("", "", "")).rejects
    )
    assert len(str(err.value).splitlines()) == 1
    target = table or "bars"
    assert count(con, target) == 0 and count(con, "instruments") == 0
    if skip_loads is not None:
        report = load_file(con, path, table=table, skip_bad_rows=True)
        assert report.rows_loaded == skip_loads and report.rows_rejected >= 1
        bad_lines = {r.line for r in report.rejects}
        lines = content.splitlines()
        for line in bad_lines:
            assert line >= 2 and line <= len(lines)
        assert count(con, target) == skip_loads


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 15


def test_reject_line_numbers_survive_structural_errors(con, tmp_path):
    text = BAR_HEADER + bar_lines("L", 2) + "L,x,1\n" + bar_lines("L", 1, 5) + "L,2025-01-02 15:00:00,1,1,1,1,-1\n"
    report = load_file(con, write(tmp_path, "l.csv", text), skip_bad_rows=True)
    assert sorted({r.line for r in report.rejects}) == [4, 6]  # DuckDB names each missing field of line 4
    assert [(r.line, r.column) for r in report.rejects if r.line == 6] == [(6, "volume")]
    assert report.rows_loaded == 3 and report.rows_read == 5


def test_user_errors_are_value_errors(con, tmp_path):
    for call in (
        lambda: load_file(con, tmp_path / "nope.csv"),
        lambda: load_file(con, write(tmp_path, "a.csv", BAR_HEADER), table="nonsense"),
        lambda: load_file(con, write(tmp_path, "b.csv", BAR_HEADER), format="xls"),
        lambda: load_file(con, write(tmp_path, "c.csv", BAR_HEADER + GOOD), mapping={"zz": "open"}),
        lambda: load_file(con, write(tmp_path, "d.csv", BAR_HEADER + GOOD), mapping={"open": "colour"}),
    ):
        with pytest.raises(ValueError):
            call()


def test_sql_checks_match_a_python_reference(con, tmp_path):
    """Random bars: the rows the store refuses are exactly those a plain-Python check refuses."""
    rng = np.random.default_rng(3)
    n = 400
    o, h, lo, c = (rng.uniform(-1, 12, n).round(2) for _ in range(4))
    v = rng.integers(-3, 50, n)
    bad_ref = (
        (np.minimum.reduce([o, h, lo, c]) <= 0)
        | (h < lo)
        | (v < 0)
        | ((lo <= h) & ((o < lo) | (o > h) | (c < lo) | (c > h)))
    )
    text = BAR_HEADER + "".join(
        f"R,2025-01-02T00:00:00Z,{o[i]},{h[i]},{lo[i]},{c[i]},{v[i]}\n".replace(
            "00:00:00Z", f"{i // 60:02d}:{i % 60:02d}:00Z"
        )
        for i in range(n)
    )
    report = load_file(con, write(tmp_path, "r.csv", text), skip_bad_rows=True)
    assert {r.line - 2 for r in report.rejects} == set(np.flatnonzero(bad_ref))
    assert report.rows_loaded == n - bad_ref.sum()


def test_store_is_duckdb_sql(con, tmp_path):
    load_file(con, write(tmp_path, "s.csv", BAR_HEADER + bar_lines("S", 3)))
    assert isinstance(con, duckdb.DuckDBPyConnection)
    assert con.execute("SELECT sum(volume) FROM bars").fetchone()[0] == 100 + 101 + 102


def test_overlapping_files_add_only_new_rows(con, tmp_path):
    load_file(con, write(tmp_path, "a.csv", BAR_HEADER + bar_lines("OV", 10)))
    report = load_file(con, write(tmp_path, "b.csv", BAR_HEADER + bar_lines("OV", 10, start_minute=5)))
    assert (report.rows_loaded, report.rows_already_present) == (5, 5)
    other = load_file(con, write(tmp_path, "c.csv", BAR_HEADER + bar_lines("OTHER", 10)))
    assert other.rows_loaded == 10 and count(con, "bars") == 25


def test_out_of_order_within_interleaved_symbols(con, tmp_path):
    a, b = bar_lines("IA", 3).splitlines(keepends=True), bar_lines("IB", 3).splitlines(keepends=True)
    # IA rows in order, IB's second and third swapped; the symbols alternate line by line
    text = BAR_HEADER + a[0] + b[0] + a[1] + b[2] + a[2] + b[1]
    report = load_file(con, write(tmp_path, "i.csv", text))
    assert report.rows_loaded == 6
    assert report.warnings == (
        "1 rows have a timestamp earlier than the row before them (first at line 7); loaded anyway",
    )


EVERY_TABLE = {
    "instruments": "symbol,currency,tz,tick_size,lot_size,shares_outstanding\nI1,EUR,Europe/Paris,0.005,10,1e9\n",
    "bars": BAR_HEADER + bar_lines("B1", 1),
    "trades": "symbol,timestamp,px,qty,side\nT1,2025-01-02 14:30:00.123456,10.5,100,sell\n",
    "quotes": "symbol,ts,bid,bid_size,ask,ask_size\nQ1,2025-01-02 14:30:00,9.99,300,10.01,200\n",
    "fills": "order_id,symbol,ts,side,qty,price\nF-1,F1,2025-01-02 14:30:00,buy,100,10.02\n",
    "orders": "order_id,symbol,side,shares,start,end,strategy,arrival_price,expected_cost_usd\n"
    "O-1,O1,sell,5000,2025-01-02 14:30:00,2025-01-02 21:00:00,twap,10.0,123.4\n",
    "calibration_runs": "symbol,run_time,window_start,window_end,accepted_at,acceptance\n"
    "C1,2025-02-01 00:00:00,2025-01-02,2025-01-31,2025-02-01 00:05:00,accepted by hand\n",
    "calibration_parameters": "symbol,run_time,name,value,stderr,unit,method,fallback\n"
    "C1,2025-02-01 00:00:00,eta,1.5e-7,2e-8,$/share per share/day,regression,false\n",
    "calibration_profiles": "symbol,run_time,bucket,start_minute,minutes,share\nC1,2025-02-01 00:00:00,0,0,30,0.1\n",
}


@pytest.mark.parametrize("table", list(EVERY_TABLE))
def test_every_table_loads_from_csv_and_parquet(con, tmp_path, table):
    csv_path = write(tmp_path, f"{table}.csv", EVERY_TABLE[table])
    assert load_file(con, csv_path, table=table).rows_loaded == 1
    expected = con.execute(f"SELECT * FROM {table}").fetchall()
    parquet_path = tmp_path / f"{table}.parquet"
    pd.read_csv(csv_path, dtype=str).to_parquet(parquet_path)
    con.execute(f"DELETE FROM {table}")
    report = load_file(con, parquet_path)  # the table is detected from the columns
    assert report.table == table and report.rows_loaded == 1
    assert con.execute(f"SELECT * FROM {table}").fetchall() == expected


@settings(deadline=None, max_examples=50)
@given(
    skipped=st.sets(st.integers(2, 60), max_size=15),
    data=st.data(),
)
def test_staged_rows_get_the_lines_the_reader_did_not_skip(skipped, data):
    """Staged row k is the k-th line of the file that DuckDB did not skip."""
    import duckdb

    from optexec.store.staging import _move_past_dropped_lines

    kept = [line for line in range(2, 100) if line not in skipped]
    picks = sorted(set(data.draw(st.lists(st.integers(0, len(kept) - 1), min_size=1, max_size=10))))
    cur = duckdb.connect()
    cur.execute(
        "CREATE TEMP TABLE _stage AS SELECT _row, _row + 1 AS _line FROM (SELECT unnest($rows) AS _row)",
        {"rows": [1 + k for k in picks]},
    )  # staged as load_source stages a file with a header: line = row + 1
    cur.execute(
        "CREATE TEMP TABLE dropped AS SELECT unnest(CAST($lines AS BIGINT[])) AS line", {"lines": sorted(skipped)}
    )
    _move_past_dropped_lines(cur, "SELECT line FROM dropped", 2)
    lines = [r[0] for r in cur.execute("SELECT _line FROM _stage ORDER BY _row").fetchall()]
    assert lines == [kept[k] for k in picks]


def test_an_instruments_file_market_is_checked_and_gaps_named(con, tmp_path):
    text = (
        "symbol,time_zone,calendar,session_open,session_close\n"
        "OK,America/New_York,XNYS,09:30,16:00\n"
        "BADCAL,America/New_York,NOPE,09:30,16:00\n"
        "BADTIME,America/New_York,,9.30,16:00\n"
        "BACKWARDS,America/New_York,,16:00,09:30\n"
        "BARE,,,,\n"
    )
    report = _load_file(con, write(tmp_path, "i.csv", text), table="instruments", skip_bad_rows=True)
    reasons = {r.line: r.reason for r in report.rejects}
    assert reasons == {
        3: "unknown trading calendar 'NOPE' (use an exchange code such as XNYS)",
        4: "session_open must be HH:MM (e.g. 09:30), got '9.30'",
        5: "the session closes before it opens",
    }
    assert report.rows_loaded == 2
    assert any(
        w.startswith("1 instruments have no time zone or regular session in the file (BARE)") for w in report.warnings
    )
    assert (
        con.execute("SELECT market_source FROM instruments WHERE symbol = 'OK'").fetchone()[0] == "the instruments file"
    )
