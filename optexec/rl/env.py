"""The batch execution environment over the Monte Carlo simulator: reset/step over many paths at once (the
Gymnasium environment over it is optexec.rl.gym_env).

One episode works one order. The horizon is cut into ``periods`` decision periods (whole slices of the order).
At the start of period j the agent sees the state and picks the fraction a of the remaining order to execute in
the period; those shares are split evenly over the period's slices, and the last period finishes the order (at
the horizon any remainder is executed at once). The market is ``optexec.simulation.market.generate_market_paths``
and every slice is charged by the market's cost model, ``optexec.market.cost_model(market)`` (docs/MATH.md
section 11; ``period_charges``: its components over the whole batch, the transient displacement carried from slice
to slice, as ``CostModel.charge`` gives them slice after slice): what ``optexec.simulation.engine.run_policy``
charges for the same trades on the same paths, so an agent's costs are comparable with every other strategy of
``simulate(...)``. A curriculum stage that trains under another cost model changes
the market's (``dataclasses.replace(market, cost_model=...)``).

Reward of a period, in $ (docs/MATH.md section 8, marked to market; s = +1 buy, -1 sell, M_k the unimpacted mid,
x_{k+1} the shares left after slice k, v_k the slice's variance):

    r = - sum_k [ spread_k + temporary_k + permanent_k + transient_k + s x_{k+1} (M_{k+1} - M_k) ]
        - lambda sum_k v_k tau x_{k+1}^2

The bracket sums over an episode to the implementation shortfall of ``run_policy`` (Abel summation of its timing
term s sum n_k (M_k - P0)); the second term is the Almgren–Chriss risk penalty lambda V (docs/MATH.md section 2,
eq 5).

State (``FEATURES``): fraction remaining, fraction of time elapsed, spread / normal spread, current volatility /
long-run volatility, realised / expected market volume of the previous period, and the previous period's return
in units of sigma sqrt(period), signed so that + is against the order.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from optexec.market import BUCKETS, NONE, CostModel, SliceStep, TransientImpact, cost_model
from optexec.models import MarketParams, Order, check_non_negative
from optexec.simulation.market import MarketModel, MarketPaths, generate_market_paths

FEATURES = ("remaining", "elapsed", "spread_ratio", "vol_ratio", "volume_ratio", "recent_return")
DISCRETE_ACTIONS = np.linspace(0.0, 1.0, 11)  # 0%, 10%, ..., 100% of the remaining order


def period_bounds(slices: int, periods: int) -> np.ndarray:
    """First slice of each decision period and the end, (P + 1,) ints; P = min(periods, slices)."""
    if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 1:
        raise ValueError(f"the number of decision periods must be a whole number >= 1, got {periods!r}")
    count = min(int(periods), slices)
    return np.unique(np.round(np.linspace(0, slices, count + 1)).astype(int))


@dataclass(frozen=True)
class EnvConfig:
    """What the agent trains on.

    periods : decision periods in the horizon (each spans whole slices of the order).
    risk_aversion_per_usd : lambda of the risk penalty lambda sum v tau x^2, per $ (docs/MATH.md section 2).
    model : the simulated market's dynamics (what trading costs is the market's cost model).
    """

    periods: int = 10
    risk_aversion_per_usd: float = 1e-6
    model: MarketModel = field(default_factory=MarketModel)

    def __post_init__(self) -> None:
        period_bounds(1, self.periods)
        check_non_negative("risk aversion (1/$)", self.risk_aversion_per_usd)


def tile_paths(paths: MarketPaths, copies: int) -> MarketPaths:
    """The same market paths repeated ``copies`` times along the path axis (common random numbers)."""
    count = paths.paths
    changes = {
        f.name: np.tile(value, (copies, 1))
        for f in dataclasses.fields(paths)
        if isinstance(value := getattr(paths, f.name), np.ndarray) and value.ndim == 2 and value.shape[0] == count
    }
    return dataclasses.replace(paths, **changes)


class BatchExecutionEnv:
    """The environment vectorised over a batch of market paths (module docstring); for training and evaluation."""

    def __init__(self, order: Order, market: MarketParams, config: EnvConfig | None = None) -> None:
        self.order, self.market = order, market
        self.config = config or EnvConfig()
        self.bounds = period_bounds(order.slices, self.config.periods)
        self.periods = len(self.bounds) - 1
        self.cost_model = cost_model(market)
        self.sigma2 = market.sigma_usd_per_sqrt_day**2
        self.paths: MarketPaths | None = None
        self.copies = 1
        self._columns: dict[str, np.ndarray] = {}
        self._drawn_key: tuple[int, int] | None = None  # (batch, seed) of the last seeded draw ...
        self._drawn: MarketPaths | None = None  # ... and its paths
        self.period = 0

    def reset(
        self, batch: int = 1, seed: int | None = None, paths: MarketPaths | None = None, copies: int = 1
    ) -> np.ndarray:
        """Start ``batch`` episodes on fresh market paths (or the given ones); the first observations (B, 6).

        The paths drawn for a seed are kept: a reset with the ``batch`` and ``seed`` of the last seeded draw
        reuses them (the same numbers without drawing them again, e.g. the fixed validation paths of training).
        ``copies`` plays the given paths that many times over (episode j b is path b, as ``tile_paths``) without
        copying the whole draw.
        """
        if paths is None:
            key = None if seed is None else (batch, seed)
            drawn = self._drawn
            if drawn is None or key is None or key != self._drawn_key:
                drawn = generate_market_paths(self.order, self.market, self.config.model, batch, seed)
                self._drawn_key, self._drawn = key, drawn
            paths = drawn
        if paths is not self.paths:
            self._columns = {}  # slice-major copies of the draw's arrays, made on first use
        self.paths = paths
        self.copies = int(copies)
        count = paths.paths * self.copies
        self.remaining = np.full(count, self.order.shares)
        self.level = np.zeros(count)
        self.period = 0
        self.cost_usd = np.zeros(count)
        self.penalty_usd = np.zeros(count)
        self.charges_usd = {name: np.zeros(count) for name in BUCKETS}
        return self.observe()

    @property
    def done(self) -> bool:
        """True once every period has been played."""
        return self.period >= self.periods

    def observe(self) -> np.ndarray:
        """The state at the start of the current period, (B, len(FEATURES)) (module docstring)."""
        paths, order, market = self.paths, self.order, self.market
        if paths is None:
            raise ValueError("reset the environment before observing it")
        k = int(self.bounds[min(self.period, self.periods - 1)])
        obs = np.empty((self.remaining.size, len(FEATURES)))
        obs[:, 0] = self.remaining / order.shares
        obs[:, 1] = k / order.slices
        normal = market.spread_usd if market.spread_usd > 0 else 1.0
        copied = self._copied
        obs[:, 2] = copied(paths.spread_usd[:, min(k, order.slices - 1)] / normal) if market.spread_usd > 0 else 1.0
        if self.sigma2 > 0:
            variance = paths.fast_variance[:, k] + paths.slow_variance[:, k] - self.sigma2
            obs[:, 3] = copied(np.sqrt(np.maximum(variance, 0.0) / self.sigma2))
        else:
            obs[:, 3] = 1.0
        if self.period == 0:
            obs[:, 4], obs[:, 5] = 1.0, 0.0
        else:
            start = int(self.bounds[self.period - 1])
            expected = paths.expected_volume_shares[start:k].sum()
            obs[:, 4] = copied(paths.volume_shares[:, start:k].sum(axis=1) / expected) if expected > 0 else 1.0
            scale = math.sqrt(self.sigma2 * (k - start) * order.slice_days)
            move = order.side_sign * (paths.mid_usd[:, k] - paths.mid_usd[:, start])
            obs[:, 5] = copied(move / scale) if scale > 0 else 0.0
        return obs

    def _copied(self, values: np.ndarray) -> np.ndarray:
        """Per-path values of the draw, (paths,) or (1,), repeated for the ``copies`` of the paths played."""
        if self.copies > 1 and self.paths is not None and values.shape[0] == self.paths.paths:
            return np.tile(values, self.copies)
        return values

    def _block(self, name: str, start: int, end: int) -> np.ndarray:
        """Slices start..end - 1 of the draw's (paths, ...) array ``name`` as a C-contiguous (m, paths) or (m, 1)
        array, a row per slice (the draw is turned slice-major once per draw, then sliced; not repeated for the
        copies played)."""
        columns = self._columns.get(name)
        if columns is None:
            columns = self._columns[name] = np.ascontiguousarray(getattr(self.paths, name).T)
        return columns[start:end]

    def step(self, fraction: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """Execute ``fraction`` of the remainder over the period; (next observations, rewards in $, done).

        The period's m slices are charged by the cost model (``period_charges``) on (m, copies, paths) arrays: row
        i for slice start + i, the episode's arrays viewed as (copies, paths) so the draw's (paths,) columns
        broadcast against the copies played.
        """
        if self.paths is None or self.done:
            raise ValueError("the episode is over: call reset() first")
        order = self.order
        fraction = np.clip(np.broadcast_to(np.asarray(fraction, dtype=float), self.remaining.shape), 0.0, 1.0)
        last_period = self.period == self.periods - 1
        if last_period:
            fraction = np.ones_like(self.remaining)
        start, end = int(self.bounds[self.period]), int(self.bounds[self.period + 1])
        m = end - start
        per_slice = fraction * self.remaining / m
        traded, left = _period_trades(self.remaining, per_slice, m, end == order.slices)
        sign, tau, lam = order.side_sign, order.slice_days, self.config.risk_aversion_per_usd
        shape = (self.copies, traded.shape[1] // self.copies)

        def drawn(name: str, stop: int = end) -> np.ndarray:  # (rows, 1, paths) or (rows, 1, 1)
            return self._block(name, start, stop)[:, None, :]

        shares, held = traded.reshape(m, *shape), left.reshape(m + 1, *shape)
        before, after = held[:-1], held[1:]  # x_k and x_{k+1}, shares
        step = SliceStep(NONE, shares, shares, drawn("volume_shares"), drawn("spread_usd"), order.shares - before,
                         self.level.reshape(shape), tau)  # fmt: skip
        charges, level = period_charges(self.cost_model, step)
        mid = drawn("mid_usd", end + 1)  # M_start..M_end
        variance = np.maximum(drawn("fast_variance") + drawn("slow_variance") - self.sigma2, 0.0)  # v_k
        cost = sign * np.sum(after * (mid[1:] - mid[:-1]), axis=0)  # s x_{k+1} (M_{k+1} - M_k)
        for name in BUCKETS:
            charged = np.sum(np.broadcast_to(charges[name], shares.shape), axis=0)
            cost += charged
            self.charges_usd[name] += charged.reshape(-1)
        penalty = lam * tau * np.sum(variance * after**2, axis=0)  # lambda v_k tau x_{k+1}^2
        self.level = np.broadcast_to(level, shape).reshape(-1).copy()
        cost, penalty = cost.reshape(-1), penalty.reshape(-1)
        self.remaining = left[-1].copy()
        self.cost_usd += cost
        self.penalty_usd += penalty
        self.period += 1
        return self.observe(), -(cost + penalty), self.done


def period_charges(model: CostModel, step: SliceStep) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(charges by bucket of consecutive slices stacked on the first axis of ``step``'s arrays, (m, ...); D- after
    the last slice): what ``CostModel.charge`` gives slice after slice (docs/MATH.md section 11). The components
    that charge each slice on its own are evaluated for all m slices at once (``charge_usd`` is elementwise); the
    transient impact, which carries its displacement from slice to slice (``step.transient_usd``, that of the
    first slice), steps through them in order."""
    charges: dict[str, np.ndarray] = {name: np.zeros(1) for name in BUCKETS}
    level = step.transient_usd
    for component in model.components:
        if isinstance(component, TransientImpact) and component.charges_nothing(step):
            continue  # memoryless model, no block, nothing left on the book: it charges nothing
        if isinstance(component, TransientImpact):
            rows = []
            for i in range(np.shape(step.worked_shares)[0]):
                row = {f.name: _row(getattr(step, f.name), i) for f in dataclasses.fields(SliceStep)
                       if f.name != "transient_usd"}  # fmt: skip
                cost, level = component.step(SliceStep(**row, transient_usd=level))
                rows.append(np.broadcast_to(cost, np.shape(step.worked_shares)[1:]))
            cost = np.stack(rows)
        else:
            cost = component.charge_usd(step)
        charges[component.bucket] = charges[component.bucket] + cost
    return charges, level


