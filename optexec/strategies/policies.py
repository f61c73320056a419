"""Two strategies defined by their feedback policies: the limit-order ladder and the regime-adaptive schedule.

A *policy* (optexec.strategies.base: ``StepState``, ``Decision``, ``Policy``) decides each slice's child order from
what it can see on every simulated path at once; the simulator (optexec.simulate) fills the order and charges the
costs. Each strategy module declares its own policy in ``Strategy(..., policy=...)``.

* ``LadderPolicy`` (strategy "limit_ladder"): each slice's TWAP child order is posted in equal parts at the touch
  and at deeper levels. One uniform U per slice and path says how deep the market traded: level j (0 = touch)
  fills iff U < p_j, p_j = p_touch exp(-decay j), so a deeper fill implies the shallower ones. A passive fill pays
  no spread (it saves the half-spread a market order pays; the bid-versus-mid gain is taken as lost to adverse
  selection) and level j improves on the touch by j x spacing x spread. Temporary, permanent and transient impact
  are charged on every share traded, passive or not (conservative: only the spread is saved). Unfilled shares
  cross the spread at the end of the slice, or (``ladder_cross_unfilled`` False) are posted again in the next
  slice; at the horizon everything left is done at market.
* ``RegimePolicy`` (strategy "regime_adaptive"): trades a fraction of the remainder per period, 20% when liquidity
  looks high and 10% when it looks low. Low liquidity is detected when the slice's market volume is below
  ``regime_volume_threshold`` x its expectation or the spread is above ``regime_spread_threshold`` x normal. The
  last slice finishes the order.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from optexec.models import MarketParams, Order, Schedule, check_finite, check_positive
from optexec.strategies.base import RESOLVED_KEY, Decision, StepState, Strategy, param, user_settings

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

    def __post_init__(self) -> None:
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
    return Schedule.from_trades("limit_ladder", order, market, trades, params.__dict__, (note,))


# --------------------------------------------------------------------------------------------------------------
# Regime-adaptive schedule
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegimeParams:
    """Regime-adaptive parameters (module docstring).

    regime_high_fraction : share of the remainder traded per period when liquidity is high, in (0, 1].
    regime_low_fraction : the same when liquidity is low, in (0, 1].
    regime_period_minutes : the period those fractions refer to, trading minutes (slices convert them:
        1 - (1 - f)^(slice minutes / period)).
    regime_volume_threshold : low liquidity when the slice's volume < this x its expectation.
    regime_spread_threshold : low liquidity when the spread > this x the normal spread.
    liquidity_model : the market model whose liquidity regimes and noise the expected schedule is computed
        under (the caller resolves it: the simulator's default model; not a user setting).
    """

    regime_high_fraction: float = param(0.2, "Regime: share of remainder per period, high liquidity",
                                        min_value=0.01, max_value=1.0, step=1.0, percent=True)  # fmt: skip
    regime_low_fraction: float = param(0.1, "Regime: share of remainder per period, low liquidity",
                                       min_value=0.01, max_value=1.0, step=1.0, percent=True)  # fmt: skip
    regime_period_minutes: float = param(15.0, "Regime period", "minutes", min_value=0.0)
    regime_volume_threshold: float = param(0.75, "Regime volume threshold", min_value=0.0)
    regime_spread_threshold: float = param(1.3, "Regime spread threshold", min_value=0.0)
    liquidity_model: Any = dataclasses.field(default=None, compare=False, repr=False,
                                             metadata={RESOLVED_KEY: "market_model"})  # fmt: skip

    def __post_init__(self) -> None:
        for label, value in [
            ("high-liquidity fraction", self.regime_high_fraction),
            ("low-liquidity fraction", self.regime_low_fraction),
        ]:
            if not 0 < check_finite(label, value) <= 1:
                raise ValueError(f"the {label} must be in (0, 1] (a share of the remainder), got {value:g}")
        check_positive("regime period (minutes)", self.regime_period_minutes)
        check_positive("regime volume threshold", self.regime_volume_threshold)
        check_positive("regime spread threshold", self.regime_spread_threshold)

    def slice_fractions(self, order: Order, market: MarketParams) -> tuple[float, float]:
        """(high, low) share of the remainder per slice."""
        periods = order.slice_days * market.session_minutes / self.regime_period_minutes
        return (
            float(-math.expm1(periods * math.log1p(-self.regime_high_fraction)))
            if self.regime_high_fraction < 1 else 1.0,
            float(-math.expm1(periods * math.log1p(-self.regime_low_fraction)))
            if self.regime_low_fraction < 1 else 1.0,
        )  # fmt: skip


class RegimePolicy:
    """Trade the high or low fraction of the remainder depending on the liquidity seen in the slice."""

    def __init__(self, order: Order, market: MarketParams, params: RegimeParams) -> None:
        self.params = params
        self.high, self.low = params.slice_fractions(order, market)

    def detect_low(self, state: StepState) -> np.ndarray:
        """True where the slice's volume or spread says liquidity is low."""
        p = self.params
        thin = state.market_volume_shares < p.regime_volume_threshold * state.expected_volume_shares
        wide = state.spread_usd > p.regime_spread_threshold * state.normal_spread_usd
        return thin | wide

    def decide(self, state: StepState) -> Decision:
        """fraction x remainder; everything in the last slice."""
        if state.is_last:
            return Decision(state.remaining_shares.copy())
        fraction = np.where(self.detect_low(state), self.low, self.high)
        return Decision(fraction * state.remaining_shares)


def regime_policy(order: Order, market: MarketParams, params: RegimeParams) -> RegimePolicy:
    """The regime-adaptive feedback policy for the simulator."""
    return RegimePolicy(order, market, params)


def detection_probabilities(params: RegimeParams, model: Any) -> np.ndarray:
    """P(low detected | true regime high, low) under the simulator's lognormal volume and spread noise."""
    volume_factor, spread_factor = model.regimes.volume_factors(), model.regimes.spread_factors()

    def below(log_threshold: np.ndarray, noise: float) -> np.ndarray:  # P(exp(noise Z - noise^2/2) < e^log_thr)
        if noise == 0:
            return (log_threshold > 0).astype(float)
        return norm.cdf((log_threshold + 0.5 * noise**2) / noise)

    thin = below(np.log(params.regime_volume_threshold / volume_factor), model.volume_noise)
    not_wide = below(np.log(params.regime_spread_threshold / spread_factor), model.spread_noise)
    return 1.0 - (1.0 - thin) * not_wide


def regime_adaptive(order: Order, market: MarketParams, params: RegimeParams) -> Schedule:
    """Expected holdings under the liquidity model the caller resolved (``params.liquidity_model``: the
    simulator's default optexec.simulation.market.MarketModel).

    With a_k[j] = E[x_k; regime j in slice k]: a_{k+1}[m] = sum_j a_k[j] (1 - f_j) P(j -> m), where f_j is the
    traded fraction averaged over detection errors; exact in expectation for that market model.
    """
    model = params.liquidity_model
    if model is None:
        raise ValueError("the regime-adaptive schedule needs the market model it is computed under (make_plan has it)")
    high, low = params.slice_fractions(order, market)
    detected_low = detection_probabilities(params, model)
    traded = np.array([high, high]) * (1.0 - detected_low) + np.array([low, low]) * detected_low
    regimes = model.regimes
    to_low, stay_low = regimes.transition(order.slice_days, market.session_minutes)
    keep_high, keep_low = 1.0 - float(traded[0]), 1.0 - float(traded[1])
    low_share = regimes.low_share if regimes.active else 0.0
    high, low = order.shares * (1.0 - low_share), order.shares * low_share  # E[x_k; regime], plain floats: fast
    holdings = np.empty(order.slices + 1)
    holdings[0] = order.shares
    for k in range(order.slices - 1):
        high, low = high * keep_high, low * keep_low
        high, low = high * (1.0 - to_low) + low * (1.0 - stay_low), high * to_low + low * stay_low
        holdings[k + 1] = high + low
    holdings[-1] = 0.0
    warnings = ()
    last = holdings[-2] if order.slices > 1 else order.shares
    if last > 0.05 * order.shares:
        warnings = (
            (
                f"about {last / order.shares:.0%} of the order is expected to be left for the last slice (done at "
                "market); raise the fractions or shorten the period"
            ),
        )
    return Schedule.from_holdings("regime_adaptive", order, market, holdings, user_settings(params), warnings)


STRATEGIES = [
    Strategy(
        "limit_ladder",
        "Limit-order ladder",
        LadderParams,
        limit_ladder,
        "TWAP slices posted at the touch and deeper; passive fills save the half-spread, the rest crosses.",
        ladder_policy,
    ),
    Strategy(
        "regime_adaptive",
        "Regime-adaptive",
        RegimeParams,
        regime_adaptive,
        "A share of the remainder per period: more when volume and spread show high liquidity, less when low.",
        regime_policy,
    ),
]
