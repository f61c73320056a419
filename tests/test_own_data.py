"""A user's own minute bars end to end (issue 12): file -> load (no options) -> calibrate -> the plan's parameters.

The planted bars of ``tests/own_data.py`` (ADV 2,533,000, sigma 2%/day, a U-shaped profile on XNYS days across a DST
change, a holiday and two half days) are written in every timestamp style vendors use; each load must find the
market (XNYS, America/New_York, 09:30–16:00) and say so, each calibration must recover ADV, sigma and the profile,
and the parameters a plan uses must be the calibrated ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from optexec.calibration import run
from optexec.market_source import symbol_params
from optexec.store import db, loading
from optexec.store.sessions import instrument_session
from tests import own_data

STYLES = list(own_data.STYLES)


@pytest.fixture(scope="module")
def bars():
    return own_data.planted_bars()


@pytest.fixture(scope="module")
def bars_extended():
    return own_data.planted_bars(extended_hours=True)


def _load_and_calibrate(tmp_path, frame, style):
    con = db.open_database(tmp_path / "own.duckdb")
    try:
        path = own_data.write_csv(frame, tmp_path / f"{style}.csv", style, "PLNT")
        report = loading.load_file(con, path, table="bars")
        result = run.calibrate(con, "PLNT")
        saved = run.save(con, result, accept=True)
        return report, saved, instrument_session(con, "PLNT"), symbol_params(con, "PLNT")
    finally:
        con.close()


def _check_recovery(result, daily_sigma=own_data.SIGMA_DAILY):
    """ADV, sigma and the profile recovered. ``daily_sigma``: the planted close-to-close volatility (more than
    SIGMA_DAILY when extended-hours bars move the price between the sessions)."""
    adv = result.estimates["adv_shares"].value
    realised = result.volatility["realised_15min"]  # the regular session's minute returns: ~2% noise
    assert adv == pytest.approx(own_data.ADV, rel=0.05)
    assert realised.value == pytest.approx(own_data.SIGMA_DAILY, rel=0.05)
    # Yang–Zhang on the daily bars is what plans use; over 73 days its sampling error is about 8%
    assert result.volatility["yang_zhang"].value == pytest.approx(daily_sigma, rel=0.15)
    profile = np.asarray(result.volume_profile.share)
    assert len(profile) == 390
    assert np.corrcoef(profile, own_data.planted_profile())[0, 1] > 0.95


@pytest.mark.parametrize("style", STYLES)
def test_every_timestamp_style_finds_the_market_and_recovers_the_planted_model(tmp_path, bars, style):
    report, result, market, params = _load_and_calibrate(tmp_path, bars, style)
    assert report.rows_loaded == len(bars)
    assert (market.time_zone, market.open_local, market.close_local) == ("America/New_York", "09:30", "16:00")
    assert market.calendar == "XNYS"
    said = " ".join(report.notes())
    assert "XNYS" in said and "America/New_York" in said
    _check_recovery(result)
    coverage = result.coverage
    assert coverage.days_ignored.get("half_day") == 2  # 2024-11-29 and 2024-12-24, from the calendar
    # the plan prices with what calibration fitted
    assert params.market.adv_shares == pytest.approx(result.estimates["adv_shares"].value)
    assert params.market.price_usd == pytest.approx(result.price_usd)
    sigma_usd = result.volatility["yang_zhang"].value * result.price_usd
    assert params.market.sigma_usd_per_sqrt_day == pytest.approx(sigma_usd)


def test_extended_hours_are_kept_counted_and_left_out_of_the_calibration(tmp_path, bars_extended):
    report, result, market, _ = _load_and_calibrate(tmp_path, bars_extended, "utc_offset")
    assert market.calendar == "XNYS"
    regular = own_data.planted_bars()
    assert report.rows_outside_session == len(bars_extended) - len(regular)
    assert any("outside the regular session" in s for s in report.notes())
    assert result.coverage.bars_ignored["extended_hours"] >= len(bars_extended) - len(regular)
    # the planted price also moves in the extended-hours bars: the close-to-close variance has their steps too
    steps_per_day = len(bars_extended) / len(regular) * 390
    _check_recovery(result, own_data.SIGMA_DAILY * np.sqrt(steps_per_day / 390))


def test_bars_in_new_york_time_that_ignore_daylight_saving_are_not_accepted_silently(tmp_path, bars):
    """Local times written in EST all year: in EDT the file's 15:00 is really 16:00, so the bars of every EDT day
    end an hour early and the session's last hour looks empty on those days (16 Sep to 1 Nov: 35 of 75 days, 47%)."""
    shifted = bars.copy()
    shifted["ts_utc"] = shifted["ts_utc"].dt.tz_convert("EST").dt.tz_localize(None)  # EST wall clock all year
    shifted["ts_utc"] = shifted["ts_utc"].dt.tz_localize("UTC")  # written as text below in naive form
    con = db.open_database(tmp_path / "dst.duckdb")
    try:
        path = tmp_path / "no_dst.csv"
        out = shifted.drop(columns="ts_utc")
        out.insert(0, "timestamp", shifted["ts_utc"].dt.strftime("%Y-%m-%d %H:%M:%S"))
        out.insert(0, "symbol", "PLNT")
        out.to_csv(path, index=False)
        loading.load_file(con, path, table="bars", tz="America/New_York", calendar="XNYS")
        result = run.calibrate(con, "PLNT")
        assert result.not_acceptable, "seven weeks of sessions missing their last hour must not be accepted silently"
        with pytest.raises(ValueError, match=r"last hour of the XNYS session has no bars on 47% of days"):
            run.save(con, result, accept=True)
        run.save(con, result, accept=True, insist=True)  # the user insists: every plan then says so
        source = symbol_params(con, "PLNT").source
        assert "accepted despite: the last hour of the XNYS session has no bars on 47% of days" in source
    finally:
        con.close()


