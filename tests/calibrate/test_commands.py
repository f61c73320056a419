"""The ``calibrate`` CLI sub-command: JSON names of DESIGN.md section 7, exit codes, saving."""

from __future__ import annotations

import argparse
import json

import pytest

from optexec.calibrate import commands, run
from optexec.store import db


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


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
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(db_copy), "calibrate", "--symbol", "SYN-MID", "--start", "2025-13-01"])
    assert exc.value.code == 2
    db.close_all()


def test_a_short_window_is_saved_but_not_accepted_unless_asked(db_copy, capsys):
    args = ["--db", str(db_copy), "calibrate", "--symbol", "SYN-MID", "--start", "2025-03-27", "--end", "2025-03-28"]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["accepted"] is False and "not accepted: only 2 trading days" in captured.err
    assert main([*args, "--json", "--accept"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] is True


def test_unknown_symbol_is_named_as_such(db_copy, capsys):
    assert main(["--db", str(db_copy), "calibrate", "--symbol", "NOPE"]) == 2
    assert "unknown symbol 'NOPE'" in capsys.readouterr().err