def _row(value, i: int):
    """Row i of a stacked (m, ...) array of a SliceStep; numbers as they are."""
    return value[i] if isinstance(value, np.ndarray) and value.ndim > 0 else value


def _period_trades(
    remaining: np.ndarray, per_slice: np.ndarray, count: int, finish: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(traded, left) over the ``count`` slices of a period for (B,) ``remaining`` and ``per_slice`` shares:
    traded (count, B) shares per slice, left (count + 1, B) the shares x_0..x_count held before each slice and
    after the last.

    The rule, per path: x_0 = remaining, traded_i = min(per_slice, x_i), x_{i+1} = x_i - traded_i; with ``finish``
    the last slice trades all of x_{count-1} (the order's last slice). Computed with the same rounding from the
    running differences remaining - per_slice - per_slice - ... (one subtraction per slice): they are the x while
    x_i >= per_slice; the first slice with less left trades it all, and x = 0 from then on.
    """
    left = np.empty((count + 1, remaining.size))
    left[0] = remaining
    for i in range(count):
        np.subtract(left[i], per_slice, out=left[i + 1])
    np.maximum(left, 0.0, out=left)
    traded = np.minimum(per_slice, left[:-1])
    if finish:
        traded[-1] = left[-2]
        left[-1] = 0.0
    return traded, left