def test_plan_says_which_calibration_it_priced_with(tmp_path, bars, capsys):
    """`plan` of a calibrated symbol names the run (and what the command line typed over it) in text and JSON."""
    import json

    from optexec.cli import main

    _, result, _, _ = _load_and_calibrate(tmp_path, bars, "utc_offset")
    order = ["plan", "--symbol", "PLNT", "--side", "buy", "--shares", "1e5", "--horizon-days", "1", "--slices", "13"]
    assert main(["--db", str(tmp_path / "own.duckdb"), *order, "--json", "--price", "171"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["parameter_source"].startswith(f"Parameters: calibration of PLNT run {result.run_ts:%Y-%m-%d %H:%M:%S}")
    assert out["parameter_source"].endswith("Given on the command line over them: --price 171.")
    assert out["market"]["price_usd"] == 171
    assert out["market"]["adv_shares"] == pytest.approx(result.estimates["adv_shares"].value)
    assert main(["--db", str(tmp_path / "own.duckdb"), *order]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("Parameters: calibration of PLNT run")


def test_plan_of_a_symbol_whose_calibration_was_not_accepted_says_why_and_how_to_accept_it(tmp_path, bars, capsys):
    """A five-day window is saved but not accepted: `plan --symbol` names the run, the reason and the command that
    accepts it (not "calibrate it", which the user just did); `calibrate ... --accept` then lets the plan run."""
    from optexec.cli import main

    store = str(tmp_path / "own.duckdb")
    con = db.open_database(store)
    try:
        loading.load_file(con, own_data.write_csv(bars, tmp_path / "b.csv", "utc_offset", "PLNT"), table="bars")
    finally:
        con.close()
    window = ["--start", "2024-10-07", "--end", "2024-10-11"]
    assert main(["--db", store, "calibrate", "--symbol", "PLNT", *window]) == 0
    capsys.readouterr()
    order = ["plan", "--symbol", "PLNT", "--side", "buy", "--shares", "1e5", "--horizon-days", "1", "--slices", "13"]
    assert main(["--db", store, *order]) == 2
    err = capsys.readouterr().err
    assert "was not accepted: only 5 trading days with bars in the window 2024-10-07 to 2024-10-11" in err
    assert "`python -m optexec calibrate --symbol PLNT --start 2024-10-07 --end 2024-10-11 --accept`" in err
    assert "calibrate it with" not in err
    assert main(["--db", store, "calibrate", "--symbol", "PLNT", *window, "--accept"]) == 0
    capsys.readouterr()
    assert main(["--db", store, *order]) == 0
    assert "accepted despite: only 5 trading days" in capsys.readouterr().out
