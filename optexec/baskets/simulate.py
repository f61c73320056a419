"""Monte Carlo of a basket's schedules: correlated price paths, each order charged by its market's cost model
(docs/MATH.md section 12), in chunks of paths that run on the serial engine or on Dask (issue 18).

For every planned strategy of a ``BasketPlan``, on the same paths (common random numbers):

* each order's child orders are charged by the ONE market model, ``cost_model(market).charge`` slice by slice (as
  ``optexec.monte_carlo`` does for one order), at the slice's expected market volume and the normal spread: the price
  is the only random input here, so these charges are the same on every path;
* the market move: order i's unimpacted mid is M_{k,i} = P0_i + alpha_i t_k + sigma_i sqrt(tau) sum_{j<k} Z_{j,i},
  Z_j ~ N(0, R) with R the basket's correlation (Z = xi L^T, L L^T = R, Cholesky); child k is done against M_k, so the
  timing cost is s_i sum_k n_{k,i} (M_{k,i} - P0_i);
* the basket's shortfall per path is the sum over its orders; its mean, std, 95% VaR (the 95th percentile) and CVaR
  in $ and in bps of the gross notional, each order's mean and std, and the standard error of the mean.

The paths are split into chunks of ``chunk_paths`` paths; chunk c draws from ``SeedSequence(seed).spawn(n)[c]``, and
the chunks are put back together in their order, so a run gives the same numbers on any number of workers and on
either engine (each chunk runs on one BLAS thread: ``optexec.engines``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optexec.engines import EngineChoice, engine_client, run_tasks, single_threaded_blas
from optexec.market import BUCKETS, SliceStep, cost_model
from optexec.models import Schedule
from optexec.simulation.path_statistics import PathCosts

MAX_PATHS = 1_000_000
#: normal draws per chunk (paths x slices x orders): about 16 MB of float64 for the draws and as much for Z
CHUNK_ELEMENTS = 1 << 21
COMPONENTS = (*BUCKETS, "timing")


def charges_usd(schedule: Schedule) -> dict[str, float]:
    """An order's charges by bucket, slice by slice through ``cost_model(market).charge`` at the slice's expected
    volume and the normal spread (module docstring), the transient displacement carried from slice to slice."""
    market, order = schedule.market, schedule.order
    model = cost_model(market)
    trades, blocks = schedule.trades_shares, schedule.block_trades_shares
    volume = schedule.market_volume_shares
    done = np.cumsum(trades) - trades
    total = dict.fromkeys(BUCKETS, 0.0)
    level: Any = 0.0
    for k in range(order.slices):
        step = SliceStep(
            blocks[k], trades[k] - blocks[k], trades[k], volume[k], market.spread_usd, done[k], level, order.slice_days
        )
        charged, level = model.charge(step)
        for name in BUCKETS:
            total[name] += float(charged[name])
    return total


def correlation_factor(correlation: np.ndarray) -> tuple[np.ndarray, str | None]:
    """L with L L^T = R (Cholesky), or, for a singular R, U sqrt(max(mu, 0)) from its eigen-decomposition and a note."""
    matrix = np.asarray(correlation, dtype=float)
    try:
        return np.linalg.cholesky(matrix), None
    except np.linalg.LinAlgError:
        mu, u = np.linalg.eigh(matrix)
        note = f"the correlation matrix is singular (smallest eigenvalue {mu.min():.3g}): its square root is used"
        return u * np.sqrt(np.maximum(mu, 0.0)), note


@dataclass(frozen=True)
class ChunkSpec:
    """What every chunk needs (small: shipped to each task). Per strategy: the deterministic cost of each order
    (charges and drift, $, (m,)) and the weight of each price shock in each order's cost ((N, m): s_i sigma_i
    sqrt(tau) x_{k+1,i}, the shares still held when the shock lands)."""

    names: tuple[str, ...]
    fixed_usd: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    factor: np.ndarray


@dataclass(frozen=True)
class ChunkResult:
    """One chunk: per strategy the basket's cost per path, and each order's sum and sum of squares over the paths."""

    totals: tuple[np.ndarray, ...]
    order_sums: tuple[np.ndarray, ...]
    order_squares: tuple[np.ndarray, ...]
    timing_sums: tuple[float, ...]


def simulate_chunk(spec: ChunkSpec, seed: np.random.SeedSequence, paths: int) -> ChunkResult:
    """``paths`` paths of every strategy from one chunk's seed (pure; runs on any engine, one BLAS thread)."""
    with single_threaded_blas():
        rng = np.random.default_rng(seed)
        slices, orders = spec.weights[0].shape
        shocks = rng.standard_normal((paths, slices, orders)) @ spec.factor.T  # (paths, N, m) ~ N(0, R) per slice
        totals, sums, squares, timing = [], [], [], []
        for fixed, weight in zip(spec.fixed_usd, spec.weights, strict=True):
            moves = np.sum(shocks * weight, axis=1)  # (paths, m): the timing cost of each order
            cost = fixed + moves
            totals.append(np.sum(cost, axis=1))
            sums.append(cost.sum(axis=0))
            squares.append((cost * cost).sum(axis=0))
            timing.append(float(moves.sum()))
    return ChunkResult(tuple(totals), tuple(sums), tuple(squares), tuple(timing))


