"""The one market model: how the market charges a trader, as composable cost components (docs/MATH.md section 11).

A ``CostModel`` is a tuple of components built from ``MarketParams`` (``cost_model(market)``); the planner, the
simulator, the RL environment, the DP and the allocators all ask it and nobody re-derives a formula. Each component
answers three questions:

* ``expected_usd(trades)``: the expected cost of a static schedule, exact (closed form or an exact deterministic
  sum), for schedules stacked on leading axes (``StaticTrades``, arrays (..., N));
* ``charge_usd(step)``: the charge of one slice on many paths at once (``SliceStep``, arrays (paths,));
* ``separable()``: the per-slice cost a x + c x^p it adds (``Separable``), for the allocators, or None when the
  component couples slices (transient impact): an allocator that leaves one out optimises a simpler model.

Conventions (docs/MATH.md sections 2, 8 and 11): child order k (k = 1..N) of n_k shares is sent at the start of
slice k; its block part b_k is done at once at the slice start and sweeps the order book, its worked part
w_k = n_k - b_k at a constant rate over the slice (of tau days). Shares are positive in the order's direction,
costs positive when they lose money, in $.

    spread       eps sum |n_k|                                   (eps = half spread)
    linear       (eta / tau) sum w_k^2                           (Almgren–Chriss h(v) = eta v, v = w / tau)
    power        Y sigma sum |w_k| (|w_k| / v_k)^p               (v_k the slice's expected market volume; ATHL)
    permanent    gamma sum n_k E_k = gamma (X^2 - sum n_k^2) / 2 (E_k = shares done before child k); a block also
                 pays gamma (b_k^2 / 2 + b_k w_k): it walks through the permanent impact it makes
    transient    exact exponential-kernel sum (``TransientImpact``): a block costs b (D- + kappa b / 2), a rate u
                 over a slice of tau costs int u D dt, dD = -rho D dt + kappa dX. In the memoryless models only
                 blocks move D (the worked flow's impact is the temporary component's): a block sweeps the book,
                 which recovers at rho, and every later trade pays what is left of it
    price risk   drift s alpha tau sum x_k and variance sigma^2 tau sum x_k^2 (x_k holdings after child k)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from optexec import constants
from optexec.models import MarketParams, Schedule

#: the cost buckets a plan, a simulation and a report show, in this order
BUCKETS = ("spread", "temporary", "permanent", "transient")


@dataclass(frozen=True)
class StaticTrades:
    """A static schedule (or a stack of them on leading axes) as the arrays the components price.

    trades_shares : child orders n_k, (..., N). blocks_shares : their block parts b_k, (..., N).
    slice_days : tau. volume_shares : expected market volume of each slice, (N,). order_shares : X.
    """

    trades_shares: np.ndarray
    blocks_shares: np.ndarray
    slice_days: float
    volume_shares: np.ndarray
    order_shares: float

    @classmethod
    def of(cls, schedule: Schedule) -> StaticTrades:
        """The arrays of one Schedule (its market's expected volume per slice)."""
        return cls(
            schedule.trades_shares,
            schedule.block_trades_shares,
            schedule.order.slice_days,
            schedule.market_volume_shares,
            schedule.order.shares,
        )

    @property
    def worked_shares(self) -> np.ndarray:
        """w_k = n_k - b_k, the part worked at a constant rate over the slice."""
        return self.trades_shares - self.blocks_shares

    @property
    def holdings_after_shares(self) -> np.ndarray:
        """x_k = X - (n_1 + ... + n_k), k = 1..N."""
        return self.order_shares - np.cumsum(self.trades_shares, axis=-1)

    @property
    def done_before_shares(self) -> np.ndarray:
        """E_k = n_1 + ... + n_{k-1}, shares done before child order k."""
        return np.cumsum(self.trades_shares, axis=-1) - self.trades_shares


#: no shares (or no displacement) on every path: a number that broadcasts, as an array (``SliceStep``'s fields)
NONE = np.zeros(())
NONE.setflags(write=False)  # shared: never written to


@dataclass(frozen=True)
class SliceStep:
    """One slice on many paths (arrays (paths,) or numbers that broadcast).

    block_shares, worked_shares : this slice's block and worked shares (order's direction).
    crossing_shares : shares that pay the spread (market orders; passive fills do not).
    volume_shares : the slice's realised market volume. spread_usd : its full spread.
    done_before_shares : shares done before this slice. transient_usd : the displacement D- at the slice start.
    slice_days : tau.
    """

    block_shares: np.ndarray
    worked_shares: np.ndarray
    crossing_shares: np.ndarray
    volume_shares: np.ndarray
    spread_usd: np.ndarray
    done_before_shares: np.ndarray
    transient_usd: np.ndarray
    slice_days: float

    @property
    def traded_shares(self) -> np.ndarray:
        """Block plus worked shares."""
        return self.block_shares + self.worked_shares


@dataclass(frozen=True)
class Separable:
    """A per-slice cost sum_k (a_k x_k + c_k |x_k|^p) of the child orders x_k, for the allocators.

    linear_usd_per_share : a_k, (N,) or a number. coefficient : c_k in $/share^p, (N,) or a number. exponent : p.
    """

    linear_usd_per_share: np.ndarray | float
    coefficient: np.ndarray | float
    exponent: float

    def cost_usd(self, trades_shares: np.ndarray) -> np.ndarray:
        """sum_k a_k x_k + c_k |x_k|^p over the last axis."""
        x = np.asarray(trades_shares, dtype=float)
        return np.sum(self.linear_usd_per_share * x + self.coefficient * np.abs(x) ** self.exponent, axis=-1)

    def marginal_usd_per_share(self, trades_shares: np.ndarray) -> np.ndarray:
        """d cost / d x_k = a_k + p c_k |x_k|^(p-1) sign(x_k), per slice."""
        x = np.asarray(trades_shares, dtype=float)
        power = np.abs(x) ** (self.exponent - 1.0) * np.sign(x) if self.exponent != 1 else np.sign(x)
        return self.linear_usd_per_share + self.exponent * self.coefficient * power


def _power_sum(shares: np.ndarray, scale: np.ndarray | float, exponent: float) -> np.ndarray:
    """|n| (|n| / scale)^exponent elementwise; 0 shares cost 0 and shares against no volume cost infinity."""
    size = np.abs(shares)
    scale = np.asarray(scale, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(size > 0, size / np.where(scale > 0, scale, 0.0), 0.0)
    return size * ratio**exponent


@dataclass(frozen=True)
class Spread:
    """Half the bid–ask spread on every share that crosses it (docs/MATH.md sections 2 and 7: eps = spread / 2)."""

    half_spread_usd: float
    bucket: str = "spread"

    def expected_usd(self, trades: StaticTrades) -> np.ndarray:
        return self.half_spread_usd * np.sum(np.abs(trades.trades_shares), axis=-1)

    def charge_usd(self, step: SliceStep) -> np.ndarray:
        return 0.5 * step.spread_usd * np.abs(step.crossing_shares)

    def separable(self, volume_shares: np.ndarray, slice_days: float) -> Separable:
        return Separable(self.half_spread_usd, 0.0, 2.0)


@dataclass(frozen=True)
class LinearTemporary:
    """Almgren–Chriss linear temporary impact h(v) = eta v on the worked part, v = w / tau (docs/MATH.md section 2)."""

    eta_usd_day_per_share2: float
    bucket: str = "temporary"

    def expected_usd(self, trades: StaticTrades) -> np.ndarray:
        worked = trades.worked_shares
        return self.eta_usd_day_per_share2 / trades.slice_days * np.sum(worked * worked, axis=-1)

    def charge_usd(self, step: SliceStep) -> np.ndarray:
        return self.eta_usd_day_per_share2 / step.slice_days * step.worked_shares * step.worked_shares

    def separable(self, volume_shares: np.ndarray, slice_days: float) -> Separable:
        return Separable(0.0, self.eta_usd_day_per_share2 / slice_days, 2.0)


@dataclass(frozen=True)
class PowerTemporary:
    """Power-law temporary impact Y sigma (w / v)^p per share of the worked part, v the slice's market volume
    (ATHL 2005, docs/MATH.md sections 3 and 11): a ratio of rates, so it does not depend on the slice length."""

    coefficient: float
    exponent: float
    sigma_usd_per_sqrt_day: float
    bucket: str = "temporary"

    def expected_usd(self, trades: StaticTrades) -> np.ndarray:
        scale = self.coefficient * self.sigma_usd_per_sqrt_day
        return scale * np.sum(_power_sum(trades.worked_shares, trades.volume_shares, self.exponent), axis=-1)

    def charge_usd(self, step: SliceStep) -> np.ndarray:
        scale = self.coefficient * self.sigma_usd_per_sqrt_day
        return scale * _power_sum(step.worked_shares, step.volume_shares, self.exponent)

    def separable(self, volume_shares: np.ndarray, slice_days: float) -> Separable:
        volume = np.asarray(volume_shares, dtype=float)
        with np.errstate(divide="ignore"):
            per_volume = np.where(volume > 0, volume, 0.0) ** -self.exponent
        return Separable(0.0, self.coefficient * self.sigma_usd_per_sqrt_day * per_volume, 1.0 + self.exponent)


@dataclass(frozen=True)
class LinearPermanent:
    """Linear permanent impact: child order k pays gamma E_k per share, E_k the shares done before it
    (docs/MATH.md section 2, eq 8: gamma (X^2 - sum n_k^2) / 2 for a finished order of worked child orders; the
    Almgren–Chriss temporary eta of a slice holds the rest). A block b walks through the permanent impact it makes
    while it sweeps: gamma (E_k b + b^2 / 2), and the slice's worked part then starts from E_k + b (section 11)."""

    gamma_usd_per_share2: float
    bucket: str = "permanent"

    def expected_usd(self, trades: StaticTrades) -> np.ndarray:
        block = trades.blocks_shares
        own = trades.trades_shares * trades.done_before_shares + block * (0.5 * block + trades.worked_shares)
        return self.gamma_usd_per_share2 * np.sum(own, axis=-1)

    def charge_usd(self, step: SliceStep) -> np.ndarray:
        block = step.block_shares
        own = step.done_before_shares * step.traded_shares + block * (0.5 * block + step.worked_shares)
        return self.gamma_usd_per_share2 * own

    def separable(self, volume_shares: np.ndarray, slice_days: float) -> Separable:
        # gamma (X^2 - sum n^2) / 2: the constant gamma X^2 / 2 does not move an allocation, the rest is -gamma n^2/2
        return Separable(0.0, -0.5 * self.gamma_usd_per_share2, 2.0)


@dataclass(frozen=True)
class TransientImpact:
    """Exponentially decaying (transient) impact dD = -rho D dt + kappa dX (Obizhaeva–Wang 2013, docs/MATH.md
    sections 4 and 11).

    A block b placed on a displacement D- costs b (D- + kappa b / 2) and raises D by kappa b; a rate u held over a
    slice of tau costs int u D dt = u (D H + kappa u R) with H = (1 - a) / rho, R = (tau - H) / rho, a = e^{-rho tau},
    and leaves D a + kappa u H. Every formula is exact for piecewise-constant rates, so the cost converges as the
    grid is refined.

    worked_flow_builds : whether the worked flow moves D too (transient impact proper). False in the memoryless
    models (linear, calibrated without a fitted strength): their temporary component prices the worked flow, which
    leaves nothing behind, while a block still sweeps the book, whose displacement then recovers at rho and is paid
    by every later trade (docs/MATH.md section 11: a block priced without that memory would be a second, free pool
    of liquidity). Then a rate u costs u D H and leaves D a.
    """

    strength_usd_per_share2: float
    decay_per_day: float
    worked_flow_builds: bool = True
    bucket: str = "transient"

    def charges_nothing(self, step: SliceStep) -> bool:
        """True when this component charges nothing for ``step`` and leaves no displacement: a memoryless model
        (``worked_flow_builds`` False), no block and nothing on the book (docs/MATH.md section 11)."""
        return not self.worked_flow_builds and not np.any(step.block_shares) and not np.any(step.transient_usd)

    def _constants(self, slice_days: float) -> tuple[float, float, float]:
        """(a, H, R) of one slice (module docstring), with their rho -> 0 limits."""
        rho, tau = self.decay_per_day, slice_days
        if rho * tau < 1e-8:
            return 1.0 - rho * tau, tau, 0.5 * tau * tau
        hold = -math.expm1(-rho * tau) / rho
        return math.exp(-rho * tau), hold, (tau - hold) / rho

    def expected_usd(self, trades: StaticTrades) -> np.ndarray:
        from scipy.signal import lfilter  # here, not at import: the market model is imported by every command

        kappa = self.strength_usd_per_share2
        a, hold, ramp = self._constants(trades.slice_days)
        flow = 1.0 if self.worked_flow_builds else 0.0
        block = trades.blocks_shares
        rate = trades.worked_shares / trades.slice_days
        # D-_{k+1} = a D-_k + kappa (a b_k + H u_k), D-_1 = 0: a first-order linear filter over the slices
        push = kappa * (a * block + flow * hold * rate)
        shifted = np.zeros_like(push)
        shifted[..., 1:] = push[..., :-1]
        before = lfilter([1.0], [1.0, -a], shifted, axis=-1)
        own_flow = flow * kappa * rate * ramp
        cost = block * (before + 0.5 * kappa * block) + rate * ((before + kappa * block) * hold + own_flow)
        return np.sum(cost, axis=-1)

    def charge_usd(self, step: SliceStep) -> np.ndarray:
        return self.step(step)[0]

    def step(self, step: SliceStep) -> tuple[np.ndarray, np.ndarray]:
        """(the slice's transient cost, D- at the next slice's start) on every path."""
        kappa = self.strength_usd_per_share2
        flow = 1.0 if self.worked_flow_builds else 0.0
        a, hold, ramp = self._constants(step.slice_days)
        block = step.block_shares
        rate = step.worked_shares / step.slice_days
        after_block = step.transient_usd + kappa * block
        own_flow = flow * kappa * rate * ramp
        cost = block * (step.transient_usd + 0.5 * kappa * block) + rate * (after_block * hold + own_flow)
        return cost, a * after_block + flow * kappa * hold * rate

    def separable(self, volume_shares: np.ndarray, slice_days: float) -> None:
        return None  # couples the slices: not a per-slice cost


Component = Spread | LinearTemporary | PowerTemporary | LinearPermanent | TransientImpact


@dataclass(frozen=True)
class ExpectedCost:
    """A static schedule's expected cost by bucket and its variance ($, $^2; arrays over stacked schedules)."""

    buckets_usd: dict[str, np.ndarray]
    drift_usd: np.ndarray
    variance_usd2: np.ndarray

    @property
    def expected_usd(self) -> np.ndarray:
        """The sum of the buckets and the drift."""
        return sum(self.buckets_usd.values()) + self.drift_usd


@dataclass(frozen=True)
class CostModel:
    """The market's charges for one instrument: its components (module docstring) and the price risk.

    name : the MarketParams cost model ("linear", "linear+transient", "calibrated").
    components : what charges a trade. sigma_usd_per_sqrt_day, drift_usd_per_day : the price risk.
    """

    name: str
    components: tuple[Component, ...]
    sigma_usd_per_sqrt_day: float
    drift_usd_per_day: float

    @property
    def transient(self) -> TransientImpact | None:
        """The transient component, if the model has one (the simulator keeps its state D)."""
        return next((c for c in self.components if isinstance(c, TransientImpact)), None)

    @property
    def has_flow_memory(self) -> bool:
        """Whether the worked flow moves the book (transient impact proper), not only blocks."""
        return self.transient is not None and self.transient.worked_flow_builds

    def expected(self, trades: StaticTrades, side_sign: int) -> ExpectedCost:
        """Expected cost by bucket, drift and variance of static schedules (docs/MATH.md sections 2, 8, 11)."""
        shape = np.shape(trades.trades_shares)[:-1]
        buckets = {name: np.zeros(shape) for name in BUCKETS}
        for component in self.components:
            buckets[component.bucket] = buckets[component.bucket] + component.expected_usd(trades)
        holdings = trades.holdings_after_shares
        tau = trades.slice_days
        drift = side_sign * self.drift_usd_per_day * tau * np.sum(holdings, axis=-1) + 0.0
        variance = self.sigma_usd_per_sqrt_day**2 * tau * np.sum(holdings * holdings, axis=-1)
        return ExpectedCost(buckets, drift, variance)

    def charge(self, step: SliceStep) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """(charges of one slice by bucket on every path, D- at the next slice's start)."""
        charges: dict[str, np.ndarray] = {name: 0.0 for name in BUCKETS}  # type: ignore[misc]
        level = step.transient_usd
        for component in self.components:
            if isinstance(component, TransientImpact):
                cost, level = component.step(step)
            else:
                cost = component.charge_usd(step)
            charges[component.bucket] = charges[component.bucket] + cost
        return charges, level

    def separable(self, volume_shares: np.ndarray, slice_days: float) -> tuple[list[Separable], list[str]]:
        """(the per-slice parts of the model for an allocator, the names of the components left out)."""
        parts, left_out = [], []
        for component in self.components:
            part = component.separable(volume_shares, slice_days)
            if part is None:
                left_out.append(type(component).__name__)
            else:
                parts.append(part)
        return parts, left_out

    def describe(self) -> str:
        """The components in plain words (for the tables' "priced under" column)."""
        return " + ".join(_words(c) for c in self.components)


_WORDS = {
    Spread: "spread",
    LinearTemporary: "linear temporary",
    PowerTemporary: "power-law temporary",
    LinearPermanent: "linear permanent",
}


def _words(component: Component) -> str:
    """A component in plain words; the transient one says whether the worked flow moves the book."""
    if isinstance(component, TransientImpact):
        return "transient" if component.worked_flow_builds else "order-book sweep of blocks (recovering)"
    return _WORDS[type(component)]


@lru_cache(maxsize=256)
def cost_model(market: MarketParams) -> CostModel:
    """The cost model of a market (docs/MATH.md section 11): its components as ``market.cost_model`` names them."""
    sigma = market.sigma_usd_per_sqrt_day
    temporary: Component = (
        PowerTemporary(market.power_coefficient, market.power_exponent, sigma)
        if market.cost_model == "calibrated"
        else LinearTemporary(market.eta_usd_day_per_share2)
    )
    components: list[Component] = [
        Spread(market.half_spread_usd),
        temporary,
        LinearPermanent(market.gamma_usd_per_share2),
    ]
    with_transient = market.cost_model == "linear+transient" or (
        market.cost_model == "calibrated" and (market.transient_strength_usd_per_share2 or 0.0) > 0
    )
    # without transient impact the worked flow leaves nothing behind, but blocks still sweep the book the temporary
    # impact comes from (kappa = rho eta unless fitted), which recovers at rho
    components.append(TransientImpact(market.transient_strength, market.transient_decay, with_transient))
    return CostModel(market.cost_model, tuple(components), sigma, market.drift_usd_per_day)


def expected_cost(schedule: Schedule) -> ExpectedCost:
    """A Schedule's expected cost by bucket, drift and variance under its market's cost model."""
    return cost_model(schedule.market).expected(StaticTrades.of(schedule), schedule.order.side_sign)


def value_at_risk_usd(expected_usd: float, variance_usd2: float, confidence: float = constants.VAR_CONFIDENCE) -> float:
    """E + z_c sqrt(V): the cost exceeded with probability 1 - c under a normal cost distribution."""
    if not 0.5 <= confidence < 1:
        raise ValueError(f"the VaR confidence level must be in [0.5, 1), got {confidence:g}")
    return expected_usd + constants.normal_quantile(confidence) * math.sqrt(max(variance_usd2, 0.0))


def conditional_value_at_risk_usd(
    expected_usd: float, variance_usd2: float, confidence: float = constants.VAR_CONFIDENCE
) -> float:
    """E + sqrt(V) phi(z_c) / (1 - c): the mean cost beyond the VaR under a normal cost distribution."""
    if not 0.5 <= confidence < 1:
        raise ValueError(f"the CVaR confidence level must be in [0.5, 1), got {confidence:g}")
    z = constants.normal_quantile(confidence)
    density = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return expected_usd + math.sqrt(max(variance_usd2, 0.0)) * density / (1.0 - confidence)
