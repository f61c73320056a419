"""Two strategies defined by their feedback policies: the limit-order ladder and the regime-adaptive schedule.

A *policy* (optexec.strategies.base: ``StepState``, ``Decision``, ``Policy``) decides each slice's child order from
what it can see on every simulated path at once; the simulator (optexec.simulation.engine) fills the order and
charges the costs. Each strategy module declares its own policy in ``Strategy(..., policy=...)``.

* ``LadderPolicy`` (strategy "limit_ladder"): each slice's TWAP child order is posted in equal parts at the touch
  and at deeper levels. One uniform U per slice and path says how deep the market traded: level j (0 = touch)
  fills iff U < p_j, p_j = p_touch exp(-decay j), so a deeper fill implies the shallower ones. A passive fill pays
  no spread (it saves the half-spread a market order pays; the bid-versus-mid gain is taken as lost to adverse
  selection) and level j improves on the touch by j x spacing x spread. Temporary, permanent and transient impact
  are charged on every share traded, passive or not (conservative: only the spread is saved). Unfilled shares
  cross the spread at the end of the slice, or (``ladder_cross_unfilled`` False) are posted again in the next
  slice; at the horizon everything left is done at market.
* ``RegimePolicy`` (strategy "regime_adaptive"): a rate in time that finishes at the horizon, sped up or slowed
  by the liquidity it sees. The base rate is what is left over the time left, q / (T - t) (TWAP of the remainder,
  renormalised every slice); it is multiplied by ``regime_high_speed`` when liquidity looks high and by
  ``regime_low_speed`` when it looks low. Low liquidity is detected when the slice's market volume is below
  ``regime_volume_threshold`` x its expectation or the spread is above ``regime_spread_threshold`` x normal. A
  slice of tau trades min(1, f tau / (T - t)) of the remainder; the last slice finishes the order. In continuous
  time at a constant speed f the holdings are X ((T - t) / T)^f, whatever the grid (docs/MATH.md section 11).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from optexec.models import MarketParams, Order, Schedule, check_finite, check_positive
from optexec.strategies.base import RESOLVED_KEY, Decision, StepState, Strategy, param, shared, user_settings
from optexec.strategies.participation import check_max_participation, limit_participation

# --------------------------------------------------------------------------------------------------------------
# Limit-order ladder
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LadderParams:
    """Limit-order ladder parameters (module docstring).

    ladder_levels : price levels per slice (1 = the touch only).
    ladder_spacing_spreads : distance between levels, as a fraction of the spread.
    ladder_touch_fill_probability : chance the touch level fills within its slice, in [0, 1].
    ladder_depth_decay : fill chance falls by exp(-decay) per level deeper (>= 0).
    ladder_cross_unfilled : True = unfilled shares cross the spread at the end of the slice; False = post them
        again in the next slice (the rest goes at market at the horizon).
    max_participation : the shared participation limit of the expected schedule.
    """

    ladder_levels: int = param(3, "Ladder levels")  # whole, 1-20: checked by the strategy
    ladder_spacing_spreads: float = param(0.5, "Ladder spacing", "spreads", min_value=0.0)
    ladder_touch_fill_probability: float = param(
        0.5,
        "Ladder fill probability at the touch",
        min_value=0.0,
        max_value=1.0,
        step=5.0,
        percent=True,
        help="Chance a slice posted at the touch fills.",
    )
    ladder_depth_decay: float = param(0.7, "Ladder depth decay", min_value=0.0)
    ladder_cross_unfilled: bool = param(True, "Ladder cross unfilled")
    max_participation: float = shared("max_participation")

    def __post_init__(self) -> None:
        check_max_participation(self.max_participation)
        levels = self.ladder_levels
        if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or not 1 <= levels <= 20:
            raise ValueError(f"the ladder needs a whole number of levels between 1 and 20, got {levels!r}")
        if check_finite("ladder spacing (fraction of the spread)", self.ladder_spacing_spreads) < 0:
            raise ValueError(f"ladder spacing must be >= 0, got {self.ladder_spacing_spreads:g}")
        probability = check_finite("touch fill probability", self.ladder_touch_fill_probability)
        if not 0 <= probability <= 1:
            raise ValueError(f"the touch fill probability must be between 0 and 1, got {probability:g}")
        if check_finite("ladder depth decay", self.ladder_depth_decay) < 0:
            raise ValueError(f"the ladder depth decay must be >= 0, got {self.ladder_depth_decay:g}")

    def fill_probabilities(self) -> np.ndarray:
        """p_j = p_touch exp(-decay j), j = 0 (touch) .. levels - 1."""
        return self.ladder_touch_fill_probability * np.exp(-self.ladder_depth_decay * np.arange(self.ladder_levels))

    @property
    def expected_fill_fraction(self) -> float:
        """Expected share of a posted slice that fills passively: the mean of p_j (equal parts per level)."""
        return float(self.fill_probabilities().mean())


class LadderPolicy:
    """Post each slice's TWAP child order (plus any carried-over shares) over the ladder (module docstring)."""

    def __init__(self, order: Order, market: MarketParams, params: LadderParams) -> None:
        self.params = params
        self.base_shares = order.shares / order.slices
        self.levels = params.ladder_levels
        self.ascending_probabilities = params.fill_probabilities()[::-1].copy()
        self.carry: np.ndarray | None = None

    def decide(self, state: StepState) -> Decision:
        """Passive fills from the slice's fill uniform; the unfilled part crosses now or is carried over."""
        remaining = state.remaining_shares
        if state.step == 0 or self.carry is None:
            self.carry = np.zeros(remaining.shape)
        posted = np.minimum(self.base_shares + self.carry, remaining)
        # p_j decreases with depth, so the levels that fill are j < count, count = #{j: U < p_j}
        count = self.levels - np.searchsorted(self.ascending_probabilities, state.fill_uniform, side="right")
        part = posted / self.levels
        passive = part * count
        spacing = self.params.ladder_spacing_spreads
        gain = part * (0.5 * spacing * count * (count - 1)) * state.spread_usd  # sum_{j < count} j spacing spread
        unfilled = posted - passive
        if self.params.ladder_cross_unfilled or state.is_last:
            market_shares = remaining - passive if state.is_last else unfilled
            self.carry = np.zeros(remaining.shape)
        else:
            market_shares = np.zeros(remaining.shape)
            self.carry = unfilled
        return Decision(market_shares, passive, gain)


