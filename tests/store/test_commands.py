"""The load and db info sub-commands: exit codes, one-line errors, the --json contract."""

from __future__ import annotations

import json

import pytest

from optexec import cli
from optexec.store import db

from .conftest import BAR_HEADER, bar_lines, run_command


def run(argv, capsys):
    if "load" in argv and "--calendar" not in argv:  # these tests are about the command line, not the market
        argv = [*argv, "--calendar", "XNYS", "--tz", "UTC"]
    return run_command(argv, capsys)


@pytest.fixture
def dbfile(tmp_path):
    path = tmp_path / "cli.duckdb"
    db.open_database(path).close()
    return str(path)


def test_load_json_fields(tmp_path, dbfile, capsys):
    csv = tmp_path / "b.csv"
    csv.write_text(BAR_HEADER + bar_lines("CLI", 4) + "CLI,2025-01-03 14:30:00,1,1,2,1,1\n")
    code, out, err = run(["--db", dbfile, "load", str(csv), "--table", "bars", "--skip-bad-rows", "--json"], capsys)
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert {"table", "rows_loaded", "rows_rejected", "rejects"} <= doc.keys()
    assert (doc["table"], doc["rows_loaded"], doc["rows_rejected"]) == ("bars", 4, 1)
    assert doc["rejects"] == [{"line": 6, "column": "high", "reason": "high 1.0 is below low 2.0"}]
    code, out, _ = run(["--db", dbfile, "db", "info", "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["tables"]["bars"] == {
        "rows": 4,
        "symbols": 1,
        "start": "2025-01-02T14:30:00Z",
        "end": "2025-01-02T14:33:00Z",
    }
    assert set(info["tables"]) >= {"bars", "trades", "quotes", "fills"}


def test_user_errors_exit_2_with_one_line(tmp_path, dbfile, capsys):
    csv = tmp_path / "bad.csv"
    csv.write_text(BAR_HEADER + "X,2025-01-02 14:30:00,1,1,2,1,1\n")
    for argv in (
        ["--db", dbfile, "load", str(csv)],
        ["--db", dbfile, "load", str(tmp_path / "missing.csv")],
        ["--db", dbfile, "load", str(csv), "--map", "nonsense"],
        ["--db", str(tmp_path / "none.duckdb"), "db", "info"],
    ):
        code, out, err = run(argv, capsys)
        assert code == 2, argv
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, out, _ = run(["--db", dbfile, "load", str(csv), "--json"], capsys)
    assert code == 2 and json.loads(out)["rows_loaded"] == 0


def test_plain_output(tmp_path, dbfile, capsys):
    csv = tmp_path / "b.csv"
    csv.write_text(BAR_HEADER + bar_lines("CLI", 2))
    code, out, _ = run(["--db", dbfile, "load", str(csv)], capsys)
    assert code == 0 and "2 rows loaded into bars" in out
    code, out, _ = run(["--db", dbfile, "db", "info"], capsys)
    assert code == 0 and "bars" in out and "2025-01-02T14:30:00Z" in out


def test_db_option_before_or_after_the_sub_command(tmp_path, dbfile, capsys):
    csv = tmp_path / "b.csv"
    csv.write_text(BAR_HEADER + bar_lines("POS", 3))
    code, out, _ = run(["load", str(csv), "--db", dbfile, "--json"], capsys)
    assert code == 0 and json.loads(out)["rows_loaded"] == 3
    code, out, _ = run(["--db", dbfile, "db", "info", "--json"], capsys)
    assert json.loads(out)["tables"]["bars"]["rows"] == 3


def test_load_with_a_calendar_states_the_market(tmp_path, dbfile, capsys):
    csv = tmp_path / "b.csv"
    csv.write_text(BAR_HEADER + bar_lines("CAL", 3))
    code, out, _ = run(["--db", dbfile, "load", str(csv), "--calendar", "XNYS"], capsys)
    assert code == 0 and "  market given: XNYS, America/New_York, 09:30–16:00 (100.0% of the volume" in out
    assert "0 of 3 rows are outside the regular session" in out
    code, out, err = run(["--db", dbfile, "load", str(csv), "--calendar", "XLON"], capsys)
    assert code == 2 and out == "" and "CAL is stored with the market XNYS" in err and len(err.splitlines()) == 1
    code, out, err = run(["--db", dbfile, "load", str(csv), "--tz", "UTC", "--calendar", "XNYS", "--json"], capsys)
    doc = json.loads(out)
    assert doc["markets"][0]["source"] == "the instrument already stored" and doc["rows_already_present"] == 3


def test_a_small_file_without_a_market_is_a_question(tmp_path, dbfile, capsys):
    csv = tmp_path / "b.csv"
    csv.write_text(BAR_HEADER + bar_lines("Q", 3))
    code = cli.main(["--db", dbfile, "load", str(csv)])
    db.close_all()
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot tell the market of this file")
    assert "--calendar CODE (e.g. XNYS), or --tz ZONE and --session HH:MM-HH:MM" in err


def test_db_market_shows_corrects_and_validates(tmp_path, dbfile, capsys):
    csv = tmp_path / "b.csv"
    csv.write_text(BAR_HEADER + bar_lines("MKT", 3))
    run(["--db", dbfile, "load", str(csv), "--calendar", "XNYS"], capsys)
    code, out, _ = run(["--db", dbfile, "db", "market", "MKT"], capsys)
    assert code == 0 and out.strip() == "MKT: XNYS, America/New_York, 09:30–16:00 (given)"
    code, out, _ = run(["--db", dbfile, "db", "market", "MKT", "--session", "09:30-13:00", "--json"], capsys)
    doc = json.loads(out)
    assert (doc["session_close"], doc["calendar"], doc["source"]) == ("13:00", "XNYS", "set with db market")
    assert doc["message"].endswith(
        "the next calibration of MKT uses XNYS, America/New_York, 09:30–13:00; "
        "the accepted calibration is unchanged until you recalibrate"
    )
    for argv, message in (
        (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--calendar", "NOPE"], "unknown trading calendar 'NOPE'"),
        (["--session", "16:00-09:30"], "closes (09:30) before it opens (16:00)"),
        (["--tz", "Asia/Tokyo"], "the calendar XNYS trades in America/New_York, not Asia/Tokyo"),
    ):
        code, out, err = run(["--db", dbfile, "db", "market", "MKT", *argv], capsys)
        assert code == 2 and message in err and len(err.splitlines()) == 1, argv
    code, out, _ = run(["--db", dbfile, "db", "market", "MKT", "--calendar", "none", "--tz", "Asia/Tokyo"], capsys)
    assert code == 0 and "uses every weekday (no exchange calendar), Asia/Tokyo, 09:30–13:00" in out
    code, _, err = run(["--db", dbfile, "db", "market", "NOPE"], capsys)
    assert code == 2 and "'NOPE' is not in the store" in err


def test_db_init_empty_and_with_the_sample(tmp_path, capsys):

    empty = tmp_path / "empty.duckdb"
    code, out, _ = run(["--db", str(empty), "db", "init"], capsys)
    assert code == 0 and "the schema is in place" in out
    code, out, _ = run(["--db", str(empty), "db", "info", "--json"], capsys)
    assert all(t["rows"] == 0 for t in json.loads(out)["tables"].values())
    code, out, _ = run(["--db", str(empty), "db", "init", "--sample", "--json"], capsys)
    added = json.loads(out)["rows_added"]
    assert code == 0 and added["instruments"] == 4 and added["bars"] == 96_720
    code, out, _ = run(["--db", str(empty), "db", "init", "--sample"], capsys)
    assert code == 0 and "nothing added: the sample was already there" in out  # re-running is harmless
    code, out, _ = run(["--db", str(empty), "db", "market", "SYN-LARGE", "--json"], capsys)
    assert json.loads(out) == {
        "schema": "optexec.db-market/1",
        "symbol": "SYN-LARGE",
        "time_zone": "America/New_York",
        "calendar": None,
        "session_open": "09:30",
        "session_close": "16:00",
        "describe": "every weekday (no exchange calendar), America/New_York, 09:30–16:00",
        "source": "synthetic sample: every weekday",
    }
    other = tmp_path / "other.duckdb"
    csv = tmp_path / "b.csv"
    csv.write_text(BAR_HEADER + bar_lines("MINE", 3))
    run(["--db", str(other), "load", str(csv)], capsys)
    code, out, err = run(["--db", str(other), "db", "init", "--sample"], capsys)
    assert code == 2 and "already holds other data (MINE)" in err
    code, out, _ = run(["--db", str(other), "db", "info", "--json"], capsys)
    assert json.loads(out)["tables"]["bars"]["rows"] == 3  # nothing added
