"""Domain model: an order, the market parameters it trades against, and a schedule.

Frozen dataclasses with units in the field names. Validation happens on construction and
raises ``ValueError`` with a message a trader can act on (DESIGN.md section 3).

Conventions (docs/MATH.md section 2 and 8):
- time is in trading days; one trading day is ``MarketParams.session_minutes`` minutes;
- holdings are the shares still to trade (positive for buys and sells alike): ``holdings[0]``
  is the order size and ``holdings[-1]`` is 0;
- child order k (k = 1..N) is sent at the start of slice k, at ``times_days[k - 1]``;
- a cost is positive when it loses money, for buys and sells alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from optexec import constants

Side = Literal["buy", "sell"]
#: the cost models a plan can be priced under (optexec.market, docs/MATH.md section 11)
COST_MODELS = ("linear", "linear+transient", "calibrated")
SESSION_MINUTES = 390
MAX_SLICES = 1_000_000

# The domain of an order and of market parameters (issue 14). Outside these ranges the numbers either overflow
# ($ costs of shares^2 x impact pass 1e308) or describe no market a trader works in; inside them every closed-form
# cost stays finite (shares^2 x eta / tau <= 1e24 x 1e6 / 4e-11 ~ 1e41).
#: largest order, shares (a trillion: far above any listed company's float)
MAX_ORDER_SHARES = 1e12
#: shortest horizon, trading days: one second of a 390-minute session
MIN_HORIZON_DAYS = 1.0 / (SESSION_MINUTES * 60)
#: longest horizon, trading days (about four years)
MAX_HORIZON_DAYS = 1_000.0
#: latest start, minutes after the open (a 24-hour session)
MAX_START_MINUTES = 1_440.0
#: highest arrival price, $ per share; also the bound of sigma, spread and |drift| in $
MAX_PRICE_USD = 1e7
#: largest average daily volume, shares per day
MAX_ADV_SHARES = 1e13
#: largest temporary (eta) and permanent (gamma) impact coefficient
MAX_IMPACT_COEFFICIENT = 1e6
#: largest risk aversion lambda, 1/$ (at lambda = 1 a $1 standard deviation already weighs $1 per $ of variance)
MAX_RISK_AVERSION_PER_USD = 1.0


def check_finite(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def check_positive(name: str, value: float) -> float:
    value = check_finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value:g}")
    return value


def check_non_negative(name: str, value: float) -> float:
    value = check_finite(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value:g}")
    return value


def check_range(name: str, value: float, low: float, high: float, low_open: bool = False) -> float:
    """``value`` as a float when it lies in [low, high] ((low, high] with ``low_open``), else a ValueError naming
    the value and the allowed range."""
    value = check_finite(name, value)
    if value > high or value < low or (low_open and value == low):
        floor = f"above {low:g}" if low_open else f"at least {low:g}"
        raise ValueError(f"{name} must be {floor} and at most {high:g}, got {value:g}")
    return value


def check_risk_aversion(value: float) -> float:
    """The risk aversion lambda (1/$) of a plan or a simulation, checked against [0, MAX_RISK_AVERSION_PER_USD]."""
    return check_range("risk aversion (1/$)", value, 0.0, MAX_RISK_AVERSION_PER_USD)


def check_correlation(name: str, value: float) -> float:
    value = check_finite(name, value)
    if not -1 <= value <= 1:
        raise ValueError(f"{name} must be in [-1, 1], got {value:g}")
    return value


def _frozen_array(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.flags.writeable and array.base is None:
        array.setflags(write=False)  # ours alone: freeze in place
    else:
        array = array.copy()
        array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Order:
    """A parent order to work: side, size and horizon.

    Attributes
    ----------
    symbol : instrument identifier.
    side : "buy" or "sell".
    shares : order size in shares (> 0).
    horizon_days : time allowed to complete, in trading days (> 0).
    slices : number of equal time slices (child orders) in the horizon.
    start_minutes_after_open : when the order starts, in minutes after the session open.
    """

    symbol: str
    side: Side
    shares: float
    horizon_days: float
    slices: int
    start_minutes_after_open: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise ValueError("symbol must be a non-empty text")
        if self.side not in ("buy", "sell"):
            raise ValueError(f"side must be 'buy' or 'sell', got {self.side!r}")
        shares = check_range("order size (shares)", self.shares, 0.0, MAX_ORDER_SHARES, low_open=True)
        object.__setattr__(self, "shares", shares)
        horizon = check_positive("horizon (days)", self.horizon_days)
        if not MIN_HORIZON_DAYS <= horizon <= MAX_HORIZON_DAYS:
            raise ValueError(
                f"horizon (days) must be between {MIN_HORIZON_DAYS:.3g} (one second of a {SESSION_MINUTES}-minute "
                f"session) and {MAX_HORIZON_DAYS:g} trading days, got {horizon:g}"
            )
        object.__setattr__(self, "horizon_days", horizon)
        if isinstance(self.slices, bool) or not isinstance(self.slices, (int, np.integer)):
            raise ValueError(f"number of slices must be a whole number, got {self.slices!r}")
        if not 1 <= self.slices <= MAX_SLICES:
            raise ValueError(f"number of slices must be between 1 and {MAX_SLICES:,}, got {self.slices}")
        object.__setattr__(self, "slices", int(self.slices))
        start = check_range("start (minutes after the open)", self.start_minutes_after_open, 0.0, MAX_START_MINUTES)
        object.__setattr__(self, "start_minutes_after_open", start)

    @property
    def side_sign(self) -> int:
        """+1 for a buy, -1 for a sell (docs/MATH.md section 8)."""
        return 1 if self.side == "buy" else -1

    @property
    def slice_days(self) -> float:
        """Length tau of one slice in trading days (docs/MATH.md section 2)."""
        return self.horizon_days / self.slices

    @cached_property
    def times_days(self) -> np.ndarray:
        """Slice boundaries t_k = k * tau, k = 0..N, in trading days from the start (read-only)."""
        return _frozen_array(np.linspace(0.0, self.horizon_days, self.slices + 1))


def flat_volume_profile(session_minutes: int = SESSION_MINUTES) -> tuple[float, ...]:
    """A uniform intraday volume profile: every minute holds the same share of the day."""
    return tuple(np.full(session_minutes, 1.0 / session_minutes))


def u_shaped_volume_profile(session_minutes: int = SESSION_MINUTES, depth: float = 0.6) -> tuple[float, ...]:
    """A stylised U-shaped intraday volume profile (busy open and close), normalised to 1.

    ``depth`` in [0, 1) is how much quieter midday is than the edges.
    """
    minute_mid = (np.arange(session_minutes) + 0.5) / session_minutes
    weights = (
        1.0
        - depth * np.sin(np.pi * minute_mid) ** 2
        + 0.6 * np.exp(-minute_mid / 0.03)
        + 0.9 * np.exp(-(1.0 - minute_mid) / 0.03)
    )
    return tuple(weights / weights.sum())


@dataclass(frozen=True)
class ParameterSource:
    """Where one market-model parameter comes from: its value, unit, standard error and source.

    source : plain words, e.g. "calibration run 2026-11-30 12:00 (Yang–Zhang)", "ATHL 2005 published value",
        "set on the ticket", "default: square-root law, Y of order 1".
    """

    name: str
    value: float
    unit: str
    stderr: float | None
    source: str

    def to_json(self) -> dict[str, Any]:
        """{value, unit, stderr, source} (``plan --json``'s model)."""
        return {"value": self.value, "unit": self.unit, "stderr": self.stderr, "source": self.source}


@dataclass(frozen=True)
class MarketParams:
    """Market and impact parameters of one instrument, in Almgren–Chriss units (docs/MATH.md section 2).

    Attributes
    ----------
    price_usd : arrival (decision) price, $ per share.
    sigma_usd_per_sqrt_day : volatility sigma of the price, $/share/sqrt(day).
    spread_usd : full bid–ask spread, $ per share; the fixed cost per share is half of it (epsilon).
    adv_shares : average daily volume, shares per day.
    eta_usd_day_per_share2 : temporary impact eta, ($/share) per (share/day).
    gamma_usd_per_share2 : permanent impact gamma, ($/share) per share.
    drift_usd_per_day : expected price drift alpha, $/share/day (positive = price rises).
    volume_profile : share of a day's volume traded in each minute of the session (sums to 1).
    cost_model : which components price a trade (optexec.market, docs/MATH.md section 11): "linear" (spread,
        linear temporary eta, linear permanent gamma), "linear+transient" (and transient impact), "calibrated"
        (spread, power-law temporary, permanent, and transient impact when its strength is > 0).
    power_coefficient, power_exponent : Y and p of the power-law temporary impact Y sigma (n / v)^p per share,
        n a slice's shares, v its expected market volume (ATHL 2005: 0.142 and 0.6, docs/MATH.md section 3).
    transient_strength_usd_per_share2 : kappa, price displacement per share traded ($/share per share) of the
        exponentially decaying impact; None = rho eta (docs/MATH.md section 4 default).
    transient_decay_per_day : rho, its decay rate per trading day; None = ln 2 / 30 trading minutes.
    sources : where each parameter comes from (value, unit, stderr, source), for the plan's JSON and report.
    """

    price_usd: float
    sigma_usd_per_sqrt_day: float
    spread_usd: float
    adv_shares: float
    eta_usd_day_per_share2: float
    gamma_usd_per_share2: float
    drift_usd_per_day: float = 0.0
    volume_profile: tuple[float, ...] = field(default_factory=flat_volume_profile)
    cost_model: str = "linear"
    power_coefficient: float = constants.ATHL_TEMPORARY_COEFFICIENT
    power_exponent: float = constants.ATHL_TEMPORARY_EXPONENT
    transient_strength_usd_per_share2: float | None = None
    transient_decay_per_day: float | None = None
    sources: tuple[ParameterSource, ...] = ()

    def __post_init__(self) -> None:
        price = check_range("price ($)", self.price_usd, 0.0, MAX_PRICE_USD, low_open=True)
        object.__setattr__(self, "price_usd", price)
        # sigma, spread and drift in $ share the price's bound: beyond it their squares (and the costs) overflow
        sigma = check_range("volatility sigma ($/share/√day)", self.sigma_usd_per_sqrt_day, 0.0, MAX_PRICE_USD)
        object.__setattr__(self, "sigma_usd_per_sqrt_day", sigma)
        object.__setattr__(self, "spread_usd", check_range("spread ($)", self.spread_usd, 0.0, MAX_PRICE_USD))
        adv = check_range("average daily volume (shares)", self.adv_shares, 0.0, MAX_ADV_SHARES, low_open=True)
        object.__setattr__(self, "adv_shares", adv)
        eta = check_range("temporary impact eta", self.eta_usd_day_per_share2, 0.0, MAX_IMPACT_COEFFICIENT, True)
        object.__setattr__(self, "eta_usd_day_per_share2", eta)
        gamma = check_range("permanent impact gamma", self.gamma_usd_per_share2, 0.0, MAX_IMPACT_COEFFICIENT)
        object.__setattr__(self, "gamma_usd_per_share2", gamma)
        drift = check_range("drift ($/share/day)", self.drift_usd_per_day, -MAX_PRICE_USD, MAX_PRICE_USD)
        object.__setattr__(self, "drift_usd_per_day", drift)
        profile = np.asarray(self.volume_profile, dtype=float)
        if profile.ndim != 1 or profile.size < 1:
            raise ValueError("the volume profile must be a list of per-minute volume shares")
        if not np.all(np.isfinite(profile)) or np.any(profile < 0) or profile.sum() <= 0:
            raise ValueError("the volume profile must hold non-negative numbers with a positive total")
        total = float(profile.sum())  # normalised once: a profile summing to 1 is kept as it is, so that copies of
        if abs(total - 1.0) > 1e-12:  # a market (dataclasses.replace) price exactly alike, to the last bit
            profile = profile / total
        object.__setattr__(self, "volume_profile", tuple(float(x) for x in profile))
        if self.cost_model not in COST_MODELS:
            raise ValueError(f"the cost model must be one of {', '.join(COST_MODELS)}, got {self.cost_model!r}")
        for name, label, low, high in [
            ("power_coefficient", "power-law impact coefficient Y", 0.0, MAX_IMPACT_COEFFICIENT),
            ("power_exponent", "power-law impact exponent p", 0.0, 2.0),
        ]:
            object.__setattr__(self, name, check_range(label, getattr(self, name), low, high, low_open=True))
        if self.transient_strength_usd_per_share2 is not None:
            strength = check_range(
                "transient impact strength kappa", self.transient_strength_usd_per_share2, 0.0, MAX_IMPACT_COEFFICIENT
            )
            object.__setattr__(self, "transient_strength_usd_per_share2", strength)
        if self.transient_decay_per_day is not None:
            decay = check_range("transient impact decay (per day)", self.transient_decay_per_day, 0.0, 1e7)
            object.__setattr__(self, "transient_decay_per_day", decay)
        object.__setattr__(self, "sources", tuple(self.sources))

    @property
    def transient_decay(self) -> float:
        """rho per trading day: the given decay, or ln 2 / 30 trading minutes (docs/MATH.md section 4)."""
        if self.transient_decay_per_day is not None:
            return self.transient_decay_per_day
        return math.log(2.0) * self.session_minutes / constants.DEFAULT_TRANSIENT_HALF_LIFE_MINUTES

    @property
    def transient_strength(self) -> float:
        """kappa, $/share per share: the given strength, or rho eta (docs/MATH.md section 4)."""
        if self.transient_strength_usd_per_share2 is not None:
            return self.transient_strength_usd_per_share2
        return self.transient_decay * self.eta_usd_day_per_share2

    @property
    def half_spread_usd(self) -> float:
        """Fixed cost per share epsilon = half the bid–ask spread (docs/MATH.md section 7)."""
        return 0.5 * self.spread_usd

    @property
    def sigma_daily_fraction(self) -> float:
        """Daily volatility as a fraction of price."""
        return self.sigma_usd_per_sqrt_day / self.price_usd

    @cached_property
    def cumulative_profile(self) -> np.ndarray:
        """Share of the day's volume traded by each minute boundary 0..session_minutes (read-only)."""
        return _frozen_array(np.concatenate([[0.0], np.cumsum(self.volume_profile)]))

    @property
    def session_minutes(self) -> int:
        """Minutes in one trading session (the length of the volume profile)."""
        return len(self.volume_profile)

    @classmethod
    def from_rules_of_thumb(
        cls,
        price_usd: float,
        sigma_usd_per_sqrt_day: float,
        spread_usd: float,
        adv_shares: float,
        **kwargs: Any,
    ) -> MarketParams:
        """Impact coefficients from the Almgren–Chriss rules of thumb (docs/MATH.md section 7).

        eta = spread / (1% of ADV), gamma = spread / (10% of ADV).
        """
        spread_usd = check_positive("spread ($)", spread_usd)
        adv_shares = check_positive("average daily volume (shares)", adv_shares)
        return cls(
            price_usd=price_usd,
            sigma_usd_per_sqrt_day=sigma_usd_per_sqrt_day,
            spread_usd=spread_usd,
            adv_shares=adv_shares,
            eta_usd_day_per_share2=spread_usd / (constants.RULE_OF_THUMB_TEMPORARY_ADV_SHARE * adv_shares),
            gamma_usd_per_share2=spread_usd / (constants.RULE_OF_THUMB_PERMANENT_ADV_SHARE * adv_shares),
            **kwargs,
        )


def slice_market_volume(order: Order, market: MarketParams) -> np.ndarray:
    """Expected market volume in each slice of the order, in shares.

    The volume profile repeats every session; a horizon longer than what is left of the day
    continues at the next open. Volume in a slice = ADV x (profile mass inside the slice).
    """
    session = market.session_minutes
    minutes = order.start_minutes_after_open + order.times_days * session
    whole_days = np.floor(minutes / session)
    minute_of_day = minutes - whole_days * session
    cumulative_in_day = market.cumulative_profile
    # piecewise-linear interpolation on the unit minute grid, without np.interp's general search
    index = np.minimum(minute_of_day.astype(np.intp), session - 1)
    cumulative = (
        whole_days
        + cumulative_in_day[index]
        + (minute_of_day - index) * (cumulative_in_day[index + 1] - cumulative_in_day[index])
    )
    return market.adv_shares * np.diff(cumulative)


@dataclass(frozen=True)
class Schedule:
    """A strategy's plan for an order: holdings after each child order, over the slice grid.

    Attributes
    ----------
    strategy : registry name of the strategy that made it.
    order : the order it works.
    market : the market parameters it was planned for.
    holdings_shares : shares still to trade at t_0..t_N (holdings[0] = order size, holdings[-1] = 0).
    params : the strategy parameters that produced it.
    warnings : plain-language remarks (e.g. POV could not finish in the horizon).
    blocks_shares : the part of each child order done as one block at the start of its slice (an immediate sweep
        of the order book), the rest being worked at a constant rate over the slice; None = every child order is
        worked (docs/MATH.md section 11).
    """

    strategy: str
    order: Order
    market: MarketParams
    holdings_shares: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    blocks_shares: np.ndarray | None = None

    def __post_init__(self) -> None:
        holdings = _frozen_array(self.holdings_shares)
        n = self.order.slices
        if holdings.shape != (n + 1,):
            raise ValueError(f"a schedule for {n} slices needs {n + 1} holdings, got {holdings.shape}")
        if not np.isfinite(holdings.sum()):  # one pass: NaN or inf anywhere makes the sum non-finite
            raise ValueError(f"strategy {self.strategy!r} produced a schedule with non-finite numbers")
        tolerance = 1e-9 * self.order.shares
        if abs(holdings[0] - self.order.shares) > tolerance or abs(holdings[-1]) > tolerance:
            raise ValueError(f"strategy {self.strategy!r} produced a schedule that does not trade the whole order")
        object.__setattr__(self, "holdings_shares", holdings)
        object.__setattr__(self, "warnings", tuple(self.warnings))
        if self.blocks_shares is not None:
            blocks = _frozen_array(self.blocks_shares)
            trades = holdings[:-1] - holdings[1:]
            if blocks.shape != (n,):
                raise ValueError(f"a schedule for {n} slices needs {n} block sizes, got {blocks.shape}")
            inside = (blocks * trades >= 0) & (np.abs(blocks) <= np.abs(trades) * (1 + 1e-12) + tolerance)
            if not np.all(np.isfinite(blocks)) or not np.all(inside):
                raise ValueError(f"strategy {self.strategy!r} produced blocks larger than their child orders")
            object.__setattr__(self, "blocks_shares", blocks)

    @property
    def block_trades_shares(self) -> np.ndarray:
        """The part of each child order done as a block at its slice's start (zeros when none)."""
        return np.zeros(self.order.slices) if self.blocks_shares is None else self.blocks_shares

    @property
    def has_blocks(self) -> bool:
        """True when some child order has a block (above 1e-9 of the order): a trade done at once, which no
        participation limit holds (docs/MATH.md section 11)."""
        return bool(np.any(self.block_trades_shares > 1e-9 * self.order.shares))

    @cached_property
    def market_volume_shares(self) -> np.ndarray:
        """Expected market volume in each slice, shares (for participation; computed on first use)."""
        return _frozen_array(slice_market_volume(self.order, self.market))

    @classmethod
    def from_trades(
        cls,
        strategy: str,
        order: Order,
        market: MarketParams,
        trades_shares: np.ndarray,
        params: dict[str, Any] | None = None,
        warnings: tuple[str, ...] = (),
        blocks_shares: np.ndarray | None = None,
    ) -> Schedule:
        """Build a schedule from child-order sizes; the last one absorbs rounding so the sum is exact.

        Raises ValueError when the child orders do not add up to the order (beyond rounding).
        """
        holdings = np.empty(order.slices + 1)
        holdings[0] = order.shares
        np.cumsum(trades_shares, out=holdings[1:])
        np.subtract(order.shares, holdings[1:], out=holdings[1:])
        return cls.from_holdings(strategy, order, market, holdings, params, warnings, blocks_shares)

    @classmethod
    def from_holdings(
        cls,
        strategy: str,
        order: Order,
        market: MarketParams,
        holdings_shares: np.ndarray,
        params: dict[str, Any] | None = None,
        warnings: tuple[str, ...] = (),
        blocks_shares: np.ndarray | None = None,
    ) -> Schedule:
        """Build a schedule from holdings on the slice grid; the end points, once checked, are set exactly to X and 0.

        Raises ValueError when the holdings do not start at the order size or do not end at zero beyond rounding
        (1e-9 of the largest holding): a strategy that leaves shares must say so, not have them pushed into a slice.
        """
        holdings = np.array(holdings_shares, dtype=float)
        if holdings.ndim == 1 and holdings.size == order.slices + 1 and np.isfinite(holdings.sum()):
            rounding = 1e-9 * max(order.shares, float(np.max(np.abs(holdings))))
            if abs(holdings[0] - order.shares) > rounding or abs(holdings[-1]) > rounding:
                raise ValueError(
                    f"strategy {strategy!r} produced a schedule that does not trade the whole order: it starts at "
                    f"{holdings[0]:,.0f} and leaves {holdings[-1]:,.0f} of {order.shares:,.0f} shares"
                )
            holdings[0], holdings[-1] = order.shares, 0.0
        return cls(strategy, order, market, holdings, dict(params or {}), warnings, blocks_shares)

    @property
    def times_days(self) -> np.ndarray:
        """Slice boundaries t_0..t_N in trading days from the start."""
        return self.order.times_days

    @property
    def trades_shares(self) -> np.ndarray:
        """Child order sizes n_k = x_{k-1} - x_k, k = 1..N (positive = in the order's direction)."""
        return self.holdings_shares[:-1] - self.holdings_shares[1:]

    @property
    def participation(self) -> np.ndarray:
        """Each child order as a fraction of the expected market volume in its slice."""
        volume = self.market_volume_shares
        traded = np.abs(self.trades_shares)
        ratio = traded / np.where(volume > 0, volume, 1.0)
        return np.where(volume > 0, ratio, np.where(traded > 0, np.inf, 0.0))
