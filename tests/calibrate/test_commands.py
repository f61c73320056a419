"""The ``calibrate`` CLI sub-command: JSON names of DESIGN.md section 7, exit codes, saving."""

from __future__ import annotations

import json

import pytest

from optexec import cli
from optexec.calibration import run
from optexec.store import db

from . import planted


def main(argv):
    return cli.main(argv)


def test_calibrate_json_saves_and_accepts(db_copy, capsys):
    code = main(["--db", str(db_copy), "calibrate", "--symbol", "SYN-LARGE", "--start", "2025-02-01", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["symbol"] == "SYN-LARGE" and out["accepted"] is True
    assert out["window"]["start"] == "2025-02-03"
    for name in ("sigma_daily", "adv_shares", "spread", "eta", "gamma"):
        assert set(out["parameters"][name]) >= {"value", "stderr", "method"}
    assert len(out["parameters"]["volume_profile"]["value"]) == 390
    db.close_all()
    con = db.open_database(db_copy, read_only=True)
    try:
        params = run.latest_market_params(con, "SYN-LARGE")
        assert params.sigma_daily_fraction == pytest.approx(out["parameters"]["sigma_daily"]["value"])
    finally:
        con.close()


def test_text_output_and_dry_run(db_copy, capsys):
    assert main(["--db", str(db_copy), "calibrate", "--symbol", "SYN-MID", "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "sigma_daily" in text and "not saved" in text
    db.close_all()
    con = db.open_database(db_copy, read_only=True)
    try:
        assert run.runs(con, "SYN-MID").empty
    finally:
        con.close()


def test_user_errors_exit_2_with_one_line(db_copy, capsys):
    assert main(["--db", str(db_copy), "calibrate", "--symbol", "NOPE"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "NOPE" in err and err.count("\n") == 1
    assert main(["--db", str(db_copy), "calibrate", "--symbol", "SYN-MID", "--start", "2025-13-01"]) == 2
    err = capsys.readouterr().err  # a bad option value: the same convention, one line, no usage block
    assert (
        err
        == "error: optexec calibrate: argument --start: expected a date as YYYY-MM-DD, got '2025-13-01' (see --help)\n"
    )
    db.close_all()


def test_a_short_window_is_saved_but_not_accepted_unless_asked(db_copy, capsys):
    args = ["--db", str(db_copy), "calibrate", "--symbol", "SYN-MID", "--start", "2025-03-27", "--end", "2025-03-28"]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["accepted"] is False and "not accepted: only 2 trading days" in captured.err
    assert main([*args, "--json", "--accept"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["accepted"] is True and "accepted despite (--accept)" in captured.err
    db.close_all()
    con = db.open_database(db_copy, read_only=True)
    try:
        assert run.latest_calibration(con, "SYN-MID").acceptance.startswith("accepted despite: only 2 trading days")
    finally:
        con.close()


def test_text_output_says_which_data_were_used(db_copy, capsys):
    assert main(["--db", str(db_copy), "calibrate", "--symbol", "SYN-SMALL", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    data = [line for line in lines if line.startswith("data: ")]
    assert len(data) == 1 and "America/New_York, 09:30–16:00" in data[0]
    assert "24,180 session bars used on 62 full days" in data[0] and "no calendar" in data[0]


def test_misregistered_market_is_saved_not_accepted_and_says_why(tmp_path, capsys):
    path = tmp_path / "utc.duckdb"
    con = db.open_database(path)
    planted.write(con, planted.new_york_autumn(), "UTC", None, "09:30", "16:00")
    con.close()
    assert main(["--db", str(path), "calibrate", "--symbol", "PLNT"]) == 0
    captured = capsys.readouterr()
    assert "not accepted: the first hour of the regular session has no bars on 100% of days" in captured.err
    assert "time zone (UTC)" in captured.err and "saved (not accepted)" in captured.out
    assert main(["--db", str(path), "calibrate", "--symbol", "PLNT", "--json", "--accept"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accepted"] is True and out["not_acceptable"] and out["data"]["market"]["time_zone"] == "UTC"
    assert out["data"]["bars_ignored"]["extended_hours"] == 15_600
    db.close_all()
    con = db.open_database(path, read_only=True)
    try:
        stored = run.latest_calibration(con, "PLNT")
        assert stored.acceptance.startswith("accepted despite: the first hour")
        assert len(run.runs(con, "PLNT")) == 2
    finally:
        con.close()


def test_unknown_market_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "bare.duckdb"
    con = db.open_database(path)
    con.execute("INSERT INTO bars VALUES ('BARE', TIMESTAMP '2025-01-02 14:30:00', 1, 1, 1, 1, 100)")
    con.close()
    assert main(["--db", str(path), "calibrate", "--symbol", "BARE"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "market of BARE is unknown" in err and "set its market" in err
    db.close_all()


def test_unknown_symbol_is_named_as_such(db_copy, capsys):
    assert main(["--db", str(db_copy), "calibrate", "--symbol", "NOPE"]) == 2
    assert "unknown symbol 'NOPE'" in capsys.readouterr().err
