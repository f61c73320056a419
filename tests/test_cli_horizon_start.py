"""Issue 17 item 4 on the command line: ``--horizon`` with a unit and ``--start`` as an exchange-local clock time
(or now), next to the old ``--horizon-days`` and ``--start-minutes``; one line and exit 2 for what cannot be used."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from optexec import cli
from optexec.clock import parse_duration
from optexec.store import db, sessions

ORDER = ["--symbol", "SYN-LARGE", "--side", "buy", "--shares", "200000", "--slices", "13", "--strategy", "twap"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from optexec.store.sample import build_sample_database

    path = tmp_path_factory.mktemp("cli_time") / "store.duckdb"
    build_sample_database(path)
    yield str(path)
    db.close_all()


def _order(store, capsys, *extra: str, command: str = "plan") -> dict:
    more = ["--paths", "100"] if command == "simulate" else []
    assert cli.main([command, "--db", store, "--json", *ORDER, *more, *extra]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)["order"]


def _refused(store, capsys, *extra: str) -> str:
    assert cli.main(["plan", "--db", store, *ORDER, *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err  # one line, nothing planned
    return captured.err


@pytest.mark.parametrize(
    "text, value, unit, days",
    [("90m", 90, "minutes", 90 / 390), ("2h", 2, "hours", 120 / 390), ("1.5d", 1.5, "days", 1.5),
     ("45 minutes", 45, "minutes", 45 / 390), (" 2 Hours ", 2, "hours", 120 / 390), ("3 trading days", 3, "days", 3),
     ("30min", 30, "minutes", 30 / 390)],
)  # fmt: skip
def test_a_duration_reads_as_a_trader_types_it(text, value, unit, days):
    duration = parse_duration(text, 390)
    assert (duration.value, duration.unit) == (value, unit)
    assert duration.days == pytest.approx(days, rel=1e-12)


def test_hours_are_converted_by_the_session_length():
    assert parse_duration("2h", 480).days == pytest.approx(120 / 480, rel=1e-12)


@pytest.mark.parametrize("text", ["5", "2 weeks", "-1h", "0h", "h", "", "1.5.2d", "nan h"])
def test_a_duration_without_a_unit_or_a_positive_number_is_refused(text):
    with pytest.raises(ValueError, match="horizon"):
        parse_duration(text)


def test_horizon_with_a_unit_plans_the_same_order_as_horizon_days(store, capsys):
    new = _order(store, capsys, "--horizon", "2h")
    old = _order(store, capsys, "--horizon-days", repr(2 / 6.5))
    assert new == old and new["horizon_days"] == pytest.approx(2 / 6.5, rel=1e-12)
    assert _order(store, capsys, "--horizon", "90m", command="simulate")["horizon_days"] == pytest.approx(90 / 390)


def test_the_text_output_says_the_horizon_and_start_as_given(store, capsys):
    assert cli.main(["plan", "--db", store, *ORDER, "--horizon", "2h", "--start", "10:30"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "over 2 h (0.308 trading days) in 13 slices, starting 60 min after the open" in first, first


def test_start_as_a_clock_time_is_minutes_after_the_open(store, capsys):
    assert _order(store, capsys, "--horizon", "1h", "--start", "10:30")["start_minutes_after_open"] == 60
    assert _order(store, capsys, "--horizon", "1h", "--start", "09:30")["start_minutes_after_open"] == 0
    assert _order(store, capsys, "--horizon", "1h", "--start", "15:59")["start_minutes_after_open"] == 389
    assert _order(store, capsys, "--horizon", "1h", "--start-minutes", "60")["start_minutes_after_open"] == 60
    assert _order(store, capsys, "--horizon-days", "0.5")["start_minutes_after_open"] == 0  # the open by default


@pytest.mark.parametrize("start", ["16:00", "09:29", "03:00", "23:59"])
def test_a_start_outside_the_session_is_refused_in_one_line(store, capsys, start):
    said = _refused(store, capsys, "--horizon", "1h", "--start", start)
    assert said == f"error: --start {start} is outside SYN-LARGE's session: give 09:30–15:59 America/New_York, or now\n"


def test_a_start_that_is_no_time_is_refused(store, capsys):
    assert "--start must be" in _refused(store, capsys, "--horizon", "1h", "--start", "half past ten")


@pytest.mark.parametrize(
    "extra, says",
    [(["--horizon", "2h", "--horizon-days", "1"], "give the horizon once: --horizon or --horizon-days, not both"),
     (["--horizon-days", "1", "--start", "10:30", "--start-minutes", "5"],
      "give the start once: --start or --start-minutes, not both"),
     ([], "give the horizon: --horizon with a unit"),
     (["--horizon", "5"], "--horizon: the horizon must be a positive number and a unit"),
     (["--horizon", "2 weeks"], "--horizon: the horizon's unit must be minutes, hours or (trading) days"),
     (["--horizon-days", "1", "--start-minutes", "390"], "--start-minutes must be from 0 to below the session's 390")],
)  # fmt: skip
def test_the_old_and_new_flags_are_exclusive_and_errors_are_one_line(store, capsys, extra, says):
    assert says in _refused(store, capsys, *extra)


def test_start_needs_an_exchange_clock(store, capsys):
    argv = ["plan", "--db", store, "--symbol", "DEMO", "--side", "sell", "--shares", "1e6", "--slices", "5",
            "--price", "50", "--sigma", "0.95", "--spread", "0.0625", "--adv", "5e6", "--horizon", "5d"]  # fmt: skip
    assert cli.main([*argv, "--start", "10:30"]) == 2
    err = capsys.readouterr().err
    assert "DEMO has no exchange clock in the store" in err and "--start-minutes" in err
    assert cli.main([*argv, "--start-minutes", "30", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["order"]["start_minutes_after_open"] == 30


@pytest.mark.parametrize(
    "utc, minutes, note",
    [(dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC), 30, "now: starts 10:00 America/New_York"),  # a Tuesday, EST
     (dt.datetime(2025, 3, 4, 12, 0, tzinfo=dt.UTC), 0, "before the open: starts at the open 09:30 today")],
)  # fmt: skip
def test_start_now_says_when_it_starts(store, capsys, monkeypatch, utc, minutes, note):
    real = sessions.start_now
    monkeypatch.setattr(sessions, "start_now", lambda session, now=None: real(session, utc))
    assert cli.main(["plan", "--db", store, "--json", *ORDER, "--horizon", "1h", "--start", "now"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["order"]["start_minutes_after_open"] == minutes
    assert captured.err == f"--start now: {note} (on 2025-03-04)\n"
