"""One parent parser: global options before or after any sub-command, one error convention, light start-up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from optexec import cli
from optexec.store import db

ORDER = ["--symbol", "SYN-LARGE", "--side", "buy", "--shares", "200000", "--horizon-days", "0.5", "--slices", "13"]
COMMANDS = {
    "plan": ["plan", *ORDER],
    "sweep": ["sweep", *ORDER, "--param", "risk_aversion_per_usd", "--values", "1e-7"],
    "simulate": ["simulate", *ORDER, "--paths", "50"],
    "db info": ["db", "info"],
    "db market": ["db", "market", "SYN-LARGE"],
    "calibrate": ["calibrate", "--symbol", "SYN-MID", "--dry-run"],
}


def _rounded(value):
    """A JSON document with its numbers to 12 significant digits (a calibration's fits agree to rounding)."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from optexec.store.sample import build_sample_database

    path = tmp_path_factory.mktemp("cli") / "store.duckdb"
    build_sample_database(path)
    return str(path)


@pytest.mark.parametrize("name", COMMANDS)
def test_db_and_json_go_before_or_after_the_sub_command(name, store, capsys):
    argv = COMMANDS[name]
    assert cli.main(["--db", store, "--json", *argv]) == 0
    before = json.loads(capsys.readouterr().out)
    assert cli.main([*argv, "--db", store, "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    before.pop("seconds", None), after.pop("seconds", None)  # calibrate's own timing
    assert _rounded(before) == _rounded(after) and before["schema"].startswith("optexec.")
    if "path" in before:
        assert before["path"] == store  # the store named, not the default
    db.close_all()


@pytest.mark.parametrize(
    "argv, says",
    [
        (["plan", "--symbol", "X"], "optexec plan: the following arguments are required: --side"),
        (["plan", *ORDER, "--cost-model", "cubic"], "argument --cost-model: invalid choice: 'cubic'"),
        (["plan", *ORDER[:-1], "many"], "argument --slices: invalid int value: 'many'"),
        (["frobnicate"], "argument COMMAND: invalid choice: 'frobnicate'"),
        (["db"], "optexec db: the following arguments are required: db_command"),
        (["db", "info", "--nope"], "unrecognized arguments: --nope"),
        (["calibrate", "--symbol", "NOPE", "--dry-run"], "unknown symbol 'NOPE'"),
        (["load", "/no/such/file.csv"], "/no/such/file.csv"),
        (["basket", "/no/such/basket.csv"], "/no/such/basket.csv"),
    ],
)
def test_every_mistake_is_one_line_and_exit_2(argv, says, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert says in captured.err
    db.close_all()


def test_help_lists_every_command_and_exits_0(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in cli.COMMANDS) and "--db PATH" in out


def test_the_top_level_help_and_a_store_command_do_not_load_the_planner():
    code = (
        "import sys\nfrom optexec import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('loaded:', sorted(m for m in ('numpy', 'pandas', 'scipy', 'duckdb') if m in sys.modules))\n"
        "cli.main(['db', 'info'])\n"
        "print('loaded:', sorted(m for m in ('scipy', 'optexec.planning', 'optexec.strategies.registry') if m in "
        "sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert [line for line in out.splitlines() if line.startswith("loaded:")] == ["loaded: []", "loaded: []"], out