@dataclass(frozen=True)
class BasketSimulation(PathCosts):
    """One strategy's simulated basket: shortfall per path ($), each order's mean and std, the closed form beside.

    components_usd : the mean of each bucket over the basket (spread, temporary, permanent, transient: the same on
    every path; timing: the market move, drift included). expected_usd : the closed-form expected cost (the plan's).
    """

    name: str
    label: str
    symbols: tuple[str, ...]
    gross_notional_usd: float
    cost_usd: np.ndarray
    order_mean_usd: np.ndarray
    order_std_usd: np.ndarray
    order_expected_usd: np.ndarray
    expected_usd: float
    closed_form_std_usd: float
    components_usd: dict[str, float]

    def bps(self, usd: float) -> float:
        """A $ amount in bps of the gross notional."""
        return 1e4 * usd / self.gross_notional_usd

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "paths": self.paths,
            "mean_cost_usd": self.mean_usd,
            "mean_cost_bps": self.bps(self.mean_usd),
            "stderr_mean_usd": self.stderr_mean_usd,
            "std_cost_usd": self.std_usd,
            "std_cost_bps": self.bps(self.std_usd),
            "var95_usd": self.var95_usd,
            "var95_bps": self.bps(self.var95_usd),
            "cvar95_usd": self.cvar95_usd,
            "expected_cost_usd_closed_form": self.expected_usd,
            "std_cost_usd_closed_form": self.closed_form_std_usd,
            "components_usd": dict(self.components_usd),
            "orders": [
                {"symbol": s, "mean_cost_usd": float(m), "std_cost_usd": float(d), "expected_cost_usd": float(e)}
                for s, m, d, e in zip(self.symbols, self.order_mean_usd, self.order_std_usd, self.order_expected_usd,
                                      strict=True)
            ],
        }  # fmt: skip


@dataclass(frozen=True)
class BasketMonteCarlo:
    """A basket simulated: every planned strategy on the same paths, how it was split and where it ran."""

    strategies: tuple[BasketSimulation, ...]
    paths: int
    seed: int
    chunks: int
    chunk_paths: int
    engine: str
    notes: tuple[str, ...] = field(default=())

    def strategy(self, name: str) -> BasketSimulation:
        for s in self.strategies:
            if s.name == name:
                return s
        raise ValueError(f"the basket was not simulated with {name!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "paths": self.paths,
            "seed": self.seed,
            "chunks": self.chunks,
            "chunk_paths": self.chunk_paths,
            "engine": self.engine,
            "notes": list(self.notes),
            "strategies": [s.to_json() for s in self.strategies],
        }


def _check_whole(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high and value > high):
        bound = f"between {low:,} and {high:,}" if high else f">= {low:,}"
        raise ValueError(f"the {name} must be a whole number {bound}, got {value!r}")
    return int(value)