def ladder_expected_spread_usd(order: Order, market: MarketParams, params: LadderParams) -> float:
    """Expected spread cost of the ladder when unfilled shares cross each slice, $ (compare eps X for TWAP).

    (s/2) X (1 - mean_j p_j) - s x spacing x X mean_j (j p_j): crossed shares pay the half-spread, a fill at
    level j gains j x spacing x spread (fills are independent of the spread, which averages to s).
    """
    p = params.fill_probabilities()
    depth = np.arange(params.ladder_levels)
    spread, shares = market.spread_usd, order.shares
    return float(spread * shares * (0.5 * (1 - p.mean()) - params.ladder_spacing_spreads * (depth * p).mean()))


def ladder_policy(order: Order, market: MarketParams, params: LadderParams) -> LadderPolicy:
    """The ladder's feedback policy for the simulator."""
    return LadderPolicy(order, market, params)


def limit_ladder(order: Order, market: MarketParams, params: LadderParams) -> Schedule:
    """Expected holdings of the ladder: TWAP when unfilled shares cross each slice; otherwise
    E[posted_k] = X/N + E[carry_k], E[carry_{k+1}] = (1 - f) E[posted_k], f = mean fill probability, and the
    last slice takes the rest (exact in expectation: the fills are independent of what is posted)."""
    n, base = order.slices, order.shares / order.slices
    if params.ladder_cross_unfilled:
        trades = np.full(n, base)
    else:
        fill = params.expected_fill_fraction
        trades, carry = np.empty(n), 0.0
        for k in range(n):
            posted = base + carry
            trades[k] = fill * posted
            carry = posted - trades[k]
        trades[-1] += carry  # what is still unfilled at the horizon is done at market
    saving_usd = market.half_spread_usd * order.shares - ladder_expected_spread_usd(order, market, params)
    note = (
        "the cost table prices this expected schedule like any other, paying the half spread on every share; "
        f"passive fills are expected to save about ${saving_usd:,.0f} of spread (see the Simulate page)"
        if params.ladder_cross_unfilled
        else "the cost table prices this expected schedule, paying the half spread on every share; passive fills "
        "save part of it (see the Simulate page)"
    )
    schedule = Schedule.from_trades("limit_ladder", order, market, trades, params.__dict__, (note,))
    return limit_participation(schedule, params.max_participation)


