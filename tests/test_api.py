"""The notebook API (optexec.api): the same numbers as the command line, tidy frames, whole lots, local clocks."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optexec
from optexec import cli
from optexec.clock import OrderClock, whole_lots
from optexec.planning import cost_table
from optexec.store.sessions import MarketSession, trading_days_from

ORDER = optexec.Order("SYN-LARGE", "buy", 200_000, horizon_days=0.5, slices=13)
CLI_ORDER = ["--symbol", "SYN-LARGE", "--side", "buy", "--shares", "200000", "--horizon-days", "0.5", "--slices", "13"]


def _cli_json(argv, capsys) -> dict:
    assert cli.main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_the_top_level_names_are_the_api_and_its_types():
    for name in ("plan", "simulate", "calibrate", "basket", "market_params", "Order", "MarketParams", "Plan"):
        assert name in dir(optexec)
    for module in ("optexec.baskets.plan", "optexec.calibration.run", "optexec.monte_carlo"):
        importlib.import_module(module)  # a submodule must not hide a function of the same name

    assert callable(optexec.plan) and optexec.plan is optexec.api.plan
    assert optexec.simulate is optexec.api.simulate, "optexec.simulate is the module, not the API function"
    assert optexec.calibrate is optexec.api.calibrate, "optexec.calibrate is the package, not the API function"
    assert optexec.basket is optexec.api.basket, "optexec.basket is the package, not the API function"


def test_import_optexec_loads_nothing_heavy():
    code = "import sys, optexec; print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'duckdb') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plan_to_json_is_the_command_lines_document(capsys):
    assert optexec.plan(ORDER).to_json() == _cli_json(["plan", *CLI_ORDER, "--json"], capsys)


def test_simulate_to_json_is_the_command_lines_document(capsys):
    result = optexec.simulate(ORDER, paths=300, seed=7, strategies=["twap", "vwap"])
    cli_doc = _cli_json(["simulate", *CLI_ORDER, "--paths", "300", "--seed", "7", "--strategy", "twap",
                         "--strategy", "vwap", "--json"], capsys)  # fmt: skip
    assert result.to_json() == cli_doc


def test_plan_summary_is_the_cost_table_and_to_frame_is_tidy():
    plan = optexec.plan(ORDER)
    pd.testing.assert_frame_equal(plan.summary(), cost_table(plan))
    frame = plan.to_frame()
    assert len(frame) == len(plan.planned) * ORDER.slices
    assert frame["child_order_shares"].dtype == np.int64
    assert (frame.groupby("strategy")["child_order_shares"].sum() == ORDER.shares).all()
    assert (frame.groupby("strategy")["shares_left_after"].last() == 0).all()
    first = frame[frame["slice"] == 1]["start_time"]
    assert (first.dt.tz.key == "America/New_York") and (first.dt.strftime("%H:%M") == "09:30").all()
    last = frame[frame["slice"] == ORDER.slices]["end_time"]
    assert (last.dt.strftime("%H:%M") == "12:45").all()  # half of a 390-minute session after 09:30
    assert "<table" in plan._repr_html_() and "TWAP" in plan._repr_html_()


def test_a_horizon_over_a_weekend_and_a_holiday_lands_on_trading_days():
    session = MarketSession("America/New_York", calendar="XNYS")
    days = trading_days_from(session, dt.date(2025, 12, 24), 3)  # Wed half day, Thu holiday, Fri, Mon
    assert list(days["day"]) == [dt.date(2025, 12, 24), dt.date(2025, 12, 26), dt.date(2025, 12, 29)]
    clock = OrderClock("America/New_York", tuple(days["day"]), tuple(int(m) for m in days["open_minute"]))
    times = clock.timestamps(np.array([0.0, 1.0, 1.5, 2.0]), start_minutes=0.0, session_minutes=390)
    assert [t.strftime("%Y-%m-%d %H:%M") for t in times] == [
        "2025-12-24 09:30", "2025-12-24 16:00", "2025-12-26 12:45", "2025-12-26 16:00",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="covers 3 days"):
        clock.timestamps(np.array([0.0, 3.5]), 0.0, 390)


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40).filter(lambda w: sum(w) > 1e-3),
    shares=st.integers(1, 5_000_000),
    lot=st.sampled_from([1, 10, 100]),
)
def test_whole_lots_keep_the_order_and_stay_within_a_lot_of_the_model(weights, shares, lot):
    trades = shares * np.asarray(weights) / sum(weights)
    rounded = whole_lots(trades, lot)
    assert rounded.sum() == shares and np.all(rounded >= 0)
    assert np.all(np.abs(np.cumsum(rounded) - np.cumsum(trades)) <= lot / 2 + 1e-6)
    done = np.cumsum(rounded)  # whole lots until the child order that completes the order (an odd lot at most)
    assert np.all(done[done < shares] % lot == 0)


def test_simulation_frame_holds_every_path_and_matches_its_summary():
    result = optexec.simulate(ORDER, paths=200, seed=1, strategies=["twap", "immediate"])
    frame, summary = result.to_frame(), result.summary()
    assert len(frame) == 200 * len(result.runs)
    means = frame.groupby("strategy_label")["cost_usd"].mean()
    for row in summary.itertuples():
        assert means[row.strategy] == pytest.approx(row.mean_cost_usd, rel=1e-12)


def test_calibrate_without_save_leaves_the_store_as_it_was(tmp_path):
    from optexec.store import db

    before = db.info(db.connect(read_only=True))["tables"]["calibration_runs"]["rows"]
    db.close_all()
    result = optexec.calibrate("SYN-MID", dt.date(2025, 2, 3), dt.date(2025, 3, 28))
    summary = result.summary()
    assert {"sigma_daily", "adv_shares", "eta"} <= set(summary["name"])
    assert summary.set_index("name").loc["adv_shares", "unit"] == "shares/day"
    after = db.info(db.connect(read_only=True))["tables"]["calibration_runs"]["rows"]
    db.close_all()
    assert after == before
    assert result.to_json()["schema"] == "optexec.calibrate/1"


def test_basket_is_the_command_lines_basket(tmp_path, capsys):
    path = tmp_path / "b.csv"
    path.write_text("symbol,side,shares\nSYN-LARGE,buy,100000\nSYN-MID,sell,50000\n")
    plan = optexec.basket(path)
    doc = _cli_json(["basket", str(path), "--json"], capsys)
    doc["basket"].pop("dropped"), doc.pop("monte_carlo")  # what only the command line adds: none without --paths
    assert plan.to_json() == doc
    assert set(plan.to_frame()["symbol"]) == {"SYN-LARGE", "SYN-MID"}


def test_a_given_market_is_used_as_it_is(table1_order, table1_market):
    plan = optexec.plan(table1_order, table1_market, strategies=["twap"])
    assert plan.market == table1_market and plan.clock is None  # DEMO is not in the store: times in days
    assert "start_time" not in plan.to_frame() and plan.to_frame()["child_order_shares"].sum() == 1_000_000