def default_chunk_paths(slices: int, orders: int, paths: int) -> int:
    """Paths per chunk: ``CHUNK_ELEMENTS`` normal draws at most (a property of the basket, not of the workers)."""
    return int(max(1, min(paths, CHUNK_ELEMENTS // max(1, slices * orders))))


def _spec(plan, names: list[str]) -> tuple[ChunkSpec, list[dict[str, np.ndarray]], str | None]:
    """The chunks' inputs for the strategies ``names`` of ``plan``, and each order's charges by bucket."""
    tau = plan.grid.slice_days
    signs = plan.side_signs
    sigma = np.array([o.market.sigma_usd_per_sqrt_day for o in plan.orders])
    drift = np.array([o.market.drift_usd_per_day for o in plan.orders])
    times = plan.grid.times_days[:-1]
    factor, note = correlation_factor(plan.correlation.for_symbols(plan.symbols))
    fixed, weights, buckets = [], [], []
    for name in names:
        result = plan.strategy(name)
        x = result.holdings_shares
        trades = x[:-1] - x[1:]  # (N, m) child orders on the common grid (0 after an order's horizon)
        charged = [charges_usd(s) for s in result.schedules]
        by_bucket = {b: np.array([c[b] for c in charged]) for b in BUCKETS}
        moved = signs * drift * (times @ trades)  # s alpha sum_k n_k t_k: the drift of the market move
        fixed.append(sum(by_bucket.values()) + moved)
        weights.append(signs * sigma * math.sqrt(tau) * x[1:])
        buckets.append({**by_bucket, "drift": moved})
    return ChunkSpec(tuple(names), tuple(fixed), tuple(weights), factor), buckets, note


def simulate_basket(
    plan,
    paths: int = 10_000,
    seed: int = 0,
    choice: EngineChoice | None = None,
    chunk_paths: int | None = None,
    names: list[str] | None = None,
) -> BasketMonteCarlo:
    """Simulate the planned strategies of ``plan`` (all, or ``names``) on ``paths`` correlated price paths.

    ``chunk_paths`` (default ``default_chunk_paths``) fixes how the paths are split; the numbers for a seed depend on
    it and on nothing else (module docstring).
    """
    choice = choice or EngineChoice()
    paths = _check_whole("number of paths", paths, 2, MAX_PATHS)
    seed = _check_whole("seed", seed, 0)
    planned = [r.name for r in plan.strategies if not r.error]
    names = list(names) if names else planned
    missing = [n for n in names if n not in planned]
    if missing:
        raise ValueError(f"cannot simulate {', '.join(missing)}: not planned for this basket")
    if not names:
        raise ValueError("no strategy could plan this basket, so there is nothing to simulate")
    size = chunk_paths or default_chunk_paths(plan.grid.slices, len(plan.orders), paths)
    size = _check_whole("number of paths per chunk", size, 1)
    spec, buckets, note = _spec(plan, names)
    counts = [min(size, paths - start) for start in range(0, paths, size)]
    seeds = np.random.SeedSequence(seed).spawn(len(counts))
    results: dict[int, ChunkResult] = {}
    with engine_client(choice) as client:
        shared = client.scatter(spec, broadcast=True, hash=False) if client is not None else spec  # sent once
        arguments = ((shared, s, n) for s, n in zip(seeds, counts, strict=True))
        for index, result, error in run_tasks(simulate_chunk, arguments, choice, client):
            if error is not None:
                raise ValueError(f"a chunk of paths failed on {choice.describe()}: {error}")
            results[index] = result
    ordered = [results[i] for i in range(len(counts))]
    out = []
    for j, name in enumerate(names):
        result = plan.strategy(name)
        total = np.concatenate([r.totals[j] for r in ordered])
        sums = np.sum([r.order_sums[j] for r in ordered], axis=0)
        squares = np.sum([r.order_squares[j] for r in ordered], axis=0)
        mean = sums / paths
        std = np.sqrt(np.maximum(squares - paths * mean * mean, 0.0) / (paths - 1))
        components = {b: float(buckets[j][b].sum()) for b in BUCKETS}
        components["timing"] = float(buckets[j]["drift"].sum() + sum(r.timing_sums[j] for r in ordered) / paths)
        out.append(
            BasketSimulation(
                name, result.label, tuple(plan.symbols), plan.gross_notional_usd, total, mean, std,
                result.expected_by_order_usd, result.expected_usd, result.risk.std_usd, components,
            )
        )  # fmt: skip
    notes = (note,) if note else ()
    return BasketMonteCarlo(tuple(out), paths, seed, len(counts), size, choice.describe(), notes)


def from_args(plan, args) -> BasketMonteCarlo:
    """``simulate_basket`` as the command line asked for it."""
    choice = EngineChoice(args.engine, args.workers, args.scheduler)
    return simulate_basket(plan, args.paths, args.seed, choice)


def format_simulation(mc: BasketMonteCarlo) -> str:
    """Plain-text table of the simulated strategies ($ and bps of gross)."""
    head = f"Monte Carlo: {mc.paths:,} paths, seed {mc.seed}, {mc.chunks} chunks of up to {mc.chunk_paths:,}"
    columns = f"{'strategy':<48}{'mean ($)':>14}{'± se':>10}{'closed ($)':>14}{'std ($)':>14}{'VaR95 ($)':>14}"
    lines = ["", f"{head} on {mc.engine}", f"{columns}{'mean (bps)':>11}"]
    for s in mc.strategies:
        lines.append(
            f"{s.label[:47]:<48}{s.mean_usd:>14,.0f}{s.stderr_mean_usd:>10,.0f}{s.expected_usd:>14,.0f}"
            f"{s.std_usd:>14,.0f}{s.var95_usd:>14,.0f}{s.bps(s.mean_usd):>11.1f}"
        )
    lines += [f"note: {n}" for n in mc.notes]
    return "\n".join(lines)