# --------------------------------------------------------------------------------------------------------------
# Regime-adaptive schedule
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegimeParams:
    """Regime-adaptive parameters (module docstring).

    regime_high_speed : multiple of the base rate (remainder / time left) when liquidity is high, in (0.5, 5].
    regime_low_speed : the same when liquidity is low, in (0.5, 5]. Below 0.5 the rate near the horizon grows so
        fast that the temporary cost diverges as the slices shorten.
    regime_volume_threshold : low liquidity when the slice's volume < this x its expectation.
    regime_spread_threshold : low liquidity when the spread > this x the normal spread.
    max_participation : the shared participation limit, a share of each slice's expected (in the simulator:
        realised) market volume.
    liquidity_model : the market model whose liquidity regimes and noise the expected schedule is computed
        under (the caller resolves it: the simulator's default model; not a user setting).
    """

    regime_high_speed: float = param(1.5, "Regime: speed in high liquidity", "× the rate that finishes on time",
                                     min_value=0.55, max_value=5.0, step=0.05)  # fmt: skip
    regime_low_speed: float = param(0.75, "Regime: speed in low liquidity", "× the rate that finishes on time",
                                    min_value=0.55, max_value=5.0, step=0.05)  # fmt: skip
    regime_volume_threshold: float = param(0.75, "Regime volume threshold", min_value=0.0)
    regime_spread_threshold: float = param(1.3, "Regime spread threshold", min_value=0.0)
    max_participation: float = shared("max_participation")
    liquidity_model: Any = dataclasses.field(default=None, compare=False, repr=False,
                                             metadata={RESOLVED_KEY: "market_model"})  # fmt: skip

    def __post_init__(self) -> None:
        for label, value in [
            ("high-liquidity speed", self.regime_high_speed),
            ("low-liquidity speed", self.regime_low_speed),
        ]:
            if not 0.5 < check_finite(label, value) <= 5:
                raise ValueError(
                    f"the {label} must be above 0.5 and at most 5 (a multiple of the rate that finishes at the "
                    f"horizon), got {value:g}"
                )
        check_positive("regime volume threshold", self.regime_volume_threshold)
        check_positive("regime spread threshold", self.regime_spread_threshold)
        check_max_participation(self.max_participation)


def slice_fractions(speeds: np.ndarray, order: Order, step: int) -> np.ndarray:
    """Share of the remainder a slice traded at a speed f takes: min(1, f tau / (T - t)) at slice ``step``; the
    last slice takes everything (module docstring)."""
    if step >= order.slices - 1:
        return np.ones_like(np.asarray(speeds, dtype=float))
    return np.minimum(1.0, np.asarray(speeds, dtype=float) / (order.slices - step))


class RegimePolicy:
    """Trade the base rate times the high or low speed, depending on the liquidity seen in the slice, at most the
    participation limit of the slice's volume (module docstring)."""

    def __init__(self, order: Order, market: MarketParams, params: RegimeParams) -> None:
        self.order, self.params = order, params

    def detect_low(self, state: StepState) -> np.ndarray:
        """True where the slice's volume or spread says liquidity is low."""
        p = self.params
        thin = state.market_volume_shares < p.regime_volume_threshold * state.expected_volume_shares
        wide = state.spread_usd > p.regime_spread_threshold * state.normal_spread_usd
        return thin | wide

    def decide(self, state: StepState) -> Decision:
        """speed x remainder / slices left, at most max participation x the slice's volume; all in the last."""
        if state.is_last:
            return Decision(state.remaining_shares.copy())
        p = self.params
        speed = np.where(self.detect_low(state), p.regime_low_speed, p.regime_high_speed)
        wanted = slice_fractions(speed, self.order, state.step) * state.remaining_shares
        return Decision(np.minimum(wanted, p.max_participation * state.market_volume_shares))


