"""Benchmark schedules: immediate, TWAP, VWAP and POV (docs/MATH.md section 8), defined in time so that their cost does
not depend on the slice grid beyond a vanishing discretisation error (docs/MATH.md section 11): immediate is one
block that sweeps the order book, TWAP a constant rate, VWAP and POV follow the expected volume, POV's unfinished rest
is one final block. Each respects the participation limit where it can (optexec.strategies.participation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optexec.clock import duration_words
from optexec.models import MarketParams, Order, Schedule, check_finite, slice_market_volume
from optexec.strategies.base import Decision, StepState, Strategy, param, shared
from optexec.strategies.participation import check_max_participation, limit_participation

#: what a benchmark schedule optimises (the "optimises under" of the plan table)
BENCHMARK = "none: a benchmark schedule"


@dataclass(frozen=True)
class NoParams:
    """A strategy without parameters of its own.

    max_participation : the shared participation limit, a share of each slice's expected market volume.
    """

    max_participation: float = shared("max_participation")

    def __post_init__(self) -> None:
        check_max_participation(self.max_participation)


def immediate(order: Order, market: MarketParams, params: NoParams) -> Schedule:
    """The whole order as one block at the start (docs/MATH.md section 8, 'immediate'): blocks_shares = [X, 0, ...],
    priced as a sweep of the market's order book whatever the slice grid (docs/MATH.md section 11)."""
    trades = np.zeros(order.slices)
    trades[0] = order.shares
    schedule = Schedule.from_trades("immediate", order, market, trades, params.__dict__, blocks_shares=trades)
    return limit_participation(schedule, params.max_participation)


@dataclass(frozen=True)
class TWAPParams:
    """TWAP parameters.

    randomize_fraction : each slice is drawn uniformly within +/- this fraction of X/N, then all
        slices are rescaled to sum to the order (0 = plain TWAP); in [0, 1).
    seed : random seed for the randomised slice sizes.
    max_participation : the shared participation limit, a share of each slice's expected market volume.
    """

    randomize_fraction: float = param(0.0, "TWAP randomisation", min_value=0.0, max_value=0.9, step=5.0,
                                      percent=True, help="Slice sizes drawn within ± this share of X/N.")  # fmt: skip
    seed: int = param(0, "Random seed", min_value=0)
    max_participation: float = shared("max_participation")

    def __post_init__(self) -> None:
        check_max_participation(self.max_participation)
        fraction = check_finite("TWAP randomisation", self.randomize_fraction)
        if not 0 <= fraction < 1:
            raise ValueError(f"TWAP randomisation must be in [0, 1), got {fraction:g}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed!r}")


def twap(order: Order, market: MarketParams, params: TWAPParams) -> Schedule:
    """A constant rate X / T: equal slices n_k = X/N (docs/MATH.md section 8), optionally randomised with a seed."""
    weights = np.ones(order.slices)
    if params.randomize_fraction > 0:
        rng = np.random.default_rng(params.seed)
        weights += params.randomize_fraction * rng.uniform(-1.0, 1.0, order.slices)
    trades = order.shares * weights / weights.sum()
    return limit_participation(Schedule.from_trades("twap", order, market, trades, params.__dict__),
                               params.max_participation)  # fmt: skip


def vwap(order: Order, market: MarketParams, params: NoParams) -> Schedule:
    """n_k = w_k X with w_k the expected share of market volume in slice k (docs/MATH.md section 8)."""
    volume = slice_market_volume(order, market)
    total = volume.sum()
    weights = volume / total if total > 0 else np.full(order.slices, 1.0 / order.slices)
    schedule = Schedule.from_trades("vwap", order, market, order.shares * weights, params.__dict__)
    return limit_participation(schedule, params.max_participation)


@dataclass(frozen=True)
class POVParams:
    """POV parameters.

    participation_rate : fraction of expected market volume to trade in each slice, in (0, 1].
    max_participation : the shared participation limit (a rate above it is capped to it).
    """

    participation_rate: float = param(0.1, "POV participation", min_value=0.01, max_value=1.0, step=1.0,
                                      percent=True, help="Share of expected market volume per slice.")  # fmt: skip
    max_participation: float = shared("max_participation")

    def __post_init__(self) -> None:
        check_max_participation(self.max_participation)
        rate = check_finite("participation rate", self.participation_rate)
        if not 0 < rate <= 1:
            raise ValueError(f"participation rate must be in (0, 1] (a fraction of volume), got {rate:g}")


def pov(order: Order, market: MarketParams, params: POVParams) -> Schedule:
    """Trade a fixed share of expected market volume each slice until done (docs/MATH.md section 8).

    If the horizon is too short to finish, the remainder goes as one block (a sweep of the order book) at the
    start of the last slice and the schedule says how much that is. A rate above the participation limit is
    capped by it (the excess moves to later slices with room).
    """
    volume = slice_market_volume(order, market)
    cumulative = np.cumsum(params.participation_rate * volume)
    cumulative[cumulative >= order.shares * (1 - 1e-12)] = order.shares  # done; no rounding crumbs after
    trades = np.diff(np.concatenate([[0.0], cumulative]))
    left_shares = order.shares - cumulative[-1]
    warnings: tuple[str, ...] = ()
    blocks = None
    if left_shares > 1e-9 * order.shares:
        trades[-1] += left_shares
        blocks = np.zeros(order.slices)
        blocks[-1] = left_shares
        warnings = (
            (
                f"POV at {params.participation_rate:.0%} of volume cannot finish within "
                f"{duration_words(order.horizon_days, market.session_minutes)}: "
                f"{left_shares:,.0f} shares ({left_shares / order.shares:.1%} of the order) are left and go as one "
                "block in the last slice."
            ),
        )
    schedule = Schedule.from_trades("pov", order, market, trades, params.__dict__, warnings, blocks)
    return limit_participation(schedule, params.max_participation)


class POVPolicy:
    """Trade ``participation_rate`` x the slice's realised market volume, never more than what is left."""

    def __init__(self, participation_rate: float) -> None:
        self.rate = participation_rate

    def decide(self, state: StepState) -> Decision:
        """rate x realised volume, capped at the remainder (the simulator finishes at the horizon if asked)."""
        return Decision(np.minimum(self.rate * state.market_volume_shares, state.remaining_shares))


def pov_policy(order: Order, market: MarketParams, params: POVParams) -> POVPolicy:
    """POV on realised volume."""
    return POVPolicy(params.participation_rate)


STRATEGIES = [
    Strategy(
        "immediate",
        "Immediate",
        NoParams,
        immediate,
        "The whole order at once as one block that sweeps the order book (half the displacement it makes).",
        optimises=BENCHMARK,
    ),
    Strategy(
        "twap",
        "TWAP",
        TWAPParams,
        twap,
        "Equal child orders in every slice (optionally randomised).",
        optimises=BENCHMARK,
    ),
    Strategy(
        "vwap", "VWAP", NoParams, vwap, "Child orders in proportion to the expected market volume.", optimises=BENCHMARK
    ),
    Strategy(
        "pov",
        "POV",
        POVParams,
        pov,
        "A fixed fraction of the expected market volume until done.",
        policy=pov_policy,
        optimises=BENCHMARK,
    ),  # fmt: skip
]
