"""The Parquet market-data lake (optexec.store.lake, issue 18): export, types, partition pruning, and calibration from
the lake giving the numbers of the DuckDB file."""

from __future__ import annotations

import json
import math
import shutil

import duckdb
import pytest

from optexec.calibration import data as cal_data
from optexec.calibration import run
from optexec.cli import main
from optexec.store import db, lake
from optexec.store.migrations import create_schema
from optexec.store.schema import TABLES

SYMBOLS = ("SYN-MID", "SYN-SMALL")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The session's sample store (OPTEXEC_DB) exported to a lake: (lake folder, export report)."""
    folder = tmp_path_factory.mktemp("lake") / "lake"
    with db.reading() as con:
        report = lake.export_lake(con, folder)
    return folder, report


def _types(con, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()]


def test_views_have_the_store_columns_types_and_rows(exported):
    folder, report = exported
    source = lake.open_lake(folder)
    try:
        with db.reading() as con:
            for table in ("instruments", "bars", "trades", "quotes"):
                assert _types(source, table) == _types(con, table), table
                count = f"SELECT symbol, count(*) FROM {table} GROUP BY symbol ORDER BY symbol"
                assert source.execute(count).fetchall() == con.execute(count).fetchall(), table
                assert report.rows[table] == con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            # the same rows, value for value (timestamps included), for one symbol's bars
            mine = con.execute("SELECT * FROM bars WHERE symbol = 'SYN-MID' ORDER BY ts").fetchall()
        assert source.execute("SELECT * FROM bars WHERE symbol = 'SYN-MID' ORDER BY ts").fetchall() == mine
        assert _types(source, "fills") == _types(source, "fills")  # not exported: an empty table with its columns
        assert source.execute("SELECT count(*) FROM fills").fetchone()[0] == 0
    finally:
        source.close()


def test_partitions_are_typed_and_named_by_symbol_and_utc_date(exported):
    folder, _ = exported
    assert (folder / "bars" / "symbol=SYN-MID").is_dir()
    days = sorted(p.name for p in (folder / "bars" / "symbol=SYN-MID").iterdir())
    assert days[0].startswith("date=2025-01-02")
    con = duckdb.connect()
    glob = f"{folder}/bars/**/*.parquet"
    kinds = con.execute(
        "SELECT DISTINCT typeof(date), typeof(symbol), typeof(ts) FROM read_parquet(?, hive_partitioning = true, "
        "hive_types = {'date': DATE, 'symbol': VARCHAR})",
        [glob],
    ).fetchall()
    assert kinds == [("DATE", "VARCHAR", "TIMESTAMP")]
    # the partition day is the UTC day of ts
    bad = con.execute(
        "SELECT count(*) FROM read_parquet(?, hive_partitioning = true, hive_types = {'date': DATE}) "
        "WHERE date <> CAST(ts AS DATE)",
        [glob],
    ).fetchone()[0]
    assert bad == 0


def test_a_symbol_filter_reaches_the_partition_folders(exported):
    folder, _ = exported
    source = lake.open_lake(folder)
    try:
        session, _ = cal_data.instrument_market(source, "SYN-MID")
        params = cal_data._params("SYN-MID", session.time_zone, None, None)
        plan = lake.explain(source, cal_data._LOCAL_BARS, params)
    finally:
        source.close()
    assert "File Filters: symbol = 'SYN-MID'" in plan
    files = int(plan.split("Scanning Files: ")[1].split("/")[0])
    total = int(plan.split("Scanning Files: ")[1].split("/")[1].split()[0])
    assert files == len(list((folder / "bars" / "symbol=SYN-MID").rglob("*.parquet")))
    assert files < total


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_calibration_from_the_lake_equals_the_store(exported, symbol):
    folder, _ = exported
    with db.reading() as con:
        from_file = run.calibrate(con, symbol)
    source = lake.open_lake(folder)
    try:
        from_lake = run.calibrate(source, symbol)
    finally:
        source.close()
    assert from_lake.estimates.keys() == from_file.estimates.keys()
    for name, e in from_file.estimates.items():
        assert _same(from_lake.estimates[name].value, e.value), name
        assert _same(from_lake.estimates[name].stderr, e.stderr), name
    assert (from_lake.volume_profile.share == from_file.volume_profile.share).all()
    assert from_lake.coverage.summary() == from_file.coverage.summary()


