"""The load and db info sub-commands: exit codes, one-line errors, the --json contract."""

from __future__ import annotations

import argparse
import json

import pytest

from optexec.store import commands, db

from .conftest import BAR_HEADER, bar_lines


def run(argv, capsys):
    if "load" in argv and "--calendar" not in argv:  # these tests are about the command line, not the market
        argv = [*argv, "--calendar", "XNYS", "--tz", "UTC"]
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    db.close_all()
    out = capsys.readouterr()
    return code, out.out, out.err


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
