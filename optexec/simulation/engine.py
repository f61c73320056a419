"""Vectorised Monte Carlo execution simulator: static schedules and feedback policies on common random numbers.

Every strategy of a run trades against the same market draw (optexec.simulation.market: price, volatility, signal,
volume, spread, regimes), so differences between strategies are paired. What a trade costs is the market's cost
model, ``optexec.market.cost_model(market)`` (docs/MATH.md section 11), the one the planner prices with: this module
only feeds it the realised spread and volume of each slice and adds the market move. Child order k (k = 0..N-1) is
sent at t_k = k tau against the mid of t_k; its block part (``Schedule.blocks_shares``) is done at once at t_k,
the rest worked over the slice. With s = +1 for a buy and -1 for a sell, P0 the arrival price, M_k the unimpacted
mid, the costs per path in $ (positive = money lost, docs/MATH.md section 8) are

    spread, temporary, permanent, transient   the cost model's buckets (``CostModel.charge`` / its components),
                                              with the slice's realised spread and market volume; passive fills
                                              (the ladder) cross no spread and subtract their price improvement
    timing     = s sum n_k (M_k - P0) + s q_N (P_end - P0)        (market move; opportunity cost of q_N unfinished,
                                                                   P_end = impacted mid at the horizon)
    IS         = the sum;  bps = 1e4 IS / (X P0)

With arithmetic prices, constant volatility and no volume or spread noise, a static schedule's mean and variance
are therefore ``optexec.costs.estimate``'s, for every cost model (tests/test_model_consistency.py). With volume
noise or regimes the power-law temporary cost is charged against the realised volume and its mean is the closed
form times ``MarketModel.inverse_volume_moment(p)`` (Jensen: 1.094 for the default model, p = 0.6); every run
carries its planned schedule's closed form and that expectation in the simulated market
(``StrategyRun.closed_form_usd``, ``StrategyRun.expected_usd``; optexec.simulation.expectation).
A policy's forced finish (``SimulationConfig.force_finish``) is one block at the last slice's start: what the
policy leaves at the horizon sweeps the book as the plan prices a schedule's finishing block (docs/MATH.md
section 11), not worked flow against one slice's volume.
Static schedules are evaluated without a loop over slices; policies loop over slices, vectorised over paths.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from optexec import json_output
from optexec.market import (
    BUCKETS,
    NONE,
    CostModel,
    LinearPermanent,
    SliceStep,
    StaticTrades,
    TransientImpact,
    cost_model,
)
from optexec.models import MarketParams, Order, Schedule
from optexec.simulation.expectation import MarketExpectation, market_expectation
from optexec.simulation.market import MarketModel, MarketPaths, generate_market_paths, market_streams
from optexec.simulation.path_statistics import PathCosts
from optexec.strategies import registry
from optexec.strategies.base import Decision, Policy, StepState, Strategy

COMPONENTS = ("spread", "temporary", "permanent", "transient", "timing")
MAX_PATHS = 1_000_000

#: the simulation's memory budget, bytes: the paths are drawn and simulated in chunks so that what is kept for every
#: path plus one chunk's working arrays stay under it, for any slices x paths (``chunk_paths``); a request that
#: cannot fit even one path at a time is refused with a message. The process adds its own ~0.2 GB (Python, numpy,
#: pandas, DuckDB) to it.
MEMORY_BUDGET_BYTES = 1_000_000_000
#: bytes kept per path for each strategy run: its cost, five components and three participation numbers (float64)
KEPT_BYTES_PER_PATH_RUN = 8 * (1 + len(COMPONENTS) + 3) + 1
#: working bytes per path and slice of a chunk with the default model: tracemalloc measured a peak of 56 bytes
#: (every strategy, 300 paths x 1,170 slices, before and after the simulator charged through the cost model; the
#: same with the calibrated cost model and transient impact: a static schedule's charges are computed a block of
#: rows at a time), with a margin
BASE_BYTES_PER_PATH_SLICE = 80
#: extra working bytes per path and slice with stochastic volatility (two factor paths and their noise: +16 measured;
#: with a noisy signal as well, 95 in all, tests/test_simulate.py's busy model)
STOCHASTIC_VOL_BYTES_PER_PATH_SLICE = 24
#: extra working bytes per path and slice with a noisy signal (its path and its noise: +8 measured)
SIGNAL_BYTES_PER_PATH_SLICE = 16


@dataclass(frozen=True)
class SimulationConfig:
    """How to run a simulation.

    paths : number of Monte Carlo paths. seed : random seed (None = fresh entropy, not reproducible).
    model : the simulated market's dynamics (price, volatility, signal, volume and spread noise, regimes); what
    trading costs is the market's cost model (MarketParams.cost_model, optexec.market).
    force_finish : True = anything left at the horizon is done at once, as one block at the start of the last
    slice (module docstring); False = it stays
    unfinished and is charged its opportunity cost. sample_paths : paths kept for charts.
    use_policies : False = run every strategy as its static schedule, even one with a feedback policy.
    chunk_paths : paths simulated at a time (None = as many as the memory budget allows, ``chunk_paths``); the
    numbers do not depend on it.
    """

    paths: int = 10_000
    seed: int | None = 0
    model: MarketModel = field(default_factory=MarketModel)
    force_finish: bool = True
    sample_paths: int = 20
    use_policies: bool = True
    chunk_paths: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.paths, bool) or not isinstance(self.paths, (int, np.integer)):
            raise ValueError(f"the number of paths must be a whole number, got {self.paths!r}")
        if not 2 <= self.paths <= MAX_PATHS:
            raise ValueError(f"the number of paths must be between 2 and {MAX_PATHS:,}, got {self.paths}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0
        ):
            raise ValueError(f"the seed must be a whole number >= 0, got {self.seed!r}")
        if (
            isinstance(self.sample_paths, bool)
            or not isinstance(self.sample_paths, (int, np.integer))
            or self.sample_paths < 0
        ):
            raise ValueError(f"the number of sample paths must be a whole number >= 0, got {self.sample_paths!r}")
        if self.chunk_paths is not None and (
            isinstance(self.chunk_paths, bool) or not isinstance(self.chunk_paths, (int, np.integer))
            or self.chunk_paths < 1
        ):  # fmt: skip
            raise ValueError(f"paths per chunk must be a whole number >= 1, got {self.chunk_paths!r}")


#: a $ amount, or one per path
Dollars = TypeVar("Dollars", float, np.ndarray)


@dataclass(frozen=True)
class StrategyRun(PathCosts):
    """One strategy's simulated outcome: costs per path and summary statistics.

    cost_usd : implementation shortfall per path. components_usd : the same split by COMPONENTS.
    reference_cost_usd : TWAP's cost on the same paths (for the paired difference).
    mean_participation : average of |n_k| / v_k over the slices each path traded in.
    max_participation : average over paths of each path's largest |n_k| / v_k.
    unfinished_share : share of paths with shares left at the horizon.
    sample_holdings_shares : shares left at t_0..t_N on the first sample paths.
    kind : "policy" or "schedule".
    planned : the closed form of the schedule the strategy's plan prices, and that schedule's expected cost in
        the simulated market (``optexec.simulation.expectation``); a static schedule's mean cost estimates the
        latter, a policy's differs by what the policy does on the paths. None when it could not be built.
    """

    name: str
    label: str
    kind: str
    arrival_notional_usd: float
    cost_usd: np.ndarray
    components_usd: dict[str, np.ndarray]
    reference_cost_usd: np.ndarray
    mean_participation: float
    max_participation: float
    unfinished_share: float
    sample_holdings_shares: np.ndarray
    planned: MarketExpectation | None = None

    @property
    def closed_form_usd(self) -> float:
        """The planner's expected cost of the strategy's planned schedule, $ (NaN without one)."""
        return math.nan if self.planned is None else self.planned.closed_form_usd

    @property
    def expected_usd(self) -> float:
        """The planned schedule's expected cost in the simulated market, $ (NaN without one): the closed form plus
        the volume noise's Jensen term (docs/MATH.md section 11, the simulator)."""
        return math.nan if self.planned is None else self.planned.expected_usd

    @property
    def paired_difference_usd(self) -> float:
        """Mean of (this cost - TWAP's cost) over the same paths, $ (< 0 = cheaper than TWAP)."""
        return float((self.cost_usd - self.reference_cost_usd).mean())

    @property
    def paired_stderr_usd(self) -> float:
        """Standard error of the paired difference to TWAP, $."""
        return float((self.cost_usd - self.reference_cost_usd).std(ddof=1) / math.sqrt(self.paths))

    def bps(self, usd: Dollars) -> Dollars:
        """A $ amount in bps of the arrival notional."""
        return 1e4 * usd / self.arrival_notional_usd

    def component_means_usd(self) -> dict[str, float]:
        """Mean of each cost component, $."""
        return {name: float(values.mean()) for name, values in self.components_usd.items()}