def regime_policy(order: Order, market: MarketParams, params: RegimeParams) -> RegimePolicy:
    """The regime-adaptive feedback policy for the simulator."""
    return RegimePolicy(order, market, params)


def detection_probabilities(params: RegimeParams, model: Any) -> np.ndarray:
    """P(low detected | true regime high, low) under the simulator's lognormal volume and spread noise."""
    from scipy.special import ndtr  # the normal CDF; here, not at import (scipy.stats alone costs 0.76 s)

    volume_factor, spread_factor = model.regimes.volume_factors(), model.regimes.spread_factors()

    def below(log_threshold: np.ndarray, noise: float) -> np.ndarray:  # P(exp(noise Z - noise^2/2) < e^log_thr)
        if noise == 0:
            return (log_threshold > 0).astype(float)
        return ndtr((log_threshold + 0.5 * noise**2) / noise)

    thin = below(np.log(params.regime_volume_threshold / volume_factor), model.volume_noise)
    not_wide = below(np.log(params.regime_spread_threshold / spread_factor), model.spread_noise)
    return 1.0 - (1.0 - thin) * not_wide


def regime_adaptive(order: Order, market: MarketParams, params: RegimeParams) -> Schedule:
    """Expected holdings under the liquidity model the caller resolved (``params.liquidity_model``: the
    simulator's default optexec.simulation.market.MarketModel), capped by the participation limit of the expected
    volume.

    With a_k[j] = E[x_k; regime j in slice k]: a_{k+1}[m] = sum_j a_k[j] (1 - f_kj) P(j -> m), where f_kj is the
    share of the remainder slice k trades in regime j (``slice_fractions``) averaged over detection errors; exact
    in expectation for that market model.
    """
    model = params.liquidity_model
    if model is None:
        raise ValueError("the regime-adaptive schedule needs the market model it is computed under (make_plan has it)")
    detected_low = detection_probabilities(params, model)
    regimes = model.regimes
    to_low, stay_low = regimes.transition(order.slice_days, market.session_minutes)
    low_share = regimes.low_share if regimes.active else 0.0
    high, low = order.shares * (1.0 - low_share), order.shares * low_share  # E[x_k; regime], plain floats: fast
    speeds = np.array([params.regime_high_speed, params.regime_low_speed])
    n = order.slices
    # f_kj for k = 0..N-2 and the true regime j: E over detection of min(1, f tau / (T - t_k))
    steps = np.arange(max(n - 1, 0))
    shares = np.minimum(1.0, speeds[None, :] / (n - steps)[:, None])  # (k, detected high / low)
    keep = 1.0 - (shares[:, :1] * (1.0 - detected_low[None, :]) + shares[:, 1:] * detected_low[None, :])
    holdings = np.empty(n + 1)
    holdings[0] = order.shares
    for k in range(n - 1):
        high, low = high * float(keep[k, 0]), low * float(keep[k, 1])
        high, low = high * (1.0 - to_low) + low * (1.0 - stay_low), high * to_low + low * stay_low
        holdings[k + 1] = high + low
    holdings[-1] = 0.0
    warnings: tuple[str, ...] = ()
    last = holdings[-2] if order.slices > 1 else order.shares
    if last > 0.05 * order.shares:
        warnings = (
            (
                f"about {last / order.shares:.0%} of the order is expected to be left for the last slice; "
                "raise the speeds or use more slices"
            ),
        )
    schedule = Schedule.from_holdings("regime_adaptive", order, market, holdings, user_settings(params), warnings)
    return limit_participation(schedule, params.max_participation)


STRATEGIES = [
    Strategy(
        "limit_ladder",
        "Limit-order ladder",
        LadderParams,
        limit_ladder,
        "TWAP slices posted at the touch and deeper; passive fills save the half-spread, the rest crosses.",
        ladder_policy,
        optimises="none: a benchmark schedule (TWAP) posted as limit orders",
    ),
    Strategy(
        "regime_adaptive",
        "Regime-adaptive",
        RegimeParams,
        regime_adaptive,
        "A rate that finishes at the horizon, faster when volume and spread show high liquidity, slower when low.",
        regime_policy,
        optimises="none: a rule (the remainder over the time left, sped up or slowed by the detected liquidity)",
    ),
]
