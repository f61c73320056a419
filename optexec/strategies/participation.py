"""The participation limit: no child order above a share of its slice's expected market volume (issue 13 item 5;
the slice volumes are those of optexec.models.slice_market_volume, docs/MATH.md section 8).

``limit_participation(schedule, max_participation)`` caps each child order n_k at cap_k = max_participation x v_k
(v_k the slice's expected market volume), moving the excess forward to the next slices with room and, when the
end of the horizon is reached with shares left, back to the latest earlier slices with room. It is a pure
function: it returns a new Schedule whose warnings say what was moved, or that the strategy cannot respect the
limit and its maximum participation:

* a block (``Schedule.blocks_shares``: an immediate sweep, Obizhaeva–Wang's end blocks, POV's final sweep) is the
  strategy's choice and is never split; a schedule with a block breaks the limit whatever the block's size against
  its slice's volume, since a trade done at once takes the book at an unbounded rate (and measured against one
  slice's volume its participation would depend on the grid);
* when the caps of all slices hold less than the order, the schedule is capped at the lowest participation that
  finishes it (found by bisection) and says so;
* child orders against the order's direction (a strong drift) are left as they are.

The forward pass is a Lindley recursion, carry_k = max(0, carry_{k-1} + n_k - cap_k), computed without a loop as
carry_k = S_k - min_{j <= k} S_j with S_k = sum_{i <= k} (n_i - cap_i) and S_0 = 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from optexec import constants
from optexec.models import Order, Schedule, check_finite

#: the default limit (constants.DEFAULT_MAX_PARTICIPATION: 25% of a slice's expected market volume)
DEFAULT_MAX_PARTICIPATION = constants.DEFAULT_MAX_PARTICIPATION


def check_max_participation(value: float) -> float:
    """The maximum participation as a float in (0, 1]; ValueError otherwise."""
    rate = check_finite("maximum participation", value)
    if not 0 < rate <= 1:
        raise ValueError(
            f"the maximum participation must be above 0 and at most 1 (a share of each slice's expected market "
            f"volume), got {rate:g}"
        )
    return rate


def _forward_carry(excess: np.ndarray) -> np.ndarray:
    """carry_k = max(0, carry_{k-1} + excess_k), carry_0 = 0 (Lindley recursion, vectorised; module docstring)."""
    running = np.concatenate([[0.0], np.cumsum(excess)])
    return (running - np.minimum.accumulate(running))[1:]


def _fill_backward(room: np.ndarray, shares: float) -> np.ndarray:
    """Shares added to each slice when ``shares`` go into the latest slices with room first."""
    later = np.cumsum(room[::-1])[::-1] - room  # room after slice k
    return np.clip(shares - later, 0.0, room)


def _block_warning(blocks: np.ndarray, order: Order, limit_words: str) -> str:
    """Why a schedule with blocks never keeps a participation limit (module docstring)."""
    shares = float(np.sum(np.maximum(blocks, 0.0)))
    return (
        f"cannot respect the max participation of {limit_words}: its blocks ({shares:,.0f} shares, "
        f"{shares / order.shares:.0%} of the order) are done at once, and a trade done at once takes the whole book "
        "whatever the slice's volume (it is ranked after the strategies that keep the limit)"
    )


def limit_participation(schedule: Schedule, max_participation: float = DEFAULT_MAX_PARTICIPATION) -> Schedule:
    """The schedule with no child order above ``max_participation`` x its slice's expected volume where it can
    (module docstring); its warnings name the limit, or say why the strategy cannot respect it."""
    rate = check_max_participation(max_participation)
    order = schedule.order
    volume = np.asarray(schedule.market_volume_shares, dtype=float)
    trades = np.asarray(schedule.trades_shares, dtype=float)
    blocks = schedule.block_trades_shares
    tolerance = 1e-9 * order.shares
    cap = rate * np.maximum(volume, 0.0)
    limit_words = f"{rate:.0%} of each slice's expected market volume"
    if np.all(trades <= cap + tolerance):
        if not schedule.has_blocks:
            return schedule
        return dataclasses.replace(schedule, warnings=(*schedule.warnings, _block_warning(blocks, order, limit_words)))
    # a block is never split: its slice may take at least the block
    fixed = np.maximum(blocks, 0.0)
    along = np.maximum(trades, 0.0)  # child orders in the order's direction are capped, the others kept
    against = trades - along
    capacity = float(np.maximum(cap, fixed).sum())
    finishing_rate = None
    if along.sum() > capacity + tolerance and volume.sum() > 0:
        # the limit cannot hold the order: cap at the lowest participation that finishes it instead (found by
        # bisection: sum max(r v, blocks) >= the order), rather than piling the rest into the last slice
        low, high = rate, max(rate, 1.0)
        while float(np.maximum(high * volume, fixed).sum()) < along.sum():
            high *= 2.0
        for _ in range(60):
            mid = 0.5 * (low + high)
            low, high = (mid, high) if float(np.maximum(mid * volume, fixed).sum()) < along.sum() else (low, mid)
        finishing_rate = high
        cap = finishing_rate * np.maximum(volume, 0.0)
    room_cap = np.maximum(cap, fixed)
    carry = _forward_carry(along - room_cap)
    taken = along + np.concatenate([[0.0], carry[:-1]]) - carry
    left = carry[-1]
    backward = 0.0
    if left > tolerance:
        room = np.maximum(room_cap - taken, 0.0)
        added = _fill_backward(room, left)
        taken = taken + added
        backward = float(added.sum())
        left -= backward
    if left > tolerance:
        taken[-1] += left  # the caps cannot hold the order: the rest stays in the last slice
    new_trades = taken + against
    moved = float(np.sum(np.abs(new_trades - trades))) / 2.0
    warnings = list(schedule.warnings)
    limit = rate * np.maximum(volume, 0.0)
    over = new_trades > limit * (1 + 1e-9) + tolerance
    if moved > tolerance:
        warnings.append(
            f"child orders capped at {limit_words} (max participation): {moved:,.0f} shares "
            f"({moved / order.shares:.1%} of the order) moved to "
            + ("later slices with room" if backward <= tolerance else "other slices with room")
        )
    if np.any(over):
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(volume > 0, new_trades / volume, np.inf)
        peak = float(np.max(share[over]))
        peak_words = "more than the slice's whole volume" if not np.isfinite(peak) else f"{peak:.0%}"
        reasons = []
        if np.any(over & (fixed > limit * (1 + 1e-9) + tolerance)):
            reasons.append("its blocks are done at once and are not split")
        if finishing_rate is not None:
            reasons.append(
                f"the slices hold at most {capacity:,.0f} shares at that limit, less than the order of "
                f"{order.shares:,.0f}, so it is capped at {finishing_rate:.0%}, the lowest participation that finishes"
            )
        if not reasons:
            reasons.append("its child orders against the order's direction are kept")
        warnings.append(
            f"cannot respect the max participation of {limit_words}: " + "; ".join(reasons)
            + f"; its maximum participation is {peak_words} of a slice's expected volume"
        )  # fmt: skip
    elif schedule.has_blocks:
        warnings.append(_block_warning(blocks, order, limit_words))
    holdings = order.shares - np.concatenate([[0.0], np.cumsum(new_trades)])
    capped = Schedule.from_holdings(
        schedule.strategy, order, schedule.market, holdings, schedule.params, tuple(warnings), schedule.blocks_shares
    )
    return capped
