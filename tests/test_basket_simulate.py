"""Basket Monte Carlo (optexec.baskets.simulate, docs/MATH.md section 12): the market model's charges, the mean and
std against the closed form (sections 10 and 11), and the same numbers on any number of workers and either engine."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from optexec import cli, costs
from optexec.baskets import simulate as mc
from optexec.baskets.input import parse_basket
from optexec.baskets.plan import plan_basket, plan_orders
from optexec.engines import EngineChoice
from optexec.models import MarketParams, Order, Schedule
from optexec.store import db

BASKET = """symbol,side,shares,notional_usd,pct_adv,sector,horizon_days
SYN-LARGE,buy,200000,,,tech,
SYN-MID,sell,,5000000,,tech,0.5
SYN-SMALL,buy,,,5,fin,
SYN-CONCAVE,sell,30000,,,fin,
"""


@pytest.fixture(scope="module")
def plan():
    """The sample basket with a price drift on every name, so that the market move has a mean too."""
    basket = parse_basket(BASKET.encode(), name="basket.csv")
    with db.reading() as con:
        base = plan_basket(basket, con, horizon_days=1.0, slices=13, risk_aversion_per_usd=2e-7)
    drifting = [
        dataclasses.replace(o, market=dataclasses.replace(o.market, drift_usd_per_day=0.01 * o.market.price_usd * k))
        for k, o in zip((1, -2, 3, 1), base.orders, strict=True)
    ]
    return plan_orders(drifting, base.correlation, 1.0, 13, 2e-7)


@pytest.mark.parametrize(
    "market",
    [
        MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, cost_model="linear+transient",
                     transient_strength_usd_per_share2=2e-7, transient_decay_per_day=20.0),
        MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7, cost_model="calibrated", power_coefficient=0.3,
                     power_exponent=0.6, transient_strength_usd_per_share2=1e-7, transient_decay_per_day=10.0),
        MarketParams(50.0, 0.95, 0.125, 5e6, 2.5e-6, 2.5e-7),
    ],
    ids=["linear+transient", "calibrated", "linear"],
)  # fmt: skip
def test_the_charges_are_the_market_models_closed_form(market):
    order = Order("DEMO", "buy", 1e6, 1.0, 8)
    trades = np.array([3e5, 1e5, 1e5, 5e4, 5e4, 1e5, 1e5, 2e5])
    blocks = np.array([2e5, 0, 0, 0, 0, 0, 0, 1e5])  # blocks sweep the book: the transient memory is exercised
    schedule = Schedule.from_trades("test", order, market, trades, blocks_shares=blocks)
    charged = mc.charges_usd(schedule)
    estimate = costs.estimate(schedule)
    for bucket in ("spread", "temporary", "permanent", "transient"):
        assert charged[bucket] == pytest.approx(getattr(estimate, f"{bucket}_usd"), rel=1e-10, abs=1e-9), bucket
    assert charged["transient"] > 0


def test_the_mean_is_the_closed_form_within_its_standard_error(plan):
    result = mc.simulate_basket(plan, paths=40_000, seed=11)
    assert {s.name for s in result.strategies} == {r.name for r in plan.strategies if not r.error}
    for s in result.strategies:
        planned = plan.strategy(s.name)
        assert abs(s.mean_usd - planned.expected_usd) < 4 * s.stderr_mean_usd, s.name
        assert s.expected_usd == planned.expected_usd
        # the sample std of P normal costs has a relative error of about 1/sqrt(2P)
        assert abs(s.std_usd / planned.risk.std_usd - 1) < 5 / math.sqrt(2 * s.paths), s.name
        order_se = s.order_std_usd / math.sqrt(s.paths)
        assert np.all(np.abs(s.order_mean_usd - planned.expected_by_order_usd) < 4 * order_se), s.name
        for order_std, estimate in zip(s.order_std_usd, planned.estimates, strict=True):
            assert order_std == pytest.approx(estimate.std_usd, rel=5 / math.sqrt(2 * s.paths))
        spread = sum(e.spread_usd for e in planned.estimates)
        assert s.components_usd["spread"] == pytest.approx(spread, rel=1e-10)
        drift = sum(e.drift_usd for e in planned.estimates)
        assert abs(s.components_usd["timing"] - drift) < 4 * s.stderr_mean_usd
        assert s.var95_usd > s.mean_usd and s.cvar95_usd > s.var95_usd
        assert s.bps(s.mean_usd) == pytest.approx(1e4 * s.mean_usd / plan.gross_notional_usd)


def test_the_same_numbers_on_one_and_two_workers_and_serially(plan):
    runs = [
        mc.simulate_basket(plan, paths=6_000, seed=3, choice=choice, chunk_paths=1_000)
        for choice in (EngineChoice("serial"), EngineChoice("dask", workers=1), EngineChoice("dask", workers=2))
    ]
    assert [r.chunks for r in runs] == [6, 6, 6]
    assert runs[2].engine == "Dask, a local cluster of 2 worker processes"
    for other in runs[1:]:
        for a, b in zip(runs[0].strategies, other.strategies, strict=True):
            assert np.array_equal(a.cost_usd, b.cost_usd)
            assert np.array_equal(a.order_mean_usd, b.order_mean_usd)
            assert np.array_equal(a.order_std_usd, b.order_std_usd)
            assert a.var95_usd == b.var95_usd and a.components_usd == b.components_usd


def test_each_chunk_draws_from_its_own_spawned_seed(plan):
    result = mc.simulate_basket(plan, paths=2_500, seed=5, chunk_paths=1_000)
    assert result.chunks == 3
    spec, _, _ = mc._spec(plan, [s.name for s in result.strategies])
    third = mc.simulate_chunk(spec, np.random.SeedSequence(5).spawn(3)[2], 500)
    assert np.array_equal(result.strategies[0].cost_usd[2_000:], third.totals[0])
    again = mc.simulate_basket(plan, paths=2_500, seed=5, chunk_paths=1_000)
    assert np.array_equal(again.strategies[0].cost_usd, result.strategies[0].cost_usd)
    other = mc.simulate_basket(plan, paths=2_500, seed=6, chunk_paths=1_000)
    assert not np.array_equal(other.strategies[0].cost_usd, result.strategies[0].cost_usd)
    for bad, message in ((1, "number of paths"), (2.5, "number of paths")):
        with pytest.raises(ValueError, match=message):
            mc.simulate_basket(plan, paths=bad)
    with pytest.raises(ValueError, match="seed"):
        mc.simulate_basket(plan, paths=10, seed=-1)
    with pytest.raises(ValueError, match="not planned"):
        mc.simulate_basket(plan, paths=10, names=["vwap"])


def test_a_singular_correlation_still_gives_its_square_root():
    r = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    factor, note = mc.correlation_factor(r)
    assert np.allclose(factor @ factor.T, r, atol=1e-12) and "singular" in note
    full = np.array([[1.0, 0.3], [0.3, 1.0]])
    factor, note = mc.correlation_factor(full)
    assert note is None and np.allclose(np.tril(factor), factor) and np.allclose(factor @ factor.T, full)


def test_the_basket_command_simulates_with_paths(tmp_path, capsys):
    path = tmp_path / "basket.csv"
    path.write_text(BASKET)
    assert cli.main(["basket", str(path), "--slices", "13", "--paths", "2000", "--seed", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    sim = out["monte_carlo"]
    assert sim["paths"] == 2000 and sim["seed"] == 4 and sim["engine"] == "serial (this process)"
    joint = next(s for s in sim["strategies"] if s["name"] == "joint_ac")
    planned = next(s for s in out["strategies"] if s["name"] == "joint_ac")
    assert joint["expected_cost_usd_closed_form"] == pytest.approx(planned["expected_cost_usd"])
    assert abs(joint["mean_cost_usd"] - planned["expected_cost_usd"]) < 5 * joint["stderr_mean_usd"]
    assert [o["symbol"] for o in joint["orders"]] == ["SYN-LARGE", "SYN-MID", "SYN-SMALL", "SYN-CONCAVE"]
    assert cli.main(["basket", str(path), "--paths", "1"]) == 2
    assert "number of paths must be a whole number between 2" in capsys.readouterr().err
    assert cli.main(["basket", str(path), "--paths", "100", "--workers", "2"]) == 2
    assert "--workers and --scheduler need --engine dask" in capsys.readouterr().err