@dataclass(frozen=True)
class SimulationResult:
    """A whole run: every strategy's outcome on the same market paths, and why any strategy could not run.

    Attributes
    ----------
    order, market, config : what was simulated, in which market, with which paths and seed.
    runs : one ``StrategyRun`` per strategy: its cost per path and statistics.
    errors : strategy name -> why it could not run.
    sample_mid_usd : the unimpacted mid on the first sample paths, $/share.
    notes : what the run assumed, in words.

    ``summary()`` is the statistics table, ``to_frame()`` every path's cost, ``to_json()`` the ``simulate --json``
    document.
    """

    order: Order
    market: MarketParams
    config: SimulationConfig
    runs: tuple[StrategyRun, ...]
    errors: dict[str, str]
    sample_mid_usd: np.ndarray
    notes: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """The statistics table, one row per strategy ($ and bps)."""
        records = []
        for run in self.runs:
            row = {
                "strategy": run.label,
                "kind": run.kind,
                "mean_cost_usd": run.mean_usd,
                "mean_cost_bps": run.bps(run.mean_usd),
                "stderr_mean_usd": run.stderr_mean_usd,
                "std_cost_usd": run.std_usd,
                "std_cost_bps": run.bps(run.std_usd),
                "var95_usd": run.var95_usd,
                "var95_bps": run.bps(run.var95_usd),
                "cvar95_usd": run.cvar95_usd,
                "cvar95_bps": run.bps(run.cvar95_usd),
                "vs_twap_usd": run.paired_difference_usd,
                "vs_twap_stderr_usd": run.paired_stderr_usd,
                "mean_participation": run.mean_participation,
                "max_participation": run.max_participation,
                "unfinished_share": run.unfinished_share,
                "closed_form_usd": run.closed_form_usd,
                "closed_form_bps": run.bps(run.closed_form_usd),
                "expected_usd": run.expected_usd,
                "expected_bps": run.bps(run.expected_usd),
            }
            row.update({f"{name}_usd": value for name, value in run.component_means_usd().items()})
            records.append(row)
        return pd.DataFrame.from_records(records)

    def summary(self) -> pd.DataFrame:
        """The statistics table (``table``): one row per strategy, $ and bps."""
        return self.table()

    def to_frame(self) -> pd.DataFrame:
        """Every strategy's cost on every path, tidy: strategy, path, cost_usd, cost_bps and the cost split."""
        frames = []
        for run in self.runs:
            frame = pd.DataFrame({"strategy": run.name, "strategy_label": run.label, "path": np.arange(run.paths)})
            frame["cost_usd"] = run.cost_usd
            frame["cost_bps"] = run.bps(run.cost_usd)
            for name, values in run.components_usd.items():
                frame[f"{name}_usd"] = values
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def _repr_html_(self) -> str:  # a notebook shows the statistics table
        columns = ["strategy", "mean_cost_bps", "std_cost_bps", "var95_bps", "cvar95_bps", "mean_cost_usd"]
        head = f"<p>{self.config.paths:,} paths, seed {self.config.seed}; costs in bps of the arrival notional</p>"
        return head + self.table()[columns].to_html(index=False, float_format=lambda x: f"{x:,.2f}")

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md section 7 simulate layout (plus extra fields), as ``simulate --json`` prints it."""
        strategies = []
        for run in self.runs:
            strategies.append(
                {
                    "name": run.name,
                    "label": run.label,
                    "kind": run.kind,
                    "mean_cost_usd": run.mean_usd,
                    "std_cost_usd": run.std_usd,
                    "var95_usd": run.var95_usd,
                    "cvar95_usd": run.cvar95_usd,
                    "mean_cost_bps": run.bps(run.mean_usd),
                    "std_cost_bps": run.bps(run.std_usd),
                    "var95_bps": run.bps(run.var95_usd),
                    "cvar95_bps": run.bps(run.cvar95_usd),
                    "stderr_mean_usd": run.stderr_mean_usd,
                    "vs_twap_usd": run.paired_difference_usd,
                    "vs_twap_stderr_usd": run.paired_stderr_usd,
                    "mean_participation": run.mean_participation,
                    "max_participation": run.max_participation,
                    "unfinished_share": run.unfinished_share,
                    "closed_form_usd": None if run.planned is None else run.closed_form_usd,
                    "expected_usd": None if run.planned is None else run.expected_usd,
                    "components_usd": run.component_means_usd(),
                }
            )
        order = self.order
        return json_output.stamped("simulate", {
            "order": {"symbol": order.symbol, "side": order.side, "shares": order.shares,
                      "horizon_days": order.horizon_days, "slices": order.slices},
            "paths": self.config.paths,
            "seed": self.config.seed,
            "strategies": strategies,
            "errors": [{"name": name, "error": error} for name, error in self.errors.items()],
            "notes": list(self.notes),
        })  # fmt: skip


@dataclass
class _Outcome:
    """One strategy on one chunk of paths, per path: what the run keeps of it (``simulate_strategies``).

    part_sum, part_count, part_max : sum of |n_k| / v_k over the slices traded, their number, and the largest.
    """

    total: np.ndarray
    components: dict[str, np.ndarray]
    part_sum: np.ndarray
    part_count: np.ndarray
    part_max: np.ndarray
    unfinished: np.ndarray
    holdings: np.ndarray

    @staticmethod
    def join(parts: Sequence[_Outcome]) -> _Outcome:
        """The outcomes of consecutive chunks as one (paths in order)."""
        if len(parts) == 1:
            return parts[0]
        return _Outcome(
            np.concatenate([p.total for p in parts]),
            {name: np.concatenate([p.components[name] for p in parts]) for name in COMPONENTS},
            np.concatenate([p.part_sum for p in parts]),
            np.concatenate([p.part_count for p in parts]),
            np.concatenate([p.part_max for p in parts]),
            np.concatenate([p.unfinished for p in parts]),
            np.concatenate([p.holdings for p in parts]),
        )

    def summary(self) -> tuple[np.ndarray, dict[str, np.ndarray], float, float, float, np.ndarray]:
        """(cost per path, components per path, mean participation over traded slices, mean over paths of each
        path's largest participation, share of paths unfinished, sample holdings)."""
        count = int(self.part_count.sum())
        mean = float(self.part_sum.sum() / count) if count else 0.0
        peak = float(self.part_max.mean()) if self.part_max.size else 0.0
        return self.total, self.components, mean, peak, float(self.unfinished.mean()), self.holdings


#: path x slice elements of a static schedule's working arrays at a time (about 1 MB: they stay in the cache)
ROW_BLOCK_ELEMENTS = 1 << 17


def _schedule_outcome(schedule: Schedule, market: MarketParams, paths: MarketPaths, samples: int) -> _Outcome:
    """A static schedule on every path of a chunk, without a loop over slices or paths (module docstring).

    Every component but the transient one is charged on (paths, N) arrays (``charge_usd`` broadcasts: the realised
    spread and volume are (paths, N), the trades (N,)), a block of rows at a time so that the working arrays stay in
    the cache; the transient cost of a static schedule does not depend on the path, so it is the component's exact
    ``expected_usd``. Per-path sums are row by row (``np.sum`` over the last axis, ``einsum``; not a BLAS product
    whose rounding depends on how many rows it is given), so a path's numbers do not depend on the chunk or the
    block it is simulated in.
    """
    order = schedule.order
    sign, price, tau = order.side_sign, market.price_usd, order.slice_days
    model = cost_model(market)
    trades, blocks = schedule.trades_shares, schedule.block_trades_shares
    count = paths.paths
    static = StaticTrades(trades, blocks, tau, paths.expected_volume_shares, order.shares)
    done_before, size = static.done_before_shares, np.abs(trades)
    components = {name: np.zeros(count) for name in BUCKETS}
    part_sum, part_max = np.empty(count), np.empty(count)
    rows = max(1, ROW_BLOCK_ELEMENTS // order.slices)
    for first in range(0, count, rows):
        block = slice(first, min(first + rows, count))
        volume = paths.volume_shares[block]
        step = SliceStep(blocks, trades - blocks, trades, volume, paths.spread_usd[block], done_before, NONE, tau)
        for component in model.components:
            if not isinstance(component, TransientImpact):
                components[component.bucket][block] += np.sum(component.charge_usd(step), axis=-1)
        ratio = size / np.maximum(volume, 1e-12)  # |n| / v
        part_sum[block], part_max[block] = ratio.sum(axis=1), ratio.max(axis=1)
    if model.transient is not None:
        components[model.transient.bucket] += model.transient.expected_usd(static)
    components["timing"] = sign * (np.einsum("ij,j->i", paths.mid_usd[:, :-1], trades) - price * trades.sum())
    components = {name: components[name] for name in COMPONENTS}
    total = sum((components[name] for name in COMPONENTS), np.zeros(count))
    holdings = np.broadcast_to(schedule.holdings_shares, (min(samples, count), order.slices + 1)).copy()
    part_count = np.full(count, float(np.count_nonzero(trades)))
    return _Outcome(total, components, part_sum, part_count, part_max, np.zeros(count, bool), holdings)


def run_schedule(
    schedule: Schedule, market: MarketParams, paths: MarketPaths, samples: int
) -> tuple[np.ndarray, dict[str, np.ndarray], float, float, float, np.ndarray]:
    """Costs of a static schedule on every path, without a loop over paths (module docstring formulas)."""
    return _schedule_outcome(schedule, market, paths, samples).summary()


def permanent_slope_usd_per_share2(model: CostModel) -> float:
    """The permanent price move per share done, $/share per share (the impacted mid at the horizon moves by it
    times the shares done): the model's linear permanent impact gamma, 0 without one."""
    return sum(c.gamma_usd_per_share2 for c in model.components if isinstance(c, LinearPermanent))


def _policy_outcome(
    policy: Policy,
    order: Order,
    market: MarketParams,
    paths: MarketPaths,
    samples: int,
    force_finish: bool = True,
) -> _Outcome:
    """Step a feedback policy through the slices, vectorised over the paths of a chunk (module docstring): each
    slice is charged by ``CostModel.charge`` with the transient displacement carried from slice to slice."""
    count, n = paths.paths, order.slices
    sign, price, tau = order.side_sign, market.price_usd, order.slice_days
    model = cost_model(market)
    remaining = np.full(count, order.shares)
    level = np.zeros(count)
    costs = {name: np.zeros(count) for name in COMPONENTS}
    part_sum, part_count, part_max = np.zeros(count), np.zeros(count), np.zeros(count)
    holdings = np.empty((min(samples, count), n + 1))
    holdings[:, 0] = order.shares
    signal, fast, slow = paths.signal_usd_per_day, paths.fast_variance, paths.slow_variance
    for k in range(n):
        state = StepState(
            step=k,
            slices=n,
            t_days=float(paths.times_days[k]),
            slice_days=tau,
            remaining_shares=remaining,
            impact_usd=level,
            signal_usd_per_day=np.broadcast_to(signal[:, k], (count,)),
            fast_variance=np.broadcast_to(fast[:, k], (count,)),
            slow_variance=np.broadcast_to(slow[:, k], (count,)),
            market_volume_shares=paths.volume_shares[:, k],
            expected_volume_shares=float(paths.expected_volume_shares[k]),
            spread_usd=paths.spread_usd[:, k],
            normal_spread_usd=market.spread_usd,
            fill_uniform=paths.fill_uniform[:, k],
            realised_volume_shares=paths.volume_shares[:, :k],
        )
        decision: Decision = policy.decide(state)
        passive = np.zeros(count) if decision.passive_shares is None else np.asarray(decision.passive_shares)
        gain = 0.0 if decision.passive_gain_usd is None else np.asarray(decision.passive_gain_usd)
        market_shares = np.minimum(np.asarray(decision.market_shares, dtype=float), remaining - passive)
        finish: np.ndarray = NONE
        if force_finish and k == n - 1:
            # what the policy leaves at the horizon is done as one block at the last slice's start, as the plan
            # prices a schedule's finishing sweep (docs/MATH.md section 11: a trade done at once is a block)
            finish = remaining - passive - market_shares
            market_shares = remaining - passive
        traded = market_shares + passive
        volume = paths.volume_shares[:, k]
        step = SliceStep(finish, traded - finish, market_shares, volume, paths.spread_usd[:, k],
                         order.shares - remaining, level, tau)  # fmt: skip
        charges, level = model.charge(step)
        for name in BUCKETS:
            costs[name] += charges[name]
        costs["spread"] -= gain  # the passive fills' price improvement on the deeper levels (the ladder)
        costs["timing"] += sign * (paths.mid_usd[:, k] - price) * traded
        ratio = np.abs(traded) / np.maximum(volume, 1e-12)  # 0 where nothing traded
        part_sum += ratio
        part_count += traded != 0
        np.maximum(part_max, ratio, out=part_max)
        remaining = remaining - traded
        holdings[:, k + 1] = remaining[: holdings.shape[0]]
    unfinished = np.abs(remaining) > 1e-9 * order.shares
    if np.any(unfinished):
        moved = permanent_slope_usd_per_share2(model) * (order.shares - remaining) + level
        end_price = paths.mid_usd[:, -1] + sign * moved
        costs["timing"] += sign * remaining * (end_price - price)
    total = sum((costs[name] for name in COMPONENTS), np.zeros(count))
    return _Outcome(total, costs, part_sum, part_count, part_max, unfinished, holdings)


def run_policy(
    policy: Policy,
    order: Order,
    market: MarketParams,
    paths: MarketPaths,
    samples: int,
    force_finish: bool = True,
) -> tuple[np.ndarray, dict[str, np.ndarray], float, float, float, np.ndarray]:
    """Step a feedback policy through the slices, vectorised over paths (module docstring formulas)."""
    return _policy_outcome(policy, order, market, paths, samples, force_finish).summary()


def _twap(order: Order, market: MarketParams) -> Schedule:
    """The equal-slice reference schedule of the paired differences."""
    return Schedule.from_trades("twap", order, market, np.full(order.slices, order.shares / order.slices))


def _prepare(strategy: Strategy, order: Order, market: MarketParams, settings: dict, config: SimulationConfig):
    """(kind, schedule or policy prototype, the planned schedule's expectation or why there is none) of a
    strategy; a policy is copied fresh for every chunk of paths. A policy runs even when its schedule cannot be
    built with these settings (the run then has no closed form, and the result's notes say why)."""
    params = strategy.make_params(settings)
    if strategy.policy is not None and config.use_policies:
        policy = strategy.policy(order, market, params)
        try:
            return "policy", policy, market_expectation(strategy.build(order, market, params), config.model)
        except (ValueError, TypeError, AttributeError, *registry.ARITHMETIC_ERRORS) as error:
            return "policy", policy, f"{type(error).__name__}: {error}"
    schedule = strategy.build(order, market, params)
    return "schedule", schedule, market_expectation(schedule, config.model)


def simulate_strategies(
    order: Order,
    market: MarketParams,
    strategies: Sequence[Strategy],
    settings: Mapping[str, Any] | None = None,
    config: SimulationConfig | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> SimulationResult:
    """Simulate each strategy on the same market paths: its policy if it has one, else its static schedule.

    The paths are drawn and simulated in chunks that keep the memory under ``MEMORY_BUDGET_BYTES``
    (``chunk_paths``); every strategy sees every chunk, and a chunk's paths are the rows of one draw of all the
    paths, so the numbers for a seed do not depend on the chunking (the nonlinear strategy's adaptive policy aside:
    it groups the paths of a chunk by their realised volume, see ``SimulationResult.notes``).
    A strategy that cannot plan (invalid parameters) is reported in ``errors`` and the others still run.
    ``progress(fraction_done, label)`` is called after each chunk's market draw and after each strategy.
    """
    config = config or SimulationConfig()
    settings = dict(settings or {})
    model = config.model
    chunk = config.chunk_paths or chunk_paths(order, model, config.paths, len(strategies) + 1, config.sample_paths)
    starts = range(0, config.paths, chunk)
    prepared, errors = {}, {}
    for strategy in strategies:
        try:
            prepared[strategy.name] = _prepare(strategy, order, market, settings, config)
        except ValueError as error:
            errors[strategy.name] = str(error)
        except registry.ARITHMETIC_ERRORS as error:
            errors[strategy.name] = registry.arithmetic_error_message(error)
    twap = _twap(order, market)
    streams = market_streams(config.seed)
    parts: dict[str, list[_Outcome]] = {name: [] for name in prepared}
    references, mids = [], []
    for c, start in enumerate(starts):
        count = min(chunk, config.paths - start)
        samples = max(0, min(config.sample_paths - start, count))
        paths = generate_market_paths(order, market, model, count, None, streams)
        if progress:
            progress(c / len(starts), "market paths" if len(starts) == 1 else f"market paths ({c + 1}/{len(starts)})")
        references.append(_schedule_outcome(twap, market, paths, 0).total)
        mids.append(np.array(paths.mid_usd[:samples]))
        for i, strategy in enumerate(strategies):
            if strategy.name in prepared and strategy.name not in errors:
                kind, plan, _ = prepared[strategy.name]
                try:
                    if kind == "policy":
                        outcome = _policy_outcome(copy.deepcopy(plan), order, market, paths, samples,
                                                  config.force_finish)  # fmt: skip
                    else:
                        outcome = _schedule_outcome(plan, market, paths, samples)
                    parts[strategy.name].append(outcome)
                except ValueError as error:
                    errors[strategy.name] = str(error)
                except registry.ARITHMETIC_ERRORS as error:
                    errors[strategy.name] = registry.arithmetic_error_message(error)
            if progress:
                progress((c + (i + 1) / len(strategies)) / len(starts), strategy.label)
        del paths
    reference = np.concatenate(references)
    runs = []
    notes: list[str] = []
    for strategy in strategies:
        if strategy.name in errors:
            continue
        planned = prepared[strategy.name][2]
        if isinstance(planned, str):
            notes.append(f"{strategy.label}: no closed form beside its simulated cost (its schedule: {planned})")
            planned = None
        total, components, mean_part, max_part, unfinished, holdings = _Outcome.join(parts[strategy.name]).summary()
        runs.append(
            StrategyRun(
                strategy.name, strategy.label, prepared[strategy.name][0], order.shares * market.price_usd, total,
                components, reference, mean_part, max_part, unfinished, holdings, planned,
            )
        )  # fmt: skip
    if len(starts) > 1:
        budget = f"{MEMORY_BUDGET_BYTES / 1e9:g} GB"
        notes.append(
            f"simulated in {len(starts)} chunks of up to {chunk:,} paths to stay under the memory budget of {budget}"
        )
        if any(run.name == "nonlinear" and run.kind == "policy" for run in runs):
            notes.append(
                "the nonlinear strategy's adaptive policy groups the paths of each chunk by their realised volume, "
                "so its numbers depend a little on the chunk size"
            )
    return SimulationResult(order, market, config, tuple(runs), errors, np.concatenate(mids), tuple(notes))


def chunk_paths(order: Order, model: MarketModel, paths: int, runs: int, sample_paths: int) -> int:
    """Paths per chunk so that a simulation of ``runs`` schedules or policies (TWAP's reference included) stays
    under ``MEMORY_BUDGET_BYTES``: what is kept for every path (each run's costs by component and participation,
    ``KEPT_BYTES_PER_PATH_RUN``), the sample paths kept for charts, and one chunk's working arrays
    (``working_bytes_per_path_slice``). A ValueError says what to reduce when even one path at a time cannot fit.
    """
    slices = order.slices
    kept = paths * runs * KEPT_BYTES_PER_PATH_RUN + (runs + 1) * min(sample_paths, paths) * (slices + 1) * 8
    per_path = working_bytes_per_path_slice(model) * slices
    room = MEMORY_BUDGET_BYTES - kept
    if room < per_path:
        need = (kept + per_path) / 1e9
        raise ValueError(
            f"simulating {paths:,} paths over {slices:,} slices needs about {need:.1f} GB even one path at a time, "
            f"above the memory budget of {MEMORY_BUDGET_BYTES / 1e9:g} GB: use fewer paths, slices or sample paths"
        )
    return int(min(paths, room // per_path))


def working_bytes_per_path_slice(model: MarketModel) -> int:
    """Peak working memory of one path and slice while a chunk is drawn and simulated, bytes (measured with
    tracemalloc; ``tests/test_simulate.py`` checks the bound): the draw's float64 mid, volume and spread, its float32
    uniforms and normals, a strategy's (paths, N) temporaries, and the factor paths of stochastic volatility and the
    signal's noise when the model has them."""
    extra = 0
    if model.stochastic_vol:
        extra += STOCHASTIC_VOL_BYTES_PER_PATH_SLICE
    if model.signal_vol_usd_per_day_per_sqrt_day > 0:
        extra += SIGNAL_BYTES_PER_PATH_SLICE
    return BASE_BYTES_PER_PATH_SLICE + extra
