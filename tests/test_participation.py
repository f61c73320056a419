"""The participation limit (issue 13 item 5): the pure capping function on hand-worked cases and against a loop, and
every registered strategy on a 25%-of-ADV sell over 3 days."""

import re

import numpy as np
import pytest

from optexec import constants
from optexec.models import MarketParams, Order, Schedule, u_shaped_volume_profile
from optexec.planning import resolve_inputs
from optexec.strategies import registry
from optexec.strategies.participation import DEFAULT_MAX_PARTICIPATION, limit_participation

#: strategies whose build is not in this module's hands: the RL agent's build is resolved by its caller (a trained
#: agent; optexec/strategies/rl_agent.py applies limit_participation at the merge of the own-parts work)
NOT_COVERED = {"rl_agent"}


def flat(adv=400.0, cost_model="linear") -> MarketParams:
    """A flat profile: a 4-slice, 1-day order sees adv / 4 shares of market volume per slice."""
    return MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, adv, cost_model=cost_model)


def schedule(trades, blocks=None, adv=400.0) -> Schedule:
    order = Order("P", "buy", float(np.sum(trades)), 1.0, len(trades))
    return Schedule.from_trades("test", order, flat(adv), np.asarray(trades, float), blocks_shares=blocks)


def test_the_default_is_the_constant():
    assert DEFAULT_MAX_PARTICIPATION == constants.DEFAULT_MAX_PARTICIPATION == 0.25


def test_a_schedule_within_the_limit_is_returned_as_it_is():
    within = schedule([25.0, 25.0, 25.0, 25.0])
    assert limit_participation(within, 0.25) is within


def test_front_loaded_excess_moves_to_the_next_slices_with_room():
    """Volume 100 per slice, cap 25: [60, 20, 10, 10] carries 35, 30, 15 forward: [25, 25, 25, 25]."""
    capped = limit_participation(schedule([60.0, 20.0, 10.0, 10.0]), 0.25)
    np.testing.assert_allclose(capped.trades_shares, [25.0, 25.0, 25.0, 25.0], rtol=1e-12)
    assert "capped at 25% of each slice's expected market volume" in capped.warnings[-1]
    assert "35 shares (35.0% of the order) moved to later slices" in capped.warnings[-1]
    assert not any("cannot" in w for w in capped.warnings)


def test_what_is_left_at_the_horizon_goes_back_to_the_latest_slices_with_room():
    """[0, 0, 10, 90]: the last slice keeps 25, the 65 left fill slice 3 (15 more), then 2 and 1."""
    capped = limit_participation(schedule([0.0, 0.0, 10.0, 90.0]), 0.25)
    np.testing.assert_allclose(capped.trades_shares, [25.0, 25.0, 25.0, 25.0], rtol=1e-12)
    assert "moved to other slices with room" in capped.warnings[-1]
    partial = limit_participation(schedule([0.0, 0.0, 10.0, 60.0]), 0.25)
    np.testing.assert_allclose(partial.trades_shares, [0.0, 20.0, 25.0, 25.0], rtol=1e-12)


def test_capacity_below_the_order_says_it_cannot_and_its_maximum_participation():
    """Cap 20 per slice holds 80 of 100: the order is capped at the lowest participation that finishes it (25%, 25
    shares a slice), not piled into the last slice, and the row says so."""
    capped = limit_participation(schedule([40.0, 30.0, 20.0, 10.0]), 0.2)
    np.testing.assert_allclose(capped.trades_shares, [25.0, 25.0, 25.0, 25.0], rtol=1e-9)
    assert "cannot respect the max participation of 20%" in capped.warnings[-1]
    assert "the slices hold at most 80 shares at that limit, less than the order of 100" in capped.warnings[-1]
    assert "capped at 25%, the lowest participation that finishes" in capped.warnings[-1]
    assert "its maximum participation is 25% of a slice's expected volume" in capped.warnings[-1]


def test_a_block_is_never_split():
    """Immediate: one block of the whole order in the first slice breaks any limit below its share of the volume."""
    blocks = np.array([100.0, 0.0, 0.0, 0.0])
    capped = limit_participation(schedule(blocks, blocks), 0.25)
    np.testing.assert_array_equal(capped.trades_shares, blocks)
    np.testing.assert_array_equal(capped.blocks_shares, blocks)
    assert "its blocks are done at once and are not split" in capped.warnings[-1]
    assert "its maximum participation is 100%" in capped.warnings[-1]
    # a block with a worked part: the worked part moves, the block stays
    mixed = limit_participation(schedule([50.0, 10.0, 10.0, 10.0], [30.0, 0.0, 0.0, 0.0]), 0.25)
    np.testing.assert_allclose(mixed.trades_shares, [30.0, 25.0, 15.0, 10.0], rtol=1e-12)
    np.testing.assert_array_equal(mixed.blocks_shares, [30.0, 0.0, 0.0, 0.0])


