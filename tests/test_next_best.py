"""The recommendation's "next best" is the best strategy with a materially different schedule, never the winner's
twin (issue 17 item 3: it was nearly always "Almgren–Chriss (continuous), 0.00 bps more")."""

import dataclasses
import re

import numpy as np
import pytest

from optexec import planning
from optexec.models import Order, Schedule
from optexec.planning import MATERIAL_DIFFERENCE, make_plan, materially_different, ranked_rows, recommendation


def _twap(order: Order, market) -> Schedule:
    return Schedule.from_holdings("twap", order, market, np.linspace(order.shares, 0.0, order.slices + 1))


def _moved(schedule: Schedule, share_of_order: float) -> Schedule:
    """The schedule with the holdings after the first child order moved by ``share_of_order`` of the order."""
    holdings = schedule.holdings_shares.copy()
    holdings[1] += share_of_order * schedule.order.shares
    return dataclasses.replace(schedule, holdings_shares=holdings)


def test_schedules_closer_than_the_tolerance_are_the_same_plan(table1_order, table1_market):
    twap = _twap(table1_order, table1_market)
    assert not materially_different(twap, twap)
    assert not materially_different(twap, _moved(twap, 0.5 * MATERIAL_DIFFERENCE))
    assert materially_different(twap, _moved(twap, 2 * MATERIAL_DIFFERENCE))
    assert materially_different(_moved(twap, -2 * MATERIAL_DIFFERENCE), twap)  # symmetric, either sign
    assert not materially_different(twap, _moved(twap, 0.05), tolerance=0.10)


def test_a_block_is_a_material_difference_even_with_the_same_holdings(table1_order, table1_market):
    twap = _twap(table1_order, table1_market)
    blocks = np.zeros(table1_order.slices)
    blocks[0] = 0.1 * table1_order.shares  # the first tenth of the order swept at once, the same holdings after
    swept = dataclasses.replace(twap, blocks_shares=blocks)
    assert materially_different(twap, swept) and materially_different(swept, twap)
    assert not materially_different(swept, dataclasses.replace(twap, blocks_shares=blocks * 1.001))


def _named_next_best(text: str) -> str:
    found = re.search(r"The next best with a different schedule, (.+?), costs ([\d.]+) bps", text)
    assert found, text
    return found.group(1)


@pytest.mark.parametrize("risk_aversion", [1e-7, 1e-6, 1e-5])
def test_the_next_best_is_the_cheapest_materially_different_strategy(table1_order, table1_market, risk_aversion):
    """Table 1 at three risk aversions: the named next best is, of the strategies whose holdings differ from the
    winner's by more than 1% of the order somewhere, the one with the lowest E + λV (worked out here with numpy);
    every strategy ranked between them is a twin of the winner and the text names them as such."""
    plan = make_plan(table1_order, table1_market, {"risk_aversion_per_usd": risk_aversion})
    ranked = ranked_rows(plan)
    best = ranked[0]
    limit = plan.max_participation
    gap = [
        np.max(np.abs(row.schedule.holdings_shares - best.schedule.holdings_shares)) / table1_order.shares
        for row in ranked
    ]
    different = [
        row
        for row, d in zip(ranked, gap, strict=True)
        if (d > MATERIAL_DIFFERENCE or row.schedule.has_blocks != best.schedule.has_blocks)
        and planning.within_limit(row, limit)
    ]
    assert different, "Table 1 has strategies with other schedules"
    expected = min(different, key=lambda row: row.cost.objective_usd(risk_aversion))
    text = recommendation(plan)
    assert _named_next_best(text) == expected.strategy.label
    twins = [row.strategy.label for row, d in zip(ranked[1:], gap[1:], strict=True) if d <= MATERIAL_DIFFERENCE]
    for label in twins:
        assert label in text.split("The next best")[0], (label, text)
        assert _named_next_best(text) != label


def test_the_continuous_twin_is_no_longer_the_next_best(table1_order, table1_market):
    """The issue's case: Almgren–Chriss wins and its continuous-time twin (a schedule within 1% of it) was named
    next best at 0.00 bps; now it is named as the same schedule and the next best costs a real amount more."""
    plan = make_plan(table1_order, table1_market, {"risk_aversion_per_usd": 1e-6})
    rows = {row.strategy.name: row for row in plan.planned}
    best = ranked_rows(plan)[0]
    twin = rows["ac_continuous"]
    assert not materially_different(best.schedule, twin.schedule)
    text = recommendation(plan)
    assert _named_next_best(text) != twin.strategy.label
    assert f"{twin.strategy.label}" in text and "the same schedule to within 1% of the order" in text
    more = float(re.search(r"costs ([\d.]+) bps", text.split("The next best")[1]).group(1))
    assert more > 0.0


def test_no_next_best_when_every_other_strategy_is_a_twin(table1_order, table1_market):
    """TWAP and VWAP plan the same schedule on a flat volume profile: with only them there is no next best."""
    plan = make_plan(table1_order, table1_market, names=["twap", "vwap"])
    text = recommendation(plan)
    assert "The next best" not in text
    assert "plans the same schedule to within 1% of the order" in text
