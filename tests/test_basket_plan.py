"""A basket priced end to end: on the bundled sample store, through the ``basket`` command, and on real LEAN
symbols from ../shared/marketdata (skipped when absent; test use only, never copied into the repository)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optexec import cli, costs
from optexec.baskets import solve
from optexec.baskets.input import parse_basket
from optexec.baskets.plan import INDEPENDENT, JOINT, TWAP, frontier, plan_basket, plan_orders
from optexec.store import db

SAMPLE_BASKET = """symbol,side,shares,notional_usd,pct_adv,sector,horizon_days
SYN-LARGE,buy,200000,,,tech,
SYN-MID,sell,,5000000,,tech,0.5
SYN-SMALL,buy,,,5,fin,
SYN-CONCAVE,sell,30000,,,fin,
"""


def _marketdata() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "marketdata" / "lean_equity_usa"
        if candidate.exists():
            return candidate
    return None


LEAN = _marketdata()


@pytest.fixture(scope="module")
def sample_plan():
    basket = parse_basket(SAMPLE_BASKET.encode(), name="basket.csv")
    with db.reading() as con:
        return plan_basket(basket, con, horizon_days=1.0, slices=13, risk_aversion_per_usd=2e-7)


def test_a_sample_basket_prices_every_order_under_its_own_model(sample_plan):
    plan = sample_plan
    assert plan.symbols == ["SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE"]
    assert "planted" in plan.orders[0].source and "daily returns from the store" in plan.correlation.source
    assert plan.orders[1].shares == pytest.approx(5e6 / plan.orders[1].market.price_usd)
    assert plan.orders[2].shares == pytest.approx(0.05 * plan.orders[2].market.adv_shares)
    assert list(plan.grid.end_slices) == [13, 6, 13, 13]  # 0.5 day on a 1/13-day grid ends after 6 slices
    assert any("SYN-MID: its horizon 0.5 trading days (3.25 h) ends at 3 h," in w for w in plan.warnings)
    assert np.linalg.eigvalsh(plan.correlation.matrix)[0] > 0
    for result in plan.strategies:
        assert result.error is None
        for schedule, estimate in zip(result.schedules, result.estimates, strict=True):
            assert estimate.expected_usd == pytest.approx(costs.estimate(schedule).expected_usd, rel=1e-12)
        table = plan.order_table(result.name)
        assert table["expected_cost_usd"].sum() == pytest.approx(result.expected_usd, rel=1e-12)
        assert table["risk_contribution_usd"].sum() == pytest.approx(result.risk.std_usd, rel=1e-9)
    # joint_ac minimises the path part of E + lambda V of the linear model: nothing else in the table does better
    h = np.array([o.market.eta_usd_day_per_share2 - 0.5 * o.market.gamma_usd_per_share2 * plan.grid.slice_days
                  for o in plan.orders])  # fmt: skip
    cov, tau, lam = plan.covariance_usd2, plan.grid.slice_days, plan.risk_aversion_per_usd

    def objective(name):
        return solve.objective_usd(plan.strategy(name).holdings_shares * plan.side_signs, h, cov, tau, lam)

    assert objective(JOINT) <= objective(INDEPENDENT) * (1 + 1e-12)
    assert objective(JOINT) < objective(TWAP)


def test_sample_roll_ups_add_up_to_the_basket(sample_plan):
    plan = sample_plan
    joint = plan.strategy(JOINT)
    for by in ("side", "liquidity", "group"):
        table = plan.rollup(by)
        assert table["orders"].sum() == 4
        assert table["gross_notional_usd"].sum() == pytest.approx(plan.gross_notional_usd)
        assert table["net_notional_usd"].sum() == pytest.approx(plan.net_notional_usd)
        assert table["expected_cost_usd"].sum() == pytest.approx(joint.expected_usd)
        assert table["risk_contribution_usd"].sum() == pytest.approx(joint.risk.std_usd)
    remaining = plan.remaining()
    assert remaining["buy_notional_usd"].iloc[0] == pytest.approx(
        plan.gross_notional_usd / 2 + plan.net_notional_usd / 2
    )
    assert remaining.iloc[-1][["buy_notional_usd", "sell_notional_usd", "remaining_std_usd"]].abs().max() < 1e-9
    curve = frontier(plan, points=6)
    assert curve.std_usd[JOINT][0] == pytest.approx(plan.strategy(TWAP).risk.std_usd, rel=1e-9)  # lambda = 0: TWAP
    assert np.all(np.diff(curve.std_usd[JOINT]) < 0) and np.all(np.diff(curve.expected_usd[JOINT]) > 0)
    at_plan = frontier(plan, [plan.risk_aversion_per_usd])
    for name in (JOINT, INDEPENDENT):
        assert at_plan.expected_usd[name][0] == pytest.approx(plan.strategy(name).expected_usd, rel=1e-9)
        assert at_plan.std_usd[name][0] == pytest.approx(plan.strategy(name).risk.std_usd, rel=1e-9)
    # the joint frontier lies below the independent one in E + lambda V at each lambda
    lam = curve.risk_aversion_per_usd
    joint_obj = curve.expected_usd[JOINT] + lam * curve.std_usd[JOINT] ** 2
    indep_obj = curve.expected_usd[INDEPENDENT] + lam * curve.std_usd[INDEPENDENT] ** 2
    assert np.all(joint_obj <= indep_obj * (1 + 1e-6))


def _main(argv, monkeypatch) -> int:
    """The command line as a user runs it (``basket`` is registered in optexec.cli)."""
    return cli.main(argv)


def test_the_basket_command_json_layout(tmp_path, monkeypatch, capsys):
    path = tmp_path / "basket.csv"
    path.write_text(SAMPLE_BASKET)
    assert _main(["basket", str(path), "--slices", "13", "--risk-aversion", "2e-7", "--json",
                  "--strategy", "vwap"], monkeypatch) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert {"symbol", "side", "shares", "expected_cost_usd", "expected_cost_bps", "std_cost_usd", "pct_adv",
            "max_participation"} <= set(out["orders"][0])  # fmt: skip
    names = [s["name"] for s in out["strategies"]]
    assert names == ["joint_ac", "independent_ac", "twap", "vwap"]
    for strategy in out["strategies"]:
        assert {"expected_cost_usd", "expected_cost_bps", "std_cost_usd", "std_cost_usd_uncorrelated",
                "var95_usd"} <= set(strategy)  # fmt: skip
        for symbol, holdings in strategy["holdings"].items():
            assert len(holdings) == 14 and holdings[-1] == 0
            assert holdings[0] == pytest.approx(next(o["shares"] for o in out["orders"] if o["symbol"] == symbol))
        assert strategy["var95_usd"] == pytest.approx(
            strategy["expected_cost_usd"] + 1.6448536 * strategy["std_cost_usd"]
        )
    assert sum(o["expected_cost_usd"] for o in out["orders"]) == pytest.approx(
        out["strategies"][0]["expected_cost_usd"]
    )
    assert "linear model" in out["strategies"][0]["optimises"]
    # the text table
    assert _main(["basket", str(path), "--slices", "13"], monkeypatch) == 0
    assert "Joint Almgren–Chriss" in capsys.readouterr().out


def test_the_basket_command_refuses_bad_input_in_one_line(tmp_path, monkeypatch, capsys):
    path = tmp_path / "basket.csv"
    path.write_text("symbol,side,shares\nSYN-LARGE,buy,100\nSYN-MID,hold,100\n")
    assert _main(["basket", str(path)], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "line 3, side" in err
    path.write_text("symbol,side,shares\nSYN-LARGE,buy,100\nSYN-MID,sell,100\n")
    matrix = tmp_path / "corr.csv"
    pd.DataFrame([[1.0]], index=["SYN-LARGE"], columns=["SYN-LARGE"]).to_csv(matrix)
    assert _main(["basket", str(path), "--correlation", str(matrix)], monkeypatch) == 2
    assert "no row or column for SYN-MID" in capsys.readouterr().err
    path.write_text("symbol,side,shares\nNOPE,buy,100\n")
    assert _main(["basket", str(path)], monkeypatch) == 2
    assert "line 2, symbol: no parameters for NOPE" in capsys.readouterr().err


def test_orders_above_the_participation_limit_are_flagged_and_never_capped():
    from optexec import constants, planning
    from optexec.cli.basket_commands import DEFAULT_MAX_PARTICIPATION as command_default

    basket = parse_basket(SAMPLE_BASKET.encode(), name="basket.csv")
    with db.reading() as con:
        default = plan_basket(basket, con, 1.0, 13, 2e-7)
        tight = plan_basket(basket, con, 1.0, 13, 2e-7, max_participation=0.1)
        loose = plan_basket(basket, con, 1.0, 13, 2e-7, max_participation=1.0)
    # the basket's default limit is the ticket's (the planner's and the shared setting's)
    assert default.max_participation == planning.DEFAULT_MAX_PARTICIPATION == constants.DEFAULT_MAX_PARTICIPATION
    assert command_default == constants.DEFAULT_MAX_PARTICIPATION
    assert registry_default() == constants.DEFAULT_MAX_PARTICIPATION
    flagged = 0
    for name in (JOINT, INDEPENDENT, TWAP):
        result = tight.strategy(name)
        # not capped: the schedules are those of a limit of 100%
        np.testing.assert_array_equal(result.holdings_shares, loose.strategy(name).holdings_shares)
        # each order's peak from its own holdings: largest |child order| over the slice's expected volume
        peaks = {}
        for schedule in result.schedules:
            child = -np.diff(schedule.holdings_shares)
            peaks[schedule.order.symbol] = float(np.max(np.abs(child) / schedule.market_volume_shares))
        over = {s: p for s, p in peaks.items() if p > 0.1}
        assert dict(tight.over_participation(name)) == pytest.approx(over)
        table = tight.order_table(name)
        assert table.loc[~table["within_participation_limit"], "symbol"].tolist() == [
            s for s in tight.symbols if s in over
        ]
        said = [w for w in tight.warnings if w.startswith(f"{name}: ") and "participation limit" in w]
        if over:
            flagged += 1
            assert len(said) == 1 and f"{len(over)} of 4 orders go above the 10% participation limit" in said[0]
            assert all(f"{s} {p:.0%}" in said[0] for s, p in over.items())
            assert ("unconstrained optimum" in said[0]) == (name == JOINT)
        else:
            assert not said
    assert flagged >= 2  # the test binds: on 13 slices of a day the joint and independent schedules go above 10%
    assert not any("participation limit" in w for w in loose.warnings)
    assert loose.order_table(JOINT)["within_participation_limit"].all()
    with pytest.raises(ValueError, match="max participation .* must be above 0 and at most 1"):
        plan_orders(list(loose.orders), loose.correlation, 1.0, 13, 2e-7, max_participation=0.0)


def registry_default() -> float:
    from optexec.strategies import registry

    return registry.shared_defaults()["max_participation"]


def test_the_basket_command_flags_participation_in_the_json_and_the_table(tmp_path, monkeypatch, capsys):
    path = tmp_path / "basket.csv"
    path.write_text(SAMPLE_BASKET)
    assert _main(["basket", str(path), "--slices", "13", "--risk-aversion", "2e-7", "--max-participation", "0.1",
                  "--json"], monkeypatch) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["basket"]["max_participation_limit"] == 0.1
    for order in out["orders"]:
        assert order["within_participation_limit"] == (order["max_participation"] <= 0.1)
    assert not all(o["within_participation_limit"] for o in out["orders"])
    for strategy in out["strategies"]:
        over = strategy["orders_over_participation_limit"]
        assert strategy["within_participation_limit"] == (not over) == (strategy["max_participation"] <= 0.1)
        assert all(o["max_participation"] > 0.1 for o in over)
        if over:
            warning = next(w for w in out["basket"]["warnings"] if w.startswith(f"{strategy['name']}: "))
            assert all(o["symbol"] in warning for o in over)
    joint = out["strategies"][0]
    assert {o["symbol"] for o in joint["orders_over_participation_limit"]} == {
        o["symbol"] for o in out["orders"] if not o["within_participation_limit"]
    }
    assert _main(["basket", str(path), "--slices", "13", "--max-participation", "0.1"], monkeypatch) == 0
    text = capsys.readouterr().out
    assert "participation limit 10%" in text and "! above the 10% participation limit" in text
    assert _main(["basket", str(path), "--max-participation", "1.5"], monkeypatch) == 2
    assert "--max-participation: the participation limit must be above 0" in capsys.readouterr().err


LEAN_SYMBOLS = ("spy", "bac", "ibm", "aig")
LEAN_DAYS = ("20131004", "20131007", "20131008", "20131009", "20131010", "20131011")


def _daily_closes(ticker: str) -> pd.Series:
    with zipfile.ZipFile(LEAN / "daily" / f"{ticker}.zip") as zf:
        daily = pd.read_csv(zf.open(zf.namelist()[0]), header=None, names=["day", "o", "h", "l", "c", "v"])
    return daily.assign(day=daily["day"].str[:8]).set_index("day").loc[list(LEAN_DAYS), "c"] / 10_000


@pytest.mark.skipif(LEAN is None, reason="../shared/marketdata (LEAN minute bars of SPY, BAC, IBM, AIG) is absent")
def test_a_basket_on_real_lean_symbols(tmp_path):
    """SPY, BAC, IBM and AIG, 2013-10-04 and 10-07..10-11, loaded and calibrated in a scratch store: the
    correlation of the store's daily closes equals the one of LEAN's own daily files before shrinkage, the
    shrinkage moves 5 common returns a good part of the way to the average, and a buy of SPY against sells of the others
    is less risky with the correlation than without."""
    from optexec.calibration import run
    from optexec.store.loading import load_file

    con = db.open_database(tmp_path / "lean.duckdb")
    try:
        for ticker in LEAN_SYMBOLS:
            symbol = ticker.upper()
            for _ in range(2):  # the market before and after the load (as tests/calibrate/test_marketdata.py)
                con.execute(
                    "INSERT INTO instruments (symbol, time_zone, calendar, session_open, session_close) VALUES "
                    "(?, 'America/New_York', 'XNYS', '09:30', '16:00') ON CONFLICT (symbol) DO UPDATE SET "
                    "time_zone = excluded.time_zone, calendar = excluded.calendar, "
                    "session_open = excluded.session_open, session_close = excluded.session_close",
                    [symbol],
                )
                if _ == 0:
                    for day in LEAN_DAYS:
                        load_file(con, LEAN / "minute" / ticker / f"{day}_trade.zip", symbol=symbol)
                        load_file(con, LEAN / "minute" / ticker / f"{day}_quote.zip", symbol=symbol,
                                  skip_bad_rows=True)  # fmt: skip
            run.save(con, run.calibrate(con, symbol), accept=True, insist=True)
        from optexec.baskets import correlation

        symbols = [t.upper() for t in LEAN_SYMBOLS]
        returns, windows = correlation.daily_returns(con, symbols)
        assert len(returns) == 5 and set(windows) == set(symbols)
        closes = pd.DataFrame({t.upper(): _daily_closes(t) for t in LEAN_SYMBOLS})
        official = np.log(closes).diff().dropna().corr().to_numpy()
        np.testing.assert_allclose(returns.corr().to_numpy(), official, atol=0.05)
        basket = parse_basket(b"symbol,side,notional_usd\nSPY,buy,20000000\nBAC,sell,5000000\n"
                              b"IBM,sell,8000000\nAIG,sell,7000000\n", name="lean.csv")  # fmt: skip
        plan = plan_basket(basket, con, horizon_days=1.0, slices=26, risk_aversion_per_usd=1e-7)
        pair = plan_basket(parse_basket(b"symbol,side,notional_usd\nSPY,buy,20000000\nIBM,sell,20000000\n",
                                        name="pair.csv"), con, 1.0, 26, 1e-7)  # fmt: skip
    finally:
        con.close()
    assert all("calibration of" in o.source for o in plan.orders)
    assert plan.correlation.shrinkage[~np.eye(4, dtype=bool)].min() > 0.3
    assert np.linalg.eigvalsh(plan.correlation.matrix)[0] >= correlation.MIN_EIGENVALUE * (1 - 1e-9)
    for result in plan.strategies:
        assert result.error is None and np.isfinite(result.expected_usd) and result.expected_usd > 0
    # a buy of SPY against a sell of IBM, positively correlated: every schedule is less risky with the correlation
    assert pair.correlation.matrix[0, 1] > 0
    for result in pair.strategies:
        assert result.risk.std_usd < result.risk.std_uncorrelated_usd
    table = plan.order_table()
    assert np.all(table["pct_adv"] > 0) and np.all(table["expected_cost_bps"] > 0)


def test_a_strategy_column_prices_each_row_with_its_own_strategy():
    text = SAMPLE_BASKET.replace("sector,horizon_days", "sector,horizon_days,strategy")
    lines = text.strip().split("\n")
    lines[1] += ",vwap"
    lines[2] += ",immediate"
    text = "\n".join([lines[0], lines[1], lines[2], lines[3] + ",", lines[4] + ","]) + "\n"
    basket = parse_basket(text.encode(), name="basket.csv")
    with db.reading() as con:
        plan = plan_basket(basket, con, horizon_days=1.0, slices=13, risk_aversion_per_usd=2e-7)
    chosen = plan.strategy("per_order")
    assert [s.strategy for s in chosen.schedules] == ["vwap", "immediate", "ac_discrete", "ac_discrete"]
    assert np.all(chosen.holdings_shares[1:, 1] == 0)  # immediate: all in the first slice
    np.testing.assert_allclose(chosen.holdings_shares[:, 2], plan.strategy(INDEPENDENT).holdings_shares[:, 2])
