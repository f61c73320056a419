"""Stores with the older one-table calibration layout are migrated on open (optexec.store.migrations)."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import numpy as np
import pytest

from optexec.calibration import run
from optexec.store import db

OLD_DDL = """CREATE TABLE calibrations (
  symbol VARCHAR NOT NULL, run_ts TIMESTAMP NOT NULL, window_start TIMESTAMP, window_end TIMESTAMP,
  parameter VARCHAR NOT NULL, value DOUBLE, std_error DOUBLE, method VARCHAR,
  PRIMARY KEY (symbol, run_ts, parameter))"""
FIRST = dt.datetime(2026, 11, 1, 12, 0, 0)
SECOND = dt.datetime(2026, 11, 2, 12, 0, 0)
PROFILE = np.linspace(2.0, 1.0, 390) / np.linspace(2.0, 1.0, 390).sum()


def _old_store(path, profile_rows=None) -> None:
    """An old-layout store: an accepted run (parameters, profile, data rows) and a later run never accepted."""
    con = duckdb.connect(str(path))
    con.execute(OLD_DDL)
    start, end = dt.datetime(2025, 1, 2), dt.datetime(2025, 3, 28)
    params = [
        ("price_usd", 50.0, None, "last close in the window"),
        ("sigma_usd_per_sqrt_day", 1.0, 0.05, "yang-zhang x last close"),
        ("spread", 0.02, 1e-4, "quotes: time-weighted quoted spread"),
        ("adv_shares", 1e6, 2e4, "mean daily volume"),
        ("eta", 2e-7, 1e-8, "weighted propagator fit of signed flow: linear temporary impact"),
        ("gamma", 3e-7, None, "ATHL 2005 published permanent impact 0.314 sigma (Theta/V)^1/4 X/V"),
        ("data_session_minutes", 390.0, None, "XNYS 09:30-16:00 America/New_York"),
        ("data_bars_used", 24180.0, None, "62 days, 24,180 bars used"),
        ("data_days_used", 62.0, None, "full trading days in the profile and ADV"),
        ("data_median_coverage", 1.0, None, "median share of session minutes with a bar"),
        ("data_ignored_bars_extended_hours", 12.0, None, "bars left out"),
        ("accepted", 1.0, None, "accepted as the symbol's parameters"),
    ]
    rows = [("OLD", FIRST, start, end, *p) for p in params]
    rows += profile_rows or [("OLD", FIRST, start, end, f"volume_profile_{k:03d}", x, None, "median volume share")
                             for k, x in enumerate(PROFILE)]  # fmt: skip
    rows += [
        ("OLD", SECOND, start, end, "price_usd", 51.0, None, "last close in the window"),
        ("OLD", SECOND, start, end, "not_acceptable", 1.0, None, "only 5 trading days | the bars look misaligned"),
    ]
    con.executemany("INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}


def test_an_old_layout_store_is_migrated_in_place_on_open(tmp_path, caplog):
    path = tmp_path / "old.duckdb"
    _old_store(path)
    with caplog.at_level(logging.WARNING, logger="optexec.store.migrations"):
        con = db.open_database(path)
    try:
        assert "calibrations" not in _tables(con)
        assert {"calibration_runs", "calibration_parameters", "calibration_profiles"} <= _tables(con)
        (message,) = [r.getMessage() for r in caplog.records]
        assert "migrated the calibrations table" in message and "2 runs of 1 symbols, 7 parameters, 390 profile" in (
            message
        )
        stored = run.latest_calibration(con, "OLD")
        assert stored.run_ts == FIRST and stored.accepted
        assert stored.acceptance == "accepted as the symbol's parameters"
        assert stored.values["eta"] == 2e-7 and stored.stderrs["gamma"] is None
        assert stored.parameters["gamma"].fallback and not stored.parameters["eta"].fallback
        assert stored.units["eta"] == "$/share per share/day"
        assert stored.data["session_minutes"] == 390 and stored.data["bars_ignored"] == {"extended_hours": 12.0}
        assert stored.data_summary == "62 days, 24,180 bars used"
        np.testing.assert_allclose(stored.volume_profile, PROFILE)
        market = stored.market_params()
        assert market.eta_usd_day_per_share2 == 2e-7 and market.session_minutes == 390
        assert "calibration of OLD run 2026-11-01 12:00:00 UTC" in market.sources[0].source
        later = run.load_run(con, "OLD", SECOND)
        assert not later.accepted and later.not_acceptable == ("only 5 trading days", "the bars look misaligned")
        assert list(run.runs(con, "OLD")["accepted"]) == [False, True]
    finally:
        con.close()
    con = db.open_database(path)  # opening again migrates nothing
    con.close()


def test_a_read_only_open_migrates_first_then_reads(tmp_path, caplog):
    path = tmp_path / "old.duckdb"
    _old_store(path)
    with caplog.at_level(logging.WARNING, logger="optexec.store.migrations"):
        con = db.open_database(path, read_only=True)
    try:
        assert "migrated the calibrations table" in caplog.records[0].getMessage()
        assert run.latest_calibration(con, "OLD").values["adv_shares"] == 1e6
        assert "calibrations" not in _tables(con)
        with pytest.raises(duckdb.Error):  # and it is read-only as asked
            con.execute("DELETE FROM calibration_runs")
    finally:
        con.close()


def test_a_migration_that_fails_changes_nothing(tmp_path):
    path = tmp_path / "bad.duckdb"
    start, end = dt.datetime(2025, 1, 2), dt.datetime(2025, 3, 28)
    _old_store(path, profile_rows=[("OLD", FIRST, start, end, "volume_profile_x1", 1.0, None, "median volume share")])
    with pytest.raises(ValueError, match="cannot migrate the calibrations table.*unchanged"):
        db.open_database(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM calibrations").fetchone()[0] == 15
        assert "calibration_runs" not in _tables(con)
    finally:
        con.close()