def loop_reference(trades, caps):
    """The same capping written as a plain loop over the slices (forward carry, then backward fill)."""
    taken, carry = np.zeros(len(trades)), 0.0
    for k, (want, cap) in enumerate(zip(trades, caps, strict=True)):
        taken[k] = min(want + carry, cap)
        carry = want + carry - taken[k]
    for k in range(len(trades) - 1, -1, -1):
        add = min(carry, caps[k] - taken[k])
        taken[k] += add
        carry -= add
    taken[-1] += carry
    return taken


@pytest.mark.parametrize("seed", range(20))
def test_the_vectorised_capping_equals_a_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    trades = rng.exponential(1.0, n) * rng.uniform(0, 1, n) ** 3 * 100
    order = Order("P", "buy", float(trades.sum()), 1.0, n)
    market = flat(adv=float(rng.uniform(0.5, 8.0)) * trades.sum())
    rate = float(rng.uniform(0.05, 1.0))
    capped = limit_participation(Schedule.from_trades("r", order, market, trades), rate)
    volume = np.asarray(capped.market_volume_shares)
    # when the limit cannot hold the order the cap is the lowest participation that finishes (no blocks here)
    caps = max(rate, trades.sum() / volume.sum() * (1 + 1e-15)) * volume
    np.testing.assert_allclose(capped.trades_shares, loop_reference(trades, caps), rtol=1e-9, atol=1e-9)
    assert capped.trades_shares.sum() == pytest.approx(trades.sum(), rel=1e-12)
    if caps.sum() >= trades.sum():
        assert np.all(capped.trades_shares <= caps * (1 + 1e-9) + 1e-9)


@pytest.mark.parametrize("value", [0.0, -0.1, 1.5, float("nan")])
def test_bad_limits_are_plain_errors(value):
    with pytest.raises(ValueError, match="maximum participation"):
        limit_participation(schedule([25.0] * 4), value)


# ---- every strategy: a 25%-of-ADV sell over 3 days (the issue's order) -------------------------------------------


def big_sell(slices: int) -> tuple[Order, MarketParams]:
    market = MarketParams.from_rules_of_thumb(50.0, 1.0, 0.02, 5e6, volume_profile=u_shaped_volume_profile())
    return Order("BIG", "sell", 0.25 * 5e6, 3.0, slices), market


COVERED = [name for name in registry.STRATEGIES if name not in NOT_COVERED]


def test_every_strategy_but_the_named_ones_is_covered():
    assert set(registry.STRATEGIES) - set(COVERED) == NOT_COVERED


@pytest.mark.parametrize("risk_aversion", [1e-6, 5e-6])
@pytest.mark.parametrize("slices", [39, 234])
@pytest.mark.parametrize("name", COVERED)
def test_no_child_order_above_the_limit_unless_the_row_says_it_cannot(name, slices, risk_aversion):
    order, market = big_sell(slices)
    strategy = registry.get(name)
    settings = {"risk_aversion_per_usd": risk_aversion}
    built = strategy.schedule(order, market, {**settings, **resolve_inputs(order, market, settings, [strategy])})
    peak = float(np.max(built.participation))
    cannot = [w for w in built.warnings if "cannot respect the max participation of 25%" in w]
    if np.any(built.block_trades_shares > 0):  # a block done at once never keeps a limit, whatever its slice
        assert cannot and "are done at once" in cannot[-1]
        return
    if peak <= 0.25 * (1 + 1e-9):
        assert not cannot
        return
    assert cannot, f"{name} takes {peak:.0%} of a slice's volume and does not say it cannot respect 25%"
    said = re.search(r"its maximum participation is (\d+)%", cannot[-1])
    assert said and int(said.group(1)) == round(100 * peak)


def test_the_limit_binds_on_the_issues_schedules():
    """Without the limit Almgren–Chriss at lambda = 5e-6 takes far more than 25% at the open (the issue measured
    85-90%); with it, it stays within 25% and its warning says how much moved."""
    order, market = big_sell(234)
    free = registry.get("ac_discrete").schedule(order, market, {"risk_aversion_per_usd": 5e-6, "max_participation": 1})
    assert np.max(free.participation) > 0.5
    capped = registry.get("ac_discrete").schedule(order, market, {"risk_aversion_per_usd": 5e-6})
    assert np.max(capped.participation) <= 0.25 * (1 + 1e-9)
    assert "moved to later slices with room" in capped.warnings[-1]


@pytest.mark.parametrize("name", COVERED)
def test_every_strategy_takes_the_setting_and_refuses_a_bad_one(name):
    strategy = registry.get(name)
    assert strategy.make_params({"max_participation": 0.4}).max_participation == 0.4
    with pytest.raises(ValueError, match="maximum participation"):
        strategy.make_params({"max_participation": 0.0})