def test_export_and_calibrate_from_the_lake_on_the_command_line(tmp_path, capsys):
    store = tmp_path / "store.duckdb"
    shutil.copy(db.resolve_path(), store)
    folder = tmp_path / "lake"
    assert main(["export", "--db", str(store), "--lake", str(folder), "--symbols", "SYN-MID", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["symbols"] == ["SYN-MID"] and out["tables"]["bars"]["rows"] > 0
    assert out["parquet_bytes"] == sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    assert main(["calibrate", "--db", str(store), "--lake", str(folder), "--symbol", "SYN-MID", "--json"]) == 0
    saved = json.loads(capsys.readouterr().out)
    with db.reading(store) as con:
        stored = run.latest_calibration(con, "SYN-MID")
        direct = run.calibrate(con, "SYN-MID")
    assert stored is not None and saved["accepted"]
    assert math.isclose(stored.values["sigma_daily"], direct.estimates["sigma_daily"].value, rel_tol=1e-12)
    # a symbol the lake does not hold is a plain error, exit 2
    assert main(["calibrate", "--db", str(store), "--lake", str(folder), "--symbol", "SYN-LARGE"]) == 2
    assert "unknown symbol 'SYN-LARGE': the lake" in capsys.readouterr().err
    assert main(["calibrate", "--db", str(store), "--lake", str(tmp_path / "nothing"), "--symbol", "SYN-MID"]) == 2
    assert "is not a market-data lake" in capsys.readouterr().err


def _tiny_store():
    con = duckdb.connect(":memory:")
    create_schema(con)
    con.execute("INSERT INTO instruments (symbol, time_zone) VALUES ('A/B', 'America/New_York'), ('X=Y', 'UTC')")
    con.execute(
        "INSERT INTO bars VALUES ('A/B', '2025-01-02 14:30', 1, 2, 0.5, 1.5, 100), "
        "('X=Y', '2025-01-02 23:59', 3, 3, 3, 3, 10), ('X=Y', '2025-01-03 00:00', 4, 4, 4, 4, 20)"
    )
    return con


def test_odd_symbols_round_trip_and_a_re_export_replaces_only_its_symbol(tmp_path):
    con = _tiny_store()
    folder = tmp_path / "lake"
    lake.export_lake(con, folder)
    assert lake.lake_symbols(folder) == ["A/B", "X=Y"]
    assert (folder / "bars" / lake.partition_folder("X=Y")).is_dir()
    assert len(list((folder / "bars" / lake.partition_folder("X=Y")).iterdir())) == 2  # two UTC days
    con.execute("DELETE FROM bars WHERE symbol = 'X=Y' AND ts > '2025-01-02 23:59'")
    lake.export_lake(con, folder, symbols=["X=Y"])
    source = lake.open_lake(folder)
    try:
        rows = source.execute("SELECT symbol, ts, close FROM bars ORDER BY symbol, ts").fetchall()
        assert [r[0] for r in rows] == ["A/B", "X=Y"]  # the deleted day is gone, A/B kept
        assert source.execute("SELECT count(*) FROM trades").fetchone()[0] == 0  # empty in the store: empty here
        assert _types(source, "trades") == [(c.name, c.sql_type) for c in TABLES["trades"].columns]
    finally:
        source.close()
    only = lake.open_lake(folder, ["A/B", "NOPE"])  # a task's view: its own folders only
    try:
        assert only.execute("SELECT DISTINCT symbol FROM bars").fetchall() == [("A/B",)]
        assert only.execute("SELECT symbol FROM instruments").fetchall() == [("A/B",)]
    finally:
        only.close()
    with pytest.raises(ValueError, match="holds no symbol NOPE"):
        lake.export_lake(con, folder, symbols=["NOPE"])
    with pytest.raises(ValueError, match="not orders"):
        lake.export_lake(con, folder, tables=["orders"])


def test_the_data_page_browses_a_lake(tmp_path, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    store = tmp_path / "store.duckdb"
    shutil.copy(db.resolve_path(), store)
    folder = tmp_path / "lake"
    with db.reading(store) as con:
        lake.export_lake(con, folder, symbols=["SYN-SMALL"])
    db.close_all()
    monkeypatch.setenv(db.ENV_VAR, str(store))
    page = str(Path(__file__).resolve().parents[1] / "pages" / "data.py")
    try:
        at = AppTest.from_file(page, default_timeout=60).run()
        assert not at.exception and len(at.dataframe[0].value) == 4  # the store's four symbols
        at.text_input(key="data_lake").set_value(str(folder)).run()
        assert not at.exception and not at.error
        assert at.dataframe[0].value["symbol"].tolist() == ["SYN-SMALL"]
        assert at.selectbox(key="data_symbol").options == ["SYN-SMALL"]
        assert at.get("plotly_chart")  # its bars, read from the lake
        at.text_input(key="data_lake").set_value(str(tmp_path / "nothing")).run()
        assert not at.exception and at.error and "Showing the store instead" in at.error[0].value
        assert len(at.dataframe[0].value) == 4
    finally:
        db.close_all()


def test_a_lake_with_other_columns_is_refused_in_plain_words(tmp_path):
    folder = tmp_path / "lake"
    (folder / "bars" / "symbol=X" / "date=2025-01-02").mkdir(parents=True)
    (folder / lake.MANIFEST).write_text("{}")
    duckdb.connect().execute(
        f"COPY (SELECT TIMESTAMP '2025-01-02 15:00' AS ts, 1.0 AS price) TO "
        f"'{folder}/bars/symbol=X/date=2025-01-02/data_0.parquet' (FORMAT parquet)"
    )
    with pytest.raises(ValueError, match="the lake's bars files do not have the store's columns"):
        lake.open_lake(folder)
